#!/bin/bash
# Live demo of the whole system on this machine (root): a private Redis, a private Open
# vSwitch (userspace datapath) and nfv-orchestrator; three NFs launched through the REST API
# (nfvctl), each on its own pair of uplinks of the one bridge: a NAT with 3 instances, a
# stateful firewall with 2 and a load balancer with 2; a client and a server network
# namespace joined through the bridge, with 50 long-lived TCP connections through the NAT;
# then one NAT instance is killed with SIGKILL: the orchestrator takes it out of the
# steering, launches a replacement, and every connection survives (the mappings are in
# Redis). It leaves everything running; `make demo-stop` (deploy/demo-stop.sh) removes it.
#
# Topology (the bridge steers each flow to one instance of its NF by a hash of its addresses):
#
#   netns snf-client              root netns: OVS bridge snf-demo            netns snf-server
#   eth0 10.0.0.2   -- snf-cli    -> NAT nat-1..3 (public 203.0.113.1) -> snf-srv    -- eth0 198.51.100.1
#   eth1 10.0.1.2   -- snf-cli-fw -> firewall fw-1..2 (allow tcp 8080) -> snf-srv-fw -- eth1 198.51.101.1
#   eth2 10.0.2.2   -- snf-cli-lb -> LB lb-1..2 (VIP 192.0.2.10:80)    -> snf-srv-lb -- eth2 198.51.102.1, .2
#
# (the LB's clients are on its outside uplink, snf-cli-lb; its backends on the inside one)
set -eu

DEPLOY=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$DEPLOY")
BUILD=$ROOT/build
# Names shared with demo-stop.sh.
RUN=/run/snf-demo
OVS_DIR=$RUN/ovs
NS_C=snf-client
NS_S=snf-server
BRIDGE=snf-demo
UP_IN=snf-cli
UP_OUT=snf-srv
REDIS_PORT=6390
API_PORT=8181
OF_PORT=16653
CLIENT_IP=10.0.0.2
SERVER_IP=198.51.100.1
PUBLIC_IP=203.0.113.1
FW_CLIENT_IP=10.0.1.2
FW_SERVER_IP=198.51.101.1
LB_CLIENT_IP=10.0.2.2
LB_VIP=192.0.2.10
LB_BACKENDS="198.51.102.1 198.51.102.2"
PROBE_PORT=7777
HTTP_PORT=8080
CONNS=${DEMO_CONNS:-50}
T0=$(date +%s%N)
export NFVCTL_URL=http://127.0.0.1:$API_PORT

die() {
	echo "demo: FAILED: $*" >&2
	echo "demo: logs are in $RUN (orchestrator.log, instances/*.log, ovs/*.log); 'make demo-stop' removes everything" >&2
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

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 100 ms until it succeeds.
wait_for() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(( $(now_ms) + secs * 1000 ))
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || die "timed out after ${secs}s waiting for $what"
		sleep 0.1
	done
}

# spawn NAME COMMAND...: COMMAND in a session of its own, output in $RUN/NAME.log, its pid
# (written before it execs) in $RUN/NAME.pid.
spawn() {
	local name=$1
	shift
	# shellcheck disable=SC2016 # $$ and $@ are the inner shell's
	setsid sh -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" "$@" \
		</dev/null >"$RUN/$name.log" 2>&1 &
	disown
	wait_for 5 "$name to start" test -s "$RUN/$name.pid"
}

pid_of() {
	cat "$RUN/$1.pid"
}

alive() {
	kill -0 "$(pid_of "$1")" 2>/dev/null
}

nfvctl() {
	"$BUILD/nfvctl" "$@"
}

# A value from JSON on stdin: jq-like path given as a python expression on 'd'.
json() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

probe() {
	json "d['$1']" <"$RUN/probe.json"
}

