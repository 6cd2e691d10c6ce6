#!/usr/bin/env python3
"""Write the fuzz seed corpus (tests/fuzz/corpus): valid and malformed frames in the
fuzz_nat input format: flags byte, then records [port:1][len:2 LE][frame]."""
import struct, sys, os

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip(src, dst, proto, payload, opts=b''):
    ihl = 5 + len(opts) // 4
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, 4 * ihl + len(payload), 1, 0, 64, proto, 0,
                    bytes(src), bytes(dst)) + opts
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload

def l4(proto, src, dst, sp, dp, flags=2, data=b'hello'):
    if proto == 6:
        seg = struct.pack('!HHIIBBHHH', sp, dp, 1, 0, 0x50, flags, 65535, 0, 0) + data
        off = 16
    elif proto == 17:
        seg = struct.pack('!HHHH', sp, dp, 8 + len(data), 0) + data
        off = 6
    else:
        seg = struct.pack('!BBHHH', 8, 0, 0, sp, 1) + data
        seg = seg[:2] + struct.pack('!H', csum(seg)) + seg[4:]
        return seg
    ph = bytes(src) + bytes(dst) + struct.pack('!BBH', 0, proto, len(seg))
    c = csum(ph + seg)
    return seg[:off] + struct.pack('!H', c) + seg[off + 2:]

def eth(payload, vlan=None, etype=0x0800):
    h = b'\x02\0\0\0\0\x02\x02\0\0\0\0\x01'
    if vlan is not None:
        h += struct.pack('!HH', 0x8100, vlan)
    return h + struct.pack('!H', etype) + payload

def rec(port, frame):
    return struct.pack('<BH', port, len(frame)) + frame

IN, OUT, PUB = [10, 0, 0, 5], [198, 51, 100, 7], [203, 0, 113, 1]
seeds = {}
for proto in (6, 17, 1):
    f = eth(ip(IN, OUT, proto, l4(proto, IN, OUT, 4000, 80)))
    r = eth(ip(OUT, PUB, proto, l4(proto, OUT, PUB, 80, 1000, flags=0x12)))
    seeds['p%d' % proto] = b'\0' + rec(0, f) + rec(1, r)
    seeds['p%d_onearm' % proto] = b'\1' + rec(0, f) + rec(0, r)
seeds['vlan_opts'] = b'\0' + rec(0, eth(ip(IN, OUT, 6, l4(6, IN, OUT, 1, 2), b'\x01' * 8), vlan=5))
seeds['arp'] = b'\0' + rec(0, eth(b'\0' * 28, etype=0x0806))
seeds['trunc'] = b'\0' + rec(0, eth(ip(IN, OUT, 6, l4(6, IN, OUT, 1, 2)))[:40])
seeds['fin'] = b'\0' + rec(0, eth(ip(IN, OUT, 6, l4(6, IN, OUT, 5, 6, flags=0x11))))
outdir = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/nat'
os.makedirs(outdir, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(outdir, name), 'wb') as fh:
        fh.write(data)
