/* Load balancer configuration: defaults, JSON loading with precise messages, validation,
 * and the pool's JSON form (what "<ns>:pool" holds). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>

#include "nfs/lb/lb_int.h"

#define LB_FIELD_SVC 32		/* "services[i]" */
#define LB_FIELD_BE 64		/* "services[i].backends[j]" */
#define LB_FIELD_MAX 128	/* either, then "." and a field name (cut if very long) */

void lb_config_default(struct lb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeouts.tcp = 900;
	cfg->timeouts.udp = 300;
}

/* "<field>: <what>" into 'err'; returns -EINVAL. */
static int cfg_err(char *err, size_t errsz, const char *field, const char *what)
{
	snprintf(err, errsz, "%s: %s", field, what);
	return -EINVAL;
}

static int cfg_port(json_t *v, const char *field, rte_be16_t *out, char *err, size_t errsz)
{
	char what[64];
	json_int_t n;

	if (!json_is_integer(v))
		return cfg_err(err, errsz, field, "must be an integer (1-65535)");
	n = json_integer_value(v);
	if (n < 1 || n > 65535) {
		snprintf(what, sizeof(what), "%lld is not a port", (long long)n);
		return cfg_err(err, errsz, field, what);
	}
	*out = rte_cpu_to_be_16((uint16_t)n);
	return 0;
}

static int cfg_ipv4(json_t *v, const char *field, rte_be32_t *out, char *err, size_t errsz)
{
	char what[128];
	struct in_addr a;

	if (!json_is_string(v))
		return cfg_err(err, errsz, field, "must be a string (an IPv4 address)");
	if (inet_pton(AF_INET, json_string_value(v), &a) != 1) {
		snprintf(what, sizeof(what), "'%.64s' is not an IPv4 address", json_string_value(v));
		return cfg_err(err, errsz, field, what);
	}
	*out = a.s_addr;
	return 0;
}

/* A string that must be one of 'names' (NULL-terminated); '*idx' gets its position. */
static int cfg_enum(json_t *v, const char *field, const char *const *names, const char *expect,
		    uint8_t *idx, char *err, size_t errsz)
{
	char what[128];

	if (!json_is_string(v)) {
		snprintf(what, sizeof(what), "must be a string: %s", expect);
		return cfg_err(err, errsz, field, what);
	}
	for (uint8_t i = 0; names[i] != NULL; i++) {
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*idx = i;
			return 0;
		}
	}
	snprintf(what, sizeof(what), "'%.40s' is not %s", json_string_value(v), expect);
	return cfg_err(err, errsz, field, what);
}

static int cfg_weight(json_t *v, const char *field, uint16_t *out, char *err, size_t errsz)
{
	char what[64];
	json_int_t n;

	if (!json_is_integer(v))
		return cfg_err(err, errsz, field, "must be an integer (1-65535)");
	n = json_integer_value(v);
	if (n < 1 || n > 65535) {
		snprintf(what, sizeof(what), "%lld is out of range 1-65535", (long long)n);
		return cfg_err(err, errsz, field, what);
	}
	*out = (uint16_t)n;
	return 0;
}

static const char *const backend_states[] = { "active", "drain", NULL };
static const char *const protos[] = { "tcp", "udp", NULL };

static int cfg_backend_field(struct lb_backend_cfg *b, const char *field, const char *k,
			     json_t *v, char *err, size_t errsz)
{
	char f[LB_FIELD_MAX];

	snprintf(f, sizeof(f), "%s.%s", field, k);
	if (strcmp(k, "address") == 0)
		return cfg_ipv4(v, f, &b->ip, err, errsz);
	if (strcmp(k, "port") == 0)
		return cfg_port(v, f, &b->port, err, errsz);
	if (strcmp(k, "weight") == 0)
		return cfg_weight(v, f, &b->weight, err, errsz);
	if (strcmp(k, "state") == 0)
		return cfg_enum(v, f, backend_states, "active or drain", &b->state, err, errsz);
	return cfg_err(err, errsz, f, "unknown field (address, port, weight, state)");
}

