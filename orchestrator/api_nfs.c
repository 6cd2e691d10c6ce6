/* REST API route handlers: /v1/nfs and its instances, events, health, metrics and the OpenAPI document. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "nf/log.h"
#include "orchestrator/api.h"
#include "orchestrator/api_int.h"
#include "orchestrator/model.h"

#define LOG_MOD "api"
#define API_EVENTS_DEFAULT 100
#define API_EVENTS_MAX 1000

/* orchestrator/openapi.json, embedded by the Makefile ($(BUILD)/gen/openapi_json.c). */
extern const unsigned char orch_openapi_json[];
extern const unsigned long orch_openapi_json_size;

/* ---- Request validation helpers ---- */

static bool api_id_valid(const char *name, const char *id)
{
	size_t n = strlen(name);

	if (strlen(id) >= ORCH_ID_MAX || strncmp(id, name, n) != 0 || id[n] != '-' || id[n + 1] == 0)
		return false;
	return strspn(id + n + 1, "0123456789") == strlen(id + n + 1);
}

/* Only the members in NULL-terminated 'known' may appear in 'body'. */
static bool api_body_known(json_t *body, const char *const *known, const char **bad_key)
{
	const char *k;
	json_t *v;

	json_object_foreach(body, k, v) {
		size_t i;

		for (i = 0; known[i] != NULL && strcmp(k, known[i]) != 0; i++)
			;
		if (known[i] == NULL) {
			*bad_key = k;
			return false;
		}
	}
	return true;
}

/* The NF object of 'name' (a new reference) or NULL; 'type' from its spec. */
static json_t *api_nf_type(struct api_req *r, const char *name, enum orch_nf_type *type)
{
	json_t *nf = orch_nf_get(r->api->orch, name);
	const char *t = json_string_value(json_object_get(json_object_get(nf, "spec"), "type"));

	if (nf != NULL && (t == NULL || orch_nf_type_parse(t, type) != 0)) {
		NF_LOG(ERR, LOG_MOD, "core: NF '%s' has no valid spec.type", name);
		json_decref(nf);
		return NULL;
	}
	return nf;
}

/* The NF after a change: the core's view, or 'fallback' if it has none (stolen). */
static json_t *api_nf_after(struct api_req *r, const char *name, json_t *fallback)
{
	json_t *nf = orch_nf_get(r->api->orch, name);

	if (nf == NULL)
		return fallback;
	json_decref(fallback);
	return nf;
}

/* ---- Handlers: NFs ---- */

static enum MHD_Result nfs_create(struct api_req *r, json_t *body)
{
	char err[API_MSG_MAX] = "", location[64 + ORCH_NAME_MAX];
	struct orch_nf_spec spec;
	enum MHD_Result ret;
	int rc;

	if (orch_nf_spec_from_request(body, &spec, err, sizeof(err)) != 0)
		return api_error(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	rc = orch_nf_create(r->api->orch, &spec, err, sizeof(err));
	if (rc != 0) {
		orch_nf_spec_clear(&spec);
		return api_core_error(r, rc, err);
	}
	NF_LOG(INFO, LOG_MOD, "created NF '%s' (%s, %u instances)", spec.name,
	       orch_nf_type_name(spec.type), spec.instances);
	snprintf(location, sizeof(location), "/v1/nfs/%s", spec.name);
	ret = api_json(r, MHD_HTTP_CREATED,
		       api_nf_after(r, spec.name, json_pack("{s:o}", "spec", orch_nf_spec_to_json(&spec))),
		       MHD_HTTP_HEADER_LOCATION, location);
	orch_nf_spec_clear(&spec);
	return ret;
}

static enum MHD_Result nfs_list(struct api_req *r, json_t *body)
{
	json_t *nfs = orch_nf_list(r->api->orch);

	(void)body;
	if (nfs == NULL)
		return api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store: unreachable");
	return api_json(r, MHD_HTTP_OK, json_pack("{s:o}", "nfs", nfs), NULL, NULL);
}

static enum MHD_Result nfs_get(struct api_req *r, json_t *body)
{
	json_t *nf;

	(void)body;
	if (!orch_name_valid(r->name))
		return api_error(r, MHD_HTTP_NOT_FOUND, "name: no NF named '%s'", r->name);
	nf = orch_nf_get(r->api->orch, r->name);
	if (nf == NULL)
		return api_missing(r, r->name);
	return api_json(r, MHD_HTTP_OK, nf, NULL, NULL);
}

static enum MHD_Result nfs_scale(struct api_req *r, json_t *body)
{
	static const char *const known[] = { "instances", NULL };
	json_t *n = json_object_get(body, "instances");
	char err[API_MSG_MAX] = "";
	const char *bad_key;
	int rc;

