/* The orchestrator's REST API: a libmicrohttpd server (its own threads) that calls only core.h.
 *
 * Routes (orchestrator/openapi.json documents them, and is served at /v1/openapi.json):
 *   POST /v1/nfs, GET /v1/nfs, GET|PATCH|DELETE /v1/nfs/{name}, POST /v1/nfs/{name}/scale,
 *   DELETE /v1/nfs/{name}/instances/{id}, GET /v1/events, GET /v1/health, GET /metrics.
 * Every error is {"error": {"code", "message", "field"?}}; a request is validated completely
 * before the core is called, so a rejected request changes nothing. */
#ifndef ORCH_API_H
#define ORCH_API_H

#include <stddef.h>
#include <stdint.h>

#include "orchestrator/core.h"

#define API_DEFAULT_ADDR "127.0.0.1"
#define API_DEFAULT_PORT 8181
#define API_DEFAULT_BODY_MAX (64 * 1024)

struct api_cfg {
	char addr[64];		/* numeric IPv4 or IPv6 listen address (default loopback) */
	uint16_t port;		/* default 8181; 0 picks a free port (see api_port) */
	char token[256];	/* bearer token required by POST, PATCH and DELETE; "" = none */
	size_t body_max;	/* larger request bodies get 413 (default 64 KiB) */
};

/* Fill 'cfg' with the defaults above. */
void api_cfg_default(struct api_cfg *cfg);

struct api;

/* Start serving 'o' (which must outlive the server) in libmicrohttpd's threads, one per
 * connection (so the core's functions must be thread-safe, as core.h says). Returns
 * NULL with a reason in 'err' on a bad address or when the port cannot be bound. The caller
 * owns the server and stops it with api_stop(). */
struct api *api_start(struct orch *o, const struct api_cfg *cfg, char *err, size_t errsz);

/* The TCP port the server listens on (useful with cfg.port = 0). */
uint16_t api_port(const struct api *a);

/* Stop serving (waits for the request in progress) and free 'a'. NULL is a no-op. */
void api_stop(struct api *a);

#endif
