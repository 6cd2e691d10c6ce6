#!/bin/bash
# Live demo of the data plane on this machine: a NAT instance between two network
# namespaces keeps its flow state in a private Redis; it is killed (-9) under a running TCP
# connection and a second instance, started afresh, carries that connection on from the
# state in Redis. Run as root (`make demo`); it leaves the demo running, `make demo-stop`
# (deploy/demo-stop.sh) removes it.
#
# Topology (the NAT is a bump in the wire at L2: it rewrites IPv4 addresses and ports but
# never MACs, and non-IPv4 frames such as ARP pass through it unchanged):
#
#   netns snf-client                root netns                      netns snf-server
#   snf-in1 10.0.0.2/24 --veth-- snf-in0 [nf-nat] snf-out0 --veth-- snf-out1 198.51.100.1/24
#                                 inside            outside
#                           public address 203.0.113.1, ports 20000-29999
set -eu

DEPLOY=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$DEPLOY")
# Names shared with demo-stop.sh.
RUN=/run/snf-demo
NS_C=snf-client
NS_S=snf-server
REDIS_PORT=6390
# The demo's addresses exist only inside its namespaces and veths.
CLIENT_IP=10.0.0.2
SERVER_IP=198.51.100.1
PUBLIC_IP=203.0.113.1
HTTP_PORT=8080
ECHO_PORT=7777
NAT=$ROOT/build/nf-nat
STORE=127.0.0.1:$REDIS_PORT
T0=$(date +%s%N)

die() {
	echo "demo: FAILED: $*" >&2
	echo "demo: logs are in $RUN; 'make demo-stop' removes what was started" >&2
	exit 1
}

step() {
	printf '\n== %s  (t+%.1fs)\n' "$*" "$(elapsed_ms | awk '{ print $1 / 1000 }')"
}

elapsed_ms() {
	echo $(( ($(date +%s%N) - T0) / 1000000 ))
}

now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 50 ms until it succeeds; die after
# SECONDS with "timed out waiting for WHAT".
wait_for() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(( $(now_ms) + secs * 1000 ))
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || die "timed out after ${secs}s waiting for $what"
		sleep 0.05
	done
}

# spawn NAME COMMAND...: run COMMAND in its own session, detached from the terminal, with
# its output in $RUN/NAME.log; the process writes its own pid to $RUN/NAME.pid before it
# execs COMMAND (ip netns exec execs too), so the pid file names the real process.
spawn() {
	local name=$1
	shift
	# shellcheck disable=SC2016 # $$ and $@ are the inner shell's
	setsid sh -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" "$@" \
		</dev/null >"$RUN/$name.log" 2>&1 &
	disown	# no job notices ("Killed") when demo.sh kills one
	wait_for 5 "$name to start" test -s "$RUN/$name.pid"
}

pid_of() {
	cat "$RUN/$1.pid"
}

# gone PID: the process exited (a zombie not reaped yet counts as gone).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

alive() {
	! gone "$(pid_of "$1")"
}

# The last lines of a log, indented, for failure messages.
log_tail() {
	tail -n "${2:-5}" "$RUN/$1.log" 2>/dev/null | sed 's/^/    /' >&2 || true
}

rcli() {
	timeout 2 redis-cli -p "$REDIS_PORT" "$@"
}

state() {
	python3 "$DEPLOY/demo_state.py" --store "unix:$RUN/redis.sock" "$@"
}

# A field of the echo client's JSON status.
echo_status() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$RUN/echo.json" "$1" 2>/dev/null
}

echo_echoed_at_least() {
	[ "$(echo_status state)" = running ] && [ "$(echo_status echoed)" -ge "$1" ]
}

