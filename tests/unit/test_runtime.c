/* Tests of the NF runtime (nf/runtime.c, options.c, port.c, stats.c) through build/tests/nf-passthru. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "nf/clock.h"
#include "tests/harness/golden.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define EXIT_WAIT_MS 20000	/* a pcap run or a SIGTERM must end well within this */
#define READY_WAIT_MS 20000

static char dir[64];		/* per-test temporary directory */
static struct redis_server rs;	/* started by the heartbeat tests only */
static struct nfproc run;	/* the NF of the current test (killed by .fini if alive) */

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000u);
}

static uint64_t mono_ms(void)
{
	return nf_now_us() / 1000u;
}

static void setup(void)
{
	int rc = tmpdir_make("snf-runtime", dir, sizeof(dir));

	cr_assert_eq(rc, 0, "mkdtemp: %s", strerror(-rc));
	memset(&run, 0, sizeof(run));
	memset(&rs, 0, sizeof(rs));
}

static void teardown(void)
{
	nfproc_kill(&run);
	if (rs.pid > 0 || rs.dir[0] != '\0')
		redis_server_stop(&rs);
	tmpdir_remove(dir);
}

TestSuite(runtime, .init = setup, .fini = teardown, .timeout = 60);

/* 'name' inside the test directory. */
static const char *path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

/* Packet 'i' of stream 'seed': Ethernet + IPv4 + UDP headers, varied sizes and contents. */
static void pkt_make(struct golden_pkt *p, unsigned seed, unsigned i)
{
	static const unsigned char hdr[] = {
		0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,	/* Ethernet */
		0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0,			/* IPv4 */
		10, 0, 0, 1, 192, 0, 2, 1,
	};

	p->size = 60 + (seed * 131 + i * 97) % 1400;
	for (unsigned j = 0; j < p->size; j++)
		p->data[j] = (unsigned char)(seed * 7 + i * 13 + j);
	memcpy(p->data, hdr, sizeof(hdr));
	p->data[sizeof(hdr) - 1] = (unsigned char)i;	/* distinct destinations */
}

static void pkts_make(struct golden_pkts *ps, unsigned seed, unsigned n)
{
	ps->n = n;
	for (unsigned i = 0; i < n; i++)
		pkt_make(&ps->p[i], seed, i);
}

static void pcap_write(const char *file, const struct golden_pkts *ps)
{
	int rc = golden_pcap_write(file, ps);

	cr_assert_eq(rc, 0, "%s: %s", file, strerror(-rc));
}

