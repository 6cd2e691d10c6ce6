/* The NF runtime: EAL, ports, one poll loop per lcore, heartbeat, clean shutdown (nf_main). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "nf/clock.h"
#include "nf/counters.h"
#include "nf/log.h"
#include "nf/nf.h"
#include "nf/options.h"
#include "nf/port.h"
#include "nf/stats.h"

#define RT_MAX_PORTS 2
#define RT_EXIT_OK 0
#define RT_EXIT_FAIL 1
#define RT_EXIT_USAGE 2
#define RT_IDLE_POLLS 64	/* empty polls in a row before an idle loop starts sleeping */

struct runtime;

/* One poll loop: owns queue 'id' of every port. Written only by its own lcore. */
struct rt_worker {
	struct runtime *rt;
	unsigned id;
	unsigned lcore;
	void *nf_w;			/* the NF's worker (def->worker_create) */
	struct nf_counters *ctr;	/* &rt->ctrs[id] */
	unsigned empty_polls;		/* polls in a row that brought nothing */
	unsigned sleep_us;		/* the next idle sleep (doubles up to --idle-sleep-us) */
} __rte_cache_aligned;

/* Microseconds from the TSC, re-synchronised with CLOCK_MONOTONIC at every tick. */
struct rt_clock {
	uint64_t hz;
	uint64_t base_tsc, base_us;
	uint64_t last_us;		/* never go backwards after a resync */
	uint64_t tick_tsc, next_tick;
};

struct runtime {
	const struct nf_def *def;
	void *nf;			/* NF context (def->create) */
	const char *prog;
	struct nf_opts opts;
	uint16_t n_ports;
	uint16_t eth[RT_MAX_PORTS];	/* NF port index -> ethdev port id */
	struct port_pools pools;
	bool ports_started;
	unsigned n_workers;
	struct nf_counters *ctrs;	/* n_workers blocks, cache aligned */
	struct rt_worker *workers;	/* n_workers */
	struct nf_stats *stats;		/* heartbeat publisher (worker 0), or NULL */
	bool ran;			/* the poll loops ran: print the counters at exit */
	uint64_t idle_rx;		/* rx total at the last change (worker 0) */
	uint64_t idle_since_tsc;
};

static volatile sig_atomic_t rt_quit;

static void rt_on_signal(int sig)
{
	(void)sig;
	rt_quit = 1;
}

/* SIGINT/SIGTERM ask the loops to stop (a second one kills); SIGPIPE is ignored because a
 * store connection may be closed under us. */
static void rt_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rt_on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void clock_sync(struct rt_clock *c, uint64_t tsc)
{
	c->base_tsc = tsc;
	c->base_us = nf_now_us();
	c->next_tick = tsc + c->tick_tsc;
}

static void clock_init(struct rt_clock *c, uint64_t tsc)
{
	memset(c, 0, sizeof(*c));
	c->hz = rte_get_tsc_hz();
	c->tick_tsc = c->hz / 1000 > 0 ? c->hz / 1000 : 1;
	clock_sync(c, tsc);
}

static uint64_t clock_us(struct rt_clock *c, uint64_t tsc)
{
	uint64_t d = tsc - c->base_tsc;
	uint64_t us = c->base_us + d / c->hz * 1000000u + d % c->hz * 1000000u / c->hz;

	if (us < c->last_us)
		us = c->last_us;
	c->last_us = us;
	return us;
}

/* Transmit 'n' packets on NF port 'p'; free what the device did not take. */
static void worker_tx(struct rt_worker *w, uint16_t p, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	if (n == 0)
		return;
	sent = rte_eth_tx_burst(w->rt->eth[p], (uint16_t)w->id, pkts, n);
	nf_ctr_add(w->ctr, NF_CTR_TX, sent);
	if (sent < n) {
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		nf_ctr_add(w->ctr, NF_CTR_TX_FAIL, n - sent);
	}
}

