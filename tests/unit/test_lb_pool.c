/* The load balancer's shared pool against a real redis-server: publishing, following the
 * version, connections that outlive pool changes, draining, racing instances, and freeing
 * replaced Maglev snapshots only once the workers let go of them. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
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
#define CLIENT "198.51.100.7"
#define BE(n) "{\"address\": \"10.2.0." #n "\", \"port\": 80}"
#define BE_DRAIN(n) "{\"address\": \"10.2.0." #n "\", \"port\": 80, \"state\": \"drain\"}"
#define POOL(backends) "{\"services\": [{\"vip\": \"" VIP "\", \"port\": 80, \"backends\": [" backends "]}]}"

static const char *P1 = POOL(BE(1) "," BE(2));
static const char *P2 = POOL(BE(1) "," BE(2) "," BE(3) "," BE(4) "," BE(5));

static struct redis_server rs;
static redisContext *admin;
static struct store *pusher;

static void srv_init(void)
{
	struct store_cfg sc;

	cr_assert_eq(redis_server_start_admin(&rs, &admin), 0, "redis-server did not start");
	redis_server_store_cfg(&rs, 1, &sc);
	pusher = store_open(&sc, "test/push");
	cr_assert_not_null(pusher);
}

static void srv_fini(void)
{
	store_close(pusher);
	redis_server_stop_admin(&rs, &admin);
}

TestSuite(lb_pool, .init = srv_init, .fini = srv_fini, .timeout = 60);

struct inst {
	struct lb *lb;
	struct lb_worker *w;
	struct nf_counters ctr;
};

/* An instance whose configuration holds 'json' (NULL: no services of its own). */
static void inst_open(struct inst *in, const char *json)
{
	static struct lb_config cfg;
	struct nf_opts o;
	char err[256];

	lb_config_default(&cfg);
	if (json != NULL)
		cr_assert_eq(lb_config_load_string(&cfg, json, err, sizeof(err)), 0, "%s", err);
	nfinst_opts(&o, "lb", NF_MODE_CACHED, &rs);
	o.cache_entries = 8192;
	memset(&in->ctr, 0, sizeof(in->ctr));
	in->lb = lb_create(&cfg, &o);
	cr_assert_not_null(in->lb);
	in->w = lb_worker_create(in->lb, 0, &in->ctr);
	cr_assert_not_null(in->w);
}

static void inst_close(struct inst *in)
{
	lb_worker_destroy(in->w);
	lb_destroy(in->lb);
}

/* Publish 'json'; returns lb_pool_push's result. */
static int push(const char *json, bool if_absent, uint64_t *ver)
{
	char err[256];
	int rc = lb_pool_push(pusher, "lb", json, if_absent, ver, err, sizeof(err));

	cr_assert_geq(rc, 0, "push: %s", err);
	return rc;
}

/* The backend ("a.b.c.d:port") a client packet CLIENT:cport -> VIP:80 is sent to, or "".
 * No Criterion assertion: also called from threads. */
static void send_in(struct inst *in, uint16_t cport, uint8_t flags, char *out, size_t size)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .src = CLIENT, .dst = VIP, .sport = cport,
			      .dport = 80, .tcp_flags = flags };
	struct fake_mbuf fm;
	struct rte_mbuf *m = &fm.m;
	uint8_t verdict;
	char a[INET_ADDRSTRLEN];
	const uint8_t *l4 = fm.data + 14 + 20;

	fake_mbuf_build(&fm, &s);
	lb_process_burst(in->w, NF_PORT_OUTSIDE, &m, 1, &verdict, nf_now_us());
	if (verdict != NF_PORT_INSIDE) {
		snprintf(out, size, "%s", "");
		return;
	}
	inet_ntop(AF_INET, fm.data + 14 + 16, a, sizeof(a));
	snprintf(out, size, "%s:%u", a, l4[2] << 8 | l4[3]);
}

static const char *to_vip(struct inst *in, uint16_t cport, uint8_t flags)
{
	static char buf[4][32];
	static unsigned next;
	char *b = buf[next++ % 4];

	send_in(in, cport, flags, b, 32);
	return b;
}

/* The backend pool 'json' gives a new connection from CLIENT:cport (a private snapshot). */
static const char *choice(const char *json, uint16_t cport)
{
	static char buf[4][32];
	static unsigned next;
	static struct lb_config cfg;
	char *b = buf[next++ % 4], a[INET_ADDRSTRLEN], err[256];
	struct lb_ckey ck = { .dir = LB_DIR_IN, .proto = IPPROTO_TCP, .src_port = htons(cport),
			      .dst_port = htons(80) };
	const struct lb_backend *be;
	struct lb_pool *p;

	lb_config_default(&cfg);
	cr_assert_eq(lb_config_load_string(&cfg, json, err, sizeof(err)), 0, "%s", err);
	p = lb_pool_build(&cfg, 0);
	cr_assert_not_null(p);
	inet_pton(AF_INET, CLIENT, &ck.src_ip);
	inet_pton(AF_INET, VIP, &ck.dst_ip);
	be = lb_pool_choose(p, lb_pool_find(p, ck.dst_ip, ck.dst_port, IPPROTO_TCP), &ck);
	cr_assert_not_null(be);
	inet_ntop(AF_INET, &be->ip, a, sizeof(a));
	snprintf(b, 32, "%s:%u", a, ntohs(be->port));
	lb_pool_free(p);
	return b;
}

