/* Tests of the NF runtime (nf/runtime.c, options.c, port.c, stats.c) through build/tests/nf-passthru. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pcap/pcap.h>

#include "tests/harness/redis_server.h"

#define EAL_ARGS "--no-huge -m 256 --no-pci --no-shconf --no-telemetry -l 0 --log-level=error"
#define MAX_PKTS 64
#define MAX_PKT_SIZE 1514
#define MAX_ARGS 64
#define EXIT_WAIT_MS 20000	/* a pcap run or a SIGTERM must end well within this */
#define READY_WAIT_MS 20000

struct pkt {
	unsigned size;
	unsigned char data[MAX_PKT_SIZE];
};

/* One packet list: what a pcap holds, or should hold. */
struct pkts {
	unsigned n;
	struct pkt p[MAX_PKTS];
};

/* A spawned nf-passthru: its stdout and stderr go to files in the test directory. */
struct nf_run {
	pid_t pid;
	int status;		/* waitpid status once reaped */
	char out[PATH_MAX];
	char err[PATH_MAX];
};

static char dir[64];		/* per-test temporary directory */
static struct redis_server rs;	/* started by the heartbeat tests only */
static struct nf_run run;	/* the NF of the current test (killed by .fini if alive) */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/snf-runtime-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	memset(&run, 0, sizeof(run));
	memset(&rs, 0, sizeof(rs));
}

static void teardown(void)
{
	if (run.pid > 0) {
		kill(run.pid, SIGKILL);
		waitpid(run.pid, NULL, 0);
	}
	if (rs.pid > 0 || rs.dir[0] != '\0')
		redis_server_stop(&rs);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
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
static void pkt_make(struct pkt *p, unsigned seed, unsigned i)
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

static void pkts_make(struct pkts *ps, unsigned seed, unsigned n)
{
	ps->n = n;
	for (unsigned i = 0; i < n; i++)
		pkt_make(&ps->p[i], seed, i);
}

static void pcap_write(const char *file, const struct pkts *ps)
{
	pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(pd, file);

	cr_assert_not_null(d, "pcap_dump_open %s: %s", file, pcap_geterr(pd));
	for (unsigned i = 0; i < ps->n; i++) {
		struct pcap_pkthdr h = { .ts = { .tv_sec = 1, .tv_usec = i },
					 .caplen = ps->p[i].size, .len = ps->p[i].size };

		pcap_dump((u_char *)d, &h, ps->p[i].data);
	}
	pcap_dump_close(d);
	pcap_close(pd);
}

static void pcap_read(const char *file, struct pkts *ps)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(file, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;

	cr_assert_not_null(p, "pcap_open_offline %s: %s", file, errbuf);
	ps->n = 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		cr_assert_lt(ps->n, MAX_PKTS, "%s: too many packets", file);
		cr_assert_leq(h->caplen, MAX_PKT_SIZE);
		cr_assert_eq(h->caplen, h->len, "%s: packet %u truncated", file, ps->n);
		ps->p[ps->n].size = h->caplen;
		memcpy(ps->p[ps->n].data, data, h->caplen);
		ps->n++;
	}
	pcap_close(p);
}

/* The packets in pcap 'file' are exactly 'want', in order, byte for byte. */
static void expect_pcap(const char *file, const struct pkts *want)
{
	static struct pkts got;

	pcap_read(file, &got);
	cr_assert_eq(got.n, want->n, "%s: %u packets, expected %u", file, got.n, want->n);
	for (unsigned i = 0; i < want->n; i++) {
		cr_assert_eq(got.p[i].size, want->p[i].size, "%s: packet %u is %u bytes, expected %u",
			     file, i, got.p[i].size, want->p[i].size);
		cr_assert(memcmp(got.p[i].data, want->p[i].data, want->p[i].size) == 0,
			  "%s: packet %u differs", file, i);
	}
}

/* "--vdev=net_pcapN,rx_pcap=<dir>/inN.pcap,tx_pcap=<dir>/outN.pcap" for 'n' ports. */
static void vdevs(char *buf, size_t size, unsigned n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len,
					"%s--vdev=net_pcap%u,rx_pcap=%s/in%u.pcap,tx_pcap=%s/out%u.pcap",
					i ? " " : "", i, dir, i, dir, i);
}

