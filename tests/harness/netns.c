/* Test harness: network namespaces held by a child process, and commands run in them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/netns.h"

#define NETNS_CMD_SIZE 4096

/* ---- Holders ---- */

static int netns_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

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

/* In the holder: make the namespace, say so through 'fd' (one byte: 0 ok), sleep. */
static void netns_hold(int fd, pid_t parent)
{
	char ok;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	ok = unshare(CLONE_NEWNET) == 0 && netns_lo_up() == 0 ? 0 : 1;
	if (write(fd, &ok, 1) != 1)
		_exit(1);
	close(fd);
	for (;;)
		pause();
}

int netns_create(struct netns *ns)
{
	pid_t parent = getpid();
	int fds[2];
	char ok = 1;

	ns->pid = 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	ns->pid = fork();
	if (ns->pid == 0)
		netns_hold(fds[1], parent);
	close(fds[1]);
	if (ns->pid < 0 || read(fds[0], &ok, 1) != 1 || ok != 0) {
		close(fds[0]);
		netns_destroy(ns);
		return -EIO;
	}
	close(fds[0]);
	return 0;
}

void netns_destroy(struct netns *ns)
{
	if (ns->pid <= 0) {
		ns->pid = 0;
		return;
	}
	kill(ns->pid, SIGKILL);
	while (waitpid(ns->pid, NULL, 0) < 0 && errno == EINTR)
		;
	ns->pid = 0;
}

/* ---- Commands ---- */

/* "nsenter -t PID -n sh -c CMD" as an argv ('pidbuf' holds the pid's text). */
static void netns_argv(const struct netns *ns, const char *cmd, char *pidbuf, size_t size,
		       char *argv[8])
{
	int n = 0;

	if (ns && ns->pid > 0) {
		snprintf(pidbuf, size, "%d", (int)ns->pid);
		argv[n++] = "nsenter";
		argv[n++] = "-t";
		argv[n++] = pidbuf;
		argv[n++] = "-n";
	}
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = (char *)cmd;
	argv[n] = NULL;
}

/* In a child: die with the test, stdout/stderr to 'out'/'err' (descriptors), exec. */
static void netns_child(int out, int err, pid_t parent, char *argv[])
{
	int devnull = open("/dev/null", O_RDONLY);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent || devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	execvp(argv[0], argv);
	_exit(127);
}

static pid_t netns_fork(const struct netns *ns, const char *cmd, int out, int err)
{
	char pidbuf[16], *argv[8];
	pid_t parent = getpid(), pid;

	netns_argv(ns, cmd, pidbuf, sizeof(pidbuf), argv);
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		netns_child(out, err, parent, argv);
	return pid;
}

/* Read all of 'fd' into 'out' (NUL-terminated, truncated). */
static void netns_slurp_fd(int fd, char *out, size_t outsize)
{
	size_t n = 0;
	char drain[512];
	ssize_t got;

	for (;;) {
		if (out && n + 1 < outsize)
			got = read(fd, out + n, outsize - 1 - n);
		else
			got = read(fd, drain, sizeof(drain));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (out && n + 1 < outsize)
			n += (size_t)got;
	}
	if (out && outsize)
		out[n] = '\0';
}

int netns_run(const struct netns *ns, char *out, size_t outsize, const char *fmt, ...)
{
	char cmd[NETNS_CMD_SIZE];
	int fds[2], st;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	st = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (st < 0 || (size_t)st >= sizeof(cmd))
		return -E2BIG;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = netns_fork(ns, cmd, fds[1], fds[1]);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -errno;
	}
	netns_slurp_fd(fds[0], out, outsize);
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int netns_spawn(const struct netns *ns, struct nfproc *p, const char *dir, const char *name,
		const char *fmt, ...)
{
	char cmd[NETNS_CMD_SIZE];
	int out, err, n;
	va_list ap;

	memset(p, 0, sizeof(*p));
	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -E2BIG;
	snprintf(p->out, sizeof(p->out), "%s/%s.stdout", dir, name);
	snprintf(p->err, sizeof(p->err), "%s/%s.stderr", dir, name);
	out = open(p->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	err = open(p->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out >= 0 && err >= 0)
		p->pid = netns_fork(ns, cmd, out, err);
	n = out < 0 || err < 0 || p->pid < 0 ? -errno : 0;
	if (p->pid < 0)
		p->pid = 0;
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	return n;
}

/* ---- Sockets and links ---- */

int netns_socket(const struct netns *ns, int domain, int type)
{
	char path[64];
	int self, other, fd, rc = 0;

	if (!ns || ns->pid <= 0) {
		fd = socket(domain, type, 0);
		return fd < 0 ? -errno : fd;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)ns->pid);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	other = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || other < 0 || setns(other, CLONE_NEWNET) < 0) {
		rc = -errno;
		goto out;
	}
	fd = socket(domain, type, 0);
	rc = fd < 0 ? -errno : fd;
	if (setns(self, CLONE_NEWNET) < 0)
		abort();	/* the test would go on in the wrong namespace */
out:
	if (self >= 0)
		close(self);
	if (other >= 0)
		close(other);
	return rc;
}

int netns_move_link(const struct netns *ns, const char *ifname)
{
	char out[256];

	return netns_run(NULL, out, sizeof(out), "ip link set dev %s netns %d", ifname, (int)ns->pid) ? -EIO : 0;
}
