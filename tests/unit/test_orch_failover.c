/* Integration of the whole orchestrator: the real nfv-orchestrator process on a real OVS
 * bridge (netdev datapath) and a real Redis, real nf-nat instances, a client and a server
 * network namespace joined through the bridge's uplinks, and 200 TCP connections
 * (build/tcpprobe) through the NAT, each sending a message every 10 ms. Under that load:
 * kill -9 of an instance, a hung (SIGSTOPped) instance, scale 3 -> 5, a graceful removal
 * (nfvctl kill: drain, then stop), scale to 2, an orchestrator restart (traffic keeps
 * flowing while it is down; it adopts the instances), a kill after the restart, and an
 * instance killed while the orchestrator is down (failed as lost and replaced after it
 * returns). Hard requirements checked in every phase: no connection reset or
 * broken, no gap over 1 s (kill -9, scaling, restart), the NAT mappings in Redis unchanged,
 * failures replaced. The measured numbers are printed.
 *
 * Isolation: the test runs in a network namespace of its own (OVS, Redis, the uplinks, the
 * orchestrator, the instances), the client and server namespaces are held by children of
 * the test, and the orchestrator and its instances run in a PID namespace (with its own
 * /proc) whose init dies with the test: nothing outlives it, whatever happens. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "orchestrator/launcher.h"
#include "tests/harness/netns.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/ovs.h"
#include "tests/harness/redis_server.h"

#define CONNS 200
#define API_PORT 18181
#define OF_PORT 16653
#define GAP_MAX_MS 1000.0
#define READY_TIMEOUT_MS 90000	/* generous: a loaded 2-core machine */
#define EVENT_TIMEOUT_MS 30000
#define SETTLE_MS 2500		/* after a change: let the probe see its effect */
#define NF_NAME "nat"
#define PUBLIC_IP "203.0.113.1"
#define CLIENT_IP "10.0.0.2"
#define SERVER_IP "198.51.100.1"
#define FW_CLIENT_IP "10.0.1.2"	/* the firewall's pair (nfs_on_their_own_uplinks) */
#define FW_SERVER_IP "198.51.101.1"
#define PROBE_PORT 7777
#define MAX_MAPPINGS 4096
#define MAX_INSTS 16

static struct ovs ovs;
static struct redis_server rs;
static struct netns ns_c, ns_s;
static redisContext *rc;
static pid_t sentinel, orch_pid;
static pid_t probe_srv, probe_cli, probe_fw;
static char dir[64], bin_dir[PATH_MAX], bridge[16], base_url[64];
static int orch_runs;

/* What the test measured, printed at the end. */
static struct {
	double gap_kill, gap_hung, gap_up, gap_drain, gap_down, gap_restart, gap_kill2, gap_lost;
	double gap_port, gap_autoscale, rr_port;
	double gap_store, gap_switch;
	double rr_kill, rr_hung, rr_kill2, hung_detect_ms, scale_ms, scale_steer_ms;
} m;

/* ---- small helpers ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const char *path_in(const char *name)
{
	static char buf[4][PATH_MAX];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

/* ---- commands (the harness's netns_run/netns_spawn children check their parent with
 * getppid(), which says 0 inside the PID namespace: these accept that) ---- */

/* In a child: die with the test, output to 'out', exec 'cmd' through sh in namespace 'ns'
 * (NULL: the test's). */
static void child_exec(const struct netns *ns, const char *cmd, int out)
{
	char pid[16];
	int devnull = open("/dev/null", O_RDONLY);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	if (ns != NULL) {
		snprintf(pid, sizeof(pid), "%d", (int)ns->pid);
		execlp("nsenter", "nsenter", "-t", pid, "-n", "sh", "-c", cmd, (char *)NULL);
	} else {
		execlp("sh", "sh", "-c", cmd, (char *)NULL);
	}
	_exit(127);
}

