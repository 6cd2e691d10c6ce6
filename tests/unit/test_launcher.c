/* The launcher (orchestrator/launcher.c) and its interface helpers (orchestrator/netdev.c):
 * real nf-nat instances on veths attached to a real OVS netdev bridge, heartbeating into a
 * real Redis; exit detection through pidfds, adoption after a restart, cleanup.
 *
 * Isolation: each test moves into a network namespace of its own (veths, taps and Redis's
 * port vanish with it) and starts the NF instances in a PID namespace of its own whose
 * init (a sentinel child) dies with the test: an instance left running by a failed or
 * timed-out test is killed by the kernel, although the launcher deliberately does not tie
 * instances to their parent's life. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
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
#include <jansson.h>

#include "orchestrator/launcher.h"
#include "orchestrator/netdev.h"
#include "tests/harness/nfproc.h"
#include "tests/harness/ovs.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define HB_MS 50
#define HB_WAIT_MS 15000
#define EXIT_WAIT_MS 5000
#define MAX_INSTS 4
#define NAT_CONFIG "{\"public_ips\":[\"203.0.113.1\"]}"

static struct ovs ovs;
static struct redis_server rs;
static redisContext *rc;
static struct orch_launcher_cfg cfg;
static struct orch_launcher *l;
static struct orch_nf_spec spec;
static struct orch_instance insts[MAX_INSTS];	/* what the test started: ended in .fini */
static char run_dir[64];
static pid_t sentinel;

/* ---- helpers ---- */

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_ms(void)
{
	return mono_us() / 1000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* From now on, children of this process start in a new PID namespace whose init is a
 * sentinel that dies with this process (and takes every process of the namespace along).
 * Call after starting the harness's servers: they check their parent's pid. */
static int pidns_enter(void)
{
	if (unshare(CLONE_NEWPID) < 0)
		return -errno;
	sentinel = fork();
	if (sentinel < 0)
		return -errno;
	if (sentinel == 0) {
		/* Our parent is outside the namespace (getppid() says 0): no check possible
		 * here that it still lives; the window before prctl is a few instructions. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGCHLD, SIG_IGN);	/* orphans reparented here are reaped at once */
		close_range(0, ~0U, 0);
		for (;;)
			pause();
	}
	return 0;
}

/* Kill the namespace, reaping our children in it (its init waits for them). */
static void pidns_leave(void)
{
	uint64_t deadline = mono_ms() + 5000;

	if (sentinel <= 0)
		return;
	kill(sentinel, SIGKILL);
	while (mono_ms() < deadline) {
		pid_t p = waitpid(-1, NULL, WNOHANG);

		if (p == sentinel || (p < 0 && errno == ECHILD))
			break;
		if (p == 0)
			sleep_ms(5);
	}
	sentinel = 0;
}

static void run_dir_remove(void)
{
	tmpdir_remove(run_dir);
	run_dir[0] = '\0';
}

/* The pid, as this process sees it, of the process that is 'ns_pid' in the sentinel's
 * PID namespace (a child of a child sees its children by their namespace pids). 0 if
 * none. */
static pid_t outer_pid(pid_t ns_pid)
{
	char path[64], ns[64], want[64], line[256];
	struct dirent *e;
	pid_t found = 0;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)sentinel);
	n = readlink(path, want, sizeof(want) - 1);
	if (n <= 0 || (d = opendir("/proc")) == NULL)
		return 0;
	want[n] = '\0';
	while (found == 0 && (e = readdir(d)) != NULL) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%.16s/ns/pid", e->d_name);
		n = readlink(path, ns, sizeof(ns) - 1);
		if (n <= 0 || (ns[n] = '\0', strcmp(ns, want) != 0))
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/status", e->d_name);
		f = fopen(path, "re");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			long outer, inner;

			if (sscanf(line, "NSpid: %ld %ld", &outer, &inner) == 2 && inner == ns_pid)
				found = (pid_t)outer;
		}
		if (f != NULL)
			fclose(f);
	}
	closedir(d);
	return found;
}

