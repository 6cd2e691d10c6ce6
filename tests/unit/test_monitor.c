/* Heartbeat monitoring (orchestrator/monitor.c): the decision on synthetic heartbeats, and
 * real NF processes (build/tests/nf-passthru on net_null ports) publishing into a real Redis. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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

#include "datastore/store.h"
#include "orchestrator/monitor.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define HB_MS 50		/* the NFs' heartbeat interval in these tests */
#define POLL_MS 10		/* the monitor's poll period in these tests */
#define READY_WAIT_MS 15000
#define N_NFS 2

/* ---- the decision, on synthetic heartbeats ---- */

static const struct monitor_params params = { .interval_ms = 100, .start_timeout_ms = 5000 };

static struct monitor_sample hb(uint64_t seq, uint64_t rx, pid_t pid)
{
	return (struct monitor_sample){ .present = true, .ts_ms = 1000 + seq * 100, .seq = seq,
					.pps = 10.0, .busy = 0.25, .rx = rx, .tx = rx, .pid = pid };
}

static const struct monitor_sample none = { .present = false };

/* Judge 's' at 'now' and return the event. */
static enum monitor_event judge(struct monitor_track *t, struct monitor_sample s, uint64_t now,
				struct monitor_result *res)
{
	monitor_judge(t, &s, &params, now, 0, res);
	return res->event;
}

Test(monitor_judge, ready_on_the_first_heartbeat_of_this_process)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 42, false, 0);
	cr_assert_eq(judge(&t, none, 10, &r), MONITOR_NONE);
	cr_assert_eq(r.silent_ms, 0);
	cr_assert_eq(r.age_ms, -1);
	/* A stale key of an earlier process with the same id does not make it ready. */
	cr_assert_eq(judge(&t, hb(7, 0, 41), 50, &r), MONITOR_NONE);
	cr_assert_eq(judge(&t, hb(1, 0, 42), 300, &r), MONITOR_READY);
	cr_assert(r.advanced);
	cr_assert_float_eq(r.busy, 0.25, 1e-9);
	cr_assert_eq(judge(&t, hb(1, 0, 42), 310, &r), MONITOR_NONE, "READY is reported once");
	cr_assert_not(r.advanced);
	cr_assert_eq(judge(&t, hb(2, 0, 42), 400, &r), MONITOR_NONE);
	cr_assert(r.advanced);
}

Test(monitor_judge, pid_zero_accepts_any_publisher)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 0, false, 0);
	cr_assert_eq(judge(&t, hb(3, 0, 1234), 10, &r), MONITOR_READY);
}

/* A hung process: seq stops. Dead once more than 3 intervals passed since the poll that
 * saw the last new heartbeat, and only once. */
Test(monitor_judge, hang_after_three_intervals)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 42, false, 0);
	cr_assert_eq(judge(&t, hb(1, 0, 42), 100, &r), MONITOR_READY);
	cr_assert_eq(judge(&t, hb(2, 0, 42), 200, &r), MONITOR_NONE);
	for (uint64_t now = 210; now <= 500; now += 10) {
		cr_assert_eq(judge(&t, hb(2, 0, 42), now, &r), MONITOR_NONE, "dead early at %lu",
			     (unsigned long)now);
		cr_assert_eq(r.silent_ms, now - 200);
	}
	cr_assert_eq(judge(&t, hb(2, 0, 42), 501, &r), MONITOR_DEAD);
	cr_assert_not_null(strstr(r.reason, "no new heartbeat for 301 ms (3 intervals of 100 ms)"),
			   "%s", r.reason);
	cr_assert_eq(judge(&t, hb(2, 0, 42), 600, &r), MONITOR_NONE, "DEAD is reported once");
	cr_assert_eq(judge(&t, hb(3, 0, 42), 610, &r), MONITOR_NONE, "dead is final");
}