/* A client port whose new connection 'a' and 'b' send to different backends, 'a' to
 * 'want_a' when given. */
static uint16_t port_where_pools_differ(const char *a, const char *b, const char *want_a)
{
	for (uint16_t port = 10000; port < 20000; port++) {
		char ca[32];

		snprintf(ca, sizeof(ca), "%s", choice(a, port));
		if (strcmp(ca, choice(b, port)) != 0 && (want_a == NULL || strcmp(ca, want_a) == 0))
			return port;
	}
	cr_assert_fail("no client port where the pools differ");
	return 0;
}

Test(lb_pool, push_if_absent_identical_and_forced)
{
	uint64_t ver = 0;
	char err[256];
	struct store_cfg sc;
	struct store *down;

	cr_assert_eq(push(P1, true, &ver), 1);
	cr_assert_eq(ver, 1);
	cr_assert_eq(push(P2, true, &ver), 0, "a pool exists: left alone");
	cr_assert_eq(ver, 1);
	cr_assert_eq(push(P1, false, &ver), 0, "identical: no new version");
	cr_assert_eq(ver, 1);
	cr_assert_eq(push(P2, false, &ver), 1);
	cr_assert_eq(ver, 2);
	cr_assert_eq(lb_pool_push(pusher, "lb", POOL("{\"address\": \"10.2.0.1\", \"port\": 70000}"),
				  false, &ver, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "pool: services[0].backends[0].port: 70000 is not a port");
	cr_assert_eq(lb_pool_push(pusher, "lb", "{\"services\": [], \"timeouts\": {}}", false, &ver,
				  err, sizeof(err)), -EINVAL, "timeouts are not part of a pool");
	store_cfg_default(&sc);
	sc.port = 1;
	down = store_open(&sc, "test/down");
	cr_assert_eq(lb_pool_push(down, "lb", P1, false, &ver, err, sizeof(err)), -ENOTCONN);
	store_close(down);
}

Test(lb_pool, the_store_pool_wins_and_a_bad_one_is_rejected)
{
	struct inst a;
	redisReply *r;
	uint64_t ver;

	push(P1, true, &ver);
	/* Configured with another pool, the instance follows the store's. */
	inst_open(&a, POOL(BE(9)));
	cr_assert_eq(lb_pool_version(a.lb), 1);
	cr_assert_str_eq(to_vip(&a, 1, 0x02), choice(P1, 1));
	push(POOL(BE(9)), false, &ver);
	cr_assert_eq(lb_pool_sync(a.lb), 0);
	cr_assert_eq(lb_pool_version(a.lb), 2);
	cr_assert_str_eq(to_vip(&a, 2, 0x02), "10.2.0.9:80");
	/* A bad pool in the store: logged, the instance keeps version 2. */
	r = redisCommand(admin, "SET lb:pool %s", "{\"services\": [{\"vip\": \"x\"}]}");
	freeReplyObject(r);
	r = redisCommand(admin, "INCR lb:pool_ver");
	freeReplyObject(r);
	cr_assert_eq(lb_pool_sync(a.lb), -EINVAL);
	cr_assert_eq(lb_pool_version(a.lb), 2);
	cr_assert_str_eq(to_vip(&a, 3, 0x02), "10.2.0.9:80");
	/* The control thread picks the next version up by itself within ~100 ms. */
	push(P2, false, &ver);
	cr_assert_eq(ver, 4);
	for (int i = 0; i < 100 && lb_pool_version(a.lb) != 4; i++)
		usleep(10000);
	cr_assert_eq(lb_pool_version(a.lb), 4);
	inst_close(&a);
}

Test(lb_pool, an_instance_publishes_its_pool_when_the_store_has_none)
{
	struct inst a, b;
	redisReply *r;

	inst_open(&a, P2);
	cr_assert_eq(lb_pool_version(a.lb), 1);
	r = redisCommand(admin, "GET lb:pool_ver");
	cr_assert_str_eq(r->str, "1");
	freeReplyObject(r);
	/* Without a configuration of its own an instance simply follows. */
	inst_open(&b, NULL);
	cr_assert_eq(lb_pool_version(b.lb), 1);
	cr_assert_str_eq(to_vip(&b, 7, 0x02), choice(P2, 7));
	inst_close(&a);
	inst_close(&b);
}

Test(lb_pool, connection_continues_on_its_backend_after_the_pool_changed)
{
	struct inst a, b;
	uint16_t port = port_where_pools_differ(P1, P2, NULL), fresh;
	char be[32];
	uint64_t ver;

	push(P1, true, &ver);
	inst_open(&a, NULL);
	inst_open(&b, NULL);
	snprintf(be, sizeof(be), "%s", to_vip(&a, port, 0x02));
	cr_assert_str_eq(be, choice(P1, port));
	/* The pool gains three backends; with it this connection would map elsewhere. */
	push(P2, false, &ver);
	cr_assert_eq(lb_pool_sync(a.lb), 0);
	cr_assert_eq(lb_pool_sync(b.lb), 0);
	cr_assert_eq(lb_pool_version(b.lb), 2);
	cr_assert_str_neq(choice(P2, port), be);
	/* B never saw the connection: it still follows the stored choice, as does A. */
	cr_assert_str_eq(to_vip(&b, port, 0x10), be);
	cr_assert_str_eq(to_vip(&a, port, 0x10), be);
	/* A new connection uses the new pool, on either instance. */
	for (fresh = 20000; strcmp(choice(P2, fresh), choice(P1, fresh)) == 0; fresh++)
		;
	cr_assert_str_eq(to_vip(&b, fresh, 0x02), choice(P2, fresh));
	cr_assert_str_eq(to_vip(&a, fresh, 0x10), choice(P2, fresh));
	/* The pool loses the backend entirely: the connection still goes there. */
	push(POOL(BE(3) "," BE(4)), false, &ver);
	cr_assert_eq(lb_pool_sync(b.lb), 0);
	cr_assert_str_eq(to_vip(&b, port, 0x10), be);
	inst_close(&a);
	inst_close(&b);
}

Test(lb_pool, drain_sends_no_new_connection_and_keeps_the_old_ones)
{
	const char *all = POOL(BE(1) "," BE(2) "," BE(3));
	const char *drained = POOL(BE(1) "," BE_DRAIN(2) "," BE(3));
	struct inst a, b;
	uint16_t port = port_where_pools_differ(all, drained, "10.2.0.2:80");
	unsigned hits[4] = { 0 };
	uint64_t ver;
	redisReply *r;

	push(all, true, &ver);
	inst_open(&a, NULL);
	inst_open(&b, NULL);
	cr_assert_str_eq(to_vip(&a, port, 0x02), "10.2.0.2:80");
	push(drained, false, &ver);
	cr_assert_eq(lb_pool_sync(a.lb), 0);
	cr_assert_eq(lb_pool_sync(b.lb), 0);
	for (uint16_t p = 30000; p < 30600; p++) {
		const char *be = to_vip(p & 1 ? &a : &b, p, 0x02);

		cr_assert_str_neq(be, "10.2.0.2:80", "new connection %u sent to a draining backend", p);
		cr_assert_eq(strncmp(be, "10.2.0.", 7), 0);
		hits[be[7] - '0']++;
	}
	cr_assert(hits[1] > 200 && hits[3] > 200, "the others share the load: %u %u", hits[1], hits[3]);
	/* The existing connection continues, cached on A and from the store on B. */
	cr_assert_str_eq(to_vip(&a, port, 0x10), "10.2.0.2:80");
	cr_assert_str_eq(to_vip(&b, port, 0x10), "10.2.0.2:80");
	/* The weight was kept: undraining restores the same table. */
	r = redisCommand(admin, "GET lb:pool");
	cr_assert(strstr(r->str, "\"state\":\"drain\"") != NULL, "%s", r->str);
	freeReplyObject(r);
	inst_close(&a);
	inst_close(&b);
}

/* One racer: its instance and the backends it sent flows 0..N_RACE-1 to. */
#define N_RACE 2000
struct racer {
	struct inst *in;
	pthread_barrier_t *start;
	char be[N_RACE][24];
};

static void *race_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	for (unsigned i = 0; i < N_RACE; i++)
		send_in(r->in, (uint16_t)(40000 + i), 0x02, r->be[i], sizeof(r->be[i]));
	return NULL;
}