/* A file of the run dir. */
static const char *run_file(const char *id, const char *ext)
{
	static char buf[4][PATH_MAX + 64];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s.%s", cfg.run_dir, id, ext);
	return b;
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Poll 'fd' for POLLIN up to 'timeout_ms'; returns true when readable. */
static bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

/* The seq of the heartbeat of 'id', 0 when there is none. */
static unsigned long long hb_seq(const char *id)
{
	redisReply *r = redisCommand(rc, "HGET snf:inst:%s seq", id);
	unsigned long long v = 0;

	cr_assert_not_null(r, "redis: %s", rc->errstr);
	if (r->type == REDIS_REPLY_STRING)
		v = strtoull(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* Wait until the heartbeat of 'id' has a seq above 'above'; returns it (0: timeout). */
static unsigned long long hb_wait(const char *id, unsigned long long above, unsigned timeout_ms)
{
	uint64_t t0 = mono_ms();
	unsigned long long seq;

	while ((seq = hb_seq(id)) <= above && mono_ms() - t0 < timeout_ms)
		sleep_ms(5);
	return seq > above ? seq : 0;
}

/* A slot of insts[] for a new instance 'id'. */
static struct orch_instance *inst_new(const char *id)
{
	for (unsigned i = 0; i < MAX_INSTS; i++) {
		if (insts[i].id[0] == '\0') {
			memset(&insts[i], 0, sizeof(insts[i]));
			snprintf(insts[i].id, sizeof(insts[i].id), "%s", id);
			return &insts[i];
		}
	}
	cr_assert_fail("too many instances");
	return NULL;
}

/* Start instance 'id' and wait for its first heartbeat; 'hb_ms' gets the time from the
 * start call to that heartbeat. */
static struct orch_instance *start_ready(const char *id, long *hb_ms)
{
	struct orch_instance *inst = inst_new(id);
	char err[256] = "";
	uint64_t t0 = mono_ms(), t1;
	int ret = launcher_start(l, &spec, inst, err, sizeof(err));

	t1 = mono_ms();
	cr_assert_eq(ret, 0, "start %s: %d %s", id, ret, err);
	cr_assert_neq(hb_wait(id, 0, HB_WAIT_MS), 0, "no heartbeat from %s in %d ms (log %s)", id,
		      HB_WAIT_MS, run_file(id, "log"));
	cr_log_info("%s: launcher_start took %lu ms (veths, bridge ports, spawn); first heartbeat "
		    "%lu ms after it returned", id, (unsigned long)(t1 - t0),
		    (unsigned long)(mono_ms() - t1));
	if (hb_ms != NULL)
		*hb_ms = (long)(mono_ms() - t0);
	return inst;
}

/* End an instance whatever its state: SIGKILL, wait, collect, clean up. */
static void inst_end(struct orch_instance *inst)
{
	char err[256];
	int fd;

	if (inst->id[0] == '\0')
		return;
	if (l != NULL) {
		launcher_stop(l, inst, false, err, sizeof(err));
		fd = launcher_watch_fd(l, inst);
		if (fd >= 0)
			readable(fd, EXIT_WAIT_MS);
		launcher_check_exit(l, inst, NULL);
		launcher_cleanup(l, inst, err, sizeof(err));
	}
	memset(inst, 0, sizeof(*inst));
}

static bool bridge_has_port(const char *port)
{
	char ports[OVS_OUT_SIZE + 2];

	cr_assert_eq(ovs_vsctl(&ovs, "list-ports %s", cfg.bridge), 0, "%s", ovs.out);
	snprintf(ports, sizeof(ports), "\n%s\n", ovs.out);
	for (char *p = ports; (p = strstr(p, port)) != NULL; p++)
		if (p[-1] == '\n' && p[strlen(port)] == '\n')
			return true;
	return false;
}

/* Nothing of instance 'id' is left: no veth, no bridge port, no config, no DPDK dir. */
static void assert_clean(const char *id)
{
	char in[ORCH_IFNAME_MAX], out[ORCH_IFNAME_MAX], bin[ORCH_IFNAME_MAX], bout[ORCH_IFNAME_MAX];
	char dpdk[64];

	launcher_ifnames(cfg.bridge, id, in, out, bin, bout);
	cr_assert_not(netdev_exists(in), "%s left", in);
	cr_assert_not(netdev_exists(out), "%s left", out);
	cr_assert_not(netdev_exists(bin), "%s left", bin);
	cr_assert_not(netdev_exists(bout), "%s left", bout);
	cr_assert_not(bridge_has_port(bin), "port %s left on the bridge", bin);
	cr_assert_not(bridge_has_port(bout), "port %s left on the bridge", bout);
	cr_assert_not(file_exists(run_file(id, "json")), "config of %s left", id);
	snprintf(dpdk, sizeof(dpdk), "/var/run/dpdk/%.*s", 11, in);
	cr_assert_not(file_exists(dpdk), "%s left", dpdk);
}

/* ---- fixture ---- */

static void teardown(void)
{
	for (unsigned i = 0; i < MAX_INSTS; i++)
		inst_end(&insts[i]);
	launcher_destroy(l);
	l = NULL;
	orch_nf_spec_clear(&spec);
	if (rc != NULL)
		redisFree(rc);
	rc = NULL;
	ovs_stop(&ovs);
	redis_server_stop(&rs);
	pidns_leave();
	run_dir_remove();
}

static int fixture_servers(void)
{
	int ret = ovs_private_netns();

	if (ret == 0)
		ret = redis_server_start(&rs, NULL);
	if (ret == 0) {
		rc = redisConnect("127.0.0.1", rs.port);
		ret = rc != NULL && rc->err == 0 ? 0 : -EIO;
	}
	if (ret == 0)
		ret = ovs_start(&ovs);
	if (ret == 0)
		ret = ovs_add_bridge(&ovs, cfg.bridge) == 0 ? 0 : -EIO;
	if (ret == 0)
		ret = pidns_enter();
	return ret;
}

static void fixture_cfg(void)
{
	char bin[PATH_MAX];

	launcher_cfg_default(&cfg);
	cr_assert_eq(nfproc_build_path(".", bin, sizeof(bin)), 0);
	snprintf(cfg.bin_dir, sizeof(cfg.bin_dir), "%s", bin);
	snprintf(cfg.bridge, sizeof(cfg.bridge), "brl%d", (int)(getpid() % 1000000));
	cfg.heartbeat_ms = HB_MS;
	cfg.spare_ports = 0;	/* cleanup removes everything; spare_ports_are_reused sets it */
	tmpdir_sweep("snf-launch");
	snprintf(run_dir, sizeof(run_dir), "/tmp/snf-launch-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(run_dir), "mkdtemp: %s", strerror(errno));
	snprintf(cfg.run_dir, sizeof(cfg.run_dir), "%s/run", run_dir);
}

static void setup(void)
{
	char err[256] = "";
	int ret;

	memset(&ovs, 0, sizeof(ovs));
	memset(&rs, 0, sizeof(rs));
	memset(insts, 0, sizeof(insts));
	memset(&spec, 0, sizeof(spec));
	fixture_cfg();
	ret = fixture_servers();
	if (ret == 0) {
		redis_server_url(&rs, cfg.store_url, sizeof(cfg.store_url));
		snprintf(cfg.ovs_db, sizeof(cfg.ovs_db), "unix:%s/db.sock", ovs.dir);
		l = launcher_create(&cfg, err, sizeof(err));
		ret = l != NULL ? 0 : -EINVAL;
	}
	snprintf(spec.name, sizeof(spec.name), "nat");
	spec.type = ORCH_NF_NAT;
	spec.config = json_loads(NAT_CONFIG, 0, NULL);
	if (ret != 0)
		teardown();
	cr_assert_eq(ret, 0, "fixture: %s %s", strerror(-ret), err);
}

TestSuite(launcher, .init = setup, .fini = teardown, .timeout = 90);
TestSuite(netdev, .init = setup, .fini = teardown, .timeout = 60);

/* ---- launcher ---- */

Test(launcher, start_heartbeat_kill_cleanup)
{
	char in[ORCH_IFNAME_MAX], out[ORCH_IFNAME_MAX], bin[ORCH_IFNAME_MAX], bout[ORCH_IFNAME_MAX];
	const char *ends[4];
	struct orch_instance *inst;
	struct launcher_exit ex;
	char err[256], cmdline[64];
	uint64_t t_kill;
	long hb_ms;
	int fd;

	inst = start_ready("nat-1", &hb_ms);
	launcher_ifnames(cfg.bridge, "nat-1", in, out, bin, bout);
	cr_assert_gt(inst->pid, 0);
	cr_assert_eq(inst->state, ORCH_INST_LAUNCHING);
	cr_assert_str_eq(inst->nf, "nat");
	cr_assert_str_eq(inst->if_in, in);
	cr_assert_str_eq(inst->if_out, out);
	cr_assert_str_eq(inst->br_in, bin);
	cr_assert_str_eq(inst->br_out, bout);
	cr_assert_leq(strlen(bin), 15);
	cr_assert_gt(inst->launched_ms, 0);
	/* Ports on the bridge, with the OpenFlow numbers OVS gave them. */
	cr_assert_gt(inst->ofport_in, 0);
	cr_assert_gt(inst->ofport_out, 0);
	cr_assert_neq(inst->ofport_in, inst->ofport_out);
	cr_assert(bridge_has_port(bin) && bridge_has_port(bout), "ports: %s", ovs.out);
	cr_assert_eq(ovs_vsctl(&ovs, "get Interface %s ofport", bin), 0);
	cr_assert_eq(strtoul(ovs.out, NULL, 10), inst->ofport_in);
	/* Four prepared veth ends. */
	ends[0] = in, ends[1] = out, ends[2] = bin, ends[3] = bout;
	for (unsigned i = 0; i < 4; i++) {
		bool tso, gso, gro, up, lower;

		cr_assert_eq(netdev_offloads_get(ends[i], &tso, &gso, &gro, err, sizeof(err)), 0,
			     "%s", err);
		cr_assert(!tso && !gso && !gro, "%s: offloads tso %d gso %d gro %d", ends[i], tso,
			  gso, gro);
		cr_assert_eq(netdev_get_state(ends[i], &up, &lower, err, sizeof(err)), 0);
		cr_assert(up, "%s is down", ends[i]);
	}
	/* Its files and its command line. */
	cr_assert(file_exists(run_file("nat-1", "json")));
	cr_assert(file_exists(run_file("nat-1", "log")));
	snprintf(cmdline, sizeof(cmdline), "grep -qz -- '^--stats-interval-ms$' /proc/%d/cmdline",
		 (int)inst->pid);
	cr_assert_eq(system(cmdline), 0, "no --stats-interval-ms in its command line");
	/* Running: the pidfd is quiet. */
	fd = launcher_watch_fd(l, inst);
	cr_assert_geq(fd, 0);
	cr_assert_not(readable(fd, 0));
	cr_assert_eq(launcher_check_exit(l, inst, &ex), 0);
	cr_assert_neq(hb_wait("nat-1", hb_seq("nat-1"), 1000), 0, "heartbeats stopped");
	/* kill -9: the pidfd becomes readable. */
	t_kill = mono_us();
	cr_assert_eq(kill(inst->pid, SIGKILL), 0);
	cr_assert(readable(fd, EXIT_WAIT_MS), "pidfd not readable after SIGKILL");
	cr_log_info("nat-1: first heartbeat %ld ms after launcher_start; pidfd readable %lu us "
		    "after kill -9", hb_ms, (unsigned long)(mono_us() - t_kill));
	cr_assert_eq(launcher_check_exit(l, inst, &ex), 1);
	cr_assert(ex.status_known);
	cr_assert(WIFSIGNALED(ex.status) && WTERMSIG(ex.status) == SIGKILL, "%s", ex.desc);
	cr_assert_str_eq(ex.desc, "killed by signal 9 (Killed)");
	cr_assert_eq(launcher_watch_fd(l, inst), -ENOENT, "each exit is reported once");
	cr_assert_eq(launcher_check_exit(l, inst, &ex), -ENOENT);
	/* Cleanup, twice. */
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), 0, "%s", err);
	assert_clean("nat-1");
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), 0, "second cleanup: %s", err);
	cr_assert(file_exists(run_file("nat-1", "log")), "the log stays");
	memset(inst, 0, sizeof(*inst));
}

