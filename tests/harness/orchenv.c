/* Test harness: the end-to-end fixture of the orchestrator's tests (see orchenv.h). */
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
#include "tests/harness/orchenv.h"

struct ovs ovs;
struct redis_server rs;
struct netns ns_c, ns_s;
redisContext *rc;
pid_t probe_srv, probe_cli, probe_fw;
char dir[64], bin_dir[PATH_MAX], bridge[16], base_url[64];
struct orch_measures m;

static pid_t sentinel, orch_pid;
static int orch_runs;

/* ---- small helpers ---- */

uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

const char *path_in(const char *name)
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
pid_t spawn_in(const struct netns *ns, const char *log, const char *fmt, ...)
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
int sh_out(char *out, size_t size, const char *fmt, ...)
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

int sh(const char *fmt, ...)
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
void proc_end(pid_t *pid, int sig)
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

void orch_daemon_start(void)
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
void orch_daemon_stop(void)
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
	/* A third for a load balancer (lb_vip_and_pool_patch): its clients on its outside
	 * uplink, its backends on its inside one. */
	topo_side(&ns_c, "uplbo", "cpl", LB_CLIENT_IP "/24", LB_VIP "/32");
	topo_side(&ns_s, "uplbi", "spl", LB_BACKEND1 "/24", "10.0.2.0/24");
	cr_assert_eq(netns_run(&ns_s, NULL, 0, "ip addr add " LB_BACKEND2 "/24 dev spl"), 0);
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

void setup(void)
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
void teardown(void)
{
	char resp[65536];
	uint64_t t0 = mono_ms();

	proc_end(&probe_cli, SIGKILL);
	proc_end(&probe_fw, SIGKILL);
	proc_end(&probe_srv, SIGKILL);
	if (orch_pid > 0) {
		http("DELETE", "/v1/nfs/fw", NULL, resp);
		http("DELETE", "/v1/nfs/lb", NULL, resp);
		http("DELETE", "/v1/nfs/" NF_NAME, NULL, resp);
		while (mono_ms() - t0 < 20000 &&
		       sh_out(NULL, 0, "ls %s/*.json >/dev/null 2>&1", path_in("run")) == 0)
			sleep_ms(100);
	}
	orch_daemon_stop();
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

void phase_create(void)
{
	char resp[65536];
	uint64_t t0 = mono_ms();
	long st = http("POST", "/v1/nfs", "{\"name\": \"" NF_NAME "\", \"type\": \"nat\", "
		       "\"instances\": 3, \"config\": {\"public_ips\": [\"" PUBLIC_IP "\"], "
		       "\"port_range\": [20000, 29999]}}", resp);

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

void phase_traffic(void)
{
	uint64_t t0 = mono_ms();
	unsigned n_maps;

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
	n_maps = mappings_snapshot();
	cr_assert_geq(n_maps, CONNS, "only %u NAT mappings for %d connections", n_maps, CONNS);
}

/* A ready instance of the NF ('skip' not), by the API. */
struct inst_view pick_instance(void)
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
double fail_instance(const char *phase, int sig, unsigned want, double *detect_ms)
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

/* The new instances' first traffic after a scale call at 't0': returns ms. */
double scale_traffic_ms(uint64_t t0, const struct inst_view *before, int n_before)
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