Test(lb_pool, racing_instances_with_different_pools_agree)
{
	static struct racer ra, rb;
	pthread_barrier_t start;
	pthread_t ta, tb;
	struct inst a, b;
	unsigned differ = 0;
	uint64_t ver;

	push(P1, true, &ver);
	inst_open(&a, NULL);
	inst_open(&b, NULL);
	lb_sync_stop(a.lb);	/* A stays on the old pool */
	push(P2, false, &ver);
	cr_assert_eq(lb_pool_sync(b.lb), 0);
	cr_assert_eq(lb_pool_version(a.lb), 1);
	cr_assert_eq(lb_pool_version(b.lb), 2);
	pthread_barrier_init(&start, NULL, 2);
	ra = (struct racer){ .in = &a, .start = &start };
	rb = (struct racer){ .in = &b, .start = &start };
	pthread_create(&ta, NULL, race_main, &ra);
	pthread_create(&tb, NULL, race_main, &rb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&start);
	for (unsigned i = 0; i < N_RACE; i++) {
		cr_assert_neq(ra.be[i][0], '\0', "flow %u dropped by A", i);
		cr_assert_str_eq(ra.be[i], rb.be[i], "flow %u: A sent it to %s, B to %s", i, ra.be[i], rb.be[i]);
	}
	for (unsigned i = 0; i < N_RACE; i += 50)
		differ += strcmp(choice(P1, (uint16_t)(40000 + i)), choice(P2, (uint16_t)(40000 + i))) != 0;
	cr_assert_gt(differ, 0, "the two pools never disagree: the race proves nothing");
	cr_assert_eq(a.ctr.v[NF_CTR_FLOWS_CREATED] + b.ctr.v[NF_CTR_FLOWS_CREATED], N_RACE);
	inst_close(&a);
	inst_close(&b);
}

