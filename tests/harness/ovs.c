/* Test harness: a private Open vSwitch (ovsdb-server and ovs-vswitchd with the netdev
 * datapath) in its own temporary directory, started, restarted and stopped by the test. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/ovs.h"

#define DIR_PREFIX "snf-ovs-"
#define SCHEMA "/usr/share/openvswitch/vswitch.ovsschema"
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define POLL_MS 10
#define CMD_SIZE 4096

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- Network namespace ---- */

/* Raise the unsigned value in sysctl file 'path' to at least 'min'. */
static void sysctl_raise(const char *path, unsigned long min)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	if (v >= min || (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%lu\n", min);
	fclose(f);
}

/* The userspace datapath reads every port through an AF_PACKET socket with the default
 * receive buffer (net.core.rmem_default, global): at 200 KB a few milliseconds of work
 * in its main thread (a flow table change and the upcalls after it) overflow it and
 * packets of every flow are lost. Deployments raise it; so do the tests (deploy/demo.sh
 * too), before leaving the first network namespace: only there can it be written. */
#define OVS_RMEM_MIN (4ul << 20)

int ovs_private_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, rc = 0;

	sysctl_raise("/proc/sys/net/core/rmem_max", OVS_RMEM_MIN);
	sysctl_raise("/proc/sys/net/core/rmem_default", OVS_RMEM_MIN);
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* ---- Directories ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Remove /tmp/snf-ovs-PID-* directories whose test process is gone. */
static void sweep_stale_dirs(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;
	char path[300];
	long pid;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(DIR_PREFIX), NULL, 10);
		if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
		rm_tree(path);
	}
	closedir(d);
}

/* ---- Commands ---- */

/* Run "ENV PROGRAM ARGS 2>&1" through sh, output into 'o->out'. Returns the exit status. */
static int run_cmd(struct ovs *o, const char *program, const char *fmt, va_list ap)
{
	char cmd[CMD_SIZE], args[CMD_SIZE];
	size_t n = 0, got;
	FILE *f;
	int st;

	vsnprintf(args, sizeof(args), fmt, ap);
	if (snprintf(cmd, sizeof(cmd),
		     "OVS_RUNDIR=%s OVS_LOGDIR=%s OVS_DBDIR=%s OVS_SYSCONFDIR=%s %s %s 2>&1",
		     o->dir, o->dir, o->dir, o->dir, program, args) >= (int)sizeof(cmd))
		return -E2BIG;
	f = popen(cmd, "re");
	if (!f)
		return -errno;
	while (n < sizeof(o->out) - 1 && (got = fread(o->out + n, 1, sizeof(o->out) - 1 - n, f)) > 0)
		n += got;
	while (fgetc(f) != EOF)	/* drain what does not fit */
		;
	o->out[n] = '\0';
	if (n && o->out[n - 1] == '\n')
		o->out[n - 1] = '\0';
	st = pclose(f);
	if (st < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run 'program' with printf-formatted arguments. */
static int run_fmt(struct ovs *o, const char *program, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int run_fmt(struct ovs *o, const char *program, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run_cmd(o, program, fmt, ap);
	va_end(ap);
	return rc;
}

int ovs_vsctl(struct ovs *o, const char *fmt, ...)
{
	char program[256];
	va_list ap;
	int rc;

	snprintf(program, sizeof(program), "ovs-vsctl --db=unix:%s/db.sock --timeout=10", o->dir);
	va_start(ap, fmt);
	rc = run_cmd(o, program, fmt, ap);
	va_end(ap);
	return rc;
}

int ovs_ofctl(struct ovs *o, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = run_cmd(o, "ovs-ofctl -O OpenFlow13", fmt, ap);
	va_end(ap);
	return rc;
}

int ovs_appctl(struct ovs *o, const char *fmt, ...)
{
	char program[256];
	va_list ap;
	int rc;

	snprintf(program, sizeof(program), "ovs-appctl --timeout=10 -t %s/ovs-vswitchd.ctl", o->dir);
	va_start(ap, fmt);
	rc = run_cmd(o, program, fmt, ap);
	va_end(ap);
	return rc;
}

int ovs_add_bridge(struct ovs *o, const char *br)
{
	return ovs_vsctl(o, "add-br %s -- set bridge %s datapath_type=netdev protocols=OpenFlow13 "
			 "fail_mode=secure", br, br);
}

int ovs_set_controller(struct ovs *o, const char *br, uint16_t port)
{
	return ovs_vsctl(o, "set-controller %s tcp:127.0.0.1:%u", br, port);
}

int ovs_add_internal_port(struct ovs *o, const char *br, const char *name, unsigned ofport)
{
	if (ofport)
		return ovs_vsctl(o, "add-port %s %s -- set interface %s type=internal "
				 "ofport_request=%u", br, name, name, ofport);
	return ovs_vsctl(o, "add-port %s %s -- set interface %s type=internal", br, name, name);
}

/* ---- Daemons ---- */

/* In the child: die with the test, log to DIR/NAME.out, and exec 'argv'. */
static void child_exec(const struct ovs *o, const char *name, char *const argv[], pid_t parent)
{
	char log[300];
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent && getppid() != 0)	/* 0: the test is outside our PID namespace */
		_exit(127);
	snprintf(log, sizeof(log), "%s/%s.out", o->dir, name);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	setenv("OVS_RUNDIR", o->dir, 1);
	setenv("OVS_LOGDIR", o->dir, 1);
	setenv("OVS_DBDIR", o->dir, 1);
	setenv("OVS_SYSCONFDIR", o->dir, 1);
	execvp(argv[0], argv);
	_exit(127);
}

static pid_t spawn(const struct ovs *o, const char *name, char *const argv[])
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0)
		child_exec(o, name, argv, parent);
	return pid;
}

