/* Test harness: a real redis-server process on a private port, unix socket and directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "tests/harness/redis_server.h"
#include "tests/harness/tmpdir.h"

#define START_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS 5000
#define POLL_MS 10
#define START_TRIES 3		/* a free port may be taken before redis binds it */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A TCP port that was free a moment ago: bind port 0 on loopback and read it back. */
static int free_port(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		rc = -errno;
	else
		*port = ntohs(sa.sin_port);
	close(fd);
	return rc;
}

/* In the child: die with the test process (even if it crashes before its .fini), send
 * output to DIR/redis.log and exec redis-server. Never returns. */
static void child_exec(const struct redis_server *rs, pid_t parent)
{
	char port[8], log[300];
	const char *argv[24];
	int fd, n = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	snprintf(port, sizeof(port), "%u", rs->port);
	snprintf(log, sizeof(log), "%s/redis.log", rs->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	argv[n++] = "redis-server";
	argv[n++] = "--port", argv[n++] = port;
	argv[n++] = "--bind", argv[n++] = "127.0.0.1";
	argv[n++] = "--unixsocket", argv[n++] = rs->unix_path;
	argv[n++] = "--unixsocketperm", argv[n++] = "700";
	argv[n++] = "--save", argv[n++] = "";
	argv[n++] = "--appendonly", argv[n++] = "no";
	argv[n++] = "--dir", argv[n++] = rs->dir;
	argv[n++] = "--daemonize", argv[n++] = "no";
	if (rs->password[0])
		argv[n++] = "--requirepass", argv[n++] = rs->password;
	argv[n] = NULL;
	execvp("redis-server", (char *const *)argv);
	_exit(127);
}

static int spawn(struct redis_server *rs)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(rs, parent);
	rs->pid = pid;
	return 0;
}

/* True when the server answers PING (after AUTH) on its unix socket. */
static int answers_ping(const struct redis_server *rs)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	redisContext *c = redisConnectUnixWithTimeout(rs->unix_path, tv);
	redisReply *r = NULL;
	int ok = 0;

	if (!c || c->err)
		goto out;
	redisSetTimeout(c, tv);
	if (rs->password[0]) {
		r = redisCommand(c, "AUTH %s", rs->password);
		if (!r || r->type == REDIS_REPLY_ERROR)
			goto out;
		freeReplyObject(r);
	}
	r = redisCommand(c, "PING");
	ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
out:
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return ok;
}

/* Reap the child if it has exited; returns 1 when it has. */
static int reaped(struct redis_server *rs)
{
	int status;

	if (waitpid(rs->pid, &status, WNOHANG) != rs->pid)
		return 0;
	rs->pid = 0;
	return 1;
}

/* Spawn and wait until PING answers: 0, -ECHILD if redis exited (e.g. port taken), or
 * -ETIMEDOUT (the process is then killed). */
static int launch(struct redis_server *rs)
{
	int waited, rc = spawn(rs);

	if (rc < 0)
		return rc;
	for (waited = 0; waited < START_TIMEOUT_MS; waited += POLL_MS) {
		if (answers_ping(rs))
			return 0;
		if (reaped(rs))
			return -ECHILD;
		sleep_ms(POLL_MS);
	}
	redis_server_kill(rs);
	return -ETIMEDOUT;
}

int redis_server_start(struct redis_server *rs, const char *password)
{
	int tries, rc;

	memset(rs, 0, sizeof(*rs));
	rc = tmpdir_make("snf-redis", rs->dir, sizeof(rs->dir));
	if (rc != 0)
		return rc;
	rc = -ECHILD;
	snprintf(rs->unix_path, sizeof(rs->unix_path), "%s/redis.sock", rs->dir);
	if (password && snprintf(rs->password, sizeof(rs->password), "%s", password) >=
			(int)sizeof(rs->password))
		rc = -EINVAL;
	for (tries = 0; rc == -ECHILD && tries < START_TRIES; tries++) {
		rc = free_port(&rs->port);
		if (rc == 0)
			rc = launch(rs);
	}
	if (rc < 0)
		redis_server_stop(rs);
	return rc;
}

int redis_server_kill(struct redis_server *rs)
{
	if (rs->pid <= 0)
		return -ESRCH;
	kill(rs->pid, SIGKILL);
	while (waitpid(rs->pid, NULL, 0) < 0 && errno == EINTR)
		;
	rs->pid = 0;
	return 0;
}

int redis_server_restart(struct redis_server *rs)
{
	if (rs->pid > 0)
		redis_server_kill(rs);
	if (!rs->dir[0])
		return -EINVAL;
	return launch(rs);
}

/* SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_MS. */
static void terminate(struct redis_server *rs)
{
	int waited;

	kill(rs->pid, SIGTERM);
	kill(rs->pid, SIGCONT);	/* in case a test left it stopped */
	for (waited = 0; waited < STOP_TIMEOUT_MS; waited += POLL_MS) {
		if (reaped(rs))
			return;
		sleep_ms(POLL_MS);
	}
	redis_server_kill(rs);
}

/* Safe to call twice, and on a struct whose start failed. */
void redis_server_stop(struct redis_server *rs)
{
	if (rs->pid > 0)
		terminate(rs);
	tmpdir_remove(rs->dir);
	rs->dir[0] = '\0';
}

void redis_server_store_cfg(const struct redis_server *rs, int use_unix, struct store_cfg *cfg)
{
	store_cfg_default(cfg);
	snprintf(cfg->host, sizeof(cfg->host), "127.0.0.1");
	cfg->port = rs->port;
	/* The path is short (mkdtemp in /tmp), so it always fits. */
	if (use_unix && snprintf(cfg->unix_path, sizeof(cfg->unix_path), "%s", rs->unix_path) >=
				(int)sizeof(cfg->unix_path))
		cfg->unix_path[0] = '\0';
	snprintf(cfg->password, sizeof(cfg->password), "%s", rs->password);
}

void redis_server_url(const struct redis_server *rs, char *buf, size_t size)
{
	snprintf(buf, size, "127.0.0.1:%u", rs->port);
}

int redis_server_start_admin(struct redis_server *rs, redisContext **admin)
{
	int rc = redis_server_start(rs, NULL);

	*admin = NULL;
	if (rc != 0)
		return rc;
	*admin = redisConnectUnix(rs->unix_path);
	if (*admin != NULL && (*admin)->err == 0)
		return 0;
	redis_server_stop_admin(rs, admin);
	return -ECONNREFUSED;
}

void redis_server_stop_admin(struct redis_server *rs, redisContext **admin)
{
	if (*admin != NULL)
		redisFree(*admin);
	*admin = NULL;
	redis_server_stop(rs);
}
