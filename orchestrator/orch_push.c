/* The part of an NF's config its running instances take from the store: the firewall's
 * rule set ("<ns>:rules") and the load balancer's pool ("<ns>:pool"). The orchestrator
 * publishes them when an NF is created (a rule set or pool left in Redis by an earlier NF of
 * the same name must not win over the new spec) and when PATCH changes the config; the
 * instances pick the new version up within their check interval (100 ms) and apply it to
 * new connections. The rest of a config (NAT addresses, timeouts) reaches the instances
 * through their replacement one at a time (orch_reconcile.c). Runs on the main loop (its
 * store connection, o->hb). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf/log.h"
#include "nfs/firewall/fw.h"
#include "nfs/lb/lb.h"
#include "orchestrator/orch_int.h"

#define FW_EMPTY_RULES "{\"default\": \"deny\", \"rules\": []}"

/* The firewall's rule set from its config (the default set when it has none). */
static int push_firewall(struct orch *o, const char *ns, const char *config, uint64_t *ver,
			 char *err, size_t errsz)
{
	struct fw_config cfg;
	int rc;

	fw_config_default(&cfg);
	rc = fw_config_load_string(&cfg, config, err, errsz);
	if (rc == 0 && cfg.rules_json == NULL)
		rc = fw_config_load_string(&cfg, FW_EMPTY_RULES, err, errsz);
	if (rc == 0)
		rc = fw_rules_push(o->hb, ns, cfg.rules_json, false, ver, err, errsz);
	fw_config_free(&cfg);
	return rc;
}

static int push_lb(struct orch *o, const char *ns, const char *config, uint64_t *ver,
		   char *err, size_t errsz)
{
	static struct lb_config cfg;	/* large; the main loop only */
	char *pool;
	int rc;

	lb_config_default(&cfg);
	rc = lb_config_load_string(&cfg, config, err, errsz);
	if (rc < 0)
		return rc;
	pool = lb_config_pool_json(&cfg);
	if (pool == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = lb_pool_push(o->hb, ns, pool, false, ver, err, errsz);
	free(pool);
	return rc;
}

/* What one push needs, copied under the lock (the API thread may replace the spec). */
struct push_job {
	char name[ORCH_NAME_MAX];
	enum orch_nf_type type;
	char *config;			/* JSON text, malloc'ed */
	bool announce;
};

/* Take 'nf's due push into 'job'; false when none is due. */
static bool push_take(struct orch *o, struct orch_nf *nf, struct push_job *job)
{
	bool due;

	pthread_mutex_lock(&o->lock);
	due = nf->push_due && !nf->deleting;
	if (due) {
		snprintf(job->name, sizeof(job->name), "%s", nf->spec.name);
		job->type = nf->spec.type;
		job->config = json_dumps(nf->spec.config, JSON_COMPACT);
		job->announce = nf->push_announce;
		nf->push_due = false;
		nf->push_announce = false;
	}
	pthread_mutex_unlock(&o->lock);
	return due && job->config != NULL;
}

/* Publish the job's part; returns 1 published, 0 unchanged, < 0 an error (in 'err'). */
static int push_run(struct orch *o, const struct push_job *job, uint64_t *ver, char *err,
		    size_t errsz)
{
	if (job->type == ORCH_NF_FIREWALL)
		return push_firewall(o, job->name, job->config, ver, err, errsz);
	if (job->type == ORCH_NF_LB)
		return push_lb(o, job->name, job->config, ver, err, errsz);
	return 0;
}

static void push_report(struct orch *o, const struct push_job *job, int rc, uint64_t ver,
			const char *err)
{
	const char *what = job->type == ORCH_NF_LB ? "pool" : "rule set";
	char detail[160];

	if (rc < 0) {
		NF_LOG(ERR, ORCH_LOG, "NF '%s': %s not published: %s", job->name, what, err);
		return;
	}
	NF_LOG(INFO, ORCH_LOG, "NF '%s': %s version %" PRIu64 " in the store%s", job->name, what,
	       ver, rc == 1 ? " (published)" : " (unchanged)");
	if (rc == 1 && job->announce) {
		snprintf(detail, sizeof(detail), "config: %s version %" PRIu64 " published; the "
			 "running instances apply it to new connections", what, ver);
		orch_state_add_event(o->st_loop, job->name, ORCH_EV_SCALED, NULL, detail);
	}
}

void orch_push_configs(struct orch *o)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		struct push_job job;
		char err[256] = "";
		uint64_t ver = 0;
		int rc;

		if (nf->spec.type == ORCH_NF_NAT || !push_take(o, nf, &job))
			continue;
		rc = push_run(o, &job, &ver, err, sizeof(err));
		free(job.config);
		if (rc == -ENOTCONN || rc == -EIO) {
			NF_LOG_RL(WARN, ORCH_LOG, "NF '%s': config not published yet: %s", job.name, err);
			pthread_mutex_lock(&o->lock);
			nf->push_due = true;	/* the store is down: a later turn tries again */
			nf->push_announce |= job.announce;
			pthread_mutex_unlock(&o->lock);
			continue;
		}
		push_report(o, &job, rc, ver, err);
	}
}
