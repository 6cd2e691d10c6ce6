#!/usr/bin/python3
"""Golden pcaps for the NAT (tests/unit/test_golden_nat.c): input packets and the exact output.

Usage: gen_golden.py [OUTDIR]   (default: the directory of this script; `make golden-pcaps`)

Every expected packet is built here with scapy from the NAT's documented semantics, never by
running the NAT: copy the input, set the translated address and port (or ICMP echo
identifier), delete the checksums and let scapy compute them again. A UDP checksum of 0
("none") stays 0. Files, per scenario S and NF port N (0 = inside, 1 = outside):
  S.inN.pcap    what nf-nat reads on port N
  S.wantN.pcap  what it must write on port N, packet for packet, byte for byte

The scenarios run in this order on one store, freshly flushed before "outbound", with
public address 203.0.113.1 and ports 20000-20099. The allocator keeps one cursor per
(protocol, public address) starting at the low end, so the public ports are known:
  outbound  two-armed, inside -> outside: new TCP, UDP and ICMP flows get TCP 20000-20003,
            UDP 20000-20002, ICMP 20000; malformed packets and a later fragment are dropped;
            ARP passes through to the other port (one ARP each way).
  inbound   two-armed, a second nf-nat process on the same store: the replies to those
            public ports are translated back; an unsolicited packet is dropped.
  onearmed  one port (--one-armed), both directions interleaved: continues the cursors
            (TCP 20004, UDP 20003, ICMP 20001) and reuses an outbound mapping towards
            another server (endpoint-independent mapping).
"""
import sys

from goldenlib import (DNS_ANSWER, DNS_QUERY, HTTP_GET, HTTP_OK, arp_request, concrete, fragment,
                       host_mac, looks_partial, outdir, partial, rewritten, tcp, udp,
                       udp_datagram, write_pcaps)
from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPOption_Router_Alert, Raw

PUBLIC = "203.0.113.1"

# Inside hosts, servers and MAC addresses (L2 is never rewritten by the NAT).
HOST_A, HOST_B, HOST_C, HOST_D, HOST_E = "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9"
HOST_F, HOST_G, HOST_H = "10.0.1.5", "10.0.1.6", "10.0.1.7"
WEB, WEB2, DNS, PING = "198.51.100.10", "198.51.100.11", "198.51.100.20", "198.51.100.30"
STRANGER = "192.0.2.99"
NAT_IN_MAC, NAT_OUT_MAC, ROUTER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:fe"


def eth_out(ip):
    """Ethernet header of a frame from inside host 'ip' to the NAT."""
    return Ether(src=host_mac(ip), dst=NAT_IN_MAC)


def eth_in():
    """Ethernet header of a frame from the outside router to the NAT."""
    return Ether(src=ROUTER_MAC, dst=NAT_OUT_MAC)


def ip_of(src, dst, ident, **kw):
    return IP(src=src, dst=dst, id=ident, ttl=64, **kw)


def icmp_echo(eth, src, dst, echo_type, ident, seq, payload=b"abcdefghijklmnop", ipid=1):
    return concrete(eth / ip_of(src, dst, ipid) / ICMP(type=echo_type, id=ident, seq=seq) /
                    Raw(payload))


def arp_reply(mac, src_ip, to_mac, to_ip):
    return concrete(Ether(src=mac, dst=to_mac) /
                    ARP(op=2, hwsrc=mac, psrc=src_ip, hwdst=to_mac, pdst=to_ip))


def malformed():
    """Packets the NAT must drop, each for its own reason (the counter in the comment), as
    raw bytes: edits of a good SYN that scapy must not "fix" when writing them."""
    good = bytes(tcp(eth_out(HOST_A), HOST_A, WEB, 40100, 80, "S", 7000, ident=16))
    ip, l4 = 14, 14 + 20
    truncated = good[:l4 + 10]                                 # drop_ip_len
    bad_ihl = bytearray(good)
    bad_ihl[ip] = 0x44                                         # drop_ip_ihl
    doff3 = bytearray(good)
    doff3[l4 + 12] = 0x30                                      # drop_tcp_doff
    doff3[l4 + 16:l4 + 18] = b"\x00\x00"
    bad_csum = bytearray(good)
    bad_csum[ip + 10] ^= 0x5a                                  # drop_ip_csum
    unreachable = bytes(eth_out(HOST_A) / ip_of(HOST_A, WEB, 17) / ICMP(type=3, code=3) /
                        Raw(bytes(28)))                        # drop_unsupported
    return [truncated, bytes(bad_ihl), bytes(doff3), bytes(bad_csum), unreachable]


