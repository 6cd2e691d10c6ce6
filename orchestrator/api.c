/* REST API: server start/stop, request plumbing, body collection, auth, the error helper and route dispatch. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "nf/log.h"
#include "orchestrator/api.h"
#include "orchestrator/api_int.h"
#include "orchestrator/model.h"

#define LOG_MOD "api"
#define API_CONN_LIMIT 128
#define API_CONN_TIMEOUT_S 30

/* ---- Replies ---- */

/* Queue 'data' ('size' bytes, freed by libmicrohttpd when 'owned') with 'status', content
 * type 'ctype' and an optional extra header 'hname': 'hval'. */
enum MHD_Result api_send(struct api_req *r, unsigned status, const char *ctype, void *data,
			 size_t size, bool owned, const char *hname, const char *hval)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(size, data,
					       owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		if (owned)
			free(data);
		return MHD_NO;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (hname != NULL)
		MHD_add_response_header(resp, hname, hval);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->replied = true;
	return ret;
}

/* Reply with JSON 'j' (a reference the function steals) and an optional header. */
enum MHD_Result api_json(struct api_req *r, unsigned status, json_t *j, const char *hname,
			 const char *hval)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	size_t len;

	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	len = strlen(text);
	text[len] = '\n';	/* the NUL becomes a newline: the size is passed, not a string */
	return api_send(r, status, "application/json", text, len + 1, true, hname, hval);
}

/* The field a message names: what precedes its first ": " when that has no space. */
static json_t *api_msg_field(const char *msg)
{
	const char *colon = strstr(msg, ": ");

	if (colon == NULL || colon == msg || memchr(msg, ' ', (size_t)(colon - msg)) != NULL)
		return NULL;
	return json_stringn(msg, (size_t)(colon - msg));
}

/* THE error reply: {"error": {"code", "message", "field"}}. 401 carries WWW-Authenticate,
 * 405 carries Allow (the methods of the request's path). */
enum MHD_Result api_error(struct api_req *r, unsigned status, const char *fmt, ...)
{
	char msg[API_MSG_MAX];
	json_t *err, *field;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status >= 500)
		NF_LOG(WARN, LOG_MOD, "%s %s: %u %s", r->method, r->route ? r->route->path : "-", status, msg);
	err = json_pack("{s:I, s:s}", "code", (json_int_t)status, "message", msg);
	field = api_msg_field(msg);
	if (err != NULL && field != NULL)
		json_object_set_new(err, "field", field);
	else
		json_decref(field);
	if (status == MHD_HTTP_UNAUTHORIZED)
		return api_json(r, status, json_pack("{s:o}", "error", err), "WWW-Authenticate",
				"Bearer realm=\"nfv-orchestrator\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		return api_json(r, status, json_pack("{s:o}", "error", err), "Allow", r->allow);
	return api_json(r, status, json_pack("{s:o}", "error", err), NULL, NULL);
}

/* A core call's result as an error reply: -EINVAL 400, -ENOENT 404, -EEXIST 409, -EIO 503. */
enum MHD_Result api_core_error(struct api_req *r, int rc, const char *err)
{
	switch (rc) {
	case -EINVAL:
		return api_error(r, MHD_HTTP_BAD_REQUEST, "%s", err);
	case -ENOENT:
		return api_error(r, MHD_HTTP_NOT_FOUND, "%s", err);
	case -EEXIST:
		return api_error(r, MHD_HTTP_CONFLICT, "%s", err);
	case -EIO:
		return api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err[0] ? err : "store: unreachable");
	}
	return api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err[0] ? err : strerror(-rc));
}

/* NF 'name' was not found: 404, unless the store is down (503). */
enum MHD_Result api_missing(struct api_req *r, const char *name)
{
	json_t *h = orch_health(r->api->orch);
	const char *store = json_string_value(json_object_get(h, "store"));
	bool up = store != NULL && strcmp(store, "up") == 0;