Test(launcher, graceful_stop_exits_0)
{
	struct orch_instance *inst = start_ready("nat-2", NULL);
	struct launcher_exit ex;
	char err[256];
	uint64_t t0;
	redisReply *r;
	int fd = launcher_watch_fd(l, inst);

	t0 = mono_ms();
	cr_assert_eq(launcher_stop(l, inst, true, err, sizeof(err)), 0, "%s", err);
	cr_assert(readable(fd, EXIT_WAIT_MS), "no exit %d ms after SIGTERM", EXIT_WAIT_MS);
	cr_log_info("nat-2: exited %lu ms after SIGTERM", (unsigned long)(mono_ms() - t0));
	cr_assert_eq(launcher_stop(l, inst, true, err, sizeof(err)), 0, "stopping an ended one");
	cr_assert_eq(launcher_check_exit(l, inst, &ex), 1);
	cr_assert(ex.status_known && WIFEXITED(ex.status) && WEXITSTATUS(ex.status) == 0, "%s",
		  ex.desc);
	cr_assert_str_eq(ex.desc, "exit status 0");
	r = redisCommand(rc, "EXISTS snf:inst:nat-2");
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0,
		  "a clean exit deletes the heartbeat");
	freeReplyObject(r);
	cr_assert_eq(launcher_stop(l, inst, true, err, sizeof(err)), -ESRCH, "%s", err);
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), 0, "%s", err);
	assert_clean("nat-2");
	memset(inst, 0, sizeof(*inst));
}

