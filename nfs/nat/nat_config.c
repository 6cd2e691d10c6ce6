/* NAT configuration: defaults, JSON file loading and validation with precise messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "nfs/nat/nat.h"

void nat_config_default(struct nat_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port_lo = 1024;
	cfg->port_hi = 65535;
	cfg->max_probes = 128;
	cfg->timeouts.tcp_established = 432000;
	cfg->timeouts.tcp_transitory = 120;
	cfg->timeouts.udp = 30;
	cfg->timeouts.udp_stream = 120;
	cfg->timeouts.icmp = 30;
}

static int cfg_err(char *err, size_t errsz, const char *fmt, const char *field, const char *what)
{
	snprintf(err, errsz, fmt, field, what);
	return -EINVAL;
}

/* An integer in [lo, hi] at 'v', named 'field' in messages. */
static int cfg_uint(json_t *v, const char *field, long long lo, long long hi, long long *out,
		    char *err, size_t errsz)
{
	char range[64];

	if (!json_is_integer(v))
		return cfg_err(err, errsz, "%s: %s", field, "must be an integer");
	*out = json_integer_value(v);
	if (*out < lo || *out > hi) {
		snprintf(range, sizeof(range), "%lld is out of range %lld-%lld", *out, lo, hi);
		return cfg_err(err, errsz, "%s: %s", field, range);
	}
	return 0;
}

int nat_config_add_public_ip(struct nat_config *cfg, const char *s, const char *field, char *err,
			     size_t errsz)
{
	struct in_addr a;
	char what[128];

	if (inet_pton(AF_INET, s, &a) != 1) {
		snprintf(what, sizeof(what), "'%s' is not an IPv4 address", s);
		return cfg_err(err, errsz, "%s: %s", field, what);
	}
	if (cfg->n_public_ips == NAT_MAX_PUBLIC_IPS)
		return cfg_err(err, errsz, "%s: %s", field, "too many public addresses (max 64)");
	for (unsigned i = 0; i < cfg->n_public_ips; i++)
		if (cfg->public_ips[i] == a.s_addr)
			return cfg_err(err, errsz, "%s: %s", field, "duplicate address");
	cfg->public_ips[cfg->n_public_ips++] = a.s_addr;
	return 0;
}

static int cfg_public_ips(struct nat_config *cfg, json_t *v, char *err, size_t errsz)
{
	char field[48];
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return cfg_err(err, errsz, "%s: %s", "public_ips", "must be a non-empty array of IPv4 addresses");
	cfg->n_public_ips = 0;
	json_array_foreach(v, i, e) {
		snprintf(field, sizeof(field), "public_ips[%zu]", i);
		if (!json_is_string(e))
			return cfg_err(err, errsz, "%s: %s", field, "must be a string");
		if (nat_config_add_public_ip(cfg, json_string_value(e), field, err, errsz) != 0)
			return -EINVAL;
	}
	return 0;
}

static int cfg_port_range(struct nat_config *cfg, json_t *v, char *err, size_t errsz)
{
	long long lo, hi;

	if (!json_is_array(v) || json_array_size(v) != 2)
		return cfg_err(err, errsz, "%s: %s", "port_range", "must be [low, high]");
	if (cfg_uint(json_array_get(v, 0), "port_range[0]", 1, 65535, &lo, err, errsz) != 0 ||
	    cfg_uint(json_array_get(v, 1), "port_range[1]", 1, 65535, &hi, err, errsz) != 0)
		return -EINVAL;
	cfg->port_lo = (uint16_t)lo;
	cfg->port_hi = (uint16_t)hi;
	return 0;
}

static const struct {
	const char *name;
	size_t off;
} timeout_fields[] = {
	{ "tcp_established", offsetof(struct nat_timeouts, tcp_established) },
	{ "tcp_transitory", offsetof(struct nat_timeouts, tcp_transitory) },
	{ "udp", offsetof(struct nat_timeouts, udp) },
	{ "udp_stream", offsetof(struct nat_timeouts, udp_stream) },
	{ "icmp", offsetof(struct nat_timeouts, icmp) },
};

