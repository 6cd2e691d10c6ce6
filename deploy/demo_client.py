#!/usr/bin/env python3
"""The demo's client side (run in the snf-client namespace): a long-lived TCP echo
connection that measures its longest silence, and an ICMP echo for hosts without ping.

Python 3 standard library only.

  demo_client.py echo HOST:PORT --status FILE [--interval-ms 10]
      Send a numbered line every interval, wait for its echo, check it. Every 100 ms the
      status (JSON) is written to FILE, atomically: state (connecting, running, reset,
      error, stopped), lines sent and echoed, the longest gap between two echoes (which
      spans any outage of the path) and the current one. Runs until SIGTERM (exit 0) or
      until the connection fails (exit 1).
  demo_client.py ping HOST [--count 3]
      ICMP echo requests over a raw socket (needs root); exit 1 if one got no reply.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

STATUS_PERIOD_S = 0.1
REPLY_TIMEOUT_S = 60.0		# the longest outage the echo client waits through


def now_ms():
    return time.monotonic() * 1000.0


class EchoStatus:
    """What the echo loop reports; written to a file by a thread of its own."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.v = {"pid": os.getpid(), "state": "connecting", "local": "", "peer": "",
                  "sent": 0, "echoed": 0, "bad": 0, "max_gap_ms": 0.0, "cur_gap_ms": 0.0,
                  "error": "", "started": time.strftime("%H:%M:%S")}
        self.last_echo_ms = now_ms()

    def update(self, **kw):
        with self.lock:
            self.v.update(kw)

    def echoed(self):
        t = now_ms()
        with self.lock:
            gap = t - self.last_echo_ms
            self.last_echo_ms = t
            self.v["echoed"] += 1
            if self.v["echoed"] > 1 and gap > self.v["max_gap_ms"]:
                self.v["max_gap_ms"] = round(gap, 1)
                self.v["max_gap_at"] = time.strftime("%H:%M:%S")

    def write(self):
        with self.lock:
            if self.v["state"] == "running":
                self.v["cur_gap_ms"] = round(now_ms() - self.last_echo_ms, 1)
            data = json.dumps(self.v, sort_keys=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(data + "\n")
        os.replace(tmp, self.path)


def status_writer(st, stop):
    while not stop.wait(STATUS_PERIOD_S):
        st.write()


def echo_loop(sock, st, interval_s):
    """Ping-pong numbered lines until an error; raises it."""
    rfile = sock.makefile("rb")
    seq = 0
    next_t = time.monotonic()
    while True:
        seq += 1
        line = b"seq %d\n" % seq
        sock.sendall(line)
        st.update(sent=seq)
        reply = rfile.readline()
        if not reply:
            raise ConnectionError("connection closed by the server")
        if reply != line:
            with st.lock:
                st.v["bad"] += 1
        st.echoed()
        next_t += interval_s
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_t = time.monotonic()	# late (an outage): no burst to catch up


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


def cmd_echo(args):
    host, _, port = args.server.rpartition(":")
    st = EchoStatus(args.status)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, on_sigterm)
    threading.Thread(target=status_writer, args=(st, stop), daemon=True).start()
    rc = 1
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.settimeout(REPLY_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        st.update(state="running", local="%s:%d" % sock.getsockname()[:2],
                  peer="%s:%d" % sock.getpeername()[:2])
        st.last_echo_ms = now_ms()
        echo_loop(sock, st, args.interval_ms / 1000.0)
    except KeyboardInterrupt:
        st.update(state="stopped")
        rc = 0
    except ConnectionResetError as e:
        st.update(state="reset", error=str(e))
    except (OSError, ConnectionError) as e:
        st.update(state="error", error=str(e) or type(e).__name__)
    stop.set()
    st.write()
    return rc


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def icmp_wait_reply(sock, host, ident, seq, deadline):
    """The echo reply to (ident, seq) from 'host', or None at 'deadline'."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data, (src, _) = sock.recvfrom(2048)
        except socket.timeout:
            return None
        ihl = (data[0] & 0x0F) * 4
        if len(data) < ihl + 8 or src != host:
            continue
        typ, _, _, r_ident, r_seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if typ == 0 and r_ident == ident and r_seq == seq:
            return len(data) - ihl


def cmd_ping(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    n_ok = 0
    print("PING %s (python raw-socket echo, ident %d)" % (args.host, ident))
    for seq in range(1, args.count + 1):
        pkt = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"snf-demo" * 7
        pkt = pkt[:2] + struct.pack("!H", icmp_checksum(pkt)) + pkt[4:]
        t0 = time.monotonic()
        sock.sendto(pkt, (args.host, 0))
        size = icmp_wait_reply(sock, args.host, ident, seq, t0 + 1.0)
        if size is None:
            print("no reply from %s: icmp_seq=%d" % (args.host, seq))
        else:
            n_ok += 1
            print("%d bytes from %s: icmp_seq=%d time=%.2f ms"
                  % (size, args.host, seq, (time.monotonic() - t0) * 1000))
        time.sleep(0.2)
    print("%d packets transmitted, %d received" % (args.count, n_ok))
    return 0 if n_ok == args.count else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo", help="long-lived TCP echo connection")
    e.add_argument("server", help="HOST:PORT of the echo server")
    e.add_argument("--status", required=True, help="status file (JSON)")
    e.add_argument("--interval-ms", type=float, default=10.0)
    p = sub.add_parser("ping", help="ICMP echo")
    p.add_argument("host")
    p.add_argument("--count", type=int, default=3)
    args = ap.parse_args()
    return cmd_echo(args) if args.cmd == "echo" else cmd_ping(args)


if __name__ == "__main__":
    sys.exit(main())
