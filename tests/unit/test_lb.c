/* Load balancer data path: half-NAT rewriting both ways, checksums, classification, local
 * mode, and against a real redis-server: instances sharing connections, one round trip per
 * burst, cache hits, per-backend counters, TTL refresh, invalidation, store outage. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "nf/clock.h"
#include "nfs/lb/lb.h"
#include "nfs/lb/lb_int.h"
#include "tests/harness/nfinst.h"
#include "tests/harness/pktgen.h"
#include "tests/harness/redis_server.h"

#define VIP "192.0.2.10"
#define VIP2 "192.0.2.20"
#define CLIENT "198.51.100.7"

/* One service with one backend (deterministic), one with three, one UDP. */
static const char *CFG =
	"{\"services\": ["
	"{\"vip\": \"" VIP "\", \"port\": 80, \"backends\": [{\"address\": \"10.1.0.1\", \"port\": 8080}]},"
	"{\"vip\": \"" VIP "\", \"port\": 443, \"backends\": [{\"address\": \"10.1.0.1\", \"port\": 8443},"
	" {\"address\": \"10.1.0.2\", \"port\": 8443}, {\"address\": \"10.1.0.3\", \"port\": 8443}]},"
	"{\"vip\": \"" VIP "\", \"port\": 53, \"proto\": \"udp\", \"backends\": [{\"address\": \"10.1.0.9\", \"port\": 5353}]},"
	"{\"vip\": \"" VIP2 "\", \"port\": 80, \"backends\": [{\"address\": \"10.1.0.1\", \"port\": 8080}]},"
	"{\"vip\": \"" VIP2 "\", \"port\": 81, \"backends\": [{\"address\": \"10.1.0.5\", \"port\": 80, \"state\": \"drain\"}]}"
	"]}";

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
	struct lb *lb;
	struct lb_worker *w;
	struct nf_counters ctr;
};

static void inst_open_opts(struct inst *in, enum nf_mode mode, const char *json, bool one_armed)
{
	static struct lb_config cfg;
	struct nf_opts o;
	char err[256];

	lb_config_default(&cfg);
	cr_assert_eq(lb_config_load_string(&cfg, json, err, sizeof(err)), 0, "%s", err);
	nfinst_opts(&o, "lb", mode, &rs);
	o.one_armed = one_armed;
	memset(&in->ctr, 0, sizeof(in->ctr));
	in->lb = lb_create(&cfg, &o);
	cr_assert_not_null(in->lb);
	in->w = lb_worker_create(in->lb, 0, &in->ctr);
	cr_assert_not_null(in->w);
}

static void inst_open(struct inst *in, enum nf_mode mode)
{
	inst_open_opts(in, mode, CFG, false);
}

static void inst_close(struct inst *in)
{
	lb_worker_destroy(in->w);
	lb_destroy(in->lb);
}

static uint8_t run1(struct inst *in, uint16_t port, struct fake_mbuf *fm)
{
	struct rte_mbuf *m = &fm->m;
	uint8_t verdict = 0;

	lb_process_burst(in->w, port, &m, 1, &verdict, nf_now_us());
	return verdict;
}

/* "a.b.c.d:port" of the source (off 12 / port 0) or destination (16 / 2) of 'fm'. */
static const char *ep_of(const struct fake_mbuf *fm, bool dst)
{
	static char buf[4][32];
	static unsigned next;
	char *b = buf[next++ % 4], a[INET_ADDRSTRLEN];
	const uint8_t *l4 = fake_mbuf_l4(fm) + (dst ? 2 : 0);

	inet_ntop(AF_INET, fake_mbuf_ip(fm) + (dst ? 16 : 12), a, sizeof(a));
	snprintf(b, 32, "%s:%u", a, l4[0] << 8 | l4[1]);
	return b;
}

/* A client packet to VIP:vport through 'in'; returns the backend it was sent to, or "". */
static const char *to_vip(struct inst *in, const char *client, uint16_t cport, const char *vip,
			  uint16_t vport, uint8_t flags)
{
	struct fake_mbuf fm;
	struct pkt_spec s = pktgen_tcp(client, cport, vip, vport, flags);
	char src[32];

	fake_mbuf_build(&fm, &s);
	if (run1(in, NF_PORT_OUTSIDE, &fm) != NF_PORT_INSIDE)
		return "";
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len), "checksums wrong after the rewrite");
	snprintf(src, sizeof(src), "%s:%u", client, cport);
	cr_assert_str_eq(ep_of(&fm, false), src, "half NAT keeps the client address");
	return ep_of(&fm, true);
}

