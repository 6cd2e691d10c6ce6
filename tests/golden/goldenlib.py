"""What the golden pcap generators (gen_golden*.py) share: scapy, packet builders, the
checksum helpers of CHECKSUM_PARTIAL packets, expected rewrites, and file writing."""
import os
import struct
import sys

try:
    from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw
except ImportError:
    # `python3` may be an interpreter without the Debian python3-scapy package.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
            os.access("/usr/bin/python3", os.X_OK):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

BASE_TIME = 1700000000

HTTP_GET = b"GET / HTTP/1.1\r\nHost: example.net\r\n\r\n"
HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
DNS_QUERY = bytes.fromhex("123401000001000000000000076578616d706c65036e65740000010001")
DNS_ANSWER = bytes.fromhex("123481800001000100000000076578616d706c65036e65740000010001"
                           "c00c000100010000012c0004c6336401")


def outdir():
    """The output directory: the first argument, or the directory of the scripts."""
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(d, exist_ok=True)
    return d


def host_mac(ip):
    """A stable MAC for a host: 02:00 and the four bytes of its address."""
    return "02:00:%02x:%02x:%02x:%02x" % tuple(int(x) for x in ip.split("."))


def concrete(pkt):
    """The packet as it is on the wire: every length and checksum filled in."""
    return Ether(bytes(pkt))


def tcp(eth, src, dst, sport, dport, flags, seq, ack=0, payload=b"", ident=1, **ipkw):
    p = eth / IP(src=src, dst=dst, id=ident, ttl=64, **ipkw) / TCP(
        sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=64240)
    return concrete(p / Raw(payload) if payload else p)


def udp(eth, src, dst, sport, dport, payload, ident=1, no_csum=False):
    p = concrete(eth / IP(src=src, dst=dst, id=ident, ttl=64) / UDP(sport=sport, dport=dport) /
                 Raw(payload))
    if no_csum:
        p[UDP].chksum = 0
        p = concrete(p)
    return p


def udp_datagram(src, dst, sport, dport, payload):
    """The UDP header and payload (checksum over the whole datagram) as bytes."""
    return bytes(IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload))[20:]


def fragment(eth, src, dst, ident, segment, offset, more):
    """One IPv4 fragment carrying 'segment', a slice of the datagram at byte 'offset'."""
    return concrete(eth / IP(src=src, dst=dst, id=ident, ttl=64, proto=17,
                             flags="MF" if more else 0, frag=offset // 8) / Raw(segment))


def arp_request(mac, src_ip, who):
    return concrete(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
                    ARP(op=1, hwsrc=mac, psrc=src_ip, hwdst="00:00:00:00:00:00", pdst=who))


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def words(data):
    if len(data) % 2:
        data += b"\0"
    return sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))


def pseudo_sum(pkt):
    """Folded, not complemented pseudo-header sum of the packet's TCP/UDP segment: what Linux
    leaves in the checksum field of a CHECKSUM_PARTIAL packet."""
    ip = pkt[IP]
    raw = bytes(ip)
    l4_len = ip.len - ip.ihl * 4
    return fold(words(raw[12:20]) + ip.proto + l4_len)


def partial(pkt):
    """Copy of 'pkt' with its L4 checksum left unfinished (CHECKSUM_PARTIAL)."""
    p = concrete(pkt)
    l4 = p[TCP] if TCP in p else p[UDP]
    l4.chksum = pseudo_sum(p)
    return concrete(p)


def rewritten(pkt, src=None, sport=None, dst=None, dport=None):
    """Expected output: 'pkt' with the given fields replaced (for ICMP echo, the port is the
    identifier) and its checksums recomputed from scratch by scapy (a UDP checksum of 0
    stays 0: the sender computed none)."""
    p = concrete(pkt)
    ip = p[IP]
    if src is not None:
        ip.src = src
    if dst is not None:
        ip.dst = dst
    del ip.chksum
    if ICMP in p:
        ident = sport if sport is not None else dport
        if ident is not None:
            p[ICMP].id = ident
        del p[ICMP].chksum
        return concrete(p)
    l4 = p[TCP] if TCP in p else p[UDP]
    if sport is not None:
        l4.sport = sport
    if dport is not None:
        l4.dport = dport
    if UDP in p and p[UDP].chksum == 0:
        return concrete(p)
    del l4.chksum
    return concrete(p)


def looks_partial(p):
    """Whether input packet 'p' has a complete L4 checksum that happens to equal the
    pseudo-header sum: the NF would take it for CHECKSUM_PARTIAL (and count it so)."""
    if isinstance(p, bytes) or IP not in p or p[IP].frag or p[IP].flags.MF or p[IP].ihl < 5:
        return False
    for layer in (TCP, UDP):
        if layer in p and p[layer].chksum == pseudo_sum(p) and p[layer].chksum != 0:
            if concrete(rewritten(p))[layer].chksum == p[layer].chksum:
                return True
    return False


def write_pcap(path, pkts):
    """A classic pcap file (Ethernet, microseconds) with fixed timestamps, so that the
    files only change when the packets do."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(pkts):
            data = bytes(p)
            f.write(struct.pack("<IIII", BASE_TIME, i * 1000, len(data), len(data)))
            f.write(data)


def write_pcaps(outdir, name, pkts, limit):
    """<outdir>/<name>.pcap, with fewer than 'limit' packets (golden files stay small)."""
    assert len(pkts) < limit, "%s: keep golden files small" % name
    write_pcap(os.path.join(outdir, name + ".pcap"), pkts)
    print("%s.pcap: %d packets" % (name, len(pkts)))


def write_counters(path, counters):
    """The "name value" lines of a .counters file."""
    with open(path, "w") as f:
        for k, v in counters.items():
            f.write("%s %d\n" % (k, v))
