/* Firewall logic in-process against a real redis-server: instances sharing one store
 * (asymmetric handshakes, races, lost-transition races, rule set replacement and
 * convergence), local and remote modes, timeouts, invalidation, outage, round trips. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "nf/clock.h"
#include "nfs/firewall/fw.h"
#include "nfs/firewall/fw_int.h"
#include "tests/harness/nfinst.h"
#include "tests/harness/pktgen.h"
#include "tests/harness/redis_server.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

#define CLI "10.0.0.5"
#define SRV "198.51.100.7"

static struct redis_server rs;
static redisContext *admin;

static void srv_init(void)
{
	cr_assert_eq(redis_server_start_admin(&rs, &admin), 0, "redis-server did not start");
}

static void srv_fini(void)
{
	redis_server_stop_admin(&rs, &admin);
}

TestSuite(fw_local, .timeout = 30);
TestSuite(fw_store, .init = srv_init, .fini = srv_fini, .timeout = 60);

/* Web out, DNS out, ping out; ssh in explicitly denied. Everything else: default deny. */
static const char *RULES = "{\"default\": \"deny\", \"rules\": ["
	"{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", \"dst_ports\": [80, 80]},"
	"{\"action\": \"allow\", \"proto\": \"udp\", \"dir\": \"out\"},"
	"{\"action\": \"allow\", \"proto\": \"icmp\", \"dir\": \"out\"},"
	"{\"action\": \"deny\", \"proto\": \"tcp\", \"dir\": \"in\", \"dst_ports\": 22}]}";

struct inst {
	struct fw *fw;
	struct fw_worker *w;
	struct nf_counters ctr;
};

/* 'cfg_json' is a firewall config (with or without a rule set), or NULL. */
static void inst_open_opts(struct inst *in, enum nf_mode mode, const char *cfg_json, bool publish,
			   bool one_armed)
{
	struct fw_config cfg;
	struct nf_opts o;
	char err[256];

	fw_config_default(&cfg);
	if (cfg_json != NULL)
		cr_assert_eq(fw_config_load_string(&cfg, cfg_json, err, sizeof(err)), 0, "%s", err);
	cfg.publish_rules = publish;
	nfinst_opts(&o, "fw", mode, &rs);
	o.one_armed = one_armed;
	memset(&in->ctr, 0, sizeof(in->ctr));
	in->fw = fw_create(&cfg, &o);
	cr_assert(in->fw != NULL);
	fw_config_free(&cfg);
	in->w = fw_worker_create(in->fw, 0, &in->ctr);
	cr_assert(in->w != NULL);
}

static void inst_open(struct inst *in, enum nf_mode mode, const char *cfg_json)
{
	inst_open_opts(in, mode, cfg_json, false, false);
}

static void inst_close(struct inst *in)
{
	fw_worker_destroy(in->w);
	fw_destroy(in->fw);
}

static struct pkt_spec tcp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			   uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .src = src, .dst = dst, .sport = sport,
			      .dport = dport, .tcp_flags = flags, .seq = seq, .ack = ack,
			      .payload_len = len };
	return s;
}

/* Client 10.0.0.5:'cport' (inside) to server 198.51.100.7:'sport' (outside), and back. */
static struct pkt_spec c2s(uint16_t cport, uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack,
			   uint16_t len)
{
	return tcp(CLI, cport, SRV, sport, flags, seq, ack, len);
}

static struct pkt_spec s2c(uint16_t cport, uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack,
			   uint16_t len)
{
	return tcp(SRV, sport, CLI, cport, flags, seq, ack, len);
}

/* Run one packet through 'in' on 'port'; returns its verdict. The packet is unchanged. */
static uint8_t run1(struct inst *in, uint16_t port, struct pkt_spec s)
{
	struct fake_mbuf fm, orig;
	struct rte_mbuf *m = &fm.m;
	uint8_t verdict = 0;

	fake_mbuf_build(&fm, &s);
	orig = fm;
	fw_process_burst(in->w, port, &m, 1, &verdict, nf_now_us());
	cr_assert(memcmp(orig.data, fm.data, fm.m.data_len) == 0, "the firewall modified a packet");
	return verdict;
}

/* Outbound (from the inside port) must pass / inbound (from the outside port) must pass. */
#define OUT_OK(in, s) cr_assert_eq(run1(in, NF_PORT_INSIDE, s), NF_PORT_OUTSIDE, "outbound dropped")
#define IN_OK(in, s) cr_assert_eq(run1(in, NF_PORT_OUTSIDE, s), NF_PORT_INSIDE, "inbound dropped")
#define OUT_DROP(in, s) cr_assert_eq(run1(in, NF_PORT_INSIDE, s), NF_VERDICT_DROP, "outbound passed")
#define IN_DROP(in, s) cr_assert_eq(run1(in, NF_PORT_OUTSIDE, s), NF_VERDICT_DROP, "inbound passed")

