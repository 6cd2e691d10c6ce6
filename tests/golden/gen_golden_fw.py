#!/usr/bin/python3
"""Golden pcaps for the firewall (tests/unit/test_fw_golden.c): input packets, the exact
output, the counters and the connection states the store must hold afterwards.

Usage: gen_golden_fw.py [OUTDIR]   (default: the directory of this script)

The firewall never modifies a packet: the expected output on a port is the subsequence of
the other port's input (one-armed: of its own input) that the documented semantics accept,
byte for byte. Every input packet below is tagged with its fate: "pass", or the counter
that drops it. Files, per scenario S and NF port N (0 = inside, 1 = outside):
  S.inN.pcap     what nf-firewall reads on port N
  S.wantN.pcap   what it must write on port N
  S.counters     "name value" lines: rx, tx, passthrough, flows_created and every drop_*
                 counter that must be non-zero (all others must be zero)
  S.store        "proto src sport dst dport state" lines: the connection each flow has in
                 the store after the run (state "none": no connection)

The scenarios run in this order, each as a new nf-firewall process (a new instance) on one
store, with the rule set fw_rules.json published by the first run:
  fw_new      two-armed: new flows both ways, allowed, denied by a rule, by the default,
              stray packets, a malformed packet, ARP.
  fw_reply    two-armed, started without --rules (it takes the store's): the answers to
              fw_new's flows, a SYN-ACK acknowledging the wrong sequence, an echo request
              the wrong way.
  fw_data     two-armed: the handshakes complete, data, a FIN, an RST outside the window.
  fw_onearm   one-armed (--inside-prefix 10.0.0.0/8): a whole connection in one burst,
              the server's answer on a connection that three other instances built, an
              RST in the window closing another one and the ACK after it.
"""
import os

from goldenlib import (DNS_ANSWER, DNS_QUERY, HTTP_GET, HTTP_OK, arp_request, concrete, host_mac,
                       outdir, write_counters, write_pcaps)
from scapy.all import ICMP, IP, TCP, UDP, Dot1Q, Ether, Raw

HOST_A, HOST_B, HOST_C, HOST_D, SVC = "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.1.5", "10.0.0.80"
WEB, BLOCKED, DNS, PING = "198.51.100.10", "198.51.100.66", "198.51.100.20", "198.51.100.30"
OUT_CLIENT, STRANGER = "192.0.2.44", "192.0.2.99"
FW_IN_MAC, FW_OUT_MAC, ROUTER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:fe"
WINDOW = 64240


def eth_of(src_ip):
    """Inside hosts send to the firewall's inside MAC, everyone else from the router."""
    if src_ip.startswith("10."):
        return Ether(src=host_mac(src_ip), dst=FW_IN_MAC)
    return Ether(src=ROUTER_MAC, dst=FW_OUT_MAC)


def tcp(src, sport, dst, dport, flags, seq, ack=0, payload=b"", ident=1, vlan=None):
    l2 = eth_of(src)
    if vlan is not None:
        l2 = l2 / Dot1Q(vlan=vlan)
    p = l2 / IP(src=src, dst=dst, id=ident, ttl=64) / \
        TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=WINDOW)
    return concrete(p / Raw(payload) if payload else p)


def udp(src, sport, dst, dport, payload, ident=1):
    return concrete(eth_of(src) / IP(src=src, dst=dst, id=ident, ttl=64) /
                    UDP(sport=sport, dport=dport) / Raw(payload))


def echo(src, dst, kind, ident, seq, ipid=1):
    return concrete(eth_of(src) / IP(src=src, dst=dst, id=ipid, ttl=64) /
                    ICMP(type=kind, id=ident, seq=seq) / Raw(b"abcdefghijklmnop"))


def truncated_syn():
    good = bytes(tcp(HOST_A, 40100, WEB, 80, "S", 7000, ident=99))
    return good[:14 + 20 + 10]                      # IP total length beyond the frame


PASS = "pass"


