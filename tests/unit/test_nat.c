/* NAT logic against a real redis-server: translation, endpoint independence, both
 * directions on different instances, races, exhaustion, expiry, outage, invalidation. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "nf/clock.h"
#include "nfs/nat/nat.h"
#include "nfs/nat/nat_int.h"
#include "tests/harness/nfinst.h"
#include "tests/harness/pktgen.h"
#include "tests/harness/redis_server.h"

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

struct inst {
	struct nat *nat;
	struct nat_worker *w;
	struct nf_counters ctr;
};

static void inst_open(struct inst *in, enum nf_mode mode, const char *cfg_json)
{
	struct nat_config cfg;
	struct nf_opts o;
	char err[256];

	nat_config_default(&cfg);
	cr_assert_eq(nat_config_load_string(&cfg, cfg_json, err, sizeof(err)), 0, "%s", err);
	nfinst_opts(&o, "nat", mode, &rs);
	memset(&in->ctr, 0, sizeof(in->ctr));
	in->nat = nat_create(&cfg, &o);
	cr_assert(in->nat != NULL);
	in->w = nat_worker_create(in->nat, 0, &in->ctr);
	cr_assert(in->w != NULL);
}

static void inst_close(struct inst *in)
{
	nat_worker_destroy(in->w);
	nat_destroy(in->nat);
}

static const char *CFG = "{\"public_ips\": [\"203.0.113.1\"], \"port_range\": [20000, 20099]}";

/* Run one packet through 'in'; returns its verdict; '*fm' holds the result. */
static uint8_t run1(struct inst *in, uint16_t port, struct fake_mbuf *fm)
{
	struct rte_mbuf *m = &fm->m;
	uint8_t verdict = 0;

	nat_process_burst(in->w, port, &m, 1, &verdict, nf_now_us());
	return verdict;
}

static uint16_t sport_of(const struct fake_mbuf *fm)
{
	const uint8_t *l4 = fake_mbuf_l4(fm);

	return (uint16_t)(l4[0] << 8 | l4[1]);
}

static uint16_t dport_of(const struct fake_mbuf *fm)
{
	const uint8_t *l4 = fake_mbuf_l4(fm);

	return (uint16_t)(l4[2] << 8 | l4[3]);
}

static void assert_addr(const uint8_t *p, const char *want)
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, p, buf, sizeof(buf));
	cr_assert_str_eq(buf, want);
}

/* Outbound SYN through 'a'; returns the public port it got. */
static uint16_t syn_out(struct inst *a, const char *src, uint16_t sport)
{
	struct fake_mbuf fm;
	struct pkt_spec s = pktgen_tcp(src, sport, "198.51.100.7", 80, 0x02);

	fake_mbuf_build(&fm, &s);
	cr_assert_eq(run1(a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	assert_addr(fake_mbuf_ip(&fm) + 12, "203.0.113.1");
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len), "checksums wrong after translation");
	return sport_of(&fm);
}

/* Return packet to public port 'pub' through 'b'; returns the verdict, checks the rewrite. */
static uint8_t reply_in(struct inst *b, uint16_t pub, const char *want_dst, uint16_t want_port,
			uint8_t flags)
{
	struct fake_mbuf fm;
	struct pkt_spec s = pktgen_tcp("198.51.100.7", 80, "203.0.113.1", pub, flags);
	uint8_t v;

	fake_mbuf_build(&fm, &s);
	v = run1(b, NF_PORT_OUTSIDE, &fm);
	if (v == NF_PORT_INSIDE) {
		assert_addr(fake_mbuf_ip(&fm) + 16, want_dst);
		cr_assert_eq(dport_of(&fm), want_port);
		cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len));
	}
	return v;
}

static redisReply *admin_get(char tag, uint8_t proto, const char *ip, uint16_t port)
{
	char key[32] = "nat:";
	struct ep_key ep = { .proto = proto, .port = htons(port) };

	inet_pton(AF_INET, ip, &ep.ip);
	key[4] = tag;
	memcpy(key + 5, &ep, sizeof(ep));
	return redisCommand(admin, "GET %b", key, (size_t)13);
}

TestSuite(nat_local, .timeout = 30);
TestSuite(nat_store, .init = srv_init, .fini = srv_fini, .timeout = 60);