static size_t conn_key(const char *a, uint16_t ap, const char *b, uint16_t bp, uint8_t proto, char *key)
{
	struct flow_key k = { .src_port = htons(ap), .dst_port = htons(bp), .proto = proto };
	struct fw_ckey ck;
	uint8_t side;

	inet_pton(AF_INET, a, &k.src_ip);
	inet_pton(AF_INET, b, &k.dst_ip);
	fw_ckey_make(&k, &ck, &side);
	memcpy(key, "fw:c", 4);
	memcpy(key + 4, &ck, sizeof(ck));
	return 4 + sizeof(ck);
}

/* The stored state of the client's connection from 'cport' to 'sport' (0xff: none). */
static uint8_t stored_state(uint16_t cport, uint16_t sport)
{
	char key[32];
	size_t len = conn_key(CLI, cport, SRV, sport, IPPROTO_TCP, key);
	redisReply *r = redisCommand(admin, "GET %b", key, len);
	uint8_t st = 0xff;

	cr_assert(r != NULL);
	if (r->type == REDIS_REPLY_STRING) {
		cr_assert_eq(r->len, sizeof(struct fw_conn));
		st = (uint8_t)r->str[1];
	}
	freeReplyObject(r);
	return st;
}

static long long stored_pttl(uint16_t cport, uint16_t sport)
{
	char key[32];
	size_t len = conn_key(CLI, cport, SRV, sport, IPPROTO_TCP, key);
	redisReply *r = redisCommand(admin, "PTTL %b", key, len);
	long long v = r->integer;

	freeReplyObject(r);
	return v;
}

/* A full handshake from 'cport' to port 80 through 'a' only; ISNs 1000 and 5000. */
static void handshake(struct inst *a, uint16_t cport)
{
	OUT_OK(a, c2s(cport, 80, SYN, 1000, 0, 0));
	IN_OK(a, s2c(cport, 80, SYN | ACK, 5000, 1001, 0));
	OUT_OK(a, c2s(cport, 80, ACK, 1001, 5001, 0));
}

/* Tick 'a' (and 'b') every 10 ms for up to 'ms', until 'done' says so. */
static void tick_until(struct inst *a, struct inst *b, unsigned ms, bool (*done)(void *), void *arg)
{
	for (unsigned t = 0; t < ms && !done(arg); t += 10) {
		usleep(10000);
		fw_tick(a->w, nf_now_us());
		if (b != NULL)
			fw_tick(b->w, nf_now_us());
	}
}

/* State A holds in its cache for the client's connection 'cport' -> 80, or 0xff. */
static uint8_t cached_state(struct inst *a, uint16_t cport)
{
	struct flow_key k = { .src_port = htons(cport), .dst_port = htons(80), .proto = IPPROTO_TCP };
	struct fw_centry *ce;
	struct fw_ckey ck;
	uint8_t side;

	inet_pton(AF_INET, CLI, &k.src_ip);
	inet_pton(AF_INET, SRV, &k.dst_ip);
	fw_ckey_make(&k, &ck, &side);
	ce = flowcache_lookup(a->w->cache, &ck, nf_now_us());
	return ce == NULL ? 0xff : ce->conn.state;
}

Test(fw_local, handshake_data_close_and_closing_timeout)
{
	struct inst a;

	inst_open(&a, NF_MODE_LOCAL, "{\"timeouts\": {\"tcp_closing\": 1}, \"default\": \"deny\", \"rules\": "
		  "[{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", \"dst_ports\": 80}]}");
	handshake(&a, 40000);
	OUT_OK(&a, c2s(40000, 80, ACK | PSH, 1001, 5001, 100));
	IN_OK(&a, s2c(40000, 80, ACK | PSH, 5001, 1101, 300));
	OUT_OK(&a, c2s(40000, 80, FIN | ACK, 1101, 5301, 0));
	IN_OK(&a, s2c(40000, 80, FIN | ACK, 5301, 1102, 0));
	OUT_OK(&a, c2s(40000, 80, ACK, 1102, 5302, 0));
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED], 1);
	/* Closing expires after tcp_closing (1 s): a late ACK no longer fits a connection. */
	usleep(1300000);
	OUT_DROP(&a, c2s(40000, 80, ACK, 1102, 5302, 0));
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_CONN], 1);
	inst_close(&a);
}

Test(fw_local, drops_are_counted_by_reason)
{
	struct inst a;

	inst_open(&a, NF_MODE_LOCAL, RULES);
	OUT_DROP(&a, c2s(40000, 80, ACK, 1, 1, 0));		/* ACK out of nowhere */
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_CONN], 1);
	IN_DROP(&a, s2c(40000, 80, SYN, 1, 0, 0));		/* new inbound: default deny */
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY], 1);
	IN_DROP(&a, tcp(SRV, 5555, CLI, 22, ACK, 1, 1, 0));	/* stray, matches a deny rule */
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY], 2);
	OUT_DROP(&a, c2s(40001, 443, SYN, 1, 0, 0));		/* new outbound to 443: default */
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY], 3);
	OUT_OK(&a, c2s(40002, 80, SYN, 1000, 0, 0));
	OUT_DROP(&a, c2s(40002, 80, ACK, 1001, 1, 0));		/* ACK before the SYN-ACK */
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_BAD_STATE], 1);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_CONN], 1);
	inst_close(&a);
}

