#!/usr/bin/python3
"""Golden pcaps for the load balancer (tests/unit/test_lb_golden.c): input packets, the exact
output, and the counters the runs must leave.

Usage: gen_golden_lb.py [OUTDIR]   (default: the directory of this script)

Every expected packet is built here with scapy from the load balancer's documented semantics,
never by running it: copy the input, set the backend as destination (client -> VIP) or the
VIP as source (backend -> client), delete the checksums and let scapy compute them again (a
UDP checksum of 0 stays 0). The backend of a new connection to a multi-backend service is
computed by an independent Python implementation of the same Maglev table (lb_maglev.c), so
the test also proves that another implementation agrees with the instances.

Files, per scenario S and NF port N (0 = inside/backends, 1 = outside/clients):
  lb_S.inN.pcap     what nf-lb reads on port N (possibly empty)
  lb_S.wantN.pcap   what it must write on port N, packet for packet, byte for byte
  lb_S.counters     "name value" lines: counters the process must print at exit
  lb_S.store        "key field value" lines: per-backend counters in the store afterwards
                    (cumulative over the scenarios, which run in this order on one store)
  lb_config.json    the configuration every run gets (--config)

  in        two ports, a fresh store: new connections of every kind to the services, drops
  out       two ports, a second nf-lb process: the backends' replies, and a client packet of
            an existing connection, through an instance that never saw the connections
  onearm    one port (--one-armed), a third process: new connections with their replies
            interleaved, continuation of a connection of "in", drops
"""
import ipaddress
import json
import os
import struct
import sys

from goldenlib import (DNS_ANSWER, DNS_QUERY, HTTP_GET, HTTP_OK, arp_request, concrete, fragment,
                       host_mac, outdir, partial, rewritten, tcp, udp, udp_datagram,
                       write_counters, write_pcaps)
from scapy.all import ICMP, IP, TCP, UDP, Dot1Q, Ether, IPOption_Router_Alert, Raw

VIP, VIP2, STRANGER_VIP = "192.0.2.10", "192.0.2.20", "192.0.2.99"
LB_OUT_MAC, LB_IN_MAC, ROUTER_MAC = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:00:fe"

CONFIG = {
    "services": [
        {"vip": VIP, "port": 80, "proto": "tcp",
         "backends": [{"address": "10.1.0.1", "port": 8080}]},
        {"vip": VIP, "port": 443, "proto": "tcp",
         "backends": [{"address": "10.1.0.1", "port": 8443, "weight": 1},
                      {"address": "10.1.0.2", "port": 8443, "weight": 2},
                      {"address": "10.1.0.3", "port": 8443, "weight": 1}]},
        {"vip": VIP, "port": 53, "proto": "udp",
         "backends": [{"address": "10.1.0.9", "port": 5353}]},
        {"vip": VIP2, "port": 80, "proto": "tcp",
         "backends": [{"address": "10.1.0.5", "port": 80, "state": "drain"},
                      {"address": "10.1.0.6", "port": 80}]},
    ],
    "timeouts": {"tcp": 900, "udp": 300},
}

# ---- Maglev, as nfs/lb/lb_maglev.c computes it ----

M = 65537
MASK = (1 << 64) - 1


def mix(x):
    """MurmurHash3's 64-bit finalizer."""
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK
    return x ^ (x >> 33)


def endpoint(ip, port):
    return int(ipaddress.IPv4Address(ip)) << 16 | port


def maglev_table(backends):
    """Slot -> backend index for [(address, port, weight)]: per-backend permutations over
    M slots, turns in (address, port) order, weight w taking w/max turns per round."""
    n = len(backends)
    order = sorted(range(n), key=lambda i: (endpoint(*backends[i][:2]), i))
    nxt, skip, acc = [0] * n, [0] * n, [0] * n
    for i, (ip, port, _) in enumerate(backends):
        k = endpoint(ip, port)
        nxt[i] = mix(k ^ 0x9E3779B97F4A7C15) % M
        skip[i] = mix(k ^ 0xC2B2AE3D27D4EB4F) % (M - 1) + 1
    wmax = max(b[2] for b in backends)
    table, filled = [-1] * M, 0
    while True:
        for i in order:
            acc[i] += backends[i][2]
            if acc[i] < wmax:
                continue
            acc[i] -= wmax
            c = nxt[i]
            while table[c] >= 0:
                c = (c + skip[i]) % M
            table[c] = i
            nxt[i] = (c + skip[i]) % M
            filled += 1
            if filled == M:
                return table


def flow_hash(cip, cport, vip, vport, proto):
    return mix(mix(endpoint(cip, cport) ^ 0x165667B19E3779F9) ^ endpoint(vip, vport) ^ (proto << 48))