Test(nat_local, translates_both_directions_and_is_endpoint_independent)
{
	struct inst a;
	struct fake_mbuf fm;
	struct pkt_spec s;
	uint16_t pub;

	inst_open(&a, NF_MODE_LOCAL, CFG);
	pub = syn_out(&a, "10.0.0.5", 40000);
	cr_assert_eq(pub, 20000);
	/* Same inside endpoint, another destination: same public endpoint (RFC 4787). */
	s = pktgen_tcp("10.0.0.5", 40000, "192.0.2.99", 443, 0x02);
	fake_mbuf_build(&fm, &s);
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	cr_assert_eq(sport_of(&fm), pub);
	cr_assert_eq(reply_in(&a, pub, "10.0.0.5", 40000, 0x12), NF_PORT_INSIDE);
	/* Unsolicited inbound is dropped and counted. */
	cr_assert_eq(reply_in(&a, 20050, "", 0, 0x02), NF_VERDICT_DROP);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_MAPPING], 1);
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED], 1);
	inst_close(&a);
}

Test(nat_local, udp_icmp_and_partial_checksums)
{
	struct inst a;
	struct fake_mbuf fm;
	struct pkt_spec u = { .proto = IPPROTO_UDP, .src = "10.0.0.6", .dst = "198.51.100.7",
			      .sport = 5353, .dport = 53, .payload_len = 33, .partial_csum = true };
	struct pkt_spec ic = { .proto = IPPROTO_ICMP, .src = "10.0.0.6", .dst = "198.51.100.7",
			       .sport = 777, .icmp_type = 8, .payload_len = 56 };
	struct pkt_spec t = pktgen_tcp("10.0.0.7", 1111, "198.51.100.7", 22, 0x02);

	inst_open(&a, NF_MODE_LOCAL, CFG);
	fake_mbuf_build(&fm, &u);
	cr_assert(!pktgen_csums_ok(fm.data, fm.m.data_len), "partial checksum must not verify");
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len), "partial UDP checksum not completed");
	t.partial_csum = true;
	fake_mbuf_build(&fm, &t);
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len), "partial TCP checksum not completed");
	cr_assert_eq(a.ctr.v[NF_CTR_CKSUM_PARTIAL], 2);
	fake_mbuf_build(&fm, &ic);
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len));
	ic.src = "198.51.100.7", ic.dst = "203.0.113.1", ic.icmp_type = 0;
	{
		const uint8_t *l4 = fm.data + 14 + 20;
		ic.sport = (uint16_t)(l4[4] << 8 | l4[5]);
	}
	fake_mbuf_build(&fm, &ic);
	cr_assert_eq(run1(&a, NF_PORT_OUTSIDE, &fm), NF_PORT_INSIDE);
	assert_addr(fm.data + 14 + 16, "10.0.0.6");
	cr_assert_eq(fm.data[14 + 20 + 4] << 8 | fm.data[14 + 20 + 5], 777);
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len));
	inst_close(&a);
}

Test(nat_local, exhaustion_keeps_existing_flows)
{
	struct inst a;

	inst_open(&a, NF_MODE_LOCAL, "{\"public_ips\": [\"203.0.113.1\"], \"port_range\": [20000, 20003]}");
	for (uint16_t i = 0; i < 4; i++)
		cr_assert_eq(syn_out(&a, "10.0.0.5", (uint16_t)(1000 + i)), 20000 + i);
	{
		struct fake_mbuf fm;
		struct pkt_spec s = pktgen_tcp("10.0.0.5", 2000, "198.51.100.7", 80, 0x02);

		fake_mbuf_build(&fm, &s);
		cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_VERDICT_DROP);
		cr_assert_eq(a.ctr.v[NF_CTR_DROP_PORTS_EXHAUSTED], 1);
	}
	cr_assert_eq(syn_out(&a, "10.0.0.5", 1002), 20002);
	cr_assert_eq(reply_in(&a, 20003, "10.0.0.5", 1003, 0x12), NF_PORT_INSIDE);
	inst_close(&a);
}

Test(nat_local, malformed_and_non_ip)
{
	struct inst a;
	struct fake_mbuf fm;
	struct pkt_spec s = pktgen_tcp("10.0.0.5", 1000, "198.51.100.7", 80, 0x02);
	uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };

	inst_open(&a, NF_MODE_LOCAL, CFG);
	fake_mbuf_build(&fm, &s);
	fm.m.data_len = 30;	/* truncated inside the IP header */
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_VERDICT_DROP);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_IP_TRUNC], 1);
	fake_mbuf_init(&fm, arp, sizeof(arp));
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	cr_assert_eq(a.ctr.v[NF_CTR_PASSTHROUGH], 1);
	inst_close(&a);
}