/* The orchestrator restarts (a new launcher in the same process): the instance is adopted,
 * its exit still seen. */
Test(launcher, adopt_after_restart)
{
	struct orch_instance *inst = start_ready("nat-3", NULL);
	struct launcher_exit ex;
	char err[256] = "";
	unsigned long long seq;
	int fd;

	launcher_destroy(l);
	l = launcher_create(&cfg, err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	cr_assert_eq(launcher_watch_fd(l, inst), -ENOENT);
	cr_assert_eq(launcher_adopt(l, inst, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(launcher_adopt(l, inst, err, sizeof(err)), 0, "adopting twice is a no-op");
	fd = launcher_watch_fd(l, inst);
	cr_assert_geq(fd, 0);
	cr_assert_not(readable(fd, 0));
	seq = hb_seq("nat-3");
	cr_assert_neq(hb_wait("nat-3", seq, 1000), 0, "the instance stopped heartbeating");
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), -EBUSY, "cleanup while running");
	cr_assert_eq(kill(inst->pid, SIGKILL), 0);
	cr_assert(readable(fd, EXIT_WAIT_MS));
	cr_assert_eq(launcher_check_exit(l, inst, &ex), 1);
	cr_assert(ex.status_known, "still our child: reaped");
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), 0, "%s", err);
	assert_clean("nat-3");
	memset(inst, 0, sizeof(*inst));
}