TABLES = {}


def choose(cip, cport, vip, vport, proto):
    """The backend ("address", port) a new connection gets: the service's table over its
    active backends."""
    name = "tcp" if proto == 6 else "udp"
    svc = next(s for s in CONFIG["services"]
               if s["vip"] == vip and s["port"] == vport and s["proto"] == name)
    active = [(b["address"], b["port"], b.get("weight", 1)) for b in svc["backends"]
              if b.get("state", "active") == "active"]
    key = (vip, vport, name)
    if key not in TABLES:
        TABLES[key] = maglev_table(active)
    b = active[TABLES[key][flow_hash(cip, cport, vip, vport, proto) % M]]
    return b[0], b[1]

# ---- Packets ----


def eth_client():
    return Ether(src=ROUTER_MAC, dst=LB_OUT_MAC)


def eth_backend(ip):
    return Ether(src=host_mac(ip), dst=LB_IN_MAC)


def to_backend(pkt):
    """A client packet to a VIP as the backend chosen for its connection receives it."""
    ip, l4 = pkt[IP], (pkt[TCP] if TCP in pkt else pkt[UDP])
    addr, port = choose(ip.src, l4.sport, ip.dst, l4.dport, ip.proto)
    return rewritten(pkt, dst=addr, dport=port)


# Clients and their connections (address, port).
A = ("198.51.100.1", 40000)                                   # VIP:80
TLS = [("198.51.100.2", 40003 + i) for i in range(6)]         # VIP:443, Maglev
DNS1, DNS2, DNS3 = ("198.51.100.3", 5000), ("198.51.100.4", 5001), ("198.51.100.5", 5002)
P = ("198.51.100.5", 40010)                                   # VIP:80, partial checksum
F, G = ("198.51.100.6", 40020), ("198.51.100.7", 40030)       # VIP:80, VLAN / IP options
V2 = ("198.51.100.8", 40040)                                  # VIP2:80 (one backend drains)
FR = ("198.51.100.9", 6000)                                   # VIP:53, fragmented
H, T = ("198.51.100.10", 41000), ("198.51.100.11", 41001)     # one-armed


def scenario_in():
    syn_a = tcp(eth_client(), A[0], VIP, A[1], 80, "S", 1000, ident=11)
    syns_tls = [tcp(eth_client(), c, VIP, p, 443, "S", 2000 + i, ident=20 + i)
                for i, (c, p) in enumerate(TLS)]
    data_a = tcp(eth_client(), A[0], VIP, A[1], 80, "PA", 1001, 5001, HTTP_GET, ident=12)
    dns1 = udp(eth_client(), DNS1[0], VIP, DNS1[1], 53, DNS_QUERY, ident=31)
    dns2 = udp(eth_client(), DNS2[0], VIP, DNS2[1], 53, DNS_QUERY, ident=32, no_csum=True)
    dns3 = partial(udp(eth_client(), DNS3[0], VIP, DNS3[1], 53, DNS_QUERY, ident=33))
    syn_p = partial(tcp(eth_client(), P[0], VIP, P[1], 80, "S", 3000, ident=34))
    vlan = concrete(eth_client() / Dot1Q(vlan=100, prio=5) / IP(src=F[0], dst=VIP, id=35, ttl=64) /
                    TCP(sport=F[1], dport=80, flags="S", seq=4000, window=64240))
    opts = tcp(eth_client(), G[0], VIP, G[1], 80, "S", 5000, ident=36,
               options=[IPOption_Router_Alert()])
    syn_v2 = tcp(eth_client(), V2[0], VIP2, V2[1], 80, "S", 6000, ident=37)
    payload = bytes(range(64))
    dgram = udp_datagram(FR[0], VIP, FR[1], 53, payload)
    frag1 = fragment(eth_client(), FR[0], VIP, 38, dgram[:40], 0, True)
    frag2 = fragment(eth_client(), FR[0], VIP, 38, dgram[40:], 40, False)      # drop_frag_later
    no_service = tcp(eth_client(), A[0], VIP, 40100, 22, "S", 7000, ident=39)  # drop_policy
    no_vip = tcp(eth_client(), A[0], STRANGER_VIP, 40101, 80, "S", 7001, ident=40)  # drop_policy
    ping = concrete(eth_client() / IP(src=A[0], dst=VIP, id=41) / ICMP(id=7, seq=1) /
                    Raw(b"ping"))                                              # drop_unsupported
    bad = bytearray(bytes(tcp(eth_client(), A[0], VIP, 40102, 80, "S", 7002, ident=42)))
    bad[14 + 10] ^= 0x5A                                                       # drop_ip_csum
    arp_client = arp_request(ROUTER_MAC, "198.51.100.254", VIP)                # passthrough
    in1 = [syn_a] + syns_tls + [data_a, dns1, dns2, dns3, syn_p, vlan, opts, syn_v2, frag1, frag2,
                                no_service, no_vip, ping, bytes(bad), arp_client]

    dgram_lb = udp_datagram(FR[0], "10.1.0.9", FR[1], 5353, payload)
    want0 = [to_backend(p) for p in [syn_a] + syns_tls + [data_a, dns1, dns2, dns3, syn_p, vlan,
                                                         opts, syn_v2]]
    want0 += [fragment(eth_client(), FR[0], "10.1.0.9", 38, dgram_lb[:40], 0, True), arp_client]
    arp_backend = arp_request(eth_backend("10.1.0.1").src, "10.1.0.1", "10.1.0.254")
    tls_backends = {choose(c, p, VIP, 443, 6) for c, p in TLS}
    if len(tls_backends) < 3:
        sys.exit("scenario in: the TLS clients do not reach every backend: pick other ports")
    new = 1 + len(TLS) + 3 + 1 + 1 + 1 + 1 + 1
    counters = {"rx": len(in1) + 1, "tx": len(want0) + 1, "flows_created": new,
                "drop_policy": 2, "drop_unsupported": 1, "drop_ip_csum": 1, "drop_frag_later": 1,
                "passthrough": 2, "cksum_partial": 2}
    new_conns = [syn_a] + syns_tls + [dns1, dns2, dns3, syn_p, vlan, opts, syn_v2, frag1]
    return {"in0": [arp_backend], "in1": in1, "want0": want0, "want1": [arp_backend],
            "counters": counters, "forwarded_in": new_conns + [data_a], "new": new_conns,
            "partial": [dns3, syn_p]}


