/* Running a program (netdev_run) and the OVS bridge ports of NF instances via ovs-vsctl. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "orchestrator/netdev.h"
#include "orchestrator/netdev_int.h"

#define RUN_ERR_SIZE 1024		/* stderr kept of a program run */
#define OFPORT_POLL_MS 20
#define OVS_DEFAULT_TIMEOUT_MS 10000
#define OVS_MAX_PORTS 8

extern char **environ;

static uint64_t netdev_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- running a program ---- */

/* A spawned program with its stdout and stderr on pipes. */
struct run {
	pid_t pid;
	int fds[2];		/* read ends: stdout, stderr; -1 once at EOF */
	char *bufs[2];
	size_t sizes[2], lens[2];
};

static int run_spawn(struct run *r, const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	sigset_t none, all;
	int ret;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		ret = -errno;
		goto err;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	ret = -posix_spawnp(&r->pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
err:
	for (int i = 0; i < 2; i++) {
		if (i == 1 || ret < 0) {
			if (out[i] >= 0)
				close(out[i]);
			if (errp[i] >= 0)
				close(errp[i]);
		}
	}
	r->fds[0] = ret < 0 ? -1 : out[0];
	r->fds[1] = ret < 0 ? -1 : errp[0];
	return ret;
}

/* Read what is available on pipe 'i'; close it at EOF. */
static void run_read(struct run *r, int i)
{
	char scratch[512];
	size_t room = r->sizes[i] > r->lens[i] + 1 ? r->sizes[i] - r->lens[i] - 1 : 0;
	char *dst = room > 0 ? r->bufs[i] + r->lens[i] : scratch;
	ssize_t n = read(r->fds[i], dst, room > 0 ? room : sizeof(scratch));

	if (n > 0 && room > 0) {
		r->lens[i] += (size_t)n;
		r->bufs[i][r->lens[i]] = '\0';
	}
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		close(r->fds[i]);
		r->fds[i] = -1;
	}
}

/* Collect both pipes until EOF on both or 'deadline_ms'. Returns 0 or -ETIMEDOUT. */
static int run_collect(struct run *r, uint64_t deadline_ms)
{
	while (r->fds[0] >= 0 || r->fds[1] >= 0) {
		struct pollfd pfds[2] = { { .fd = r->fds[0], .events = POLLIN },
					  { .fd = r->fds[1], .events = POLLIN } };
		uint64_t now = netdev_mono_ms();

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		if (poll(pfds, 2, (int)(deadline_ms - now)) < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2; i++)
			if (pfds[i].fd >= 0 && pfds[i].revents != 0)
				run_read(r, i);
	}
	return 0;
}