/* Kill 'inst' and wait for its exit. */
static void kill_and_wait(struct orch_instance *inst)
{
	int fd = launcher_watch_fd(l, inst);

	cr_assert_geq(fd, 0);
	cr_assert_eq(kill(inst->pid, SIGKILL), 0);
	cr_assert(readable(fd, EXIT_WAIT_MS));
	cr_assert_eq(launcher_check_exit(l, inst, NULL), 1);
}

static bool is_base_in_use(const char *base, void *arg)
{
	return strncmp((const char *)arg, base, strlen(base)) == 0;
}

/* With spare_ports, an ended instance's ports stay on the bridge and the next launch takes
 * them (no port added or removed); beyond the limit they go; after a restart the pairs
 * no record uses are spares again. */
Test(launcher, spare_ports_are_reused)
{
	struct orch_instance *a, *b, *c;
	char err[256] = "", a_in[ORCH_IFNAME_MAX], a_bin[ORCH_IFNAME_MAX];
	char x[ORCH_IFNAME_MAX], y[ORCH_IFNAME_MAX], z[ORCH_IFNAME_MAX], w[ORCH_IFNAME_MAX];
	uint32_t a_ofport;

	launcher_destroy(l);
	cfg.spare_ports = 1;
	l = launcher_create(&cfg, err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	a = start_ready("nat-1", NULL);
	snprintf(a_in, sizeof(a_in), "%s", a->if_in);
	snprintf(a_bin, sizeof(a_bin), "%s", a->br_in);
	a_ofport = a->ofport_in;
	kill_and_wait(a);
	cr_assert_eq(launcher_cleanup(l, a, err, sizeof(err)), 0, "%s", err);
	cr_assert(netdev_exists(a_in) && bridge_has_port(a_bin), "the ports of nat-1 are kept");
	cr_assert_not(file_exists(run_file("nat-1", "json")), "its config goes");
	memset(a, 0, sizeof(*a));
	/* nat-2 runs on them: same names, same OpenFlow ports, and nothing of its own. */
	b = start_ready("nat-2", NULL);
	cr_assert_str_eq(b->if_in, a_in);
	cr_assert_str_eq(b->br_in, a_bin);
	cr_assert_eq(b->ofport_in, a_ofport);
	launcher_ifnames(cfg.bridge, "nat-2", x, y, z, w);
	cr_assert_not(netdev_exists(x), "nat-2 created %s", x);
	/* nat-3 gets new ports (no spare left); when both end, one pair is kept (the limit). */
	c = start_ready("nat-3", NULL);
	cr_assert_str_neq(c->if_in, a_in);
	kill_and_wait(b);
	kill_and_wait(c);
	cr_assert_eq(launcher_cleanup(l, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(launcher_cleanup(l, c, err, sizeof(err)), 0, "%s", err);
	cr_assert(netdev_exists(a_in), "the first pair parked is kept");
	assert_clean("nat-3");
	memset(b, 0, sizeof(*b));
	memset(c, 0, sizeof(*c));
	/* A restarted launcher adopts the pair when no record uses it, not when one does. */
	launcher_destroy(l);
	l = launcher_create(&cfg, err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	launcher_spares_adopt(l, is_base_in_use, a_in);
	cr_assert(netdev_exists(a_in), "a pair in use is left alone");
	launcher_spares_adopt(l, is_base_in_use, "none");
	b = start_ready("nat-4", NULL);
	cr_assert_str_eq(b->if_in, a_in, "the adopted pair is reused");
	kill_and_wait(b);
	cfg.spare_ports = 0;
	launcher_destroy(l);
	l = launcher_create(&cfg, err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	cr_assert_eq(launcher_cleanup(l, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(netdev_exists(a_in), "spare_ports 0: removed");
	cr_assert_not(bridge_has_port(a_bin));
	memset(b, 0, sizeof(*b));
}

/* In a child process (the first orchestrator): start 'inst' and exit without stopping it. */
static void orchestrator_once(struct orch_instance *inst, int wfd)
{
	struct orch_launcher *l1;
	char err[256];

	l1 = launcher_create(&cfg, err, sizeof(err));
	if (l1 == NULL || launcher_start(l1, &spec, inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "first orchestrator: %s\n", err);
		_exit(1);
	}
	if (write(wfd, inst, sizeof(*inst)) != (ssize_t)sizeof(*inst))
		_exit(1);
	_exit(0);	/* no stop, no cleanup: the orchestrator "crashed" */
}

/* The orchestrator that launched the instance is gone; the instance keeps running and a
 * new orchestrator (not its parent) adopts it and sees its death. */
Test(launcher, adopt_orphan_of_a_dead_orchestrator)
{
	struct orch_instance *inst = inst_new("nat-4");
	struct launcher_exit ex;
	char err[256];
	unsigned long long seq;
	int pfd[2], status, fd;
	pid_t orch1;

	cr_assert_eq(pipe(pfd), 0);
	orch1 = fork();
	cr_assert_geq(orch1, 0);
	if (orch1 == 0)
		orchestrator_once(inst, pfd[1]);
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], inst, sizeof(*inst)), (ssize_t)sizeof(*inst),
		     "the first orchestrator failed (see stderr)");
	close(pfd[0]);
	cr_assert_eq(waitpid(orch1, &status, 0), orch1);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The first orchestrator ran inside the test's PID namespace: translate its pid
	 * (a real restarted orchestrator shares the namespace of the first). */
	inst->pid = outer_pid(inst->pid);
	cr_assert_gt(inst->pid, 0, "the orphan is not running");
	/* Traffic would keep flowing: the instance lives on and heartbeats. */
	seq = hb_wait("nat-4", 0, HB_WAIT_MS);
	cr_assert_neq(seq, 0, "no heartbeat from the orphan");
	cr_assert_neq(hb_wait("nat-4", seq + 2, 2000), 0, "the orphan stopped heartbeating");
	cr_assert_eq(launcher_adopt(l, inst, err, sizeof(err)), 0, "%s", err);
	fd = launcher_watch_fd(l, inst);
	cr_assert_geq(fd, 0);
	cr_assert_eq(launcher_stop(l, inst, false, err, sizeof(err)), 0, "%s", err);
	cr_assert(readable(fd, EXIT_WAIT_MS), "pidfd of an adopted process not readable");
	cr_assert_eq(launcher_check_exit(l, inst, &ex), 1);
	cr_assert_not(ex.status_known, "not our child: %s", ex.desc);
	cr_assert_str_eq(ex.desc, "ended (not our child: status unknown)");
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), 0, "%s", err);
	assert_clean("nat-4");
	memset(inst, 0, sizeof(*inst));
}

Test(launcher, adopt_and_stop_reject_strangers)
{
	struct orch_instance *inst = start_ready("nat-5", NULL);
	struct orch_instance other;
	char err[256] = "";
	pid_t dead;

	memset(&other, 0, sizeof(other));
	snprintf(other.id, sizeof(other.id), "nat-9");
	other.pid = getpid();	/* runs, but is not an instance */
	cr_assert_eq(launcher_adopt(l, &other, err, sizeof(err)), -ESRCH);
	cr_assert_not_null(strstr(err, "is not running it"), "%s", err);
	other.pid = inst->pid;	/* an instance, but another one */
	cr_assert_eq(launcher_adopt(l, &other, err, sizeof(err)), -ESRCH);
	cr_assert_eq(launcher_stop(l, &other, false, err, sizeof(err)), -ESRCH);
	other.pid = 0;
	cr_assert_eq(launcher_adopt(l, &other, err, sizeof(err)), -ESRCH);
	dead = fork();
	cr_assert_geq(dead, 0);
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	other.pid = dead;
	cr_assert_eq(launcher_adopt(l, &other, err, sizeof(err)), -ESRCH);
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), -EBUSY, "%s", err);
	cr_assert(netdev_exists(inst->if_in), "a refused cleanup removed nothing");
	cr_assert_eq(kill(inst->pid, 0), 0, "the instance was not touched");
}