	json_decref(h);
	if (!up)
		return api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "store: unreachable");
	return api_error(r, MHD_HTTP_NOT_FOUND, "name: no NF named '%s'", name);
}

/* ---- Routing ---- */

/* Match 'url' against 'pattern', capturing {name} and {id} into 'r'. */
static bool route_match(const char *pattern, const char *url, struct api_req *r)
{
	while (*pattern != 0 && *url != 0) {
		size_t plen = strcspn(pattern, "/"), ulen = strcspn(url, "/");

		if (pattern[0] == '{') {
			char *dst = strncmp(pattern, "{id}", 4) == 0 ? r->id : r->name;

			if (ulen == 0)
				return false;
			snprintf(dst, API_PARAM_MAX, "%.*s", (int)ulen, url);
		} else if (plen != ulen || strncmp(pattern, url, plen) != 0) {
			return false;
		}
		pattern += plen;
		url += ulen;
		if (*pattern == '/' && *url == '/') {
			pattern++;
			url++;
		} else if (*pattern != *url) {
			return false;
		}
	}
	return *pattern == 0 && *url == 0;
}

/* True when a route of 'route_method' serves 'method' (HEAD is served as GET). */
static bool route_method_ok(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Find the route of 'method' and 'url'; list the methods the path allows in r->allow. */
static const struct api_route *route_find(struct api_req *r, const char *method, const char *url)
{
	const struct api_route *found = NULL;

	r->allow[0] = 0;
	for (size_t i = 0; i < api_n_routes; i++) {
		if (!route_match(api_routes[i].path, url, r))
			continue;
		snprintf(r->allow + strlen(r->allow), sizeof(r->allow) - strlen(r->allow), "%s%s",
			 r->allow[0] ? ", " : "", api_routes[i].method);
		if (found == NULL && route_method_ok(api_routes[i].method, method))
			found = &api_routes[i];
	}
	if (found != NULL)	/* the captures of the route that matched, not of a later one */
		route_match(found->path, url, r);
	return found;
}

/* ---- Request life cycle ---- */

static bool api_token_ok(struct api_req *r)
{
	const char *want = r->api->cfg.token;
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t n = strlen(want);
	unsigned char diff = 0;

	if (want[0] == 0)
		return true;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	if (strlen(h) != n)
		return false;
	for (size_t i = 0; i < n; i++)	/* constant time in the token's length */
		diff |= (unsigned char)(h[i] ^ want[i]);
	return diff == 0;
}

static bool api_json_ctype(struct api_req *r)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	return ct != NULL && strncasecmp(ct, want, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* A declared body larger than the limit (chunked bodies are counted as they arrive). */
static bool api_declared_too_large(struct api_req *r)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return cl != NULL && strtoull(cl, NULL, 10) > r->api->cfg.body_max;
}

/* First call, headers only: route, token, content type and declared size are checked now,
 * so a bad request is answered before its body is read. */
static enum MHD_Result api_begin(struct api_req *r, const char *url)
{
	r->route = route_find(r, r->method, url);
	if (r->route == NULL && r->allow[0] != 0)
		return api_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method: %s is not allowed on %.200s (allowed: %s)",
				 r->method, url, r->allow);
	if (r->route == NULL)
		return api_error(r, MHD_HTTP_NOT_FOUND, "no such resource: %.200s", url);
	if ((r->route->flags & API_MUTATES) && !api_token_ok(r))
		return api_error(r, MHD_HTTP_UNAUTHORIZED,
				 "authorization: a valid bearer token is required for %s", r->method);
	if (api_declared_too_large(r))
		return api_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "body: larger than %zu bytes",
				 r->api->cfg.body_max);
	if ((r->route->flags & API_BODY) && !api_json_ctype(r))
		return api_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "content-type: must be application/json");
	return MHD_YES;
}

