/* Tests of the REST API (orchestrator/api.c) and nfvctl: the real HTTP server driven by libcurl, on a
 * small in-test core that persists desired state through orchestrator/state.c in a real redis-server. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <curl/curl.h>

#include "orchestrator/api.h"
#include "orchestrator/core.h"
#include "orchestrator/state.h"
#include "tests/harness/redis_server.h"

#define TOKEN "s3cret-token"
#define NAT_CFG "{\"public_ips\": [\"203.0.113.1\"]}"

/* ---- The in-test core: core.h on top of state.c (desired state only; nothing is launched).
 * orchestrator/orch.c, the real core, is not linked: these definitions resolve api.o's
 * references, so the archive member that holds orch.c's is never pulled in. ---- */

struct orch {
	pthread_mutex_t lock;
	struct orch_state *st;
};

static int core_errno(int rc, const char *name, char *err, size_t errsz)
{
	if (rc == -EIO)
		snprintf(err, errsz, "store: unreachable");
	else if (rc == -ENOENT)
		snprintf(err, errsz, "name: no NF named '%s'", name);
	else if (rc == -EEXIST)
		snprintf(err, errsz, "name: an NF named '%s' exists", name);
	else if (rc != 0)
		snprintf(err, errsz, "store: %s", strerror(-rc));
	return rc;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int orch_nf_create(struct orch *o, const struct orch_nf_spec *spec, char *err, size_t errsz)
{
	struct orch_nf_spec s = *spec;
	int rc;

	s.created_ms = wall_ms();
	pthread_mutex_lock(&o->lock);
	rc = orch_state_put_nf(o->st, &s, true);
	if (rc == 0)
		orch_state_add_event(o->st, s.name, ORCH_EV_CREATED, NULL, orch_nf_type_name(s.type));
	pthread_mutex_unlock(&o->lock);
	return core_errno(rc, spec->name, err, errsz);
}

/* Load NF 'name', let 'change' modify it, store it back; all under the lock. */
static int core_update(struct orch *o, const char *name, int (*change)(struct orch_nf_spec *, void *),
		       void *arg, enum orch_event_kind kind, char *err, size_t errsz)
{
	struct orch_nf_spec s;
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = orch_state_get_nf(o->st, name, &s);
	if (rc == 0) {
		rc = change(&s, arg);
		if (rc == 0)
			rc = orch_state_put_nf(o->st, &s, false);
		if (rc == 0)
			orch_state_add_event(o->st, name, kind, NULL, "");
		orch_nf_spec_clear(&s);
	}
	pthread_mutex_unlock(&o->lock);
	if (rc == -EINVAL) {
		snprintf(err, errsz, "instances: must be within autoscale.min-autoscale.max");
		return rc;
	}
	return core_errno(rc, name, err, errsz);
}

static int change_scale(struct orch_nf_spec *s, void *arg)
{
	unsigned n = *(unsigned *)arg;

	if (s->autoscale.enabled && (n < s->autoscale.min || n > s->autoscale.max))
		return -EINVAL;
	s->instances = n;
	return 0;
}

int orch_nf_scale(struct orch *o, const char *name, unsigned instances, char *err, size_t errsz)
{
	return core_update(o, name, change_scale, &instances, ORCH_EV_SCALED, err, errsz);
}

struct patch {
	json_t *config;
	const struct orch_autoscale *as;
};

static int change_patch(struct orch_nf_spec *s, void *arg)
{
	struct patch *p = arg;

	if (p->config != NULL) {
		json_decref(s->config);
		s->config = json_incref(p->config);
	}
	if (p->as != NULL)
		s->autoscale = *p->as;
	return 0;
}

int orch_nf_patch(struct orch *o, const char *name, json_t *config, const struct orch_autoscale *autoscale,
		  char *err, size_t errsz)
{
	struct patch p = { config, autoscale };

	return core_update(o, name, change_patch, &p, ORCH_EV_AUTOSCALE, err, errsz);
}

int orch_nf_delete(struct orch *o, const char *name, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = orch_state_del_nf(o->st, name);
	if (rc == 0)
		orch_state_add_event(o->st, name, ORCH_EV_DELETED, NULL, NULL);
	pthread_mutex_unlock(&o->lock);
	return core_errno(rc, name, err, errsz);
}

static int change_one_less(struct orch_nf_spec *s, void *arg)
{
	(void)arg;
	if (s->instances > 0)
		s->instances--;
	return 0;
}

int orch_instance_remove(struct orch *o, const char *nf, const char *id, char *err, size_t errsz)
{
	struct orch_instance in;
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = orch_state_get_instance(o->st, nf, id, &in);
	if (rc == 0) {
		in.state = ORCH_INST_DRAINING;
		rc = orch_state_put_instance(o->st, &in);
	}
	if (rc == 0)
		orch_state_add_event(o->st, nf, ORCH_EV_DRAINING, id, NULL);
	pthread_mutex_unlock(&o->lock);
	if (rc == -ENOENT) {
		snprintf(err, errsz, "id: no instance '%s' in NF '%s'", id, nf);
		return rc;
	}
	if (rc != 0)
		return core_errno(rc, nf, err, errsz);
	return core_update(o, nf, change_one_less, NULL, ORCH_EV_SCALED, err, errsz);
}

static const char *core_status(unsigned ready, unsigned launching, unsigned desired)
{
	if (ready >= desired)
		return "running";
	if (ready > 0)
		return "degraded";
	return launching > 0 ? "starting" : "down";
}

/* The NF object of core.h, with the lock held. */
static json_t *core_nf_json(struct orch *o, const char *name)
{
	struct orch_instance *insts = NULL;
	struct orch_nf_spec s;
	unsigned ready = 0, launching = 0;
	json_t *arr;
	size_t n = 0;

	if (orch_state_get_nf(o->st, name, &s) != 0)
		return NULL;
	if (orch_state_list_instances(o->st, name, &insts, &n) != 0) {
		orch_nf_spec_clear(&s);
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j = orch_instance_to_json(&insts[i]);

		json_object_set_new(j, "heartbeat_age_ms", insts[i].last_heartbeat_ms
					? json_integer((json_int_t)(wall_ms() - insts[i].last_heartbeat_ms))
					: json_null());
		json_array_append_new(arr, j);
		ready += insts[i].state == ORCH_INST_READY;
		launching += insts[i].state == ORCH_INST_LAUNCHING;
	}
	free(insts);
	json_t *nf = json_pack("{s:o, s:{s:s, s:I, s:I}, s:o}", "spec", orch_nf_spec_to_json(&s), "status",
			       "state", core_status(ready, launching, s.instances), "ready", (json_int_t)ready,
			       "desired", (json_int_t)s.instances, "instances", arr);
	orch_nf_spec_clear(&s);
	return nf;
}

json_t *orch_nf_get(struct orch *o, const char *name)
{
	json_t *nf;

	pthread_mutex_lock(&o->lock);
	nf = core_nf_json(o, name);
	pthread_mutex_unlock(&o->lock);
	return nf;
}

json_t *orch_nf_list(struct orch *o)
{
	struct orch_name_list l;
	json_t *arr = NULL;

	pthread_mutex_lock(&o->lock);
	if (orch_state_list_nfs(o->st, &l) == 0) {
		arr = json_array();
		for (size_t i = 0; i < l.n; i++) {
			json_t *nf = core_nf_json(o, l.names[i]);

			if (nf != NULL)
				json_array_append_new(arr, nf);
		}
		orch_name_list_free(&l);
	}
	pthread_mutex_unlock(&o->lock);
	return arr;
}

json_t *orch_events_get(struct orch *o, unsigned max)
{
	json_t *ev = NULL;

	pthread_mutex_lock(&o->lock);
	if (orch_state_events(o->st, max, &ev) != 0)
		ev = NULL;
	pthread_mutex_unlock(&o->lock);
	return ev;
}

json_t *orch_health(struct orch *o)
{
	bool up;

	pthread_mutex_lock(&o->lock);
	up = orch_state_connected(o->st);
	pthread_mutex_unlock(&o->lock);
	return json_pack("{s:s, s:s, s:s}", "status", up ? "ok" : "degraded", "store", up ? "up" : "down",
			 "openflow", "none (test core)");
}

char *orch_metrics_text(struct orch *o)
{
	struct orch_name_list l = { 0 };
	char *text = NULL;

	pthread_mutex_lock(&o->lock);
	if (orch_state_list_nfs(o->st, &l) != 0)
		l.n = 0;
	pthread_mutex_unlock(&o->lock);
	if (asprintf(&text, "# HELP orch_nfs Number of NFs.\n# TYPE orch_nfs gauge\norch_nfs %zu\n", l.n) < 0)
		text = NULL;
	orch_name_list_free(&l);
	return text;
}

/* ---- Fixture: redis-server, state, in-test core, the API on a free port ---- */

static struct redis_server rs;
static struct orch core;
static struct api *api;
static redisContext *raw;	/* a plain client to compare the orch:* keys */
static char base_url[64];

static void start_api(const char *token)
{
	struct api_cfg cfg;
	char err[256] = "";

	api_cfg_default(&cfg);
	cfg.port = 0;
	snprintf(cfg.token, sizeof(cfg.token), "%s", token);
	api = api_start(&core, &cfg, err, sizeof(err));
	cr_assert_not_null(api, "api_start: %s", err);
	cr_assert_neq(api_port(api), 0);
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", api_port(api));
}

static void setup_core(void)
{
	struct store_cfg cfg;

	cr_assert_eq(redis_server_start(&rs, NULL), 0, "cannot start redis-server");
	redis_server_store_cfg(&rs, 0, &cfg);
	pthread_mutex_init(&core.lock, NULL);
	core.st = orch_state_open(&cfg);
	cr_assert_not_null(core.st);
	raw = redisConnectUnix(rs.unix_path);
	cr_assert(raw != NULL && raw->err == 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void setup(void)
{
	setup_core();
	start_api(TOKEN);
}

static void teardown(void)
{
	api_stop(api);
	api = NULL;
	orch_state_close(core.st);
	core.st = NULL;
	if (raw != NULL)
		redisFree(raw);
	raw = NULL;
	redis_server_stop(&rs);
	curl_global_cleanup();
}

/* ---- HTTP client ---- */

struct http_resp {
	long status;
	char *body;
	size_t len;
	char headers[4096];
	json_t *json;		/* the body parsed, or NULL */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_resp *r = arg;

	r->body = realloc(r->body, r->len + size * n + 1);
	cr_assert_not_null(r->body);
	memcpy(r->body + r->len, data, size * n);
	r->len += size * n;
	r->body[r->len] = 0;
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t used = strlen(r->headers);

	snprintf(r->headers + used, sizeof(r->headers) - used, "%.*s", (int)(size * n), data);
	return size * n;
}

/* The value of header 'name' in 'r' (without CRLF) into 'out', or false. */
static bool http_header(const struct http_resp *r, const char *name, char *out, size_t size)
{
	for (const char *p = r->headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':') {
			const char *v = p + strlen(name) + 1;

			v += strspn(v, " ");
			snprintf(out, size, "%.*s", (int)strcspn(v, "\r\n"), v);
			return true;
		}
	}
	return false;
}

static void http_free(struct http_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* One request. 'ctype' NULL sends no Content-Type; 'token' NULL no Authorization. */
static void http(struct http_resp *r, const char *method, const char *path, const char *ctype,
		 const char *body, size_t body_len, const char *token)
{
	char url[512], hdr[300];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	snprintf(hdr, sizeof(hdr), "Content-Type:%s%s", ctype ? " " : "", ctype ? ctype : "");
	h = curl_slist_append(h, hdr);
	if (token != NULL) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	cc = curl_easy_perform(c);
	cr_assert_eq(cc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	r->json = r->body ? json_loads(r->body, 0, NULL) : NULL;
}

static void http_json(struct http_resp *r, const char *method, const char *path, const char *body)
{
	http(r, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0, TOKEN);
}

/* The error reply must be {"error": {"code": status, "message": ..., "field": field}}. */
static void expect_error(const struct http_resp *r, long status, const char *field)
{
	json_t *e = json_object_get(r->json, "error");
	const char *f = json_string_value(json_object_get(e, "field"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	cr_assert_eq(r->status, status, "status %ld, want %ld: %s", r->status, status, r->body ? r->body : "");
	cr_assert(json_is_object(e), "not a JSON error: %s", r->body ? r->body : "");
	cr_assert_eq(json_integer_value(json_object_get(e, "code")), status);
	cr_assert(msg != NULL && msg[0] != 0, "no message");
	if (field[0] == 0) {
		cr_assert_null(f, "unexpected field '%s' (%s)", f, msg);
		return;
	}
	cr_assert(f != NULL && strcmp(f, field) == 0, "field '%s', want '%s' (%s)", f ? f : "(none)", field, msg);
	cr_assert(strncmp(msg, field, strlen(field)) == 0, "message '%s' does not start with the field", msg);
}

static int reply_cmp(const void *a, const void *b)
{
	const redisReply *x = *(redisReply *const *)a, *y = *(redisReply *const *)b;

	return strcmp(x->str, y->str);
}

/* All orch:* keys with their DUMP, in key order (malloc'd). */
static char *redis_snapshot(void)
{
	redisReply *keys = redisCommand(raw, "KEYS orch:*");
	size_t size = 1, used = 0;
	char *snap = calloc(1, 1);

	cr_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
	if (keys->elements > 0)
		qsort(keys->element, keys->elements, sizeof(keys->element[0]), reply_cmp);
	for (size_t i = 0; i < keys->elements; i++) {
		redisReply *d = redisCommand(raw, "DUMP %b", keys->element[i]->str, keys->element[i]->len);

		cr_assert(d != NULL && d->type == REDIS_REPLY_STRING);
		size += keys->element[i]->len + 2 * d->len + 3;
		snap = realloc(snap, size);
		used += (size_t)sprintf(snap + used, "%s=", keys->element[i]->str);
		for (size_t k = 0; k < d->len; k++)
			used += (size_t)sprintf(snap + used, "%02x", (unsigned char)d->str[k]);
		used += (size_t)sprintf(snap + used, "\n");
		freeReplyObject(d);
	}
	freeReplyObject(keys);
	return snap;
}

/* Record an instance as the launcher would (the in-test core launches nothing). */
static void put_instance(const char *nf, const char *id, enum orch_inst_state state)
{
	struct orch_instance in = { .state = state, .pid = 4321, .ofport_in = 3, .ofport_out = 4,
				    .pps = 1500, .busy = 0.25 };

	snprintf(in.nf, sizeof(in.nf), "%s", nf);
	snprintf(in.id, sizeof(in.id), "%s", id);
	in.launched_ms = wall_ms() - 2000;
	in.last_heartbeat_ms = wall_ms() - 100;
	pthread_mutex_lock(&core.lock);
	cr_assert_eq(orch_state_put_instance(core.st, &in), 0);
	pthread_mutex_unlock(&core.lock);
}

#define NAT1 "{\"name\": \"nat1\", \"type\": \"nat\", \"instances\": 2, \"config\": " NAT_CFG ", " \
	     "\"autoscale\": {\"min\": 1, \"max\": 4}}"
#define NAT_NEW "{\"name\": \"nat9\", \"type\": \"nat\", \"config\": " NAT_CFG "}"

/* NF nat1 (2 instances, autoscale 1-4) with one instance record nat1-1. */
static void preload(void)
{
	struct http_resp r;

	http_json(&r, "POST", "/v1/nfs", NAT1);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_free(&r);
	put_instance("nat1", "nat1-1", ORCH_INST_READY);
}

TestSuite(orch_api, .init = setup, .fini = teardown, .timeout = 30);

/* ---- Malformed requests: the right 4xx, the field named, nothing changed in Redis ---- */

struct bad_req {
	char method[8];
	char path[48];
	char ctype[40];		/* "" sends no Content-Type */
	char body[200];		/* sent for POST and PATCH ("" is an empty body) */
	int token;		/* 0 none, 1 the right one, 2 a wrong one */
	size_t big;		/* > 0: a body of this many bytes instead */
	long status;
	char field[32];		/* "" when the error names no field */
	char allow[24];		/* 405: the Allow header */
};

#define JS "application/json"

ParameterizedTestParameters(orch_api, malformed_requests_change_nothing)
{
	static struct bad_req cases[] = {
		/* authorization */
		{ "POST", "/v1/nfs", JS, NAT_NEW, 0, 0, 401, "authorization", "" },
		{ "POST", "/v1/nfs", JS, NAT_NEW, 2, 0, 401, "authorization", "" },
		{ "DELETE", "/v1/nfs/nat1", "", "", 0, 0, 401, "authorization", "" },
		{ "PATCH", "/v1/nfs/nat1", JS, "{\"autoscale\": null}", 0, 0, 401, "authorization", "" },
		{ "POST", "/v1/nfs/nat1/scale", JS, "{\"instances\": 3}", 0, 0, 401, "authorization", "" },
		{ "DELETE", "/v1/nfs/nat1/instances/nat1-1", "", "", 0, 0, 401, "authorization", "" },
		/* media type, JSON, size */
		{ "POST", "/v1/nfs", "text/plain", NAT_NEW, 1, 0, 415, "content-type", "" },
		{ "POST", "/v1/nfs", "", NAT_NEW, 1, 0, 415, "content-type", "" },
		{ "POST", "/v1/nfs", "application/jsonx", NAT_NEW, 1, 0, 415, "content-type", "" },
		{ "PATCH", "/v1/nfs/nat1", "application/x-www-form-urlencoded", "a=b", 1, 0, 415, "content-type", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": ", 1, 0, 400, "body", "" },
		{ "POST", "/v1/nfs", JS, "[1]", 1, 0, 400, "body", "" },
		{ "POST", "/v1/nfs", JS, "", 1, 0, 400, "body", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"a\", \"name\": \"b\", \"type\": \"nat\"}", 1, 0, 400, "body", "" },
		{ "POST", "/v1/nfs", JS, "", 1, 70000, 413, "body", "" },
		{ "POST", "/v1/nfs/nat1/scale", JS, "", 1, 65537, 413, "body", "" },
		/* POST /v1/nfs: types, unknown fields, ranges, duplicates */
		{ "POST", "/v1/nfs", "application/json; charset=utf-8", "{\"name\": 5, \"type\": \"nat\"}", 1, 0, 400, "name", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"Bad_Name\", \"type\": \"nat\"}", 1, 0, 400, "name", "" },
		{ "POST", "/v1/nfs", JS, "{\"type\": \"nat\"}", 1, 0, 400, "name", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"router\"}", 1, 0, 400, "type", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"instances\": \"2\"}", 1, 0, 400, "instances", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"instances\": 17}", 1, 0, 400, "instances", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"instances\": 0}", 1, 0, 400, "instances", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"config\": []}", 1, 0, 400, "config", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"autoscale\": 3}", 1, 0, 400, "autoscale", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"foo\": 1}", 1, 0, 400, "foo", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"created_ms\": 1}", 1, 0, 400, "created_ms", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"autoscale\": {\"min\": 3, \"max\": 2}}",
		  1, 0, 400, "autoscale.min", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"config\": {\"public_ips\": [\"1.2.3.4\"], "
		  "\"port_range\": [1, 70000]}}", 1, 0, 400, "config.port_range[1]", "" },
		{ "POST", "/v1/nfs", JS, "{\"name\": \"x\", \"type\": \"nat\", \"config\": {}}", 1, 0, 400, "config.public_ips", "" },
		{ "POST", "/v1/nfs", JS, NAT1, 1, 0, 409, "name", "" },
		/* scale */
		{ "POST", "/v1/nfs/nat1/scale", JS, "{\"instances\": 0}", 1, 0, 400, "instances", "" },
		{ "POST", "/v1/nfs/nat1/scale", JS, "{\"instances\": \"3\"}", 1, 0, 400, "instances", "" },
		{ "POST", "/v1/nfs/nat1/scale", JS, "{\"instances\": 3, \"count\": 2}", 1, 0, 400, "count", "" },
		{ "POST", "/v1/nfs/nat1/scale", JS, "{}", 1, 0, 400, "instances", "" },
		{ "POST", "/v1/nfs/nat1/scale", JS, "{\"instances\": 5}", 1, 0, 400, "instances", "" },
		{ "POST", "/v1/nfs/nat1/scale", JS, "3", 1, 0, 400, "body", "" },
		{ "POST", "/v1/nfs/nope/scale", JS, "{\"instances\": 3}", 1, 0, 404, "name", "" },
		/* patch */
		{ "PATCH", "/v1/nfs/nat1", JS, "{}", 1, 0, 400, "body", "" },
		{ "PATCH", "/v1/nfs/nat1", JS, "{\"instances\": 3}", 1, 0, 400, "instances", "" },
		{ "PATCH", "/v1/nfs/nat1", JS, "{\"config\": 7}", 1, 0, 400, "config", "" },
		{ "PATCH", "/v1/nfs/nat1", JS, "{\"config\": {\"public_ips\": []}}", 1, 0, 400, "config.public_ips", "" },
		{ "PATCH", "/v1/nfs/nat1", JS, "{\"autoscale\": {\"min\": 5, \"max\": 2}}", 1, 0, 400, "autoscale.min", "" },
		{ "PATCH", "/v1/nfs/nat1", JS, "{\"autoscale\": {\"min\": 1, \"max\": 2, \"bogus\": 1}}", 1, 0, 400,
		  "autoscale.bogus", "" },
		{ "PATCH", "/v1/nfs/nope", JS, "{\"autoscale\": null}", 1, 0, 404, "name", "" },
		/* not found */
		{ "GET", "/v1/nfs/nope", "", "", 0, 0, 404, "name", "" },
		{ "GET", "/v1/nfs/NOPE", "", "", 0, 0, 404, "name", "" },
		{ "DELETE", "/v1/nfs/nope", "", "", 1, 0, 404, "name", "" },
		{ "DELETE", "/v1/nfs/nat1/instances/nat1-99", "", "", 1, 0, 404, "id", "" },
		{ "DELETE", "/v1/nfs/nat1/instances/other-1", "", "", 1, 0, 404, "id", "" },
		{ "DELETE", "/v1/nfs/nat1/instances/nat1-x", "", "", 1, 0, 404, "id", "" },
		{ "GET", "/v1/nope", "", "", 0, 0, 404, "", "" },
		{ "GET", "/v2/nfs", "", "", 0, 0, 404, "", "" },
		{ "GET", "/v1/nfs/", "", "", 0, 0, 404, "", "" },
		{ "GET", "/v1/nfs/nat1/instances", "", "", 0, 0, 404, "", "" },
		/* methods */
		{ "PUT", "/v1/nfs", JS, NAT_NEW, 1, 0, 405, "method", "POST, GET" },
		{ "DELETE", "/v1/nfs", "", "", 1, 0, 405, "method", "POST, GET" },
		{ "GET", "/v1/nfs/nat1/scale", "", "", 1, 0, 405, "method", "POST" },
		{ "POST", "/v1/health", JS, "{}", 1, 0, 405, "method", "GET" },
		{ "POST", "/v1/nfs/nat1", JS, "{}", 1, 0, 405, "method", "GET, PATCH, DELETE" },
		{ "GET", "/v1/nfs/nat1/instances/nat1-1", "", "", 1, 0, 405, "method", "DELETE" },
		/* query parameters */
		{ "GET", "/v1/events?max=0", "", "", 0, 0, 400, "max", "" },
		{ "GET", "/v1/events?max=12x", "", "", 0, 0, 400, "max", "" },
		{ "GET", "/v1/events?max=1001", "", "", 0, 0, 400, "max", "" },
		{ "GET", "/v1/events?colour=red", "", "", 0, 0, 400, "colour", "" },
	};
	return cr_make_param_array(struct bad_req, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_req *c, orch_api, malformed_requests_change_nothing)
{
	static const char *const tokens[] = { NULL, TOKEN, "not-" TOKEN };
	bool has_body = strcmp(c->method, "POST") == 0 || strcmp(c->method, "PATCH") == 0 ||
			strcmp(c->method, "PUT") == 0;
	char *before, *after, *big = NULL, hdr[128];
	struct http_resp r;

	preload();
	before = redis_snapshot();
	if (c->big > 0) {
		big = malloc(c->big);
		memset(big, ' ', c->big);
		big[0] = '{';
		big[c->big - 1] = '}';
	}
	http(&r, c->method, c->path, c->ctype[0] ? c->ctype : NULL, big ? big : has_body ? c->body : NULL,
	     big ? c->big : strlen(c->body), tokens[c->token]);
	expect_error(&r, c->status, c->field);
	if (c->status == 401) {
		cr_assert(http_header(&r, "WWW-Authenticate", hdr, sizeof(hdr)), "no WWW-Authenticate");
		cr_assert(strncmp(hdr, "Bearer", 6) == 0, "%s", hdr);
	}
	if (c->status == 405) {
		cr_assert(http_header(&r, "Allow", hdr, sizeof(hdr)), "no Allow header");
		cr_assert_str_eq(hdr, c->allow);
	}
	cr_assert(http_header(&r, "Content-Type", hdr, sizeof(hdr)));
	cr_assert_str_eq(hdr, "application/json");
	after = redis_snapshot();
	cr_assert_str_eq(after, before, "%s %s changed the store", c->method, c->path);
	free(before);
	free(after);
	free(big);
	http_free(&r);
}

/* A chunked body (no Content-Length) over the limit: counted as it arrives, then 413. */
struct chunks {
	size_t left;
};

static size_t chunk_read(char *buf, size_t size, size_t n, void *arg)
{
	struct chunks *c = arg;
	size_t k = size * n < c->left ? size * n : c->left;

	memset(buf, ' ', k);
	if (k > 0 && c->left == 100000)
		buf[0] = '{';
	c->left -= k;
	return k;
}

Test(orch_api, chunked_body_over_the_limit)
{
	struct chunks ch = { 100000 };
	struct http_resp r = { 0 };
	struct curl_slist *h = NULL;
	char url[128], *before = redis_snapshot(), *after;
	CURL *c = curl_easy_init();

	snprintf(url, sizeof(url), "%s/v1/nfs", base_url);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Transfer-Encoding: chunked");
	h = curl_slist_append(h, "Authorization: Bearer " TOKEN);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, chunk_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &ch);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	r.json = json_loads(r.body, 0, NULL);
	expect_error(&r, 413, "body");
	after = redis_snapshot();
	cr_assert_str_eq(after, before);
	free(before);
	free(after);
	http_free(&r);
}

/* ---- Happy paths ---- */

static const char *spec_str(const struct http_resp *r, const char *key)
{
	return json_string_value(json_object_get(json_object_get(r->json, "spec"), key));
}

static long long spec_int(const struct http_resp *r, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(r->json, "spec"), key));
}

Test(orch_api, create_get_list)
{
	struct http_resp r;
	char loc[128];

	http_json(&r, "POST", "/v1/nfs", NAT1);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert(http_header(&r, "Location", loc, sizeof(loc)));
	cr_assert_str_eq(loc, "/v1/nfs/nat1");
	cr_assert_str_eq(spec_str(&r, "name"), "nat1");
	cr_assert_str_eq(spec_str(&r, "type"), "nat");
	cr_assert_eq(spec_int(&r, "instances"), 2);
	cr_assert_gt(spec_int(&r, "created_ms"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "status"), "state")), "down");
	http_free(&r);

	put_instance("nat1", "nat1-1", ORCH_INST_READY);
	http_json(&r, "GET", "/v1/nfs/nat1", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *insts = json_object_get(r.json, "instances");
	cr_assert_eq(json_array_size(insts), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(insts, 0), "id")), "nat1-1");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(r.json, "status"), "ready")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(r.json, "spec"),
		"autoscale"), "max")), 4);
	http_free(&r);

	http_json(&r, "POST", "/v1/nfs", "{\"name\": \"fw\", \"type\": \"firewall\"}");
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_free(&r);
	http_json(&r, "GET", "/v1/nfs", NULL);
	cr_assert_eq(r.status, 200);
	json_t *nfs = json_object_get(r.json, "nfs");
	cr_assert_eq(json_array_size(nfs), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(nfs, 0), "spec"),
		"name")), "fw");
	http_free(&r);
}

