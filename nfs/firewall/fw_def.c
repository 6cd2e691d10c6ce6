/* The firewall's control path: instance and worker lifecycle, and its nf_def for the runtime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "nfs/firewall/fw_int.h"

static void fw_set_timeouts(struct fw *fw)
{
	const struct fw_timeouts *t = &fw->cfg.timeouts;
	const uint32_t secs[FW_ST__COUNT] = {
		[FW_ST_NONE] = t->tcp_closed,
		[FW_ST_TCP_SYN_SENT] = t->tcp_syn_sent,
		[FW_ST_TCP_SYN_RECV] = t->tcp_syn_recv,
		[FW_ST_TCP_ESTABLISHED] = t->tcp_established,
		[FW_ST_TCP_FIN_WAIT] = t->tcp_fin_wait,
		[FW_ST_TCP_CLOSING] = t->tcp_closing,
		[FW_ST_TCP_CLOSED] = t->tcp_closed,
		[FW_ST_UDP] = t->udp,
		[FW_ST_UDP_REPLIED] = t->udp_stream,
		[FW_ST_ICMP] = t->icmp,
	};

	for (int s = 0; s < FW_ST__COUNT; s++) {
		fw->timeout_ms[s] = secs[s] * 1000u;
		snprintf(fw->ttl_str[s], sizeof(fw->ttl_str[s]), "%u", secs[s] * 1000u);
	}
}

struct fw *fw_create(const struct fw_config *cfg, const struct nf_opts *opts)
{
	struct fw *fw = calloc(1, sizeof(*fw));
	char err[256];

	if (fw == NULL)
		return NULL;
	fw->cfg = *cfg;
	fw->cfg.rules_json = NULL;
	fw->opts = *opts;
	fw_set_timeouts(fw);
	if (fw_rules_parse("{}", 2, &fw->deny_all, err, sizeof(err)) != 0)
		goto err;
	if (cfg->rules_json != NULL) {
		fw->cfg.rules_json = strdup(cfg->rules_json);
		if (fw->cfg.rules_json == NULL ||
		    fw_rules_parse(cfg->rules_json, strlen(cfg->rules_json), &fw->initial, err,
				   sizeof(err)) != 0) {
			NF_LOG(ERR, "firewall", "rule set: %s", err);
			goto err;
		}
	}
	return fw;
err:
	fw_destroy(fw);
	return NULL;
}

void fw_destroy(struct fw *fw)
{
	if (fw == NULL)
		return;
	fw_ruleset_free(fw->initial);
	fw_ruleset_free(fw->deny_all);
	fw_config_free(&fw->cfg);
	free(fw);
}

static void fw_worker_keys(struct fw_worker *w)
{
	const char *ns = w->fw->opts.ns;

	snprintf(w->pfx_c, sizeof(w->pfx_c), "%s:c", ns);
	w->pfx_len = strlen(w->pfx_c);
	snprintf(w->key_rules, sizeof(w->key_rules), "%s:rules", ns);
	snprintf(w->key_rules_ver, sizeof(w->key_rules_ver), "%s:rules_ver", ns);
}

/* The configured rule set until the store says otherwise; worker 0 publishes it. */
static void fw_worker_rules_init(struct fw_worker *w)
{
	struct fw *fw = w->fw;

	w->rules = fw->initial != NULL ? fw->initial : fw->deny_all;
	w->rules_text = fw->cfg.rules_json;
	w->publish_pending = w->id == 0 && w->rules_text != NULL;
	w->publish_force = fw->cfg.publish_rules;
	if (fw->initial == NULL && fw->opts.mode != NF_MODE_LOCAL && w->id == 0)
		NF_LOG(INFO, "firewall", "no rule set configured: denying new connections until "
		       "the store has one");
}

static int fw_worker_store_open(struct fw_worker *w)
{
	const struct nf_opts *o = &w->fw->opts;
	struct store_cfg sc = o->store;
	char who[96];

	sc.tracking = o->mode == NF_MODE_CACHED;
	snprintf(who, sizeof(who), "%s/w%u", o->id, w->id);
	w->store = store_open(&sc, who);
	if (w->store == NULL)
		return -ENOMEM;
	w->store_gen = store_generation(w->store);
	fw_sync_rules(w, nf_now_us(), true);
	return 0;
}

struct fw_worker *fw_worker_create(struct fw *fw, unsigned worker_id, struct nf_counters *ctr)
{
	const struct nf_opts *o = &fw->opts;
	struct fw_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->fw = fw;
	w->id = worker_id;
	w->ctr = ctr;
	w->dirty_epoch = 1;
	fw_worker_keys(w);
	fw_worker_rules_init(w);
	if (o->mode != NF_MODE_REMOTE) {
		w->cache = flowcache_create(o->cache_entries ? o->cache_entries : 65536,
					    sizeof(struct fw_centry));
		if (w->cache == NULL)
			goto err;
	}
	if (o->mode != NF_MODE_LOCAL && fw_worker_store_open(w) != 0)
		goto err;
	return w;
err:
	fw_worker_destroy(w);
	return NULL;
}

void fw_worker_destroy(struct fw_worker *w)
{
	if (w == NULL)
		return;
	if (w->store != NULL) {
		fw_store_flush(w, nf_now_us());
		store_close(w->store);
	}
	flowcache_free(w->cache);
	fw_ruleset_free(w->rules_owned);
	free(w->rules_text_owned);
	free(w);
}