/* A backend's reply to 'client'; returns the source it leaves with, or "" when dropped. */
static const char *from_backend(struct inst *in, const char *backend, uint16_t bport,
				const char *client, uint16_t cport)
{
	struct fake_mbuf fm;
	struct pkt_spec s = pktgen_tcp(backend, bport, client, cport, 0x12);

	fake_mbuf_build(&fm, &s);
	if (run1(in, NF_PORT_INSIDE, &fm) != NF_PORT_OUTSIDE)
		return "";
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len), "checksums wrong after the rewrite");
	return ep_of(&fm, false);
}

TestSuite(lb_local, .timeout = 30);
TestSuite(lb_store, .init = srv_init, .fini = srv_fini, .timeout = 60);

Test(lb_local, half_nat_both_directions)
{
	struct inst a;

	inst_open(&a, NF_MODE_LOCAL);
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x02), "10.1.0.1:8080");
	cr_assert_str_eq(from_backend(&a, "10.1.0.1", 8080, CLIENT, 40000), VIP ":80");
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x10), "10.1.0.1:8080");
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED], 1);
	cr_assert_eq(a.ctr.v[NF_CTR_CACHE_HITS], 2);
	inst_close(&a);
}

Test(lb_local, drops_what_is_not_for_a_service)
{
	struct inst a;
	struct fake_mbuf fm;
	struct pkt_spec ic = { .proto = IPPROTO_ICMP, .src = CLIENT, .dst = VIP, .sport = 7,
			       .icmp_type = 8, .payload_len = 8 };
	uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };

	inst_open(&a, NF_MODE_LOCAL);
	cr_assert_str_eq(to_vip(&a, CLIENT, 1, VIP, 8080, 0x02), "", "not a service port");
	cr_assert_str_eq(to_vip(&a, CLIENT, 1, "192.0.2.99", 80, 0x02), "", "not a VIP");
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY], 2);
	cr_assert_str_eq(from_backend(&a, "10.1.0.1", 8080, CLIENT, 1), "", "no such connection");
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_MAPPING], 1);
	cr_assert_str_eq(to_vip(&a, CLIENT, 1, VIP2, 81, 0x02), "", "only backend is draining");
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_BACKEND], 1);
	fake_mbuf_build(&fm, &ic);
	cr_assert_eq(run1(&a, NF_PORT_OUTSIDE, &fm), NF_VERDICT_DROP);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_UNSUPPORTED], 1);
	fake_mbuf_init(&fm, arp, sizeof(arp));
	cr_assert_eq(run1(&a, NF_PORT_OUTSIDE, &fm), NF_PORT_INSIDE);
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	cr_assert_eq(a.ctr.v[NF_CTR_PASSTHROUGH], 2);
	{
		struct pkt_spec s = pktgen_tcp(CLIENT, 1, VIP, 80, 0x02);

		fake_mbuf_build(&fm, &s);
		fm.m.data_len = 30;
		cr_assert_eq(run1(&a, NF_PORT_OUTSIDE, &fm), NF_VERDICT_DROP);
		cr_assert_eq(a.ctr.v[NF_CTR_DROP_IP_TRUNC], 1);
	}
	inst_close(&a);
}

Test(lb_local, udp_partial_and_missing_checksums)
{
	struct inst a;
	struct fake_mbuf fm;
	struct pkt_spec u = { .proto = IPPROTO_UDP, .src = CLIENT, .dst = VIP, .sport = 5000,
			      .dport = 53, .payload_len = 33, .partial_csum = true };
	struct pkt_spec t = pktgen_tcp(CLIENT, 41000, VIP, 80, 0x02);

	inst_open(&a, NF_MODE_LOCAL);
	fake_mbuf_build(&fm, &u);
	cr_assert(!pktgen_csums_ok(fm.data, fm.m.data_len));
	cr_assert_eq(run1(&a, NF_PORT_OUTSIDE, &fm), NF_PORT_INSIDE);
	cr_assert_str_eq(ep_of(&fm, true), "10.1.0.9:5353");
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len), "partial UDP checksum not completed");
	t.partial_csum = true;
	fake_mbuf_build(&fm, &t);
	cr_assert_eq(run1(&a, NF_PORT_OUTSIDE, &fm), NF_PORT_INSIDE);
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len), "partial TCP checksum not completed");
	cr_assert_eq(a.ctr.v[NF_CTR_CKSUM_PARTIAL], 2);
	/* A reply without a UDP checksum keeps none. */
	u = (struct pkt_spec){ .proto = IPPROTO_UDP, .src = "10.1.0.9", .dst = CLIENT, .sport = 5353,
			       .dport = 5000, .payload_len = 20, .udp_no_csum = true };
	fake_mbuf_build(&fm, &u);
	cr_assert_eq(run1(&a, NF_PORT_INSIDE, &fm), NF_PORT_OUTSIDE);
	cr_assert_str_eq(ep_of(&fm, false), VIP ":53");
	cr_assert_eq(fake_mbuf_l4(&fm)[6] | fake_mbuf_l4(&fm)[7], 0);
	cr_assert(pktgen_csums_ok(fm.data, fm.m.data_len));
	inst_close(&a);
}