/* One element of a "backends" array, named 'field' ("services[0].backends[2]"). */
static int cfg_backend(struct lb_backend_cfg *b, json_t *v, const char *field, char *err,
		       size_t errsz)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return cfg_err(err, errsz, field, "must be an object {address, port, weight, state}");
	memset(b, 0, sizeof(*b));
	b->weight = 1;
	json_object_foreach(v, k, e)
		if (cfg_backend_field(b, field, k, e, err, errsz) != 0)
			return -EINVAL;
	if (json_object_get(v, "address") == NULL)
		return cfg_err(err, errsz, field, "address is missing");
	if (b->port == 0)
		return cfg_err(err, errsz, field, "port is missing");
	return 0;
}

static int cfg_backends(struct lb_config *cfg, struct lb_service_cfg *s, json_t *v,
			const char *field, char *err, size_t errsz)
{
	char f[LB_FIELD_BE];
	size_t j;
	json_t *e;

	snprintf(f, sizeof(f), "%s.backends", field);
	if (!json_is_array(v))
		return cfg_err(err, errsz, f, "must be an array of backends");
	s->first = (uint16_t)cfg->n_backends;
	json_array_foreach(v, j, e) {
		if (cfg->n_backends == LB_MAX_BACKENDS)
			return cfg_err(err, errsz, f, "too many backends (at most 1024 in all services)");
		snprintf(f, sizeof(f), "%s.backends[%zu]", field, j);
		if (cfg_backend(&cfg->backends[cfg->n_backends], e, f, err, errsz) != 0)
			return -EINVAL;
		cfg->n_backends++;
		s->n_backends++;
	}
	return 0;
}

static int cfg_service_field(struct lb_service_cfg *s, const char *field, const char *k,
			     json_t *v, char *err, size_t errsz)
{
	char f[LB_FIELD_MAX];
	uint8_t proto;

	snprintf(f, sizeof(f), "%s.%s", field, k);
	if (strcmp(k, "vip") == 0)
		return cfg_ipv4(v, f, &s->vip, err, errsz);
	if (strcmp(k, "port") == 0)
		return cfg_port(v, f, &s->port, err, errsz);
	if (strcmp(k, "proto") == 0) {
		if (cfg_enum(v, f, protos, "tcp or udp", &proto, err, errsz) != 0)
			return -EINVAL;
		s->proto = proto == 0 ? IPPROTO_TCP : IPPROTO_UDP;
		return 0;
	}
	if (strcmp(k, "backends") == 0)
		return 0;	/* after the loop: its backends must be contiguous */
	return cfg_err(err, errsz, f, "unknown field (vip, port, proto, backends)");
}

static int cfg_service(struct lb_config *cfg, json_t *v, size_t i, char *err, size_t errsz)
{
	struct lb_service_cfg *s = &cfg->services[cfg->n_services];
	char field[LB_FIELD_SVC];
	const char *k;
	json_t *e, *backends;

	snprintf(field, sizeof(field), "services[%zu]", i);
	if (!json_is_object(v))
		return cfg_err(err, errsz, field, "must be an object {vip, port, proto, backends}");
	memset(s, 0, sizeof(*s));
	s->proto = IPPROTO_TCP;
	json_object_foreach(v, k, e)
		if (cfg_service_field(s, field, k, e, err, errsz) != 0)
			return -EINVAL;
	if (json_object_get(v, "vip") == NULL)
		return cfg_err(err, errsz, field, "vip is missing");
	if (s->port == 0)
		return cfg_err(err, errsz, field, "port is missing");
	backends = json_object_get(v, "backends");
	if (backends == NULL)
		return cfg_err(err, errsz, field, "backends is missing (use [] for none)");
	if (cfg_backends(cfg, s, backends, field, err, errsz) != 0)
		return -EINVAL;
	cfg->n_services++;
	return 0;
}

