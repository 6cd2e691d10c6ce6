/* Test harness: a real NF binary run as a child process on net_pcap ports, and its counters. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/nfproc.h"

/* --log-level=error keeps EAL quiet; the NF's own log (stderr) still says "running". */
#define NFPROC_EAL_ARGS "--no-huge -m 256 --no-pci --no-shconf --no-telemetry --log-level=error"
#define NFPROC_MAX_ARGS 64
#define NFPROC_POLL_MS 10

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

int nfproc_build_path(const char *rel, char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) {	/* strip the file name, then its directory */
		slash = strrchr(exe, '/');
		if (slash == NULL)
			return -ENOENT;
		*slash = '\0';
	}
	if ((size_t)snprintf(buf, size, "%s/%s", exe, rel) >= size)
		return -ENAMETOOLONG;
	return 0;
}

unsigned nfproc_pick_lcore(unsigned i)
{
	cpu_set_t set;
	unsigned n;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 || (n = (unsigned)CPU_COUNT(&set)) == 0)
		return 0;
	i %= n;
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && i-- == 0)
			return cpu;
	return 0;
}

/* Split 'line' (modified) on spaces into 'argv' from index 'n'; returns the new count,
 * or -E2BIG. */
static int split_args(char *line, char **argv, int n)
{
	char *save = NULL;

	for (char *tok = strtok_r(line, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		if (n >= NFPROC_MAX_ARGS - 1)
			return -E2BIG;
		argv[n++] = tok;
	}
	return n;
}

/* EAL options for 'cfg' into 'buf'. Returns 0 or -E2BIG. */
static int eal_args(const struct nfproc_cfg *cfg, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "%s -l %u", NFPROC_EAL_ARGS, cfg->lcore);

	for (unsigned i = 0; i < cfg->n_ports && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, " --vdev=net_pcap%u,rx_pcap=%s,tx_pcap=%s",
					i, cfg->rx[i], cfg->tx[i]);
	return len < size ? 0 : -E2BIG;
}

/* In the child: die with the parent, output to files, no inherited descriptors, exec.
 * Only async-signal-safe calls. Never returns. */
static void child_exec(const struct nfproc *p, pid_t parent, char **argv)
{
	int out, err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	out = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	execv(argv[0], argv);
	_exit(127);
}

int nfproc_start(struct nfproc *p, const struct nfproc_cfg *cfg, const char *nf_fmt, ...)
{
	char eal[4096], nf_args[2048], *argv[NFPROC_MAX_ARGS];
	pid_t parent = getpid();
	va_list ap;
	int n;

	memset(p, 0, sizeof(*p));
	if (cfg->n_ports > NFPROC_MAX_PORTS)
		return -EINVAL;
	snprintf(p->out, sizeof(p->out), "%s/%s.stdout", cfg->dir, cfg->name);
	snprintf(p->err, sizeof(p->err), "%s/%s.stderr", cfg->dir, cfg->name);
	va_start(ap, nf_fmt);
	n = vsnprintf(nf_args, sizeof(nf_args), nf_fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(nf_args) || eal_args(cfg, eal, sizeof(eal)) < 0)
		return -E2BIG;
	argv[0] = (char *)cfg->exe;
	n = split_args(eal, argv, 1);
	if (n < 0 || n >= NFPROC_MAX_ARGS - 1)
		return -E2BIG;
	argv[n++] = "--";
	n = split_args(nf_args, argv, n);
	if (n < 0)
		return n;
	argv[n] = NULL;
	fflush(NULL);	/* nothing buffered gets written twice */
	p->pid = fork();
	if (p->pid < 0) {
		p->pid = 0;
		return -errno;
	}
	if (p->pid == 0)
		child_exec(p, parent, argv);
	return 0;
}

/* Reap it if it has exited. Returns true once it is not running. */
static bool reaped(struct nfproc *p)
{
	if (p->pid <= 0)
		return true;
	if (waitpid(p->pid, &p->status, WNOHANG) != p->pid)
		return false;
	p->pid = 0;
	return true;
}

int nfproc_wait(struct nfproc *p, unsigned timeout_ms)
{
	unsigned long long end = mono_ms() + timeout_ms;

	while (!reaped(p)) {
		if (mono_ms() >= end)
			return -ETIMEDOUT;
		sleep_ms(NFPROC_POLL_MS);
	}
	return 0;
}