/* Directory of this test binary: nf-passthru is built next to it. */
static void passthru_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	cr_assert_gt(n, 0, "readlink /proc/self/exe: %s", strerror(errno));
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	cr_assert_not_null(slash);
	snprintf(slash + 1, size - (size_t)(slash + 1 - buf), "nf-passthru");
	cr_assert(access(buf, X_OK) == 0, "%s: %s (make build/tests/nf-passthru)", buf,
		  strerror(errno));
}

/* Split 'line' (modified) on spaces into 'argv' from index 'n'; returns the new count. */
static int split_args(char *line, char **argv, int n)
{
	for (char *tok = strtok(line, " "); tok != NULL; tok = strtok(NULL, " ")) {
		cr_assert_lt(n, MAX_ARGS - 1);
		argv[n++] = tok;
	}
	return n;
}

/* In the child: output to files, die with the test, exec. Never returns. */
static void child_exec(const struct nf_run *r, char **argv)
{
	int out = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int err = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (out < 0 || err < 0)
		_exit(127);
	dup2(out, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	execv(argv[0], argv);
	_exit(127);
}

/* Start nf-passthru with EAL_ARGS, 'n_ports' pcap ports and the NF options 'nf_args'
 * (printf format, split on spaces). */
static void nf_spawn(unsigned n_ports, const char *nf_fmt, ...)
{
	static char exe[PATH_MAX], eal[4096], nf_args[2048];
	char *argv[MAX_ARGS];
	va_list ap;
	int n;

	passthru_path(exe, sizeof(exe));
	va_start(ap, nf_fmt);
	vsnprintf(nf_args, sizeof(nf_args), nf_fmt, ap);
	va_end(ap);
	snprintf(run.out, sizeof(run.out), "%s/stdout", dir);
	snprintf(run.err, sizeof(run.err), "%s/stderr", dir);
	n = snprintf(eal, sizeof(eal), "%s ", EAL_ARGS);
	vdevs(eal + n, sizeof(eal) - (size_t)n, n_ports);
	argv[0] = exe;
	n = split_args(eal, argv, 1);
	argv[n++] = "--";
	n = split_args(nf_args, argv, n);
	argv[n] = NULL;
	run.pid = fork();
	cr_assert_geq(run.pid, 0, "fork: %s", strerror(errno));
	if (run.pid == 0)
		child_exec(&run, argv);
}

/* Wait up to 'ms' for the NF to exit. Returns true when it did (status in run.status). */
static bool nf_wait(unsigned ms)
{
	uint64_t end = mono_ms() + ms;

	do {
		pid_t p = waitpid(run.pid, &run.status, WNOHANG);

		if (p == run.pid) {
			run.pid = 0;
			return true;
		}
		sleep_ms(10);
	} while (mono_ms() < end);
	return false;
}

/* Wait for the NF to exit by itself and return its exit status. */
static int nf_exit_status(void)
{
	cr_assert(nf_wait(EXIT_WAIT_MS), "nf-passthru did not exit within %u ms", EXIT_WAIT_MS);
	cr_assert(WIFEXITED(run.status), "nf-passthru died of signal %d", WTERMSIG(run.status));
	return WEXITSTATUS(run.status);
}

/* The whole of file 'file' as a string (caller frees). */
static char *slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	char *buf = NULL;
	size_t size = 0;
	int c;
	FILE *m = open_memstream(&buf, &size);

	cr_assert_not_null(m);
	if (f != NULL) {
		while ((c = fgetc(f)) != EOF)
			fputc(c, m);
		fclose(f);
	}
	fclose(m);
	return buf;
}

static bool file_has(const char *file, const char *needle)
{
	char *s = slurp(file);
	bool found = strstr(s, needle) != NULL;

	free(s);
	return found;
}

/* The value of "counter <name> <value>" in the NF's stdout, or 0 when not printed. */
static unsigned long long counter(const char *name)
{
	char *s = slurp(run.out), *line, *save = NULL;
	unsigned long long v = 0;
	size_t len = strlen(name);

	for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "counter ", 8) == 0 && strncmp(line + 8, name, len) == 0 &&
		    line[8 + len] == ' ')
			v = strtoull(line + 9 + len, NULL, 10);
	free(s);
	return v;
}