Test(fw_local, udp_icmp_passthrough_and_malformed)
{
	struct inst a;
	struct pkt_spec dns = { .proto = IPPROTO_UDP, .src = CLI, .dst = "192.0.2.53", .sport = 5353,
				.dport = 53, .payload_len = 20 };
	struct pkt_spec ans = { .proto = IPPROTO_UDP, .src = "192.0.2.53", .dst = CLI, .sport = 53,
				.dport = 5353, .payload_len = 40 };
	struct pkt_spec ping = { .proto = IPPROTO_ICMP, .src = CLI, .dst = SRV, .sport = 9, .icmp_type = 8 };
	struct pkt_spec pong = { .proto = IPPROTO_ICMP, .src = SRV, .dst = CLI, .sport = 9, .icmp_type = 0 };
	uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	struct fake_mbuf fm;
	struct rte_mbuf *m = &fm.m;
	uint8_t v;

	inst_open(&a, NF_MODE_LOCAL, RULES);
	IN_DROP(&a, ans);					/* unsolicited answer */
	OUT_OK(&a, dns);
	IN_OK(&a, ans);
	IN_DROP(&a, pong);
	OUT_OK(&a, ping);
	IN_OK(&a, pong);
	ping.src = SRV, ping.dst = CLI;
	IN_DROP(&a, ping);					/* a request the wrong way */
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_BAD_STATE], 1);
	fake_mbuf_init(&fm, arp, sizeof(arp));
	fw_process_burst(a.w, NF_PORT_OUTSIDE, &m, 1, &v, nf_now_us());
	cr_assert_eq(v, NF_PORT_INSIDE);
	cr_assert_eq(a.ctr.v[NF_CTR_PASSTHROUGH], 1);
	fake_mbuf_build(&fm, &dns);
	fm.m.data_len = 30;
	fw_process_burst(a.w, NF_PORT_INSIDE, &m, 1, &v, nf_now_us());
	cr_assert_eq(v, NF_VERDICT_DROP);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_IP_TRUNC], 1);
	inst_close(&a);
}

Test(fw_local, one_armed_direction_from_inside_prefixes)
{
	struct inst a;
	char cfg[1024];

	snprintf(cfg, sizeof(cfg), "{\"inside_prefixes\": [\"10.0.0.0/8\"], %s", RULES + 1);
	inst_open_opts(&a, NF_MODE_LOCAL, cfg, false, true);
	cr_assert_eq(run1(&a, 0, c2s(40000, 80, SYN, 1000, 0, 0)), 0);
	cr_assert_eq(run1(&a, 0, s2c(40000, 80, SYN | ACK, 5000, 1001, 0)), 0);
	cr_assert_eq(run1(&a, 0, c2s(40000, 80, ACK, 1001, 5001, 0)), 0);
	/* From outside the prefix: "in", and no rule lets a new inbound flow in. */
	cr_assert_eq(run1(&a, 0, s2c(40001, 80, SYN, 1, 0, 0)), NF_VERDICT_DROP);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY], 1);
	inst_close(&a);
}

Test(fw_local, a_burst_carries_a_whole_connection_in_order)
{
	struct inst a;
	static struct fake_mbuf fms[8];
	struct rte_mbuf *pkts[8];
	uint8_t v[8];
	struct pkt_spec seq[8] = {
		c2s(40000, 80, ACK, 1001, 5001, 0),		/* before the SYN: no connection */
		c2s(40000, 80, SYN, 1000, 0, 0),
		s2c(40000, 80, SYN | ACK, 5000, 1001, 0),
		c2s(40000, 80, ACK, 1001, 5001, 0),
		c2s(40000, 80, ACK | PSH, 1001, 5001, 10),
		s2c(40000, 80, FIN | ACK, 5001, 1011, 0),
		c2s(40000, 80, FIN | ACK, 1011, 5002, 0),
		c2s(40000, 80, RST, 999999, 0, 0),		/* out of the window */
	};
	uint8_t want[8] = { NF_VERDICT_DROP, 0, 0, 0, 0, 0, 0, NF_VERDICT_DROP };

	inst_open_opts(&a, NF_MODE_LOCAL, "{\"inside_prefixes\": [\"10.0.0.0/8\"], \"rules\": "
		       "[{\"action\": \"allow\", \"dir\": \"out\"}]}", false, true);
	for (int i = 0; i < 8; i++) {
		fake_mbuf_build(&fms[i], &seq[i]);
		pkts[i] = &fms[i].m;
	}
	fw_process_burst(a.w, 0, pkts, 8, v, nf_now_us());
	for (int i = 0; i < 8; i++)
		cr_assert_eq(v[i], want[i], "packet %d: verdict %u, expected %u", i, v[i], want[i]);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_CONN], 1);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_BAD_STATE], 1);
	inst_close(&a);
}