/* A restarted NF (same pid in this synthetic case) starts its seq again: still new. */
Test(monitor_judge, any_change_of_seq_is_new)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 0, false, 0);
	judge(&t, hb(9, 0, 0), 100, &r);
	cr_assert_eq(judge(&t, hb(1, 0, 0), 390, &r), MONITOR_NONE);
	cr_assert(r.advanced);
	cr_assert_eq(judge(&t, hb(1, 0, 0), 650, &r), MONITOR_NONE);
}

Test(monitor_judge, gone)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 42, false, 0);
	judge(&t, hb(1, 0, 42), 100, &r);
	cr_assert_eq(judge(&t, none, 150, &r), MONITOR_DEAD);
	cr_assert_not_null(strstr(r.reason, "heartbeat gone"), "%s", r.reason);
	/* Another process's heartbeat under this id is as good as none. */
	monitor_track_init(&t, 42, false, 0);
	judge(&t, hb(1, 0, 42), 100, &r);
	cr_assert_eq(judge(&t, hb(5, 0, 43), 150, &r), MONITOR_DEAD);
}

Test(monitor_judge, start_timeout)
{
	struct monitor_track t;
	struct monitor_result r;
	struct monitor_params p = params;

	monitor_track_init(&t, 42, false, 1000);
	cr_assert_eq(judge(&t, none, 6000, &r), MONITOR_NONE);
	cr_assert_eq(judge(&t, none, 6001, &r), MONITOR_DEAD);
	cr_assert_not_null(strstr(r.reason, "no heartbeat within 5000 ms"), "%s", r.reason);
	p.start_timeout_ms = 0;
	monitor_track_init(&t, 42, false, 1000);
	monitor_judge(&t, &none, &p, 1000000, 0, &r);
	cr_assert_eq(r.event, MONITOR_NONE, "0 = no limit");
}

/* An adopted ready instance: no second READY; the hang rule counts from the adoption. */
Test(monitor_judge, adopted)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 42, true, 5000);
	cr_assert_eq(judge(&t, hb(77, 0, 42), 5010, &r), MONITOR_NONE);
	cr_assert(r.advanced);
	cr_assert_eq(judge(&t, hb(77, 0, 42), 5310, &r), MONITOR_NONE);
	cr_assert_eq(judge(&t, hb(77, 0, 42), 5311, &r), MONITOR_DEAD);
	/* Adopted, but its key is gone (it died while the orchestrator was down). */
	monitor_track_init(&t, 42, true, 5000);
	cr_assert_eq(judge(&t, none, 5010, &r), MONITOR_DEAD);
}

/* Draining: only new heartbeats count; rx + tx unchanged twice in a row = drained. */
Test(monitor_judge, drained)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 42, false, 0);
	judge(&t, hb(1, 100, 42), 100, &r);
	judge(&t, hb(2, 200, 42), 200, &r);
	monitor_track_drain(&t);
	cr_assert_eq(judge(&t, hb(3, 250, 42), 300, &r), MONITOR_NONE, "still moving");
	cr_assert_eq(judge(&t, hb(4, 260, 42), 400, &r), MONITOR_NONE, "still moving");
	cr_assert_eq(judge(&t, hb(5, 260, 42), 500, &r), MONITOR_NONE, "unchanged once");
	for (uint64_t now = 510; now < 600; now += 10)
		cr_assert_eq(judge(&t, hb(5, 260, 42), now, &r), MONITOR_NONE,
			     "the same heartbeat again does not count");
	cr_assert_eq(judge(&t, hb(6, 261, 42), 600, &r), MONITOR_NONE, "moved: start over");
	cr_assert_eq(judge(&t, hb(7, 261, 42), 700, &r), MONITOR_NONE);
	cr_assert_eq(judge(&t, hb(8, 261, 42), 800, &r), MONITOR_DRAINED);
	cr_assert_not_null(strstr(r.reason, "rx + tx unchanged at 522"), "%s", r.reason);
	cr_assert_eq(judge(&t, hb(9, 261, 42), 900, &r), MONITOR_NONE, "DRAINED is reported once");
}

