/* Load balancer configuration: defaults, JSON loading with precise messages, validation,
 * and the pool's JSON form (what "<ns>:pool" holds). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>

#include "nf/cfgjson.h"
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

static int cfg_port(json_t *v, const char *field, rte_be16_t *out, char *err, size_t errsz)
{
	uint16_t port;

	if (cfgjson_port(v, field, &port, err, errsz) != 0)
		return -EINVAL;
	*out = rte_cpu_to_be_16(port);
	return 0;
}

static int cfg_ipv4(json_t *v, const char *field, rte_be32_t *out, char *err, size_t errsz)
{
	if (!json_is_string(v))
		return cfgjson_err(err, errsz, field, "must be a string (an IPv4 address)");
	return cfgjson_ipv4(json_string_value(v), field, out, err, errsz);
}

/* A string that must be one of 'names' (NULL-terminated); '*idx' gets its position. */
static int cfg_enum(json_t *v, const char *field, const char *const *names, const char *expect,
		    uint8_t *idx, char *err, size_t errsz)
{
	if (!json_is_string(v))
		return cfgjson_err(err, errsz, field, "must be a string: %s", expect);
	for (uint8_t i = 0; names[i] != NULL; i++) {
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*idx = i;
			return 0;
		}
	}
	return cfgjson_err(err, errsz, field, "'%.40s' is not %s", json_string_value(v), expect);
}

static int cfg_weight(json_t *v, const char *field, uint16_t *out, char *err, size_t errsz)
{
	static const struct cfgjson_range weight = {
		1, 65535, "must be an integer (1-65535)", NULL
	};
	long long n;

	if (cfgjson_int(v, field, &weight, &n, err, errsz) != 0)
		return -EINVAL;
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
	return cfgjson_unknown(err, errsz, f, "address, port, weight, state");
}

/* One element of a "backends" array, named 'field' ("services[0].backends[2]"). */
static int cfg_backend(struct lb_backend_cfg *b, json_t *v, const char *field, char *err,
		       size_t errsz)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return cfgjson_err(err, errsz, field, "must be an object {address, port, weight, state}");
	memset(b, 0, sizeof(*b));
	b->weight = 1;
	json_object_foreach(v, k, e)
		if (cfg_backend_field(b, field, k, e, err, errsz) != 0)
			return -EINVAL;
	if (json_object_get(v, "address") == NULL)
		return cfgjson_err(err, errsz, field, "address is missing");
	if (b->port == 0)
		return cfgjson_err(err, errsz, field, "port is missing");
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
		return cfgjson_err(err, errsz, f, "must be an array of backends");
	s->first = (uint16_t)cfg->n_backends;
	json_array_foreach(v, j, e) {
		if (cfg->n_backends == LB_MAX_BACKENDS)
			return cfgjson_err(err, errsz, f, "too many backends (at most 1024 in all services)");
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
	return cfgjson_unknown(err, errsz, f, "vip, port, proto, backends");
}

static int cfg_service(struct lb_config *cfg, json_t *v, size_t i, char *err, size_t errsz)
{
	struct lb_service_cfg *s = &cfg->services[cfg->n_services];
	char field[LB_FIELD_SVC];
	const char *k;
	json_t *e, *backends;

	snprintf(field, sizeof(field), "services[%zu]", i);
	if (!json_is_object(v))
		return cfgjson_err(err, errsz, field, "must be an object {vip, port, proto, backends}");
	memset(s, 0, sizeof(*s));
	s->proto = IPPROTO_TCP;
	json_object_foreach(v, k, e)
		if (cfg_service_field(s, field, k, e, err, errsz) != 0)
			return -EINVAL;
	if (json_object_get(v, "vip") == NULL)
		return cfgjson_err(err, errsz, field, "vip is missing");
	if (s->port == 0)
		return cfgjson_err(err, errsz, field, "port is missing");
	backends = json_object_get(v, "backends");
	if (backends == NULL)
		return cfgjson_err(err, errsz, field, "backends is missing (use [] for none)");
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
		return cfgjson_err(err, errsz, "services", "must be an array of services");
	if (json_array_size(v) > LB_MAX_SERVICES)
		return cfgjson_err(err, errsz, "services", "too many services (max 64)");
	cfg->n_services = 0;
	cfg->n_backends = 0;
	json_array_foreach(v, i, e)
		if (cfg_service(cfg, e, i, err, errsz) != 0)
			return -EINVAL;
	return 0;
}

static const struct cfgjson_u32_field timeout_fields[] = {
	{ "tcp", offsetof(struct lb_timeouts, tcp) },
	{ "udp", offsetof(struct lb_timeouts, udp) },
};
#define N_TIMEOUT_FIELDS (sizeof(timeout_fields) / sizeof(timeout_fields[0]))