/* True once a unix socket at DIR/'name' accepts connections. */
static bool sock_answers(const struct ovs *o, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = snprintf(sa.sun_path, sizeof(sa.sun_path), "%.60s/%.40s", o->dir, name) <
		     (int)sizeof(sa.sun_path) &&
	     connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Reap '*pid' if it has exited; true when it has (then '*pid' is 0). */
static bool reaped(pid_t *pid)
{
	if (*pid <= 0 || waitpid(*pid, NULL, WNOHANG) != *pid)
		return *pid <= 0;
	*pid = 0;
	return true;
}

/* Wait for DIR/'sock' to answer: 0, -ECHILD if the daemon died, -ETIMEDOUT. */
static int wait_ready(const struct ovs *o, pid_t *pid, const char *sock)
{
	int waited;

	for (waited = 0; waited < START_TIMEOUT_MS; waited += POLL_MS) {
		if (sock_answers(o, sock))
			return 0;
		if (reaped(pid))
			return -ECHILD;
		sleep_ms(POLL_MS);
	}
	return -ETIMEDOUT;
}

/* SIGKILL and reap. */
static void kill_reap(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

/* Wait up to STOP_TIMEOUT_MS for '*pid' to exit, then SIGKILL it. */
static void wait_or_kill(pid_t *pid)
{
	int waited;

	for (waited = 0; waited < STOP_TIMEOUT_MS; waited += POLL_MS) {
		if (reaped(pid))
			return;
		sleep_ms(POLL_MS);
	}
	kill_reap(pid);
}

static int start_ovsdb(struct ovs *o)
{
	char db[200], remote[200], ctl[200], log[200], pidf[200];
	char *argv[] = { "ovsdb-server", db, remote, ctl, log, pidf, NULL };
	int rc;

	snprintf(db, sizeof(db), "%s/conf.db", o->dir);
	snprintf(remote, sizeof(remote), "--remote=punix:%s/db.sock", o->dir);
	snprintf(ctl, sizeof(ctl), "--unixctl=%s/ovsdb-server.ctl", o->dir);
	snprintf(log, sizeof(log), "--log-file=%s/ovsdb-server.log", o->dir);
	snprintf(pidf, sizeof(pidf), "--pidfile=%s/ovsdb-server.pid", o->dir);
	o->db_pid = spawn(o, "ovsdb-server", argv);
	if (o->db_pid < 0)
		return -errno;
	rc = wait_ready(o, &o->db_pid, "db.sock");
	if (rc == 0 && ovs_vsctl(o, "--no-wait init") != 0)
		rc = -EIO;
	return rc;
}

int ovs_start_vswitchd(struct ovs *o)
{
	char db[200], ctl[200], log[200], pidf[200];
	char *argv[] = { "ovs-vswitchd", db, ctl, log, pidf, NULL };
	int rc;

	if (o->vs_pid > 0 || !o->dir[0])
		return -EINVAL;
	snprintf(db, sizeof(db), "unix:%s/db.sock", o->dir);
	snprintf(ctl, sizeof(ctl), "--unixctl=%s/ovs-vswitchd.ctl", o->dir);
	snprintf(log, sizeof(log), "--log-file=%s/ovs-vswitchd.log", o->dir);
	snprintf(pidf, sizeof(pidf), "--pidfile=%s/ovs-vswitchd.pid", o->dir);
	unlink(ctl + strlen("--unixctl="));	/* a killed daemon's socket */
	o->vs_pid = spawn(o, "ovs-vswitchd", argv);
	if (o->vs_pid < 0) {
		o->vs_pid = 0;
		return -errno;
	}
	rc = wait_ready(o, &o->vs_pid, "ovs-vswitchd.ctl");
	if (rc < 0)
		kill_reap(&o->vs_pid);
	return rc;
}

int ovs_start(struct ovs *o)
{
	int rc;

	memset(o, 0, sizeof(*o));
	sweep_stale_dirs();
	snprintf(o->dir, sizeof(o->dir), "/tmp/" DIR_PREFIX "%d-XXXXXX", (int)getpid());
	if (!mkdtemp(o->dir)) {
		o->dir[0] = '\0';
		return -errno;
	}
	rc = run_fmt(o, "ovsdb-tool", "create %s/conf.db " SCHEMA, o->dir) ? -EIO : 0;
	if (rc == 0)
		rc = start_ovsdb(o);
	if (rc == 0)
		rc = ovs_start_vswitchd(o);
	if (rc < 0)
		ovs_stop(o);
	return rc;
}

int ovs_kill_vswitchd(struct ovs *o)
{
	if (o->vs_pid <= 0)
		return -ESRCH;
	kill_reap(&o->vs_pid);
	o->vs_paused = false;
	return 0;
}

int ovs_pause_vswitchd(struct ovs *o, bool pause)
{
	if (o->vs_pid <= 0)
		return -ESRCH;
	if (kill(o->vs_pid, pause ? SIGSTOP : SIGCONT) < 0)
		return -errno;
	o->vs_paused = pause;
	return 0;
}

/* ---- Stopping ---- */

/* The internal interfaces (taps) of this instance's database, separated by spaces. */
static void list_taps(struct ovs *o, char *names, size_t size)
{
	size_t n = 0;

	if (o->db_pid > 0 &&
	    ovs_vsctl(o, "--no-wait --bare --columns=name find interface type=internal") == 0) {
		n = strnlen(o->out, size - 1);
		memcpy(names, o->out, n);
	}
	names[n] = '\0';
}

/* Delete the taps in 'names' that still exist (those of a killed ovs-vswitchd). */
static void delete_taps(struct ovs *o, char *names)
{
	char *save = NULL, *name;

	for (name = strtok_r(names, " \n", &save); name; name = strtok_r(NULL, " \n", &save)) {
		if (strlen(name) < IFNAMSIZ && if_nametoindex(name))
			run_fmt(o, "ip", "link delete %s", name);
	}
}

static void stop_vswitchd(struct ovs *o)
{
	if (o->vs_paused)
		kill(o->vs_pid, SIGCONT);
	o->vs_paused = false;
	if (ovs_appctl(o, "exit --cleanup") != 0)
		kill_reap(&o->vs_pid);
	wait_or_kill(&o->vs_pid);
}

void ovs_stop(struct ovs *o)
{
	char taps[4096];

	if (!o->dir[0])
		return;
	list_taps(o, taps, sizeof(taps));
	if (o->vs_pid > 0)
		stop_vswitchd(o);
	delete_taps(o, taps);
	if (o->db_pid > 0) {
		kill(o->db_pid, SIGTERM);
		wait_or_kill(&o->db_pid);
	}
	rm_tree(o->dir);
	o->dir[0] = '\0';
}