Test(orch_api, scale_patch_remove_delete)
{
	struct http_resp r;

	preload();
	http_json(&r, "POST", "/v1/nfs/nat1/scale", "{\"instances\": 4}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(spec_int(&r, "instances"), 4);
	http_free(&r);

	http_json(&r, "PATCH", "/v1/nfs/nat1",
		  "{\"config\": {\"public_ips\": [\"198.51.100.9\"], \"port_range\": [2000, 2999]}, "
		  "\"autoscale\": {\"min\": 2, \"max\": 6, \"scale_out_load\": 0.7}}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *spec = json_object_get(r.json, "spec");
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(json_object_get(spec, "config"),
		"port_range"), 1)), 2999);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(spec, "autoscale"), "max")), 6);
	http_free(&r);

	http_json(&r, "PATCH", "/v1/nfs/nat1", "{\"autoscale\": null}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_null(json_object_get(json_object_get(r.json, "spec"), "autoscale")));
	http_free(&r);

	http_json(&r, "DELETE", "/v1/nfs/nat1/instances/nat1-1", NULL);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "draining");
	http_free(&r);
	http_json(&r, "GET", "/v1/nfs/nat1", NULL);
	cr_assert_eq(spec_int(&r, "instances"), 3, "removing an instance lowers the desired count");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r.json, "instances"), 0),
		"state")), "draining");
	http_free(&r);

	http_json(&r, "DELETE", "/v1/nfs/nat1", NULL);
	cr_assert_eq(r.status, 204, "%s", r.body ? r.body : "");
	cr_assert_eq(r.len, 0);
	http_free(&r);
	http_json(&r, "GET", "/v1/nfs/nat1", NULL);
	expect_error(&r, 404, "name");
	http_free(&r);
}