Test(nat_store, two_instances_share_one_flow)
{
	struct inst a, b;
	uint16_t pub;

	inst_open(&a, NF_MODE_CACHED, CFG);
	inst_open(&b, NF_MODE_CACHED, CFG);
	pub = syn_out(&a, "10.0.0.5", 40000);
	cr_assert_eq(pub, 20000);
	cr_assert_eq(reply_in(&b, pub, "10.0.0.5", 40000, 0x12), NF_PORT_INSIDE);
	/* A is gone: B carries both directions. */
	inst_close(&a);
	cr_assert_eq(syn_out(&b, "10.0.0.5", 40000), pub);
	cr_assert_eq(reply_in(&b, pub, "10.0.0.5", 40000, 0x10), NF_PORT_INSIDE);
	/* The reply moved the mapping to established (write-through). */
	{
		redisReply *r = admin_get('m', IPPROTO_TCP, "10.0.0.5", 40000);

		cr_assert(r != NULL && r->type == REDIS_REPLY_STRING && r->len == 16);
		cr_assert_eq((uint8_t)r->str[13], NAT_ST_ESTABLISHED);
		freeReplyObject(r);
	}
	inst_close(&b);
}

Test(nat_store, racing_instances_agree_and_ports_are_unique)
{
	struct inst a, b;
	enum { N = 2000 };
	static uint8_t used[65536];
	char src[32];

	inst_open(&a, NF_MODE_CACHED, "{\"public_ips\": [\"203.0.113.1\"], \"port_range\": [1024, 65535]}");
	inst_open(&b, NF_MODE_CACHED, "{\"public_ips\": [\"203.0.113.1\"], \"port_range\": [1024, 65535]}");
	for (int i = 0; i < N; i++) {
		uint16_t pa, pb;

		snprintf(src, sizeof(src), "10.1.%d.%d", i / 200, i % 200 + 1);
		/* Alternate who goes first; both see the same new flow. */
		pa = i & 1 ? syn_out(&b, src, 5555) : syn_out(&a, src, 5555);
		pb = i & 1 ? syn_out(&a, src, 5555) : syn_out(&b, src, 5555);
		cr_assert_eq(pa, pb, "instances disagree on flow %d", i);
		cr_assert_eq(used[pa], 0, "public port %u given to two flows", pa);
		used[pa] = 1;
	}
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED] + b.ctr.v[NF_CTR_FLOWS_CREATED], N);
	inst_close(&a);
	inst_close(&b);
}

Test(nat_store, burst_of_new_flows_is_one_round_trip)
{
	struct inst a;
	static struct fake_mbuf fms[NF_BURST];
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t verdicts[NF_BURST];
	uint64_t rt0;

	inst_open(&a, NF_MODE_CACHED, CFG);
	nat_tick(a.w, nf_now_us());
	rt0 = a.ctr.v[NF_CTR_STORE_ROUND_TRIPS];
	for (int i = 0; i < NF_BURST; i++) {
		struct pkt_spec s = pktgen_tcp("10.0.0.9", (uint16_t)(3000 + i), "198.51.100.7", 80, 0x02);

		fake_mbuf_build(&fms[i], &s);
		pkts[i] = &fms[i].m;
	}
	nat_process_burst(a.w, NF_PORT_INSIDE, pkts, NF_BURST, verdicts, nf_now_us());
	cr_assert_eq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS] - rt0, 1);
	for (int i = 0; i < NF_BURST; i++)
		cr_assert_eq(verdicts[i], NF_PORT_OUTSIDE);
	/* Same flows again: all cache hits, no round trip. */
	for (int i = 0; i < NF_BURST; i++) {
		struct pkt_spec s = pktgen_tcp("10.0.0.9", (uint16_t)(3000 + i), "198.51.100.7", 80, 0x10);

		fake_mbuf_build(&fms[i], &s);
	}
	nat_process_burst(a.w, NF_PORT_INSIDE, pkts, NF_BURST, verdicts, nf_now_us());
	cr_assert_eq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS] - rt0, 1);
	cr_assert_eq(a.ctr.v[NF_CTR_CACHE_HITS], NF_BURST);
	inst_close(&a);
}

