/* The load balancer's control path: instance and worker lifecycle, and its nf_def. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "nfs/lb/lb_int.h"

static void lb_set_timeouts(struct lb *lb, const struct lb_timeouts *t)
{
	lb->timeout_ms[IPPROTO_TCP] = t->tcp * 1000u;
	lb->timeout_ms[IPPROTO_UDP] = t->udp * 1000u;
	snprintf(lb->ttl_str[IPPROTO_TCP], sizeof(lb->ttl_str[0]), "%u", t->tcp * 1000u);
	snprintf(lb->ttl_str[IPPROTO_UDP], sizeof(lb->ttl_str[0]), "%u", t->udp * 1000u);
}

/* The control connection and thread of the cached and remote modes. 0 or -errno. */
static int lb_control_start(struct lb *lb)
{
	struct store_cfg sc = lb->opts.store;
	char who[96];

	sc.tracking = false;
	snprintf(who, sizeof(who), "%s/pool", lb->opts.id);
	lb->ctl = store_open(&sc, who);
	if (lb->ctl == NULL)
		return -ENOMEM;
	lb->republish = lb->cfg.n_services > 0;
	lb_pool_sync(lb);	/* the store's pool if it has one; unreachable is not fatal */
	return lb_sync_start(lb);
}

struct lb *lb_create(const struct lb_config *cfg, const struct nf_opts *opts)
{
	struct lb *lb;
	char err[256];

	if (lb_config_validate(cfg, err, sizeof(err)) != 0)
		return NULL;
	lb = calloc(1, sizeof(*lb));
	if (lb == NULL)
		return NULL;
	lb->cfg = *cfg;
	lb->opts = *opts;
	lb_set_timeouts(lb, &cfg->timeouts);
	pthread_mutex_init(&lb->lock, NULL);
	for (unsigned i = 0; i < LB_MAX_WORKERS; i++)
		lb->qs[i].seen = LB_QS_OFFLINE;
	lb->pool = lb_pool_build(cfg, 0);
	if (lb->pool == NULL)
		goto err;
	if (opts->mode != NF_MODE_LOCAL && lb_control_start(lb) != 0)
		goto err;
	return lb;
err:
	lb_destroy(lb);
	return NULL;
}

void lb_destroy(struct lb *lb)
{
	if (lb == NULL)
		return;
	lb_sync_stop(lb);
	if (lb->ctl != NULL)
		store_close(lb->ctl);
	while (lb->retired != NULL) {
		struct lb_pool *p = lb->retired;

		lb->retired = p->next;
		lb_pool_free(p);
	}
	lb_pool_free(lb->pool);
	free(lb->pool_json);
	pthread_mutex_destroy(&lb->lock);
	free(lb);
}

static void lb_worker_prefixes(struct lb_worker *w)
{
	const char *ns = w->lb->opts.ns;

	snprintf(w->pfx_f, sizeof(w->pfx_f), "%s:f", ns);
	w->pfx_len = strlen(w->pfx_f);
	snprintf(w->pfx_b, sizeof(w->pfx_b), "%s:b:", ns);
}

static int lb_worker_store(struct lb_worker *w)
{
	struct store_cfg sc = w->lb->opts.store;
	char who[96];

	sc.tracking = w->lb->opts.mode == NF_MODE_CACHED;
	snprintf(who, sizeof(who), "%s/w%u", w->lb->opts.id, w->id);
	w->store = store_open(&sc, who);
	if (w->store == NULL)
		return -ENOMEM;
	w->store_gen = store_generation(w->store);
	return 0;
}

struct lb_worker *lb_worker_create(struct lb *lb, unsigned worker_id, struct nf_counters *ctr)
{
	const struct nf_opts *o = &lb->opts;
	struct lb_worker *w;

	if (worker_id >= LB_MAX_WORKERS)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->lb = lb;
	w->id = worker_id;
	w->ctr = ctr;
	lb_worker_prefixes(w);
	if (o->mode != NF_MODE_REMOTE) {
		w->cache = flowcache_create(o->cache_entries ? o->cache_entries : 65536,
					    sizeof(struct lb_centry));
		if (w->cache == NULL)
			goto err;
	}
	if (o->mode != NF_MODE_LOCAL && lb_worker_store(w) != 0)
		goto err;
	lb_quiescent(lb, worker_id);	/* online from now on */
	return w;
err:
	lb_worker_destroy(w);
	return NULL;
}

void lb_worker_destroy(struct lb_worker *w)
{
	if (w == NULL)
		return;
	if (w->store != NULL) {
		lb_store_flush(w, nf_now_us());
		store_close(w->store);
	}
	__atomic_store_n(&w->lb->qs[w->id].seen, LB_QS_OFFLINE, __ATOMIC_RELEASE);
	flowcache_free(w->cache);
	free(w);
}

void lb_tick(struct lb_worker *w, uint64_t now_us)
{
	lb_quiescent(w->lb, w->id);
	if (w->store != NULL)
		lb_store_poll(w, now_us);
}