preflight() {
	[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root (namespaces, veths, af_packet)" >&2; exit 1; }
	for tool in redis-server redis-cli ip ethtool curl python3 setsid timeout; do
		command -v "$tool" >/dev/null || die "'$tool' is not installed: run 'make deps'"
	done
	[ -x "$NAT" ] || die "$NAT is missing: run 'make all'"
}

# 1. A private Redis: the project's config with the demo's port, socket and run dir.
start_redis() {
	step "1/7 private Redis on 127.0.0.1:$REDIS_PORT and $RUN/redis.sock"
	if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT" 2>/dev/null; then
		die "something already listens on 127.0.0.1:$REDIS_PORT"
	fi
	{
		if [ -f "$ROOT/datastore/redis.conf" ]; then
			echo "include $ROOT/datastore/redis.conf"
		fi
		cat <<-EOF
		# The demo's overrides (later lines win): loopback, own port and socket, no
		# persistence, logs to stdout (which demo.sh sends to redis.log).
		bind 127.0.0.1
		port $REDIS_PORT
		unixsocket $RUN/redis.sock
		unixsocketperm 700
		dir $RUN
		pidfile $RUN/redis.pid
		daemonize no
		supervised no
		logfile ""
		save ""
		appendonly no
		EOF
	} >"$RUN/redis.conf"
	spawn redis redis-server "$RUN/redis.conf"
	wait_for 5 "Redis to answer PING" sh -c "timeout 1 redis-cli -p $REDIS_PORT PING | grep -q PONG"
	echo "   redis-server pid $(pid_of redis), config $RUN/redis.conf (includes datastore/redis.conf)"
}

# ns_if NS IF: bring IF up in NS (NS "" = root) without IPv6 (the demo is IPv4, and the
# root-ns ends must not put packets of their own on the wire) and without the offloads
# that hand af_packet frames larger than the MTU (TSO, GSO, GRO super-frames).
ns_if() {
	local ns=$1 ifc=$2
	local x=(ip netns exec "$ns")
	[ -n "$ns" ] || x=()
	if [ -e /proc/sys/net/ipv6 ]; then
		"${x[@]}" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
	fi
	"${x[@]}" ethtool -K "$ifc" tso off gso off gro off
	"${x[@]}" ip link set "$ifc" up
}

# 2. Namespaces and veths.
make_topology() {
	local cmac
	step "2/7 namespaces $NS_C ($CLIENT_IP) and $NS_S ($SERVER_IP), veths snf-in0/snf-out0"
	ip netns add "$NS_C"
	ip netns add "$NS_S"
	ip link add snf-in0 type veth peer name snf-in1 netns "$NS_C"
	ip link add snf-out0 type veth peer name snf-out1 netns "$NS_S"
	ip -n "$NS_C" link set lo up
	ip -n "$NS_S" link set lo up
	ip -n "$NS_C" addr add "$CLIENT_IP/24" dev snf-in1
	ip -n "$NS_S" addr add "$SERVER_IP/24" dev snf-out1
	# Transmit checksum offload stays on at the client and the server: their TCP and UDP
	# packets reach the NAT with the checksum unfinished (CHECKSUM_PARTIAL) and the NAT
	# completes it while translating.
	ns_if "$NS_C" snf-in1
	ns_if "$NS_S" snf-out1
	# The NAT's ports: promiscuous, no addresses; the root netns does not route them
	# (frames carry the MACs of the namespaces' veths, which are not its own).
	ns_if "" snf-in0
	ns_if "" snf-out0
	ip link set snf-in0 promisc on
	ip link set snf-out0 promisc on
	# The client reaches the server's subnet on its link: its ARP request passes through
	# the NAT and the server answers it.
	ip -n "$NS_C" route add 198.51.100.0/24 dev snf-in1
	# The server reaches the public address on its link. Nobody answers ARP for
	# 203.0.113.1 in this topology (the NAT does not own addresses), so the server gets a
	# permanent neighbour entry: the client veth's MAC, which the frames keep through the
	# NAT and the client accepts as its own.
	cmac=$(ip netns exec "$NS_C" cat /sys/class/net/snf-in1/address)
	ip -n "$NS_S" route add "$PUBLIC_IP/32" dev snf-out1
	ip -n "$NS_S" neigh replace "$PUBLIC_IP" lladdr "$cmac" dev snf-out1 nud permanent
	echo "   client snf-in1 $CLIENT_IP ($cmac) route 198.51.100.0/24 on link"
	echo "   server snf-out1 $SERVER_IP, route $PUBLIC_IP/32 on link, neighbour $PUBLIC_IP -> $cmac"
}

start_server() {
	spawn server ip netns exec "$NS_S" python3 "$DEPLOY/demo_server.py" \
		--http "$SERVER_IP:$HTTP_PORT" --echo "$SERVER_IP:$ECHO_PORT"
	wait_for 5 "the demo server to listen" grep -q serving "$RUN/server.log"
	echo "   server (pid $(pid_of server)): http $SERVER_IP:$HTTP_PORT, echo $SERVER_IP:$ECHO_PORT"
}

# nat_wait ID WHAT COMMAND...: poll COMMAND until it succeeds; die early, with the log's
# tail, when NAT instance ID exits, or after 10 s.
nat_wait() {
	local id=$1 what=$2 deadline
	shift 2
	deadline=$(( $(now_ms) + 10000 ))
	until "$@" >/dev/null 2>&1; do
		if ! alive "$id"; then
			log_tail "$id" 8
			die "NAT instance $id exited (log $RUN/$id.log)"
		fi
		[ "$(now_ms)" -lt "$deadline" ] || { log_tail "$id" 8; die "$what from $id in 10 s"; }
		sleep 0.02
	done
}

has_heartbeat() {
	[ -n "$(rcli HGET "snf:inst:$1" ts_ms)" ]
}

# start_nat ID PREFIX: one NAT instance on the two veths; wait for its heartbeat.
# The af_packet PMD opens its sockets for every interface and binds them to snf-in0 and
# snf-out0 only afterwards, so frames of any interface sent in between (loopback included)
# end up in the NAT's rx rings. The demo stays off the loopback (no Redis polling) until
# the instance logs that it runs, after its ports are bound.
start_nat() {
	local id=$1 prefix=$2 t
	t=$(now_ms)
	spawn "$id" "$NAT" --no-huge -m 512 --no-pci --no-shconf --no-telemetry -l 0 \
		--file-prefix "$prefix" \
		--vdev=net_af_packet0,iface=snf-in0 --vdev=net_af_packet1,iface=snf-out0 \
		-- --id "$id" --store "$STORE" --public-ip "$PUBLIC_IP" --port-range 20000-29999
	nat_wait "$id" "no 'running' log line" grep -q " running: " "$RUN/$id.log"
	nat_wait "$id" "no heartbeat" has_heartbeat "$id"
	echo "   nf-nat $id pid $(pid_of "$id"): heartbeat in Redis $(( $(now_ms) - t )) ms after start (log $RUN/$id.log)"
}

# curl_page: fetch the server's page from the client; it names the address it saw.
curl_page() {
	local body
	body=$(ip netns exec "$NS_C" curl -sS -m 5 "http://$SERVER_IP:$HTTP_PORT/") ||
		die "curl http://$SERVER_IP:$HTTP_PORT/ from $NS_C got no page"
	printf '%s\n' "$body" | sed 's/^/   | /'
	case $body in
	*"you are $PUBLIC_IP port"*) ;;
	*) die "the server did not see the client as $PUBLIC_IP" ;;
	esac
	echo "   server log: $(grep ' http ' "$RUN/server.log" | tail -n 1)"
}