def reply(client, vport, vip=VIP, flags="SA", payload=b"", ident=100, proto=6, **kw):
    """A backend's reply to 'client' on the connection to vip:vport, as the backend sends it."""
    addr, port = choose(client[0], client[1], vip, vport, proto)
    if proto == 17:
        return udp(eth_backend(addr), addr, client[0], port, client[1], payload, ident=ident, **kw)
    return tcp(eth_backend(addr), addr, client[0], port, client[1], flags, 9000 + ident, 1,
               payload, ident=ident)


def scenario_out():
    synack_a = reply(A, 80, ident=101)
    synacks = [reply(c, 443, ident=110 + i) for i, c in enumerate(TLS)]
    ok_a = partial(reply(A, 80, flags="PA", payload=HTTP_OK, ident=102))
    dns1 = partial(reply(DNS1, 53, payload=DNS_ANSWER, ident=103, proto=17))
    dns2 = reply(DNS2, 53, payload=DNS_ANSWER, ident=104, proto=17, no_csum=True)
    vlan = concrete(eth_backend("10.1.0.1") / Dot1Q(vlan=100, prio=5) /
                    IP(src="10.1.0.1", dst=F[0], id=105, ttl=64) /
                    TCP(sport=8080, dport=F[1], flags="SA", seq=9105, ack=4001, window=64240))
    v2 = reply(V2, 80, vip=VIP2, ident=106)
    unsolicited = tcp(eth_backend("10.1.0.1"), "10.1.0.1", "198.51.100.99", 8080, 1234, "SA", 1,
                      ident=107)                                               # drop_no_mapping
    wrong_port = tcp(eth_backend("10.1.0.1"), "10.1.0.1", A[0], 9999, A[1], "SA", 1,
                     ident=108)                                                # drop_no_mapping
    in0 = [synack_a] + synacks + [ok_a, dns1, dns2, vlan, v2, unsolicited, wrong_port]
    want1 = [rewritten(synack_a, src=VIP, sport=80)]
    want1 += [rewritten(p, src=VIP, sport=443) for p in synacks]
    want1 += [rewritten(ok_a, src=VIP, sport=80), rewritten(dns1, src=VIP, sport=53),
              rewritten(dns2, src=VIP, sport=53), rewritten(vlan, src=VIP, sport=80),
              rewritten(v2, src=VIP2, sport=80)]
    ack_tls = tcp(eth_client(), TLS[0][0], VIP, TLS[0][1], 443, "A", 2001, 9111, ident=120)
    counters = {"rx": len(in0) + 1, "tx": len(want1) + 1, "drop_no_mapping": 2,
                "cksum_partial": 2}
    return {"in0": in0, "in1": [ack_tls], "want0": [to_backend(ack_tls)], "want1": want1,
            "counters": counters, "forwarded_in": [ack_tls], "forwarded_out": in0[:-2], "new": [],
            "partial": [ok_a, dns1]}


