#!/usr/bin/env python3
"""The demo's server side (run in the snf-server namespace): an HTTP server that tells each
client the address it sees, and a line echo server for long-lived TCP connections.

Python 3 standard library only. Logs one line per request or connection to stdout; stops on
SIGTERM or SIGINT.
"""
import argparse
import http.server
import signal
import socketserver
import sys
import threading
import time


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


class PageHandler(http.server.BaseHTTPRequestHandler):
    """GET anything: a short text page naming the address the request came from."""

    server_version = "snf-demo"

    def do_GET(self):
        host, port = self.client_address[:2]
        body = ("hello from snf-server %s\nyou are %s port %d\n"
                % (self.server.server_address[0], host, port)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        log("http %s:%d %s" % (self.client_address[0], self.client_address[1], fmt % args))


class EchoHandler(socketserver.StreamRequestHandler):
    """Send every line back until the peer closes."""

    def handle(self):
        peer = "%s:%d" % self.client_address[:2]
        n_lines = 0
        log("echo %s connected" % peer)
        try:
            for line in self.rfile:
                self.wfile.write(line)
                n_lines += 1
            why = "closed"
        except OSError as e:
            why = "error: %s" % e
        log("echo %s %s after %d lines" % (peer, why, n_lines))


class ThreadingTCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--http", type=addr, action="append", required=True,
                    help="ADDR:PORT of an HTTP server (repeatable)")
    ap.add_argument("--echo", type=addr, action="append", default=[],
                    help="ADDR:PORT of an echo server (repeatable)")
    args = ap.parse_args()

    servers = ([http.server.ThreadingHTTPServer(a, PageHandler) for a in args.http] +
               [ThreadingTCPServer(a, EchoHandler) for a in args.echo])
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    log("serving http on %s, echo on %s" % (
        ", ".join("%s:%d" % a for a in args.http), ", ".join("%s:%d" % a for a in args.echo)))

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    for s in servers:
        s.shutdown()
        s.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