void fw_tick(struct fw_worker *w, uint64_t now_us)
{
	if (w->store == NULL)
		return;
	fw_store_poll(w, now_us);
	fw_sync_rules(w, now_us, false);
}

uint64_t fw_worker_rules_version(const struct fw_worker *w)
{
	return w->rules_ver;
}

/* nf_def glue: the NF context while options are parsed. */
struct fw_nf {
	struct fw_config cfg;
	struct fw *fw;
};

enum { OPT_CONFIG = 1000, OPT_RULES, OPT_PUBLISH_RULES, OPT_INSIDE_PREFIX, OPT_TIMEOUT,
       OPT_RULES_CHECK_MS };

static const struct option fw_options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "publish-rules", no_argument, NULL, OPT_PUBLISH_RULES },
	{ "inside-prefix", required_argument, NULL, OPT_INSIDE_PREFIX },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "rules-check-ms", required_argument, NULL, OPT_RULES_CHECK_MS },
	{ NULL, 0, NULL, 0 },
};

static void *fw_nf_create(void)
{
	struct fw_nf *nf = calloc(1, sizeof(*nf));

	if (nf != NULL)
		fw_config_default(&nf->cfg);
	return nf;
}

static int fw_opt_timeout(struct fw_config *cfg, const char *arg, char *err, size_t errsz)
{
	char name[32], end;
	unsigned secs;

	if (sscanf(arg, "%31[a-z_]=%u%c", name, &secs, &end) != 2 || secs == 0 ||
	    secs > 30 * 86400 || fw_config_set_timeout(cfg, name, secs) != 0) {
		snprintf(err, errsz, "--timeout: '%s' is not NAME=SECONDS with NAME one of tcp_syn_sent, "
			 "tcp_syn_recv, tcp_established, tcp_fin_wait, tcp_closing, tcp_closed, udp, "
			 "udp_stream, icmp", arg);
		return -EINVAL;
	}
	return 0;
}

static int fw_opt_check_ms(struct fw_config *cfg, const char *arg, char *err, size_t errsz)
{
	unsigned long n;
	char *end;

	n = strtoul(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || n == 0 || n > 60000) {
		snprintf(err, errsz, "--rules-check-ms: '%s' is not a number in 1-60000", arg);
		return -EINVAL;
	}
	cfg->rules_check_ms = (unsigned)n;
	return 0;
}

static int fw_nf_option(void *ctx, int opt, const char *arg, char *err, size_t errsz)
{
	struct fw_nf *nf = ctx;

	switch (opt) {
	case OPT_CONFIG:
		return fw_config_load_file(&nf->cfg, arg, err, errsz);
	case OPT_RULES:
		return fw_config_load_rules_file(&nf->cfg, arg, err, errsz);
	case OPT_PUBLISH_RULES:
		nf->cfg.publish_rules = true;
		return 0;
	case OPT_INSIDE_PREFIX:
		return fw_config_add_inside_prefix(&nf->cfg, arg, "--inside-prefix", err, errsz);
	case OPT_TIMEOUT:
		return fw_opt_timeout(&nf->cfg, arg, err, errsz);
	case OPT_RULES_CHECK_MS:
		return fw_opt_check_ms(&nf->cfg, arg, err, errsz);
	}
	snprintf(err, errsz, "unknown firewall option %d", opt);
	return -EINVAL;
}

static int fw_nf_configure(void *ctx, const struct nf_opts *opts, char *err, size_t errsz)
{
	struct fw_nf *nf = ctx;

	if (nf->cfg.publish_rules && nf->cfg.rules_json == NULL) {
		snprintf(err, errsz, "--publish-rules: needs a rule set (--rules FILE)");
		return -EINVAL;
	}
	if (fw_config_validate(&nf->cfg, opts, err, errsz) != 0)
		return -EINVAL;
	nf->fw = fw_create(&nf->cfg, opts);
	if (nf->fw == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

NF_DEF_WORKER_GLUE(fw, struct fw_nf, fw)

static void fw_nf_destroy(void *ctx)
{
	struct fw_nf *nf = ctx;

	if (nf == NULL)
		return;
	fw_destroy(nf->fw);
	fw_config_free(&nf->cfg);
	free(nf);
}

const struct nf_def fw_nf_def = {
	.name = "firewall",
	.usage = "  --rules FILE             rule set: {\"default\": \"allow\"|\"deny\", \"rules\": [...]};\n"
		 "                           published to the store if it has none\n"
		 "  --publish-rules          publish --rules even over the store's rule set (all\n"
		 "                           instances of the namespace switch to it)\n"
		 "  --config FILE            JSON: timeouts, inside_prefixes, rules_check_ms (and\n"
		 "                           optionally default and rules)\n"
		 "  --inside-prefix A.B.C.D/LEN  one-armed: sources in it go out (repeatable)\n"
		 "  --timeout NAME=SECONDS   tcp_syn_sent, tcp_syn_recv, tcp_established,\n"
		 "                           tcp_fin_wait, tcp_closing, tcp_closed, udp, udp_stream, icmp\n"
		 "  --rules-check-ms N       how often to check the store's rule set version (100)\n",
	.options = fw_options,
	.option = fw_nf_option,
	.create = fw_nf_create,
	.configure = fw_nf_configure,
	NF_DEF_WORKER_CALLBACKS(fw),
	.destroy = fw_nf_destroy,
};