Test(launcher, start_failures_leave_nothing)
{
	struct orch_launcher_cfg bad = cfg;
	struct orch_launcher *l2;
	struct orch_instance *inst;
	struct orch_instance tmp;
	struct launcher_exit ex;
	char err[256] = "";
	int fd;

	/* No such binary. */
	snprintf(bad.bin_dir, sizeof(bad.bin_dir), "%s", run_dir);
	l2 = launcher_create(&bad, err, sizeof(err));
	cr_assert_not_null(l2, "%s", err);
	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.id, sizeof(tmp.id), "nat-6");
	cr_assert_eq(launcher_start(l2, &spec, &tmp, err, sizeof(err)), -ENOENT, "%s", err);
	cr_assert_not_null(strstr(err, "nf-nat"), "%s", err);
	launcher_destroy(l2);
	assert_clean("nat-6");
	/* No such bridge: ovs-vsctl's own words, and no veth left. */
	bad = cfg;
	snprintf(bad.bridge, sizeof(bad.bridge), "nobr%d", (int)(getpid() % 100000));
	l2 = launcher_create(&bad, err, sizeof(err));
	cr_assert_not_null(l2, "%s", err);
	cr_assert_eq(launcher_start(l2, &spec, &tmp, err, sizeof(err)), -EIO, "%s", err);
	cr_assert_not_null(strstr(err, "no bridge named"), "%s", err);
	launcher_destroy(l2);
	{
		char in[ORCH_IFNAME_MAX], out[ORCH_IFNAME_MAX], bi[ORCH_IFNAME_MAX], bo[ORCH_IFNAME_MAX];

		launcher_ifnames(bad.bridge, "nat-6", in, out, bi, bo);
		cr_assert(!netdev_exists(in) && !netdev_exists(bi) && !netdev_exists(out) &&
			  !netdev_exists(bo), "veths left after a failed start");
	}
	/* A bad id. */
	snprintf(tmp.id, sizeof(tmp.id), "../x");
	cr_assert_eq(launcher_start(l, &spec, &tmp, err, sizeof(err)), -EINVAL, "%s", err);
	/* Twice the same id. */
	inst = start_ready("nat-7", NULL);
	memcpy(&tmp, inst, sizeof(tmp));
	cr_assert_eq(launcher_start(l, &spec, &tmp, err, sizeof(err)), -EEXIST, "%s", err);
	/* A config the NF refuses: it starts, exits 2, and its log says why. */
	json_decref(spec.config);
	spec.config = json_loads("{\"public_ips\":[\"203.0.113.x\"]}", 0, NULL);
	inst = inst_new("nat-8");
	cr_assert_eq(launcher_start(l, &spec, inst, err, sizeof(err)), 0, "%s", err);
	fd = launcher_watch_fd(l, inst);
	cr_assert(readable(fd, EXIT_WAIT_MS), "an NF with a bad config did not exit");
	cr_assert_eq(launcher_check_exit(l, inst, &ex), 1);
	cr_assert_str_eq(ex.desc, "exit status 2");
	cr_assert_not_null(strstr(ex.log_tail, "public_ips[0]"), "log tail: %s", ex.log_tail);
	cr_assert_eq(launcher_cleanup(l, inst, err, sizeof(err)), 0, "%s", err);
	assert_clean("nat-8");
	memset(inst, 0, sizeof(*inst));
}