Test(lb_local, one_armed_direction_from_the_vip)
{
	struct inst a;
	struct fake_mbuf fm;
	struct pkt_spec s = pktgen_tcp(CLIENT, 40000, VIP, 80, 0x02);

	inst_open_opts(&a, NF_MODE_LOCAL, CFG, true);
	fake_mbuf_build(&fm, &s);
	cr_assert_eq(run1(&a, 0, &fm), 0);
	cr_assert_str_eq(ep_of(&fm, true), "10.1.0.1:8080");
	s = pktgen_tcp("10.1.0.1", 8080, CLIENT, 40000, 0x12);
	fake_mbuf_build(&fm, &s);
	cr_assert_eq(run1(&a, 0, &fm), 0);
	cr_assert_str_eq(ep_of(&fm, false), VIP ":80");
	/* To a VIP address but no service: dropped without a lookup; from a stranger: no state. */
	s = pktgen_tcp(CLIENT, 40000, VIP, 22, 0x02);
	fake_mbuf_build(&fm, &s);
	cr_assert_eq(run1(&a, 0, &fm), NF_VERDICT_DROP);
	s = pktgen_tcp("203.0.113.5", 1, CLIENT, 2, 0x02);
	fake_mbuf_build(&fm, &s);
	cr_assert_eq(run1(&a, 0, &fm), NF_VERDICT_DROP);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_POLICY], 1);
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_MAPPING], 1);
	inst_close(&a);
}

Test(lb_local, same_client_port_through_two_vips_to_one_backend_is_refused)
{
	struct inst a;

	inst_open(&a, NF_MODE_LOCAL);
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x02), "10.1.0.1:8080");
	/* Same backend behind VIP2: the backend could not tell the two connections apart. */
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP2, 80, 0x02), "");
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_NO_BACKEND], 1);
	cr_assert_str_eq(to_vip(&a, CLIENT, 40001, VIP2, 80, 0x02), "10.1.0.1:8080");
	inst_close(&a);
}

Test(lb_store, two_instances_share_a_connection_both_ways)
{
	struct inst a, b;
	const char *be;
	char backend[32];
	uint16_t bport;

	inst_open(&a, NF_MODE_CACHED);
	inst_open(&b, NF_MODE_CACHED);
	be = to_vip(&a, CLIENT, 40000, VIP, 443, 0x02);
	cr_assert_neq(be[0], '\0');
	snprintf(backend, sizeof(backend), "%s", be);
	/* B never saw the connection: it reads the stored choice. */
	cr_assert_str_eq(to_vip(&b, CLIENT, 40000, VIP, 443, 0x10), backend);
	*strchr(backend, ':') = '\0';
	bport = 8443;
	cr_assert_str_eq(from_backend(&b, backend, bport, CLIENT, 40000), VIP ":443");
	inst_close(&a);
	/* A is gone: B carries both directions. */
	cr_assert_str_eq(from_backend(&b, backend, bport, CLIENT, 40000), VIP ":443");
	cr_assert_eq(b.ctr.v[NF_CTR_FLOWS_CREATED], 0);
	inst_close(&b);
}

