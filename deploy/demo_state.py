#!/usr/bin/env python3
"""Print the demo's state in Redis in readable form: the NAT mappings (binary keys
"<ns>:m"+ep and "<ns>:r"+ep, see nfs/nat/nat_int.h) and the instance heartbeats
(snf:inst:<id>, see nf/stats.c).

Python 3 standard library only; talks RESP to the server itself.

  demo_state.py --store unix:/path|HOST:PORT mappings [--ns nat]
  demo_state.py --store unix:/path|HOST:PORT heartbeat ID...
"""
import argparse
import socket
import struct
import sys
import time

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp"}
STATE_NAMES = {0: "new", 1: "established", 2: "closing"}


class Resp:
    """A minimal blocking RESP2 client: one command, one reply."""

    def __init__(self, addr):
        if addr.startswith("unix:"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(2)
            self.sock.connect(addr[5:])
        else:
            host, _, port = addr.rpartition(":")
            self.sock = socket.create_connection((host, int(port)), timeout=2)
        self.rfile = self.sock.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _reply(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by the store")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.rfile.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def scan(self, pattern):
        cursor = b"0"
        while True:
            cursor, keys = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            yield from keys
            if cursor == b"0":
                return


def ip4(b):
    return socket.inet_ntoa(b)


def endpoint(ip, port, proto):
    if proto == 1:
        return "%s id %d" % (ip, port)
    return "%s:%d" % (ip, port)


def mapping_line(r, ns, key, val, pttl):
    """One mapping: struct nat_val is in_ip, pub_ip, in_port, pub_port, proto, state."""
    in_ip, pub_ip, in_port, pub_port, proto, state = struct.unpack("!4s4sHHBB2x", val)
    name = PROTO_NAMES.get(proto, "proto%d" % proto)
    counters = r.call("HGETALL", ns.encode() + b":s" + key[len(ns) + 2:]) or []
    c = {counters[i].decode(): int(counters[i + 1]) for i in range(0, len(counters), 2)}
    return ("%s/%s -> %s  state %s  ttl %s  pkts out %d in %d"
            % (endpoint(ip4(in_ip), in_port, proto), name,
               endpoint(ip4(pub_ip), pub_port, proto),
               STATE_NAMES.get(state, str(state)),
               "%ds" % (pttl // 1000) if pttl >= 0 else "none",
               c.get("po", 0), c.get("pi", 0)))


def cmd_mappings(r, args):
    ns = args.ns
    lines = []
    for key in r.scan(ns.encode() + b":m*"):
        if len(key) != len(ns) + 2 + 8:
            continue
        val = r.call("GET", key)
        pttl = r.call("PTTL", key)
        if val is None or len(val) != 16:
            continue	# expired between SCAN and GET
        lines.append(mapping_line(r, ns, key, val, pttl))
    n_rev = sum(1 for k in r.scan(ns.encode() + b":r*") if len(k) == len(ns) + 2 + 8)
    print("   %d mapping(s) (%s:m keys), %d reverse key(s) (%s:r keys)"
          % (len(lines), ns, n_rev, ns))
    for line in sorted(lines):
        print("     " + line)
    return 0


def cmd_heartbeat(r, args):
    rc = 0
    for inst in args.ids:
        f = r.call("HGETALL", "snf:inst:" + inst) or []
        h = {f[i].decode(): f[i + 1].decode() for i in range(0, len(f), 2)}
        if not h:
            print("   %s: no heartbeat" % inst)
            rc = 1
            continue
        age_ms = int(time.time() * 1000) - int(h.get("ts_ms", 0))
        drops = sum(int(v) for k, v in h.items() if k.startswith("drop_"))
        print("   %s: pid %s mode %s, heartbeat %d ms ago (seq %s): rx %s tx %s pps %s, "
              "flows created %s, checksums completed %s, passed through %s, dropped %d"
              % (inst, h.get("pid"), h.get("mode"), age_ms, h.get("seq"), h.get("rx"),
                 h.get("tx"), h.get("pps"), h.get("flows_created"), h.get("cksum_partial"),
                 h.get("passthrough"), drops))
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="unix:/path or HOST:PORT")
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mappings", help="the NAT mappings")
    m.add_argument("--ns", default="nat", help="store key namespace (--ns of the NF)")
    h = sub.add_parser("heartbeat", help="instance heartbeats")
    h.add_argument("ids", nargs="+")
    args = ap.parse_args()
    r = Resp(args.store)
    return cmd_mappings(r, args) if args.cmd == "mappings" else cmd_heartbeat(r, args)


if __name__ == "__main__":
    sys.exit(main())
