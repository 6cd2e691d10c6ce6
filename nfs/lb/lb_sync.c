/* The shared backend pool: publishing it to the store, following its version from a control
 * thread, and swapping Maglev snapshots under the workers without locks (quiescent states). */
#define _GNU_SOURCE	/* pthread_setname_np, pthread_setaffinity_np */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "nfs/lb/lb_int.h"

#define LB_SYNC_INTERVAL_MS 100
#define LB_SYNC_STEP_MS 10

/* Run the pool script once; NOSCRIPT (script cache flushed) is retried once. Returns the
 * reply (caller frees) or NULL when the store failed. */
static redisReply *push_script(struct store *st, const char *pk, const char *vk,
			       const char *json, bool if_absent)
{
	const char *argv[4] = { pk, vk, json, if_absent ? "1" : "0" };
	size_t len[4] = { strlen(pk), strlen(vk), strlen(json), 1 };
	redisReply *r = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (store_append_script(st, SCRIPT_LB_POOL_PUSH, 2, 4, argv, len) != 0 ||
		    store_read_reply(st, &r) != 0)
			return NULL;
		if (!store_reply_is_noscript(r))
			return r;
		freeReplyObject(r);
		r = NULL;
	}
	return NULL;
}

/* Validate 'pool_json' and return its canonical text (caller frees), or NULL. */
static char *push_canonical(const char *pool_json, char *err, size_t errsz, int *rc)
{
	struct lb_config *cfg = malloc(sizeof(*cfg));
	char why[256], *text = NULL;

	*rc = -ENOMEM;
	if (cfg == NULL)
		return NULL;
	lb_config_default(cfg);
	if (lb_config_load_pool(cfg, pool_json, why, sizeof(why)) != 0) {
		snprintf(err, errsz, "pool: %s", why);
		*rc = -EINVAL;
	} else {
		text = lb_config_pool_json(cfg);
	}
	free(cfg);
	return text;
}

/* The pool is stored in canonical form (lb_config_pool_json), so that "identical" means
 * the same services, whatever the spacing or field order of the text given. */
int lb_pool_push(struct store *st, const char *ns, const char *pool_json, bool if_absent,
		 uint64_t *version, char *err, size_t errsz)
{
	char pk[LB_KEY_MAX], vk[LB_KEY_MAX];
	char *json;
	redisReply *r;
	int rc;

	json = push_canonical(pool_json, err, errsz, &rc);
	if (json == NULL)
		return rc;
	snprintf(pk, sizeof(pk), "%s:pool", ns);
	snprintf(vk, sizeof(vk), "%s:pool_ver", ns);
	r = store_ready(st, nf_now_us()) ? push_script(st, pk, vk, json, if_absent) : NULL;
	free(json);
	if (r == NULL) {
		snprintf(err, errsz, "cannot publish the pool: store unreachable");
		return -ENOTCONN;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
		snprintf(err, errsz, "cannot publish the pool: %s",
			 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return -EIO;
	}
	rc = (int)r->element[0]->integer;
	if (version != NULL)
		*version = (uint64_t)r->element[1]->integer;
	freeReplyObject(r);
	return rc;
}

/* Make 'p' the pool of every worker's next burst; the old one waits for the workers to
 * pass a quiescent point. Caller holds lb->lock. */
static void lb_pool_publish(struct lb *lb, struct lb_pool *p)
{
	struct lb_pool *old = lb->pool;

	__atomic_store_n(&lb->pool, p, __ATOMIC_RELEASE);
	if (old == NULL)
		return;
	old->retire_tag = __atomic_add_fetch(&lb->pool_gen, 1, __ATOMIC_SEQ_CST);
	old->next = lb->retired;
	lb->retired = old;
}

/* Free the retired snapshots every worker has stopped using: a worker that reported
 * generation g after the swap that retired a snapshot (tag <= g) loads the new pointer
 * from then on. Caller holds lb->lock. */
static void lb_pool_reclaim(struct lb *lb)
{
	uint64_t min = LB_QS_OFFLINE;
	struct lb_pool **pp = &lb->retired;

	for (unsigned i = 0; i < LB_MAX_WORKERS; i++) {
		uint64_t s = __atomic_load_n(&lb->qs[i].seen, __ATOMIC_ACQUIRE);

		min = s < min ? s : min;
	}
	while (*pp != NULL) {
		struct lb_pool *p = *pp;

		if (p->retire_tag <= min) {
			*pp = p->next;
			lb_pool_free(p);
		} else {
			pp = &p->next;
		}
	}
}

/* The store has no pool: publish the configured one (only if still absent). Returns true
 * when the store has a pool now. */
static bool sync_republish(struct lb *lb)
{
	char *json = lb_config_pool_json(&lb->cfg), err[256];
	uint64_t ver = 0;
	int rc;

	if (json == NULL)
		return false;
	rc = lb_pool_push(lb->ctl, lb->opts.ns, json, true, &ver, err, sizeof(err));
	if (rc == 1)
		NF_LOG(INFO, "lb", "published the configured pool as version %" PRIu64
		       " (the store had none)", ver);
	free(json);
	return rc >= 0;
}

/* The integer value of reply 'r' (a string), or 0 for nil or anything else. */
static uint64_t reply_u64(const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return 0;
	return strtoull(r->str, NULL, 10);
}

/* Build and swap in the pool 'json' of version 'ver' (unless it is the one in use, read
 * again after a reconnect). Caller holds lb->lock. */
static int sync_adopt(struct lb *lb, const char *json, uint64_t ver)
{
	struct lb_config *cfg;
	struct lb_pool *p = NULL;
	char err[256];
	int rc = -ENOMEM;

	if (ver == lb_pool_get(lb)->version && lb->pool_json != NULL &&
	    strcmp(json, lb->pool_json) == 0)
		return 0;
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL)
		return -ENOMEM;
	lb_config_default(cfg);
	rc = lb_config_load_pool(cfg, json, err, sizeof(err));
	if (rc != 0) {
		NF_LOG(ERR, "lb", "pool version %" PRIu64 " in the store is invalid, keeping version "
		       "%" PRIu64 ": %s", ver, lb_pool_get(lb)->version, err);
		lb->rejected_ver = ver;
	} else if ((p = lb_pool_build(cfg, ver)) != NULL) {
		lb_pool_publish(lb, p);
		free(lb->pool_json);
		lb->pool_json = strdup(json);
		NF_LOG(INFO, "lb", "pool version %" PRIu64 ": %u services, %u backends", ver,
		       cfg->n_services, cfg->n_backends);
	} else {
		rc = -ENOMEM;
	}
	free(cfg);
	return rc;
}