Test(lb_store, burst_of_new_connections_is_one_round_trip_then_cache_hits)
{
	struct inst a;
	static struct fake_mbuf fms[NF_BURST];
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t verdicts[NF_BURST];
	uint64_t rt0;

	inst_open(&a, NF_MODE_CACHED);
	lb_tick(a.w, nf_now_us());
	rt0 = a.ctr.v[NF_CTR_STORE_ROUND_TRIPS];
	for (int i = 0; i < NF_BURST; i++) {
		struct pkt_spec s = pktgen_tcp(CLIENT, (uint16_t)(3000 + i), VIP, 443, 0x02);

		fake_mbuf_build(&fms[i], &s);
		pkts[i] = &fms[i].m;
	}
	lb_process_burst(a.w, NF_PORT_OUTSIDE, pkts, NF_BURST, verdicts, nf_now_us());
	cr_assert_eq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS] - rt0, 1);
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED], NF_BURST);
	for (int i = 0; i < NF_BURST; i++)
		cr_assert_eq(verdicts[i], NF_PORT_INSIDE);
	for (int i = 0; i < NF_BURST; i++) {
		struct pkt_spec s = pktgen_tcp(CLIENT, (uint16_t)(3000 + i), VIP, 443, 0x10);

		fake_mbuf_build(&fms[i], &s);
	}
	lb_process_burst(a.w, NF_PORT_OUTSIDE, pkts, NF_BURST, verdicts, nf_now_us());
	cr_assert_eq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS] - rt0, 1, "established flows touched the store");
	cr_assert_eq(a.ctr.v[NF_CTR_CACHE_HITS], NF_BURST);
	/* The replies were cached by the creation too. */
	for (int i = 0; i < NF_BURST; i++) {
		char be[32];

		snprintf(be, sizeof(be), "%s", ep_of(&fms[i], true));
		*strchr(be, ':') = '\0';
		cr_assert_str_eq(from_backend(&a, be, 8443, CLIENT, (uint16_t)(3000 + i)), VIP ":443");
	}
	cr_assert_eq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS] - rt0, 1);
	inst_close(&a);
}

Test(lb_store, remote_mode_reads_the_store_every_packet)
{
	struct inst a;

	inst_open(&a, NF_MODE_REMOTE);
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x02), "10.1.0.1:8080");
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x10), "10.1.0.1:8080");
	cr_assert_str_eq(from_backend(&a, "10.1.0.1", 8080, CLIENT, 40000), VIP ":80");
	cr_assert_eq(a.ctr.v[NF_CTR_CACHE_HITS], 0);
	cr_assert_geq(a.ctr.v[NF_CTR_STORE_ROUND_TRIPS], 3);
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED], 1);
	inst_close(&a);
}

static long long hget(const char *key, const char *field)
{
	redisReply *r = redisCommand(admin, "HGET %s %s", key, field);
	long long v;

	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "no %s in %s", field, key);
	v = atoll(r->str);
	freeReplyObject(r);
	return v;
}

Test(lb_store, per_backend_counters_land_in_the_store)
{
	struct inst a, b;
	uint64_t t;

	inst_open(&a, NF_MODE_CACHED);
	inst_open(&b, NF_MODE_CACHED);
	for (uint16_t p = 0; p < 3; p++)
		cr_assert_str_eq(to_vip(&a, CLIENT, (uint16_t)(50000 + p), VIP, 80, 0x02), "10.1.0.1:8080");
	cr_assert_str_eq(to_vip(&b, CLIENT, 50000, VIP, 80, 0x10), "10.1.0.1:8080");
	cr_assert_str_eq(from_backend(&b, "10.1.0.1", 8080, CLIENT, 50000), VIP ":80");
	/* Write-behind: nothing before the flush interval, everything after it. */
	t = nf_now_us();
	lb_tick(a.w, t);
	lb_tick(b.w, t);
	lb_tick(a.w, t + 200000);
	lb_tick(b.w, t + 200000);
	cr_assert_eq(hget("lb:b:10.1.0.1:8080", "conns"), 3);
	cr_assert_eq(hget("lb:b:10.1.0.1:8080", "pkts"), 5);
	cr_assert_eq(hget("lb:b:10.1.0.1:8080", "bytes"), 5 * (20 + 20 + 10));
	cr_assert_geq(a.ctr.v[NF_CTR_WRITE_BEHIND], 1);
	inst_close(&a);
	inst_close(&b);
}