preflight() {
	[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root (namespaces, veths, OVS)" >&2; exit 1; }
	for tool in redis-server redis-cli ovsdb-server ovs-vswitchd ovs-vsctl ovsdb-tool ip ethtool \
		python3 setsid nsenter curl; do
		command -v "$tool" >/dev/null || die "'$tool' is not installed: run 'make deps'"
	done
	for b in nf-nat nf-firewall nf-lb nfv-orchestrator nfvctl tcpprobe; do
		[ -x "$BUILD/$b" ] || die "$BUILD/$b is missing: run 'make all'"
	done
}

# After the previous demo is gone: our API port must be free.
api_port_free() {
	if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$API_PORT" 2>/dev/null; then
		die "something already listens on 127.0.0.1:$API_PORT"
	fi
}

# 1. Redis with the project's config on the demo's port and socket.
start_redis() {
	step "1/8 private Redis on 127.0.0.1:$REDIS_PORT"
	if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT" 2>/dev/null; then
		die "something already listens on 127.0.0.1:$REDIS_PORT"
	fi
	{
		[ -f "$ROOT/datastore/redis.conf" ] && echo "include $ROOT/datastore/redis.conf"
		cat <<-EOF
		bind 127.0.0.1
		port $REDIS_PORT
		unixsocket $RUN/redis.sock
		unixsocketperm 700
		dir $RUN
		daemonize no
		logfile ""
		save ""
		appendonly no
		EOF
	} >"$RUN/redis.conf"
	spawn redis redis-server "$RUN/redis.conf"
	wait_for 5 "Redis to answer PING" sh -c "redis-cli -p $REDIS_PORT PING | grep -q PONG"
	echo "   redis-server pid $(pid_of redis)"
}

# Environment of the OVS programs: everything in the private run dir.
OVS_ENV=(env "OVS_RUNDIR=$OVS_DIR" "OVS_LOGDIR=$OVS_DIR" "OVS_DBDIR=$OVS_DIR" "OVS_SYSCONFDIR=$OVS_DIR")

vsctl() {
	ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=10 "$@"
}

# 2. Open vSwitch in a private run dir: its own database and ovs-vswitchd.
start_ovs() {
	step "2/8 private Open vSwitch in $OVS_DIR (userspace datapath)"
	mkdir -p "$OVS_DIR"
	ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	spawn ovsdb "${OVS_ENV[@]}" ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" \
		--unixctl="$OVS_DIR/ovsdb-server.ctl" --log-file="$OVS_DIR/ovsdb-server.log"
	wait_for 10 "ovsdb-server" test -S "$OVS_DIR/db.sock"
	vsctl --no-wait init
	# The userspace datapath reads each port through an AF_PACKET socket with the default
	# receive buffer: raise it (global) so a flow table change does not overflow it.
	[ "$(sysctl -n net.core.rmem_max)" -ge 4194304 ] || sysctl -qw net.core.rmem_max=4194304
	[ "$(sysctl -n net.core.rmem_default)" -ge 4194304 ] || sysctl -qw net.core.rmem_default=4194304
	spawn vswitchd "${OVS_ENV[@]}" ovs-vswitchd "unix:$OVS_DIR/db.sock" \
		--unixctl="$OVS_DIR/ovs-vswitchd.ctl" --log-file="$OVS_DIR/ovs-vswitchd.log"
	wait_for 10 "ovs-vswitchd" test -S "$OVS_DIR/ovs-vswitchd.ctl"
	# The switch forwards every packet in its main thread: on a small machine it must not be
	# starved by other sessions (autogroup scheduling shares the CPU per session).
	echo -10 >"/proc/$(pid_of vswitchd)/autogroup" 2>/dev/null || true
	renice -n -10 -p "$(pid_of vswitchd)" >/dev/null 2>&1 || true
	echo "   ovsdb-server pid $(pid_of ovsdb), ovs-vswitchd pid $(pid_of vswitchd)"
}

# ns_if NS IF: IF up in NS ("" = root) without IPv6 and without the offloads that give
# af_packet frames larger than the MTU.
ns_if() {
	local ns=$1 ifc=$2 x=()
	[ -z "$ns" ] || x=(ip netns exec "$ns")
	if [ -e /proc/sys/net/ipv6 ]; then
		"${x[@]}" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
	fi
	"${x[@]}" ethtool -K "$ifc" tso off gso off gro off tx off >/dev/null 2>&1 || true
	"${x[@]}" ip link set "$ifc" up
}

# link NS IF ROOT_END ADDR/LEN: a veth IF in NS with ADDR, its other end ROOT_END (an uplink).
link() {
	ip link add "$3" type veth peer name "$2" netns "$1"
	ip -n "$1" addr add "$4" dev "$2"
	ns_if "$1" "$2"
	ns_if "" "$3"
}

# 3. The client and server namespaces; their veths' root ends are the NFs' uplinks. Each
# side reaches the other on its link (ARP passes through the bridge; the orchestrator
# answers ARP for the NAT's public address and the LB's VIP).
make_topology() {
	local b
	step "3/8 namespaces $NS_C and $NS_S, three uplink pairs (NAT, firewall, LB)"
	ip netns add "$NS_C"
	ip netns add "$NS_S"
	ip -n "$NS_C" link set lo up
	ip -n "$NS_S" link set lo up
	link "$NS_C" eth0 "$UP_IN" "$CLIENT_IP/24"
	link "$NS_S" eth0 "$UP_OUT" "$SERVER_IP/24"
	ip -n "$NS_C" route add 198.51.100.0/24 dev eth0
	ip -n "$NS_S" route add "$PUBLIC_IP/32" dev eth0
	echo "   NAT:      client eth0 $CLIENT_IP -> $UP_IN | $UP_OUT -> server eth0 $SERVER_IP"
	link "$NS_C" eth1 snf-cli-fw "$FW_CLIENT_IP/24"
	link "$NS_S" eth1 snf-srv-fw "$FW_SERVER_IP/24"
	ip -n "$NS_C" route add 198.51.101.0/24 dev eth1
	ip -n "$NS_S" route add 10.0.1.0/24 dev eth1
	echo "   firewall: client eth1 $FW_CLIENT_IP -> snf-cli-fw | snf-srv-fw -> server eth1 $FW_SERVER_IP"
	link "$NS_C" eth2 snf-cli-lb "$LB_CLIENT_IP/24"
	link "$NS_S" eth2 snf-srv-lb "${LB_BACKENDS%% *}/24"
	for b in ${LB_BACKENDS#* }; do ip -n "$NS_S" addr add "$b/24" dev eth2; done
	ip -n "$NS_C" route add "$LB_VIP/32" dev eth2
	ip -n "$NS_S" route add 10.0.2.0/24 dev eth2
	echo "   LB:       client eth2 $LB_CLIENT_IP -> snf-cli-lb | snf-srv-lb -> backends eth2 $LB_BACKENDS"
}

health_ok() {
	nfvctl health >/dev/null
}

# 4. The orchestrator: bridge, controller, REST API.
start_orchestrator() {
	step "4/8 nfv-orchestrator: bridge $BRIDGE, OpenFlow 127.0.0.1:$OF_PORT, REST API $NFVCTL_URL"
	cat >"$RUN/orchestrator.json" <<-EOF
	{
	  "listen": "127.0.0.1:$API_PORT",
	  "redis": "127.0.0.1:$REDIS_PORT",
	  "ovs_db": "unix:$OVS_DIR/db.sock",
	  "bridge": "$BRIDGE",
	  "openflow": "127.0.0.1:$OF_PORT",
	  "uplink_inside": "$UP_IN",
	  "uplink_outside": "$UP_OUT",
	  "heartbeat_ms": 100,
	  "nf_bin_dir": "$BUILD",
	  "run_dir": "$RUN/instances",
	  "nf_mem_mb": 256,
	  "nf_lcore": $(( $(nproc) - 1 )),
	  "nf_nice": -5,
	  "stop_instances_on_exit": true
	}
	EOF
	spawn orchestrator "$BUILD/nfv-orchestrator" --config "$RUN/orchestrator.json"
	wait_for 20 "the orchestrator to be healthy (bridge connected)" health_ok
	nfvctl health | sed 's/^/   | /'
}

ready_count() {
	nfvctl --json get nat | json "d['status']['ready']"
}

ready_is() {
	[ "$(ready_count)" -ge "$1" ]
}

nf_ready_is() {
	[ "$(nfvctl --json get "$1" | json "d['status']['ready']")" -ge "$2" ]
}

# 5. The NFs, through the REST API: the NAT on the orchestrator's default uplinks, the
# firewall and the LB each on their own.
launch_nfs() {
	local t
	step "5/8 nfvctl launch: nat (3 instances), firewall (2), lb (2)"
	cat >"$RUN/nat.json" <<-EOF
	{"public_ips": ["$PUBLIC_IP"], "port_range": [20000, 29999]}
	EOF
	cat >"$RUN/fw.json" <<-EOF
	{"default": "deny",
	 "rules": [{"action": "allow", "proto": "tcp", "dir": "out", "dst_ports": $HTTP_PORT},
	           {"action": "allow", "proto": "tcp", "dir": "out", "dst_ports": $PROBE_PORT},
	           {"action": "allow", "proto": "icmp", "dir": "out"}]}
	EOF
	cat >"$RUN/lb.json" <<-EOF
	{"services": [{"vip": "$LB_VIP", "port": 80, "proto": "tcp",
	  "backends": [{"address": "${LB_BACKENDS%% *}", "port": $HTTP_PORT},
	               {"address": "${LB_BACKENDS#* }", "port": $HTTP_PORT}]}]}
	EOF
	t=$(now_ms)
	nfvctl launch nat --name nat --instances 3 --config "$RUN/nat.json" | sed 's/^/   | /'
	nfvctl launch firewall --name fw --instances 2 --config "$RUN/fw.json" \
		--uplinks snf-cli-fw,snf-srv-fw | sed 's/^/   | /'
	nfvctl launch lb --name lb --instances 2 --config "$RUN/lb.json" \
		--uplinks snf-srv-lb,snf-cli-lb | sed 's/^/   | /'
	wait_for 60 "3 ready NAT instances" ready_is 3
	wait_for 60 "2 ready firewall instances" nf_ready_is fw 2
	wait_for 60 "2 ready LB instances" nf_ready_is lb 2
	echo "   7 instances ready and steered $(( $(now_ms) - t )) ms after the first call:"
	nfvctl ls | sed 's/^/   | /'
	nfvctl get nat | sed 's/^/   | /'
}

probe_connected() {
	[ "$(probe connected)" -ge "$CONNS" ] && [ "$(probe echoes)" -ge $(( CONNS * 50 )) ]
}

# 6. Traffic: a page over HTTP, ping, and long-lived TCP connections (tcpprobe).
traffic() {
	local body
	step "6/8 traffic from $NS_C to $NS_S through the NAT, the firewall and the LB"
	spawn server ip netns exec "$NS_S" python3 "$DEPLOY/demo_server.py" \
		--http "$SERVER_IP:$HTTP_PORT" --echo "$SERVER_IP:$(( PROBE_PORT + 1 ))" \
		--http "$FW_SERVER_IP:$HTTP_PORT" --http "$FW_SERVER_IP:$(( HTTP_PORT + 1 ))" \
		--http "${LB_BACKENDS%% *}:$HTTP_PORT" --http "${LB_BACKENDS#* }:$HTTP_PORT"
	spawn probe-server ip netns exec "$NS_S" "$BUILD/tcpprobe" serve "$PROBE_PORT" \
		--duration-s 86400 --out "$RUN/probe-server.json"
	wait_for 5 "the demo server" grep -q serving "$RUN/server.log"
	body=$(ip netns exec "$NS_C" curl -sS -m 5 --retry 3 --retry-connrefused \
		"http://$SERVER_IP:$HTTP_PORT/") || die "curl http://$SERVER_IP:$HTTP_PORT/ got no page"
	printf '%s\n' "$body" | sed 's/^/   curl | /'
	case $body in *"you are $PUBLIC_IP port"*) ;; *) die "the server did not see $PUBLIC_IP" ;; esac
	ip netns exec "$NS_C" ping -n -c 3 -i 0.2 -W 2 "$SERVER_IP" | grep -E 'bytes from|transmitted' |
		sed 's/^/   ping | /' || die "ping $SERVER_IP failed"
	spawn probe ip netns exec "$NS_C" "$BUILD/tcpprobe" client "$SERVER_IP:$PROBE_PORT" \
		--conns "$CONNS" --interval-ms 10 --duration-s 86400 --out "$RUN/probe.json"
	wait_for 30 "$CONNS probe connections to run" probe_connected
	echo "   $CONNS TCP connections $CLIENT_IP -> $SERVER_IP:$PROBE_PORT, each a message every 10 ms:" \
		"$(probe echoes) echoes, longest gap so far $(probe max_gap_ms) ms"
	echo "   NAT mappings in Redis: $(redis-cli -p $REDIS_PORT --scan --pattern 'nat:m*' | wc -l)" \
		"(one per connection and direction, shared by the 3 instances)"
	sleep 1
	nfvctl get nat | sed 's/^/   | /'
	firewall_and_lb
}

