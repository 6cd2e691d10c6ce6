/* Firewall configuration: defaults, JSON loading (settings and rule sets), validation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>

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

static int cfg_err(char *err, size_t errsz, const char *field, const char *what)
{
	snprintf(err, errsz, "%s: %s", field, what);
	return -EINVAL;
}

static const struct {
	const char *name;
	size_t off;
} timeout_fields[] = {
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

int fw_config_set_timeout(struct fw_config *cfg, const char *name, uint32_t seconds)
{
	for (size_t i = 0; i < sizeof(timeout_fields) / sizeof(timeout_fields[0]); i++) {
		if (strcmp(name, timeout_fields[i].name) == 0) {
			*(uint32_t *)((char *)&cfg->timeouts + timeout_fields[i].off) = seconds;
			return 0;
		}
	}
	return -ENOENT;
}

static int cfg_timeouts(struct fw_config *cfg, json_t *v, char *err, size_t errsz)
{
	char field[80], what[96];
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return cfg_err(err, errsz, "timeouts", "must be an object");
	json_object_foreach(v, k, e) {
		snprintf(field, sizeof(field), "timeouts.%s", k);
		if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 30 * 86400) {
			snprintf(what, sizeof(what), "must be a number of seconds in 1-%d", 30 * 86400);
			return cfg_err(err, errsz, field, what);
		}
		if (fw_config_set_timeout(cfg, k, (uint32_t)json_integer_value(e)) != 0)
			return cfg_err(err, errsz, field, "unknown timeout (tcp_syn_sent, tcp_syn_recv, "
				       "tcp_established, tcp_fin_wait, tcp_closing, tcp_closed, udp, "
				       "udp_stream, icmp)");
	}
	return 0;
}

int fw_config_add_inside_prefix(struct fw_config *cfg, const char *s, const char *field, char *err,
				size_t errsz)
{
	uint32_t net, mask;
	char what[128];
	int rc = fw_prefix_parse(s, &net, &mask);

	if (rc != 0) {
		snprintf(what, sizeof(what), rc == -EDOM
			 ? "'%s' has address bits set beyond its prefix length"
			 : "'%s' is not an IPv4 prefix A.B.C.D/LEN", s);
		return cfg_err(err, errsz, field, what);
	}
	if (cfg->n_inside == FW_MAX_INSIDE_PREFIXES)
		return cfg_err(err, errsz, field, "too many inside prefixes (max 32)");
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
		return cfg_err(err, errsz, "inside_prefixes", "must be an array of IPv4 prefixes");
	cfg->n_inside = 0;
	json_array_foreach(v, i, e) {
		snprintf(field, sizeof(field), "inside_prefixes[%zu]", i);
		if (!json_is_string(e))
			return cfg_err(err, errsz, field, "must be a string \"A.B.C.D/LEN\"");
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
		return cfg_err(err, errsz, "rules", "out of memory");
	free(cfg->rules_json);
	cfg->rules_json = text;
	return 0;
}

static int cfg_field(struct fw_config *cfg, const char *k, json_t *v, char *err, size_t errsz)
{
	if (strcmp(k, "default") == 0 || strcmp(k, "rules") == 0)
		return 0;	/* the rule set, handled as a whole */
	if (strcmp(k, "timeouts") == 0)
		return cfg_timeouts(cfg, v, err, errsz);
	if (strcmp(k, "inside_prefixes") == 0)
		return cfg_inside(cfg, v, err, errsz);
	if (strcmp(k, "rules_check_ms") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 60000)
			return cfg_err(err, errsz, k, "must be a number of milliseconds in 1-60000");
		cfg->rules_check_ms = (unsigned)json_integer_value(v);
		return 0;
	}
	return cfg_err(err, errsz, k, "unknown field (" CONFIG_FIELDS ")");
}

static int cfg_load_json(struct fw_config *cfg, json_t *root, bool only_rules, char *err,
			 size_t errsz)
{
	const char *k;
	json_t *v;

	if (!json_is_object(root))
		return cfg_err(err, errsz, "config", "must be a JSON object");
	if (only_rules)
		return cfg_rules(cfg, root, true, err, errsz);
	json_object_foreach(root, k, v)
		if (cfg_field(cfg, k, v, err, errsz) != 0)
			return -EINVAL;
	if (json_object_get(root, "default") != NULL || json_object_get(root, "rules") != NULL)
		return cfg_rules(cfg, root, false, err, errsz);
	return 0;
}

int fw_config_load_string(struct fw_config *cfg, const char *json, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "config: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = cfg_load_json(cfg, root, false, err, errsz);
	json_decref(root);
	return rc;
}

static int cfg_load_path(struct fw_config *cfg, const char *path, bool only_rules, char *err,
			 size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char where[512];
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = cfg_load_json(cfg, root, only_rules, where, sizeof(where));
	if (rc != 0)
		snprintf(err, errsz, "%s: %s", path, where);
	json_decref(root);
	return rc;
}

int fw_config_load_file(struct fw_config *cfg, const char *path, char *err, size_t errsz)
{
	return cfg_load_path(cfg, path, false, err, errsz);
}

int fw_config_load_rules_file(struct fw_config *cfg, const char *path, char *err, size_t errsz)
{
	return cfg_load_path(cfg, path, true, err, errsz);
}

int fw_config_validate(const struct fw_config *cfg, const struct nf_opts *opts, char *err,
		       size_t errsz)
{
	if (cfg->rules_check_ms == 0 || cfg->rules_check_ms > 60000)
		return cfg_err(err, errsz, "rules_check_ms", "must be in 1-60000");
	if (opts != NULL && opts->one_armed && cfg->n_inside == 0)
		return cfg_err(err, errsz, "--inside-prefix",
			       "one-armed mode needs at least one inside prefix to tell in from out");
	if (opts != NULL && opts->mode == NF_MODE_LOCAL && cfg->rules_json == NULL)
		return cfg_err(err, errsz, "--rules", "local mode needs a rule set (--rules FILE)");
	return 0;
}
