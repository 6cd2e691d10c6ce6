#!/usr/bin/env python3
"""Capture OpenFlow 1.3 messages from Open vSwitch's own tools into tests/data/ofp/*.hex.

Run once (as root, needs openvswitch-switch) and commit the output; the unit tests only read it.

  requests: we play a switch on 127.0.0.1:PORT and run `ovs-ofctl -O OpenFlow13 CMD
            tcp:127.0.0.1:PORT ARGS`; the message ovs-ofctl sends is saved with its command.
  replies:  we play a controller for a private ovs-vswitchd (temporary run dir, netdev
            datapath) and save what the switch sends: FEATURES_REPLY, port descriptions,
            port and group stats, PORT_STATUS, PACKET_IN and ERROR.

File format: '#' comment lines (the command, the message type), then the message as hex
bytes, 16 a line. The xid is whatever the tool used; tests compare everything but the xid.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

OUT = os.path.dirname(os.path.abspath(__file__))
V13 = 4
T = dict(HELLO=0, ERROR=1, ECHO_REQUEST=2, ECHO_REPLY=3, FEATURES_REQUEST=5,
         FEATURES_REPLY=6, GET_CONFIG_REQUEST=7, GET_CONFIG_REPLY=8, PACKET_IN=10,
         PORT_STATUS=12, PACKET_OUT=13, FLOW_MOD=14, GROUP_MOD=15, MULTIPART_REQUEST=18,
         MULTIPART_REPLY=19, BARRIER_REQUEST=20, BARRIER_REPLY=21)
TNAME = {v: k for k, v in T.items()}


def msg(mtype, xid, body=b""):
    return struct.pack("!BBHI", V13, mtype, 8 + len(body), xid) + body


def hello():
    return msg(T["HELLO"], 1, struct.pack("!HHI", 1, 8, 1 << V13))


class Conn:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def recv(self, timeout=5.0):
        """Next whole message, or None on EOF."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 8:
                n = struct.unpack("!H", self.buf[2:4])[0]
                if len(self.buf) >= n:
                    m, self.buf = self.buf[:n], self.buf[n:]
                    return m
            d = self.sock.recv(65536)
            if not d:
                return None
            self.buf += d

    def send(self, m):
        self.sock.sendall(m)