	if (!orch_name_valid(r->name))
		return api_error(r, MHD_HTTP_NOT_FOUND, "name: no NF named '%s'", r->name);
	if (!api_body_known(body, known, &bad_key))
		return api_error(r, MHD_HTTP_BAD_REQUEST, "%s: unknown field (instances)", bad_key);
	if (n == NULL)
		return api_error(r, MHD_HTTP_BAD_REQUEST, "instances: is required (an integer in 1-%d)",
				 ORCH_MAX_INSTANCES);
	if (!json_is_integer(n) || json_integer_value(n) < 1 ||
	    json_integer_value(n) > ORCH_MAX_INSTANCES)
		return api_error(r, MHD_HTTP_BAD_REQUEST, "instances: must be an integer in 1-%d",
				 ORCH_MAX_INSTANCES);
	rc = orch_nf_scale(r->api->orch, r->name, (unsigned)json_integer_value(n), err, sizeof(err));
	if (rc != 0)
		return api_core_error(r, rc, err);
	NF_LOG(INFO, LOG_MOD, "NF '%s' scaled to %lld", r->name, (long long)json_integer_value(n));
	return api_json(r, MHD_HTTP_OK, api_nf_after(r, r->name, NULL), NULL, NULL);
}

/* PATCH: {config?, autoscale?}; the body is checked before the NF is looked up, the
 * config (which needs the NF's type) after. */
static enum MHD_Result nfs_patch(struct api_req *r, json_t *body)
{
	static const char *const known[] = { "config", "autoscale", NULL };
	json_t *config = json_object_get(body, "config"), *as_j = json_object_get(body, "autoscale");
	char err[API_MSG_MAX] = "";
	struct orch_autoscale as;
	enum orch_nf_type type;
	const char *bad_key;
	json_t *nf;
	int rc;

	if (!orch_name_valid(r->name))
		return api_error(r, MHD_HTTP_NOT_FOUND, "name: no NF named '%s'", r->name);
	if (!api_body_known(body, known, &bad_key))
		return api_error(r, MHD_HTTP_BAD_REQUEST, "%s: unknown field (config, autoscale)", bad_key);
	if (config == NULL && as_j == NULL)
		return api_error(r, MHD_HTTP_BAD_REQUEST, "body: nothing to change (config, autoscale)");
	if (as_j != NULL && orch_autoscale_from_json(as_j, &as, err, sizeof(err)) != 0)
		return api_error(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	nf = api_nf_type(r, r->name, &type);
	if (nf == NULL)
		return api_missing(r, r->name);
	json_decref(nf);
	if (config != NULL && orch_nf_config_check(type, config, err, sizeof(err)) != 0)
		return api_error(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	rc = orch_nf_patch(r->api->orch, r->name, config, as_j ? &as : NULL, err, sizeof(err));
	if (rc != 0)
		return api_core_error(r, rc, err);
	NF_LOG(INFO, LOG_MOD, "NF '%s' patched (%s%s)", r->name, config ? "config " : "",
	       as_j ? "autoscale" : "");
	return api_json(r, MHD_HTTP_OK, api_nf_after(r, r->name, NULL), NULL, NULL);
}

static enum MHD_Result nfs_delete(struct api_req *r, json_t *body)
{
	char err[API_MSG_MAX] = "";
	int rc;

	(void)body;
	if (!orch_name_valid(r->name))
		return api_error(r, MHD_HTTP_NOT_FOUND, "name: no NF named '%s'", r->name);
	rc = orch_nf_delete(r->api->orch, r->name, err, sizeof(err));
	if (rc != 0)
		return api_core_error(r, rc, err);
	NF_LOG(INFO, LOG_MOD, "NF '%s' deleted", r->name);
	return api_send(r, MHD_HTTP_NO_CONTENT, NULL, (void *)"", 0, false, NULL, NULL);
}

static enum MHD_Result inst_delete(struct api_req *r, json_t *body)
{
	char err[API_MSG_MAX] = "";
	int rc;

	(void)body;
	if (!orch_name_valid(r->name))
		return api_error(r, MHD_HTTP_NOT_FOUND, "name: no NF named '%s'", r->name);
	if (!api_id_valid(r->name, r->id))
		return api_error(r, MHD_HTTP_NOT_FOUND, "id: no instance '%s' in NF '%s'", r->id, r->name);
	rc = orch_instance_remove(r->api->orch, r->name, r->id, err, sizeof(err));
	if (rc != 0)
		return api_core_error(r, rc, err);
	NF_LOG(INFO, LOG_MOD, "instance '%s' of NF '%s' draining", r->id, r->name);
	return api_json(r, MHD_HTTP_ACCEPTED,
			json_pack("{s:s, s:s, s:s}", "nf", r->name, "id", r->id, "state", "draining"),
			NULL, NULL);
}

/* ---- Handlers: the rest ---- */

/* Query parameters of GET /v1/events: max (1-1000) and nf (a name). */
struct events_query {
	unsigned max;
	const char *nf;
	char bad[API_MSG_MAX];
};

static enum MHD_Result events_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct events_query *q = cls;
	char *end;
	unsigned long n;

	(void)kind;
	if (strcmp(key, "max") == 0) {
		n = value ? strtoul(value, &end, 10) : 0;
		if (value == NULL || *value < '0' || *value > '9' || *end != 0 || n < 1 ||
		    n > API_EVENTS_MAX)
			snprintf(q->bad, sizeof(q->bad), "max: must be an integer in 1-%d", API_EVENTS_MAX);
		q->max = (unsigned)n;
	} else if (strcmp(key, "nf") == 0) {
		q->nf = value ? value : "";
	} else {
		snprintf(q->bad, sizeof(q->bad), "%.64s: unknown query parameter (max, nf)", key);
	}
	return q->bad[0] ? MHD_NO : MHD_YES;
}

/* Keep the events of NF 'nf', at most 'max' of them. */
static void events_filter(json_t *events, const char *nf, unsigned max)
{
	size_t i = 0;

	while (i < json_array_size(events)) {
		const char *e_nf = json_string_value(json_object_get(json_array_get(events, i), "nf"));

		if (i >= max || (nf != NULL && (e_nf == NULL || strcmp(e_nf, nf) != 0)))
			json_array_remove(events, i);
		else
			i++;
	}
}

static enum MHD_Result events_get(struct api_req *r, json_t *body)
{
	struct events_query q = { .max = API_EVENTS_DEFAULT };
	json_t *events;

