/* Store life cycle: configuration defaults, open/close, readiness and accessors. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/store_int.h"
#include "nf/clock.h"
#include "nf/log.h"

void store_cfg_default(struct store_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->host, "127.0.0.1");
	cfg->port = 6379;
	cfg->timeout_ms = 200;
	cfg->backoff_min_ms = 10;
	cfg->backoff_max_ms = 1000;
}
static bool cfg_valid(const struct store_cfg *cfg)
{
	if (!cfg->unix_path[0] && (!cfg->host[0] || cfg->port == 0))
		return false;
	return cfg->timeout_ms > 0 && cfg->backoff_min_ms > 0 &&
	       cfg->backoff_max_ms >= cfg->backoff_min_ms;
}

static void addr_format(struct store *st)
{
	if (st->cfg.unix_path[0])
		snprintf(st->addr, sizeof(st->addr), "unix:%s", st->cfg.unix_path);
	else
		snprintf(st->addr, sizeof(st->addr), "%s:%u", st->cfg.host, st->cfg.port);
}

/* Writing to a connection the server has closed raises SIGPIPE, whose default action
 * would kill the whole NF. Ignore it unless the application installed its own handler:
 * the write then fails with EPIPE and the store goes down like on any other I/O error. */
static void sigpipe_ignore(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

struct store *store_open(const struct store_cfg *cfg, const char *who)
{
	struct store *st;

	if (!cfg || !cfg_valid(cfg)) {
		NF_LOG(ERR, LOG_MOD, "store_open: invalid configuration");
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->cfg = *cfg;
	snprintf(st->who, sizeof(st->who), "%s", who ? who : "store");
	addr_format(st);
	st->backoff_ms = cfg->backoff_min_ms;
	sigpipe_ignore();
	store_try_connect(st, nf_now_us());
	return st;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	store_conns_free(st);
	free(st);
}

/* 'now_us' is on the nf_now_us() clock. */
bool store_ready(struct store *st, uint64_t now_us)
{
	if (st->ctx)
		return true;
	if (now_us < st->next_retry_us)
		return false;
	return store_try_reconnect(st, now_us);
}

uint64_t store_generation(const struct store *st)
{
	return st->generation;
}

const struct store_stats *store_get_stats(const struct store *st)
{
	return &st->stats;
}