Test(fw_store, asymmetric_handshake_across_instances)
{
	struct inst a, b;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, NULL);	/* no rule set of its own: takes the store's */
	cr_assert_eq(fw_worker_rules_version(b.w), 1);
	OUT_OK(&a, c2s(40000, 80, SYN, 1000, 0, 0));
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_SYN_SENT);
	IN_OK(&b, s2c(40000, 80, SYN | ACK, 5000, 1001, 0));
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_SYN_RECV);
	/* A's cached copy still says SYN_SENT: the ACK is re-judged from the store. */
	OUT_OK(&a, c2s(40000, 80, ACK, 1001, 5001, 0));
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_ESTABLISHED);
	IN_OK(&b, s2c(40000, 80, ACK | PSH, 5001, 1001, 100));
	OUT_OK(&a, c2s(40000, 80, ACK | PSH, 1001, 5101, 50));
	IN_OK(&b, s2c(40000, 80, ACK, 5101, 1051, 0));
	/* Either instance carries either direction from here on. */
	OUT_OK(&b, c2s(40000, 80, ACK, 1051, 5101, 0));
	IN_OK(&a, s2c(40000, 80, ACK, 5101, 1051, 0));
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_BAD_STATE] + b.ctr.v[NF_CTR_DROP_BAD_STATE], 0);
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED] + b.ctr.v[NF_CTR_FLOWS_CREATED], 1);
	inst_close(&a);
	inst_close(&b);
}

Test(fw_store, ack_out_of_nowhere_and_policy_drops)
{
	struct inst a, b;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	OUT_DROP(&a, c2s(40000, 80, ACK, 1001, 5001, 0));
	IN_DROP(&b, s2c(40000, 80, ACK | PSH, 5001, 1001, 10));
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_CONN], 1);
	cr_assert_eq(b.ctr.v[NF_CTR_DROP_NO_CONN], 1);
	IN_DROP(&b, s2c(40000, 80, SYN, 1, 0, 0));
	IN_DROP(&b, tcp(SRV, 5555, CLI, 22, ACK, 1, 1, 0));
	cr_assert_eq(b.ctr.v[NF_CTR_DROP_POLICY], 2);
	cr_assert_eq(stored_state(40000, 80), 0xff, "a dropped packet created state");
	/* A SYN-ACK for a connection nobody opened is stray too. */
	IN_DROP(&b, s2c(40000, 80, SYN | ACK, 5000, 1001, 0));
	cr_assert_eq(b.ctr.v[NF_CTR_DROP_NO_CONN], 2);
	inst_close(&a);
	inst_close(&b);
}

Test(fw_store, two_instances_racing_on_the_same_syn_agree)
{
	struct inst a, b;
	enum { N = 300 };

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	for (int i = 0; i < N; i++) {
		struct inst *first = i & 1 ? &b : &a, *second = i & 1 ? &a : &b;
		uint16_t port = (uint16_t)(10000 + i);

		OUT_OK(first, c2s(port, 80, SYN, 1000, 0, 0));
		OUT_OK(second, c2s(port, 80, SYN, 1000, 0, 0));
		/* The answer may come through either one. */
		IN_OK(second, s2c(port, 80, SYN | ACK, 5000, 1001, 0));
		OUT_OK(first, c2s(port, 80, ACK, 1001, 5001, 0));
	}
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED] + b.ctr.v[NF_CTR_FLOWS_CREATED], N);
	cr_assert_eq(stored_state(10000 + N - 1, 80), FW_ST_TCP_ESTABLISHED);
	inst_close(&a);
	inst_close(&b);
}

/* One thread per instance, each pushing the same packets through its own instance. */
struct racer {
	struct inst *in;
	pthread_barrier_t *start;
	unsigned n_flows;
	uint8_t flags;		/* SYN from the client, or FIN|ACK from either side */
	bool server_side;
	unsigned accepted;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	static __thread struct fake_mbuf fms[NF_BURST];
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t v[NF_BURST];

	pthread_barrier_wait(r->start);
	for (unsigned base = 0; base < r->n_flows; base += NF_BURST) {
		uint16_t n = 0;

		for (unsigned i = base; i < r->n_flows && n < NF_BURST; i++, n++) {
			uint16_t port = (uint16_t)(20000 + i);
			struct pkt_spec s = r->server_side ? s2c(port, 80, r->flags, 5001, 1001, 0)
							   : c2s(port, 80, r->flags, r->flags == SYN ? 1000 : 1001,
								 r->flags == SYN ? 0 : 5001, 0);

			fake_mbuf_build(&fms[n], &s);
			pkts[n] = &fms[n].m;
		}
		fw_process_burst(r->in->w, r->server_side ? NF_PORT_OUTSIDE : NF_PORT_INSIDE, pkts, n, v,
				 nf_now_us());
		for (uint16_t i = 0; i < n; i++)
			r->accepted += v[i] != NF_VERDICT_DROP;
	}
	return NULL;
}

