/* Firewall configuration: defaults, JSON loading (settings and rule sets), validation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "nf/cfgjson.h"
#include "nfs/firewall/fw.h"
#include "nfs/firewall/fw_rules.h"

#define CONFIG_FIELDS "default, rules, timeouts, inside_prefixes, rules_check_ms"

void fw_config_default(struct fw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeouts.tcp_syn_sent = 120;
	cfg->timeouts.tcp_syn_recv = 60;
	cfg->timeouts.tcp_established = 432000;
	cfg->timeouts.tcp_fin_wait = 120;
	cfg->timeouts.tcp_closing = 120;
	cfg->timeouts.tcp_closed = 10;
	cfg->timeouts.udp = 30;
	cfg->timeouts.udp_stream = 120;
	cfg->timeouts.icmp = 30;
	cfg->rules_check_ms = 100;
}

void fw_config_free(struct fw_config *cfg)
{
	free(cfg->rules_json);
	cfg->rules_json = NULL;
}

static const struct cfgjson_u32_field timeout_fields[] = {
	{ "tcp_syn_sent", offsetof(struct fw_timeouts, tcp_syn_sent) },
	{ "tcp_syn_recv", offsetof(struct fw_timeouts, tcp_syn_recv) },
	{ "tcp_established", offsetof(struct fw_timeouts, tcp_established) },
	{ "tcp_fin_wait", offsetof(struct fw_timeouts, tcp_fin_wait) },
	{ "tcp_closing", offsetof(struct fw_timeouts, tcp_closing) },
	{ "tcp_closed", offsetof(struct fw_timeouts, tcp_closed) },
	{ "udp", offsetof(struct fw_timeouts, udp) },
	{ "udp_stream", offsetof(struct fw_timeouts, udp_stream) },
	{ "icmp", offsetof(struct fw_timeouts, icmp) },
};
#define N_TIMEOUT_FIELDS (sizeof(timeout_fields) / sizeof(timeout_fields[0]))

int fw_config_set_timeout(struct fw_config *cfg, const char *name, uint32_t seconds)
{
	return cfgjson_set_u32(&cfg->timeouts, timeout_fields, N_TIMEOUT_FIELDS, name, seconds);
}

int fw_config_add_inside_prefix(struct fw_config *cfg, const char *s, const char *field, char *err,
				size_t errsz)
{
	uint32_t net, mask;

	if (cfgjson_prefix(s, field, &net, &mask, err, errsz) != 0)
		return -EINVAL;
	if (cfg->n_inside == FW_MAX_INSIDE_PREFIXES)
		return cfgjson_err(err, errsz, field, "too many inside prefixes (max 32)");
	cfg->inside[cfg->n_inside].net = htonl(net);
	cfg->inside[cfg->n_inside].mask = htonl(mask);
	cfg->n_inside++;
	return 0;
}

static int cfg_inside(struct fw_config *cfg, json_t *v, char *err, size_t errsz)
{
	char field[48];
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return cfgjson_err(err, errsz, "inside_prefixes", "must be an array of IPv4 prefixes");
	cfg->n_inside = 0;
	json_array_foreach(v, i, e) {
		snprintf(field, sizeof(field), "inside_prefixes[%zu]", i);
		if (!json_is_string(e))
			return cfgjson_err(err, errsz, field, "must be a string \"A.B.C.D/LEN\"");
		if (fw_config_add_inside_prefix(cfg, json_string_value(e), field, err, errsz) != 0)
			return -EINVAL;
	}
	return 0;
}

/* Validate the rule set part of 'root' and keep its canonical text in 'cfg'. */
static int cfg_rules(struct fw_config *cfg, const json_t *root, bool only_rules, char *err,
		     size_t errsz)
{
	struct fw_ruleset *rs = NULL;
	char *text;

	if (fw_rules_from_json(root, only_rules, &rs, err, errsz) != 0)
		return -EINVAL;
	fw_ruleset_free(rs);
	text = fw_rules_canonical(root);
	if (text == NULL)
		return cfgjson_err(err, errsz, "rules", "out of memory");
	free(cfg->rules_json);
	cfg->rules_json = text;
	return 0;
}

static int cfg_field(struct fw_config *cfg, const char *k, json_t *v, char *err, size_t errsz)
{
	static const struct cfgjson_range seconds = {
		1, 30 * 86400, "must be a number of seconds in 1-2592000",
		"must be a number of seconds in 1-2592000"
	};

	if (strcmp(k, "default") == 0 || strcmp(k, "rules") == 0)
		return 0;	/* the rule set, handled as a whole */
	if (strcmp(k, "timeouts") == 0)
		return cfgjson_timeouts(v, &seconds, &cfg->timeouts, timeout_fields, N_TIMEOUT_FIELDS,
					err, errsz);
	if (strcmp(k, "inside_prefixes") == 0)
		return cfg_inside(cfg, v, err, errsz);
	if (strcmp(k, "rules_check_ms") == 0) {
		if (!cfgjson_int_in(v, 1, 60000))
			return cfgjson_err(err, errsz, k, "must be a number of milliseconds in 1-60000");
		cfg->rules_check_ms = (unsigned)json_integer_value(v);
		return 0;
	}
	return cfgjson_unknown(err, errsz, k, CONFIG_FIELDS);
}

/* What a load applies: a whole config, or ('only_rules') a rule set file. */
struct cfg_load {
	struct fw_config *cfg;
	bool only_rules;
};

/* cfgjson_apply_fn on a struct cfg_load. */
static int cfg_apply(void *ctx, json_t *root, char *err, size_t errsz)
{
	const struct cfg_load *l = ctx;
	const char *k;
	json_t *v;

	if (l->only_rules)
		return cfg_rules(l->cfg, root, true, err, errsz);
	json_object_foreach(root, k, v)
		if (cfg_field(l->cfg, k, v, err, errsz) != 0)
			return -EINVAL;
	if (json_object_get(root, "default") != NULL || json_object_get(root, "rules") != NULL)
		return cfg_rules(l->cfg, root, false, err, errsz);
	return 0;
}

int fw_config_load_string(struct fw_config *cfg, const char *json, char *err, size_t errsz)
{
	struct cfg_load l = { cfg, false };

	return cfgjson_load_string(json, cfg_apply, &l, err, errsz);
}

int fw_config_load_file(struct fw_config *cfg, const char *path, char *err, size_t errsz)
{
	struct cfg_load l = { cfg, false };

	return cfgjson_load_file(path, cfg_apply, &l, err, errsz);
}

int fw_config_load_rules_file(struct fw_config *cfg, const char *path, char *err, size_t errsz)
{
	struct cfg_load l = { cfg, true };

	return cfgjson_load_file(path, cfg_apply, &l, err, errsz);
}

int fw_config_validate(const struct fw_config *cfg, const struct nf_opts *opts, char *err,
		       size_t errsz)
{
	if (cfg->rules_check_ms == 0 || cfg->rules_check_ms > 60000)
		return cfgjson_err(err, errsz, "rules_check_ms", "must be in 1-60000");
	if (opts != NULL && opts->one_armed && cfg->n_inside == 0)
		return cfgjson_err(err, errsz, "--inside-prefix",
				   "one-armed mode needs at least one inside prefix to tell in from out");
	if (opts != NULL && opts->mode == NF_MODE_LOCAL && cfg->rules_json == NULL)
		return cfgjson_err(err, errsz, "--rules", "local mode needs a rule set (--rules FILE)");
	return 0;
}