Test(nat_store, remote_mode_reads_the_store_every_packet)
{
	struct inst a;
	uint16_t pub;

	inst_open(&a, NF_MODE_REMOTE, CFG);
	pub = syn_out(&a, "10.0.0.5", 40000);
	cr_assert_eq(syn_out(&a, "10.0.0.5", 40000), pub);
	cr_assert_eq(reply_in(&a, pub, "10.0.0.5", 40000, 0x12), NF_PORT_INSIDE);
	cr_assert_eq(a.ctr.v[NF_CTR_CACHE_HITS], 0);
	cr_assert_geq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS], 3);
	inst_close(&a);
}

Test(nat_store, invalidation_drops_cached_entry)
{
	struct inst a, b;
	uint16_t pub;
	redisReply *r;

	inst_open(&a, NF_MODE_CACHED, CFG);
	inst_open(&b, NF_MODE_CACHED, CFG);
	pub = syn_out(&a, "10.0.0.5", 40000);
	cr_assert_eq(reply_in(&a, pub, "10.0.0.5", 40000, 0x12), NF_PORT_INSIDE);
	/* The mapping is deleted behind A's back (an operator, or expiry). */
	{
		char key[13] = "nat:r";
		struct ep_key ep = { .proto = IPPROTO_TCP, .port = htons(pub) };

		inet_pton(AF_INET, "203.0.113.1", &ep.ip);
		memcpy(key + 5, &ep, sizeof(ep));
		r = redisCommand(admin, "DEL %b", key, sizeof(key));
		cr_assert_eq(r->integer, 1);
		freeReplyObject(r);
	}
	for (int i = 0; i < 100 && a.ctr.v[NF_CTR_STORE_INVALIDATIONS] == 0; i++) {
		usleep(10000);
		nat_tick(a.w, nf_now_us());
	}
	cr_assert_geq(a.ctr.v[NF_CTR_STORE_INVALIDATIONS], 1);
	/* A no longer translates the return traffic of a flow the store forgot. */
	cr_assert_eq(reply_in(&a, pub, "10.0.0.5", 40000, 0x10), NF_VERDICT_DROP);
	inst_close(&a);
	inst_close(&b);
}

Test(nat_store, fin_is_written_through_and_expired_port_is_reused)
{
	struct inst a;
	uint16_t pub;
	redisReply *r;
	const char *cfg = "{\"public_ips\": [\"203.0.113.1\"], \"port_range\": [20000, 20000],"
			  " \"timeouts\": {\"tcp_transitory\": 1, \"tcp_established\": 1}}";

	inst_open(&a, NF_MODE_CACHED, cfg);
	pub = syn_out(&a, "10.0.0.5", 40000);
	cr_assert_eq(reply_in(&a, pub, "10.0.0.5", 40000, 0x11), NF_PORT_INSIDE);	/* FIN|ACK */
	r = admin_get('r', IPPROTO_TCP, "203.0.113.1", pub);
	cr_assert(r->type == REDIS_REPLY_STRING && r->len == 16);
	cr_assert_eq((uint8_t)r->str[13], NAT_ST_CLOSING);
	freeReplyObject(r);
	/* The only port is taken: another inside host cannot get one. */
	{
		struct fake_mbuf fm;
		struct pkt_spec s = pktgen_tcp("10.0.0.6", 1, "198.51.100.7", 80, 0x02);

		fake_mbuf_build(&fm, &s);
		cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_VERDICT_DROP);
		cr_assert_eq(a.ctr.v[NF_CTR_DROP_PORTS_EXHAUSTED], 1);
	}
	sleep(2);	/* the mapping expires in the store */
	cr_assert_eq(syn_out(&a, "10.0.0.6", 1), 20000);
	inst_close(&a);
}

Test(nat_store, outage_keeps_cached_flows_and_recovers)
{
	struct inst a;
	uint16_t pub;
	struct fake_mbuf fm;
	struct pkt_spec s = pktgen_tcp("10.0.0.8", 999, "198.51.100.7", 80, 0x02);
	uint64_t t0;

	inst_open(&a, NF_MODE_CACHED, CFG);
	pub = syn_out(&a, "10.0.0.5", 40000);
	cr_assert_eq(redis_server_kill(&rs), 0);
	redisFree(admin);
	admin = NULL;
	/* Cached flow still forwarded in both directions. */
	cr_assert_eq(syn_out(&a, "10.0.0.5", 40000), pub);
	/* A new flow needs the store: dropped and counted, quickly. */
	t0 = nf_now_us();
	fake_mbuf_build(&fm, &s);
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_VERDICT_DROP);
	cr_assert_lt(nf_now_us() - t0, 1000000);
	cr_assert_geq(a.ctr.v[NF_CTR_DROP_STORE_DOWN], 1);
	cr_assert_eq(redis_server_restart(&rs), 0);
	admin = redisConnectUnix(rs.unix_path);
	/* Traffic resumes by itself once the backoff lets it reconnect. */
	for (int i = 0; i < 300; i++) {
		fake_mbuf_build(&fm, &s);
		nat_tick(a.w, nf_now_us());
		if (run1(&a, NF_PORT_INSIDE, &fm) == NF_PORT_OUTSIDE)
			break;
		usleep(10000);
	}
	assert_addr(fake_mbuf_ip(&fm) + 12, "203.0.113.1");
	inst_close(&a);
}

