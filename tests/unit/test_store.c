/* Tests of the Redis client layer (datastore/store.c) against real redis-server processes. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "datastore/store.h"
#include "nf/clock.h"
#include "tests/harness/redis_server.h"

#define TEST_PASSWORD "s3cret pass"

static struct redis_server rs;	/* the fixture's server */
static struct store *st;	/* the store under test, closed by the fixture */
static redisContext *other;	/* an independent client playing "another instance" */

/* ---- Fixtures and helpers ---- */

static void server_up(void)
{
	cr_assert_eq(redis_server_start(&rs, NULL), 0, "cannot start redis-server");
}

static void server_up_password(void)
{
	cr_assert_eq(redis_server_start(&rs, TEST_PASSWORD), 0, "cannot start redis-server");
}

static void teardown(void)
{
	store_close(st);
	st = NULL;
	if (other)
		redisFree(other);
	other = NULL;
	redis_server_stop(&rs);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint64_t elapsed_ms(uint64_t since_us)
{
	return (nf_now_us() - since_us) / 1000;
}

/* Open the store on the fixture's server and check that it connected. */
static struct store *open_store(int use_unix, bool tracking)
{
	struct store_cfg cfg;
	struct store *s;

	redis_server_store_cfg(&rs, use_unix, &cfg);
	cfg.tracking = tracking;
	s = store_open(&cfg, "test");
	cr_assert_not_null(s);
	cr_assert(store_ready(s, nf_now_us()), "store did not connect");
	cr_assert_eq(store_generation(s), 1);
	return s;
}

/* Run a command on the independent client; its reply must not be an error. */
static void other_cmd(const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	if (!other) {
		other = redisConnectUnix(rs.unix_path);
		cr_assert(other && !other->err, "second client cannot connect");
		if (rs.password[0])
			other_cmd("AUTH %s", rs.password);
	}
	va_start(ap, fmt);
	r = redisvCommand(other, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r, "second client: %s", other->errstr);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "second client: %s", r->str);
	freeReplyObject(r);
}

/* Call store_ready() until it says yes or 'ms' have passed. */
static bool wait_ready(struct store *s, unsigned ms)
{
	uint64_t start = nf_now_us();

	while (!store_ready(s, nf_now_us())) {
		if (elapsed_ms(start) > ms)
			return false;
		sleep_ms(2);
	}
	return true;
}

/* One batch of one command; returns the reply (the caller frees it). */
static redisReply *batch1(struct store *s, int argc, const char **argv)
{
	redisReply *r = NULL;

	cr_assert_eq(store_append_argv(s, argc, argv, NULL), 0);
	cr_assert_eq(store_read_reply(s, &r), 0);
	cr_assert_not_null(r);
	return r;
}

static void expect_string(redisReply *r, const char *s, size_t len)
{
	cr_assert_eq(r->type, REDIS_REPLY_STRING, "reply type %d", r->type);
	cr_assert_eq(r->len, len);
	cr_assert_eq(memcmp(r->str, s, len), 0);
}

/* A 16-byte NAT value whose byte 14 (1-based, as in the Lua scripts) is 'state'. */
static void nat_value(char v[16], char tag, int state)
{
	memset(v, tag, 16);
	v[13] = (char)state;
}

/* EVALSHA nat_touch.lua on 'fwd'/'rev' with TTLs 1000/2000/3000 ms for the three states. */
static redisReply *nat_touch(struct store *s, const char *fwd, const char *rev, const char v[16])
{
	const char *argv[] = { fwd, rev, v, "1000", "2000", "3000" };
	size_t lens[] = { strlen(fwd), strlen(rev), 16, 4, 4, 4 };
	redisReply *r = NULL;

	cr_assert_eq(store_append_script(s, SCRIPT_NAT_TOUCH, 2, 6, argv, lens), 0);
	cr_assert_eq(store_read_reply(s, &r), 0);
	cr_assert_not_null(r);
	return r;
}

static void expect_touch_missing(redisReply *r)
{
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "reply type %d: %s", r->type,
		     r->type == REDIS_REPLY_ERROR ? r->str : "");
	cr_assert_eq(r->elements, 2);
	cr_assert_eq(r->element[0]->type, REDIS_REPLY_INTEGER);
	cr_assert_eq(r->element[0]->integer, -1);
	expect_string(r->element[1], "", 0);
}