/* Whether version 'ver' read on connection generation 'gen' calls for reading the pool:
 * a new version, the first read on a new connection (the store may have been replaced), or
 * no pool at all when ours is to be published. */
static bool sync_needed(const struct lb *lb, uint64_t gen, uint64_t ver)
{
	if (gen != lb->ctl_gen)
		return true;
	if (ver == 0)
		return lb->republish;
	return ver != lb_pool_get(lb)->version && ver != lb->rejected_ver;
}

/* Read the version; when needed read version and pool together (one MGET, so they match)
 * and adopt them. When the store has no pool and ours is to be published, publish it and
 * read it back ('again'). Caller holds lb->lock. */
static int sync_locked(struct lb *lb, bool again)
{
	char vk[LB_KEY_MAX], pk[LB_KEY_MAX];
	uint64_t ver, gen;
	redisReply *r;
	int rc = 0;

	if (!store_ready(lb->ctl, nf_now_us()))
		return -ENOTCONN;
	snprintf(vk, sizeof(vk), "%s:pool_ver", lb->opts.ns);
	snprintf(pk, sizeof(pk), "%s:pool", lb->opts.ns);
	gen = store_generation(lb->ctl);
	r = store_command(lb->ctl, "GET %s", vk);
	if (r == NULL)
		return -ENOTCONN;
	ver = reply_u64(r);
	freeReplyObject(r);
	if (!sync_needed(lb, gen, ver))
		return 0;
	r = store_command(lb->ctl, "MGET %s %s", vk, pk);
	if (r == NULL)
		return -ENOTCONN;
	lb->ctl_gen = gen;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING)
		rc = sync_adopt(lb, r->element[1]->str, reply_u64(r->element[0]));
	else if (lb->republish && sync_republish(lb) && again)
		rc = 1;
	freeReplyObject(r);
	return rc == 1 ? sync_locked(lb, false) : rc;
}

int lb_pool_sync(struct lb *lb)
{
	int rc;

	if (lb->ctl == NULL)
		return 0;	/* local mode: the configured pool only */
	pthread_mutex_lock(&lb->lock);
	rc = sync_locked(lb, true);
	lb_pool_reclaim(lb);
	pthread_mutex_unlock(&lb->lock);
	return rc;
}

uint64_t lb_pool_version(struct lb *lb)
{
	return lb_pool_get(lb)->version;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Keep the control thread off the CPUs of the poll loops (it inherits the main lcore's
 * affinity from EAL): any CPU that is not an enabled lcore. Without one (or without EAL)
 * nothing changes; a failure is harmless. */
static void sync_affinity(void)
{
	long n_cpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned lcore;
	cpu_set_t set;

	CPU_ZERO(&set);
	for (long cpu = 0; cpu < n_cpus && cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &set);
	RTE_LCORE_FOREACH(lcore)
		CPU_CLR(rte_lcore_to_cpu_id((int)lcore), &set);
	if (CPU_COUNT(&set) > 0)
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The control thread: a pool check every 100 ms until lb_sync_stop(). */
static void *sync_main(void *arg)
{
	struct lb *lb = arg;

	sync_affinity();
	while (!__atomic_load_n(&lb->stop, __ATOMIC_ACQUIRE)) {
		for (unsigned t = 0; t < LB_SYNC_INTERVAL_MS; t += LB_SYNC_STEP_MS) {
			if (__atomic_load_n(&lb->stop, __ATOMIC_ACQUIRE))
				return NULL;
			sleep_ms(LB_SYNC_STEP_MS);
		}
		lb_pool_sync(lb);
	}
	return NULL;
}

int lb_sync_start(struct lb *lb)
{
	int rc = pthread_create(&lb->thread, NULL, sync_main, lb);

	if (rc != 0)
		return -rc;
	pthread_setname_np(lb->thread, "lb-pool");
	lb->thread_started = true;
	return 0;
}

void lb_sync_stop(struct lb *lb)
{
	if (!lb->thread_started)
		return;
	__atomic_store_n(&lb->stop, 1, __ATOMIC_RELEASE);
	pthread_join(lb->thread, NULL);
	lb->thread_started = false;
}