# The firewall lets port $HTTP_PORT through and drops the rest; the LB spreads connections
# to its VIP over the two backends (half NAT: they see the client's own address).
firewall_and_lb() {
	local body i
	echo
	echo "   through the firewall (fw, 2 instances; default deny, tcp $HTTP_PORT and $PROBE_PORT allowed):"
	body=$(ip netns exec "$NS_C" curl -sS -m 5 --retry 3 --retry-connrefused \
		"http://$FW_SERVER_IP:$HTTP_PORT/") || die "curl through the firewall got no page"
	printf '%s\n' "$body" | sed 's/^/   curl | /'
	if ip netns exec "$NS_C" curl -sS -m 2 "http://$FW_SERVER_IP:$(( HTTP_PORT + 1 ))/" \
		>/dev/null 2>&1; then
		die "the firewall let port $(( HTTP_PORT + 1 )) through"
	fi
	echo "   curl http://$FW_SERVER_IP:$(( HTTP_PORT + 1 ))/ (listening, not allowed): no answer in 2 s, dropped"
	echo "   firewall drops by policy so far: $(redis-cli -p $REDIS_PORT hget snf:inst:fw-1 drop_policy)" \
		"(fw-1) + $(redis-cli -p $REDIS_PORT hget snf:inst:fw-2 drop_policy) (fw-2)"
	echo
	echo "   through the load balancer (lb, 2 instances; VIP $LB_VIP:80 -> $LB_BACKENDS port $HTTP_PORT):"
	body=""
	for i in 1 2 3 4 5 6; do
		body+=$(ip netns exec "$NS_C" curl -sS -m 5 --retry 3 --retry-connrefused \
			"http://$LB_VIP/") || die "curl http://$LB_VIP/ got no page"
		body+=$'\n'
	done
	printf '%s' "$body" | grep '^hello' | sort | uniq -c | sed 's/^ */   curl x6 | /'
	case $body in *"you are $LB_CLIENT_IP port"*) ;; *) die "the backends did not see $LB_CLIENT_IP" ;; esac
	echo "   the backends see the client's own address (half NAT): you are $LB_CLIENT_IP"
}