def scenario_new():
    in0 = [
        (tcp(HOST_A, 40000, WEB, 80, "S", 1000, ident=11), PASS),
        (tcp(HOST_B, 40001, WEB, 443, "S", 2000, ident=21), PASS),
        (tcp(HOST_A, 40002, BLOCKED, 80, "S", 3000, ident=12), "drop_policy"),   # deny rule
        (tcp(HOST_A, 40003, WEB, 25, "S", 4000, ident=13), "drop_policy"),       # default
        (udp(HOST_A, 5353, DNS, 53, DNS_QUERY, ident=14), PASS),
        (echo(HOST_A, PING, 8, 0x1234, 1, ipid=15), PASS),
        (tcp(HOST_B, 40009, WEB, 80, "A", 7, 7, ident=22), "drop_no_conn"),      # stray ACK
        (tcp(HOST_C, 40004, WEB, 80, "S", 8000, ident=31, vlan=100), PASS),
        (truncated_syn(), "drop_ip_len"),
        (arp_request(host_mac(HOST_A), HOST_A, "10.0.0.1"), "passthrough"),
    ]
    in1 = [
        (tcp(OUT_CLIENT, 50000, SVC, 8080, "S", 7000, ident=101), PASS),         # published
        (tcp(STRANGER, 5555, HOST_A, 22, "S", 1, ident=102), "drop_policy"),
        (tcp(STRANGER, 5556, HOST_A, 22, "A", 1, 1, ident=103), "drop_policy"),  # stray, deny rule
        (udp(STRANGER, 4444, HOST_A, 9999, b"knock", ident=104), "drop_policy"),
        (tcp(WEB, 80, HOST_B, 40010, "SA", 9, 9, ident=105), "drop_no_conn"),    # nobody asked
        (arp_request(ROUTER_MAC, "198.51.100.1", "10.0.0.5"), "passthrough"),
    ]
    store = [
        ("tcp", HOST_A, 40000, WEB, 80, "tcp_syn_sent"),
        ("tcp", HOST_B, 40001, WEB, 443, "tcp_syn_sent"),
        ("tcp", HOST_A, 40002, BLOCKED, 80, "none"),
        ("tcp", HOST_A, 40003, WEB, 25, "none"),
        ("udp", HOST_A, 5353, DNS, 53, "udp"),
        ("icmp", HOST_A, 0x1234, PING, 0x1234, "icmp"),
        ("tcp", HOST_B, 40009, WEB, 80, "none"),
        ("tcp", HOST_C, 40004, WEB, 80, "tcp_syn_sent"),
        ("tcp", OUT_CLIENT, 50000, SVC, 8080, "tcp_syn_sent"),
        ("tcp", STRANGER, 5555, HOST_A, 22, "none"),
        ("udp", STRANGER, 4444, HOST_A, 9999, "none"),
    ]
    return {"ports": 2, "in0": in0, "in1": in1, "created": 6, "store": store}


def scenario_reply():
    in0 = [
        (tcp(SVC, 8080, OUT_CLIENT, 50000, "SA", 9000, 7001, ident=201), PASS),
    ]
    in1 = [
        (tcp(WEB, 80, HOST_A, 40000, "SA", 5000, 1001, ident=111), PASS),
        (tcp(WEB, 443, HOST_B, 40001, "SA", 6000, 2001, ident=112), PASS),
        (tcp(WEB, 80, HOST_C, 40004, "SA", 8500, 9999, ident=113, vlan=100), "drop_bad_state"),
        (udp(DNS, 53, HOST_A, 5353, DNS_ANSWER, ident=114), PASS),
        (echo(PING, HOST_A, 0, 0x1234, 1, ipid=115), PASS),
        (tcp(BLOCKED, 80, HOST_A, 40002, "SA", 1, 3001, ident=116), "drop_no_conn"),
        (echo(PING, HOST_A, 8, 0x1234, 2, ipid=117), "drop_bad_state"),          # wrong way
    ]
    store = [
        ("tcp", HOST_A, 40000, WEB, 80, "tcp_syn_recv"),
        ("tcp", HOST_B, 40001, WEB, 443, "tcp_syn_recv"),
        ("tcp", HOST_C, 40004, WEB, 80, "tcp_syn_sent"),
        ("udp", HOST_A, 5353, DNS, 53, "udp_replied"),
        ("tcp", OUT_CLIENT, 50000, SVC, 8080, "tcp_syn_recv"),
    ]
    return {"ports": 2, "in0": in0, "in1": in1, "created": 0, "store": store}