# ping_server: ICMP echo through the NAT (python's raw-socket echo where ping is missing).
ping_server() {
	local out
	if command -v ping >/dev/null; then
		out=$(ip netns exec "$NS_C" ping -n -c 3 -i 0.2 -W 1 "$SERVER_IP" 2>&1) ||
			{ printf '%s\n' "$out" >&2; die "ping $SERVER_IP failed"; }
	else
		out=$(ip netns exec "$NS_C" python3 "$DEPLOY/demo_client.py" ping "$SERVER_IP" --count 3 2>&1) ||
			{ printf '%s\n' "$out" >&2; die "ICMP echo to $SERVER_IP failed"; }
	fi
	printf '%s\n' "$out" | grep -E 'bytes from|transmitted|PING' | sed 's/^/   | /'
}

start_echo() {
	spawn echo ip netns exec "$NS_C" python3 "$DEPLOY/demo_client.py" echo \
		"$SERVER_IP:$ECHO_PORT" --status "$RUN/echo.json" --interval-ms 10
	wait_for 5 "the echo connection to run" echo_echoed_at_least 50
	echo "   echo client pid $(pid_of echo): connection $(echo_status local) -> $(echo_status peer)," \
		"a line every 10 ms, $(echo_status echoed) echoed, longest gap $(echo_status max_gap_ms) ms"
	echo "   server log: $(grep ' echo .* connected' "$RUN/server.log" | tail -n 1)"
}

traffic() {
	step "4/7 traffic from $NS_C through NAT A"
	start_server
	echo "   curl http://$SERVER_IP:$HTTP_PORT/ :"
	curl_page
	echo "   ping -c 3 $SERVER_IP :"
	ping_server
	start_echo
}