/* The remaining TTL (ms) of the forward key of CLIENT:cport -> VIP:vport, -2 when gone. */
static long long fwd_pttl(uint16_t cport, uint16_t vport)
{
	struct lb_ckey ck = { .dir = LB_DIR_IN, .proto = IPPROTO_TCP, .src_port = htons(cport),
			      .dst_port = htons(vport) };
	char key[32] = "lb:f";
	redisReply *r;
	long long v;

	inet_pton(AF_INET, CLIENT, &ck.src_ip);
	inet_pton(AF_INET, VIP, &ck.dst_ip);
	memcpy(key + 4, &ck, sizeof(ck));
	r = redisCommand(admin, "PTTL %b", key, (size_t)20);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

Test(lb_store, traffic_refreshes_the_idle_timeout_and_idle_connections_expire)
{
	struct inst a;
	const char *cfg = "{\"services\": [{\"vip\": \"" VIP "\", \"port\": 80, \"backends\": "
			  "[{\"address\": \"10.1.0.1\", \"port\": 8080}]}], \"timeouts\": {\"tcp\": 2}}";

	inst_open_opts(&a, NF_MODE_CACHED, cfg, false);
	cr_assert_str_eq(to_vip(&a, CLIENT, 1000, VIP, 80, 0x02), "10.1.0.1:8080");
	cr_assert_str_eq(to_vip(&a, CLIENT, 1001, VIP, 80, 0x02), "10.1.0.1:8080");
	/* 3 s of traffic on one connection, one packet every 100 ms (refresh every 500 ms). */
	for (int i = 0; i < 30; i++) {
		usleep(100000);
		cr_assert_str_eq(to_vip(&a, CLIENT, 1000, VIP, 80, 0x10), "10.1.0.1:8080");
		lb_tick(a.w, nf_now_us());
	}
	cr_assert_gt(fwd_pttl(1000, 80), 1000, "busy connection not refreshed");
	cr_assert_eq(fwd_pttl(1001, 80), -2, "idle connection did not expire");
	inst_close(&a);
}

Test(lb_store, invalidation_drops_the_cached_entry)
{
	struct inst a;
	struct lb_ckey ck = { .dir = LB_DIR_OUT, .proto = IPPROTO_TCP, .src_port = htons(8080),
			      .dst_port = htons(40000) };
	char key[32] = "lb:r";
	redisReply *r;

	inst_open(&a, NF_MODE_CACHED);
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x02), "10.1.0.1:8080");
	cr_assert_str_eq(from_backend(&a, "10.1.0.1", 8080, CLIENT, 40000), VIP ":80");
	inet_pton(AF_INET, "10.1.0.1", &ck.src_ip);
	inet_pton(AF_INET, CLIENT, &ck.dst_ip);
	memcpy(key + 4, &ck, sizeof(ck));
	r = redisCommand(admin, "DEL %b", key, (size_t)20);
	cr_assert_eq(r->integer, 1);
	freeReplyObject(r);
	for (int i = 0; i < 100 && a.ctr.v[NF_CTR_STORE_INVALIDATIONS] == 0; i++) {
		usleep(10000);
		lb_tick(a.w, nf_now_us());
	}
	cr_assert_geq(a.ctr.v[NF_CTR_STORE_INVALIDATIONS], 1);
	cr_assert_str_eq(from_backend(&a, "10.1.0.1", 8080, CLIENT, 40000), "",
			 "the store forgot the connection but the cache did not");
	inst_close(&a);
}

Test(lb_store, outage_keeps_cached_connections_and_recovers)
{
	struct inst a;
	const char *be = "";
	uint64_t t0;

	inst_open(&a, NF_MODE_CACHED);
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x02), "10.1.0.1:8080");
	cr_assert_eq(redis_server_kill(&rs), 0);
	redisFree(admin);
	admin = NULL;
	cr_assert_str_eq(to_vip(&a, CLIENT, 40000, VIP, 80, 0x10), "10.1.0.1:8080");
	cr_assert_str_eq(from_backend(&a, "10.1.0.1", 8080, CLIENT, 40000), VIP ":80");
	t0 = nf_now_us();
	cr_assert_str_eq(to_vip(&a, CLIENT, 40001, VIP, 80, 0x02), "");
	cr_assert_lt(nf_now_us() - t0, 1000000);
	cr_assert_geq(a.ctr.v[NF_CTR_DROP_STORE_DOWN], 1);
	cr_assert_eq(redis_server_restart(&rs), 0);
	admin = redisConnectUnix(rs.unix_path);
	for (int i = 0; i < 300 && be[0] == '\0'; i++) {
		lb_tick(a.w, nf_now_us());
		be = to_vip(&a, CLIENT, 40001, VIP, 80, 0x02);
		if (be[0] == '\0')
			usleep(10000);
	}
	cr_assert_str_eq(be, "10.1.0.1:8080");
	inst_close(&a);
}

Test(lb_store, noscript_is_retried_transparently)
{
	struct inst a;
	redisReply *r;

	inst_open(&a, NF_MODE_CACHED);
	cr_assert_str_eq(to_vip(&a, CLIENT, 1, VIP, 80, 0x02), "10.1.0.1:8080");
	r = redisCommand(admin, "SCRIPT FLUSH");
	freeReplyObject(r);
	cr_assert_str_eq(to_vip(&a, CLIENT, 2, VIP, 80, 0x02), "10.1.0.1:8080");
	cr_assert_eq(a.ctr.v[NF_CTR_DROP_STORE_ERROR], 0);
	inst_close(&a);
}