Test(nat_store, noscript_is_retried_transparently)
{
	struct inst a;
	redisReply *r;

	inst_open(&a, NF_MODE_CACHED, CFG);
	cr_assert_eq(syn_out(&a, "10.0.0.5", 1), 20000);
	r = redisCommand(admin, "SCRIPT FLUSH");
	freeReplyObject(r);
	cr_assert_eq(syn_out(&a, "10.0.0.5", 2), 20001);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_STORE_ERROR], 0);
	inst_close(&a);
}

Test(nat_store, write_behind_counters_reach_the_store)
{
	struct inst a;
	redisReply *r;
	char key[32] = "nat:s";
	struct ep_key ep = { .proto = IPPROTO_TCP, .port = htons(40000) };

	inst_open(&a, NF_MODE_CACHED, CFG);
	for (int i = 0; i < 5; i++)
		syn_out(&a, "10.0.0.5", 40000);
	nat_worker_destroy(a.w);	/* flushes */
	a.w = NULL;
	inet_pton(AF_INET, "10.0.0.5", &ep.ip);
	memcpy(key + 5, &ep, sizeof(ep));
	r = redisCommand(admin, "HGET %b po", key, (size_t)13);
	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "no counters in the store");
	cr_assert_str_eq(r->str, "5");
	freeReplyObject(r);
	nat_destroy(a.nat);
}

/* State A holds in its cache for the outbound side of 'src':'sport', or 0xff if uncached. */
static uint8_t cached_state(struct inst *a, const char *src, uint16_t sport)
{
	struct nat_ckey ck;
	struct nat_centry *ce;

	memset(&ck, 0, sizeof(ck));
	ck.dir = NAT_DIR_OUT;
	ck.ep.proto = IPPROTO_TCP;
	ck.ep.port = htons(sport);
	inet_pton(AF_INET, src, &ck.ep.ip);
	ce = flowcache_lookup(a->w->cache, &ck, nf_now_us());
	return ce == NULL ? 0xff : ce->val.state;
}

Test(nat_store, state_change_by_another_instance_invalidates_the_cache)
{
	struct inst a, b;
	uint16_t pub;

	inst_open(&a, NF_MODE_CACHED, CFG);
	inst_open(&b, NF_MODE_CACHED, CFG);
	pub = syn_out(&a, "10.0.0.5", 40000);
	cr_assert_eq(reply_in(&a, pub, "10.0.0.5", 40000, 0x12), NF_PORT_INSIDE);
	cr_assert_eq(cached_state(&a, "10.0.0.5", 40000), NAT_ST_ESTABLISHED);
	/* The server's FIN arrives at instance B, which writes the transition through. */
	cr_assert_eq(reply_in(&b, pub, "10.0.0.5", 40000, 0x11), NF_PORT_INSIDE);
	for (int i = 0; i < 100 && cached_state(&a, "10.0.0.5", 40000) != 0xff; i++) {
		usleep(10000);
		nat_tick(a.w, nf_now_us());
	}
	cr_assert_eq(cached_state(&a, "10.0.0.5", 40000), 0xff, "A's stale entry was not invalidated");
	/* A's next packet (an ACK) reads the current state from the store. */
	{
		struct fake_mbuf fm;
		struct pkt_spec s = pktgen_tcp("10.0.0.5", 40000, "198.51.100.7", 80, 0x10);

		fake_mbuf_build(&fm, &s);
		cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
		cr_assert_eq(sport_of(&fm), pub);
	}
	cr_assert_eq(cached_state(&a, "10.0.0.5", 40000), NAT_ST_CLOSING);
	inst_close(&a);
	inst_close(&b);
}