/* Wait until the NF says it is running (its signal handlers are installed by then). */
static void nf_wait_ready(void)
{
	uint64_t end = mono_ms() + READY_WAIT_MS;

	while (!file_has(run.err, " running: ")) {
		int status;

		cr_assert_eq(waitpid(run.pid, &status, WNOHANG), 0, "nf-passthru exited early:\n%s",
			     slurp(run.err));
		cr_assert_lt(mono_ms(), end, "nf-passthru not running after %u ms", READY_WAIT_MS);
		sleep_ms(10);
	}
}

static void expect_clean_exit(void)
{
	int st = nf_exit_status();

	cr_assert_eq(st, 0, "exit status %d, stderr:\n%s", st, slurp(run.err));
}

Test(runtime, two_ports_forward_to_the_other_port, .timeout = 60)
{
	static struct pkts in0, in1;

	pkts_make(&in0, 1, 20);
	pkts_make(&in1, 2, 7);
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	nf_spawn(2, "--idle-exit-ms 300 --stats-interval-ms 0 --mode local");
	expect_clean_exit();
	expect_pcap(path("out1.pcap"), &in0);
	expect_pcap(path("out0.pcap"), &in1);
	cr_expect_eq(counter("rx"), 27);
	cr_expect_eq(counter("tx"), 27);
	cr_expect_eq(counter("tx_fail"), 0);
	cr_expect_gt(counter("busy_cycles"), 0);
	cr_expect_gt(counter("idle_cycles"), 0);
}

Test(runtime, one_armed_sends_back_out_port_0, .timeout = 60)
{
	static struct pkts in0;

	pkts_make(&in0, 3, 33);
	pcap_write(path("in0.pcap"), &in0);
	nf_spawn(1, "--one-armed --idle-exit-ms 300 --stats-interval-ms 0 --mode local");
	expect_clean_exit();
	expect_pcap(path("out0.pcap"), &in0);
	cr_expect_eq(counter("rx"), 33);
	cr_expect_eq(counter("tx"), 33);
}

Test(runtime, drop_verdicts_are_freed_and_counted, .timeout = 60)
{
	static struct pkts in0, in1, want;

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
	cr_expect_eq(counter("rx"), 10);
	cr_expect_eq(counter("tx"), 7);
	cr_expect_eq(counter("drop_policy"), 3);
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
	static struct pkts in;

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
		cr_expect(file_has(run.err, c->message), "'%s': stderr lacks \"%s\":\n%s", c->args,
			  c->message, slurp(run.err));
		cr_expect(!file_has(run.out, "counter "), "'%s': counters printed", c->args);
	}
}

Test(runtime, help_exits_0_with_usage, .timeout = 60)
{
	nf_spawn(2, "--help");
	cr_assert_eq(nf_exit_status(), 0);
	cr_expect(file_has(run.out, "usage:"));
	cr_expect(file_has(run.out, "--mbufs"));
	cr_expect(file_has(run.out, "--drop-every"), "NF usage missing:\n%s", slurp(run.out));
}

Test(runtime, sigterm_exits_0_promptly_with_counters, .timeout = 60)
{
	static struct pkts in0, in1;
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
	cr_expect_eq(counter("rx"), 19);
	cr_expect_eq(counter("tx"), 19);
	expect_pcap(path("out1.pcap"), &in0);
	expect_pcap(path("out0.pcap"), &in1);
}

Test(runtime, idle_exit_waits_for_a_first_packet, .timeout = 60)
{
	static struct pkts none;

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

Test(runtime, store_down_does_not_hurt_forwarding, .timeout = 60)
{
	static struct pkts in0, in1;

	pkts_make(&in0, 8, 12);
	pkts_make(&in1, 9, 3);
	pcap_write(path("in0.pcap"), &in0);
	pcap_write(path("in1.pcap"), &in1);
	/* Nothing listens on port 1 of the loopback: every connect is refused at once. */
	nf_spawn(2, "--idle-exit-ms 300 --stats-interval-ms 10 --store 127.0.0.1:1 --mode local");
	expect_clean_exit();
	expect_pcap(path("out1.pcap"), &in0);
	expect_pcap(path("out0.pcap"), &in1);
	cr_expect_eq(counter("rx"), 15);
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
	static struct pkts in0, in1;
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
	cr_expect_eq(counter("rx"), 11);
	redisFree(c);
}