/* ---- Connecting ---- */

TestSuite(store_conn, .init = server_up, .fini = teardown, .timeout = 30);

static void expect_ping(struct store *s)
{
	redisReply *r = store_command(s, "PING");

	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_STATUS);
	cr_assert_str_eq(r->str, "PONG");
	freeReplyObject(r);
}

Test(store_conn, tcp, .timeout = 30)
{
	st = open_store(0, false);
	expect_ping(st);
	cr_assert_eq(store_get_stats(st)->reconnects, 0);
}

Test(store_conn, unix_socket, .timeout = 30)
{
	const char key[] = { 'k', 0, 'x' }, val[] = { 0, 1, 2, 0 };
	redisReply *r;

	st = open_store(1, false);
	expect_ping(st);
	r = store_command(st, "SET %b %b", key, sizeof(key), val, sizeof(val));
	cr_assert_not_null(r);
	freeReplyObject(r);
	r = store_command(st, "GET %b", key, sizeof(key));
	cr_assert_not_null(r);
	expect_string(r, val, sizeof(val));
	freeReplyObject(r);
}

/* ---- Pipelining ---- */

static void append_set_get(struct store *s, int i)
{
	char key[32], val[32];
	const char *set[] = { "SET", key, val }, *get[] = { "GET", key };

	snprintf(key, sizeof(key), "key:%d", i);
	snprintf(val, sizeof(val), "value:%d", i);
	cr_assert_eq(store_append_argv(s, 3, set, NULL), 0);
	cr_assert_eq(store_append_argv(s, 2, get, NULL), 0);
}

static void read_set_get(struct store *s, int i)
{
	char val[32];
	redisReply *r;

	snprintf(val, sizeof(val), "value:%d", i);
	cr_assert_eq(store_read_reply(s, &r), 0);
	cr_assert_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	cr_assert_eq(store_read_reply(s, &r), 0);
	expect_string(r, val, strlen(val));
	freeReplyObject(r);
}

Test(store_conn, pipeline_1000_one_round_trip_per_batch, .timeout = 30)
{
	const struct store_stats *stats;
	uint64_t rt0, cmd0;
	int batch, i;

	st = open_store(0, false);
	stats = store_get_stats(st);
	rt0 = stats->round_trips;
	cmd0 = stats->commands;
	for (batch = 0; batch < 2; batch++) {
		for (i = 0; i < 500; i++)
			append_set_get(st, batch * 500 + i);
		cr_assert_eq(store_pending(st), 1000);
		cr_assert_eq(stats->round_trips, rt0 + (uint64_t)batch, "append must not send");
		for (i = 0; i < 500; i++)
			read_set_get(st, batch * 500 + i);
		cr_assert_eq(store_pending(st), 0);
		cr_assert_eq(stats->round_trips, rt0 + (uint64_t)batch + 1);
	}
	cr_assert_eq(stats->commands, cmd0 + 2000);
	cr_assert_eq(stats->errors, 0);
}

Test(store_conn, discard_replies, .timeout = 30)
{
	const char *get[] = { "GET", "nothing" };
	redisReply *r;

	st = open_store(0, false);
	cr_assert_eq(store_append_argv(st, 2, get, NULL), 0);
	cr_assert_eq(store_append_argv(st, 2, get, NULL), 0);
	store_discard_replies(st);
	cr_assert_eq(store_pending(st), 0);
	r = batch1(st, 2, get);
	cr_assert_eq(r->type, REDIS_REPLY_NIL);
	freeReplyObject(r);
}

/* ---- Scripts ---- */

Test(store_conn, script_touch_missing_key, .timeout = 30)
{
	char v[16];
	redisReply *r;

	st = open_store(0, false);
	nat_value(v, 'a', 1);
	r = nat_touch(st, "t:m1", "t:r1", v);
	expect_touch_missing(r);
	freeReplyObject(r);
}