/* Reap the program; kill it first if it is past 'deadline_ms'. Returns its wait status. */
static int run_reap(struct run *r, uint64_t deadline_ms)
{
	int status = 0;

	for (;;) {
		pid_t p = waitpid(r->pid, &status, WNOHANG);

		if (p == r->pid || (p < 0 && errno != EINTR))
			return p == r->pid ? status : -1;
		if (netdev_mono_ms() >= deadline_ms) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
}

/* First line of 'text' (without the newline) into 'dst'. */
static void first_line(char *dst, size_t size, const char *text)
{
	size_t len = strcspn(text, "\n");

	snprintf(dst, size, "%.*s", (int)len, text);
}

int netdev_run(const char *const *argv, unsigned timeout_ms, char *out, size_t outsize,
	       char *err, size_t errsz)
{
	char errbuf[RUN_ERR_SIZE] = "", line[256];
	struct run r = { .bufs = { out, errbuf }, .sizes = { out != NULL ? outsize : 0,
							      sizeof(errbuf) } };
	uint64_t deadline = netdev_mono_ms() + timeout_ms;
	int ret, status;

	if (out != NULL && outsize > 0)
		out[0] = '\0';
	ret = run_spawn(&r, argv);
	if (ret < 0)
		return netdev_fail(ret, err, errsz, "%s: %s", argv[0], strerror(-ret));
	ret = run_collect(&r, deadline);
	for (int i = 0; i < 2; i++)
		if (r.fds[i] >= 0)
			close(r.fds[i]);
	status = run_reap(&r, ret < 0 ? 0 : deadline);
	if (ret < 0 || status < 0)
		return netdev_fail(-ETIMEDOUT, err, errsz, "%s: no answer within %u ms", argv[0],
				   timeout_ms);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	first_line(line, sizeof(line), errbuf);
	if (WIFSIGNALED(status))
		return netdev_fail(-EIO, err, errsz, "%s: killed by signal %d", argv[0],
				   WTERMSIG(status));
	if (WEXITSTATUS(status) == 127 && line[0] == '\0')
		return netdev_fail(-ENOENT, err, errsz, "%s: could not be run", argv[0]);
	return netdev_fail(-EIO, err, errsz, "%s: exit status %d%s%s", argv[0],
			   WEXITSTATUS(status), line[0] ? ": " : "", line);
}

/* ---- OVS bridge ports ---- */

/* The start of an ovs-vsctl command line: program, --db, --timeout (seconds). Returns the
 * number of arguments written to 'argv'; 'tmo' and 'db' hold their text. */
static int ovs_argv_head(const struct netdev_ovs *ovs, const char **argv, char *db, size_t dbsz,
			 char *tmo, size_t tmosz)
{
	unsigned ms = ovs->timeout_ms > 0 ? ovs->timeout_ms : OVS_DEFAULT_TIMEOUT_MS;
	int n = 0;

	argv[n++] = ovs->vsctl != NULL && ovs->vsctl[0] ? ovs->vsctl : "ovs-vsctl";
	if (ovs->db != NULL && ovs->db[0]) {
		snprintf(db, dbsz, "--db=%s", ovs->db);
		argv[n++] = db;
	}
	snprintf(tmo, tmosz, "--timeout=%u", (ms + 999) / 1000);
	argv[n++] = tmo;
	return n;
}

static unsigned ovs_timeout(const struct netdev_ovs *ovs)
{
	return ovs->timeout_ms > 0 ? ovs->timeout_ms : OVS_DEFAULT_TIMEOUT_MS;
}

/* Run ovs-vsctl with 'n_args' arguments after its head. */
static int ovs_run(const struct netdev_ovs *ovs, const char *const *args, int n_args, char *out,
		   size_t outsize, char *err, size_t errsz)
{
	const char *argv[8 + 8 * OVS_MAX_PORTS];
	char db[300], tmo[32];
	int n = ovs_argv_head(ovs, argv, db, sizeof(db), tmo, sizeof(tmo));

	if (n + n_args + 1 > (int)(sizeof(argv) / sizeof(argv[0])))
		return netdev_fail(-E2BIG, err, errsz, "ovs-vsctl: too many arguments");
	memcpy(&argv[n], args, (size_t)n_args * sizeof(*args));
	argv[n + n_args] = NULL;
	return netdev_run(argv, ovs_timeout(ovs), out, outsize, err, errsz);
}

/* The interfaces' current ofport column, one per line: a number, "[]" or "-1". */
static int ovs_get_ofports(const struct netdev_ovs *ovs, const char *const *ifnames, unsigned n,
			   long *ofports, char *err, size_t errsz)
{
	const char *args[5 * OVS_MAX_PORTS] = { NULL };
	char out[512];
	char *p = out;
	int k = 0, ret;

	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			args[k++] = "--";
		args[k++] = "get", args[k++] = "Interface", args[k++] = ifnames[i];
		args[k++] = "ofport";
	}
	ret = ovs_run(ovs, args, k, out, sizeof(out), err, errsz);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		char *end;

		ofports[i] = *p == '[' ? 0 : strtol(p, &end, 10);
		p = strchr(p, '\n');
		if (p == NULL && i + 1 < n)
			return netdev_fail(-EPROTO, err, errsz, "ovs-vsctl get ofport: short output");
		p = p != NULL ? p + 1 : out + strlen(out);
	}
	return 0;
}

/* OVS's error column of 'ifname', into 'buf'. */
static void ovs_if_error(const struct netdev_ovs *ovs, const char *ifname, char *buf, size_t size)
{
	const char *args[] = { "get", "Interface", ifname, "error" };
	char out[256];

	char *text = out;
	size_t len;

	if (ovs_run(ovs, args, 4, out, sizeof(out), NULL, 0) < 0)
		out[0] = '\0';
	len = strcspn(out, "\n");
	if (len >= 2 && out[0] == '"' && out[len - 1] == '"') {	/* an OVSDB string */
		text++;
		len -= 2;
	}
	snprintf(buf, size, "%.*s", (int)len, text);
}