static void race(struct inst *a, struct inst *b, unsigned n, uint8_t fa, bool sa, uint8_t fb, bool sb,
		 unsigned *acc_a, unsigned *acc_b)
{
	pthread_barrier_t start;
	struct racer ra = { a, &start, n, fa, sa, 0 }, rb = { b, &start, n, fb, sb, 0 };
	pthread_t ta, tb;

	pthread_barrier_init(&start, NULL, 2);
	pthread_create(&ta, NULL, racer_main, &ra);
	pthread_create(&tb, NULL, racer_main, &rb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&start);
	*acc_a = ra.accepted;
	*acc_b = rb.accepted;
}

Test(fw_store, concurrent_syns_create_each_connection_once)
{
	struct inst a, b;
	enum { N = 2000 };
	unsigned acc_a, acc_b;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	race(&a, &b, N, SYN, false, SYN, false, &acc_a, &acc_b);
	cr_assert_eq(acc_a, N, "instance A dropped %u SYNs", N - acc_a);
	cr_assert_eq(acc_b, N, "instance B dropped %u SYNs", N - acc_b);
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED] + b.ctr.v[NF_CTR_FLOWS_CREATED], N,
		     "%lu + %lu connections created for %d flows", a.ctr.v[NF_CTR_FLOWS_CREATED],
		     b.ctr.v[NF_CTR_FLOWS_CREATED], N);
	inst_close(&a);
	inst_close(&b);
}

Test(fw_store, concurrent_fins_of_both_sides_are_both_kept)
{
	struct inst a, b, c;
	enum { N = 500 };
	unsigned acc_a, acc_b;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	inst_open(&c, NF_MODE_CACHED, RULES);
	for (unsigned i = 0; i < N; i++)
		handshake(&c, (uint16_t)(20000 + i));
	/* Both instances cache every connection as established. */
	for (unsigned i = 0; i < N; i++) {
		OUT_OK(&a, c2s((uint16_t)(20000 + i), 80, ACK, 1001, 5001, 0));
		IN_OK(&b, s2c((uint16_t)(20000 + i), 80, ACK, 5001, 1001, 0));
	}
	/* The client's FIN reaches A while the server's FIN reaches B. */
	race(&a, &b, N, FIN | ACK, false, FIN | ACK, true, &acc_a, &acc_b);
	cr_assert_eq(acc_a, N);
	cr_assert_eq(acc_b, N);
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(stored_state((uint16_t)(20000 + i), 80), FW_ST_TCP_CLOSING,
			     "connection %u lost a FIN: %s", i, fw_state_name(stored_state((uint16_t)(20000 + i), 80)));
	inst_close(&a);
	inst_close(&b);
	inst_close(&c);
}

Test(fw_store, stale_cache_cannot_lose_a_transition)
{
	struct inst a, b;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	handshake(&a, 40000);
	IN_OK(&b, s2c(40000, 80, ACK, 5001, 1001, 0));	/* B caches it established */
	OUT_OK(&a, c2s(40000, 80, FIN | ACK, 1001, 5001, 0));
	/* No tick: B has not seen the invalidation and computes from established. */
	IN_OK(&b, s2c(40000, 80, FIN | ACK, 5001, 1002, 0));
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_CLOSING);
	inst_close(&a);
	inst_close(&b);
}

static bool both_at_version(void *arg)
{
	struct inst **in = arg;
	uint64_t want = *(uint64_t *)in[2];

	return fw_worker_rules_version(in[0]->w) == want && fw_worker_rules_version(in[1]->w) == want;
}

static uint64_t push_rules(const char *json, bool if_absent)
{
	struct store_cfg sc;
	struct store *st;
	char err[256];
	uint64_t ver = 0;
	int rc;

	redis_server_store_cfg(&rs, 1, &sc);
	st = store_open(&sc, "pusher");
	cr_assert(st != NULL);
	rc = fw_rules_push(st, "fw", json, if_absent, &ver, err, sizeof(err));
	cr_assert(rc >= 0, "push failed: %s", err);
	store_close(st);
	return ver;
}

static void wait_version(struct inst *a, struct inst *b, uint64_t ver)
{
	void *arg[3] = { a, b, &ver };

	tick_until(a, b, 3000, both_at_version, arg);
	cr_assert_eq(fw_worker_rules_version(a->w), ver);
	cr_assert_eq(fw_worker_rules_version(b->w), ver);
}