Test(store_conn, script_touch_refreshes_ttl, .timeout = 30)
{
	char v[16];
	redisReply *r;

	st = open_store(0, false);
	nat_value(v, 'b', 1);	/* established: TTL 2000 ms */
	other_cmd("SET t:m2 %b PX 100000", v, (size_t)16);
	other_cmd("SET t:r2 %b PX 100000", v, (size_t)16);
	r = nat_touch(st, "t:m2", "t:r2", v);
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	cr_assert_eq(r->element[0]->integer, 1);
	expect_string(r->element[1], v, 16);
	freeReplyObject(r);
	r = store_command(st, "PTTL t:r2");
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	cr_assert(r->integer > 0 && r->integer <= 2000, "PTTL %lld", r->integer);
	freeReplyObject(r);
}

Test(store_conn, noscript_reloads_before_next_batch, .timeout = 30)
{
	const char *get[] = { "GET", "t:m3" };
	char v[16];
	redisReply *r;

	st = open_store(0, false);
	nat_value(v, 'c', 0);
	other_cmd("SCRIPT FLUSH");
	r = nat_touch(st, "t:m3", "t:r3", v);
	cr_assert(store_reply_is_noscript(r), "expected NOSCRIPT, type %d", r->type);
	freeReplyObject(r);
	cr_assert_eq(store_get_stats(st)->noscript, 1);
	/* Next batch: the script and a plain command, replies in order. */
	r = nat_touch(st, "t:m3", "t:r3", v);
	expect_touch_missing(r);
	freeReplyObject(r);
	r = batch1(st, 2, get);
	cr_assert_eq(r->type, REDIS_REPLY_NIL);
	freeReplyObject(r);
	cr_assert_eq(store_get_stats(st)->noscript, 1);
	cr_assert(!store_reply_is_noscript(NULL));
}

Test(store_conn, script_bad_arguments, .timeout = 30)
{
	const char *argv[] = { "k" };

	st = open_store(0, false);
	cr_assert_eq(store_append_script(st, SCRIPT__COUNT, 1, 1, argv, NULL), -EINVAL);
	cr_assert_eq(store_append_script(st, SCRIPT_NAT_TOUCH, 2, 1, argv, NULL), -EINVAL);
	cr_assert_eq(store_pending(st), 0);
}

/* ---- Outages ---- */

/* Every operation fails fast and cleanly while the store is down. */
static void expect_down(struct store *s)
{
	const char *get[] = { "GET", "k" };
	uint64_t start = nf_now_us();
	redisReply *r = NULL;

	cr_assert(!store_ready(s, nf_now_us()));
	cr_assert_eq(store_append_argv(s, 2, get, NULL), -ENOTCONN);
	cr_assert_eq(store_append_script(s, SCRIPT_NAT_TOUCH, 1, 1, get + 1, NULL), -ENOTCONN);
	cr_assert_eq(store_pending(s), 0);
	cr_assert_eq(store_read_reply(s, &r), -ENOTCONN);
	cr_assert_null(r);
	cr_assert_null(store_command(s, "PING"));
	cr_assert_null(store_command_argv(s, 2, get, NULL));
	store_discard_replies(s);
	cr_assert_lt(elapsed_ms(start), 100, "down operations must not block");
}

Test(store_conn, killed_server_fails_fast, .timeout = 30)
{
	const char *get[] = { "GET", "k" };
	redisReply *r = NULL;
	uint64_t start;
	int i, rc;

	st = open_store(0, false);
	for (i = 0; i < 3; i++)
		cr_assert_eq(store_append_argv(st, 2, get, NULL), 0);
	cr_assert_eq(redis_server_kill(&rs), 0);
	start = nf_now_us();
	rc = store_read_reply(st, &r);
	cr_assert(rc == -ENOTCONN || rc == -ETIMEDOUT, "rc %d", rc);
	cr_assert_null(r);
	cr_assert_lt(elapsed_ms(start), 200 + 300);
	cr_assert_eq(store_pending(st), 0);
	for (i = 0; i < 2; i++)
		cr_assert_eq(store_read_reply(st, &r), rc, "rest of the batch");
	expect_down(st);
	cr_assert_geq(store_get_stats(st)->errors, 1);
}

