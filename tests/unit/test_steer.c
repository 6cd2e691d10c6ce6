/* Tests of OpenFlow steering (orchestrator/steer*.c) against a real ovs-vswitchd (netdev
 * datapath, fail_mode=secure, OpenFlow 1.3) whose controller is our ofconn listener.
 *
 * Topology, all made by the test in its private network namespace: a client namespace
 * (10.0.0.2/24) and a server namespace (198.51.100.1/24) joined to the bridge by one veth
 * each (their bridge ends are the NF's inside and outside uplinks; each namespace has an
 * on-link route to the other: the uplinks form one L2 segment), and up to 4 instances of
 * build/tests/nf-passthru, each in a namespace of its own on two veth pairs through DPDK
 * af_packet. With pass-through
 * instances the chain behaves like a firewall (no owned addresses: all IPv4 from the
 * outside goes to the instances). Which instance carries a flow is read from the OVS port
 * counters of the instances' inside ports (only client -> server frames leave there). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nf/clock.h"
#include "orchestrator/netdev.h"
#include "orchestrator/ofconn.h"
#include "orchestrator/ofp_mp.h"
#include "orchestrator/ofp_names.h"
#include "orchestrator/ofp_proto.h"
#include "orchestrator/steer.h"
#include "tests/harness/netns.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/ovs.h"

#define WAIT_MS 10000
#define MAX_INST 4
#define N_FLOWS 200
#define NF_COOKIE 0x00c0ffee00000001ull
#define GROUP_BASE 100
#define CLIENT_IP "10.0.0.2"
#define SERVER_IP "198.51.100.1"
#define OWNED_IP "198.51.100.99"
#define FLOW_PORT_BASE 20000
#define OUT_SIZE 65536

static struct ovs ovs;
static struct ofconn *conn;
static struct steer *steer;
static char br[16];
static char dir[64];		/* logs of the spawned programs */
static struct netns client, server, inst_ns[MAX_INST];
static struct nfproc inst[MAX_INST], httpd;
static unsigned n_inst;
static struct steer_member members[MAX_INST];
static struct steer_nf nf;
static char slots[ORCH_SLOTS][ORCH_ID_MAX];
static int flow_fds[N_FLOWS];
static char out[OUT_SIZE];

/* What the connection's callbacks saw. */
static struct {
	unsigned n_connected, n_disconnected, n_errors;
	char last_error[160];
} ev;

/* One steer change's completion. */
struct done {
	unsigned n;
	int status;
};

/* ---- Callbacks ---- */

static void on_connected(struct ofconn *c, void *arg)
{
	(void)c, (void)arg;
	ev.n_connected++;
	if (steer)
		steer_resync(steer);
}

static void on_disconnected(struct ofconn *c, void *arg, int reason)
{
	(void)c, (void)arg, (void)reason;
	ev.n_disconnected++;
}

static void on_error(struct ofconn *c, void *arg, const struct ofp_error *err)
{
	(void)c, (void)arg;
	ev.n_errors++;
	ofp_error_format(err, ev.last_error, sizeof(ev.last_error));
}

static void on_packet_in(struct ofconn *c, void *arg, const struct ofp_packet_in *pin)
{
	(void)c, (void)arg;
	if (steer)
		steer_packet_in(steer, pin);
}

static void on_port_status(struct ofconn *c, void *arg, const struct ofp_port_status *ps)
{
	(void)c, (void)arg;
	if (steer)
		steer_port_status(steer, ps);
}

static const struct ofconn_cbs cbs = {
	.connected = on_connected,
	.disconnected = on_disconnected,
	.error = on_error,
	.packet_in = on_packet_in,
	.port_status = on_port_status,
};

static void on_done(void *arg, int status)
{
	struct done *d = arg;

	d->n++;
	d->status = status;
}

/* ---- Running the connection ---- */

static void run_for(int ms)
{
	uint64_t end = nf_now_us() + ms * 1000ull;

	while (nf_now_us() < end)
		ofconn_poll(conn, 5);
}

static bool run_until_count(const unsigned *count, unsigned want, int ms)
{
	uint64_t end = nf_now_us() + ms * 1000ull;

	while (*count < want && nf_now_us() < end)
		ofconn_poll(conn, 5);
	return *count >= want;
}

/* Run the connection until the program 'p' exits (at most 'ms'); its exit status, or -1. */
static int run_until_exit(struct nfproc *p, int ms)
{
	uint64_t end = nf_now_us() + ms * 1000ull;

	while (nf_now_us() < end) {
		ofconn_poll(conn, 5);
		if (nfproc_wait(p, 0) == 0)
			return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
	}
	nfproc_kill(p);
	return -1;
}

/* nfproc_wait_log() while serving the connection (a switch that gets no answer to its
 * echo requests for 10 s reconnects). */