def save(name, comments, m):
    lines = ["# " + c for c in comments]
    lines.append("# %s, %d bytes" % (TNAME.get(m[1], "type %d" % m[1]), len(m)))
    for i in range(0, len(m), 16):
        lines.append(" ".join("%02x" % b for b in m[i:i + 16]))
    with open(os.path.join(OUT, name + ".hex"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s.hex (%s)" % (name, TNAME.get(m[1])))


# ---- Requests: we are the switch, ovs-ofctl the controller ----

def fake_switch_reply(c, m):
    """Answer what ovs-ofctl waits for; returns False for a message worth recording."""
    mtype, xid = m[1], struct.unpack("!I", m[4:8])[0]
    if mtype == T["HELLO"]:
        c.send(hello())
    elif mtype == T["ECHO_REQUEST"]:
        c.send(msg(T["ECHO_REPLY"], xid, m[8:]))
    elif mtype == T["FEATURES_REQUEST"]:
        c.send(msg(T["FEATURES_REPLY"], xid, struct.pack("!QIBBxxII", 0x1234, 256, 254, 0, 0x4f, 0)))
    elif mtype == T["BARRIER_REQUEST"]:
        c.send(msg(T["BARRIER_REPLY"], xid))
    elif mtype == T["GET_CONFIG_REQUEST"]:
        c.send(msg(T["GET_CONFIG_REPLY"], xid, struct.pack("!HH", 0, 128)))
    else:
        mp_type = struct.unpack("!H", m[8:10])[0] if mtype == T["MULTIPART_REQUEST"] else None
        if mp_type == 12:   # table features (ovs-ofctl asks first): table 0, 8 empty properties
            props = b"".join(struct.pack("!HH4x", t, 4) for t in range(0, 16, 2))
            tf = struct.pack("!HB5x32sQQII", 64 + len(props), 0, b"t0", 0, 0, 0, 1000000) + props
            c.send(msg(T["MULTIPART_REPLY"], xid, struct.pack("!HH4x", 12, 0) + tf))
            return True
        if mp_type is not None:   # an empty reply of the same kind
            c.send(msg(T["MULTIPART_REPLY"], xid, m[8:10] + b"\0" * 6))
        return False
    return True


def capture_request(name, cmd, args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]
    argv = ["ovs-ofctl", "-O", "OpenFlow13", cmd, "tcp:127.0.0.1:%d" % port] + args
    p = subprocess.Popen(argv)
    got = []
    ls.settimeout(0.2)
    while p.poll() is None:     # ovs-ofctl may open several connections in turn
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        c = Conn(s)
        while True:
            m = c.recv()
            if m is None:
                break
            if not fake_switch_reply(c, m):
                got.append(m)
        s.close()
    ls.close()
    if p.wait() != 0:
        sys.exit("%s failed" % argv)
    want = {"add-flow": T["FLOW_MOD"], "mod-flows": T["FLOW_MOD"], "del-flows": T["FLOW_MOD"],
            "add-group": T["GROUP_MOD"], "mod-group": T["GROUP_MOD"], "del-groups": T["GROUP_MOD"],
            "packet-out": T["PACKET_OUT"]}.get(cmd, T["MULTIPART_REQUEST"])
    # ovs-ofctl first asks for the port descriptions (to map names) of its own accord.
    mp = {"dump-ports": 4, "dump-group-stats": 6, "dump-ports-desc": 13}.get(cmd)
    got = [m for m in got if m[1] == want and (mp is None or m[8:10] == struct.pack("!H", mp))]
    if len(got) != 1:
        sys.exit("%s: expected one message, got %s" % (argv, [m.hex() for m in got]))
    shown = ["ovs-ofctl", "-O", "OpenFlow13", cmd, "tcp:127.0.0.1:PORT"] + ["'%s'" % a for a in args]
    save(name, ["Captured by tests/data/ofp/capture.py from:", " ".join(shown)], got[0])


REQUESTS = [
    ("flow_add_simple", "add-flow", ["cookie=0x1234,table=0,priority=100,in_port=1,actions=output:2"]),
    ("flow_add_tcp", "add-flow", [
        "table=0,priority=200,cookie=0xabcdef,idle_timeout=30,hard_timeout=300,send_flow_rem,"
        "tcp,in_port=3,dl_dst=02:00:00:00:00:01,nw_src=10.0.0.0/8,nw_dst=192.168.1.10,"
        "tp_src=1234,tp_dst=80,actions=set_field:02:00:00:00:00:02->eth_dst,"
        "set_field:10.1.2.3->ip_dst,output:4"]),
    ("flow_add_udp_goto", "add-flow", [
        "table=1,priority=10,udp,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,nw_src=172.16.0.1,"
        "udp_src=5353,udp_dst=53,actions=group:7,goto_table:2"]),
    ("flow_add_arp_ctrl", "add-flow", [
        "priority=5,arp,arp_op=1,arp_tpa=10.0.0.1,actions=controller"]),
    ("flow_add_ipsrc_mask", "add-flow", [
        "table=3,priority=7,check_overlap,ip,dl_src=02:00:00:00:00:05,nw_src=10.128.0.0/9,"
        "nw_dst=10.0.0.0/255.0.255.0,nw_proto=17,actions=set_field:10.9.9.9->ip_src,"
        "set_field:02:00:00:00:00:06->eth_src,output:in_port"]),
    ("flow_add_drop", "add-flow", ["priority=0,actions=drop"]),
    ("flow_add_eth_both", "add-flow", [
        "priority=9,in_port=2,dl_src=02:00:00:00:00:0a,dl_dst=02:00:00:00:00:0b,"
        "actions=group:4294967040"]),
    ("flow_add_arp_all", "add-flow", [
        "table=4,priority=6,reset_counts,arp,arp_op=2,arp_spa=10.0.0.2,arp_tpa=10.0.0.0/24,"
        "arp_sha=02:00:00:00:00:0c,arp_tha=02:00:00:00:00:00/ff:ff:ff:00:00:00,"
        "actions=output:controller,output:local"]),
    ("flow_modify", "mod-flows", ["cookie=0x1234/-1,in_port=1,actions=output:3"]),
    ("flow_modify_strict", "mod-flows", ["--strict", "priority=100,in_port=1,actions=output:5"]),
    ("flow_delete_cookie", "del-flows", ["cookie=0x1234/-1"]),
    ("flow_delete_strict", "del-flows", ["--strict", "table=0,priority=100,in_port=1"]),
    ("flow_delete_out_port", "del-flows", ["table=2,out_port=3"]),
    ("group_add_select", "add-group", [
        "group_id=1,type=select,bucket=weight:10,watch_port:2,actions=output:2,"
        "bucket=weight:20,actions=output:3"]),
    ("group_add_all", "add-group", [
        "group_id=2,type=all,bucket=output:1,bucket=set_field:02:00:00:00:00:09->eth_dst,output:2"]),
    ("group_modify", "mod-group", ["group_id=1,type=select,bucket=weight:1,actions=output:4"]),
    ("group_delete", "del-groups", ["group_id=1"]),
    ("group_delete_all", "del-groups", []),
    ("packet_out", "packet-out", [
        "in_port=controller packet=ffffffffffff020000000001080600010800060400010200000000010a000001"
        "0000000000000a000002 actions=output:1"]),
    ("mp_port_stats_req", "dump-ports", []),
    ("mp_port_stats_req_one", "dump-ports", ["7"]),
    ("mp_group_stats_req", "dump-group-stats", []),
    ("mp_port_desc_req", "dump-ports-desc", []),
]

# ---- Replies: we are the controller of a private ovs-vswitchd ----


class PrivateOvs:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ofpcap-")
        self.env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_LOGDIR=self.dir,
                        OVS_DBDIR=self.dir, OVS_SYSCONFDIR=self.dir)
        self.db = "unix:%s/db.sock" % self.dir
        d = self.dir
        self.run("ovsdb-tool", "create", d + "/conf.db", "/usr/share/openvswitch/vswitch.ovsschema")
        self.run("ovsdb-server", d + "/conf.db", "--remote=punix:%s/db.sock" % d,
                 "--pidfile=%s/ovsdb-server.pid" % d, "--log-file=%s/ovsdb-server.log" % d,
                 "--unixctl=%s/ovsdb-server.ctl" % d, "--detach")
        self.vsctl("--no-wait", "init")
        self.run("ovs-vswitchd", self.db, "--pidfile=%s/ovs-vswitchd.pid" % d,
                 "--log-file=%s/ovs-vswitchd.log" % d, "--unixctl=%s/ovs-vswitchd.ctl" % d,
                 "--detach")

    def run(self, *argv):
        subprocess.run(argv, env=self.env, check=True)

    def vsctl(self, *args):
        self.run("ovs-vsctl", "--db=" + self.db, "--timeout=10", *args)

    def ofctl(self, *args):
        self.run("ovs-ofctl", "-O", "OpenFlow13", *args)

    def stop(self):
        # The netdev datapath's taps outlive a killed ovs-vswitchd: exit with --cleanup and
        # wait for it before stopping the database.
        subprocess.run(["ovs-appctl", "-t", self.dir + "/ovs-vswitchd.ctl", "exit", "--cleanup"],
                       env=self.env)
        for name in ("ovs-vswitchd", "ovsdb-server"):
            try:
                with open("%s/%s.pid" % (self.dir, name)) as f:
                    pid = int(f.read())
                if name == "ovsdb-server":
                    os.kill(pid, 15)
                for _ in range(500):
                    os.kill(pid, 0)
                    time.sleep(0.01)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(c, mtype, timeout=5.0):
    """Next message of 'mtype', answering echo requests and skipping the rest."""
    end = time.time() + timeout
    while time.time() < end:
        m = c.recv(end - time.time())
        if m is None:
            sys.exit("switch closed the connection")
        if m[1] == T["ECHO_REQUEST"]:
            c.send(msg(T["ECHO_REPLY"], struct.unpack("!I", m[4:8])[0], m[8:]))
        elif m[1] == mtype:
            return m
    sys.exit("timeout waiting for %s" % TNAME[mtype])


def mp_request(mp_type, body, xid):
    return msg(T["MULTIPART_REQUEST"], xid, struct.pack("!HH4x", mp_type, 0) + body)


def capture_replies():
    ovs, br = PrivateOvs(), "ofpcap0"
    try:
        ovs.vsctl("add-br", br, "--", "set", "bridge", br, "datapath_type=netdev",
                  "protocols=OpenFlow13", "fail_mode=secure",
                  "other-config:datapath-id=00000000000000a1")
        ovs.vsctl("add-port", br, "ofpcap1", "--", "set", "interface", "ofpcap1",
                  "type=internal", "ofport_request=1")
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ovs.vsctl("set-controller", br, "tcp:127.0.0.1:%d" % ls.getsockname()[1])
        ls.settimeout(10)
        s, _ = ls.accept()
        c = Conn(s)
        c.send(hello())
        save("hello_switch", ["HELLO of ovs-vswitchd 3.1 for a bridge with protocols=OpenFlow13"],
             wait_for(c, T["HELLO"]))
        c.send(msg(T["FEATURES_REQUEST"], 2))
        save("features_reply", ["FEATURES_REPLY of ovs-vswitchd 3.1, bridge " + br +
                                " with other-config:datapath-id=00000000000000a1"],
             wait_for(c, T["FEATURES_REPLY"]))
        c.send(mp_request(13, b"", 3))
        save("mp_port_desc_reply", ["OFPMP_PORT_DESC reply: bridge " + br +
                                    " (LOCAL) and internal port ofpcap1 (ofport 1)"],
             wait_for(c, T["MULTIPART_REPLY"]))
        ovs.vsctl("add-port", br, "ofpcap2", "--", "set", "interface", "ofpcap2",
                  "type=internal", "ofport_request=2")
        save("port_status_add", ["PORT_STATUS after: ovs-vsctl add-port " + br +
                                 " ofpcap2 -- set interface ofpcap2 type=internal ofport_request=2"],
             wait_for(c, T["PORT_STATUS"]))
        ovs.vsctl("del-port", br, "ofpcap2")
        save("port_status_delete", ["PORT_STATUS after: ovs-vsctl del-port " + br + " ofpcap2"],
             wait_for(c, T["PORT_STATUS"]))
        c.send(mp_request(4, struct.pack("!I4x", 0xffffffff), 4))
        save("mp_port_stats_reply", ["OFPMP_PORT_STATS reply for OFPP_ANY: bridge " + br],
             wait_for(c, T["MULTIPART_REPLY"]))
        ovs.ofctl("add-group", br, "group_id=5,type=select,bucket=weight:10,actions=output:1,"
                  "bucket=weight:20,actions=output:LOCAL")
        c.send(mp_request(6, struct.pack("!I4x", 0xfffffffc), 5))
        save("mp_group_stats_reply", ["OFPMP_GROUP_STATS reply for OFPG_ALL after: ovs-ofctl "
                                      "add-group group_id=5,type=select,bucket=weight:10,"
                                      "actions=output:1,bucket=weight:20,actions=output:LOCAL"],
             wait_for(c, T["MULTIPART_REPLY"]))
        ovs.ofctl("add-flow", br, "cookie=0x77,table=0,priority=1,arp,actions=controller")
        frame = bytes.fromhex("ffffffffffff020000000001080600010800060400010200000000010a000001"
                              "0000000000000a000002")
        # PACKET_OUT: buffer none, in_port CONTROLLER, actions output:TABLE.
        po = struct.pack("!IIH6x", 0xffffffff, 0xfffffffd, 16) + \
            struct.pack("!HHIH6x", 0, 16, 0xfffffff9, 0xffff) + frame
        c.send(msg(T["PACKET_OUT"], 6, po))
        save("packet_in", ["PACKET_IN after a PACKET_OUT to OFPP_TABLE of an ARP request",
                           "with flow: cookie=0x77,table=0,priority=1,arp,actions=controller"],
             wait_for(c, T["PACKET_IN"]))
        # FLOW_MOD add matching ip_proto=6 without eth_type: prerequisite error.
        oxm = struct.pack("!IB", 0x80001401, 6)
        match = struct.pack("!HH", 1, 4 + len(oxm)) + oxm
        match += b"\0" * ((8 - len(match) % 8) % 8)
        fm = struct.pack("!QQBBHHHIIIH2x", 0, 0, 0, 0, 0, 0, 100, 0xffffffff, 0xffffffff,
                         0xffffffff, 0) + match
        c.send(msg(T["FLOW_MOD"], 7, fm))
        save("error_bad_prereq", ["ERROR for a FLOW_MOD matching ip_proto=6 without eth_type"],
             wait_for(c, T["ERROR"]))
        s.close()
        ls.close()
    finally:
        ovs.stop()


def main():
    for name, cmd, args in REQUESTS:
        capture_request(name, cmd, args)
    capture_replies()


if __name__ == "__main__":
    main()