Test(store_conn, frozen_server_times_out, .timeout = 30)
{
	const char *get[] = { "GET", "k" };
	redisReply *r = NULL;
	uint64_t start, ms;

	st = open_store(0, false);
	cr_assert_eq(store_append_argv(st, 2, get, NULL), 0);
	kill(rs.pid, SIGSTOP);
	start = nf_now_us();
	cr_assert_eq(store_read_reply(st, &r), -ETIMEDOUT);
	ms = elapsed_ms(start);
	cr_assert(ms >= 150 && ms < 200 + 300, "timed out after %lu ms", (unsigned long)ms);
	/* Retries against the frozen server (it still accepts TCP connections) probe without
	 * blocking: a second of store_ready() calls, none of them waits for the server (the
	 * old handshake-first retry blocked timeout_ms, 200 ms, every time). */
	sleep_ms(50);
	start = nf_now_us();
	ms = 0;
	while (elapsed_ms(start) < 1000) {
		uint64_t t = nf_now_us();

		cr_assert(!store_ready(st, t));
		if (elapsed_ms(t) > ms)
			ms = elapsed_ms(t);
		sleep_ms(1);
	}
	kill(rs.pid, SIGCONT);
	cr_assert(ms < 100, "a retry against the frozen server blocked %lu ms", (unsigned long)ms);
	cr_assert_geq(store_get_stats(st)->errors, 1);
	cr_assert(wait_ready(st, 3000), "no reconnect after SIGCONT");
	cr_assert_eq(store_generation(st), 2);
}

Test(store_conn, restarted_server_reconnects, .timeout = 30)
{
	char v[16];
	redisReply *r;
	uint64_t start;

	st = open_store(0, false);
	cr_assert_eq(redis_server_kill(&rs), 0);
	cr_assert_null(store_command(st, "PING"));
	expect_down(st);
	cr_assert_eq(redis_server_restart(&rs), 0);
	start = nf_now_us();
	/* Backoff is at most 1000 ms between attempts. */
	cr_assert(wait_ready(st, 1000 + 500), "no reconnect within the backoff");
	cr_log_info("reconnected %lu ms after restart", (unsigned long)elapsed_ms(start));
	cr_assert_eq(store_generation(st), 2);
	cr_assert_eq(store_get_stats(st)->reconnects, 1);
	nat_value(v, 'd', 0);
	r = nat_touch(st, "t:m4", "t:r4", v);
	expect_touch_missing(r);
	freeReplyObject(r);
}

/* ---- Invalidations (CLIENT TRACKING) ---- */

struct seen {
	int n_keys;
	int n_flush;
	char keys[32][64];
};

static void on_inval(void *arg, const char *key, size_t len)
{
	struct seen *s = arg;

	if (!key) {
		s->n_flush++;
		return;
	}
	if (s->n_keys < 32 && len < 64) {
		memcpy(s->keys[s->n_keys], key, len);
		s->keys[s->n_keys][len] = '\0';
	}
	s->n_keys++;
}

static bool seen_key(const struct seen *s, const char *key)
{
	int i;

	for (i = 0; i < s->n_keys && i < 32; i++)
		if (strcmp(s->keys[i], key) == 0)
			return true;
	return false;
}

/* Poll until 'key' (or a flush, for NULL) was reported or 'ms' have passed. */
static bool poll_for(struct store *s, struct seen *seen, const char *key, unsigned ms)
{
	uint64_t start = nf_now_us();
	int rc;

	for (;;) {
		rc = store_poll_invalidations(s, on_inval, seen);
		cr_assert_geq(rc, 0, "poll failed: %d", rc);
		if (key ? seen_key(seen, key) : seen->n_flush > 0)
			return true;
		if (elapsed_ms(start) > ms)
			return false;
		sleep_ms(5);
	}
}

static void store_get(struct store *s, const char *key)
{
	const char *get[] = { "GET", key };

	freeReplyObject(batch1(s, 2, get));
}

Test(store_conn, tracking_reports_modified_key, .timeout = 30)
{
	struct seen seen = { 0 };

	st = open_store(0, true);
	other_cmd("SET tk1 v1");
	store_get(st, "tk1");
	cr_assert_eq(store_poll_invalidations(st, on_inval, &seen), 0);
	other_cmd("SET tk1 v2");
	cr_assert(poll_for(st, &seen, "tk1", 1000), "no invalidation for tk1");
	cr_assert_eq(store_get_stats(st)->invalidations, (uint64_t)seen.n_keys);
}

