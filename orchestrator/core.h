/* The orchestrator core as the REST API (orchestrator/api.c) and the CLI see it.
 * Thread-safety: the API runs in libmicrohttpd's thread, the reconciler in the main loop;
 * every function here takes the core's lock, so they may be called from either. */
#ifndef ORCH_CORE_H
#define ORCH_CORE_H

#include <stddef.h>

#include <jansson.h>

#include "orchestrator/model.h"

struct orch;

/* Desired-state changes. Each persists the change in Redis first, then wakes the
 * reconciler; launches, steering updates (confirmed by an OpenFlow barrier) and stops
 * happen in the main loop. Return 0, or a negative errno with a message in 'err':
 * -EEXIST (name taken), -ENOENT (no such NF/instance), -EINVAL (bad value, field named),
 * -EIO (store unreachable). Nothing is changed when they fail. */
int orch_nf_create(struct orch *o, const struct orch_nf_spec *spec, char *err, size_t errsz);
int orch_nf_scale(struct orch *o, const char *name, unsigned instances, char *err, size_t errsz);
/* 'config' and 'autoscale' may each be NULL (unchanged). */
int orch_nf_patch(struct orch *o, const char *name, json_t *config,
		  const struct orch_autoscale *autoscale, char *err, size_t errsz);
int orch_nf_delete(struct orch *o, const char *name, char *err, size_t errsz);
/* Graceful: remove from steering, wait until its counters stop moving, then stop it.
 * The NF's desired count drops by one (the instance is not replaced). */
int orch_instance_remove(struct orch *o, const char *nf, const char *id, char *err, size_t errsz);

/* Reads. Return a new JSON reference (caller decrefs), NULL when 'name' does not exist.
 * JSON shapes (the API serves them as they are; orchestrator/openapi.json has the schemas):
 *   NF, from orch_nf_get and as the elements of orch_nf_list:
 *     {"spec": orch_nf_spec_to_json(),
 *      "status": {"state": "running" | "starting" | "degraded" | "down",
 *                 "ready": <ready instances>, "desired": <spec.instances>},
 *      "instances": [orch_instance_to_json() plus "heartbeat_age_ms": <ms> or null, ...]}
 *   event: {"ts_ms", "nf", "kind", "instance", "detail"} as in orchestrator/state.h
 *   health: {"status": "ok" | "degraded", "store": "up" | "down", "openflow": ..., ...}
 *     (the API tells "no such NF" from "store down" by health's "store"). */
json_t *orch_nf_list(struct orch *o);		/* array of NF objects as orch_nf_get */
json_t *orch_nf_get(struct orch *o, const char *name);	/* spec + status + instances */
json_t *orch_events_get(struct orch *o, unsigned max);	/* newest first */
json_t *orch_health(struct orch *o);		/* {status, store, openflow, ...} */

/* Prometheus text exposition of the orchestrator's metrics; caller frees. */
char *orch_metrics_text(struct orch *o);

#endif