static int cfg_services(struct lb_config *cfg, json_t *v, char *err, size_t errsz)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return cfg_err(err, errsz, "services", "must be an array of services");
	if (json_array_size(v) > LB_MAX_SERVICES)
		return cfg_err(err, errsz, "services", "too many services (max 64)");
	cfg->n_services = 0;
	cfg->n_backends = 0;
	json_array_foreach(v, i, e)
		if (cfg_service(cfg, e, i, err, errsz) != 0)
			return -EINVAL;
	return 0;
}

int lb_config_set_timeout(struct lb_config *cfg, const char *name, uint32_t seconds)
{
	if (strcmp(name, "tcp") == 0)
		cfg->timeouts.tcp = seconds;
	else if (strcmp(name, "udp") == 0)
		cfg->timeouts.udp = seconds;
	else
		return -ENOENT;
	return 0;
}

static int cfg_timeouts(struct lb_config *cfg, json_t *v, char *err, size_t errsz)
{
	char field[LB_FIELD_MAX], what[64];
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return cfg_err(err, errsz, "timeouts", "must be an object");
	json_object_foreach(v, k, e) {
		json_int_t n = json_is_integer(e) ? json_integer_value(e) : -1;

		snprintf(field, sizeof(field), "timeouts.%s", k);
		if (!json_is_integer(e))
			return cfg_err(err, errsz, field, "must be an integer (seconds)");
		if (n < 1 || n > 30 * 86400) {
			snprintf(what, sizeof(what), "%lld is out of range 1-2592000", (long long)n);
			return cfg_err(err, errsz, field, what);
		}
		if (lb_config_set_timeout(cfg, k, (uint32_t)n) != 0)
			return cfg_err(err, errsz, field, "unknown timeout (tcp, udp)");
	}
	return 0;
}

/* The fields of a config object ('pool_only': just "services", as in the store). */
static int cfg_load_json(struct lb_config *cfg, json_t *root, bool pool_only, char *err,
			 size_t errsz)
{
	const char *k;
	json_t *v;

	if (!json_is_object(root))
		return cfg_err(err, errsz, "config", "must be a JSON object");
	json_object_foreach(root, k, v) {
		int rc;

		if (strcmp(k, "services") == 0)
			rc = cfg_services(cfg, v, err, errsz);
		else if (strcmp(k, "timeouts") == 0 && !pool_only)
			rc = cfg_timeouts(cfg, v, err, errsz);
		else
			rc = cfg_err(err, errsz, k, pool_only ? "unknown field (services)"
							      : "unknown field (services, timeouts)");
		if (rc != 0)
			return rc;
	}
	return lb_config_validate(cfg, err, errsz);
}

static int cfg_load_text(struct lb_config *cfg, const char *json, bool pool_only, char *err,
			 size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "config: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = cfg_load_json(cfg, root, pool_only, err, errsz);
	json_decref(root);
	return rc;
}

int lb_config_load_string(struct lb_config *cfg, const char *json, char *err, size_t errsz)
{
	return cfg_load_text(cfg, json, false, err, errsz);
}

int lb_config_load_pool(struct lb_config *cfg, const char *json, char *err, size_t errsz)
{
	return cfg_load_text(cfg, json, true, err, errsz);
}

int lb_config_load_file(struct lb_config *cfg, const char *path, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char where[512];
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = cfg_load_json(cfg, root, false, where, sizeof(where));
	if (rc != 0)
		snprintf(err, errsz, "%s: %s", path, where);
	json_decref(root);
	return rc;
}

/* "a.b.c.d:port" of an address and port in network byte order. */
static void ep_str(rte_be32_t ip, rte_be16_t port, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, a, sizeof(a));
	snprintf(buf, size, "%s:%u", a, rte_be_to_cpu_16(port));
}