Test(fw_store, rules_replaced_at_run_time_apply_to_new_flows_only)
{
	struct inst a, b;
	uint64_t ver;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	cr_assert_eq(fw_worker_rules_version(a.w), 1, "A published the first rule set");
	cr_assert_eq(fw_worker_rules_version(b.w), 1, "B found it in the store");
	handshake(&a, 40000);
	/* Port 80 is closed and 8080 opened. */
	ver = push_rules("{\"rules\": [{\"action\": \"deny\", \"proto\": \"tcp\", \"dst_ports\": 80},"
			 " {\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", \"dst_ports\": 8080}]}",
			 false);
	cr_assert_eq(ver, 2);
	wait_version(&a, &b, 2);
	/* The established connection continues, through either instance. */
	OUT_OK(&a, c2s(40000, 80, ACK | PSH, 1001, 5001, 10));
	IN_OK(&b, s2c(40000, 80, ACK | PSH, 5001, 1011, 10));
	OUT_OK(&b, c2s(40000, 80, ACK, 1011, 5011, 0));
	/* New flows follow the new rule set on both instances. */
	OUT_DROP(&a, c2s(40001, 80, SYN, 1, 0, 0));
	OUT_DROP(&b, c2s(40002, 80, SYN, 1, 0, 0));
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY] + b.ctr.v[NF_CTR_DROP_POLICY], 2);
	OUT_OK(&b, c2s(40003, 8080, SYN, 1, 0, 0));
	IN_OK(&a, s2c(40003, 8080, SYN | ACK, 9, 2, 0));
	/* Pushing the same rule set again is not a new version. */
	cr_assert_eq(push_rules("{\"rules\": [{\"action\": \"deny\", \"proto\": \"tcp\", \"dst_ports\": 80},"
				" {\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", \"dst_ports\": 8080}]}",
				false), 2);
	inst_close(&a);
	inst_close(&b);
}

Test(fw_store, publish_rules_overrides_and_everyone_converges)
{
	struct inst a, b, c;
	redisReply *r;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, "{\"rules\": [{\"action\": \"allow\"}]}");
	/* B's own rule set does not replace the store's: it applies version 1 (A's). */
	cr_assert_eq(fw_worker_rules_version(b.w), 1);
	OUT_DROP(&b, c2s(40000, 443, SYN, 1, 0, 0));
	/* C starts with --publish-rules: its rule set becomes version 2 for everybody. */
	inst_open_opts(&c, NF_MODE_CACHED, "{\"rules\": [{\"action\": \"allow\", \"dst_ports\": 443}]}",
		       true, false);
	cr_assert_eq(fw_worker_rules_version(c.w), 2);
	wait_version(&a, &b, 2);
	OUT_OK(&a, c2s(40001, 443, SYN, 1, 0, 0));
	OUT_DROP(&b, c2s(40002, 80, SYN, 1, 0, 0));
	/* An invalid rule set written by hand is ignored: everybody keeps version 2. */
	r = redisCommand(admin, "MULTI");
	freeReplyObject(r);
	freeReplyObject(redisCommand(admin, "SET fw:rules %s", "{\"rules\": [{\"action\": \"maybe\"}]}"));
	freeReplyObject(redisCommand(admin, "INCR fw:rules_ver"));
	r = redisCommand(admin, "EXEC");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	freeReplyObject(r);
	for (int i = 0; i < 30; i++) {
		usleep(10000);
		fw_tick(a.w, nf_now_us());
		fw_tick(b.w, nf_now_us());
	}
	cr_assert_eq(fw_worker_rules_version(a.w), 2);
	cr_assert_eq(fw_worker_rules_version(b.w), 2);
	cr_assert_eq(a.w->rules_ver_seen, 3, "A read version 3 and rejected it");
	OUT_OK(&b, c2s(40003, 443, SYN, 1, 0, 0));
	/* A valid one written by hand the same way is picked up. */
	r = redisCommand(admin, "MULTI");
	freeReplyObject(r);
	freeReplyObject(redisCommand(admin, "SET fw:rules %s", "{\"default\": \"allow\"}"));
	freeReplyObject(redisCommand(admin, "INCR fw:rules_ver"));
	freeReplyObject(redisCommand(admin, "EXEC"));
	wait_version(&a, &b, 4);
	OUT_OK(&b, c2s(40004, 9999, SYN, 1, 0, 0));
	inst_close(&a);
	inst_close(&b);
	inst_close(&c);
}

Test(fw_store, rule_push_validates_first)
{
	struct store_cfg sc;
	struct store *st;
	char err[256];

	redis_server_store_cfg(&rs, 0, &sc);
	st = store_open(&sc, "pusher");
	cr_assert_eq(fw_rules_push(st, "fw", "{\"rules\": [{\"action\": \"allow\", \"dst_ports\": 70000}]}",
				   false, NULL, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "rules[0].dst_ports: 70000 is not a port") != NULL, "%s", err);
	cr_assert_eq(fw_rules_push(st, "fw", "{}", true, NULL, err, sizeof(err)), 1);
	cr_assert_eq(fw_rules_push(st, "fw", "{\"default\": \"allow\"}", true, NULL, err, sizeof(err)), 0,
		     "if_absent keeps the existing rule set");
	store_close(st);
}