	(void)body;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, events_arg, &q);
	if (q.bad[0])
		return api_error(r, MHD_HTTP_BAD_REQUEST, "%s", q.bad);
	events = orch_events_get(r->api->orch, q.nf ? API_EVENTS_MAX : q.max);
	if (events == NULL)
		return api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store: unreachable");
	events_filter(events, q.nf, q.max);
	return api_json(r, MHD_HTTP_OK, json_pack("{s:o}", "events", events), NULL, NULL);
}

static enum MHD_Result health_get(struct api_req *r, json_t *body)
{
	json_t *h = orch_health(r->api->orch);

	(void)body;
	if (h == NULL)
		return api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "health: out of memory");
	return api_json(r, MHD_HTTP_OK, h, NULL, NULL);
}

static enum MHD_Result metrics_get(struct api_req *r, json_t *body)
{
	char *text = orch_metrics_text(r->api->orch);

	(void)body;
	if (text == NULL)
		return api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics: out of memory");
	return api_send(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
			strlen(text), true, NULL, NULL);
}

static enum MHD_Result openapi_get(struct api_req *r, json_t *body)
{
	(void)body;
	return api_send(r, MHD_HTTP_OK, "application/json", (void *)orch_openapi_json,
			orch_openapi_json_size, false, NULL, NULL);
}

const struct api_route api_routes[] = {
	{ "POST", "/v1/nfs", nfs_create, API_MUTATES | API_BODY },
	{ "GET", "/v1/nfs", nfs_list, 0 },
	{ "GET", "/v1/nfs/{name}", nfs_get, 0 },
	{ "PATCH", "/v1/nfs/{name}", nfs_patch, API_MUTATES | API_BODY },
	{ "DELETE", "/v1/nfs/{name}", nfs_delete, API_MUTATES },
	{ "POST", "/v1/nfs/{name}/scale", nfs_scale, API_MUTATES | API_BODY },
	{ "DELETE", "/v1/nfs/{name}/instances/{id}", inst_delete, API_MUTATES },
	{ "GET", "/v1/events", events_get, 0 },
	{ "GET", "/v1/health", health_get, 0 },
	{ "GET", "/metrics", metrics_get, 0 },
	{ "GET", "/v1/openapi.json", openapi_get, 0 },
};
const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