/* Set timeout 'name' to 'seconds'. Returns 0 or -ENOENT for an unknown name. */
int nat_config_set_timeout(struct nat_config *cfg, const char *name, uint32_t seconds)
{
	for (size_t i = 0; i < sizeof(timeout_fields) / sizeof(timeout_fields[0]); i++) {
		if (strcmp(name, timeout_fields[i].name) == 0) {
			*(uint32_t *)((char *)&cfg->timeouts + timeout_fields[i].off) = seconds;
			return 0;
		}
	}
	return -ENOENT;
}

static int cfg_timeouts(struct nat_config *cfg, json_t *v, char *err, size_t errsz)
{
	char field[64];
	const char *k;
	long long secs;
	json_t *e;

	if (!json_is_object(v))
		return cfg_err(err, errsz, "%s: %s", "timeouts", "must be an object");
	json_object_foreach(v, k, e) {
		snprintf(field, sizeof(field), "timeouts.%s", k);
		if (cfg_uint(e, field, 1, 30 * 86400, &secs, err, errsz) != 0)
			return -EINVAL;
		if (nat_config_set_timeout(cfg, k, (uint32_t)secs) != 0)
			return cfg_err(err, errsz, "%s: %s", field,
				       "unknown timeout (tcp_established, tcp_transitory, udp, udp_stream, icmp)");
	}
	return 0;
}

static int cfg_field(struct nat_config *cfg, const char *k, json_t *v, char *err, size_t errsz)
{
	long long n;

	if (strcmp(k, "public_ips") == 0)
		return cfg_public_ips(cfg, v, err, errsz);
	if (strcmp(k, "port_range") == 0)
		return cfg_port_range(cfg, v, err, errsz);
	if (strcmp(k, "timeouts") == 0)
		return cfg_timeouts(cfg, v, err, errsz);
	if (strcmp(k, "max_port_probes") == 0) {
		if (cfg_uint(v, k, 1, 65536, &n, err, errsz) != 0)
			return -EINVAL;
		cfg->max_probes = (unsigned)n;
		return 0;
	}
	return cfg_err(err, errsz, "%s: %s", k,
		       "unknown field (public_ips, port_range, timeouts, max_port_probes)");
}

static int cfg_load_json(struct nat_config *cfg, json_t *root, char *err, size_t errsz)
{
	const char *k;
	json_t *v;

	if (!json_is_object(root))
		return cfg_err(err, errsz, "%s: %s", "config", "must be a JSON object");
	json_object_foreach(root, k, v)
		if (cfg_field(cfg, k, v, err, errsz) != 0)
			return -EINVAL;
	return nat_config_validate(cfg, err, errsz);
}

int nat_config_load_string(struct nat_config *cfg, const char *json, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "config: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = cfg_load_json(cfg, root, err, errsz);
	json_decref(root);
	return rc;
}

int nat_config_load_file(struct nat_config *cfg, const char *path, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char where[512];
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = cfg_load_json(cfg, root, where, sizeof(where));
	if (rc != 0)
		snprintf(err, errsz, "%s: %s", path, where);
	json_decref(root);
	return rc;
}

int nat_config_validate(const struct nat_config *cfg, char *err, size_t errsz)
{
	if (cfg->n_public_ips == 0)
		return cfg_err(err, errsz, "%s: %s", "public_ips", "at least one public address is required");
	if (cfg->port_lo == 0 || cfg->port_lo > cfg->port_hi)
		return cfg_err(err, errsz, "%s: %s", "port_range", "low must be >= 1 and <= high");
	if (cfg->max_probes == 0)
		return cfg_err(err, errsz, "%s: %s", "max_port_probes", "must be >= 1");
	return 0;
}