Test(fw_store, timeouts_follow_the_state)
{
	struct inst a;
	char cfg[1024];
	long long t;

	snprintf(cfg, sizeof(cfg), "{\"timeouts\": {\"tcp_syn_sent\": 20, \"tcp_syn_recv\": 30, "
		 "\"tcp_established\": 3600, \"tcp_fin_wait\": 40, \"tcp_closing\": 7}, %s", RULES + 1);
	inst_open(&a, NF_MODE_CACHED, cfg);
	OUT_OK(&a, c2s(40000, 80, SYN, 1000, 0, 0));
	t = stored_pttl(40000, 80);
	cr_assert(t > 15000 && t <= 20000, "syn_sent TTL %lld", t);
	IN_OK(&a, s2c(40000, 80, SYN | ACK, 5000, 1001, 0));
	t = stored_pttl(40000, 80);
	cr_assert(t > 25000 && t <= 30000, "syn_recv TTL %lld", t);
	OUT_OK(&a, c2s(40000, 80, ACK, 1001, 5001, 0));
	t = stored_pttl(40000, 80);
	cr_assert(t > 3595000 && t <= 3600000, "established TTL %lld", t);
	OUT_OK(&a, c2s(40000, 80, FIN | ACK, 1001, 5001, 0));
	t = stored_pttl(40000, 80);
	cr_assert(t > 35000 && t <= 40000, "fin_wait TTL %lld", t);
	IN_OK(&a, s2c(40000, 80, FIN | ACK, 5001, 1002, 0));
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_CLOSING);
	t = stored_pttl(40000, 80);
	cr_assert(t > 3000 && t <= 7000, "closing TTL %lld", t);
	OUT_OK(&a, c2s(40000, 80, ACK, 1002, 5002, 0));
	inst_close(&a);
}

Test(fw_store, rst_across_instances_uses_the_shared_sequence)
{
	struct inst a, b;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	handshake(&a, 40000);
	/* The client sends 200 KB through A; the write-behind flush shares its position. */
	for (uint32_t off = 0; off < 200000; off += 1000)
		OUT_OK(&a, c2s(40000, 80, ACK, 1001 + off, 5001, 1000));
	fw_store_flush(a.w, nf_now_us());
	/* B never saw this connection: an RST far behind the client's position is refused... */
	OUT_DROP(&b, c2s(40000, 80, RST, 1001, 0, 0));
	cr_assert_eq(b.ctr.v[NF_CTR_DROP_BAD_STATE], 1);
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_ESTABLISHED);
	/* ...one at its position is accepted, and closes the connection for everybody. */
	OUT_OK(&b, c2s(40000, 80, RST, 201001, 0, 0));
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_CLOSED);
	/* A's cached copy goes with the invalidation; then A refuses the late ACK too. */
	for (int i = 0; i < 100 && cached_state(&a, 40000) == FW_ST_TCP_ESTABLISHED; i++) {
		usleep(10000);
		fw_tick(a.w, nf_now_us());
	}
	OUT_DROP(&a, c2s(40000, 80, ACK, 201001, 5001, 0));
	inst_close(&a);
	inst_close(&b);
}

Test(fw_store, burst_of_new_flows_is_one_round_trip_and_hits_need_none)
{
	struct inst a;
	static struct fake_mbuf fms[NF_BURST];
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t v[NF_BURST];
	uint64_t rt0;

	inst_open(&a, NF_MODE_CACHED, RULES);
	fw_tick(a.w, nf_now_us());
	rt0 = a.ctr.v[NF_CTR_STORE_ROUND_TRIPS];
	for (int i = 0; i < NF_BURST; i++) {
		struct pkt_spec s = { .proto = IPPROTO_UDP, .src = CLI, .dst = "192.0.2.53",
				      .sport = (uint16_t)(3000 + i), .dport = 53, .payload_len = 20 };

		fake_mbuf_build(&fms[i], &s);
		pkts[i] = &fms[i].m;
	}
	fw_process_burst(a.w, NF_PORT_INSIDE, pkts, NF_BURST, v, nf_now_us());
	for (int i = 0; i < NF_BURST; i++)
		cr_assert_eq(v[i], NF_PORT_OUTSIDE);
	cr_assert_eq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS] - rt0, 1);
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED], NF_BURST);
	fw_process_burst(a.w, NF_PORT_INSIDE, pkts, NF_BURST, v, nf_now_us());
	cr_assert_eq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS] - rt0, 1, "cache hits went to the store");
	cr_assert_eq(a.ctr.v[NF_CTR_CACHE_HITS], NF_BURST);
	inst_close(&a);
}

Test(fw_store, remote_mode_reads_the_store_every_packet)
{
	struct inst a, b;

	inst_open(&a, NF_MODE_REMOTE, RULES);
	inst_open(&b, NF_MODE_REMOTE, RULES);
	OUT_OK(&a, c2s(40000, 80, SYN, 1000, 0, 0));
	IN_OK(&b, s2c(40000, 80, SYN | ACK, 5000, 1001, 0));
	OUT_OK(&a, c2s(40000, 80, ACK, 1001, 5001, 0));
	IN_OK(&b, s2c(40000, 80, ACK | PSH, 5001, 1001, 10));
	OUT_DROP(&a, c2s(40001, 80, ACK, 1, 1, 0));
	cr_assert_eq(a.ctr.v[NF_CTR_CACHE_HITS] + b.ctr.v[NF_CTR_CACHE_HITS], 0);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_CONN], 1);
	cr_assert_eq(stored_state(40000, 80), FW_ST_TCP_ESTABLISHED);
	inst_close(&a);
	inst_close(&b);
}