def scenario_data():
    in0 = [
        (tcp(HOST_A, 40000, WEB, 80, "A", 1001, 5001, ident=16), PASS),
        (tcp(HOST_A, 40000, WEB, 80, "PA", 1001, 5001, HTTP_GET, ident=17), PASS),
        (tcp(HOST_B, 40001, WEB, 443, "A", 2001, 6001, ident=23), PASS),
        (tcp(HOST_B, 40001, WEB, 443, "FA", 2001, 6001, ident=24), PASS),
        # 100000 bytes past the client's next sequence: outside the server's 64240 window.
        (tcp(HOST_A, 40000, WEB, 80, "R", 1001 + len(HTTP_GET) + 100000, ident=18),
         "drop_bad_state"),
        (tcp(HOST_C, 40004, WEB, 80, "S", 8000, ident=32, vlan=100), PASS),      # retransmission
    ]
    in1 = [
        (tcp(OUT_CLIENT, 50000, SVC, 8080, "A", 7001, 9001, ident=121), PASS),
        (tcp(OUT_CLIENT, 50000, SVC, 8080, "PA", 7001, 9001, b"hello", ident=122), PASS),
    ]
    store = [
        ("tcp", HOST_A, 40000, WEB, 80, "tcp_established"),
        ("tcp", HOST_B, 40001, WEB, 443, "tcp_fin_wait"),
        ("tcp", HOST_C, 40004, WEB, 80, "tcp_syn_sent"),
        ("tcp", OUT_CLIENT, 50000, SVC, 8080, "tcp_established"),
    ]
    return {"ports": 2, "in0": in0, "in1": in1, "created": 0, "store": store}


def scenario_onearm():
    a_next = 1001 + len(HTTP_GET)
    d_next = 10001 + len(HTTP_GET)
    in0 = [
        (tcp(WEB, 80, HOST_A, 40000, "PA", 5001, a_next, HTTP_OK, ident=131), PASS),
        (tcp(HOST_D, 41000, WEB, 80, "S", 10000, ident=41), PASS),
        (tcp(WEB, 80, HOST_D, 41000, "SA", 11000, 10001, ident=132), PASS),
        (tcp(HOST_D, 41000, WEB, 80, "A", 10001, 11001, ident=42), PASS),
        (tcp(HOST_D, 41000, WEB, 80, "PA", 10001, 11001, HTTP_GET, ident=43), PASS),
        (tcp(WEB, 80, HOST_D, 41000, "FA", 11001, d_next, ident=133), PASS),
        (tcp(HOST_D, 41000, WEB, 80, "FA", d_next, 11002, ident=44), PASS),
        (tcp(WEB, 80, HOST_D, 41000, "A", 11002, d_next + 1, ident=134), PASS),
        (tcp(WEB, 443, HOST_B, 40001, "R", 6001, ident=135), PASS),              # in window
        (tcp(HOST_B, 40001, WEB, 443, "A", 2002, 6001, ident=25), "drop_bad_state"),
        (tcp(STRANGER, 5557, HOST_A, 22, "S", 1, ident=136), "drop_policy"),
        (arp_request(host_mac(HOST_D), HOST_D, "10.0.1.1"), "passthrough"),
    ]
    store = [
        ("tcp", HOST_A, 40000, WEB, 80, "tcp_established"),
        ("tcp", HOST_D, 41000, WEB, 80, "tcp_closing"),
        ("tcp", HOST_B, 40001, WEB, 443, "tcp_closed"),
    ]
    return {"ports": 1, "in0": in0, "created": 1, "store": store}


def counters(sc):
    c = {"rx": 0, "tx": 0, "passthrough": 0, "flows_created": sc["created"]}
    for port in range(sc["ports"]):
        for _, fate in sc["in%d" % port]:
            c["rx"] += 1
            if fate in (PASS, "passthrough"):
                c["tx"] += 1
            if fate != PASS:
                c[fate] = c.get(fate, 0) + 1
    return c


def outputs(sc):
    """want<N>: what leaves port N, in order. Two ports: what the other one accepted."""
    if sc["ports"] == 1:
        return {"want0": [p for p, fate in sc["in0"] if fate in (PASS, "passthrough")]}
    return {"want0": [p for p, fate in sc["in1"] if fate in (PASS, "passthrough")],
            "want1": [p for p, fate in sc["in0"] if fate in (PASS, "passthrough")]}


def main():
    out = outdir()
    scenarios = {"fw_new": scenario_new(), "fw_reply": scenario_reply(),
                 "fw_data": scenario_data(), "fw_onearm": scenario_onearm()}
    for name, sc in scenarios.items():
        files = {k: [p for p, _ in v] for k, v in sc.items() if k.startswith("in")}
        files.update(outputs(sc))
        for kind, pkts in files.items():
            write_pcaps(out, "%s.%s" % (name, kind), pkts, 20)
        write_counters(os.path.join(out, name + ".counters"), counters(sc))
        with open(os.path.join(out, name + ".store"), "w") as f:
            for proto, src, sport, dst, dport, state in sc["store"]:
                f.write("%s %s %d %s %d %s\n" % (proto, src, sport, dst, dport, state))


if __name__ == "__main__":
    main()