Test(monitor_judge, dead_while_draining_is_drained)
{
	struct monitor_track t;
	struct monitor_result r;

	monitor_track_init(&t, 42, false, 0);
	judge(&t, hb(1, 100, 42), 100, &r);
	monitor_track_drain(&t);
	cr_assert_eq(judge(&t, none, 200, &r), MONITOR_DRAINED);
	cr_assert_not_null(strstr(r.reason, "stopped while draining: heartbeat gone"), "%s",
			   r.reason);
}

Test(monitor_judge, event_names)
{
	cr_assert_str_eq(monitor_event_name(MONITOR_READY), "ready");
	cr_assert_str_eq(monitor_event_name(MONITOR_DEAD), "dead");
	cr_assert_str_eq(monitor_event_name(MONITOR_DRAINED), "drained");
	cr_assert_str_eq(monitor_event_name((enum monitor_event)99), "?");
}

/* ---- real heartbeats ---- */

static struct redis_server rs;
static struct store *st;
static redisContext *rc;
static char dir[64];
static pid_t nfs[N_NFS];

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void kill_nfs(void)
{
	for (unsigned i = 0; i < N_NFS; i++) {
		if (nfs[i] > 0) {
			kill(nfs[i], SIGCONT);
			kill(nfs[i], SIGKILL);
			waitpid(nfs[i], NULL, 0);
		}
		nfs[i] = 0;
	}
}

static void teardown(void)
{
	char path[128];

	kill_nfs();
	if (rc != NULL)
		redisFree(rc);
	rc = NULL;
	store_close(st);
	st = NULL;
	redis_server_stop(&rs);
	for (unsigned i = 0; i < N_NFS; i++) {
		snprintf(path, sizeof(path), "%s/nf%u.log", dir, i);
		unlink(path);
		snprintf(path, sizeof(path), "/var/run/dpdk/snfmon%d-%u", (int)getpid(), i);
		rmdir(path);
	}
	rmdir(dir);
}

/* Criterion skips .fini when .init fails: undo what was done before failing. */
static void setup(void)
{
	struct store_cfg cfg;
	uint64_t deadline;
	int ret;

	memset(&rs, 0, sizeof(rs));
	memset(nfs, 0, sizeof(nfs));
	tmpdir_sweep("snf-mon");
	snprintf(dir, sizeof(dir), "/tmp/snf-mon-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	ret = redis_server_start(&rs, NULL);
	if (ret == 0) {
		redis_server_store_cfg(&rs, 0, &cfg);
		st = store_open(&cfg, "monitor-test");
		rc = redisConnect("127.0.0.1", rs.port);
		ret = st != NULL && rc != NULL && rc->err == 0 ? 0 : -EIO;
	}
	deadline = mono_ms() + 2000;
	while (ret == 0 && !store_ready(st, mono_ms() * 1000u) && mono_ms() < deadline)
		sleep_ms(10);
	if (ret == 0 && !store_ready(st, mono_ms() * 1000u))
		ret = -ENOTCONN;
	if (ret != 0)
		teardown();
	cr_assert_eq(ret, 0, "cannot start redis-server: %s", strerror(-ret));
}

/* Start nf-passthru 'i' as instance 'id' on two net_null ports (it always has packets:
 * busy near 1), heartbeat every HB_MS. It dies with the test. */
static pid_t nf_start(unsigned i, const char *id)
{
	char exe[PATH_MAX], url[64], lcore[16], prefix[48], hbs[16], log[128];
	pid_t parent = getpid(), pid;

	cr_assert_eq(nfproc_build_path("tests/nf-passthru", exe, sizeof(exe)), 0);
	cr_assert(access(exe, X_OK) == 0, "%s: %s (make all)", exe, strerror(errno));
	redis_server_url(&rs, url, sizeof(url));
	snprintf(lcore, sizeof(lcore), "%u", nfproc_pick_lcore(i));
	snprintf(prefix, sizeof(prefix), "snfmon%d-%u", (int)parent, i);
	snprintf(hbs, sizeof(hbs), "%u", HB_MS);
	snprintf(log, sizeof(log), "%s/nf%u.log", dir, i);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(exe, exe, "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--no-telemetry",
		      "-l", lcore, "--file-prefix", prefix, "--vdev=net_null0", "--vdev=net_null1",
		      "--", "--id", id, "--store", url, "--stats-interval-ms", hbs, (char *)NULL);
		_exit(127);
	}
	nfs[i] = pid;
	return pid;
}