int netdev_ovs_ofport(const struct netdev_ovs *ovs, const char *ifname, uint32_t *ofport,
		      char *err, size_t errsz)
{
	long v;
	int ret = ovs_get_ofports(ovs, &ifname, 1, &v, err, errsz);

	if (ret == -EIO && err != NULL && strstr(err, "no row") != NULL)
		return -ENOENT;
	if (ret < 0)
		return ret;
	*ofport = v > 0 ? (uint32_t)v : 0;
	return 0;
}

/* Poll until every interface has an ofport > 0, one is -1 (OVS failed to open it) or the
 * timeout passes. */
static int ovs_wait_ofports(const struct netdev_ovs *ovs, const char *const *ifnames, unsigned n,
			    uint32_t *ofports, char *err, size_t errsz)
{
	uint64_t deadline = netdev_mono_ms() + ovs_timeout(ovs);
	long v[OVS_MAX_PORTS];
	char why[200];

	for (;;) {
		unsigned n_ok = 0;
		int ret = ovs_get_ofports(ovs, ifnames, n, v, err, errsz);

		if (ret < 0)
			return ret;
		for (unsigned i = 0; i < n; i++) {
			if (v[i] < 0) {
				ovs_if_error(ovs, ifnames[i], why, sizeof(why));
				return netdev_fail(-EIO, err, errsz, "ovs port %s: %s", ifnames[i],
						   why[0] ? why : "OVS could not open it");
			}
			n_ok += v[i] > 0;
		}
		if (n_ok == n)
			break;
		if (netdev_mono_ms() >= deadline)
			return netdev_fail(-ETIMEDOUT, err, errsz,
					   "ovs port %s: no OpenFlow port number within %u ms",
					   ifnames[0], ovs_timeout(ovs));
		usleep(OFPORT_POLL_MS * 1000);
	}
	for (unsigned i = 0; i < n; i++)
		ofports[i] = (uint32_t)v[i];
	return 0;
}

int netdev_ovs_add_ports(const struct netdev_ovs *ovs, const char *bridge,
			 const char *const *ifnames, unsigned n, uint32_t *ofports, char *err,
			 size_t errsz)
{
	const char *args[6 * OVS_MAX_PORTS] = { NULL };
	int k = 0, ret;

	if (n == 0 || n > OVS_MAX_PORTS)
		return netdev_fail(-EINVAL, err, errsz, "ovs add-port: %u ports (1-%d)", n,
				   OVS_MAX_PORTS);
	for (unsigned i = 0; i < n; i++) {
		args[k++] = "--";
		args[k++] = "--may-exist", args[k++] = "add-port";
		args[k++] = bridge, args[k++] = ifnames[i];
	}
	ret = ovs_run(ovs, args, k, NULL, 0, err, errsz);
	if (ret < 0)
		return ret;
	return ovs_wait_ofports(ovs, ifnames, n, ofports, err, errsz);
}

int netdev_ovs_list_ports(const struct netdev_ovs *ovs, const char *bridge, char *out,
			  size_t outsize, char *err, size_t errsz)
{
	const char *args[] = { "list-ports", bridge };

	return ovs_run(ovs, args, 2, out, outsize, err, errsz);
}

int netdev_ovs_del_ports(const struct netdev_ovs *ovs, const char *bridge,
			 const char *const *ifnames, unsigned n, char *err, size_t errsz)
{
	const char *args[6 * OVS_MAX_PORTS] = { NULL };
	int k = 0;

	if (n > OVS_MAX_PORTS)
		return netdev_fail(-EINVAL, err, errsz, "ovs del-port: %u ports (at most %d)", n,
				   OVS_MAX_PORTS);
	for (unsigned i = 0; i < n; i++) {
		args[k++] = "--";
		args[k++] = "--if-exists", args[k++] = "del-port";
		args[k++] = bridge, args[k++] = ifnames[i];
	}
	return n == 0 ? 0 : ovs_run(ovs, args, k, NULL, 0, err, errsz);
}