Test(store_conn, tracking_reports_expired_key, .timeout = 30)
{
	struct seen seen = { 0 };
	uint64_t start;

	st = open_store(1, true);
	other_cmd("SET tk2 v PX 200");
	start = nf_now_us();
	store_get(st, "tk2");
	cr_assert(poll_for(st, &seen, "tk2", 2000), "no invalidation on expiry");
	cr_assert_geq(elapsed_ms(start), 150);
}

Test(store_conn, tracking_reports_keys_read_by_scripts, .timeout = 30)
{
	struct seen seen = { 0 };
	char v[16];
	redisReply *r;

	st = open_store(0, true);
	nat_value(v, 'e', 1);
	other_cmd("SET t:m5 %b PX 100000", v, (size_t)16);
	/* A value of another flow: the script only reads (a write by this connection itself
	 * would end the tracking of the key, because of NOLOOP). */
	nat_value(v, 'f', 1);
	r = nat_touch(st, "t:m5", "t:r5", v);
	cr_assert_eq(r->element[0]->integer, -2);
	freeReplyObject(r);
	other_cmd("DEL t:m5");
	cr_assert(poll_for(st, &seen, "t:m5", 1000), "key read by EVALSHA not tracked");
}

Test(store_conn, tracking_reports_flushall, .timeout = 30)
{
	struct seen seen = { 0 };

	st = open_store(0, true);
	store_get(st, "tk3");
	other_cmd("FLUSHALL");
	cr_assert(poll_for(st, &seen, NULL, 1000), "no flush-all invalidation");
}

Test(store_conn, tracking_connection_loss_marks_down, .timeout = 30)
{
	struct seen seen = { 0 };
	uint64_t start = nf_now_us();
	int rc = 0;

	st = open_store(0, true);
	cr_assert_eq(redis_server_kill(&rs), 0);
	while (rc == 0 && elapsed_ms(start) < 1000) {
		rc = store_poll_invalidations(st, on_inval, &seen);
		sleep_ms(5);
	}
	cr_assert_lt(rc, 0, "broken invalidation connection not noticed");
	expect_down(st);
	cr_assert_eq(redis_server_restart(&rs), 0);
	cr_assert(wait_ready(st, 1500));
	cr_assert_eq(store_generation(st), 2);
	cr_assert_eq(store_poll_invalidations(st, on_inval, &seen), 0);
}

Test(store_conn, tracking_off_polls_nothing, .timeout = 30)
{
	struct seen seen = { 0 };

	st = open_store(0, false);
	store_get(st, "tk4");
	other_cmd("SET tk4 x");
	cr_assert_eq(store_poll_invalidations(st, on_inval, &seen), 0);
}

/* ---- Authentication ---- */

TestSuite(store_auth, .init = server_up_password, .fini = teardown, .timeout = 30);

Test(store_auth, password_accepted, .timeout = 30)
{
	st = open_store(0, true);
	expect_ping(st);
}

static void expect_never_ready(const char *password)
{
	struct store_cfg cfg;

	redis_server_store_cfg(&rs, 0, &cfg);
	snprintf(cfg.password, sizeof(cfg.password), "%s", password);
	st = store_open(&cfg, "test");
	cr_assert_not_null(st);
	cr_assert(!wait_ready(st, 100));
	cr_assert_eq(store_generation(st), 0);
	expect_down(st);
}

Test(store_auth, wrong_password_stays_down, .timeout = 30)
{
	expect_never_ready("wrong");
}

Test(store_auth, missing_password_stays_down, .timeout = 30)
{
	expect_never_ready("");
}

Test(store_auth, password_from_url, .timeout = 30)
{
	struct store_cfg cfg;
	char url[128], err[128];

	store_cfg_default(&cfg);
	snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%u", TEST_PASSWORD, rs.port);
	cr_assert_eq(store_cfg_parse_url(&cfg, url, err, sizeof(err)), 0, "%s", err);
	st = store_open(&cfg, "test");
	cr_assert(st && store_ready(st, nf_now_us()));
}

/* ---- No server at all ---- */

Test(store_down, unreachable_server_stays_down, .timeout = 30)
{
	struct store_cfg cfg;
	struct seen seen = { 0 };
	int i;

	store_cfg_default(&cfg);
	cfg.port = 1;	/* privileged and unused: connection refused */
	cfg.tracking = true;
	st = store_open(&cfg, "test");
	cr_assert_not_null(st);
	for (i = 0; i < 20; i++) {
		expect_down(st);
		sleep_ms(5);
	}
	cr_assert_eq(store_generation(st), 0);
	cr_assert_eq(store_poll_invalidations(st, on_inval, &seen), -ENOTCONN);
	cr_assert_not_null(store_get_stats(st));
	store_close(st);
	st = NULL;
	store_close(NULL);
}