Test(fw_store, another_instances_transition_invalidates_the_cache)
{
	struct inst a, b;

	inst_open(&a, NF_MODE_CACHED, RULES);
	inst_open(&b, NF_MODE_CACHED, RULES);
	handshake(&a, 40000);
	cr_assert_eq(cached_state(&a, 40000), FW_ST_TCP_ESTABLISHED);
	IN_OK(&b, s2c(40000, 80, FIN | ACK, 5001, 1001, 0));
	for (int i = 0; i < 100 && cached_state(&a, 40000) != 0xff; i++) {
		usleep(10000);
		fw_tick(a.w, nf_now_us());
	}
	cr_assert_eq(cached_state(&a, 40000), 0xff, "A's stale entry was not invalidated");
	cr_assert_geq(a.ctr.v[NF_CTR_STORE_INVALIDATIONS], 1);
	OUT_OK(&a, c2s(40000, 80, ACK, 1001, 5002, 0));
	cr_assert_eq(cached_state(&a, 40000), FW_ST_TCP_FIN_WAIT);
	inst_close(&a);
	inst_close(&b);
}

Test(fw_store, expired_connection_is_forgotten_everywhere)
{
	struct inst a;
	char cfg[1024];

	snprintf(cfg, sizeof(cfg), "{\"timeouts\": {\"udp\": 1}, %s", RULES + 1);
	inst_open(&a, NF_MODE_CACHED, cfg);
	{
		struct pkt_spec q = { .proto = IPPROTO_UDP, .src = CLI, .dst = "192.0.2.53", .sport = 5353,
				      .dport = 53, .payload_len = 20 };
		struct pkt_spec r = { .proto = IPPROTO_UDP, .src = "192.0.2.53", .dst = CLI, .sport = 53,
				      .dport = 5353, .payload_len = 20 };

		OUT_OK(&a, q);
		usleep(1500000);
		fw_tick(a.w, nf_now_us());
		IN_DROP(&a, r);		/* a new inbound UDP flow now: the rules say no */
		cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY], 1);
	}
	inst_close(&a);
}

Test(fw_store, outage_keeps_cached_connections_and_recovers)
{
	struct inst a;
	uint64_t t0;

	inst_open(&a, NF_MODE_CACHED, RULES);
	handshake(&a, 40000);
	cr_assert_eq(redis_server_kill(&rs), 0);
	redisFree(admin);
	admin = NULL;
	OUT_OK(&a, c2s(40000, 80, ACK | PSH, 1001, 5001, 10));
	IN_OK(&a, s2c(40000, 80, ACK, 5001, 1011, 0));
	t0 = nf_now_us();
	OUT_DROP(&a, c2s(40001, 80, SYN, 1, 0, 0));
	cr_assert_lt(nf_now_us() - t0, 1000000);
	cr_assert_geq(a.ctr.v[NF_CTR_DROP_STORE_DOWN], 1);
	cr_assert_eq(redis_server_restart(&rs), 0);
	admin = redisConnectUnix(rs.unix_path);
	for (int i = 0; i < 300; i++) {
		fw_tick(a.w, nf_now_us());
		if (run1(&a, NF_PORT_INSIDE, c2s(40002, 80, SYN, 1, 0, 0)) == NF_PORT_OUTSIDE)
			break;
		usleep(10000);
	}
	cr_assert_eq(stored_state(40002, 80), FW_ST_TCP_SYN_SENT);
	/* The restarted store lost the rule set: worker 0 published its own again. */
	{
		redisReply *r = redisCommand(admin, "GET fw:rules_ver");

		cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "rule set not re-published");
		freeReplyObject(r);
	}
	inst_close(&a);
}

Test(fw_store, noscript_is_retried_transparently)
{
	struct inst a;

	inst_open(&a, NF_MODE_CACHED, RULES);
	OUT_OK(&a, c2s(40000, 80, SYN, 1000, 0, 0));
	freeReplyObject(redisCommand(admin, "SCRIPT FLUSH"));
	IN_OK(&a, s2c(40000, 80, SYN | ACK, 5000, 1001, 0));
	OUT_OK(&a, c2s(40001, 80, SYN, 1000, 0, 0));
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_STORE_ERROR], 0);
	inst_close(&a);
}

Test(fw_store, write_behind_refreshes_the_ttl)
{
	struct inst a;
	char cfg[1024];
	long long t;

	snprintf(cfg, sizeof(cfg), "{\"timeouts\": {\"tcp_established\": 4}, %s", RULES + 1);
	inst_open(&a, NF_MODE_CACHED, cfg);
	handshake(&a, 40000);
	/* Traffic for 3 s with a 4 s timeout: refreshed every second, never expires. */
	for (int i = 0; i < 30; i++) {
		OUT_OK(&a, c2s(40000, 80, ACK | PSH, 1001 + 10 * (uint32_t)i, 5001, 10));
		usleep(100000);
		fw_tick(a.w, nf_now_us());
	}
	t = stored_pttl(40000, 80);
	cr_assert(t > 2500, "TTL %lld: not refreshed", t);
	cr_assert_geq(a.ctr.v[NF_CTR_WRITE_BEHIND], 1);
	inst_close(&a);
}