static int wait_log(struct nfproc *p, const char *needle, int ms)
{
	uint64_t end = nf_now_us() + ms * 1000ull;
	int rc;

	while ((rc = nfproc_wait_log(p, needle, 0)) == -ETIMEDOUT && nf_now_us() < end)
		ofconn_poll(conn, 50);
	return rc;
}

/* ---- Commands ---- */

#define VSCTL(...) cr_assert_eq(ovs_vsctl(&ovs, __VA_ARGS__), 0, "ovs-vsctl: %s", ovs.out)
#define OFCTL(...) cr_assert_eq(ovs_ofctl(&ovs, __VA_ARGS__), 0, "ovs-ofctl: %s", ovs.out)
#define IN_NS(ns, ...)                                                                     \
	cr_assert_eq(netns_run((ns), out, sizeof(out), __VA_ARGS__), 0, "%s", out)

/* Run a shell command in 'ns' while serving the connection (it makes ARP packet-ins). */
static int ns_exec(const struct netns *ns, const char *name, int ms, const char *cmd)
{
	struct nfproc p;

	cr_assert_eq(netns_spawn(ns, &p, dir, name, "%s", cmd), 0);
	return run_until_exit(&p, ms);
}

static unsigned count_substr(const char *s, const char *sub)
{
	unsigned n = 0;

	while ((s = strstr(s, sub)) != NULL) {
		n++;
		s += strlen(sub);
	}
	return n;
}

/* Interface names: BR + role letter + instance number. */
static void ifname(char buf[16], char role, unsigned k)
{
	if (k == ~0u)
		snprintf(buf, 16, "%.12s%c", br, role);
	else
		snprintf(buf, 16, "%.12s%c%u", br, role, k % 10);
}

/* ---- Steer changes ---- */

/* Apply the first 'n' started instances ('pick' lists which, NULL: 0..n-1) and wait for
 * the barrier-confirmed callback. */
static void apply_members(const unsigned *pick, unsigned n)
{
	struct steer_member m[MAX_INST];
	struct done d = { 0 };
	int rc;

	for (unsigned i = 0; i < n; i++)
		m[i] = members[pick ? pick[i] : i];
	for (int attempt = 0; attempt < 3; attempt++) {
		unsigned gen = ev.n_connected;

		d.n = 0;
		rc = steer_apply(steer, &nf, m, n, slots, on_done, &d);
		cr_assert(rc == 0 || rc == -ENOTCONN, "steer_apply: %s", strerror(-rc));
		if (rc == 0)
			cr_assert(run_until_count(&d.n, 1, WAIT_MS), "no barrier-confirmed callback");
		if (rc == 0 && d.status != -EPROTO && d.status < 0)
			rc = d.status;
		if (rc == 0)
			break;
		/* The connection was lost (a loaded machine): the resync after the switch
		 * reconnects re-applies it; apply again for a confirmation. */
		fprintf(stderr, "steer: apply: %s, waiting for the switch to reconnect\n", strerror(-rc));
		cr_assert(run_until_count(&ev.n_connected, gen + 1, 3 * WAIT_MS));
	}
	cr_assert_eq(d.n, 1);
	cr_assert_eq(d.status, 0, "apply status %d (%s)", d.status, ev.last_error);
	/* Datapath flows follow the OpenFlow tables asynchronously: wait for a revalidation. */
	cr_assert_eq(ovs_appctl(&ovs, "revalidator/wait"), 0, "%s", ovs.out);
}

/* ---- Fixture ---- */