Test(orch_api, events_newest_first_and_filtered)
{
	struct http_resp r;

	preload();
	http_json(&r, "POST", "/v1/nfs", NAT_NEW);
	http_free(&r);
	http_json(&r, "POST", "/v1/nfs/nat1/scale", "{\"instances\": 3}");
	http_free(&r);
	http_json(&r, "GET", "/v1/events", NULL);
	cr_assert_eq(r.status, 200);
	json_t *ev = json_object_get(r.json, "events");
	cr_assert_eq(json_array_size(ev), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 0), "kind")), "scaled");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 2), "kind")), "created");
	cr_assert(json_is_integer(json_object_get(json_array_get(ev, 0), "ts_ms")));
	http_free(&r);
	http_json(&r, "GET", "/v1/events?max=1", NULL);
	cr_assert_eq(json_array_size(json_object_get(r.json, "events")), 1);
	http_free(&r);
	http_json(&r, "GET", "/v1/events?nf=nat1&max=5", NULL);
	ev = json_object_get(r.json, "events");
	cr_assert_eq(json_array_size(ev), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 1), "kind")), "created");
	http_free(&r);
}

Test(orch_api, health_metrics_openapi)
{
	struct http_resp r;
	char ct[128];

	http_json(&r, "GET", "/v1/health", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
	http_free(&r);
	http_json(&r, "HEAD", "/v1/health", NULL);
	cr_assert_eq(r.status, 200, "HEAD is served as GET");
	http_free(&r);

	http_json(&r, "GET", "/metrics", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(http_header(&r, "Content-Type", ct, sizeof(ct)));
	cr_assert(strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "%s", ct);
	cr_assert(strstr(r.body, "# TYPE orch_nfs gauge\norch_nfs 0\n") != NULL, "%s", r.body);
	http_free(&r);

	http_json(&r, "GET", "/v1/openapi.json", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(r.json, "openapi.json is not valid JSON");
	const char *v = json_string_value(json_object_get(r.json, "openapi"));
	cr_assert(v != NULL && strncmp(v, "3.0.", 4) == 0, "openapi: %s", v ? v : "(none)");
	json_t *paths = json_object_get(r.json, "paths");
	cr_assert_not_null(json_object_get(paths, "/v1/nfs/{name}/instances/{id}"));
	cr_assert_not_null(json_object_get(json_object_get(json_object_get(r.json, "components"), "schemas"), "Error"));
	http_free(&r);
}

Test(orch_api, store_down_is_503_and_nothing_half_done)
{
	struct http_resp r;

	preload();
	cr_assert_eq(redis_server_kill(&rs), 0);
	http_json(&r, "POST", "/v1/nfs", NAT_NEW);
	expect_error(&r, 503, "store");
	http_free(&r);
	http_json(&r, "GET", "/v1/nfs/nat1", NULL);
	expect_error(&r, 503, "store");
	http_free(&r);
	http_json(&r, "GET", "/v1/nfs", NULL);
	expect_error(&r, 503, "store");
	http_free(&r);
	http_json(&r, "POST", "/v1/nfs/nat1/scale", "{\"instances\": 3}");
	expect_error(&r, 503, "store");
	http_free(&r);
	/* Validation still comes first. */
	http_json(&r, "POST", "/v1/nfs/nat1/scale", "{\"instances\": 30}");
	expect_error(&r, 400, "instances");
	http_free(&r);
	http_json(&r, "GET", "/v1/health", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "store")), "down");
	http_free(&r);
}

/* Servers configured otherwise: each test starts its own. */
TestSuite(orch_api_cfg, .init = setup_core, .fini = teardown, .timeout = 30);

Test(orch_api_cfg, no_token_configured_means_open)
{
	struct http_resp r;

	start_api("");
	http(&r, "POST", "/v1/nfs", JS, NAT_NEW, strlen(NAT_NEW), NULL);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_free(&r);
	http(&r, "DELETE", "/v1/nfs/nat9", NULL, NULL, 0, NULL);
	cr_assert_eq(r.status, 204);
	http_free(&r);
}

Test(orch_api_cfg, bad_listen_address)
{
	struct api_cfg cfg;
	char err[256] = "";

	api_cfg_default(&cfg);
	cr_assert_str_eq(cfg.addr, "127.0.0.1");
	cr_assert_eq(cfg.port, 8181);
	snprintf(cfg.addr, sizeof(cfg.addr), "localhost");
	cr_assert_null(api_start(&core, &cfg, err, sizeof(err)));
	cr_assert(strstr(err, "listen address") != NULL, "%s", err);
	snprintf(cfg.addr, sizeof(cfg.addr), "::1");
	cfg.port = 0;
	api = api_start(&core, &cfg, err, sizeof(err));
	cr_assert_not_null(api, "IPv6 loopback: %s", err);
}

/* ---- nfvctl against the same server ---- */

TestSuite(orch_cli, .init = setup, .fini = teardown, .timeout = 60);

/* Run nfvctl with 'args' (stdout and stderr into 'out'); returns its exit status. */
static int ctl(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int ctl(char *out, size_t size, const char *fmt, ...)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char args[1024], cmd[1400];
	size_t used = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "timeout 20 %s/nfvctl --url %s %s 2>&1", build, base_url, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (used + 1 < size && fgets(out + used, (int)(size - used), p) != NULL)
		used += strlen(out + used);
	out[used] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(orch_cli, launch_ls_get_scale_kill_rm)
{
	char out[8192], cfg[] = "/tmp/nfvctl-test-XXXXXX";
	int fd = mkstemp(cfg);

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(cfg, NAT_CFG);
	cr_assert_eq(ctl(out, sizeof(out), "--token " TOKEN " launch nat --name web --instances 2 --config %s "
			 "--autoscale 1,4,0.8,0.2,30", cfg), 0, "%s", out);
	cr_assert(strstr(out, "web: created (type nat") != NULL, "%s", out);
	put_instance("web", "web-1", ORCH_INST_READY);

	cr_assert_eq(ctl(out, sizeof(out), "ls"), 0, "%s", out);
	cr_assert(strncmp(out, "NAME  TYPE  INSTANCES  STATUS\nweb   nat   1/2        degraded\n",
			  strlen(out)) == 0, "%s", out);

	cr_assert_eq(ctl(out, sizeof(out), "get web"), 0, "%s", out);
	cr_assert(strstr(out, "name:       web\n") != NULL, "%s", out);
	cr_assert(strstr(out, "autoscale:  min 1, max 4, out 0.80, in 0.20, cooldown 30s") != NULL, "%s", out);
	cr_assert(strstr(out, "ID     STATE  PID   PORTS  PPS   BUSY  HEARTBEAT-AGE\n") != NULL, "%s", out);
	cr_assert(strstr(out, "web-1  ready  4321  3/4    1500  0.25  0.") != NULL, "%s", out);

	cr_assert_eq(ctl(out, sizeof(out), "--token " TOKEN " scale web 3"), 0, "%s", out);
	cr_assert(strstr(out, "web: scaling") != NULL, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "--token " TOKEN " kill web/web-1"), 0, "%s", out);
	cr_assert(strstr(out, "web-1: draining") != NULL, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "--token " TOKEN " kill web-1"), 0, "the NAME/ form is optional: %s", out);
	cr_assert_eq(ctl(out, sizeof(out), "events"), 0, "%s", out);
	cr_assert(strstr(out, "TIME") != NULL && strstr(out, "created") != NULL && strstr(out, "draining") != NULL,
		  "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "--token " TOKEN " rm web"), 0, "%s", out);
	cr_assert_str_eq(out, "web: removed\n");
	cr_assert_eq(ctl(out, sizeof(out), "get web"), 1, "%s", out);
	cr_assert_str_eq(out, "nfvctl: name: no NF named 'web' (HTTP 404)\n");
	unlink(cfg);
}

Test(orch_cli, json_env_health_and_errors)
{
	char out[8192], cmd[512], cfg[64];
	json_t *j;
	int st;

	cr_assert_eq(ctl(out, sizeof(out), "--json ls"), 0, "%s", out);
	j = json_loads(out, 0, NULL);
	cr_assert(json_is_array(json_object_get(j, "nfs")), "%s", out);
	json_decref(j);
	cr_assert_eq(ctl(out, sizeof(out), "health"), 0, "%s", out);
	cr_assert(strstr(out, "status      ok\n") != NULL, "%s", out);
	/* The server's message, exit 1. */
	cr_assert_eq(ctl(out, sizeof(out), "launch nat --name x"), 1, "%s", out);
	cr_assert(strstr(out, "authorization: ") != NULL && strstr(out, "(HTTP 401)") != NULL, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "--token " TOKEN " launch nat --name x"), 1, "%s", out);
	cr_assert(strstr(out, "nfvctl: config.public_ips: ") != NULL, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "--token " TOKEN " scale nope 3"), 1, "%s", out);
	/* Usage errors, exit 2. */
	cr_assert_eq(ctl(out, sizeof(out), "scale web"), 2, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "frobnicate"), 2, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "%s", ""), 2, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "launch nat --autoscale 1"), 2, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "launch nat --config /nonexistent.json"), 2, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "ls --name x"), 2, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "kill noslashordash"), 2, "%s", out);
	/* Environment: NFVCTL_URL and NFVCTL_TOKEN; an unreachable server is exit 1. */
	snprintf(cfg, sizeof(cfg), "/tmp/nfvctl-env-%d.json", (int)getpid());
	write_file(cfg, NAT_CFG);
	snprintf(cmd, sizeof(cmd), "NFVCTL_URL=%s NFVCTL_TOKEN=%s %s/nfvctl launch nat --name envnf --config %s "
		 ">/dev/null 2>&1", base_url, TOKEN, getenv("BUILD") ? getenv("BUILD") : "build", cfg);
	st = system(cmd);
	unlink(cfg);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cmd);
	cr_assert_eq(ctl(out, sizeof(out), "get envnf"), 0, "%s", out);
	cr_assert_eq(ctl(out, sizeof(out), "--url http://127.0.0.1:1 ls"), 1, "%s", out);
	cr_assert(strstr(out, "nfvctl: http://127.0.0.1:1/v1/nfs: ") != NULL, "%s", out);
}
