#!/bin/bash
# Stop the live demo that deploy/demo.sh started: its processes (by their pid files), its
# namespaces and veths, its run dir. Idempotent: safe when nothing or only part runs.
# Usage: demo-stop.sh [--quiet]
set -u

# Names shared with demo.sh.
RUN=/run/snf-demo
NAMESPACES="snf-client snf-server"
VETHS="snf-in0 snf-out0"
DPDK_PREFIXES="snfA snfB"
# pid file name : what its command line must contain (guards against a reused pid).
PROCS="echo:demo_client.py server:demo_server.py nat-b:nf-nat nat-a:nf-nat redis:redis-server"

QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1

say() {
	[ "$QUIET" -eq 1 ] || echo "demo-stop: $*"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo-stop: must run as root" >&2
	exit 1
fi

# gone PID: the process exited (a zombie not reaped yet counts as gone).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# stop_pid PID WHAT: SIGTERM, up to 3 s to exit, then SIGKILL.
stop_pid() {
	local pid=$1 what=$2 _
	gone "$pid" && return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 60); do
		gone "$pid" && break
		sleep 0.05
	done
	if ! gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		say "$what (pid $pid) did not stop on SIGTERM: killed"
	fi
	say "stopped $what (pid $pid)"
}

stop_pidfiles() {
	local entry name marker pid
	for entry in $PROCS; do
		name=${entry%%:*}
		marker=${entry#*:}
		[ -s "$RUN/$name.pid" ] || continue
		pid=$(cat "$RUN/$name.pid")
		case $pid in '' | *[!0-9]*) continue ;; esac
		if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$marker"; then
			stop_pid "$pid" "$name"
		fi
	done
}

ns_exists() {
	[ -e "/run/netns/$1" ]
}

# Whatever still runs inside the demo's namespaces (a shell someone opened there, a
# tcpdump) keeps a namespace, and so its veth, alive: stop it by pid.
stop_ns_pids() {
	local ns pid
	for ns in $NAMESPACES; do
		ns_exists "$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			stop_pid "$pid" "process in $ns ($(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-60))"
		done
	done
}

remove_links() {
	local ns ifc
	for ns in $NAMESPACES; do
		if ns_exists "$ns"; then
			ip netns del "$ns" && say "deleted netns $ns"
		fi
	done
	# Deleting a namespace deletes its veth ends, and so their peers, but the kernel does
	# it in the background: wait a little, then delete what is left.
	for _ in $(seq 40); do
		veths_left || break
		sleep 0.05
	done
	for ifc in $VETHS; do
		if ip link show "$ifc" >/dev/null 2>&1; then
			ip link del "$ifc" 2>/dev/null && say "deleted veth $ifc"
		fi
	done
}

# veths_left: succeeds when one of the root-ns veth ends still exists.
veths_left() {
	local ifc
	for ifc in $VETHS; do
		ip link show "$ifc" >/dev/null 2>&1 && return 0
	done
	return 1
}

remove_files() {
	local p
	if [ -d "$RUN" ]; then
		rm -rf "$RUN" && say "removed $RUN"
	fi
	# The DPDK runtime dirs of the NAT instances (--file-prefix).
	for p in $DPDK_PREFIXES; do
		rm -rf "/var/run/dpdk/$p"
	done
}

# What is still there, one word each; nothing when the demo is gone.
leftovers() {
	local ns
	for ns in $NAMESPACES; do
		ns_exists "$ns" && echo "netns:$ns"
	done
	veths_left && echo "veths"
	[ -e "$RUN" ] && echo "$RUN"
	return 0
}

stop_pidfiles
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