/* nf_def glue: the NF context while options are parsed. */
struct lb_nf {
	struct lb_config cfg;
	bool have_config;
	bool publish;
	struct lb *lb;
};

enum { OPT_CONFIG = 1000, OPT_PUBLISH_POOL, OPT_TIMEOUT };

static const struct option lb_options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "publish-pool", no_argument, NULL, OPT_PUBLISH_POOL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static void *lb_nf_create(void)
{
	struct lb_nf *nf = calloc(1, sizeof(*nf));

	if (nf != NULL)
		lb_config_default(&nf->cfg);
	return nf;
}

static int lb_opt_timeout(struct lb_config *cfg, const char *arg, char *err, size_t errsz)
{
	char name[32], end;
	unsigned secs;

	if (sscanf(arg, "%31[a-z]=%u%c", name, &secs, &end) != 2 || secs == 0 || secs > 30 * 86400 ||
	    lb_config_set_timeout(cfg, name, secs) != 0) {
		snprintf(err, errsz, "--timeout: '%s' is not NAME=SECONDS with NAME tcp or udp and "
			 "SECONDS in 1-2592000", arg);
		return -EINVAL;
	}
	return 0;
}

static int lb_nf_option(void *ctx, int opt, const char *arg, char *err, size_t errsz)
{
	struct lb_nf *nf = ctx;

	switch (opt) {
	case OPT_CONFIG:
		nf->have_config = true;
		return lb_config_load_file(&nf->cfg, arg, err, errsz);
	case OPT_PUBLISH_POOL:
		nf->publish = true;
		return 0;
	case OPT_TIMEOUT:
		return lb_opt_timeout(&nf->cfg, arg, err, errsz);
	}
	snprintf(err, errsz, "unknown load balancer option %d", opt);
	return -EINVAL;
}

/* --publish-pool: replace the store's pool with the configured one before starting. An
 * unreachable store is not fatal (the pool is then published if the store has none). */
static int lb_nf_publish(struct lb_nf *nf, const struct nf_opts *opts, char *err, size_t errsz)
{
	struct store_cfg sc = opts->store;
	char *json = lb_config_pool_json(&nf->cfg), who[96];
	struct store *st;
	uint64_t ver = 0;
	int rc = -ENOMEM;

	sc.tracking = false;
	snprintf(who, sizeof(who), "%s/publish", opts->id);
	st = json != NULL ? store_open(&sc, who) : NULL;
	if (st != NULL)
		rc = lb_pool_push(st, opts->ns, json, false, &ver, err, errsz);
	if (rc >= 0)
		NF_LOG(INFO, "lb", "pool version %" PRIu64 " %s", ver, rc == 1 ? "published"
		       : "already in the store (identical)");
	else if (rc == -ENOTCONN)
		NF_LOG(WARN, "lb", "%s; continuing with the configured pool", err);
	store_close(st);
	free(json);
	return rc >= 0 || rc == -ENOTCONN ? 0 : rc;
}

static int lb_nf_check(const struct lb_nf *nf, const struct nf_opts *opts, char *err,
		       size_t errsz)
{
	if (lb_config_validate(&nf->cfg, err, errsz) != 0)
		return -EINVAL;
	if (opts->mode == NF_MODE_LOCAL && nf->cfg.n_services == 0) {
		snprintf(err, errsz, "services: at least one service is required in local mode (--config)");
		return -EINVAL;
	}
	if (nf->publish && (opts->mode == NF_MODE_LOCAL || !nf->have_config)) {
		snprintf(err, errsz, "--publish-pool: needs --config and a store (not --mode local)");
		return -EINVAL;
	}
	return 0;
}

static int lb_nf_configure(void *ctx, const struct nf_opts *opts, char *err, size_t errsz)
{
	struct lb_nf *nf = ctx;
	int rc = lb_nf_check(nf, opts, err, errsz);

	if (rc == 0 && nf->publish)
		rc = lb_nf_publish(nf, opts, err, errsz);
	if (rc != 0)
		return rc;
	nf->lb = lb_create(&nf->cfg, opts);
	if (nf->lb == NULL) {
		snprintf(err, errsz, "cannot create the load balancer (out of memory)");
		return -ENOMEM;
	}
	return 0;
}

NF_DEF_WORKER_GLUE(lb, struct lb_nf, lb)

static void lb_nf_destroy(void *ctx)
{
	struct lb_nf *nf = ctx;

	if (nf == NULL)
		return;
	lb_destroy(nf->lb);
	free(nf);
}

const struct nf_def lb_nf_def = {
	.name = "lb",
	.usage = "  --config FILE            JSON config: services (VIP:port/proto -> backends), timeouts;\n"
		 "                           its pool is published when the store has none\n"
		 "  --publish-pool           replace the store's pool with the --config one\n"
		 "  --timeout NAME=SECONDS   idle timeout, NAME tcp (default 900) or udp (300)\n",
	.options = lb_options,
	.option = lb_nf_option,
	.create = lb_nf_create,
	.configure = lb_nf_configure,
	NF_DEF_WORKER_CALLBACKS(lb),
	.destroy = lb_nf_destroy,
};