bool nfproc_exited_ok(const struct nfproc *p)
{
	return p->pid == 0 && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
}

void nfproc_kill(struct nfproc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
}

char *nfproc_slurp(const char *path)
{
	char *buf = NULL, chunk[4096];
	size_t size = 0, n;
	FILE *m = open_memstream(&buf, &size);
	FILE *f = fopen(path, "r");

	if (m == NULL) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	if (f != NULL)
		fclose(f);
	fclose(m);
	return buf;
}

bool nfproc_file_has(const char *path, const char *needle)
{
	char *s = nfproc_slurp(path);
	bool found = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return found;
}

int nfproc_wait_log(struct nfproc *p, const char *needle, unsigned timeout_ms)
{
	unsigned long long end = mono_ms() + timeout_ms;

	for (;;) {
		if (nfproc_file_has(p->err, needle))
			return 0;
		if (p->pid <= 0 || reaped(p))
			return nfproc_file_has(p->err, needle) ? 0 : -ECHILD;
		if (mono_ms() >= end)
			return -ETIMEDOUT;
		sleep_ms(NFPROC_POLL_MS);
	}
}

unsigned nfproc_counters(const struct nfproc *p, struct nfproc_counter *out, unsigned max)
{
	char *s = nfproc_slurp(p->out), *save = NULL;
	unsigned n = 0;

	if (s == NULL)
		return 0;
	for (char *line = strtok_r(s, "\n", &save); line != NULL && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[sizeof(out->name)];
		unsigned long long v;

		if (sscanf(line, "counter %47s %llu", name, &v) != 2)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", name);
		out[n++].value = v;
	}
	free(s);
	return n;
}

unsigned long long nfproc_counter(const struct nfproc *p, const char *name)
{
	struct nfproc_counter c[128];
	unsigned n = nfproc_counters(p, c, 128);
	unsigned long long v = 0;

	for (unsigned i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0)
			v = c[i].value;
	return v;
}

/* A new temporary file named from 'tmpl' (mkstemp) holding 'text'. Returns 0 or -errno. */
static int tmpfile_with(char *tmpl, const char *text)
{
	size_t len = strlen(text);
	int fd = mkstemp(tmpl);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -EIO;
	close(fd);
	return rc;
}

/* At most 'errsz' - 1 bytes of file 'path' into 'err' (NUL-terminated). */
static void read_into(const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");
	size_t n = f != NULL ? fread(err, 1, errsz - 1, f) : 0;

	err[n] = '\0';
	if (f != NULL)
		fclose(f);
}

/* Run 'c' as binary 'exe' with its file at 'file' (NULL: none), stderr to file 'out'. */
static int cli_exec(const struct nfproc_cli *c, const char *exe, const char *file,
		    const char *out, char *err, size_t errsz)
{
	char cmd[3 * PATH_MAX + 1024];
	int st;

	if ((size_t)snprintf(cmd, sizeof(cmd), "timeout 20 %s " NFPROC_CLI_EAL " -- %s "
			     "--stats-interval-ms 0 %s %s %s 2>%s >/dev/null", exe,
			     c->pre ? c->pre : "", file ? c->file_opt : "", file ? file : "",
			     c->args ? c->args : "", out) >= sizeof(cmd))
		return -E2BIG;
	st = system(cmd);
	read_into(out, err, errsz);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int nfproc_cli_run(const struct nfproc_cli *c, char *err, size_t errsz)
{
	char exe[PATH_MAX], file[] = "/tmp/nfcliXXXXXX", out[] = "/tmp/nfcli_errXXXXXX";
	bool has_file = c->file_text != NULL && c->file_text[0] != '\0';
	int rc = nfproc_build_path(c->exe, exe, sizeof(exe));

	if (rc == 0 && has_file)
		rc = tmpfile_with(file, c->file_text);
	if (rc == 0)
		rc = tmpfile_with(out, "");
	if (rc == 0)
		rc = cli_exec(c, exe, has_file ? file : NULL, out, err, errsz);
	if (has_file)
		unlink(file);
	unlink(out);
	return rc;
}
