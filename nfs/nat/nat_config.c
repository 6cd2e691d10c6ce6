/* NAT configuration: defaults, JSON file loading and validation with precise messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "nf/cfgjson.h"
#include "nfs/nat/nat.h"

#define CONFIG_FIELDS "public_ips, port_range, timeouts, max_port_probes"

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

int nat_config_add_public_ip(struct nat_config *cfg, const char *s, const char *field, char *err,
			     size_t errsz)
{
	uint32_t a;

	if (cfgjson_ipv4(s, field, &a, err, errsz) != 0)
		return -EINVAL;
	if (cfg->n_public_ips == NAT_MAX_PUBLIC_IPS)
		return cfgjson_err(err, errsz, field, "too many public addresses (max 64)");
	for (unsigned i = 0; i < cfg->n_public_ips; i++)
		if (cfg->public_ips[i] == a)
			return cfgjson_err(err, errsz, field, "duplicate address");
	cfg->public_ips[cfg->n_public_ips++] = a;
	return 0;
}

static int cfg_public_ips(struct nat_config *cfg, json_t *v, char *err, size_t errsz)
{
	char field[48];
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return cfgjson_err(err, errsz, "public_ips", "must be a non-empty array of IPv4 addresses");
	cfg->n_public_ips = 0;
	json_array_foreach(v, i, e) {
		snprintf(field, sizeof(field), "public_ips[%zu]", i);
		if (!json_is_string(e))
			return cfgjson_err(err, errsz, field, "must be a string");
		if (nat_config_add_public_ip(cfg, json_string_value(e), field, err, errsz) != 0)
			return -EINVAL;
	}
	return 0;
}

static int cfg_port_range(struct nat_config *cfg, json_t *v, char *err, size_t errsz)
{
	static const struct cfgjson_range port = { 1, 65535, NULL, NULL };
	long long lo, hi;

	if (!json_is_array(v) || json_array_size(v) != 2)
		return cfgjson_err(err, errsz, "port_range", "must be [low, high]");
	if (cfgjson_int(json_array_get(v, 0), "port_range[0]", &port, &lo, err, errsz) != 0 ||
	    cfgjson_int(json_array_get(v, 1), "port_range[1]", &port, &hi, err, errsz) != 0)
		return -EINVAL;
	cfg->port_lo = (uint16_t)lo;
	cfg->port_hi = (uint16_t)hi;
	return 0;
}

static const struct cfgjson_u32_field timeout_fields[] = {
	{ "tcp_established", offsetof(struct nat_timeouts, tcp_established) },
	{ "tcp_transitory", offsetof(struct nat_timeouts, tcp_transitory) },
	{ "udp", offsetof(struct nat_timeouts, udp) },
	{ "udp_stream", offsetof(struct nat_timeouts, udp_stream) },
	{ "icmp", offsetof(struct nat_timeouts, icmp) },
};
#define N_TIMEOUT_FIELDS (sizeof(timeout_fields) / sizeof(timeout_fields[0]))

/* Set timeout 'name' to 'seconds'. Returns 0 or -ENOENT for an unknown name. */
int nat_config_set_timeout(struct nat_config *cfg, const char *name, uint32_t seconds)
{
	return cfgjson_set_u32(&cfg->timeouts, timeout_fields, N_TIMEOUT_FIELDS, name, seconds);
}

static int cfg_field(struct nat_config *cfg, const char *k, json_t *v, char *err, size_t errsz)
{
	static const struct cfgjson_range seconds = { 1, 30 * 86400, NULL, NULL };
	static const struct cfgjson_range probes = { 1, 65536, NULL, NULL };
	long long n;

	if (strcmp(k, "public_ips") == 0)
		return cfg_public_ips(cfg, v, err, errsz);
	if (strcmp(k, "port_range") == 0)
		return cfg_port_range(cfg, v, err, errsz);
	if (strcmp(k, "timeouts") == 0)
		return cfgjson_timeouts(v, &seconds, &cfg->timeouts, timeout_fields, N_TIMEOUT_FIELDS,
					err, errsz);
	if (strcmp(k, "max_port_probes") == 0) {
		if (cfgjson_int(v, k, &probes, &n, err, errsz) != 0)
			return -EINVAL;
		cfg->max_probes = (unsigned)n;
		return 0;
	}
	return cfgjson_unknown(err, errsz, k, CONFIG_FIELDS);
}

/* cfgjson_apply_fn: every field of 'root', then the whole. */
static int cfg_apply(void *ctx, json_t *root, char *err, size_t errsz)
{
	struct nat_config *cfg = ctx;
	const char *k;
	json_t *v;

	json_object_foreach(root, k, v)
		if (cfg_field(cfg, k, v, err, errsz) != 0)
			return -EINVAL;
	return nat_config_validate(cfg, err, errsz);
}

int nat_config_load_string(struct nat_config *cfg, const char *json, char *err, size_t errsz)
{
	return cfgjson_load_string(json, cfg_apply, cfg, err, errsz);
}

int nat_config_load_file(struct nat_config *cfg, const char *path, char *err, size_t errsz)
{
	return cfgjson_load_file(path, cfg_apply, cfg, err, errsz);
}

int nat_config_validate(const struct nat_config *cfg, char *err, size_t errsz)
{
	if (cfg->n_public_ips == 0)
		return cfgjson_err(err, errsz, "public_ips", "at least one public address is required");
	if (cfg->port_lo == 0 || cfg->port_lo > cfg->port_hi)
		return cfgjson_err(err, errsz, "port_range", "low must be >= 1 and <= high");
	if (cfg->max_probes == 0)
		return cfgjson_err(err, errsz, "max_port_probes", "must be >= 1");
	return 0;
}
