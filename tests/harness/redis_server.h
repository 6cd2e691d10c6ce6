/* Test harness: a real redis-server on a private port and unix socket, started and stopped
 * (or killed and restarted) by the test. */
#ifndef TESTS_HARNESS_REDIS_SERVER_H
#define TESTS_HARNESS_REDIS_SERVER_H

#include <stdint.h>
#include <sys/types.h>

#include "datastore/store.h"

struct redisContext;

struct redis_server {
	pid_t pid;		/* 0 when not running */
	uint16_t port;		/* private TCP port on 127.0.0.1 */
	char dir[256];		/* private temporary directory (removed by stop) */
	char unix_path[300];	/* unix socket inside 'dir' */
	char password[64];	/* requirepass, or "" */
};

/* Start redis-server on a free port with a unix socket in a new temporary directory,
 * no persistence, and wait until it answers PING. 'password' may be NULL.
 * Returns 0 or a negative errno. */
int redis_server_start(struct redis_server *rs, const char *password);

/* SIGKILL the server (simulated crash) and reap it; the directory stays. */
int redis_server_kill(struct redis_server *rs);

/* Start it again on the same port, socket and password (empty data set). */
int redis_server_restart(struct redis_server *rs);

/* Stop the server (if running) and remove its directory. */
void redis_server_stop(struct redis_server *rs);

/* A store_cfg pointing at the server over TCP ('use_unix' = 0) or its unix socket. */
void redis_server_store_cfg(const struct redis_server *rs, int use_unix, struct store_cfg *cfg);

/* Start the server as redis_server_start() does (no password) and connect '*admin' to its
 * unix socket, for the test's own commands. Returns 0 or a negative errno (then nothing is
 * left running and '*admin' is NULL). */
int redis_server_start_admin(struct redis_server *rs, struct redisContext **admin);

/* Close '*admin' (if open, then NULL) and stop the server. */
void redis_server_stop_admin(struct redis_server *rs, struct redisContext **admin);

/* "127.0.0.1:PORT" for --store options of spawned NF processes. */
void redis_server_url(const struct redis_server *rs, char *buf, size_t size);

#endif