/* The packets in pcap 'file' are exactly 'want', in order, byte for byte. */
static void expect_pcap(const char *file, const struct golden_pkts *want)
{
	static struct golden_pkts got;
	char msg[512];

	cr_assert_eq(golden_pcap_read(file, &got, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(golden_diff(&got, want, msg, sizeof(msg)), 0, "%s: %s", file, msg);
}

/* Start nf-passthru on 'n_ports' ports (<dir>/in<N>.pcap in, <dir>/out<N>.pcap out) with
 * the NF options 'nf_fmt' (printf format, split on spaces). */
static void nf_spawn(unsigned n_ports, const char *nf_fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void nf_spawn(unsigned n_ports, const char *nf_fmt, ...)
{
	static char exe[PATH_MAX], rx[NFPROC_MAX_PORTS][PATH_MAX], tx[NFPROC_MAX_PORTS][PATH_MAX];
	struct nfproc_cfg cfg = { .exe = exe, .dir = dir, .name = "nf", .n_ports = n_ports };
	char nf_args[2048];
	va_list ap;
	int rc;

	cr_assert_eq(nfproc_build_path("tests/nf-passthru", exe, sizeof(exe)), 0);
	cr_assert(access(exe, X_OK) == 0, "%s: %s (make build/tests/nf-passthru)", exe,
		  strerror(errno));
	for (unsigned i = 0; i < n_ports; i++) {
		snprintf(rx[i], PATH_MAX, "%s/in%u.pcap", dir, i);
		snprintf(tx[i], PATH_MAX, "%s/out%u.pcap", dir, i);
		cfg.rx[i] = rx[i];
		cfg.tx[i] = tx[i];
	}
	va_start(ap, nf_fmt);
	vsnprintf(nf_args, sizeof(nf_args), nf_fmt, ap);
	va_end(ap);
	rc = nfproc_start(&run, &cfg, "%s", nf_args);
	cr_assert_eq(rc, 0, "cannot start %s: %s", exe, strerror(-rc));
}

/* Wait up to 'ms' for the NF to exit. Returns true when it did (status in run.status). */
static bool nf_wait(unsigned ms)
{
	return nfproc_wait(&run, ms) == 0;
}

/* Wait for the NF to exit by itself and return its exit status. */
static int nf_exit_status(void)
{
	cr_assert(nf_wait(EXIT_WAIT_MS), "nf-passthru did not exit within %u ms", EXIT_WAIT_MS);
	cr_assert(WIFEXITED(run.status), "nf-passthru died of signal %d", WTERMSIG(run.status));
	return WEXITSTATUS(run.status);
}

/* Wait until the NF says it is running (its signal handlers are installed by then). */
static void nf_wait_ready(void)
{
	int rc = nfproc_wait_log(&run, " running: ", READY_WAIT_MS);

	cr_assert_neq(rc, -ECHILD, "nf-passthru exited early:\n%s", nfproc_slurp(run.err));
	cr_assert_eq(rc, 0, "nf-passthru not running after %u ms", READY_WAIT_MS);
}

static void expect_clean_exit(void)
{
	int st = nf_exit_status();

	cr_assert_eq(st, 0, "exit status %d, stderr:\n%s", st, nfproc_slurp(run.err));
}

Test(runtime, two_ports_forward_to_the_other_port, .timeout = 60)
{
	static struct golden_pkts in0, in1;

	pkts_make(&in0, 1, 20);
	pkts_make(&in1, 2, 7);
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	nf_spawn(2, "--idle-exit-ms 300 --stats-interval-ms 0 --mode local");
	expect_clean_exit();
	expect_pcap(path("out1.pcap"), &in0);
	expect_pcap(path("out0.pcap"), &in1);
	cr_expect_eq(nfproc_counter(&run, "rx"), 27);
	cr_expect_eq(nfproc_counter(&run, "tx"), 27);
	cr_expect_eq(nfproc_counter(&run, "tx_fail"), 0);
	cr_expect_gt(nfproc_counter(&run, "busy_cycles"), 0);
	cr_expect_gt(nfproc_counter(&run, "idle_cycles"), 0);
}

Test(runtime, one_armed_sends_back_out_port_0, .timeout = 60)
{
	static struct golden_pkts in0;

	pkts_make(&in0, 3, 33);
	pcap_write(path("in0.pcap"), &in0);
	nf_spawn(1, "--one-armed --idle-exit-ms 300 --stats-interval-ms 0 --mode local");
	expect_clean_exit();
	expect_pcap(path("out0.pcap"), &in0);
	cr_expect_eq(nfproc_counter(&run, "rx"), 33);
	cr_expect_eq(nfproc_counter(&run, "tx"), 33);
}

Test(runtime, drop_verdicts_are_freed_and_counted, .timeout = 60)
{
	static struct golden_pkts in0, in1, want;

	pkts_make(&in0, 4, 10);
	in1.n = 0;
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	want.n = 0;
	for (unsigned i = 0; i < in0.n; i++)
		if ((i + 1) % 3 != 0)
			want.p[want.n++] = in0.p[i];
	nf_spawn(2, "--drop-every 3 --idle-exit-ms 300 --stats-interval-ms 0 --mode local");
	expect_clean_exit();
	expect_pcap(path("out1.pcap"), &want);
	expect_pcap(path("out0.pcap"), &in1);
	cr_expect_eq(nfproc_counter(&run, "rx"), 10);
	cr_expect_eq(nfproc_counter(&run, "tx"), 7);
	cr_expect_eq(nfproc_counter(&run, "drop_policy"), 3);
}

/* Bad command lines: exit status 2, a message naming the culprit, no counters. */
struct bad_case {
	unsigned n_ports;
	const char *args;
	const char *message;
};

static const struct bad_case bad_cases[] = {
	{ 2, "--mbufs abc", "--mbufs: 'abc' is not a number" },
	{ 2, "--mbufs 12x", "--mbufs: '12x' is not a number" },
	{ 2, "--mbufs 5", "--mbufs: 5 is out of range" },
	{ 2, "--idle-exit-ms -1", "--idle-exit-ms: '-1' is not a number" },
	{ 2, "--idle-sleep-us 1001", "--idle-sleep-us: 1001 is out of range" },
	{ 2, "--stats-interval-ms 99999999999999999999", "--stats-interval-ms" },
	{ 2, "--store-timeout-ms 0", "--store-timeout-ms" },
	{ 2, "--mode bogus", "--mode: 'bogus'" },
	{ 2, "--log-level loud", "--log-level: 'loud'" },
	{ 2, "--store 127.0.0.1:99999", "--store" },
	{ 2, "--id a/b", "--id" },
	{ 2, "--no-such-option", "--no-such-option: unknown option" },
	{ 2, "--mbufs", "--mbufs: missing argument" },
	{ 2, "stray", "'stray': unexpected argument" },
	{ 2, "--drop-every x", "--drop-every: 'x'" },
	{ 2, "--one-armed", "--one-armed needs exactly 1 port, found 2" },
	{ 1, "", "needs exactly 2 ports" },
	{ 0, "", "found 0" },
};

Test(runtime, bad_options_exit_2_naming_the_option, .timeout = 60)
{
	static struct golden_pkts in;

	pkts_make(&in, 5, 2);
	pcap_write(path("in0.pcap"), &in);
	pcap_write(path("in1.pcap"), &in);
	for (unsigned i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int st;

		nf_spawn(c->n_ports, "--idle-exit-ms 100 --stats-interval-ms 0 --mode local %s",
			 c->args);
		st = nf_exit_status();
		cr_expect_eq(st, 2, "'%s': exit status %d, expected 2", c->args, st);
		cr_expect(nfproc_file_has(run.err, c->message), "'%s': stderr lacks \"%s\":\n%s", c->args,
			  c->message, nfproc_slurp(run.err));
		cr_expect(!nfproc_file_has(run.out, "counter "), "'%s': counters printed", c->args);
	}
}

Test(runtime, help_exits_0_with_usage, .timeout = 60)
{
	nf_spawn(2, "--help");
	cr_assert_eq(nf_exit_status(), 0);
	cr_expect(nfproc_file_has(run.out, "usage:"));
	cr_expect(nfproc_file_has(run.out, "--mbufs"));
	cr_expect(nfproc_file_has(run.out, "--drop-every"), "NF usage missing:\n%s", nfproc_slurp(run.out));
}

Test(runtime, sigterm_exits_0_promptly_with_counters, .timeout = 60)
{
	static struct golden_pkts in0, in1;
	uint64_t t0;

	pkts_make(&in0, 6, 15);
	pkts_make(&in1, 7, 4);
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	nf_spawn(2, "--stats-interval-ms 0 --mode local");
	nf_wait_ready();
	sleep_ms(300);	/* reads both pcaps to the end, then idles */
	t0 = mono_ms();
	cr_assert_eq(kill(run.pid, SIGTERM), 0);
	cr_assert(nf_wait(5000), "still running 5 s after SIGTERM");
	cr_assert(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0, "status %#x",
		  run.status);
	cr_expect_lt(mono_ms() - t0, 2000, "took %llu ms to exit",
		     (unsigned long long)(mono_ms() - t0));
	cr_expect_eq(nfproc_counter(&run, "rx"), 19);
	cr_expect_eq(nfproc_counter(&run, "tx"), 19);
	expect_pcap(path("out1.pcap"), &in0);
	expect_pcap(path("out0.pcap"), &in1);
}

Test(runtime, idle_exit_waits_for_a_first_packet, .timeout = 60)
{
	static struct golden_pkts none;

	none.n = 0;
	pcap_write(path("in0.pcap"), &none);
	pcap_write(path("in1.pcap"), &none);
	nf_spawn(2, "--idle-exit-ms 50 --stats-interval-ms 0 --mode local");
	nf_wait_ready();
	cr_assert(!nf_wait(500), "exited without ever seeing a packet");
	kill(run.pid, SIGINT);
	cr_assert(nf_wait(5000), "still running 5 s after SIGINT");
	cr_assert(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
}

/* CPU time (user + system) of process 'pid' so far, in clock ticks. */
static unsigned long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* after the command name: state, then fields 4.. */
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st),
		     2);
	return ut + st;
}

/* CPU ticks an idle nf-passthru spends over one second with NF options 'args'. */
static unsigned long idle_cpu_ticks(const char *args)
{
	unsigned long t0;

	nf_spawn(2, "--stats-interval-ms 0 --mode local %s", args);
	nf_wait_ready();
	sleep_ms(300);	/* reads both pcaps to the end, then idles */
	t0 = proc_cpu_ticks(run.pid);
	sleep_ms(1000);
	t0 = proc_cpu_ticks(run.pid) - t0;
	cr_assert_eq(kill(run.pid, SIGTERM), 0);
	expect_clean_exit();
	return t0;
}

/* --idle-sleep-us: everything is still forwarded, and an idle loop gives its CPU away
 * (busy polling takes the whole CPU; measured side by side, the bound is loose). */
Test(runtime, idle_sleep_forwards_and_frees_the_cpu, .timeout = 60)
{
	static struct golden_pkts in0, in1;
	unsigned long busy, sleepy;
	long hz = sysconf(_SC_CLK_TCK);

	pkts_make(&in0, 8, 40);
	pkts_make(&in1, 9, 3);
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	sleepy = idle_cpu_ticks("--idle-sleep-us 1000");
	expect_pcap(path("out1.pcap"), &in0);
	expect_pcap(path("out0.pcap"), &in1);
	cr_expect_eq(nfproc_counter(&run, "rx"), 43);
	busy = idle_cpu_ticks("--idle-sleep-us 0");
	cr_log_info("idle for 1 s: %lu CPU ticks busy-polling, %lu with --idle-sleep-us 1000 "
		    "(%ld ticks a second)", busy, sleepy, hz);
	cr_expect_lt(sleepy, (unsigned long)hz / 4, "an idle NF with --idle-sleep-us 1000 used %lu "
		     "of %ld CPU ticks in a second", sleepy, hz);
	cr_expect_gt(busy, sleepy);
}

Test(runtime, store_down_does_not_hurt_forwarding, .timeout = 60)
{
	static struct golden_pkts in0, in1;

	pkts_make(&in0, 8, 12);
	pkts_make(&in1, 9, 3);
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	/* Nothing listens on port 1 of the loopback: every connect is refused at once. */
	nf_spawn(2, "--idle-exit-ms 300 --stats-interval-ms 10 --store 127.0.0.1:1 --mode local");
	expect_clean_exit();
	expect_pcap(path("out1.pcap"), &in0);
	expect_pcap(path("out0.pcap"), &in1);
	cr_expect_eq(nfproc_counter(&run, "rx"), 15);
}

/* HGET 'field' of 'key' into 'buf' ("" when absent). */
static void hget(redisContext *c, const char *key, const char *field, char *buf, size_t size)
{
	redisReply *r = redisCommand(c, "HGET %s %s", key, field);

	cr_assert_not_null(r, "HGET: %s", c->errstr);
	snprintf(buf, size, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
}

static long long redis_int(redisContext *c, const char *fmt, const char *a, const char *b)
{
	redisReply *r = redisCommand(c, fmt, a, b);
	long long v;

	cr_assert_not_null(r, "%s: %s", fmt, c->errstr);
	v = r->type == REDIS_REPLY_INTEGER ? r->integer :
	    r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
	freeReplyObject(r);
	return v;
}

/* Wait until snf:inst:<id> has field 'field' equal to 'want'. */
static void wait_field(redisContext *c, const char *key, const char *field, const char *want)
{
	uint64_t end = mono_ms() + 10000;
	char v[128];

	do {
		hget(c, key, field, v, sizeof(v));
		if (strcmp(v, want) == 0)
			return;
		sleep_ms(20);
	} while (mono_ms() < end);
	cr_assert_fail("%s %s is '%s', expected '%s'", key, field, v, want);
}

Test(runtime, heartbeat_published_and_removed_on_exit, .timeout = 60)
{
	static struct golden_pkts in0, in1;
	char url[128], id[64], key[96], v[128], seq1[32];
	redisContext *c;

	cr_assert_eq(redis_server_start(&rs, NULL), 0, "cannot start redis-server");
	redis_server_url(&rs, url, sizeof(url));
	snprintf(id, sizeof(id), "rt-test-%ld", (long)getpid());
	snprintf(key, sizeof(key), "snf:inst:%s", id);
	pkts_make(&in0, 10, 9);
	pkts_make(&in1, 11, 2);
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	nf_spawn(2, "--stats-interval-ms 50 --store %s --id %s --mode cached", url, id);
	nf_wait_ready();
	c = redisConnect("127.0.0.1", rs.port);
	cr_assert(c != NULL && c->err == 0, "connect to redis");

	wait_field(c, key, "rx", "11");
	wait_field(c, key, "nf", "passthru");
	hget(c, key, "ts_ms", v, sizeof(v));
	cr_expect_gt(strtoull(v, NULL, 10), 1600000000000ull, "ts_ms '%s'", v);
	hget(c, key, "mode", v, sizeof(v));
	cr_expect_str_eq(v, "cached");
	hget(c, key, "ns", v, sizeof(v));
	cr_expect_str_eq(v, "passthru");
	hget(c, key, "tx", v, sizeof(v));
	cr_expect_str_eq(v, "11");
	hget(c, key, "busy", v, sizeof(v));
	cr_expect(strlen(v) == 5 && v[1] == '.', "busy '%s'", v);
	hget(c, key, "pid", v, sizeof(v));
	cr_expect_eq(strtol(v, NULL, 10), run.pid);
	hget(c, key, "seq", seq1, sizeof(seq1));
	cr_expect_gt(redis_int(c, "PTTL %s", key, NULL), 0, "no expiry on %s", key);
	cr_expect_gt(redis_int(c, "ZSCORE %s %s", "snf:heartbeats", id), 1600000000000ll);
	sleep_ms(200);
	hget(c, key, "seq", v, sizeof(v));
	cr_expect_gt(strtoull(v, NULL, 10), strtoull(seq1, NULL, 10), "seq did not advance");

	kill(run.pid, SIGTERM);
	cr_assert(nf_wait(5000), "still running 5 s after SIGTERM");
	cr_assert(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	cr_expect_eq(redis_int(c, "EXISTS %s", key, NULL), 0, "%s left behind", key);
	cr_expect_eq(redis_int(c, "ZSCORE %s %s", "snf:heartbeats", id), -1,
		     "heartbeat entry left behind");
	cr_expect_eq(nfproc_counter(&run, "rx"), 11);
	redisFree(c);
}