replaced() {
	nfvctl --json events --max 20 | json "[e for e in d['events'] if e['kind'] == 'replaced' and e['instance'] == '$1']" |
		grep -q "$1"
}

# 7. Kill an instance under load.
failover() {
	local victim vpid before
	step "7/8 kill -9 one NAT instance under the $CONNS connections"
	victim=$(nfvctl --json get nat | json "d['instances'][0]['id']")
	vpid=$(nfvctl --json get nat | json "d['instances'][0]['pid']")
	kill -USR1 "$(pid_of probe)"	# a new measuring phase starts now
	sleep 0.3
	before=$(probe echoes)
	kill -9 "$vpid"
	echo "   killed $victim (pid $vpid) with SIGKILL"
	wait_for 30 "the replacement of $victim" replaced "$victim"
	wait_for 60 "3 ready NAT instances again" ready_is 3
	sleep 2
	nfvctl events --max 6 | sed 's/^/   | /'
	[ "$(probe broken)" -eq 0 ] || die "$(probe broken) connection(s) broke"
	[ "$(probe echoes)" -gt "$before" ] || die "the connections stopped echoing"
	echo
	echo "   every one of the $CONNS connections survived: 0 broken, 0 resets;"
	echo "   longest gap between two echoes since the kill: $(probe phase_max_gap_ms) ms" \
		"(whole run: $(probe max_gap_ms) ms)"
	echo "   detection to reroute: $(nfvctl --json health 2>/dev/null | json "d['last_detect_to_reroute_ms']" 2>/dev/null || echo '?') ms"
}