# show_state ID...: the mappings and the heartbeats of the instances ID. A mapping for an
# inside address other than the client's comes from a frame of another interface (see
# start_nat): say so.
show_state() {
	local m
	m=$(state mappings) || die "cannot read the mappings from Redis"
	printf '%s\n' "$m"
	if printf '%s\n' "$m" | awk -v ip="$CLIENT_IP" '/ -> / { split($1, a, ":");
	    if (a[1] != ip) other = 1 } END { exit !other }'; then
		echo "   note: a mapping above is not the client's: the af_packet PMD caught a frame" \
			"of another interface while it opened its sockets (before binding them)"
	fi
	state heartbeat "$@"
}

# 6. Kill A under the running connection, start B, check the connection carried on.
failover() {
	local before pa
	step "6/7 kill -9 NAT A under the running connection; start NAT B"
	before=$(echo_status echoed)
	pa=$(pid_of nat-a)
	kill -9 "$pa"
	wait_for 2 "NAT A to die" gone "$pa"
	echo "   killed nat-a (pid $pa) with SIGKILL after $before echoed lines"
	start_nat nat-b snfB
	wait_for 10 "the echo connection to carry on through NAT B" \
		echo_echoed_at_least $(( before + 100 ))
	case $(echo_status state) in
	running) ;;
	*) die "the echo connection ended: $(echo_status state) $(echo_status error)" ;;
	esac
	if grep -Eq ' echo .* (closed|error)' "$RUN/server.log"; then
		die "the server saw the echo connection end: $(grep -E ' echo .* (closed|error)' "$RUN/server.log")"
	fi
	echo "   the TCP connection $(echo_status local) -> $(echo_status peer) is still running:" \
		"no reset, $(echo_status echoed) lines echoed, $(echo_status bad) wrong"
	echo "   longest gap between two echoes: $(echo_status max_gap_ms) ms (the outage: kill -9 of A," \
		"start of B, then TCP's retransmission backoff)"
	echo "   NAT B started with an empty cache: it read the connection's mapping from Redis" \
		"on its first packet; the server still sees one connection:"
	echo "   server log: $(grep ' echo .* connected' "$RUN/server.log")"
	[ "$(grep -c ' echo .* connected' "$RUN/server.log")" -eq 1 ] ||
		die "the server saw more than one echo connection"
	echo "   new curl through NAT B:"
	curl_page
}

guide() {
	step "7/7 the demo keeps running"
	cat <<-EOF
	   NAT instance B   pid $(pid_of nat-b)   log $RUN/nat-b.log  (A's log: $RUN/nat-a.log)
	   Redis            pid $(pid_of redis)   127.0.0.1:$REDIS_PORT, $RUN/redis.sock, log $RUN/redis.log
	   demo server      pid $(pid_of server)   log $RUN/server.log
	   echo client      pid $(pid_of echo)   status $RUN/echo.json (rewritten every 100 ms)

	   Look around:
	     ip netns exec $NS_C curl http://$SERVER_IP:$HTTP_PORT/
	     cat $RUN/echo.json
	     python3 $DEPLOY/demo_state.py --store unix:$RUN/redis.sock mappings
	     python3 $DEPLOY/demo_state.py --store unix:$RUN/redis.sock heartbeat nat-b
	     redis-cli -p $REDIS_PORT --scan --pattern 'nat:*'
	     redis-cli -p $REDIS_PORT HGETALL snf:inst:nat-b
	     ip netns exec $NS_S tcpdump -ni snf-out1 -vv   # translated side: checksums completed
	     ip netns exec $NS_C tcpdump -ni snf-in1 -vv    # inside: checksums left to the offload
	     (tcpdump is not part of 'make deps': apt-get install tcpdump)

	   Stop everything: make demo-stop   (or $DEPLOY/demo-stop.sh)
	EOF
}

main() {
	preflight
	"$DEPLOY/demo-stop.sh" --quiet || die "could not remove the previous demo (see above)"
	mkdir -p "$RUN"
	echo "demo: run dir $RUN"
	start_redis
	make_topology
	step "3/7 NAT instance A (nat-a) on snf-in0 (inside) and snf-out0 (outside)"
	start_nat nat-a snfA
	traffic
	step "5/7 the state in Redis"
	show_state nat-a
	failover
	echo "   state in Redis now:"
	show_state nat-b
	state heartbeat nat-a | sed 's/$/ (killed: its key expires 3 s after its last heartbeat)/' || true
	guide
	printf '\ndemo: OK in %.1f s\n' "$(elapsed_ms | awk '{ print $1 / 1000 }')"
}

main "$@"
