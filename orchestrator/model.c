/* The orchestrator's data model: names, validation of NF specs, and the JSON of specs and instances. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfs/firewall/fw.h"
#include "nfs/lb/lb.h"
#include "nfs/nat/nat.h"
#include "orchestrator/model.h"
#include "orchestrator/netdev.h"

#define AS_DEFAULT_OUT 0.8
#define AS_DEFAULT_IN 0.3
#define AS_DEFAULT_COOLDOWN_S 60
#define AS_DEFAULT_WINDOW_S 3
#define AS_MAX_COOLDOWN_S 86400
#define AS_MAX_WINDOW_S 3600

static const char *const nf_type_names[ORCH_NF__COUNT] = { "nat", "firewall", "lb" };

static const char *const inst_state_names[ORCH_INST__COUNT] = {
	"launching", "ready", "draining", "stopped", "failed",
};

/* ---- Names ---- */

const char *orch_nf_type_name(enum orch_nf_type t)
{
	return (unsigned)t < ORCH_NF__COUNT ? nf_type_names[t] : "?";
}

int orch_nf_type_parse(const char *s, enum orch_nf_type *t)
{
	for (unsigned i = 0; i < ORCH_NF__COUNT; i++) {
		if (strcmp(s, nf_type_names[i]) == 0) {
			*t = (enum orch_nf_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *orch_inst_state_name(enum orch_inst_state s)
{
	return (unsigned)s < ORCH_INST__COUNT ? inst_state_names[s] : "?";
}

int orch_inst_state_parse(const char *s, enum orch_inst_state *st)
{
	for (unsigned i = 0; i < ORCH_INST__COUNT; i++) {
		if (strcmp(s, inst_state_names[i]) == 0) {
			*st = (enum orch_inst_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool orch_name_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > ORCH_NAME_MAX - 1 || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

void orch_nf_spec_clear(struct orch_nf_spec *spec)
{
	json_decref(spec->config);
	memset(spec, 0, sizeof(*spec));
}

/* ---- Validation helpers: each returns 0 or -EINVAL with "field: reason" in 'err' ---- */

static int bad(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Reject members of object 'j' not in the NULL-terminated 'known'; 'prefix' ("" or
 * "autoscale.") and 'list' (the allowed names, for the message) name them. */
static int check_known(json_t *j, const char *const *known, const char *prefix, const char *list,
		       char *err, size_t errsz)
{
	const char *k;
	json_t *v;

	json_object_foreach(j, k, v) {
		size_t i;

		for (i = 0; known[i] != NULL && strcmp(k, known[i]) != 0; i++)
			;
		if (known[i] == NULL)
			return bad(err, errsz, "%s%s: unknown field (%s)", prefix, k, list);
	}
	return 0;
}

/* An integer member in [lo, hi]; absent members keep '*out' unless 'required'. */
static int get_uint(json_t *obj, const char *key, const char *field, long long lo, long long hi,
		    bool required, unsigned long long *out, char *err, size_t errsz)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL && !required)
		return 0;
	if (v == NULL)
		return bad(err, errsz, "%s: is required (an integer in %lld-%lld)", field, lo, hi);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bad(err, errsz, "%s: must be an integer in %lld-%lld", field, lo, hi);
	*out = (unsigned long long)json_integer_value(v);
	return 0;
}

/* A number member in [lo, hi]; absent members keep '*out'. */
static int get_ratio(json_t *obj, const char *key, const char *field, double *out, char *err,
		     size_t errsz)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < 0.0 || json_number_value(v) > 1.0)
		return bad(err, errsz, "%s: must be a number in 0-1", field);
	*out = json_number_value(v);
	return 0;
}

/* ---- Autoscale ---- */

static const char *const as_fields[] = {
	"min", "max", "scale_out_load", "scale_in_load", "cooldown_s", "window_s", NULL,
};

static int as_numbers(json_t *j, struct orch_autoscale *as, char *err, size_t errsz)
{
	unsigned long long mn = 0, mx = 0, cd = AS_DEFAULT_COOLDOWN_S, win = AS_DEFAULT_WINDOW_S;

	if (get_uint(j, "min", "autoscale.min", 1, ORCH_MAX_INSTANCES, true, &mn, err, errsz) ||
	    get_uint(j, "max", "autoscale.max", 1, ORCH_MAX_INSTANCES, true, &mx, err, errsz) ||
	    get_ratio(j, "scale_out_load", "autoscale.scale_out_load", &as->scale_out_load, err, errsz) ||
	    get_ratio(j, "scale_in_load", "autoscale.scale_in_load", &as->scale_in_load, err, errsz) ||
	    get_uint(j, "cooldown_s", "autoscale.cooldown_s", 0, AS_MAX_COOLDOWN_S, false, &cd, err,
		     errsz) ||
	    get_uint(j, "window_s", "autoscale.window_s", 1, AS_MAX_WINDOW_S, false, &win, err, errsz))
		return -EINVAL;
	as->min = (unsigned)mn;
	as->max = (unsigned)mx;
	as->cooldown_s = (unsigned)cd;
	as->window_s = (unsigned)win;
	return 0;
}

int orch_autoscale_from_json(json_t *j, struct orch_autoscale *out, char *err, size_t errsz)
{
	struct orch_autoscale as = {
		.enabled = true,
		.scale_out_load = AS_DEFAULT_OUT,
		.scale_in_load = AS_DEFAULT_IN,
	};

	if (json_is_null(j)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (!json_is_object(j))
		return bad(err, errsz, "autoscale: must be an object or null");
	if (check_known(j, as_fields, "autoscale.",
			"min, max, scale_out_load, scale_in_load, cooldown_s, window_s", err, errsz) ||
	    as_numbers(j, &as, err, errsz))
		return -EINVAL;
	if (as.min > as.max)
		return bad(err, errsz, "autoscale.min: must be <= autoscale.max");
	if (as.scale_out_load <= 0.0)
		return bad(err, errsz, "autoscale.scale_out_load: must be > 0");
	if (as.scale_in_load >= as.scale_out_load)
		return bad(err, errsz, "autoscale.scale_in_load: must be < autoscale.scale_out_load");
	*out = as;
	return 0;
}

json_t *orch_autoscale_to_json(const struct orch_autoscale *as)
{
	if (!as->enabled)
		return json_null();
	return json_pack("{s:I, s:I, s:f, s:f, s:I, s:I}", "min", (json_int_t)as->min,
			 "max", (json_int_t)as->max, "scale_out_load", as->scale_out_load,
			 "scale_in_load", as->scale_in_load, "cooldown_s", (json_int_t)as->cooldown_s,
			 "window_s", (json_int_t)as->window_s);
}

/* ---- NF configs, checked by the NFs' own loaders ---- */

static int cfg_check_nat(const char *text, char *err, size_t errsz)
{
	struct nat_config c;

	nat_config_default(&c);
	return nat_config_load_string(&c, text, err, errsz);
}

static int cfg_check_fw(const char *text, char *err, size_t errsz)
{
	struct fw_config c;
	int rc;

	fw_config_default(&c);
	rc = fw_config_load_string(&c, text, err, errsz);
	if (rc == 0)
		rc = fw_config_validate(&c, NULL, err, errsz);
	fw_config_free(&c);
	return rc;
}

static int cfg_check_lb(const char *text, char *err, size_t errsz)
{
	struct lb_config *c = malloc(sizeof(*c));	/* ~13 KB: not on an HTTP thread's stack */
	int rc;

	if (c == NULL)
		return bad(err, errsz, "config: out of memory");
	lb_config_default(c);
	rc = lb_config_load_string(c, text, err, errsz);
	free(c);
	return rc;
}

static int (*const cfg_checks[ORCH_NF__COUNT])(const char *, char *, size_t) = {
	[ORCH_NF_NAT] = cfg_check_nat,
	[ORCH_NF_FIREWALL] = cfg_check_fw,
	[ORCH_NF_LB] = cfg_check_lb,
};

int orch_nf_config_check(enum orch_nf_type t, json_t *config, char *err, size_t errsz)
{
	char msg[512] = "";
	char *text;
	int rc;

	if ((unsigned)t >= ORCH_NF__COUNT)
		return bad(err, errsz, "type: must be one of nat, firewall, lb");
	if (!json_is_object(config))
		return bad(err, errsz, "config: must be a JSON object");
	text = json_dumps(config, JSON_COMPACT);
	if (text == NULL)
		return bad(err, errsz, "config: out of memory");
	rc = cfg_checks[t](text, msg, sizeof(msg));
	free(text);
	if (rc == 0)
		return 0;
	if (strncmp(msg, "config:", 7) == 0)	/* the loader already named the whole config */
		return bad(err, errsz, "%s", msg);
	return bad(err, errsz, "config.%s", msg);
}

/* ---- NF specs ---- */

/* What a user may give, and what a stored record has in addition. */
static const char *const spec_fields_user[] = {
	"name", "type", "config", "instances", "autoscale", "uplinks", NULL,
};
static const char *const spec_fields_record[] = {
	"name", "type", "config", "instances", "autoscale", "uplinks", "config_gen", "created_ms",
	NULL,
};
static const char *const uplink_fields[] = { "inside", "outside", NULL };

static int uplink_get(json_t *u, const char *key, char *out, char *err, size_t errsz)
{
	json_t *v = json_object_get(u, key);

	if (v == NULL)
		return bad(err, errsz, "uplinks.%s: is required (uplinks: {inside, outside})", key);
	if (!json_is_string(v) || !netdev_name_ok(json_string_value(v)))
		return bad(err, errsz, "uplinks.%s: must be an interface name (1-15 characters, no "
			   "'/', ':' or spaces)", key);
	snprintf(out, ORCH_IFNAME_MAX, "%s", json_string_value(v));
	return 0;
}

/* "uplinks": {"inside": IF, "outside": IF}, optional: the orchestrator's otherwise. */
static int spec_uplinks(json_t *j, struct orch_nf_spec *s, char *err, size_t errsz)
{
	json_t *u = json_object_get(j, "uplinks");

	s->uplink_in[0] = s->uplink_out[0] = '\0';
	if (u == NULL)
		return 0;
	if (!json_is_object(u))
		return bad(err, errsz, "uplinks: must be an object {\"inside\": IF, \"outside\": IF}");
	if (check_known(u, uplink_fields, "uplinks.", "inside, outside", err, errsz) ||
	    uplink_get(u, "inside", s->uplink_in, err, errsz) ||
	    uplink_get(u, "outside", s->uplink_out, err, errsz))
		return -EINVAL;
	if (strcmp(s->uplink_in, s->uplink_out) == 0)
		return bad(err, errsz, "uplinks.outside: must differ from uplinks.inside");
	return 0;
}

static int spec_name(json_t *j, struct orch_nf_spec *s, char *err, size_t errsz)
{
	json_t *v = json_object_get(j, "name");

	if (v == NULL)
		return bad(err, errsz, "name: is required");
	if (!json_is_string(v) || !orch_name_valid(json_string_value(v)))
		return bad(err, errsz, "name: must match [a-z][a-z0-9-]{0,30}");
	snprintf(s->name, sizeof(s->name), "%s", json_string_value(v));
	return 0;
}

static int spec_type(json_t *j, struct orch_nf_spec *s, char *err, size_t errsz)
{
	json_t *v = json_object_get(j, "type");

	if (v == NULL)
		return bad(err, errsz, "type: is required (one of nat, firewall, lb)");
	if (!json_is_string(v) || orch_nf_type_parse(json_string_value(v), &s->type) != 0)
		return bad(err, errsz, "type: must be one of nat, firewall, lb");
	return 0;
}

/* The desired count: 1-16 (a stored record may say 0: its last instance was removed),
 * within the autoscale bounds in a request; default 1 (or autoscale.min). */
static int spec_instances(json_t *j, struct orch_nf_spec *s, bool user, char *err, size_t errsz)
{
	const struct orch_autoscale *as = &s->autoscale;
	unsigned long long n = as->enabled ? as->min : 1;

	if (get_uint(j, "instances", "instances", user ? 1 : 0, ORCH_MAX_INSTANCES, false, &n, err, errsz))
		return -EINVAL;
	if (user && as->enabled && (n < as->min || n > as->max))
		return bad(err, errsz, "instances: must be within autoscale.min-autoscale.max (%u-%u)",
			   as->min, as->max);
	s->instances = (unsigned)n;
	return 0;
}

static int spec_autoscale(json_t *j, struct orch_nf_spec *s, char *err, size_t errsz)
{
	json_t *v = json_object_get(j, "autoscale");

	if (v == NULL) {
		memset(&s->autoscale, 0, sizeof(s->autoscale));
		return 0;
	}
	return orch_autoscale_from_json(v, &s->autoscale, err, errsz);
}

/* The config is checked last: it is the most expensive, and the type must be known. */
static int spec_config(json_t *j, struct orch_nf_spec *s, char *err, size_t errsz)
{
	json_t *v = json_object_get(j, "config");

	if (v == NULL)
		v = json_object();
	else
		json_incref(v);
	if (v == NULL)
		return bad(err, errsz, "config: out of memory");
	if (orch_nf_config_check(s->type, v, err, errsz) != 0) {
		json_decref(v);
		return -EINVAL;
	}
	s->config = v;
	return 0;
}

static int spec_parse(json_t *j, struct orch_nf_spec *out, bool user, char *err, size_t errsz)
{
	struct orch_nf_spec s = { .config = NULL };
	unsigned long long created = 0, gen = 0;

	if (!json_is_object(j))
		return bad(err, errsz, "spec: must be a JSON object");
	if (check_known(j, user ? spec_fields_user : spec_fields_record, "",
			"name, type, config, instances, autoscale, uplinks", err, errsz))
		return -EINVAL;
	if (spec_name(j, &s, err, errsz) || spec_type(j, &s, err, errsz) ||
	    spec_uplinks(j, &s, err, errsz) ||
	    spec_autoscale(j, &s, err, errsz) || spec_instances(j, &s, user, err, errsz) ||
	    get_uint(j, "created_ms", "created_ms", 0, INT64_MAX, false, &created, err, errsz) ||
	    get_uint(j, "config_gen", "config_gen", 0, UINT32_MAX, false, &gen, err, errsz) ||
	    spec_config(j, &s, err, errsz))
		return -EINVAL;
	s.created_ms = created;
	s.config_gen = (uint32_t)gen;
	*out = s;
	return 0;
}

int orch_nf_spec_from_json(json_t *j, struct orch_nf_spec *out, char *err, size_t errsz)
{
	return spec_parse(j, out, false, err, errsz);
}

int orch_nf_spec_from_request(json_t *j, struct orch_nf_spec *out, char *err, size_t errsz)
{
	return spec_parse(j, out, true, err, errsz);
}

json_t *orch_nf_spec_to_json(const struct orch_nf_spec *spec)
{
	json_t *config = spec->config ? json_incref(spec->config) : json_object();
	json_t *j = json_pack("{s:s, s:s, s:o, s:I, s:o, s:I}", "name", spec->name,
			      "type", orch_nf_type_name(spec->type), "config", config,
			      "instances", (json_int_t)spec->instances,
			      "autoscale", orch_autoscale_to_json(&spec->autoscale),
			      "created_ms", (json_int_t)spec->created_ms);

	if (j != NULL)
		json_object_set_new(j, "config_gen", json_integer(spec->config_gen));
	if (j != NULL && spec->uplink_in[0] != '\0')
		json_object_set_new(j, "uplinks", json_pack("{s:s, s:s}", "inside", spec->uplink_in,
							    "outside", spec->uplink_out));
	return j;
}

/* ---- Instances: a table of fields drives both directions ---- */

enum ifield_kind { IF_STR, IF_U32, IF_U64, IF_PID, IF_NUM, IF_STATE };

struct ifield {
	const char *name;
	enum ifield_kind kind;
	size_t off;
	size_t size;		/* of the member (strings: the buffer) */
	bool required;
};

#define IF(n, k, req) { #n, k, offsetof(struct orch_instance, n), \
			sizeof(((struct orch_instance *)0)->n), req }

static const struct ifield inst_fields[] = {
	IF(id, IF_STR, true),
	IF(nf, IF_STR, true),
	IF(state, IF_STATE, true),
	IF(pid, IF_PID, false),
	IF(if_in, IF_STR, false),
	IF(if_out, IF_STR, false),
	IF(br_in, IF_STR, false),
	IF(br_out, IF_STR, false),
	IF(ofport_in, IF_U32, false),
	IF(ofport_out, IF_U32, false),
	IF(launched_ms, IF_U64, false),
	IF(ready_ms, IF_U64, false),
	IF(last_heartbeat_ms, IF_U64, false),
	IF(pps, IF_NUM, false),
	IF(busy, IF_NUM, false),
	IF(config_gen, IF_U32, false),
};
#define N_INST_FIELDS (sizeof(inst_fields) / sizeof(inst_fields[0]))

static json_t *ifield_to_json(const struct ifield *f, const struct orch_instance *in)
{
	const char *p = (const char *)in + f->off;

	switch (f->kind) {
	case IF_STR:
		return json_string(p);
	case IF_U32:
		return json_integer(*(const uint32_t *)p);
	case IF_U64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case IF_PID:
		return json_integer(*(const pid_t *)p);
	case IF_NUM:
		return json_real(*(const double *)p);
	case IF_STATE:
		return json_string(orch_inst_state_name(*(const enum orch_inst_state *)p));
	}
	return NULL;
}

json_t *orch_instance_to_json(const struct orch_instance *inst)
{
	json_t *j = json_object();

	for (size_t i = 0; j != NULL && i < N_INST_FIELDS; i++) {
		if (json_object_set_new(j, inst_fields[i].name,
					ifield_to_json(&inst_fields[i], inst)) != 0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static int ifield_int(const struct ifield *f, json_t *v, long long hi, long long *out, char *err,
		      size_t errsz)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > hi)
		return bad(err, errsz, "%s: must be an integer in 0-%lld", f->name, hi);
	*out = json_integer_value(v);
	return 0;
}

static int ifield_from_json(const struct ifield *f, json_t *v, struct orch_instance *in, char *err,
			    size_t errsz)
{
	char *p = (char *)in + f->off;
	long long n;

	switch (f->kind) {
	case IF_STR:
		if (!json_is_string(v) || json_string_length(v) >= f->size)
			return bad(err, errsz, "%s: must be a string of at most %zu characters",
				   f->name, f->size - 1);
		memcpy(p, json_string_value(v), json_string_length(v) + 1);
		return 0;
	case IF_STATE:
		if (!json_is_string(v) ||
		    orch_inst_state_parse(json_string_value(v), (enum orch_inst_state *)p) != 0)
			return bad(err, errsz, "%s: must be one of launching, ready, draining, stopped, failed",
				   f->name);
		return 0;
	case IF_NUM:
		if (!json_is_number(v) || json_number_value(v) < 0)
			return bad(err, errsz, "%s: must be a number >= 0", f->name);
		*(double *)p = json_number_value(v);
		return 0;
	case IF_U32:
		if (ifield_int(f, v, UINT32_MAX, &n, err, errsz))
			return -EINVAL;
		*(uint32_t *)p = (uint32_t)n;
		return 0;
	case IF_PID:
		if (ifield_int(f, v, INT32_MAX, &n, err, errsz))
			return -EINVAL;
		*(pid_t *)p = (pid_t)n;
		return 0;
	case IF_U64:
		if (ifield_int(f, v, INT64_MAX, &n, err, errsz))
			return -EINVAL;
		*(uint64_t *)p = (uint64_t)n;
		return 0;
	}
	return -EINVAL;
}

static const struct ifield *ifield_find(const char *name)
{
	for (size_t i = 0; i < N_INST_FIELDS; i++)
		if (strcmp(inst_fields[i].name, name) == 0)
			return &inst_fields[i];
	return NULL;
}

int orch_instance_from_json(json_t *j, struct orch_instance *out, char *err, size_t errsz)
{
	struct orch_instance in;
	const char *k;
	json_t *v;

	memset(&in, 0, sizeof(in));
	if (!json_is_object(j))
		return bad(err, errsz, "instance: must be a JSON object");
	json_object_foreach(j, k, v) {
		const struct ifield *f = ifield_find(k);

		if (f == NULL)
			return bad(err, errsz, "%s: unknown field", k);
		if (ifield_from_json(f, v, &in, err, errsz) != 0)
			return -EINVAL;
	}
	for (size_t i = 0; i < N_INST_FIELDS; i++)
		if (inst_fields[i].required && json_object_get(j, inst_fields[i].name) == NULL)
			return bad(err, errsz, "%s: is required", inst_fields[i].name);
	*out = in;
	return 0;
}