static int validate_backends(const struct lb_config *cfg, unsigned i, char *err, size_t errsz)
{
	const struct lb_service_cfg *s = &cfg->services[i];
	const struct lb_backend_cfg *b = &cfg->backends[s->first];
	char field[LB_FIELD_MAX], what[96], ep[32];

	for (unsigned j = 0; j < s->n_backends; j++) {
		snprintf(field, sizeof(field), "services[%u].backends[%u]", i, j);
		if (b[j].port == 0 || b[j].weight == 0 || b[j].state > LB_BACKEND_DRAIN)
			return cfg_err(err, errsz, field, "port, weight and state must be set");
		for (unsigned k = 0; k < j; k++) {
			if (b[k].ip != b[j].ip || b[k].port != b[j].port)
				continue;
			ep_str(b[j].ip, b[j].port, ep, sizeof(ep));
			snprintf(what, sizeof(what), "duplicate of backends[%u] (%s)", k, ep);
			return cfg_err(err, errsz, field, what);
		}
	}
	return 0;
}

static int validate_service(const struct lb_config *cfg, unsigned i, char *err, size_t errsz)
{
	const struct lb_service_cfg *s = &cfg->services[i];
	char field[LB_FIELD_MAX], what[96], ep[32];

	snprintf(field, sizeof(field), "services[%u]", i);
	if (s->port == 0 || (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP))
		return cfg_err(err, errsz, field, "port and proto (tcp or udp) must be set");
	if ((unsigned)s->first + s->n_backends > cfg->n_backends)
		return cfg_err(err, errsz, field, "backends out of range");
	for (unsigned k = 0; k < i; k++) {
		const struct lb_service_cfg *o = &cfg->services[k];

		if (o->vip != s->vip || o->port != s->port || o->proto != s->proto)
			continue;
		ep_str(s->vip, s->port, ep, sizeof(ep));
		snprintf(what, sizeof(what), "duplicate of services[%u] (%s/%s)", k, ep,
			 s->proto == IPPROTO_TCP ? "tcp" : "udp");
		return cfg_err(err, errsz, field, what);
	}
	return validate_backends(cfg, i, err, errsz);
}

int lb_config_validate(const struct lb_config *cfg, char *err, size_t errsz)
{
	if (cfg->n_services > LB_MAX_SERVICES || cfg->n_backends > LB_MAX_BACKENDS)
		return cfg_err(err, errsz, "services", "too many services or backends");
	for (unsigned i = 0; i < cfg->n_services; i++)
		if (validate_service(cfg, i, err, errsz) != 0)
			return -EINVAL;
	if (cfg->timeouts.tcp == 0 || cfg->timeouts.udp == 0)
		return cfg_err(err, errsz, "timeouts", "must be at least 1 second");
	return 0;
}

static json_t *pool_backend_json(const struct lb_backend_cfg *b)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &b->ip, a, sizeof(a));
	return json_pack("{s:s, s:i, s:i, s:s}", "address", a, "port", rte_be_to_cpu_16(b->port),
			 "weight", b->weight, "state", backend_states[b->state ? 1 : 0]);
}

/* json_array_append_new that reports failure (including a NULL 'item', which it frees). */
static int pool_append(json_t *array, json_t *item)
{
	return item != NULL && json_array_append_new(array, item) == 0 ? 0 : -ENOMEM;
}

/* NULL when out of memory. */
static json_t *pool_service_json(const struct lb_config *cfg, const struct lb_service_cfg *s)
{
	char a[INET_ADDRSTRLEN];
	json_t *backends = json_array();

	for (unsigned j = 0; backends != NULL && j < s->n_backends; j++) {
		if (pool_append(backends, pool_backend_json(&cfg->backends[s->first + j])) != 0) {
			json_decref(backends);
			return NULL;
		}
	}
	inet_ntop(AF_INET, &s->vip, a, sizeof(a));
	return json_pack("{s:s, s:i, s:s, s:o}", "vip", a, "port", rte_be_to_cpu_16(s->port),
			 "proto", s->proto == IPPROTO_TCP ? "tcp" : "udp", "backends", backends);
}

char *lb_config_pool_json(const struct lb_config *cfg)
{
	json_t *services = json_array(), *root;
	char *text;

	for (unsigned i = 0; services != NULL && i < cfg->n_services; i++) {
		if (pool_append(services, pool_service_json(cfg, &cfg->services[i])) != 0) {
			json_decref(services);
			return NULL;
		}
	}
	root = json_pack("{s:o}", "services", services);
	if (root == NULL)
		return NULL;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}