static unsigned n_retired(struct lb *lb)
{
	unsigned n = 0;

	pthread_mutex_lock(&lb->lock);
	for (struct lb_pool *p = lb->retired; p != NULL; p = p->next)
		n++;
	pthread_mutex_unlock(&lb->lock);
	return n;
}

Test(lb_pool, replaced_tables_are_freed_once_every_worker_let_go)
{
	struct inst a;
	struct lb_worker *w1;
	struct nf_counters c1;
	char be[32];
	uint64_t ver;

	push(P1, true, &ver);
	inst_open(&a, NULL);
	lb_sync_stop(a.lb);	/* only this test swaps pools */
	w1 = lb_worker_create(a.lb, 1, &c1);
	cr_assert_not_null(w1);
	lb_tick(a.w, nf_now_us());
	lb_tick(w1, nf_now_us());
	push(P2, false, &ver);
	cr_assert_eq(lb_pool_sync(a.lb), 0);
	cr_assert_eq(n_retired(a.lb), 1, "freed while workers may hold it");
	/* Worker 0 passes a quiescent point (a burst), worker 1 not yet. */
	send_in(&a, 1, 0x02, be, sizeof(be));
	lb_pool_sync(a.lb);
	cr_assert_eq(n_retired(a.lb), 1);
	lb_tick(w1, nf_now_us());
	lb_pool_sync(a.lb);
	cr_assert_eq(n_retired(a.lb), 0);
	/* A destroyed worker no longer holds anything back. */
	lb_worker_destroy(w1);
	push(P1, false, &ver);
	lb_pool_sync(a.lb);
	lb_tick(a.w, nf_now_us());
	lb_pool_sync(a.lb);
	cr_assert_eq(n_retired(a.lb), 0);
	inst_close(&a);
}

Test(lb_pool, a_replaced_store_is_read_again_even_at_the_same_version)
{
	struct inst a;
	uint16_t port = port_where_pools_differ(P1, P2, NULL);
	char err[256];
	uint64_t ver = 0;
	int rc = -1;

	push(P1, true, &ver);
	inst_open(&a, NULL);
	cr_assert_str_eq(to_vip(&a, port, 0x02), choice(P1, port));
	/* The store is lost and comes back empty; someone publishes P2, again as version 1. */
	cr_assert_eq(redis_server_kill(&rs), 0);
	redisFree(admin);
	cr_assert_eq(redis_server_restart(&rs), 0);
	admin = redisConnectUnix(rs.unix_path);
	for (int i = 0; i < 200 && rc < 0; i++) {
		rc = lb_pool_push(pusher, "lb", P2, false, &ver, err, sizeof(err));
		if (rc < 0)
			usleep(10000);
	}
	cr_assert_eq(rc, 1, "%s", err);
	cr_assert_eq(ver, 1);
	for (int i = 0; i < 200 && lb_pool_get(a.lb)->n_backends != 5; i++)
		usleep(10000);
	cr_assert_eq(lb_pool_get(a.lb)->n_backends, 5, "the instance kept the pool of the lost store");
	cr_assert_eq(lb_pool_version(a.lb), 1);
	/* A new connection uses the new pool once the worker has reconnected too. */
	for (int i = 0; i < 200; i++) {
		const char *be;

		lb_tick(a.w, nf_now_us());
		be = to_vip(&a, (uint16_t)(port + 1), 0x02);
		if (be[0] != '\0') {
			cr_assert_str_eq(be, choice(P2, (uint16_t)(port + 1)));
			break;
		}
		cr_assert_lt(i, 199, "the worker never reconnected");
		usleep(10000);
	}
	inst_close(&a);
}