int lb_config_set_timeout(struct lb_config *cfg, const char *name, uint32_t seconds)
{
	return cfgjson_set_u32(&cfg->timeouts, timeout_fields, N_TIMEOUT_FIELDS, name, seconds);
}

static int cfg_timeouts(struct lb_config *cfg, json_t *v, char *err, size_t errsz)
{
	static const struct cfgjson_range seconds = {
		1, 30 * 86400, "must be an integer (seconds)", NULL
	};

	return cfgjson_timeouts(v, &seconds, &cfg->timeouts, timeout_fields, N_TIMEOUT_FIELDS, err,
				errsz);
}

/* What a load applies: a whole config, or ('pool_only') just "services", as in the store. */
struct cfg_load {
	struct lb_config *cfg;
	bool pool_only;
};

/* cfgjson_apply_fn on a struct cfg_load: the fields of a config object, then the whole. */
static int cfg_apply(void *ctx, json_t *root, char *err, size_t errsz)
{
	const struct cfg_load *l = ctx;
	const char *k;
	json_t *v;

	json_object_foreach(root, k, v) {
		int rc;

		if (strcmp(k, "services") == 0)
			rc = cfg_services(l->cfg, v, err, errsz);
		else if (strcmp(k, "timeouts") == 0 && !l->pool_only)
			rc = cfg_timeouts(l->cfg, v, err, errsz);
		else
			rc = cfgjson_unknown(err, errsz, k,
					     l->pool_only ? "services" : "services, timeouts");
		if (rc != 0)
			return rc;
	}
	return lb_config_validate(l->cfg, err, errsz);
}

int lb_config_load_string(struct lb_config *cfg, const char *json, char *err, size_t errsz)
{
	struct cfg_load l = { cfg, false };

	return cfgjson_load_string(json, cfg_apply, &l, err, errsz);
}

int lb_config_load_pool(struct lb_config *cfg, const char *json, char *err, size_t errsz)
{
	struct cfg_load l = { cfg, true };

	return cfgjson_load_string(json, cfg_apply, &l, err, errsz);
}

int lb_config_load_file(struct lb_config *cfg, const char *path, char *err, size_t errsz)
{
	struct cfg_load l = { cfg, false };

	return cfgjson_load_file(path, cfg_apply, &l, err, errsz);
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
	char field[LB_FIELD_MAX], ep[32];

	for (unsigned j = 0; j < s->n_backends; j++) {
		snprintf(field, sizeof(field), "services[%u].backends[%u]", i, j);
		if (b[j].port == 0 || b[j].weight == 0 || b[j].state > LB_BACKEND_DRAIN)
			return cfgjson_err(err, errsz, field, "port, weight and state must be set");
		for (unsigned k = 0; k < j; k++) {
			if (b[k].ip != b[j].ip || b[k].port != b[j].port)
				continue;
			ep_str(b[j].ip, b[j].port, ep, sizeof(ep));
			return cfgjson_err(err, errsz, field, "duplicate of backends[%u] (%s)", k, ep);
		}
	}
	return 0;
}

static int validate_service(const struct lb_config *cfg, unsigned i, char *err, size_t errsz)
{
	const struct lb_service_cfg *s = &cfg->services[i];
	char field[LB_FIELD_MAX], ep[32];

	snprintf(field, sizeof(field), "services[%u]", i);
	if (s->port == 0 || (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP))
		return cfgjson_err(err, errsz, field, "port and proto (tcp or udp) must be set");
	if ((unsigned)s->first + s->n_backends > cfg->n_backends)
		return cfgjson_err(err, errsz, field, "backends out of range");
	for (unsigned k = 0; k < i; k++) {
		const struct lb_service_cfg *o = &cfg->services[k];

		if (o->vip != s->vip || o->port != s->port || o->proto != s->proto)
			continue;
		ep_str(s->vip, s->port, ep, sizeof(ep));
		return cfgjson_err(err, errsz, field, "duplicate of services[%u] (%s/%s)", k, ep,
				   s->proto == IPPROTO_TCP ? "tcp" : "udp");
	}
	return validate_backends(cfg, i, err, errsz);
}

int lb_config_validate(const struct lb_config *cfg, char *err, size_t errsz)
{
	if (cfg->n_services > LB_MAX_SERVICES || cfg->n_backends > LB_MAX_BACKENDS)
		return cfgjson_err(err, errsz, "services", "too many services or backends");
	for (unsigned i = 0; i < cfg->n_services; i++)
		if (validate_service(cfg, i, err, errsz) != 0)
			return -EINVAL;
	if (cfg->timeouts.tcp == 0 || cfg->timeouts.udp == 0)
		return cfgjson_err(err, errsz, "timeouts", "must be at least 1 second");
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