guide() {
	step "8/8 the demo keeps running"
	cat <<-EOF
	   orchestrator    pid $(pid_of orchestrator)   log $RUN/orchestrator.log   API $NFVCTL_URL
	   NF instances    logs $RUN/instances/*.log
	   OVS             $OVS_DIR (ovs-vsctl --db=unix:$OVS_DIR/db.sock show)
	   Redis           127.0.0.1:$REDIS_PORT      probe status $RUN/probe.json

	   Try nfvctl (in $BUILD):
	     $BUILD/nfvctl ls
	     $BUILD/nfvctl get nat              # also: get fw, get lb
	     $BUILD/nfvctl scale nat 5          # watch: $BUILD/nfvctl events
	     $BUILD/nfvctl kill nat/<ID>        # graceful: drain, then stop
	     curl -s $NFVCTL_URL/metrics | grep ^orch_
	     ip netns exec $NS_C curl http://$SERVER_IP:$HTTP_PORT/      # through the NAT
	     ip netns exec $NS_C curl http://$FW_SERVER_IP:$HTTP_PORT/      # through the firewall
	     ip netns exec $NS_C curl http://$LB_VIP/                  # through the LB
	     ovs-ofctl -O OpenFlow13 dump-flows unix:$OVS_DIR/$BRIDGE.mgmt

	   Stop and remove everything: make demo-stop   (or $DEPLOY/demo-stop.sh)
	EOF
}

main() {
	preflight
	"$DEPLOY/demo-stop.sh" --quiet || die "could not remove the previous demo (see above)"
	api_port_free
	mkdir -p "$RUN"
	echo "demo: run dir $RUN"
	start_redis
	start_ovs
	make_topology
	start_orchestrator
	launch_nfs
	traffic
	failover
	guide
	printf '\ndemo: OK in %.1f s\n' "$(elapsed_ms | awk '{ print $1 / 1000 }')"
}

main "$@"