Test(launcher, create_rejects_bad_config)
{
	struct orch_launcher_cfg bad = cfg;
	char err[256] = "";

	snprintf(bad.backend, sizeof(bad.backend), "docker");
	cr_assert_null(launcher_create(&bad, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "unknown backend 'docker'"), "%s", err);
	bad = cfg;
	snprintf(bad.bridge, sizeof(bad.bridge), "a/b");
	cr_assert_null(launcher_create(&bad, err, sizeof(err)));
	cr_assert_str_eq(launcher_cfg(l)->bridge, cfg.bridge);
}

/* ---- netdev ---- */

Test(netdev, names)
{
	cr_assert(netdev_name_ok("snf0123abcdi-b"));
	cr_assert(netdev_name_ok("a23456789012345"));
	cr_assert_not(netdev_name_ok("a234567890123456"), "16 characters");
	cr_assert_not(netdev_name_ok(""));
	cr_assert_not(netdev_name_ok(NULL));
	cr_assert_not(netdev_name_ok("a/b"));
	cr_assert_not(netdev_name_ok("a b"));
	cr_assert_not(netdev_name_ok("a:1"));
	cr_assert_not(netdev_name_ok(".."));
}

Test(netdev, veth_pair)
{
	char err[256] = "";
	uint8_t mac[6], zero[6] = { 0 };
	bool tso, gso, gro, up, lower;

	cr_assert_eq(netdev_veth_create("tv0", "tv1", 1400, err, sizeof(err)), 0, "%s", err);
	cr_assert(netdev_exists("tv0") && netdev_exists("tv1"));
	cr_assert_eq(netdev_veth_create("tv0", "tv2", 0, err, sizeof(err)), -EEXIST);
	cr_assert_not_null(strstr(err, "create veth tv0: File exists"), "%s", err);
	cr_assert_eq(netdev_veth_create("tv3", "bad/name", 0, err, sizeof(err)), -EINVAL);
	cr_assert_not(netdev_exists("tv3"));
	cr_assert_eq(netdev_get_state("tv0", &up, &lower, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(up);
	cr_assert_eq(netdev_port_prepare("tv0", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(netdev_port_prepare("tv1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(netdev_get_state("tv0", &up, &lower, err, sizeof(err)), 0, "%s", err);
	cr_assert(up);
	cr_assert_eq(netdev_offloads_get("tv0", &tso, &gso, &gro, err, sizeof(err)), 0, "%s", err);
	cr_assert(!tso && !gso && !gro);
	cr_assert_eq(system("ip link show tv0 | grep -q 'PROMISC.*mtu 1400'"), 0,
		     "tv0 not promiscuous with MTU 1400");
	cr_assert_eq(system("ethtool -k tv0 | grep -q '^tx-checksumming: on'"), 0,
		     "tx checksum offload must stay on");
	cr_assert_eq(netdev_set_mtu("tv0", 9000, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(system("ip link show tv0 | grep -q 'mtu 9000'"), 0);
	cr_assert_lt(netdev_set_mtu("tv0", 1000000, err, sizeof(err)), 0);
	cr_assert_eq(netdev_get_mac("tv0", mac, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(memcmp(mac, zero, 6), 0);
	cr_assert_eq(netdev_set_promisc("tv0", false, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(system("ip link show tv0 | grep -q PROMISC"), 0);
	cr_assert_eq(netdev_delete("tv0", err, sizeof(err)), 0, "%s", err);
	cr_assert_not(netdev_exists("tv0"));
	cr_assert_not(netdev_exists("tv1"), "deleting one end deletes the pair");
	cr_assert_eq(netdev_delete("tv0", err, sizeof(err)), 0, "deleting twice");
	cr_assert_eq(netdev_set_up("tv0", true, err, sizeof(err)), -ENODEV);
	cr_assert_str_eq(err, "set up tv0: no such interface");
}

Test(netdev, ovs_ports)
{
	struct netdev_ovs o = { .db = cfg.ovs_db, .timeout_ms = 5000 };
	const char *ports[] = { "tp0", "tp2" };
	uint32_t ofports[2], ofp;
	char err[256] = "";

	cr_assert_eq(netdev_veth_create("tp0", "tp1", 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(netdev_veth_create("tp2", "tp3", 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(netdev_ovs_add_ports(&o, cfg.bridge, ports, 2, ofports, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert(ofports[0] > 0 && ofports[1] > 0 && ofports[0] != ofports[1]);
	cr_assert_eq(netdev_ovs_ofport(&o, "tp2", &ofp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ofp, ofports[1]);
	/* Adding again is harmless and keeps the numbers. */
	cr_assert_eq(netdev_ovs_add_ports(&o, cfg.bridge, ports, 2, ofports + 0, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(ofports[1], ofp);
	cr_assert_eq(netdev_ovs_del_ports(&o, cfg.bridge, ports, 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(bridge_has_port("tp0"));
	cr_assert_eq(netdev_ovs_ofport(&o, "tp0", &ofp, err, sizeof(err)), -ENOENT, "%s", err);
	cr_assert_eq(netdev_ovs_del_ports(&o, cfg.bridge, ports, 2, err, sizeof(err)), 0,
		     "deleting twice: %s", err);
	/* An interface that does not exist: OVS says why. */
	ports[0] = "tpnone";
	cr_assert_eq(netdev_ovs_add_ports(&o, cfg.bridge, ports, 1, ofports, err, sizeof(err)),
		     -EIO);
	cr_assert_not_null(strstr(err, "ovs port tpnone: could not open network device tpnone"),
			   "%s", err);
	cr_assert_eq(netdev_ovs_del_ports(&o, cfg.bridge, ports, 1, err, sizeof(err)), 0, "%s", err);
	/* ovs-vsctl that cannot reach its database. */
	o.db = "unix:/nonexistent/db.sock";
	o.timeout_ms = 1000;
	cr_assert_lt(netdev_ovs_ofport(&o, "tp2", &ofp, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "ovs-vsctl"), "%s", err);
	netdev_delete("tp0", NULL, 0);
	netdev_delete("tp2", NULL, 0);
}

Test(netdev, run)
{
	const char *ok[] = { "sh", "-c", "echo out; echo err >&2", NULL };
	const char *fail[] = { "sh", "-c", "echo first line >&2; echo second >&2; exit 3", NULL };
	const char *slow[] = { "sleep", "10", NULL };
	const char *none[] = { "/nonexistent/prog", NULL };
	char out[64], err[256];
	uint64_t t0;

	cr_assert_eq(netdev_run(ok, 2000, out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, "out\n");
	cr_assert_eq(netdev_run(fail, 2000, out, sizeof(out), err, sizeof(err)), -EIO);
	cr_assert_str_eq(err, "sh: exit status 3: first line");
	t0 = mono_ms();
	cr_assert_eq(netdev_run(slow, 200, NULL, 0, err, sizeof(err)), -ETIMEDOUT);
	cr_assert_lt(mono_ms() - t0, 2000, "the timeout was not enforced");
	cr_assert_eq(netdev_run(none, 2000, NULL, 0, err, sizeof(err)), -ENOENT, "%s", err);
}
