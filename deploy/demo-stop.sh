#!/bin/bash
# Stop the live demo that deploy/demo.sh started: the probes and servers, the NF instances,
# the orchestrator, Open vSwitch and Redis (each by its pid file, checked against its
# command line), the namespaces, veths and the bridge's tap, the DPDK runtime dirs of the
# instances, and the run dir. Idempotent: safe when nothing or only part of it runs.
# Usage: demo-stop.sh [--quiet]
set -u

# Names shared with demo.sh.
RUN=/run/snf-demo
OVS_DIR=$RUN/ovs
NAMESPACES="snf-client snf-server"
LINKS="snf-cli snf-srv snf-cli-fw snf-srv-fw snf-cli-lb snf-srv-lb snf-demo"
# pid file name : what its command line must contain (guards against a reused pid), in
# the order they are stopped. The orchestrator goes before OVS (it stops its instances'
# ports), OVS before Redis.
PROCS="probe:tcpprobe probe-server:tcpprobe server:demo_server.py orchestrator:nfv-orchestrator
vswitchd:ovs-vswitchd ovsdb:ovsdb-server redis:redis-server"
# Older demos (the data plane alone) left these.
OLD_LINKS="snf-in0 snf-out0"

QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1

say() {
	[ "$QUIET" -eq 1 ] || echo "demo-stop: $*"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo-stop: must run as root" >&2
	exit 1
fi

gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# stop_pid PID WHAT: SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
	local pid=$1 what=$2 _
	gone "$pid" && return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 200); do
		gone "$pid" && break
		sleep 0.05
	done
	if ! gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		say "$what (pid $pid) did not stop on SIGTERM: killed"
	fi
	say "stopped $what (pid $pid)"
}

cmdline_of() {
	tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"
}

# The orchestrator leaves its instances running by design: stop it first, then every NF
# process whose command line names this demo's run dir (its --config file).
stop_instances() {
	local pid
	for pid in $(pgrep -f -- "--config $RUN/instances/" 2>/dev/null); do
		stop_pid "$pid" "NF instance $(cmdline_of "$pid" | sed -n 's/.* --id \([^ ]*\).*/\1/p')"
	done
}

stop_proc() {
	local name=$1 marker=$2 pid
	[ -s "$RUN/$name.pid" ] || return 0
	pid=$(cat "$RUN/$name.pid")
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	if cmdline_of "$pid" | grep -qF "$marker"; then
		stop_pid "$pid" "$name"
	fi
}

stop_procs() {
	local entry
	for entry in $PROCS; do
		if [ "${entry%%:*}" = vswitchd ]; then
			stop_instances
			# Let ovs-vswitchd remove its datapath and the bridge's tap itself.
			[ -S "$OVS_DIR/ovs-vswitchd.ctl" ] &&
				timeout 5 ovs-appctl -t "$OVS_DIR/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1
		fi
		stop_proc "${entry%%:*}" "${entry#*:}"
	done
	stop_instances
}

ns_exists() {
	[ -e "/run/netns/$1" ]
}

# Whatever else runs in the demo's namespaces (a shell, a tcpdump) keeps them alive.
stop_ns_pids() {
	local ns pid
	for ns in $NAMESPACES; do
		ns_exists "$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			stop_pid "$pid" "process in $ns ($(cmdline_of "$pid" | cut -c1-60))"
		done
	done
}

links_left() {
	local ifc
	for ifc in $LINKS $OLD_LINKS $(instance_links); do
		ip link show "$ifc" >/dev/null 2>&1 && echo "$ifc"
	done
	return 0
}

# The instances' veths ("snf" + 8 hex digits + i|o, and their "-b" ends) that are left
# when an instance was killed without its cleanup: those on the demo's bridge only.
instance_links() {
	[ -d "$RUN/instances" ] || return 0
	ls "$RUN/instances" 2>/dev/null | sed -n 's/\.log$//p' | while read -r id; do
		python3 - "$id" <<-'EOF' 2>/dev/null
		import sys
		h = 2166136261
		for c in ("snf-demo" + "/" + sys.argv[1]).encode():
		    h = ((h ^ c) * 16777619) & 0xffffffff
		print("snf%08xi snf%08xo" % (h, h))
		EOF
	done
}

remove_links() {
	local ns ifc
	for ns in $NAMESPACES; do
		if ns_exists "$ns"; then
			ip netns del "$ns" && say "deleted netns $ns"
		fi
	done
	# Deleting a namespace deletes its veth ends, and their peers, in the background.
	for _ in $(seq 40); do
		[ -z "$(links_left | grep -v "^snf[0-9a-f]\{8\}" || true)" ] && break
		sleep 0.05
	done
	for ifc in $(links_left); do
		ip link del "$ifc" 2>/dev/null && say "deleted link $ifc"
	done
	# The userspace datapath's persistent tap, when no other ovs-vswitchd of this network
	# namespace may use it.
	if ip link show ovs-netdev >/dev/null 2>&1 && ! vswitchd_here; then
		ip link del ovs-netdev 2>/dev/null && say "deleted tap ovs-netdev"
	fi
}

# Whether an ovs-vswitchd runs in this network namespace.
vswitchd_here() {
	local pid self
	self=$(readlink /proc/self/ns/net)
	for pid in $(pgrep -x ovs-vswitchd); do
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$self" ] && return 0
	done
	return 1
}

remove_files() {
	local d
	# DPDK runtime dirs of the instances (--file-prefix snf<hash>).
	for ifc in $(instance_links); do
		d=/var/run/dpdk/${ifc%?}
		[ -d "$d" ] && rm -rf "$d"
	done
	if [ -d "$RUN" ]; then
		rm -rf "$RUN" && say "removed $RUN"
	fi
}

leftovers() {
	local ns
	for ns in $NAMESPACES; do
		ns_exists "$ns" && echo "netns:$ns"
	done
	links_left
	[ -e "$RUN" ] && echo "$RUN"
	return 0
}

stop_procs
stop_ns_pids
remove_links
remove_files
left=$(leftovers | tr "\n" " ")
if [ -n "$left" ]; then
	echo "demo-stop: still there: $left" >&2
	exit 1
fi
say "nothing of the demo is left"
exit 0