static void ovs_up(void)
{
	memset(&ev, 0, sizeof(ev));
	cr_assert_eq(ovs_private_netns(), 0, "cannot make a network namespace (not root?)");
	cr_assert_eq(ovs_start(&ovs), 0, "cannot start ovsdb-server/ovs-vswitchd");
	snprintf(br, sizeof(br), "st%d", (int)(getpid() % 100000));
	cr_assert_eq(ovs_add_bridge(&ovs, br), 0, "add-br: %s", ovs.out);	/* fail_mode first */
	snprintf(dir, sizeof(dir), "/tmp/snf-steer-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(dir));
	conn = ofconn_listen("127.0.0.1", 0, &cbs, NULL);
	cr_assert_not_null(conn);
	ofconn_set_keepalive(conn, 1000, 5);
	steer = steer_create(conn);
	cr_assert_not_null(steer);
	cr_assert_eq(ovs_set_controller(&ovs, br, ofconn_local_port(conn)), 0, "%s", ovs.out);
	cr_assert(run_until_count(&ev.n_connected, 1, WAIT_MS), "the bridge did not connect");
}

/* A veth 'a' (stays here, prepared for the bridge or an NF) <-> 'b'. */
static void veth(const char *a, const char *b)
{
	char err[256];

	cr_assert_eq(netdev_veth_create(a, b, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(netdev_port_prepare(a, err, sizeof(err)), 0, "%s", err);
}

/* A host namespace with address 'ip'/24 on 'ifn' and an on-link route to 'peer_net'. */
static void host_up(struct netns *ns, const char *br_end, const char *ns_end, const char *ip,
		    const char *peer_net)
{
	cr_assert_eq(netns_create(ns), 0);
	veth(br_end, ns_end);
	IN_NS(ns, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	cr_assert_eq(netns_move_link(ns, ns_end), 0);
	IN_NS(ns, "ip link set %s up && ip addr add %s/24 dev %s && ip route add %s dev %s && "
		  "ethtool -K %s tso off gso off gro off tx off >/dev/null",
	      ns_end, ip, ns_end, peer_net, ns_end, ns_end);
}

/* Start instance 'k': two veth pairs whose NF ends go into a namespace of the instance's
 * own, and nf-passthru on them there. (Own namespaces, because DPDK's af_packet PMD names
 * its PACKET_FANOUT group getpid() ^ ifindex: two processes in one namespace can draw the
 * same id for different interfaces, and the second then fails to start with EINVAL.) */
static void instance_start(unsigned k)
{
	char bi[16], bo[16], ni[16], no[16], exe[PATH_MAX], err[256];

	ifname(bi, 'i', k);
	ifname(bo, 'o', k);
	ifname(ni, 'I', k);
	ifname(no, 'O', k);
	veth(bi, ni);
	veth(bo, no);
	cr_assert_eq(netdev_port_prepare(ni, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(netdev_port_prepare(no, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(netns_create(&inst_ns[k]), 0);
	IN_NS(&inst_ns[k], "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	cr_assert_eq(netns_move_link(&inst_ns[k], ni), 0);
	cr_assert_eq(netns_move_link(&inst_ns[k], no), 0);
	IN_NS(&inst_ns[k], "ip link set %s up promisc on && ip link set %s up promisc on", ni, no);
	cr_assert_eq(nfproc_build_path("tests/nf-passthru", exe, sizeof(exe)), 0);
	snprintf(members[k].id, sizeof(members[k].id), "pt-%u", k);
	cr_assert_eq(netns_spawn(&inst_ns[k], &inst[k], dir, members[k].id,
				 "exec nice -n 19 %s --no-huge -m 256 --no-pci --no-shconf --no-telemetry "
				 "--log-level=error -l %u --file-prefix %s-%u "
				 "--vdev=net_af_packet0,iface=%s --vdev=net_af_packet1,iface=%s -- "
				 "--stats-interval-ms 0 --mode local --id %s",
				 exe, nfproc_pick_lcore(k), br, k, ni, no, members[k].id),
		     0);
}

static void set_ofports(const char *const *names, unsigned n, uint32_t *ofports)
{
	char db[128], err[512];
	struct netdev_ovs o = { .db = db, .timeout_ms = WAIT_MS };

	snprintf(db, sizeof(db), "unix:%s/db.sock", ovs.dir);
	for (unsigned i = 0; i < n; i += 8)	/* at most 8 a call */
		cr_assert_eq(netdev_ovs_add_ports(&o, br, names + i, n - i < 8 ? n - i : 8, ofports + i,
						  err, sizeof(err)),
			     0, "%s", err);
}

/* The whole topology with 'n' instances (not yet steered). */
static void topo_up(unsigned n)
{
	char names[2 + 2 * MAX_INST][16];
	const char *ptrs[2 + 2 * MAX_INST];
	uint32_t ofports[2 + 2 * MAX_INST];
	char ns_c[16], ns_s[16];
	struct done d = { 0 };

	ovs_up();
	ifname(names[0], 'c', ~0u);
	ifname(names[1], 's', ~0u);
	ifname(ns_c, 'C', ~0u);
	ifname(ns_s, 'S', ~0u);
	host_up(&client, names[0], ns_c, CLIENT_IP, "198.51.100.0/24");
	host_up(&server, names[1], ns_s, SERVER_IP, "10.0.0.0/24");
	n_inst = n;
	for (unsigned k = 0; k < n; k++) {
		instance_start(k);
		ifname(names[2 + 2 * k], 'i', k);
		ifname(names[3 + 2 * k], 'o', k);
	}
	for (unsigned i = 0; i < 2 + 2 * n; i++)
		ptrs[i] = names[i];
	set_ofports(ptrs, 2 + 2 * n, ofports);
	for (unsigned k = 0; k < n; k++) {
		members[k].ofport_in = ofports[2 + 2 * k];
		members[k].ofport_out = ofports[3 + 2 * k];
		cr_assert_eq(wait_log(&inst[k], "running", 60000), 0, "instance %u did not start: %s", k,
			     nfproc_slurp(inst[k].err));
	}
	/* The port numbers as the steer sees them. */
	cr_assert_eq(steer_refresh_ports(steer, on_done, &d), 0);
	cr_assert(run_until_count(&d.n, 1, WAIT_MS));
	cr_assert_eq(d.status, 0);
	memset(&nf, 0, sizeof(nf));
	snprintf(nf.name, sizeof(nf.name), "fw");
	nf.cookie = NF_COOKIE;
	nf.group_base = GROUP_BASE;
	nf.uplink_in = steer_port_no(steer, names[0]);
	nf.uplink_out = steer_port_no(steer, names[1]);
	cr_assert_eq(nf.uplink_in, ofports[0]);
	cr_assert_eq(nf.uplink_out, ofports[1]);
	memset(slots, 0, sizeof(slots));
}

static void teardown(void)
{
	char cmd[128];

	for (unsigned k = 0; k < MAX_INST; k++)
		nfproc_kill(&inst[k]);
	nfproc_kill(&httpd);
	for (unsigned i = 0; i < N_FLOWS; i++)
		if (flow_fds[i] > 0)
			close(flow_fds[i]);
	memset(flow_fds, 0, sizeof(flow_fds));
	netns_destroy(&client);
	netns_destroy(&server);
	for (unsigned k = 0; k < MAX_INST; k++)
		netns_destroy(&inst_ns[k]);
	steer_destroy(steer);
	steer = NULL;
	ofconn_destroy(conn);
	conn = NULL;
	ovs_stop(&ovs);
	for (unsigned k = 0; k < MAX_INST; k++) {	/* DPDK run dirs, if any */
		snprintf(cmd, sizeof(cmd), "rm -rf /var/run/dpdk/%s-%u", br, k);
		if (br[0] && system(cmd) != 0)
			fprintf(stderr, "cannot remove /var/run/dpdk/%s-%u\n", br, k);
	}
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	dir[0] = '\0';
}

TestSuite(steer, .fini = teardown, .timeout = 120);

/* ---- Traffic helpers ---- */

/* Five echo replies within 20 s (ping -c 5 -w 20 exits 0 only then; a loaded machine
 * may make it send a few more requests). */
static void ping_ok(const char *name)
{
	int rc = ns_exec(&client, name, 30000, "exec ping -n -c 5 -i 0.2 -w 20 " SERVER_IP);
	char path[PATH_MAX];
	char *log;

	snprintf(path, sizeof(path), "%s/%s.stdout", dir, name);
	log = nfproc_slurp(path);
	cr_assert_eq(rc, 0, "ping failed: %s", log);
	free(log);
}

/* Flow 'i': a TCP SYN from the client's port UDP_PORT_BASE + i to a closed port of the
 * server (one frame client -> server; the server answers with a RST). TCP, because OVS's
 * dp_hash (hash(sym_l4)) leaves UDP ports out of the hash: every UDP flow between two
 * hosts lands in the same bucket. */
static void flow_send(unsigned i)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(FLOW_PORT_BASE + i) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = netns_socket(&client, AF_INET, SOCK_STREAM | SOCK_NONBLOCK), one = 1;

	cr_assert_geq(fd, 0);
	inet_pton(AF_INET, CLIENT_IP, &src.sin_addr);
	inet_pton(AF_INET, SERVER_IP, &dst.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0, "bind: %s", strerror(errno));
	cr_assert(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0 || errno == EINPROGRESS,
		  "connect: %s", strerror(errno));
	flow_fds[i] = fd;
}

static void flow_close(unsigned i)
{
	if (flow_fds[i] > 0)
		close(flow_fds[i]);
	flow_fds[i] = 0;
}

/* A port stats request in progress. */
struct stats_req {
	bool done;
	int status;
	struct ofp_port_stats_reply r;
};

static void on_stats(struct ofconn *c, void *arg, int status, const uint8_t *msg, size_t size)
{
	struct stats_req *q = arg;
	uint16_t type;
	bool more = false;

	(void)c;
	q->status = status;
	if (status == 0) {
		cr_assert_eq(ofp_mp_decode_header(msg, size, OFPT_MULTIPART_REPLY, &type, &more, NULL), 0);
		cr_assert_eq(ofp_port_stats_reply_decode(msg, size, &q->r, NULL), 0);
	}
	q->done = !more || status < 0;
}

/* tx_packets of the bridge towards each instance's inside port. */
static void inside_tx(uint64_t tx[MAX_INST])
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct stats_req q = { 0 };
	uint64_t end = nf_now_us() + WAIT_MS * 1000ull;

	cr_assert_eq(ofp_port_stats_request_encode(&b, 0, OFPP_ANY), 0);
	cr_assert_eq(ofconn_request(conn, &b, on_stats, &q, NULL), 0);
	ofp_buf_uninit(&b);
	while (!q.done && nf_now_us() < end)
		ofconn_poll(conn, 5);
	cr_assert(q.done && q.status == 0, "no port stats");
	for (unsigned k = 0; k < n_inst; k++) {
		tx[k] = 0;
		for (size_t i = 0; i < q.r.n; i++)
			if (q.r.stats[i].port_no == members[k].ofport_in)
				tx[k] = q.r.stats[i].tx_packets;
	}
	ofp_port_stats_reply_uninit(&q.r);
}

/* Wait until nothing reaches the instances for 300 ms (late packets of earlier traffic);
 * their counters then in 'tx'. */
static void quiesce(uint64_t tx[MAX_INST])
{
	uint64_t now[MAX_INST], end = nf_now_us() + WAIT_MS * 1000ull;
	bool same;

	inside_tx(tx);
	do {
		run_for(300);
		inside_tx(now);
		same = memcmp(now, tx, sizeof(now)) == 0;
		memcpy(tx, now, sizeof(now));
	} while (!same && nf_now_us() < end);
	cr_assert(same, "traffic to the instances does not stop");
}

/* Send one packet of flow 'i': the instance it went to, or -1 when something else moved
 * the counters too (then 'tx' is stale: quiesce and try again). */
static int flow_probe_once(unsigned i, uint64_t tx[MAX_INST])
{
	uint64_t now[MAX_INST], end = nf_now_us() + 3000000ull;
	int got = -1;
	bool noise = false;

	flow_send(i);
	while (got < 0 && !noise && nf_now_us() < end) {
		ofconn_poll(conn, 1);
		inside_tx(now);
		for (unsigned k = 0; k < n_inst; k++) {
			if (now[k] == tx[k])
				continue;
			noise |= got >= 0 || now[k] != tx[k] + 1;
			got = (int)k;
		}
	}
	flow_close(i);
	cr_assert(got >= 0 || noise, "flow %u reached no instance", i);
	memcpy(tx, now, sizeof(now));
	return noise ? -1 : got;
}

static int flow_probe(unsigned i, uint64_t tx[MAX_INST])
{
	int got = -1;

	for (int attempt = 0; attempt < 5 && got < 0; attempt++) {
		got = flow_probe_once(i, tx);
		if (got < 0)
			quiesce(tx);
	}
	cr_assert_geq(got, 0, "flow %u: other traffic kept reaching the instances", i);
	return got;
}

/* Which instance carries each flow. */
static void flows_map(int map[N_FLOWS])
{
	uint64_t tx[MAX_INST];

	quiesce(tx);
	for (unsigned i = 0; i < N_FLOWS; i++)
		map[i] = flow_probe(i, tx);
}

static void map_counts(const int map[N_FLOWS], unsigned counts[MAX_INST])
{
	memset(counts, 0, MAX_INST * sizeof(*counts));
	for (unsigned i = 0; i < N_FLOWS; i++)
		counts[map[i]]++;
}

/* ---- Tests ---- */

/* ARP across the chain, ping and a TCP transfer through 3 pass-through instances, traffic
 * spread over all of them, and the flows each change installs. */
Test(steer, chain_arp_ping_tcp_spread)
{
	struct steer_stats st;
	uint64_t tx[MAX_INST];
	unsigned counts[MAX_INST];
	int map[N_FLOWS], rc;
	char path[PATH_MAX], *log;

	topo_up(3);
	apply_members(NULL, 3);
	OFCTL("dump-groups %s", br);
	cr_assert_eq(count_substr(ovs.out, "bucket="), 2 * ORCH_SLOTS, "%s", ovs.out);
	cr_assert_not_null(strstr(ovs.out, "group_id=100,type=select"), "%s", ovs.out);
	cr_assert_not_null(strstr(ovs.out, "group_id=101,type=select"), "%s", ovs.out);
	OFCTL("dump-flows %s", br);
	cr_assert_eq(count_substr(ovs.out, "cookie=0xc0ffee00000001"), 2 + 2 * 3, "%s", ovs.out);

	/* ARP: the client asks for the server through the controller, which learns both. */
	ping_ok("ping");
	IN_NS(&client, "ip neigh show " SERVER_IP);
	cr_assert_not_null(strstr(out, "lladdr"), "client did not resolve the server: %s", out);
	IN_NS(&server, "ip neigh show " CLIENT_IP);
	cr_assert_not_null(strstr(out, "lladdr"), "server did not learn the client: %s", out);
	steer_get_stats(steer, &st);
	cr_assert_geq(st.n_arp_learned, 2);
	cr_assert_geq(st.n_arp_forwarded, 2);
	OFCTL("dump-flows %s table=%d", br, STEER_TABLE_DELIVER_OUT);
	cr_assert_not_null(strstr(ovs.out, "nw_dst=" SERVER_IP), "%s", ovs.out);
	OFCTL("dump-flows %s table=%d", br, STEER_TABLE_DELIVER_IN);
	cr_assert_not_null(strstr(ovs.out, "nw_dst=" CLIENT_IP), "%s", ovs.out);

	/* TCP: an HTTP download of 2 MB through the chain. */
	IN_NS(NULL, "head -c 2000000 /dev/urandom > %s/blob", dir);
	cr_assert_eq(netns_spawn(&server, &httpd, dir, "httpd",
				 "exec python3 -m http.server 8080 --bind " SERVER_IP " --directory %s", dir),
		     0);
	rc = ns_exec(&client, "curl", 60000,
		     "for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -m 30 -o /dev/null "
		     "-w '%{http_code} %{size_download}\\n' http://" SERVER_IP ":8080/blob && exit 0; "
		     "sleep 0.3; done; exit 1");
	snprintf(path, sizeof(path), "%s/curl.stdout", dir);
	log = nfproc_slurp(path);
	cr_assert_eq(rc, 0, "curl failed: %s", log);
	cr_assert_not_null(strstr(log, "200 2000000"), "%s", log);
	free(log);

	/* Many flows: every instance carries some. */
	nfproc_kill(&httpd);
	flows_map(map);
	map_counts(map, counts);
	fprintf(stderr, "steer: %u TCP flows over 3 instances: %u %u %u\n", N_FLOWS, counts[0],
		counts[1], counts[2]);
	for (unsigned k = 0; k < 3; k++)
		cr_assert_geq(counts[k], N_FLOWS / 10, "instance %u carries %u of %u flows", k, counts[k],
			      N_FLOWS);

	/* The instances' own counters agree: each received traffic. */
	inside_tx(tx);
	for (unsigned k = 0; k < 3; k++) {
		kill(inst[k].pid, SIGTERM);
		cr_assert_eq(nfproc_wait(&inst[k], 10000), 0);
		cr_assert_gt(nfproc_counter(&inst[k], "rx"), 0, "instance %u received nothing", k);
	}
	cr_assert_eq(ev.n_errors, 0, "switch error: %s", ev.last_error);
}

/* dp_hash over a fixed 64 buckets whose outputs are rewritten: no flow moves without a
 * change, adding a 4th instance moves about 1/4 of the flows (all to it), removing one
 * moves only its own flows. */
Test(steer, membership_change_moves_one_nth)
{
	static const unsigned three[] = { 0, 1, 2 }, four[] = { 0, 1, 2, 3 }, minus1[] = { 0, 2, 3 };
	int a[N_FLOWS], a2[N_FLOWS], b[N_FLOWS], c[N_FLOWS];
	unsigned counts[MAX_INST], moved = 0, moved_bad = 0, on_1 = 0;

	topo_up(4);
	apply_members(three, 3);
	ping_ok("ping");
	flows_map(a);
	flows_map(a2);
	for (unsigned i = 0; i < N_FLOWS; i++)
		cr_assert_eq(a[i], a2[i], "flow %u moved from %d to %d without a change", i, a[i], a2[i]);
	map_counts(a, counts);
	fprintf(stderr, "steer: 3 instances: %u %u %u flows of %u; unchanged on a second pass\n",
		counts[0], counts[1], counts[2], N_FLOWS);

	apply_members(four, 4);
	flows_map(b);
	for (unsigned i = 0; i < N_FLOWS; i++) {
		if (a[i] == b[i])
			continue;
		moved++;
		moved_bad += b[i] != 3;
	}
	map_counts(b, counts);
	fprintf(stderr, "steer: 3 -> 4 instances moved %u of %u flows (expected about %u), all to "
			"the new one: %s; now %u %u %u %u\n",
		moved, N_FLOWS, N_FLOWS / 4, moved_bad ? "no" : "yes", counts[0], counts[1], counts[2],
		counts[3]);
	cr_assert_eq(moved_bad, 0, "%u flows moved between old instances", moved_bad);
	cr_assert(moved >= N_FLOWS / 8 && moved <= N_FLOWS * 2 / 5, "moved %u of %u", moved, N_FLOWS);

	apply_members(minus1, 3);
	flows_map(c);
	moved = 0;
	for (unsigned i = 0; i < N_FLOWS; i++) {
		on_1 += b[i] == 1;
		if (b[i] == 1) {
			cr_assert_neq(c[i], 1, "flow %u still on the removed instance", i);
			moved++;
		} else {
			cr_assert_eq(c[i], b[i], "flow %u moved from %d to %d, not from the removed one", i,
				     b[i], c[i]);
		}
	}
	fprintf(stderr, "steer: 4 -> 3 instances (instance 1 removed) moved %u of %u flows: exactly "
			"the %u it carried\n",
		moved, N_FLOWS, on_1);
	cr_assert_eq(ev.n_errors, 0, "switch error: %s", ev.last_error);
}

/* Normalized dump-flows of the bridge: one line per flow without counters and ages,
 * sorted. */
static void flows_norm(char *buf, size_t size)
{
	OFCTL("dump-flows %s | sed -e 's/ duration=[^,]*,//' -e 's/ n_packets=[^,]*,//' "
	      "-e 's/ n_bytes=[^,]*,//' -e 's/ idle_age=[^,]*,//' -e 's/ hard_age=[^,]*,//' | "
	      "grep cookie= | sort",
	      br);
	snprintf(buf, size, "%s", ovs.out);
}

static bool wait_flows_equal(const char *want, char *got, size_t size)
{
	uint64_t end = nf_now_us() + WAIT_MS * 1000ull;

	do {
		run_for(100);
		flows_norm(got, size);
	} while (strcmp(got, want) != 0 && nf_now_us() < end);
	return strcmp(got, want) == 0;
}

/* The bridge forgets everything when its last controller goes: the resync after the new
 * controller connects puts back the same flows and groups; a reconnection where the switch
 * kept them (our side dropped the connection) reprograms them without a single error. */
Test(steer, resync_after_controller_change)
{
	static char before[OUT_SIZE], after[OUT_SIZE];
	struct steer_stats st;
	unsigned flushed;

	topo_up(2);
	apply_members(NULL, 2);
	ping_ok("ping1");
	flows_norm(before, sizeof(before));
	cr_assert_eq(count_substr(before, "cookie=0xc0ffee00000001"), 2 + 2 * 2, "%s", before);

	VSCTL("del-controller %s", br);
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS));
	OFCTL("dump-flows %s", br);
	flushed = count_substr(ovs.out, "cookie=");
	OFCTL("dump-groups %s", br);
	fprintf(stderr, "steer: after del-controller the bridge holds %u flows, %u groups\n", flushed,
		count_substr(ovs.out, "group_id="));
	cr_assert_eq(ovs_set_controller(&ovs, br, ofconn_local_port(conn)), 0, "%s", ovs.out);
	cr_assert(run_until_count(&ev.n_connected, 2, WAIT_MS));
	cr_assert(wait_flows_equal(before, after, sizeof(after)), "before:\n%s\nafter:\n%s", before,
		  after);
	OFCTL("dump-groups %s", br);
	cr_assert_eq(count_substr(ovs.out, "bucket="), 2 * ORCH_SLOTS, "%s", ovs.out);
	ping_ok("ping2");

	/* Our side drops the connection: the switch keeps its tables, the resync finds the
	 * groups through the group stats and MODIFYs them (an ADD would be an error). */
	ofconn_disconnect(conn);
	cr_assert(run_until_count(&ev.n_connected, 3, WAIT_MS));
	cr_assert(wait_flows_equal(before, after, sizeof(after)), "after:\n%s", after);
	run_for(300);
	steer_get_stats(steer, &st);
	cr_assert_eq(st.n_resyncs, 3);
	cr_assert_eq(ev.n_errors, 0, "switch error: %s", ev.last_error);
	ping_ok("ping3");
}

/* An empty member set leaves the groups without buckets (traffic to the NF is dropped);
 * members again restore it; steer_remove deletes every flow and group of the NF and keeps
 * the base flows. */
Test(steer, empty_set_drops_and_remove_deletes)
{
	struct done d = { 0 };
	int rc;

	topo_up(2);
	apply_members(NULL, 2);
	ping_ok("ping1");
	apply_members(NULL, 0);
	OFCTL("dump-groups %s", br);
	cr_assert_eq(count_substr(ovs.out, "bucket="), 0, "%s", ovs.out);
	cr_assert_not_null(strstr(ovs.out, "group_id=100"), "%s", ovs.out);
	for (unsigned i = 0; i < ORCH_SLOTS; i++)
		cr_assert_str_empty(slots[i]);
	rc = ns_exec(&client, "ping_drop", 20000, "exec ping -n -c 2 -i 0.2 -W 1 " SERVER_IP);
	cr_assert_neq(rc, 0, "ping went through an NF without instances");
	apply_members(NULL, 2);
	ping_ok("ping2");

	cr_assert_eq(steer_remove(steer, &nf, on_done, &d), 0);
	cr_assert(run_until_count(&d.n, 1, WAIT_MS));
	cr_assert_eq(d.status, 0);
	OFCTL("dump-flows %s", br);
	cr_assert_null(strstr(ovs.out, "cookie=0xc0ffee00000001"), "%s", ovs.out);
	cr_assert_null(strstr(ovs.out, "cookie=0x57ee700000000001"), "learned flows of a removed NF's "
								       "uplinks stay: %s", ovs.out);
	cr_assert_not_null(strstr(ovs.out, "cookie=0x57ee700000000000"), "%s", ovs.out);
	OFCTL("dump-groups %s", br);
	cr_assert_null(strstr(ovs.out, "group_id="), "%s", ovs.out);
	cr_assert_eq(ev.n_errors, 0, "switch error: %s", ev.last_error);
}

/* Owned addresses (a NAT's public IPs, an LB's VIPs): the controller answers ARP requests
 * for them with the virtual MAC and steers IPv4 to them from the outside into the NF;
 * other IPv4 from the outside is dropped. */
Test(steer, arp_responder_for_owned_addresses)
{
	struct steer_stats st;

	topo_up(1);
	inet_pton(AF_INET, OWNED_IP, &nf.owned_ips[0]);
	nf.n_owned = 1;
	apply_members(NULL, 1);
	OFCTL("dump-flows %s", br);
	cr_assert_not_null(strstr(ovs.out, "nw_dst=" OWNED_IP " actions=group:101"), "%s", ovs.out);
	ns_exec(&server, "ping_owned", 20000, "exec ping -n -c 1 -W 1 " OWNED_IP);
	IN_NS(&server, "ip neigh show " OWNED_IP);
	cr_assert_not_null(strstr(out, "lladdr 02:00:5e:57:ee:01"), "%s", out);
	steer_get_stats(steer, &st);
	cr_assert_geq(st.n_arp_replied, 1);
	cr_assert_eq(ev.n_errors, 0, "switch error: %s", ev.last_error);
}

/* Without a connection changes are kept and -ENOTCONN returned; the resync applies them. */
Test(steer, changes_while_disconnected_are_applied_by_resync)
{
	static char flows[OUT_SIZE];
	int rc;

	topo_up(1);
	VSCTL("del-controller %s", br);
	cr_assert(run_until_count(&ev.n_disconnected, 1, WAIT_MS));
	rc = steer_apply(steer, &nf, members, 1, slots, NULL, NULL);
	cr_assert_eq(rc, -ENOTCONN);
	cr_assert_str_eq(slots[0], "pt-0");
	cr_assert_eq(ovs_set_controller(&ovs, br, ofconn_local_port(conn)), 0, "%s", ovs.out);
	cr_assert(run_until_count(&ev.n_connected, 2, WAIT_MS));
	for (int i = 0; i < 50; i++) {
		run_for(100);
		flows_norm(flows, sizeof(flows));
		if (count_substr(flows, "cookie=0xc0ffee00000001") == 4)
			break;
	}
	cr_assert_eq(count_substr(flows, "cookie=0xc0ffee00000001"), 4, "%s", flows);
	ping_ok("ping");
	cr_assert_eq(ev.n_errors, 0, "switch error: %s", ev.last_error);
}

/* The MAC of 'ifn' in 'ns'. */
static void mac_of(const struct netns *ns, const char *ifn, char mac[18])
{
	IN_NS(ns, "ip -o link show dev %s | sed 's/.*link.ether \\([0-9a-f:]*\\).*/\\1/'", ifn);
	snprintf(mac, 18, "%.17s", out);
}

/* Hosts that never ARP (static neighbors): their first frames miss the delivery tables,
 * the controller asks for the destinations with ARP requests of its own, learns the
 * answers, and the flows follow; a delivery flow the switch lost comes back the same way. */
Test(steer, delivery_miss_resolved_by_controller_arp)
{
	char mac_c[18], mac_s[18], ns_c[16], ns_s[16];
	struct steer_stats st;
	int rc;

	topo_up(1);
	ifname(ns_c, 'C', ~0u);
	ifname(ns_s, 'S', ~0u);
	mac_of(&client, ns_c, mac_c);
	mac_of(&server, ns_s, mac_s);
	IN_NS(&client, "ip neigh replace " SERVER_IP " lladdr %s dev %s nud permanent", mac_s, ns_c);
	IN_NS(&server, "ip neigh replace " CLIENT_IP " lladdr %s dev %s nud permanent", mac_c, ns_s);
	apply_members(NULL, 1);
	rc = ns_exec(&client, "ping1", 20000, "exec ping -n -c 40 -i 0.2 -w 12 " SERVER_IP);
	cr_assert_eq(rc, 0, "no ping answered after the misses");
	steer_get_stats(steer, &st);
	cr_assert_geq(st.n_arp_requests, 2, "%" PRIu64 " requests", st.n_arp_requests);
	cr_assert_geq(st.n_arp_learned, 2);
	OFCTL("dump-flows %s table=%d", br, STEER_TABLE_DELIVER_OUT);
	cr_assert_not_null(strstr(ovs.out, "nw_dst=" SERVER_IP), "%s", ovs.out);
	cr_assert_not_null(strstr(ovs.out, mac_s), "%s", ovs.out);
	OFCTL("dump-flows %s table=%d", br, STEER_TABLE_DELIVER_IN);
	cr_assert_not_null(strstr(ovs.out, mac_c), "%s", ovs.out);

	/* The switch loses a learned flow: the next miss puts it back. */
	OFCTL("del-flows %s 'table=%d,ip,nw_dst=" SERVER_IP "'", br, STEER_TABLE_DELIVER_OUT);
	run_for(300);	/* past the rate limit of requests for this host */
	rc = ns_exec(&client, "ping2", 20000, "exec ping -n -c 40 -i 0.2 -w 12 " SERVER_IP);
	cr_assert_eq(rc, 0);
	OFCTL("dump-flows %s table=%d", br, STEER_TABLE_DELIVER_OUT);
	cr_assert_not_null(strstr(ovs.out, "nw_dst=" SERVER_IP), "%s", ovs.out);
	cr_assert_eq(ev.n_errors, 0, "switch error: %s", ev.last_error);
}