def scenario_outbound():
    syn_a = tcp(eth_out(HOST_A), HOST_A, WEB, 40000, 80, "S", 1000, ident=11)
    syn_b = tcp(eth_out(HOST_B), HOST_B, WEB, 40001, 80, "S", 2000, ident=21)
    data_a = tcp(eth_out(HOST_A), HOST_A, WEB, 40000, 80, "PA", 1001, 5001, HTTP_GET, ident=12)
    data_b = tcp(eth_out(HOST_B), HOST_B, WEB, 40001, 80, "PA", 2001, 6001, HTTP_GET, ident=22)
    udp_nocsum = udp(eth_out(HOST_A), HOST_A, DNS, 5353, 53, DNS_QUERY, ident=13, no_csum=True)
    udp_partial = partial(udp(eth_out(HOST_B), HOST_B, DNS, 5354, 53, DNS_QUERY, ident=23))
    ping = icmp_echo(eth_out(HOST_A), HOST_A, PING, 8, 0x1234, 1, ipid=14)
    vlan = concrete(eth_out(HOST_C) / Dot1Q(vlan=100, prio=5) / ip_of(HOST_C, WEB, 31) /
                    TCP(sport=40002, dport=443, flags="S", seq=3000, window=64240))
    opts = tcp(eth_out(HOST_D), HOST_D, WEB, 40003, 80, "S", 4000, ident=41,
               options=[IPOption_Router_Alert()])
    payload = bytes(range(64))
    dgram = udp_datagram(HOST_E, DNS, 6000, 9999, payload)
    frag1 = fragment(eth_out(HOST_E), HOST_E, DNS, 51, dgram[:40], 0, True)
    frag2 = fragment(eth_out(HOST_E), HOST_E, DNS, 51, dgram[40:], 40, False)  # drop_frag_later
    arp = arp_request(host_mac(HOST_A), HOST_A, "10.0.0.1")                    # passthrough
    in0 = [syn_a, syn_b, data_a, data_b, udp_nocsum, udp_partial, ping, vlan, opts, frag1,
           frag2] + malformed() + [arp]

    # The first fragment's UDP checksum covers the whole datagram: translate the whole
    # datagram, let scapy checksum it, and cut the same first fragment out of it.
    dgram_nat = udp_datagram(PUBLIC, DNS, 20002, 9999, payload)
    want1 = [rewritten(syn_a, src=PUBLIC, sport=20000),
             rewritten(syn_b, src=PUBLIC, sport=20001),
             rewritten(data_a, src=PUBLIC, sport=20000),
             rewritten(data_b, src=PUBLIC, sport=20001),
             rewritten(udp_nocsum, src=PUBLIC, sport=20000),
             rewritten(udp_partial, src=PUBLIC, sport=20001),
             rewritten(ping, src=PUBLIC, sport=20000),
             rewritten(vlan, src=PUBLIC, sport=20002),
             rewritten(opts, src=PUBLIC, sport=20003),
             fragment(eth_out(HOST_E), PUBLIC, DNS, 51, dgram_nat[:40], 0, True),
             arp]
    router_arp = arp_reply(ROUTER_MAC, "198.51.100.1", NAT_OUT_MAC, PUBLIC)   # passthrough
    return {"in0": in0, "in1": [router_arp], "want0": [router_arp], "want1": want1}