/* Poll the heartbeat of 'id' every POLL_MS, judging each sample, until 'want' or
 * 'timeout_ms'. Returns the time it took (ms) or -1. */
static long poll_until(const char *id, struct monitor_track *t, enum monitor_event want,
		       unsigned timeout_ms, struct monitor_result *res)
{
	const struct monitor_params p = { .interval_ms = HB_MS, .start_timeout_ms = READY_WAIT_MS };
	uint64_t t0 = mono_ms();
	char err[256];

	while (mono_ms() - t0 < timeout_ms) {
		struct monitor_sample s;
		int ret = monitor_fetch(st, &id, 1, &s, err, sizeof(err));

		cr_assert_eq(ret, 0, "%s", err);
		monitor_judge(t, &s, &p, mono_ms(), 0, res);
		if (res->event == want)
			return (long)(mono_ms() - t0);
		cr_assert(res->event == MONITOR_NONE, "%s: unexpected %s: %s", id,
			  monitor_event_name(res->event), res->reason);
		sleep_ms(POLL_MS);
	}
	return -1;
}

TestSuite(monitor, .init = setup, .fini = teardown, .timeout = 60);

Test(monitor, fetch_missing_and_synthetic)
{
	const char *ids[] = { "nobody", "syn-1" };
	struct monitor_sample s[2];
	redisReply *r;
	char err[256];
	uint64_t rt0;

	r = redisCommand(rc, "HSET snf:inst:syn-1 nf passthru pid 77 ts_ms 1700000000123 seq 9 "
			 "pps 1500 busy 0.625 rx 1000 tx 990 drop_policy 3");
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	rt0 = store_get_stats(st)->round_trips;
	cr_assert_eq(monitor_fetch(st, ids, 2, s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_get_stats(st)->round_trips, rt0 + 1, "one pipelined batch");
	cr_assert_not(s[0].present);
	cr_assert(s[1].present);
	cr_assert_eq(s[1].ts_ms, 1700000000123ull);
	cr_assert_eq(s[1].seq, 9);
	cr_assert_float_eq(s[1].pps, 1500.0, 1e-9);
	cr_assert_float_eq(s[1].busy, 0.625, 1e-9);
	cr_assert_eq(s[1].rx, 1000);
	cr_assert_eq(s[1].tx, 990);
	cr_assert_eq(s[1].pid, 77);
	cr_assert_eq(monitor_fetch(st, ids, 0, s, err, sizeof(err)), 0);
}

Test(monitor, fetch_with_the_store_down)
{
	const char *id = "x";
	struct monitor_sample s;
	char err[256] = "";

	cr_assert_eq(redis_server_kill(&rs), 0);
	cr_assert_lt(monitor_fetch(st, &id, 1, &s, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "heartbeats: store"), "%s", err);
}

/* A real instance: ready on its first heartbeat, load visible, SIGSTOP (a hang) declared
 * dead after 3 intervals, SIGKILL: the key expires. */
Test(monitor, real_instance_ready_hang_kill, .timeout = 60)
{
	const char *id = "mon-a";
	struct monitor_track t;
	struct monitor_result r;
	struct monitor_sample s;
	uint64_t t_stop, t0;
	long ready_ms, dead_ms;
	pid_t pid;
	char err[256];

	t0 = mono_ms();
	pid = nf_start(0, id);
	monitor_track_init(&t, pid, false, t0);
	ready_ms = poll_until(id, &t, MONITOR_READY, READY_WAIT_MS, &r);
	cr_assert_geq(ready_ms, 0, "no first heartbeat in %u ms", READY_WAIT_MS);
	/* A second or so of normal running: no false alarm, load near 1 on net_null. */
	cr_assert_eq(poll_until(id, &t, MONITOR_DEAD, 1000, &r), -1);
	cr_assert_gt(r.pps, 1000.0, "pps %.0f", r.pps);
	cr_assert_gt(r.busy, 0.5, "busy %.3f", r.busy);
	/* Hang. */
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	t_stop = mono_ms();
	dead_ms = poll_until(id, &t, MONITOR_DEAD, 2000, &r);
	cr_assert_geq(dead_ms, 0, "a stopped instance was not declared dead");
	dead_ms = (long)(mono_ms() - t_stop);
	cr_log_info("first heartbeat %ld ms after fork; SIGSTOP declared dead after %ld ms "
		    "(heartbeat %d ms, poll %d ms): %s", ready_ms, dead_ms, HB_MS, POLL_MS,
		    r.reason);
	cr_assert_geq(dead_ms, 2 * HB_MS - 2 * POLL_MS, "declared dead too early: %ld ms", dead_ms);
	cr_assert_leq(dead_ms, 3 * HB_MS + 2 * POLL_MS + 100, "declared dead late: %ld ms",
		      dead_ms);
	/* SIGKILL: the key stays until its TTL (max(10 intervals, 3 s)) runs out. */
	cr_assert_eq(kill(pid, SIGKILL), 0);
	waitpid(pid, NULL, 0);
	nfs[0] = 0;
	t0 = mono_ms();
	do {
		cr_assert_eq(monitor_fetch(st, &id, 1, &s, err, sizeof(err)), 0, "%s", err);
		if (s.present)
			sleep_ms(50);
	} while (s.present && mono_ms() - t0 < 5000);
	cr_assert_not(s.present, "the heartbeat of a killed instance did not expire");
	cr_log_info("heartbeat key expired %lu ms after SIGKILL", (unsigned long)(mono_ms() - t0));
}

/* A clean exit deletes the heartbeat: "gone" at the next poll. Two instances, one batch. */
Test(monitor, two_instances_clean_exit_is_gone, .timeout = 60)
{
	const char *ids[N_NFS] = { "mon-b", "mon-c" };
	struct monitor_sample s[N_NFS];
	struct monitor_track t;
	struct monitor_result r;
	char err[256];
	uint64_t t0 = mono_ms();
	pid_t pid;
	int status;

	pid = nf_start(0, ids[0]);
	nf_start(1, ids[1]);
	do {
		cr_assert_eq(monitor_fetch(st, ids, N_NFS, s, err, sizeof(err)), 0, "%s", err);
		sleep_ms(POLL_MS);
	} while (!(s[0].present && s[1].present) && mono_ms() - t0 < READY_WAIT_MS);
	cr_assert(s[0].present && s[1].present, "no heartbeats from both");
	cr_assert_eq(s[0].pid, pid);
	monitor_track_init(&t, pid, false, mono_ms());
	cr_assert_geq(poll_until(ids[0], &t, MONITOR_READY, 1000, &r), 0);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	nfs[0] = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	cr_assert_geq(poll_until(ids[0], &t, MONITOR_DEAD, 500, &r), 0, "not gone at once");
	cr_assert_not_null(strstr(r.reason, "heartbeat gone"), "%s", r.reason);
	cr_assert_eq(monitor_fetch(st, ids, N_NFS, s, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(s[0].present);
	cr_assert(s[1].present, "the other instance is unaffected");
}
