/* redis-benchmark as a subprocess of the NF benchmark, against its private redis-server. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/bench/bench.h"

/* Fork 'argv' with its standard output on a pipe; returns the read end, or -1. */
static int bench_spawn(const char **argv, pid_t *pid)
{
	int fds[2];

	if (pipe(fds) != 0)
		return -1;
	*pid = fork();
	if (*pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (*pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(fds[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	return fds[0];
}

/* Read 'fd' to its end, keeping the last part of the output in 'out'; reap 'pid'. Returns
 * the output length, or -1 when the child did not exit with status 0. */
static ssize_t bench_collect(int fd, pid_t pid, char *out, size_t size)
{
	size_t len = 0;
	ssize_t got;
	int status;

	while ((got = read(fd, out + len, size - 1 - len)) > 0) {
		len += (size_t)got;
		if (len > size / 2) {	/* keep draining: only the end matters */
			memmove(out, out + len - size / 4, size / 4);
			len = size / 4;
		}
	}
	close(fd);
	out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? (ssize_t)len : -1;
}

double bench_rb_run(struct bench *b, int n_args, const char **args)
{
	const char *argv[48];
	char port[8], out[1 << 16];
	int fd, n = 0;
	ssize_t len;
	pid_t pid;
	char *rps;

	if (b->o.redis_benchmark == NULL || n_args > 40)
		return -1;
	argv[n++] = b->o.redis_benchmark;
	snprintf(port, sizeof(port), "%u", b->rs.port);
	if (b->o.use_unix) {
		argv[n++] = "-s", argv[n++] = b->rs.unix_path;
	} else {
		argv[n++] = "-h", argv[n++] = "127.0.0.1", argv[n++] = "-p", argv[n++] = port;
	}
	for (int i = 0; i < n_args; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if ((fd = bench_spawn(argv, &pid)) < 0 || (len = bench_collect(fd, pid, out, sizeof(out))) < 0)
		return -1;
	rps = memmem(out, (size_t)len, " requests per second", 20);
	if (rps == NULL)
		return -1;
	while (rps > out && rps[-1] != ' ' && rps[-1] != '\t' && rps[-1] != '\r' && rps[-1] != '\n')
		rps--;
	return strtod(rps, NULL);
}