/* Append a piece of the body; past the limit it is discarded and 413 answered at the end. */
static void api_body_append(struct api_req *r, const char *data, size_t size)
{
	char *grown;

	if (r->too_large || r->body_len + size > r->api->cfg.body_max) {
		r->too_large = true;
		return;
	}
	grown = realloc(r->body, r->body_len + size + 1);
	if (grown == NULL) {
		r->too_large = true;
		return;
	}
	memcpy(grown + r->body_len, data, size);
	r->body = grown;
	r->body_len += size;
	r->body[r->body_len] = 0;
}

/* The whole request is in: parse the body if the route takes one, then call the handler. */
static enum MHD_Result api_dispatch(struct api_req *r)
{
	json_error_t jerr;
	enum MHD_Result ret;
	json_t *body = NULL;

	if (r->too_large)
		return api_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "body: larger than %zu bytes",
				 r->api->cfg.body_max);
	if (r->route->flags & API_BODY) {
		if (r->body_len == 0)
			return api_error(r, MHD_HTTP_BAD_REQUEST, "body: a JSON object is required");
		body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (body == NULL)
			return api_error(r, MHD_HTTP_BAD_REQUEST, "body: invalid JSON at line %d column %d: %s",
					 jerr.line, jerr.column, jerr.text);
		if (!json_is_object(body)) {
			json_decref(body);
			return api_error(r, MHD_HTTP_BAD_REQUEST, "body: must be a JSON object");
		}
	}
	ret = r->route->handler(r, body);
	json_decref(body);
	return ret;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api_req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->api = cls;
		r->conn = conn;
		r->method = method;
		*con_cls = r;
		return api_begin(r, url);
	}
	if (*upload_data_size > 0) {
		if (!r->replied)
			api_body_append(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return r->replied ? MHD_YES : api_dispatch(r);
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r != NULL) {
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

static void api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	NF_LOG(WARN, LOG_MOD, "libmicrohttpd: %s", line);
}

/* ---- Server ---- */

void api_cfg_default(struct api_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->addr, sizeof(cfg->addr), "%s", API_DEFAULT_ADDR);
	cfg->port = API_DEFAULT_PORT;
	cfg->body_max = API_DEFAULT_BODY_MAX;
}

/* 'cfg->addr' and 'cfg->port' as a socket address; 'flags' gets MHD_USE_IPv6 for IPv6. */
static int api_sockaddr(const struct api_cfg *cfg, struct sockaddr_storage *ss, unsigned *flags,
			char *err, size_t errsz)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, cfg->addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(cfg->port);
		return 0;
	}
	if (inet_pton(AF_INET6, cfg->addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(cfg->port);
		*flags |= MHD_USE_IPv6;
		return 0;
	}
	snprintf(err, errsz, "listen address: '%s' is not an IPv4 or IPv6 address", cfg->addr);
	return -EINVAL;
}

struct api *api_start(struct orch *o, const struct api_cfg *cfg, char *err, size_t errsz)
{
	/* A thread per connection: a core call that waits (e.g. for an OpenFlow barrier)
	 * holds up only its own client, never /v1/health or /metrics. */
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct api *a;

	if (api_sockaddr(cfg, &ss, &flags, err, errsz) != 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errsz, "api: out of memory");
		return NULL;
	}
	a->orch = o;
	a->cfg = *cfg;
	if (a->cfg.body_max == 0)
		a->cfg.body_max = API_DEFAULT_BODY_MAX;
	a->daemon = MHD_start_daemon(flags, cfg->port, NULL, NULL, api_access, a,
				     MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_NOTIFY_COMPLETED, api_completed, a,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT_S,
				     MHD_OPTION_END);
	if (a->daemon == NULL) {
		snprintf(err, errsz, "api: cannot listen on %s port %u", cfg->addr, cfg->port);
		free(a);
		return NULL;
	}
	info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
	a->port = info ? info->port : cfg->port;
	NF_LOG(INFO, LOG_MOD, "listening on %s port %u%s", cfg->addr, a->port,
	       cfg->token[0] ? " (bearer token required for changes)" : "");
	return a;
}

uint16_t api_port(const struct api *a)
{
	return a->port;
}

void api_stop(struct api *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->daemon);
	free(a);
}