/* Start 'cmd' in 'ns' with its output in file 'log'; returns the pid. */
static pid_t spawn_in(const struct netns *ns, const char *log, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static pid_t spawn_in(const struct netns *ns, const char *log, const char *fmt, ...)
{
	char cmd[2048], full[2100];
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "exec %s", cmd);
	cr_assert_geq(out, 0, "%s: %s", log, strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child_exec(ns, full, out);
	close(out);
	cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
	return pid;
}

/* Run a shell command and wait: its exit status, its output in 'out' (may be NULL). Inside
 * the PID namespace, pids given to kill(1) are the orchestrator's. */
static int sh_out(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh_out(char *out, size_t size, const char *fmt, ...)
{
	char cmd[2048];
	int fds[2], st = 0;
	size_t n = 0;
	ssize_t got;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child_exec(NULL, cmd, fds[1]);
	close(fds[1]);
	while (out != NULL && n + 1 < size && (got = read(fds[0], out + n, size - 1 - n)) > 0)
		n += (size_t)got;
	if (out != NULL)
		out[n] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048], out[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = sh_out(out, sizeof(out), "%s", cmd);
	if (st != 0)
		cr_log_warn("'%s' exited %d: %s", cmd, st, out);
	return st;
}

/* Stop a spawned process: 'sig', then SIGKILL after 5 s; reaped. */
static void proc_end(pid_t *pid, int sig)
{
	uint64_t t0 = mono_ms();

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	while (waitpid(*pid, NULL, WNOHANG) == 0) {
		if (mono_ms() - t0 > 5000) {
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			break;
		}
		sleep_ms(10);
	}
	*pid = 0;
}

/* ---- HTTP ---- */

static size_t http_sink(char *p, size_t size, size_t n, void *arg)
{
	char *buf = arg;
	size_t have = strlen(buf), add = size * n;

	if (have + add >= 65536)
		add = 65535 - have;
	memcpy(buf + have, p, add);
	buf[have + add] = '\0';
	return size * n;
}

/* 'method' 'path' with JSON 'body' (may be NULL): the status, the reply in 'resp' (64 KiB). */
static long http(const char *method, const char *path, const char *body, char *resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256];
	long status = 0;

	resp[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* GET 'path' as JSON (NULL unless 200). */
static json_t *get_json(const char *path)
{
	static char resp[65536];

	if (http("GET", path, NULL, resp) != 200)
		return NULL;
	return json_loads(resp, 0, NULL);
}

/* ---- the NF as the API shows it ---- */

struct inst_view {
	char id[48], state[16];
	long pid;
};

/* The instances of the NF; returns how many (-1 when the NF cannot be read). */
static int nf_insts_of(const char *name, struct inst_view *v, unsigned *ready)
{
	char path[64];
	json_t *nf, *in;
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "/v1/nfs/%s", name);
	nf = get_json(path);
	*ready = 0;
	if (nf == NULL)
		return -1;
	json_array_foreach(json_object_get(nf, "instances"), i, in) {
		if (n == MAX_INSTS)
			break;
		snprintf(v[n].id, sizeof(v[n].id), "%s", json_string_value(json_object_get(in, "id")));
		snprintf(v[n].state, sizeof(v[n].state), "%s",
			 json_string_value(json_object_get(in, "state")));
		v[n].pid = (long)json_integer_value(json_object_get(in, "pid"));
		*ready += strcmp(v[n].state, "ready") == 0;
		n++;
	}
	json_decref(nf);
	return n;
}

static int nf_insts(struct inst_view *v, unsigned *ready)
{
	return nf_insts_of(NF_NAME, v, ready);
}

/* Wait until the NF has exactly 'want' instances, all ready. */
static void wait_ready_of(const char *name, unsigned want, const char *what)
{
	uint64_t t0 = mono_ms();
	struct inst_view v[MAX_INSTS];
	unsigned ready = 0;
	int n = -1;

	while (mono_ms() - t0 < READY_TIMEOUT_MS) {
		n = nf_insts_of(name, v, &ready);
		if (n == (int)want && ready == want)
			return;
		sleep_ms(100);
	}
	cr_assert_fail("%s: %u ready of %d instances after %d s (want %u; log %s)", what, ready, n,
		       READY_TIMEOUT_MS / 1000, path_in("orch.log"));
}

static void wait_ready(unsigned want, const char *what)
{
	wait_ready_of(NF_NAME, want, what);
}

/* The newest event of 'kind' about instance 'id' recorded at or after 'since' (wall ms):
 * its detail into 'detail' and its time; 0 when none. */
static uint64_t event_find(const char *kind, const char *id, uint64_t since, char *detail,
			   size_t size)
{
	json_t *ev = get_json("/v1/events?nf=" NF_NAME "&max=200"), *e;
	uint64_t ts = 0;
	size_t i;

	json_array_foreach(json_object_get(ev, "events"), i, e) {
		uint64_t t = (uint64_t)json_integer_value(json_object_get(e, "ts_ms"));

		if (t >= since && strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
		    (id == NULL || strcmp(json_string_value(json_object_get(e, "instance")), id) == 0)) {
			if (detail != NULL)
				snprintf(detail, size, "%s", json_string_value(json_object_get(e, "detail")));
			ts = t;
			break;
		}
	}
	json_decref(ev);
	return ts;
}

static uint64_t wait_event(const char *kind, const char *id, uint64_t since, char *detail,
			   size_t size)
{
	uint64_t t0 = mono_ms(), ts;

	while ((ts = event_find(kind, id, since, detail, size)) == 0 &&
	       mono_ms() - t0 < EVENT_TIMEOUT_MS)
		sleep_ms(50);
	cr_assert_neq(ts, 0, "no '%s' event for %s within %d s (log %s)", kind, id ? id : "the NF",
		      EVENT_TIMEOUT_MS / 1000, path_in("orch.log"));
	return ts;
}

/* "... detection to reroute 1.3 ms)" in a "replaced" event's detail: the number, or -1. */
static double detail_rr(const char *detail)
{
	const char *p = strstr(detail, "detection to reroute ");

	return p != NULL ? strtod(p + strlen("detection to reroute "), NULL) : -1;
}

/* ---- the probe ---- */

/* The JSON report of a probe, file 'name' in the test's directory. */
static json_t *probe_report_at(const char *name)
{
	json_t *j = NULL;

	for (int i = 0; i < 20 && j == NULL; i++) {
		j = json_load_file(path_in(name), 0, NULL);
		if (j == NULL)
			sleep_ms(20);
	}
	cr_assert_not_null(j, "no probe report in %s", path_in(name));
	return j;
}

static json_t *probe_report(void)
{
	return probe_report_at("probe.json");
}

static long probe_int(json_t *r, const char *k)
{
	return (long)json_integer_value(json_object_get(r, k));
}

static double probe_real(json_t *r, const char *k)
{
	return json_number_value(json_object_get(r, k));
}

/* Wait (at most 20 s) until no connection waits for an echo: TCP's retransmission backoff
 * after the previous phase's disruption is over. */
static void probe_settled(void)
{
	uint64_t t0 = mono_ms();
	long stalled;

	do {
		json_t *r = probe_report();

		stalled = probe_int(r, "stalled");
		json_decref(r);
		if (stalled > 0)
			sleep_ms(100);
	} while (stalled > 0 && mono_ms() - t0 < 20000);
	if (stalled > 0)
		cr_log_warn("%ld connection(s) still waiting for an echo after 20 s", stalled);
}

/* Packets the switch's sockets dropped so far (their receive buffers were full: the
 * switch did not read them in time), from ss's skmem "d" of ovs-vswitchd's packet sockets. */
static long ovs_sock_drops(void)
{
	char out[16384];
	long total = 0;

	if (sh_out(out, sizeof(out), "ss -f link -a -m -p | grep ovs-vswitchd | "
		   "grep -o ',d[0-9]*)' | tr -dc '0-9\\n'") != 0)
		return -1;
	for (char *p = out; *p != '\0';) {
		char *end;
		long v = strtol(p, &end, 10);

		total += v;
		p = end == p ? p + 1 : end;
	}
	return total;
}

static long drops_at_mark;

/* Start a new measuring phase of the probe (SIGUSR1) and wait until it took it. */
static void probe_mark(void)
{
	json_t *r;
	long phase;
	uint64_t t0;

	probe_settled();
	r = probe_report();
	phase = probe_int(r, "phase");
	t0 = mono_ms();
	json_decref(r);
	drops_at_mark = ovs_sock_drops();
	kill(probe_cli, SIGUSR1);
	do {
		sleep_ms(50);
		r = probe_report();
		if (probe_int(r, "phase") > phase) {
			json_decref(r);
			return;
		}
		json_decref(r);
	} while (mono_ms() - t0 < 5000);
	cr_assert_fail("the probe did not start a new phase");
}

/* After a phase: every connection up, none reset, the phase's longest gap (returned)
 * within 'limit' ms (0: not checked). */
static double probe_check(const char *phase, double limit)
{
	json_t *r = probe_report(), *c;
	double gap = probe_real(r, "phase_max_gap_ms");
	long broken = probe_int(r, "broken"), resets = probe_int(r, "resets");
	unsigned slow = 0;
	size_t i;

	json_array_foreach(json_object_get(r, "per_conn"), i, c)
		slow += probe_real(c, "phase_max_gap_ms") > 200.0;
	cr_log_info("%s: longest gap %.1f ms (%u of %d connections silent > 200 ms), %ld echoes so "
		    "far, %ld broken, %ld resets; the switch's sockets dropped %ld packets", phase, gap,
		    slow, CONNS, probe_int(r, "echoes"), broken, resets,
		    ovs_sock_drops() - drops_at_mark);
	json_decref(r);
	cr_expect_eq(resets, 0, "%s: %ld connection(s) reset (%s)", phase, resets, path_in("probe.json"));
	cr_assert_eq(broken, 0, "%s: %ld connection(s) broke (%s)", phase, broken, path_in("probe.json"));
	if (limit > 0)
		cr_assert_leq(gap, limit, "%s: a connection was silent %.1f ms (limit %.0f ms)", phase, gap,
			      limit);
	return gap;
}

/* ---- NAT mappings in Redis ---- */

struct mapping {
	char *key, *val;
	size_t klen, vlen;
};
static struct mapping maps[MAX_MAPPINGS];
static unsigned n_maps;

static void mappings_free(void)
{
	for (unsigned i = 0; i < n_maps; i++) {
		free(maps[i].key);
		free(maps[i].val);
	}
	n_maps = 0;
}

static char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	cr_assert_not_null(d);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* Every nat:m* key and its value. */
static void mappings_snapshot(void)
{
	char cursor[32] = "0";

	mappings_free();
	do {
		redisReply *r = redisCommand(rc, "SCAN %s MATCH " NF_NAME ":m* COUNT 1000", cursor);

		cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "SCAN failed");
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && n_maps < MAX_MAPPINGS; i++) {
			redisReply *k = r->element[1]->element[i];
			redisReply *v = redisCommand(rc, "GET %b", k->str, k->len);

			if (v != NULL && v->type == REDIS_REPLY_STRING) {
				maps[n_maps] = (struct mapping){ dup_bytes(k->str, k->len),
								 dup_bytes(v->str, v->len), k->len, v->len };
				n_maps++;
			}
			freeReplyObject(v);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
}

/* The mappings of the snapshot are all still there, unchanged. */
static void mappings_check(const char *phase)
{
	unsigned changed = 0, gone = 0;

	for (unsigned i = 0; i < n_maps; i++) {
		redisReply *v = redisCommand(rc, "GET %b", maps[i].key, maps[i].klen);

		if (v == NULL || v->type != REDIS_REPLY_STRING)
			gone++;
		else if (v->len != maps[i].vlen || memcmp(v->str, maps[i].val, v->len) != 0)
			changed++;
		freeReplyObject(v);
	}
	cr_log_info("%s: %u NAT mappings checked: %u changed, %u gone", phase, n_maps, changed, gone);
	cr_assert_eq(changed + gone, 0, "%s: %u NAT mapping(s) changed, %u gone", phase, changed, gone);
}

/* ---- heartbeats (to see instances run while the orchestrator is down) ---- */

static unsigned long long hb_seq(const char *id)
{
	redisReply *r = redisCommand(rc, "HGET snf:inst:%s seq", id);
	unsigned long long v = 0;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		v = strtoull(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

static unsigned long long hb_rx(const char *id)
{
	redisReply *r = redisCommand(rc, "HGET snf:inst:%s rx", id);
	unsigned long long v = 0;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		v = strtoull(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* ---- the PID namespace: its init (with its own /proc) dies with the test ---- */

static void pid_base(void)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");

	if (f != NULL) {
		fprintf(f, "%d", 20000 + (int)(mono_ms() % 20000));
		fclose(f);
	}
}

static void sentinel_main(int fd)
{
	char ok = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		ok = 1;
	/* Pids like a host's: DPDK's af_packet names its fanout group pid ^ ifindex, and the
	 * small pids of a fresh namespace next to small ifindexes collide often. */
	pid_base();
	signal(SIGCHLD, SIG_IGN);	/* orphans (instances of a stopped orchestrator) reaped */
	if (write(fd, &ok, 1) != 1)
		_exit(1);
	close_range(0, ~0U, 0);
	for (;;)
		pause();
}

static int pidns_enter(void)
{
	int fds[2];
	char ok = 1;

	if (unshare(CLONE_NEWPID) < 0 || pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	sentinel = fork();
	if (sentinel == 0)
		sentinel_main(fds[1]);
	close(fds[1]);
	if (sentinel < 0 || read(fds[0], &ok, 1) != 1 || ok != 0)
		ok = 1;
	close(fds[0]);
	return ok ? -EIO : 0;
}

static void pidns_leave(void)
{
	uint64_t t0 = mono_ms();

	if (sentinel <= 0)
		return;
	kill(sentinel, SIGKILL);
	while (mono_ms() - t0 < 5000) {
		pid_t p = waitpid(-1, NULL, WNOHANG);

		if (p == sentinel || (p < 0 && errno == ECHILD))
			break;
		if (p == 0)
			sleep_ms(5);
	}
	sentinel = 0;
}

/* ---- the orchestrator ---- */

static void orch_write_config(void)
{
	FILE *f = fopen(path_in("orch.json"), "w");

	cr_assert_not_null(f);
	fprintf(f, "{\"listen\": \"127.0.0.1:%d\", \"redis\": \"127.0.0.1:%u\", \"ovs_db\": "
		"\"unix:%s/db.sock\", \"bridge\": \"%s\", \"openflow\": \"127.0.0.1:%d\", "
		"\"heartbeat_ms\": 100, \"nf_bin_dir\": \"%s\", \"run_dir\": \"%s\", "
		"\"nf_mem_mb\": 256, \"nf_lcore\": -1, \"nf_nice\": -5}\n", API_PORT, rs.port,
		ovs.dir, bridge, OF_PORT, bin_dir, path_in("run"));
	fclose(f);
}

/* In the child: enter the PID namespace's /proc, log to orch.log, exec the daemon. */
static void orch_exec(void)
{
	char mnt[64], exe[PATH_MAX + 32];
	int fd, log;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(mnt, sizeof(mnt), "/proc/%d/ns/mnt", (int)sentinel);
	fd = open(mnt, O_RDONLY | O_CLOEXEC);
	log = open(path_in("orch.log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
		_exit(127);
	/* The parent is outside the PID namespace: getppid() says 0 unless it died. */
	if (getppid() != 0 || fd < 0 || setns(fd, CLONE_NEWNS) < 0) {
		fprintf(stderr, "test: cannot enter the mount namespace of %s: %s\n", mnt,
			strerror(errno));
		_exit(127);
	}
	snprintf(exe, sizeof(exe), "%s/nfv-orchestrator", bin_dir);
	execl(exe, exe, "--config", path_in("orch.json"), "--uplink-inside", "upi",
	      "--uplink-outside", "upo", "--log-level", "info", (char *)NULL);
	_exit(127);
}

static bool health_ok(void)
{
	json_t *h = get_json("/v1/health");
	const char *st = json_string_value(json_object_get(h, "status"));
	bool ok = st != NULL && strcmp(st, "ok") == 0;

	json_decref(h);
	return ok;
}

static void orch_start(void)
{
	uint64_t t0 = mono_ms();

	fflush(NULL);
	orch_pid = fork();
	if (orch_pid == 0)
		orch_exec();
	cr_assert_gt(orch_pid, 0);
	orch_runs++;
	while (!health_ok()) {
		int st;

		cr_assert(waitpid(orch_pid, &st, WNOHANG) == 0, "nfv-orchestrator exited (status 0x%x; "
			  "log %s)", st, path_in("orch.log"));
		cr_assert_lt(mono_ms() - t0, 30000, "nfv-orchestrator not healthy in 30 s (log %s)",
			     path_in("orch.log"));
		sleep_ms(100);
	}
	cr_log_info("nfv-orchestrator run %d healthy after %lu ms", orch_runs,
		    (unsigned long)(mono_ms() - t0));
}

/* SIGTERM and wait: it exits 0 and leaves the instances running. */
static void orch_stop(void)
{
	uint64_t t0 = mono_ms();
	int st = 0;

	if (orch_pid <= 0)
		return;
	kill(orch_pid, SIGTERM);
	while (waitpid(orch_pid, &st, WNOHANG) == 0) {
		if (mono_ms() - t0 > 15000) {
			kill(orch_pid, SIGKILL);
			waitpid(orch_pid, &st, 0);
			break;
		}
		sleep_ms(20);
	}
	orch_pid = 0;
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nfv-orchestrator: exit status 0x%x", st);
}

/* ---- topology ---- */

/* Namespace 'ns' ('peer' of uplink 'up'): address, route, no offloads, no IPv6. */
static void topo_side(struct netns *ns, const char *up, const char *peer, const char *addr,
		      const char *route)
{
	char out[1024];

	cr_assert_eq(netns_run(NULL, out, sizeof(out), "ip link add %s type veth peer name %s", up,
			       peer), 0, "%s", out);
	cr_assert_eq(netns_move_link(ns, peer), 0);
	cr_assert_eq(netns_run(ns, out, sizeof(out), "sysctl -qw net.ipv6.conf.all.disable_ipv6=1; "
			       "ip addr add %s dev %s && ip link set %s up && ip route add %s dev %s && "
			       "(ethtool -K %s tso off gso off gro off tx off >/dev/null 2>&1; true)",
			       addr, peer, peer, route, peer, peer), 0, "%s", out);
	cr_assert_eq(netns_run(NULL, out, sizeof(out), "sysctl -qw net.ipv6.conf.%s.disable_ipv6=1; "
			       "ethtool -K %s tso off gso off gro off tx off >/dev/null 2>&1; "
			       "ip link set %s up", up, up, up), 0, "%s", out);
}

static void topology(void)
{
	cr_assert_eq(netns_create(&ns_c), 0);
	cr_assert_eq(netns_create(&ns_s), 0);
	topo_side(&ns_c, "upi", "cpe", CLIENT_IP "/24", "198.51.100.0/24");
	topo_side(&ns_s, "upo", "spe", SERVER_IP "/24", PUBLIC_IP "/32");
	/* A second pair for a firewall of its own (nfs_on_their_own_uplinks); made here, before
	 * the PID namespace, like the first. */
	topo_side(&ns_c, "upfi", "cpf", FW_CLIENT_IP "/24", "198.51.101.0/24");
	topo_side(&ns_s, "upfo", "spf", FW_SERVER_IP "/24", "10.0.1.0/24");
}

/* ---- fixture ---- */

/* The software switch forwards every packet in its main thread: on a small machine shared
 * with other work it must not be starved by unrelated sessions (with autogroup scheduling
 * each session gets an equal share whatever its nice values). The test gets a session of
 * its own, with a higher priority, inherited by OVS, Redis and the probes it starts; the
 * orchestrator gives the NF instances theirs (nf_nice), pinned to the last CPU (nf_lcore)
 * so that they do not compete with the switch. Production gives the data plane cores. */
static void data_plane_priority(void)
{
	FILE *f;

	setsid();
	setpriority(PRIO_PROCESS, 0, -10);
	f = fopen("/proc/self/autogroup", "we");
	if (f != NULL) {
		fprintf(f, "-10");
		fclose(f);
	}
}

static void setup(void)
{
	memset(&m, 0, sizeof(m));
	orch_runs = 0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cr_assert_eq(nfproc_build_path("", bin_dir, sizeof(bin_dir)), 0);
	bin_dir[strlen(bin_dir) - 1] = '\0';	/* no trailing '/' */
	snprintf(dir, sizeof(dir), "/tmp/snf-orchfo-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(dir));
	snprintf(bridge, sizeof(bridge), "brf%d", (int)(getpid() % 100000));
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", API_PORT);
	data_plane_priority();
	cr_assert_eq(ovs_private_netns(), 0, "needs root: a network namespace");
	cr_assert_eq(redis_server_start(&rs, NULL), 0);
	rc = redisConnect("127.0.0.1", rs.port);
	cr_assert(rc != NULL && rc->err == 0);
	cr_assert_eq(ovs_start(&ovs), 0, "ovs: %s", ovs.out);
	topology();
	cr_assert_eq(pidns_enter(), 0, "PID namespace");
	orch_write_config();
}

/* DPDK runtime dirs of instances that were killed without their cleanup (a failed test):
 * the launcher names them after the bridge and the instance id. */
static void dpdk_dirs_sweep(void)
{
	char in[16], out[16], bin[16], bout[16], id[32];

	for (int i = 1; i <= 64; i++) {
		snprintf(id, sizeof(id), NF_NAME "-%d", i);
		launcher_ifnames(bridge, id, in, out, bin, bout);
		in[strlen(in) - 1] = '\0';	/* "snf<hash>i" -> the --file-prefix */
		sh_out(NULL, 0, "rm -rf /var/run/dpdk/%s", in);
	}
}

/* Delete the NF (its instances are stopped and cleaned up), then stop everything; the PID
 * namespace last (commands need it to fork). */
static void teardown(void)
{
	char resp[65536];
	uint64_t t0 = mono_ms();

	proc_end(&probe_cli, SIGKILL);
	proc_end(&probe_fw, SIGKILL);
	proc_end(&probe_srv, SIGKILL);
	if (orch_pid > 0)
		http("DELETE", "/v1/nfs/fw", NULL, resp);
	if (orch_pid > 0 && http("DELETE", "/v1/nfs/" NF_NAME, NULL, resp) == 204) {
		while (mono_ms() - t0 < 20000 &&
		       sh_out(NULL, 0, "ls %s/*.json >/dev/null 2>&1", path_in("run")) == 0)
			sleep_ms(100);
	}
	orch_stop();
	netns_destroy(&ns_c);
	netns_destroy(&ns_s);
	if (rc != NULL)
		redisFree(rc);
	rc = NULL;
	ovs_stop(&ovs);
	redis_server_stop(&rs);
	mappings_free();
	dpdk_dirs_sweep();
	if (dir[0] != '\0' && getenv("ORCH_TEST_KEEP") == NULL)
		sh_out(NULL, 0, "rm -rf %s", dir);
	pidns_leave();
	curl_global_cleanup();
}

/* ---- phases ---- */

static void phase_create(void)
{
	char resp[65536];
	uint64_t t0 = mono_ms();
	long st = http("POST", "/v1/nfs", "{\"name\": \"" NF_NAME "\", \"type\": \"nat\", \"instances\": 3, "
		       "\"config\": {\"public_ips\": [\"" PUBLIC_IP "\"], \"port_range\": [20000, 29999]}}",
		       resp);

	cr_assert_eq(st, 201, "POST /v1/nfs: %ld %s", st, resp);
	wait_ready(3, "create");
	cr_log_info("NAT with 3 instances ready %lu ms after POST /v1/nfs",
		    (unsigned long)(mono_ms() - t0));
}

static bool probe_running(void)
{
	json_t *r = json_load_file(path_in("probe.json"), 0, NULL);
	bool ok = r != NULL && probe_int(r, "connected") == CONNS && probe_int(r, "echoes") >= CONNS * 100;

	json_decref(r);
	return ok;
}

static void phase_traffic(void)
{
	uint64_t t0 = mono_ms();

	probe_srv = spawn_in(&ns_s, path_in("probe-server.log"), "%s/tcpprobe serve %d --duration-s "
			     "600 --out %s", bin_dir, PROBE_PORT, path_in("probe-server.json"));
	sleep_ms(300);
	probe_cli = spawn_in(&ns_c, path_in("probe.log"), "%s/tcpprobe client %s:%d --conns %d "
			     "--interval-ms 10 --duration-s 600 --connect-timeout-ms 30000 --out %s",
			     bin_dir, SERVER_IP, PROBE_PORT, CONNS, path_in("probe.json"));
	while (!probe_running()) {
		cr_assert_lt(mono_ms() - t0, 60000, "%d probe connections not running in 60 s (%s)",
			     CONNS, path_in("probe.json"));
		sleep_ms(100);
	}
	cr_log_info("%d TCP connections through the NAT, each a message every 10 ms", CONNS);
	probe_check("traffic", 0);
	mappings_snapshot();
	cr_assert_geq(n_maps, CONNS, "only %u NAT mappings for %d connections", n_maps, CONNS);
}

/* A ready instance of the NF ('skip' not), by the API. */
static struct inst_view pick_instance(void)
{
	struct inst_view v[MAX_INSTS];
	unsigned ready;
	int n = nf_insts(v, &ready);

	for (int i = n - 1; i >= 0; i--)
		if (strcmp(v[i].state, "ready") == 0)
			return v[i];
	cr_assert_fail("no ready instance");
	return v[0];
}

/* The pid, in our own PID namespace, of process 'nspid' of the instances' namespace (the
 * last NSpid of /proc/<pid>/status), or -1. Signals sent with it leave at a known time,
 * unlike through a shell started in that namespace. */
static pid_t host_pid(long nspid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = -1;

	while (d != NULL && found < 0 && (e = readdir(d)) != NULL) {
		char path[300], line[256];
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		f = fopen(path, "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			char *last;

			if (strncmp(line, "NSpid:", 6) != 0)
				continue;
			last = strrchr(line, '\t');
			if (last != NULL && last != strchr(line, '\t') && atol(last + 1) == nspid)
				found = (pid_t)atol(e->d_name);
			break;
		}
		if (f != NULL)
			fclose(f);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* Kill (SIGKILL) or freeze (SIGSTOP) an instance; wait for failed and replaced; returns
 * the detection-to-reroute time from the event. */
static double fail_instance(const char *phase, int sig, unsigned want, double *detect_ms)
{
	struct inst_view v = pick_instance();
	char detail[512] = "";
	uint64_t since = wall_ms() - 1, t_sig, t_failed;
	pid_t pid = host_pid(v.pid);
	double rr;

	cr_assert_gt(pid, 0, "%s: pid %ld of the instances' namespace not found", v.id, v.pid);
	probe_mark();
	t_sig = wall_ms();
	cr_assert_eq(kill(pid, sig), 0, "kill -%d %s (pid %ld): %s", sig, v.id, v.pid,
		     strerror(errno));
	t_failed = wait_event("failed", v.id, since, detail, sizeof(detail));
	cr_log_info("%s: %s (pid %ld) failed: %s", phase, v.id, v.pid, detail);
	if (detect_ms != NULL)
		*detect_ms = (double)(t_failed - t_sig);
	wait_event("replaced", v.id, since, detail, sizeof(detail));
	rr = detail_rr(detail);
	cr_log_info("%s: replaced %s", phase, detail);
	wait_ready(want, phase);
	sleep_ms(SETTLE_MS);
	return rr;
}

static void phase_kill(void)
{
	m.rr_kill = fail_instance("kill -9", SIGKILL, 3, NULL);
	m.gap_kill = probe_check("kill -9", GAP_MAX_MS);
	mappings_check("kill -9");
}

static void phase_hung(void)
{
	m.rr_hung = fail_instance("hung (SIGSTOP)", SIGSTOP, 3, &m.hung_detect_ms);
	m.gap_hung = probe_check("hung (SIGSTOP)", 0);
	if (m.gap_hung > GAP_MAX_MS)
		cr_log_warn("hung instance: a connection was silent %.0f ms (detection alone takes "
			    "3 heartbeat intervals, then TCP's retransmission backoff)", m.gap_hung);
	mappings_check("hung");
}

/* The new instances' first traffic after a scale call at 't0': returns ms. */
static double scale_traffic_ms(uint64_t t0, const struct inst_view *before, int n_before)
{
	struct inst_view v[MAX_INSTS];
	bool seen[MAX_INSTS] = { false };
	double worst = 0;
	unsigned ready;

	while (mono_ms() - t0 < READY_TIMEOUT_MS) {
		int n = nf_insts(v, &ready), pending = 0;

		for (int i = 0; i < n; i++) {
			bool old = false;

			for (int j = 0; j < n_before; j++)
				old |= strcmp(v[i].id, before[j].id) == 0;
			if (old || seen[i])
				continue;
			if (strcmp(v[i].state, "ready") == 0 && hb_rx(v[i].id) >= 20) {
				seen[i] = true;
				if ((double)(mono_ms() - t0) > worst)
					worst = (double)(mono_ms() - t0);
			} else {
				pending++;
			}
		}
		if (n > n_before && pending == 0)
			return worst;
		sleep_ms(20);
	}
	cr_assert_fail("scale: the new instances carried no traffic within %d s", READY_TIMEOUT_MS / 1000);
	return -1;
}

/* 'nfvctl kill NAME/ID': the instance drains (out of the steering, counters still), stops,
 * and is not replaced. */
static void drain_one(void)
{
	struct inst_view v = pick_instance();
	char out[1024], detail[512];
	uint64_t since = wall_ms() - 1;

	probe_mark();
	cr_assert_eq(sh_out(out, sizeof(out), "%s/nfvctl --url %s kill %s/%s", bin_dir, base_url,
			    NF_NAME, v.id), 0, "nfvctl kill: %s", out);
	wait_event("draining", v.id, since, NULL, 0);
	wait_event("stopped", v.id, since, detail, sizeof(detail));
	cr_log_info("nfvctl kill %s/%s: %s", NF_NAME, v.id, detail);
	wait_ready(4, "drain");
	sleep_ms(SETTLE_MS);
	m.gap_drain = probe_check("drain (nfvctl kill)", GAP_MAX_MS);
}

static void phase_scale(void)
{
	struct inst_view before[MAX_INSTS];
	char resp[65536], detail[512];
	unsigned ready;
	int n = nf_insts(before, &ready);
	uint64_t since = wall_ms() - 1, t0;

	probe_mark();
	t0 = mono_ms();
	cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 5}", resp), 200, "%s", resp);
	m.scale_ms = scale_traffic_ms(t0, before, n);
	wait_ready(5, "scale to 5");
	if (event_find("ready", NULL, since, detail, sizeof(detail)) && strstr(detail, "after the request"))
		m.scale_steer_ms = strtod(strrchr(detail, ';') + 2, NULL);
	cr_log_info("scale 3 -> 5: the new instances carried traffic %.0f ms after the call "
		    "(last one in the steering: %s)", m.scale_ms, detail);
	sleep_ms(SETTLE_MS);
	m.gap_up = probe_check("scale 3 -> 5", GAP_MAX_MS);
	drain_one();
	probe_mark();
	cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 2}", resp), 200, "%s", resp);
	wait_ready(2, "scale to 2");
	sleep_ms(SETTLE_MS);
	m.gap_down = probe_check("scale 5 -> 2", GAP_MAX_MS);
	mappings_check("scale");
}

static bool same_instances(const struct inst_view *a, int na, const struct inst_view *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++) {
		bool found = false;

		for (int j = 0; j < nb; j++)
			found |= strcmp(a[i].id, b[j].id) == 0 && a[i].pid == b[j].pid;
		if (!found)
			return false;
	}
	return true;
}

/* 'nfvctl ls' through the CLI: its output. */
static void nfvctl_ls(char *out, size_t size)
{
	cr_assert_eq(sh_out(out, size, "%s/nfvctl --url %s ls", bin_dir, base_url), 0,
		     "nfvctl ls: %s", out);
}

static void phase_restart(void)
{
	struct inst_view a[MAX_INSTS], b[MAX_INSTS];
	unsigned long long seq[MAX_INSTS];
	char out[4096];
	unsigned ready;
	int na, nb;
	json_t *r;
	long echoes;

	probe_mark();
	na = nf_insts(a, &ready);
	nfvctl_ls(out, sizeof(out));
	cr_log_info("before the restart, nfvctl ls:\n%s", out);
	for (int i = 0; i < na; i++)
		seq[i] = hb_seq(a[i].id);
	orch_stop();
	r = probe_report();
	echoes = probe_int(r, "echoes");
	json_decref(r);
	sleep_ms(3000);
	for (int i = 0; i < na; i++)
		cr_assert_gt(hb_seq(a[i].id), seq[i], "%s stopped with the orchestrator", a[i].id);
	r = probe_report();
	cr_assert_gt(probe_int(r, "echoes"), echoes + CONNS * 100,
		     "traffic did not flow while the orchestrator was down");
	json_decref(r);
	cr_log_info("orchestrator down 3 s: the instances kept publishing, the traffic kept flowing");
	orch_start();
	nb = nf_insts(b, &ready);
	cr_assert(same_instances(a, na, b, nb), "after the restart the NF has other instances "
		  "(%d before, %d after)", na, nb);
	nfvctl_ls(out, sizeof(out));
	cr_log_info("after the restart, nfvctl ls:\n%s", out);
	cr_assert(strstr(out, NF_NAME) != NULL && strstr(out, "2/2") != NULL, "nfvctl ls: %s", out);
	sleep_ms(SETTLE_MS);
	m.gap_restart = probe_check("orchestrator restart", GAP_MAX_MS);
	m.rr_kill2 = fail_instance("kill -9 after the restart", SIGKILL, 2, NULL);
	m.gap_kill2 = probe_check("kill -9 after the restart", GAP_MAX_MS);
	mappings_check("restart");
}

/* Stop the orchestrator, kill -9 an instance while it is down, start it again: the
 * missing instance is failed ("lost") and replaced, the other one adopted as it was. */
static void phase_lost(void)
{
	struct inst_view v = pick_instance(), a[MAX_INSTS], b[MAX_INSTS];
	uint64_t since = wall_ms() - 1;
	char detail[512];
	unsigned ready;
	int na = nf_insts(a, &ready), nb, kept = 0;

	probe_mark();
	orch_stop();
	cr_assert_eq(sh("kill -9 %ld", v.pid), 0);
	sleep_ms(1000);
	orch_start();
	wait_event("failed", v.id, since, detail, sizeof(detail));
	cr_log_info("restart with %s killed meanwhile: failed: %s", v.id, detail);
	cr_assert(strstr(detail, "lost") != NULL, "%s", detail);
	wait_event("replaced", v.id, since, detail, sizeof(detail));
	wait_ready(2, "lost instance replaced");
	nb = nf_insts(b, &ready);
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			kept += strcmp(a[i].id, v.id) != 0 && strcmp(a[i].id, b[j].id) == 0 && a[i].pid == b[j].pid;
	cr_assert_eq(kept, na - 1, "the surviving instance was not adopted as it was");
	sleep_ms(SETTLE_MS);
	m.gap_lost = probe_check("instance lost while the orchestrator was down", 0);
	mappings_check("lost");
}

/* The bridge side of an instance's inside veth goes down: OVS reports it (port_status),
 * the instance fails ("port_down") and is replaced. */
static void phase_port_down(void)
{
	json_t *nf = get_json("/v1/nfs/" NF_NAME), *in;
	char id[48] = "", port[32] = "", detail[512];
	uint64_t since = wall_ms() - 1;
	size_t i;

	json_array_foreach(json_object_get(nf, "instances"), i, in) {
		if (strcmp(json_string_value(json_object_get(in, "state")), "ready") == 0) {
			snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(in, "id")));
			snprintf(port, sizeof(port), "%s", json_string_value(json_object_get(in, "br_in")));
		}
	}
	json_decref(nf);
	cr_assert_neq(id[0], '\0', "no ready instance");
	probe_mark();
	cr_assert_eq(sh("ip link set %s down", port), 0);
	wait_event("failed", id, since, detail, sizeof(detail));
	cr_log_info("port down: %s failed: %s", id, detail);
	cr_assert(strstr(detail, "port_down") != NULL, "%s", detail);
	wait_event("replaced", id, since, detail, sizeof(detail));
	m.rr_port = detail_rr(detail);
	wait_ready(2, "port down");
	sleep_ms(SETTLE_MS);
	m.gap_port = probe_check("OVS port down", GAP_MAX_MS);
}

/* Autoscaling under the probe's load: a policy whose scale-out threshold the load exceeds
 * adds an instance after its window (events autoscale and scaled); disabled again after. */
static void phase_autoscale(void)
{
	char resp[65536], detail[512];
	uint64_t since = wall_ms() - 1;

	probe_mark();
	cr_assert_eq(http("PATCH", "/v1/nfs/" NF_NAME, "{\"autoscale\": {\"min\": 2, \"max\": 3, "
			  "\"scale_out_load\": 0.001, \"scale_in_load\": 0.0005, \"window_s\": 1, "
			  "\"cooldown_s\": 60}}", resp), 200, "%s", resp);
	do {
		wait_event("scaled", NULL, since, detail, sizeof(detail));
		if (strstr(detail, "(autoscale)") == NULL)
			sleep_ms(100);
	} while (strstr(detail, "(autoscale)") == NULL && wall_ms() - since < EVENT_TIMEOUT_MS);
	cr_assert(strstr(detail, "(autoscale)") != NULL, "no autoscale decision: %s", detail);
	event_find("autoscale", NULL, since, detail, sizeof(detail));
	cr_log_info("autoscale decision: %s", detail);
	wait_ready(3, "autoscale out");
	cr_assert_eq(http("PATCH", "/v1/nfs/" NF_NAME, "{\"autoscale\": null}", resp), 200, "%s", resp);
	sleep_ms(SETTLE_MS);
	m.gap_autoscale = probe_check("autoscale 2 -> 3", GAP_MAX_MS);
}

/* /metrics (of the last orchestrator run: counters start again at a restart) has the
 * histogram, the instances by state and the failover (the lost instance) counted. */
static void metrics_check(void)
{
	static char text[65536];

	cr_assert_eq(http("GET", "/metrics", NULL, text), 200);
	cr_assert_not_null(strstr(text, "orch_detection_to_reroute_seconds_bucket{le=\"0.01\"}"),
			   "no detection-to-reroute histogram in /metrics");
	cr_assert_not_null(strstr(text, "orch_failovers_total{cause=\"lost\"} 1"), "%s", text);
	cr_assert_not_null(strstr(text, "orch_instances{nf=\"" NF_NAME "\",state=\"ready\"} 2"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "orch_openflow_reconnects_total"));
	cr_assert_not_null(strstr(text, "orch_scale_events_total{source=\"api\"}"));
}

static void report(void)
{
	json_t *r;

	proc_end(&probe_cli, SIGTERM);
	r = probe_report();
	cr_log_info("RESULT connections %ld, broken %ld, resets %ld, echoes %ld, longest gap "
		    "overall %.1f ms (the lost-instance phase included)", probe_int(r, "conns"), probe_int(r, "broken"),
		    probe_int(r, "resets"), probe_int(r, "echoes"), probe_real(r, "max_gap_ms"));
	cr_assert_eq(probe_int(r, "broken"), 0);
	json_decref(r);
	cr_log_info("RESULT longest gap: kill -9 %.1f ms, hung %.1f ms, scale up %.1f ms, drain %.1f "
		    "ms, scale down %.1f ms, orchestrator restart %.1f ms, kill -9 after restart %.1f ms, "
		    "instance lost while down %.1f ms, OVS port down %.1f ms, autoscale %.1f ms", m.gap_kill,
		    m.gap_hung, m.gap_up, m.gap_drain, m.gap_down, m.gap_restart, m.gap_kill2, m.gap_lost,
		    m.gap_port, m.gap_autoscale);
	cr_log_info("RESULT detection to reroute: kill -9 %.1f ms, hung %.1f ms (detected %.0f ms after "
		    "SIGSTOP), kill -9 after restart %.1f ms, port down %.1f ms", m.rr_kill, m.rr_hung,
		    m.hung_detect_ms, m.rr_kill2, m.rr_port);
	cr_log_info("RESULT scale 3 -> 5: new instances carried traffic %.0f ms after the call "
		    "(in the steering %.0f ms after it)", m.scale_ms, m.scale_steer_ms);
}

TestSuite(orch_failover, .init = setup, .fini = teardown, .timeout = 420);

Test(orch_failover, kill_hang_scale_restart_under_200_connections)
{
	orch_start();
	phase_create();
	phase_traffic();
	phase_kill();
	phase_hung();
	phase_scale();
	phase_restart();
	phase_lost();
	metrics_check();
	phase_port_down();
	phase_autoscale();
	report();
}

/* ---- outages of the store and of the switch ---- */

/* Health field 'key' (a number), -1 when the API does not answer. */
static long long health_int(const char *key)
{
	json_t *h = get_json("/v1/health");
	long long v = h != NULL ? json_integer_value(json_object_get(h, key)) : -1;

	json_decref(h);
	return v;
}

static bool health_store_up(void)
{
	json_t *h = get_json("/v1/health");
	bool up = h != NULL && strcmp(json_string_value(json_object_get(h, "store")) ?: "", "up") == 0;

	json_decref(h);
	return up;
}

/* The ids of the NF's instances, in order, into 'ids' (';'-separated). */
static void inst_ids(char *ids, size_t size)
{
	struct inst_view v[MAX_INSTS];
	unsigned ready;
	int n = nf_insts(v, &ready);

	ids[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(ids + strlen(ids), size - strlen(ids), "%s;", v[i].id);
}

/* Redis frozen for 2 s (SIGSTOP: unreachable, its data kept): the instances forward their
 * established flows from their caches, the orchestrator judges no instance while it cannot
 * read heartbeats, and everything resumes when Redis does. */
static void phase_store_pause(void)
{
	char before[512], after[512], detail[512];
	uint64_t since = wall_ms() - 1, t0;

	inst_ids(before, sizeof(before));
	probe_mark();
	cr_assert_eq(kill(rs.pid, SIGSTOP), 0);
	t0 = mono_ms();
	while (health_store_up() && mono_ms() - t0 < 2000)
		sleep_ms(50);
	cr_assert_not(health_store_up(), "the orchestrator did not notice the store outage");
	sleep_ms(2000);
	cr_assert_eq(kill(rs.pid, SIGCONT), 0);
	t0 = mono_ms();
	while (!health_store_up() && mono_ms() - t0 < 10000)
		sleep_ms(50);
	cr_assert(health_store_up(), "the orchestrator did not reconnect to the store");
	sleep_ms(SETTLE_MS);
	inst_ids(after, sizeof(after));
	cr_assert_str_eq(after, before, "instances changed over a store outage");
	cr_assert_eq(event_find("failed", NULL, since, detail, sizeof(detail)), 0,
		     "an instance was declared failed during the store outage: %s", detail);
	m.gap_store = probe_check("store frozen 2 s", GAP_MAX_MS);
	mappings_check("store outage");
}

/* ovs-vswitchd killed and started again: the switch forwards nothing meanwhile, comes back
 * with its ports (same OpenFlow numbers) but no flows, connects to the orchestrator, which
 * programs it again; TCP retransmits across the gap and no connection breaks. */
static void phase_switch_restart(void)
{
	char before[512], after[512];
	long long connects = health_int("openflow_connects");
	uint64_t t0;

	inst_ids(before, sizeof(before));
	probe_mark();
	t0 = mono_ms();
	cr_assert_eq(ovs_kill_vswitchd(&ovs), 0);
	sleep_ms(500);
	cr_assert_eq(ovs_start_vswitchd(&ovs), 0, "%s", ovs.out);
	while (health_int("openflow_connects") <= connects && mono_ms() - t0 < 20000)
		sleep_ms(50);
	cr_assert_gt(health_int("openflow_connects"), connects, "the switch did not reconnect");
	cr_log_info("switch restart: connected again %llu ms after the kill",
		    (unsigned long long)(mono_ms() - t0));
	sleep_ms(2 * SETTLE_MS);
	inst_ids(after, sizeof(after));
	cr_assert_str_eq(after, before, "instances changed over a switch restart");
	m.gap_switch = probe_check("switch restarted", 0);
	mappings_check("switch restart");
}

/* The store and the switch go away under load and come back: nothing crashes, no
 * connection breaks, no instance is replaced, the steering is restored. */
Test(orch_failover, store_and_switch_outages, .timeout = 300)
{
	orch_start();
	phase_create();
	phase_traffic();
	phase_store_pause();
	phase_switch_restart();
	cr_assert_gt(hb_seq("nat-1") + hb_seq("nat-2") + hb_seq("nat-3"), 0);
	cr_log_info("RESULT outages: store frozen 2 s: longest gap %.1f ms; switch killed and "
		    "restarted: longest gap %.1f ms; 0 connections broken", m.gap_store,
		    m.gap_switch);
}

/* ---- several NFs on one bridge ---- */

#define FW_CONNS 20

/* POST /v1/nfs 'body': want status 'want' and, for an error, 'msg' in the answer. */
static void create_expect(const char *body, long want, const char *msg)
{
	char resp[65536];
	long st = http("POST", "/v1/nfs", body, resp);

	cr_assert_eq(st, want, "POST /v1/nfs %s: %ld %s", body, st, resp);
	if (msg != NULL)
		cr_assert(strstr(resp, msg) != NULL, "POST /v1/nfs %s: '%s' lacks '%s'", body, resp,
			  msg);
}

/* The sum of heartbeat counter 'field' over the instances of NF 'name'. */
static unsigned long long nf_counter(const char *name, const char *field)
{
	struct inst_view v[MAX_INSTS];
	unsigned ready;
	unsigned long long sum = 0;
	int n = nf_insts_of(name, v, &ready);

	for (int i = 0; i < n; i++) {
		redisReply *r = redisCommand(rc, "HGET snf:inst:%s %s", v[i].id, field);

		if (r != NULL && r->type == REDIS_REPLY_STRING)
			sum += strtoull(r->str, NULL, 10);
		freeReplyObject(r);
	}
	return sum;
}

/* A connection to port 'port' the firewall denies: the SYN is dropped, so the connect times
 * out (nothing listens on PROBE_PORT + 1: an allowed SYN there would be refused). */
static void denied_connect_times_out(int port)
{
	pid_t pid = spawn_in(&ns_c, path_in("probe-denied.log"), "%s/tcpprobe client %s:%d --conns 1 "
			     "--connect-timeout-ms 1000 --duration-s 2 --out %s", bin_dir,
			     FW_SERVER_IP, port, path_in("probe-denied.json"));
	json_t *r, *c;
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "the denied connection did not break "
		  "(status %#x)", st);
	r = probe_report_at("probe-denied.json");
	c = json_array_get(json_object_get(r, "per_conn"), 0);
	cr_assert(strstr(json_string_value(json_object_get(c, "error")), "timed out") != NULL,
		  "denied connection: %s (want a timeout: the firewall drops the SYN)",
		  json_string_value(json_object_get(c, "error")));
	json_decref(r);
}

static long long rules_version(void)
{
	redisReply *r = redisCommand(rc, "GET fw:rules_ver");
	long long v = r != NULL && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;

	freeReplyObject(r);
	return v;
}

/* PATCH the firewall's rules (deny everything): the running instances take the new rule
 * set from the store; the connections already open go on, a new one is dropped. */
static void patch_rules_apply_to_new_connections(void)
{
	long long v0 = rules_version();
	uint64_t t0 = mono_ms();
	char resp[65536];
	long echoes;
	json_t *r;

	cr_assert_gt(v0, 0, "the orchestrator published no rule set for fw");
	cr_assert_eq(http("PATCH", "/v1/nfs/fw", "{\"config\": {\"default\": \"deny\", \"rules\": "
			  "[]}}", resp), 200, "%s", resp);
	while (rules_version() == v0 && mono_ms() - t0 < 5000)
		sleep_ms(20);
	cr_assert_gt(rules_version(), v0, "PATCH did not publish the new rule set");
	sleep_ms(500);	/* the instances check the version every 100 ms */
	denied_connect_times_out(PROBE_PORT);
	r = probe_report_at("probe-fw.json");
	echoes = probe_int(r, "echoes");
	json_decref(r);
	sleep_ms(1000);
	r = probe_report_at("probe-fw.json");
	cr_assert_eq(probe_int(r, "broken"), 0, "established connections broke after the PATCH");
	cr_assert_gt(probe_int(r, "echoes"), echoes + FW_CONNS * 50, "established connections "
		     "stopped after the PATCH");
	json_decref(r);
	cr_log_info("PATCH fw: rule set version %lld -> %lld in %llu ms; new connections dropped, "
		    "%d established ones kept going", v0, rules_version(),
		    (unsigned long long)(mono_ms() - t0), FW_CONNS);
}

/* A firewall on uplinks of its own beside the NAT on the default ones, one bridge: each
 * carries its own connections and drops what its rules deny; an NF cannot take an uplink
 * in use, nor one that does not exist. */
Test(orch_failover, nfs_on_their_own_uplinks, .timeout = 300)
{
	json_t *r;
	unsigned long long nat_rx, fw_rx;

	orch_start();
	phase_create();
	create_expect("{\"name\": \"fw\", \"type\": \"firewall\", \"instances\": 2, \"uplinks\": "
		      "{\"inside\": \"upfi\", \"outside\": \"upfo\"}, \"config\": {\"default\": \"deny\", "
		      "\"rules\": [{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", "
		      "\"dst_ports\": 7777}]}}", 201, NULL);
	create_expect("{\"name\": \"fw2\", \"type\": \"firewall\", \"uplinks\": {\"inside\": "
		      "\"upfo\", \"outside\": \"upx\"}}", 409, "uplinks: upfo carries NF 'fw'");
	create_expect("{\"name\": \"nat2\", \"type\": \"nat\", \"config\": {\"public_ips\": "
		      "[\"203.0.113.9\"]}}", 409, "uplinks: upi carries NF 'nat'");
	create_expect("{\"name\": \"fw3\", \"type\": \"firewall\", \"uplinks\": {\"inside\": "
		      "\"nosuch0\", \"outside\": \"nosuch1\"}}", 400,
		      "uplinks.inside: interface 'nosuch0' does not exist");
	wait_ready_of("fw", 2, "firewall");
	/* Connections through both NFs; a port the firewall denies gets nowhere. */
	probe_srv = spawn_in(&ns_s, path_in("probe-server.log"), "%s/tcpprobe serve %d --duration-s "
			     "600 --out %s", bin_dir, PROBE_PORT, path_in("probe-server.json"));
	sleep_ms(300);
	probe_cli = spawn_in(&ns_c, path_in("probe.log"), "%s/tcpprobe client %s:%d --conns %d "
			     "--interval-ms 10 --duration-s 600 --out %s", bin_dir, SERVER_IP,
			     PROBE_PORT, FW_CONNS, path_in("probe.json"));
	probe_fw = spawn_in(&ns_c, path_in("probe-fw.log"), "%s/tcpprobe client %s:%d --conns %d "
			    "--interval-ms 10 --duration-s 600 --out %s", bin_dir, FW_SERVER_IP,
			    PROBE_PORT, FW_CONNS, path_in("probe-fw.json"));
	denied_connect_times_out(PROBE_PORT + 1);
	sleep_ms(3000);
	r = probe_report_at("probe.json");
	cr_assert_eq(probe_int(r, "connected"), FW_CONNS, "through the NAT: %s", path_in("probe.json"));
	cr_assert_eq(probe_int(r, "broken"), 0);
	json_decref(r);
	r = probe_report_at("probe-fw.json");
	cr_assert_eq(probe_int(r, "connected"), FW_CONNS, "through the firewall: %s",
		     path_in("probe-fw.json"));
	cr_assert_eq(probe_int(r, "broken"), 0);
	cr_assert_gt(probe_int(r, "echoes"), FW_CONNS * 100);
	json_decref(r);
	nat_rx = nf_counter(NF_NAME, "rx");
	fw_rx = nf_counter("fw", "rx");
	cr_log_info("two NFs on one bridge: NAT instances received %llu packets, firewall instances "
		    "%llu; the firewall dropped %llu by policy", nat_rx, fw_rx,
		    nf_counter("fw", "drop_policy"));
	cr_assert_gt(nat_rx, 1000);
	cr_assert_gt(fw_rx, 1000);
	cr_assert_gt(nf_counter("fw", "drop_policy"), 0, "the denied connection was not dropped");
	patch_rules_apply_to_new_connections();
}

/* ---- `make bench`: failover and scale-out over repeated runs ---- */

#define BENCH_KILLS 10
#define BENCH_HUNG 3
#define BENCH_SCALES 5

struct bench_series {
	const char *what, *target;
	double v[BENCH_KILLS];
	unsigned n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One Markdown table row: runs, median, max. */
static void bench_row(struct bench_series *s)
{
	double v[BENCH_KILLS];

	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	printf("| %s | %u | %.1f ms | %.1f ms | %s |\n", s->what, s->n,
	       s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2, v[s->n - 1], s->target);
}

static void bench_kills(struct bench_series *gap, struct bench_series *rr,
			struct bench_series *k2r)
{
	for (unsigned i = 0; i < BENCH_KILLS; i++) {
		double detect;

		rr->v[i] = fail_instance("bench kill -9", SIGKILL, 3, &detect);
		k2r->v[i] = detect + rr->v[i];
		gap->v[i] = probe_check("bench kill -9", GAP_MAX_MS);
	}
	gap->n = rr->n = k2r->n = BENCH_KILLS;
}

static void bench_hung(struct bench_series *detect, struct bench_series *gap)
{
	for (unsigned i = 0; i < BENCH_HUNG; i++) {
		fail_instance("bench SIGSTOP", SIGSTOP, 3, &detect->v[i]);
		gap->v[i] = probe_check("bench SIGSTOP", 0);
	}
	detect->n = gap->n = BENCH_HUNG;
}

/* Scale 3 -> 4 (time from the call until the new instance carries traffic), then back. */
static void bench_scale(struct bench_series *out, struct bench_series *gap)
{
	char resp[65536];

	for (unsigned i = 0; i < BENCH_SCALES; i++) {
		struct inst_view before[MAX_INSTS];
		unsigned ready;
		int n = nf_insts(before, &ready);
		uint64_t t0;

		probe_mark();
		t0 = mono_ms();
		cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 4}", resp), 200,
			     "%s", resp);
		out->v[i] = scale_traffic_ms(t0, before, n);
		wait_ready(4, "bench scale to 4");
		cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 3}", resp), 200,
			     "%s", resp);
		wait_ready(3, "bench scale to 3");
		sleep_ms(SETTLE_MS);
		gap->v[i] = probe_check("bench scale 3 -> 4 -> 3", GAP_MAX_MS);
	}
	out->n = gap->n = BENCH_SCALES;
}

/* The same measuring phases with no event: the machine's own noise in the longest gap. */
static void bench_quiet(struct bench_series *gap)
{
	for (unsigned i = 0; i < BENCH_HUNG; i++) {
		probe_mark();
		sleep_ms(SETTLE_MS + 1000);
		gap->v[i] = probe_check("bench, no event", GAP_MAX_MS);
	}
	gap->n = BENCH_HUNG;
}

enum { B_QUIET, B_GAP, B_RR, B_K2R, B_HDET, B_HGAP, B_SCALE, B_SGAP, B__N };

static const char *const bench_names[B__N][2] = {
	[B_QUIET] = { "longest gap with no event (this machine's noise)", "-" },
	[B_GAP] = { "longest gap after kill -9 (any connection)", "<= 10 ms median" },
	[B_RR] = { "kill -9: detection to reroute (orchestrator)", "-" },
	[B_K2R] = { "kill -9: signal to reroute (with the kernel's exit)", "-" },
	[B_HDET] = { "SIGSTOP: signal to detection (heartbeat 100 ms)", "<= 300 ms" },
	[B_HGAP] = { "longest gap after SIGSTOP", "-" },
	[B_SCALE] = { "scale-out: REST call to traffic on the new instance", "<= 1000 ms" },
	[B_SGAP] = { "longest gap, scale 3 -> 4 -> 3", "-" },
};

/* Run by `make bench` (SNF_FAILOVER_BENCH=1): prints a Markdown section. */
Test(orch_failover, bench_failover_and_scale_out, .timeout = 900)
{
	static struct bench_series b[B__N];
	json_t *r;

	if (getenv("SNF_FAILOVER_BENCH") == NULL)
		cr_skip_test("the failover benchmark runs with make bench (SNF_FAILOVER_BENCH=1)");
	for (unsigned i = 0; i < B__N; i++)
		b[i].what = bench_names[i][0], b[i].target = bench_names[i][1];
	orch_start();
	phase_create();
	phase_traffic();
	bench_quiet(&b[B_QUIET]);
	bench_kills(&b[B_GAP], &b[B_RR], &b[B_K2R]);
	bench_hung(&b[B_HDET], &b[B_HGAP]);
	bench_scale(&b[B_SCALE], &b[B_SGAP]);
	proc_end(&probe_cli, SIGTERM);
	r = probe_report();
	printf("\n## Failover and scale-out (NAT, 3 instances, %d TCP connections, a message "
	       "every 10 ms each, OVS userspace)\n\n", CONNS);
	printf("| measure | runs | median | max | target |\n|---|---|---|---|---|\n");
	for (unsigned i = 0; i < B__N; i++)
		bench_row(&b[i]);
	printf("| connections broken / reset over the %u events | %d | %ld / %ld | | 0 |\n",
	       BENCH_KILLS + BENCH_HUNG + 2 * BENCH_SCALES, CONNS, probe_int(r, "broken"),
	       probe_int(r, "resets"));
	fflush(stdout);
	cr_assert_eq(probe_int(r, "broken"), 0);
	json_decref(r);
}