def scenario_onearm():
    syn_h = tcp(eth_client(), H[0], VIP, H[1], 80, "S", 11000, ident=201)
    synack_h = reply(H, 80, ident=202)
    syn_t = tcp(eth_client(), T[0], VIP, T[1], 443, "S", 12000, ident=203)
    synack_t = reply(T, 443, ident=204)
    ack_h = tcp(eth_client(), H[0], VIP, H[1], 80, "A", 11001, 9203, ident=205)
    more_a = tcp(eth_client(), A[0], VIP, A[1], 80, "PA", 1038, 5040, HTTP_GET, ident=206)
    no_service = tcp(eth_client(), H[0], VIP, 41002, 23, "S", 1, ident=207)     # drop_policy
    stranger = tcp(eth_client(), "203.0.113.5", H[0], 1, H[1], "SA", 1, ident=208)  # no_mapping
    arp_h = arp_request(ROUTER_MAC, H[0], VIP)                                  # passthrough
    in0 = [syn_h, synack_h, syn_t, synack_t, ack_h, more_a, no_service, stranger, arp_h]
    want0 = [to_backend(syn_h), rewritten(synack_h, src=VIP, sport=80), to_backend(syn_t),
             rewritten(synack_t, src=VIP, sport=443), to_backend(ack_h), to_backend(more_a), arp_h]
    counters = {"rx": len(in0), "tx": len(want0), "flows_created": 2, "drop_policy": 1,
                "drop_no_mapping": 1, "passthrough": 1}
    return {"in0": in0, "want0": want0, "counters": counters,
            "forwarded_in": [syn_h, syn_t, ack_h, more_a], "forwarded_out": [synack_h, synack_t],
            "new": [syn_h, syn_t]}


def check_no_accidental_partial(name, scen):
    """A complete L4 checksum that happens to equal the pseudo-header sum would look like
    CHECKSUM_PARTIAL (and be counted so): keep the inputs clear of that."""
    meant = [bytes(p) for p in scen.get("partial", [])]
    for kind in ("in0", "in1"):
        for i, p in enumerate(scen.get(kind, [])):
            if isinstance(p, bytes) or IP not in p or p[IP].frag or p[IP].flags.MF or bytes(p) in meant:
                continue
            for layer in (TCP, UDP):
                if layer in p and p[layer].chksum and p[layer].chksum == partial(p)[layer].chksum:
                    sys.exit("lb_%s.%s packet %d: complete checksum equals the pseudo-header sum"
                             % (name, kind, i))


def backend_of(pkt, inbound):
    """The backend ("address:port") a forwarded packet belongs to."""
    ip, l4 = pkt[IP], (pkt[TCP] if TCP in pkt else pkt[UDP] if UDP in pkt else None)
    if not inbound:
        return "%s:%d" % (ip.src, l4.sport)
    if l4 is None:  # first fragment: the UDP header is in the raw payload
        sport, dport = struct.unpack("!HH", bytes(ip.payload)[:4])
    else:
        sport, dport = l4.sport, l4.dport
    return "%s:%d" % choose(ip.src, sport, ip.dst, dport, ip.proto)


def account(store, scen):
    """Per-backend counters the scenario adds: a connection for every new one, and every
    forwarded packet with its IP length, both directions."""
    def add(b, field, n):
        store.setdefault(b, {"conns": 0, "pkts": 0, "bytes": 0})[field] += n
    for p in scen["new"]:
        add(backend_of(p, True), "conns", 1)
    for inbound, pkts in ((True, scen.get("forwarded_in", [])), (False, scen.get("forwarded_out", []))):
        for p in pkts:
            b = backend_of(p, inbound)
            add(b, "pkts", 1)
            add(b, "bytes", p[IP].len)


def main():
    out = outdir()
    with open(os.path.join(out, "lb_config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
        f.write("\n")
    store = {}
    for name, scen in (("in", scenario_in()), ("out", scenario_out()), ("onearm", scenario_onearm())):
        ports = 1 if name == "onearm" else 2
        check_no_accidental_partial(name, scen)
        for kind in ["in%d" % n for n in range(ports)] + ["want%d" % n for n in range(ports)]:
            write_pcaps(out, "lb_%s.%s" % (name, kind), scen.get(kind, []), 25)
        write_counters(os.path.join(out, "lb_%s.counters" % name), scen["counters"])
        account(store, scen)
        with open(os.path.join(out, "lb_%s.store" % name), "w") as f:
            for b in sorted(store):
                for field in ("conns", "pkts", "bytes"):
                    f.write("lb:b:%s %s %d\n" % (b, field, store[b][field]))


if __name__ == "__main__":
    main()