Test(store_down, bad_arguments, .timeout = 30)
{
	struct store_cfg cfg;

	cr_assert_null(store_open(NULL, "test"));
	store_cfg_default(&cfg);
	cfg.timeout_ms = 0;
	cr_assert_null(store_open(&cfg, "test"));
	store_cfg_default(&cfg);
	cfg.backoff_max_ms = 1;
	cr_assert_null(store_open(&cfg, "test"));
}

/* ---- Address parsing ---- */

struct url_case {
	char url[64];
	int rc;
	char host[32];		/* expected host ("" = unchanged default) */
	uint16_t port;
	char unix_path[32];
	char password[16];	/* expected password ("keep" = unchanged) */
	char err[48];		/* fragment of the error text */
};

ParameterizedTestParameters(store_url, parse)
{
	static struct url_case cases[] = {
		{ "10.0.0.1:6380", 0, "10.0.0.1", 6380, "", "keep", "" },
		{ "redis.local", 0, "redis.local", 6379, "", "keep", "" },
		{ "unix:/run/redis.sock", 0, "127.0.0.1", 6379, "/run/redis.sock", "keep", "" },
		{ "redis://:pw@db.example:7000", 0, "db.example", 7000, "", "pw", "" },
		{ "redis://db.example", 0, "db.example", 6379, "", "keep", "" },
		{ "redis://db.example:6390/0", 0, "db.example", 6390, "", "keep", "" },
		{ "redis://:p@ss@h/", 0, "h", 6379, "", "p@ss", "" },
		{ "[::1]:6400", 0, "::1", 6400, "", "keep", "" },
		{ "[::1]", 0, "::1", 6379, "", "keep", "" },
		{ "::1", 0, "::1", 6379, "", "keep", "" },
		{ "h:99999", -EINVAL, "", 0, "", "", "port '99999' is out of range" },
		{ "h:0", -EINVAL, "", 0, "", "", "port '0' is out of range" },
		{ "h:65536", -EINVAL, "", 0, "", "", "port '65536' is out of range" },
		{ "h:123456789012", -EINVAL, "", 0, "", "", "out of range" },
		{ "h:abc", -EINVAL, "", 0, "", "", "port 'abc' is not a number" },
		{ "h:-1", -EINVAL, "", 0, "", "", "port '-1' is not a number" },
		{ "h:", -EINVAL, "", 0, "", "", "empty port" },
		{ ":6379", -EINVAL, "", 0, "", "", "empty host" },
		{ "", -EINVAL, "", 0, "", "", "empty address" },
		{ "unix:", -EINVAL, "", 0, "", "", "empty unix socket path" },
		{ "unix:run/redis.sock", -EINVAL, "", 0, "", "", "is not absolute" },
		{ "redis://user:pw@h", -EINVAL, "", 0, "", "", "user names are not supported" },
		{ "redis://h/3", -EINVAL, "", 0, "", "", "database '/3'" },
		{ "redis://", -EINVAL, "", 0, "", "", "empty host" },
		{ "redis://:pw@:80", -EINVAL, "", 0, "", "", "empty host" },
		{ "rediss://h", -EINVAL, "", 0, "", "", "unsupported scheme" },
		{ "http://h:80", -EINVAL, "", 0, "", "", "unsupported scheme" },
		{ "[::1", -EINVAL, "", 0, "", "", "missing ']'" },
		{ "[::1]x", -EINVAL, "", 0, "", "", "expected ':' after ']'" },
		{ "[]:80", -EINVAL, "", 0, "", "", "empty host" },
	};

	return cr_make_param_array(struct url_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static void init_cfg(struct store_cfg *cfg)
{
	store_cfg_default(cfg);
	strcpy(cfg->password, "keep");
}

ParameterizedTest(struct url_case *c, store_url, parse, .timeout = 30)
{
	struct store_cfg cfg, before;
	char err[128] = "";

	init_cfg(&cfg);
	before = cfg;
	cr_assert_eq(store_cfg_parse_url(&cfg, c->url, err, sizeof(err)), c->rc, "'%s': %s",
		     c->url, err);
	if (c->rc != 0) {
		cr_assert(strstr(err, c->err), "'%s': error '%s' lacks '%s'", c->url, err, c->err);
		cr_assert(strncmp(err, "store: ", 7) == 0, "'%s': '%s'", c->url, err);
		cr_assert_eq(memcmp(&cfg, &before, sizeof(cfg)), 0, "cfg changed on error");
		return;
	}
	cr_assert_str_eq(cfg.host, c->host, "'%s'", c->url);
	cr_assert_eq(cfg.port, c->port, "'%s'", c->url);
	cr_assert_str_eq(cfg.unix_path, c->unix_path, "'%s'", c->url);
	cr_assert_str_eq(cfg.password, c->password, "'%s'", c->url);
}

/* Inputs too long for the table. */
Test(store_url, too_long, .timeout = 30)
{
	struct store_cfg cfg;
	char url[600], err[128];

	init_cfg(&cfg);
	memset(url, 'a', 300);
	url[300] = '\0';
	cr_assert_eq(store_cfg_parse_url(&cfg, url, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "host name too long"), "%s", err);
	strcpy(url, "unix:/");
	memset(url + 6, 'a', 200);
	url[206] = '\0';
	cr_assert_eq(store_cfg_parse_url(&cfg, url, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "unix socket path too long"), "%s", err);
	strcpy(url, "redis://:");
	memset(url + 9, 'p', 200);
	strcpy(url + 209, "@h");
	cr_assert_eq(store_cfg_parse_url(&cfg, url, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "password too long"), "%s", err);
	cr_assert_eq(store_cfg_parse_url(&cfg, NULL, NULL, 0), -EINVAL);
}

Test(store_scripts, every_script_id_has_embedded_text)
{
	for (int id = 0; id < SCRIPT__COUNT; id++) {
		size_t size = 0;
		const char *text = store_script_text((enum store_script)id, &size);

		cr_assert_not_null(text, "script %d (%s) has no datastore/lua file", id,
				   store_script_name((enum store_script)id));
		cr_assert_gt(size, 0);
	}
}

/* Sent now, answered later: store_flush() sends without reading, store_try_read_reply()
 * collects what has arrived and never waits, also when the server stopped answering. */
Test(store_conn, flush_then_collect_without_waiting, .timeout = 30)
{
	const char *ping[] = { "PING" }, *echo[] = { "ECHO", "x" };
	redisReply *r = NULL;
	uint64_t start, worst = 0;
	int rc = 0;

	st = open_store(0, false);
	cr_assert_eq(store_append_argv(st, 1, ping, NULL), 0);
	cr_assert_eq(store_append_argv(st, 2, echo, NULL), 0);
	cr_assert_eq(store_flush(st), 0);
	for (int got = 0; got < 2;) {
		rc = store_try_read_reply(st, &r);
		cr_assert_geq(rc, 0);
		if (rc == 1) {
			cr_assert_str_eq(r->str, got == 0 ? "PONG" : "x");
			freeReplyObject(r);
			got++;
		}
	}
	cr_assert_eq(store_pending(st), 0);
	/* A frozen server: nothing arrives, and no call waits for it. */
	kill(rs.pid, SIGSTOP);
	cr_assert_eq(store_append_argv(st, 1, ping, NULL), 0);
	cr_assert_eq(store_flush(st), 0);
	start = nf_now_us();
	while (elapsed_ms(start) < 500) {
		uint64_t t = nf_now_us();

		rc = store_try_read_reply(st, &r);
		if (elapsed_ms(t) > worst)
			worst = elapsed_ms(t);
		cr_assert_eq(rc, 0, "a reply from a frozen server?");
		sleep_ms(1);
	}
	cr_assert_lt(worst, 100, "store_try_read_reply waited %lu ms", (unsigned long)worst);
	store_reset(st, "test: no answer");
	kill(rs.pid, SIGCONT);
	cr_assert_eq(store_pending(st), 0, "the reset drops the batch");
	cr_assert(wait_ready(st, 3000), "no reconnect after the reset");
	cr_assert_eq(store_generation(st), 2);
}