/* Group the burst by output port, send each group, free the dropped packets. */
static void worker_send(struct rt_worker *w, struct rte_mbuf **pkts, const uint8_t *out_ports,
			uint16_t n)
{
	struct rte_mbuf *tx[RT_MAX_PORTS][NF_BURST], *drop[NF_BURST];
	uint16_t n_tx[RT_MAX_PORTS] = { 0 }, n_drop = 0;
	uint16_t n_ports = w->rt->n_ports;

	for (uint16_t i = 0; i < n; i++) {
		uint8_t o = out_ports[i];

		if (o < RT_MAX_PORTS) {
			o = n_ports == 1 ? 0 : o;
			tx[o][n_tx[o]++] = pkts[i];
			continue;
		}
		if (o != NF_VERDICT_DROP)
			NF_LOG_RL(ERR, "runtime", "NF chose output port %u: dropped", o);
		drop[n_drop++] = pkts[i];
	}
	for (uint16_t p = 0; p < n_ports; p++)
		worker_tx(w, p, tx[p], n_tx[p]);
	if (n_drop > 0)
		rte_pktmbuf_free_bulk(drop, n_drop);
}

/* One rx burst from NF port 'p' through the NF and out. Returns packets received. */
static uint16_t worker_poll(struct rt_worker *w, uint16_t p, uint64_t now_us)
{
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t out_ports[NF_BURST];
	uint16_t n = rte_eth_rx_burst(w->rt->eth[p], (uint16_t)w->id, pkts, NF_BURST);

	if (n == 0)
		return 0;
	nf_ctr_add(w->ctr, NF_CTR_RX, n);
	w->rt->def->process_burst(w->nf_w, p, pkts, n, out_ports, now_us);
	worker_send(w, pkts, out_ports, n);
	return n;
}

/* --idle-exit-ms: once packets arrived, stop after that long without a new one. */
static void rt_idle_check(struct runtime *rt, uint64_t tsc, uint64_t hz)
{
	uint64_t rx = 0;

	if (rt->opts.idle_exit_ms == 0)
		return;
	for (unsigned i = 0; i < rt->n_workers; i++)
		rx += __atomic_load_n(&rt->ctrs[i].v[NF_CTR_RX], __ATOMIC_RELAXED);
	if (rx != rt->idle_rx) {
		rt->idle_rx = rx;
		rt->idle_since_tsc = tsc;
		return;
	}
	if (rx > 0 && tsc - rt->idle_since_tsc > (uint64_t)rt->opts.idle_exit_ms * hz / 1000) {
		NF_LOG(INFO, "runtime", "no packet for %u ms: exiting", rt->opts.idle_exit_ms);
		rt_quit = 1;
	}
}

/* About every millisecond: the NF's timers; on worker 0 also heartbeat and idle exit. */
static void worker_tick(struct rt_worker *w, struct rt_clock *c, uint64_t tsc)
{
	uint64_t now_us;

	clock_sync(c, tsc);
	now_us = clock_us(c, tsc);
	if (w->rt->def->tick != NULL)
		w->rt->def->tick(w->nf_w, now_us);
	if (w->id != 0)
		return;
	nf_stats_poll(w->rt->stats, now_us);
	rt_idle_check(w->rt, tsc, c->hz);
}

/* --idle-sleep-us: after RT_IDLE_POLLS empty polls in a row the loop sleeps, 1 us first,
 * doubling up to the limit while nothing comes; the first packet resets it. A pure
 * busy-poll loop starves the switch and the other instances of a shared CPU (the idea of
 * OVS's pmd-maxsleep); the cost is up to one sleep of latency after a quiet spell. */
static void worker_idle(struct rt_worker *w, unsigned n)
{
	unsigned max = w->rt->opts.idle_sleep_us;
	struct timespec ts;

	if (n > 0 || max == 0) {
		w->empty_polls = 0;
		w->sleep_us = 0;
		return;
	}
	if (++w->empty_polls < RT_IDLE_POLLS)
		return;
	w->sleep_us = w->sleep_us == 0 ? 1 : RTE_MIN(w->sleep_us * 2, max);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)w->sleep_us * 1000;
	nanosleep(&ts, NULL);
}

/* The poll loop of one lcore (rte_eal_remote_launch signature). */
static int worker_loop(void *arg)
{
	struct rt_worker *w = arg;
	uint64_t prev = rte_rdtsc(), t;
	struct rt_clock clk;
	unsigned n;

	clock_init(&clk, prev);
	if (w->rt->opts.idle_sleep_us > 0)
		prctl(PR_SET_TIMERSLACK, 1000UL);	/* 1 us: short sleeps stay short */
	while (!rt_quit) {
		uint64_t now_us = clock_us(&clk, prev);

		n = 0;
		for (uint16_t p = 0; p < w->rt->n_ports; p++)
			n += worker_poll(w, p, now_us);
		worker_idle(w, n);
		t = rte_rdtsc();
		nf_ctr_add(w->ctr, n > 0 ? NF_CTR_BUSY_CYCLES : NF_CTR_IDLE_CYCLES, t - prev);
		prev = t;
		if (t >= clk.next_tick)
			worker_tick(w, &clk, t);
	}
	return 0;
}