def scenario_inbound():
    synack_a = tcp(eth_in(), WEB, PUBLIC, 80, 20000, "SA", 5000, 1001, ident=101)
    synack_b = tcp(eth_in(), WEB, PUBLIC, 80, 20001, "SA", 6000, 2001, ident=102)
    data_a = partial(tcp(eth_in(), WEB, PUBLIC, 80, 20000, "PA", 5001, 1038, HTTP_OK, ident=103))
    dns_a = udp(eth_in(), DNS, PUBLIC, 53, 20000, DNS_ANSWER, ident=104)
    dns_b = udp(eth_in(), DNS, PUBLIC, 53, 20001, DNS_ANSWER, ident=105, no_csum=True)
    pong = icmp_echo(eth_in(), PING, PUBLIC, 0, 20000, 1, ipid=106)
    vlan = concrete(eth_in() / Dot1Q(vlan=100, prio=5) / ip_of(WEB, PUBLIC, 107) /
                    TCP(sport=443, dport=20002, flags="SA", seq=7000, ack=3001, window=64240))
    opts = tcp(eth_in(), WEB, PUBLIC, 80, 20003, "SA", 8000, 4001, ident=108,
               options=[IPOption_Router_Alert()])
    frag_reply = udp(eth_in(), DNS, PUBLIC, 9999, 20002, b"fragment reply", ident=109)
    unsolicited = tcp(eth_in(), STRANGER, PUBLIC, 5555, 20050, "S", 9000, ident=110)  # dropped
    arp = arp_request(ROUTER_MAC, "198.51.100.1", PUBLIC)                           # passthrough
    in1 = [synack_a, synack_b, data_a, dns_a, dns_b, pong, vlan, opts, frag_reply, unsolicited, arp]
    want0 = [rewritten(synack_a, dst=HOST_A, dport=40000),
             rewritten(synack_b, dst=HOST_B, dport=40001),
             rewritten(data_a, dst=HOST_A, dport=40000),
             rewritten(dns_a, dst=HOST_A, dport=5353),
             rewritten(dns_b, dst=HOST_B, dport=5354),
             rewritten(pong, dst=HOST_A, dport=0x1234),
             rewritten(vlan, dst=HOST_C, dport=40002),
             rewritten(opts, dst=HOST_D, dport=40003),
             rewritten(frag_reply, dst=HOST_E, dport=6000),
             arp]
    return {"in0": [], "in1": in1, "want0": want0, "want1": []}


def scenario_onearmed():
    syn_f = tcp(eth_out(HOST_F), HOST_F, WEB, 41000, 80, "S", 10000, ident=201)
    synack_f = tcp(eth_in(), WEB, PUBLIC, 80, 20004, "SA", 11000, 10001, ident=202)
    ack_f = tcp(eth_out(HOST_F), HOST_F, WEB, 41000, 80, "A", 10001, 11001, ident=203)
    eim_a = tcp(eth_out(HOST_A), HOST_A, WEB2, 40000, 8080, "PA", 1038, 777, HTTP_GET, ident=15)
    dns_g = udp(eth_out(HOST_G), HOST_G, DNS, 7000, 53, DNS_QUERY, ident=204)
    dns_reply_g = udp(eth_in(), DNS, PUBLIC, 53, 20003, DNS_ANSWER, ident=205)
    ping_f = icmp_echo(eth_out(HOST_F), HOST_F, PING, 8, 7, 1, ipid=206)
    pong_f = icmp_echo(eth_in(), PING, PUBLIC, 0, 20001, 1, ipid=207)
    unsolicited = udp(eth_in(), STRANGER, PUBLIC, 4444, 20099, b"knock", ident=208)  # dropped
    arp = arp_request(host_mac(HOST_F), HOST_F, "10.0.1.1")                        # passthrough
    vlan_h = concrete(eth_out(HOST_H) / Dot1Q(vlan=200) / ip_of(HOST_H, DNS, 209) /
                      UDP(sport=7001, dport=53) / Raw(DNS_QUERY))
    in0 = [syn_f, synack_f, ack_f, eim_a, dns_g, dns_reply_g, ping_f, pong_f, unsolicited, arp,
           vlan_h]
    want0 = [rewritten(syn_f, src=PUBLIC, sport=20004),
             rewritten(synack_f, dst=HOST_F, dport=41000),
             rewritten(ack_f, src=PUBLIC, sport=20004),
             rewritten(eim_a, src=PUBLIC, sport=20000),
             rewritten(dns_g, src=PUBLIC, sport=20003),
             rewritten(dns_reply_g, dst=HOST_G, dport=7000),
             rewritten(ping_f, src=PUBLIC, sport=20001),
             rewritten(pong_f, dst=HOST_F, dport=7),
             arp,
             rewritten(vlan_h, src=PUBLIC, sport=20004)]
    return {"in0": in0, "want0": want0}


def check_no_accidental_partial(name, pkts):
    """Keep the inputs clear of complete checksums that look like CHECKSUM_PARTIAL."""
    for i, p in enumerate(pkts):
        if looks_partial(p):
            sys.exit("%s packet %d: complete checksum equals the pseudo-header sum" % (name, i))


def main():
    out = outdir()
    scenarios = {"outbound": scenario_outbound(), "inbound": scenario_inbound(),
                 "onearmed": scenario_onearmed()}
    for scen, files in scenarios.items():
        for kind, pkts in files.items():
            if kind.startswith("in"):
                check_no_accidental_partial(scen + "." + kind, pkts)
            write_pcaps(out, "%s.%s" % (scen, kind), pkts, 20)


if __name__ == "__main__":
    main()
