/* The REST API's private interface: request state, the route table type and the reply helpers. */
#ifndef ORCH_API_INT_H
#define ORCH_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "orchestrator/api.h"

#define API_PARAM_MAX 128	/* longer path parameters are cut (and then fail validation) */
#define API_MSG_MAX 512

struct api {
	struct MHD_Daemon *daemon;
	struct orch *orch;
	struct api_cfg cfg;
	uint16_t port;
};

struct api_req;
typedef enum MHD_Result (*api_handler)(struct api_req *r, json_t *body);

enum { API_MUTATES = 1, API_BODY = 2 };	/* route flags: needs the token; takes a JSON body */

struct api_route {
	const char *method;
	const char *path;	/* segments "{name}" and "{id}" capture path parameters */
	api_handler handler;
	unsigned flags;
};

/* One request (libmicrohttpd's per-connection pointer), freed when it completes. */
struct api_req {
	struct api *api;
	struct MHD_Connection *conn;
	const char *method;
	const struct api_route *route;
	char name[API_PARAM_MAX];	/* {name} */
	char id[API_PARAM_MAX];		/* {id} */
	char allow[64];			/* methods of the path, for 405 */
	char *body;
	size_t body_len;
	bool too_large;
	bool replied;			/* a response was queued before the body arrived */
};

/* The routes (api_nfs.c): 'api_n_routes' entries of {method, path, handler, flags}. */
extern const struct api_route api_routes[];
extern const size_t api_n_routes;

/* Queue 'data' ('size' bytes, freed by libmicrohttpd when 'owned') with 'status', content
 * type 'ctype' and an optional extra header 'hname': 'hval'. */
enum MHD_Result api_send(struct api_req *r, unsigned status, const char *ctype, void *data,
			 size_t size, bool owned, const char *hname, const char *hval);

/* Reply with JSON 'j' (a reference the function steals) and an optional header. */
enum MHD_Result api_json(struct api_req *r, unsigned status, json_t *j, const char *hname,
			 const char *hval);

/* THE error reply: {"error": {"code", "message", "field"}}. 401 carries WWW-Authenticate,
 * 405 carries Allow (the methods of the request's path). */
enum MHD_Result api_error(struct api_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A core call's result as an error reply: -EINVAL 400, -ENOENT 404, -EEXIST 409, -EIO 503. */
enum MHD_Result api_core_error(struct api_req *r, int rc, const char *err);

/* NF 'name' was not found: 404, unless the store is down (503). */
enum MHD_Result api_missing(struct api_req *r, const char *name);

#endif