/* EAL from the arguments before '--'; on return argv[0] is the program name and the rest
 * are the NF's options. Returns an exit status. */
static int eal_init(struct runtime *rt, int *argc, char ***argv)
{
	const char *slash = strrchr((*argv)[0], '/');
	int ret;

	rt->prog = slash != NULL ? slash + 1 : (*argv)[0];
	ret = rte_eal_init(*argc, *argv);
	if (ret < 0) {
		fprintf(stderr, "%s: EAL: %s\n", rt->prog, rte_strerror(rte_errno));
		return rte_errno == EINVAL ? RT_EXIT_USAGE : RT_EXIT_FAIL;
	}
	*argc -= ret;
	*argv += ret;
	return RT_EXIT_OK;
}

/* NF context, options and the NF's own validation. '*done' is set after --help. */
static int nf_setup(struct runtime *rt, int argc, char **argv, bool *done)
{
	char err[256] = "";
	int ret;

	rt->nf = rt->def->create != NULL ? rt->def->create() : NULL;
	if (rt->def->create != NULL && rt->nf == NULL) {
		fprintf(stderr, "%s: cannot create the %s context\n", rt->prog, rt->def->name);
		return RT_EXIT_FAIL;
	}
	ret = nf_options_parse(argc, argv, rt->def, rt->nf, &rt->opts, err, sizeof(err));
	if (ret == 1) {
		*done = true;
		return RT_EXIT_OK;
	}
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", rt->prog, err);
		return RT_EXIT_USAGE;
	}
	if (rt->def->configure != NULL &&
	    rt->def->configure(rt->nf, &rt->opts, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", rt->prog, err);
		return RT_EXIT_USAGE;
	}
	return RT_EXIT_OK;
}

/* Two ports (inside = ethdev 0, outside = ethdev 1), or one with --one-armed. */
static int ports_check(struct runtime *rt)
{
	uint16_t want = rt->opts.one_armed ? 1 : 2, n = 0, port_id;

	RTE_ETH_FOREACH_DEV(port_id) {
		if (n < RT_MAX_PORTS)
			rt->eth[n] = port_id;
		n++;
	}
	if (n == want) {
		rt->n_ports = n;
		return RT_EXIT_OK;
	}
	if (rt->opts.one_armed)
		fprintf(stderr, "%s: --one-armed needs exactly 1 port, found %u\n", rt->prog, n);
	else
		fprintf(stderr, "%s: needs exactly 2 ports (port 0 inside, port 1 outside), "
			"found %u (use --one-armed for 1)\n", rt->prog, n);
	return RT_EXIT_USAGE;
}

static int mempool_init(struct runtime *rt)
{
	char err[256];

	if (port_pools_create(&rt->pools, rt->eth, rt->n_ports, rt->opts.n_mbufs, err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", rt->prog, err);
		return RT_EXIT_FAIL;
	}
	return RT_EXIT_OK;
}

static int ports_init(struct runtime *rt)
{
	char err[256];
	int ret;

	rt->ports_started = true;
	for (uint16_t p = 0; p < rt->n_ports; p++) {
		ret = port_init(rt->eth[p], port_pool_of(&rt->pools, rt->eth[p]),
				(uint16_t)rt->n_workers, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "%s: %s\n", rt->prog, err);
			return ret == -EINVAL ? RT_EXIT_USAGE : RT_EXIT_FAIL;
		}
	}
	return RT_EXIT_OK;
}

/* Counters and one NF worker per lcore: worker 0 on the main lcore. */
static int workers_init(struct runtime *rt)
{
	unsigned lcore, i = 1;

	rt->n_workers = rte_lcore_count();
	rt->ctrs = rte_zmalloc("nf_counters", rt->n_workers * sizeof(*rt->ctrs),
			       RTE_CACHE_LINE_SIZE);
	rt->workers = rte_zmalloc("nf_workers", rt->n_workers * sizeof(*rt->workers),
				  RTE_CACHE_LINE_SIZE);
	if (rt->ctrs == NULL || rt->workers == NULL) {
		fprintf(stderr, "%s: out of memory for %u workers\n", rt->prog, rt->n_workers);
		return RT_EXIT_FAIL;
	}
	rt->workers[0].lcore = rte_get_main_lcore();
	RTE_LCORE_FOREACH_WORKER(lcore)
		rt->workers[i++].lcore = lcore;
	for (i = 0; i < rt->n_workers; i++) {
		rt->workers[i].rt = rt;
		rt->workers[i].id = i;
		rt->workers[i].ctr = &rt->ctrs[i];
	}
	return RT_EXIT_OK;
}

static int nf_workers_create(struct runtime *rt)
{
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct rt_worker *w = &rt->workers[i];

		w->nf_w = rt->def->worker_create(rt->nf, i, w->ctr);
		if (w->nf_w == NULL) {
			fprintf(stderr, "%s: cannot create %s worker %u\n", rt->prog,
				rt->def->name, i);
			return RT_EXIT_FAIL;
		}
	}
	return RT_EXIT_OK;
}

static void stats_init(struct runtime *rt)
{
	if (rt->opts.stats_interval_ms == 0)
		return;
	rt->stats = nf_stats_create(&rt->opts, rt->def->name, rt->ctrs, rt->n_workers);
	if (rt->stats == NULL)
		NF_LOG(WARN, "runtime", "heartbeat publishing disabled: cannot create publisher");
}

/* Everything between the options and the poll loops. Returns an exit status. */
static int rt_setup(struct runtime *rt)
{
	int ret = ports_check(rt);

	if (ret == RT_EXIT_OK)
		ret = workers_init(rt);
	if (ret == RT_EXIT_OK)
		ret = mempool_init(rt);
	if (ret == RT_EXIT_OK)
		ret = ports_init(rt);
	if (ret == RT_EXIT_OK)
		ret = nf_workers_create(rt);
	if (ret == RT_EXIT_OK)
		stats_init(rt);
	return ret;
}

/* Launch the poll loops (worker 0 here) and wait for all of them. */
static void run(struct runtime *rt)
{
	NF_LOG(INFO, "runtime", "%s %s running: %u worker%s, %u port%s, mode %s", rt->def->name,
	       rt->opts.id, rt->n_workers, rt->n_workers == 1 ? "" : "s", rt->n_ports,
	       rt->n_ports == 1 ? " (one-armed)" : "s", nf_mode_name(rt->opts.mode));
	for (unsigned i = 1; i < rt->n_workers; i++) {
		int ret = rte_eal_remote_launch(worker_loop, &rt->workers[i], rt->workers[i].lcore);

		if (ret < 0) {
			NF_LOG(ERR, "runtime", "cannot launch worker %u on lcore %u: %s", i,
			       rt->workers[i].lcore, strerror(-ret));
			rt_quit = 1;
		}
	}
	worker_loop(&rt->workers[0]);
	rte_eal_mp_wait_lcore();
	NF_LOG(INFO, "runtime", "%s %s stopping", rt->def->name, rt->opts.id);
}

static void print_counters(const struct runtime *rt)
{
	struct nf_counters sum;

	nf_counters_sum(rt->ctrs, rt->n_workers, &sum);
	nf_counters_print(stdout, "counter ", &sum);
	fflush(stdout);
}

/* Undo whatever rt_setup and nf_setup did, in reverse order. The workers go first: they
 * flush pending writes and may still count. */
static void rt_teardown(struct runtime *rt)
{
	for (unsigned i = 0; rt->workers != NULL && i < rt->n_workers; i++)
		if (rt->workers[i].nf_w != NULL && rt->def->worker_destroy != NULL)
			rt->def->worker_destroy(rt->workers[i].nf_w);
	nf_stats_destroy(rt->stats);
	if (rt->ports_started)
		port_stop_all();
	port_pools_free(&rt->pools);
	if (rt->ran)
		print_counters(rt);
	if (rt->nf != NULL && rt->def->destroy != NULL)
		rt->def->destroy(rt->nf);
	rte_free(rt->workers);
	rte_free(rt->ctrs);
}

int nf_main(int argc, char **argv, const struct nf_def *def)
{
	struct runtime rt = { .def = def };
	bool done = false;
	int ret = eal_init(&rt, &argc, &argv);

	if (ret != RT_EXIT_OK)
		return ret;
	rt_signals_init();
	ret = nf_setup(&rt, argc, argv, &done);
	if (ret == RT_EXIT_OK && !done)
		ret = rt_setup(&rt);
	if (ret == RT_EXIT_OK && !done) {
		run(&rt);
		rt.ran = true;
	}
	rt_teardown(&rt);
	rte_eal_cleanup();
	return ret;
}
