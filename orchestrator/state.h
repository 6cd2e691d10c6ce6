/* Desired and observed orchestrator state in Redis, so that a restarted orchestrator finds everything.
 *
 * Key schema (values are JSON text unless said otherwise; <name> is an NF name):
 *   orch:nfs            set of NF names
 *   orch:nf:<name>      string: the NF spec (orch_nf_spec_to_json)
 *   orch:inst:<name>    hash: instance id -> instance (orch_instance_to_json)
 *   orch:seq:<name>     integer: INCR gives the next instance number, ids are "<name>-<n>".
 *                       Kept when the NF is deleted, so that an id is never reused (an old
 *                       instance's heartbeat key snf:inst:<id> cannot pass for a new one's).
 *   orch:slots:<name>   string: JSON array of ORCH_SLOTS instance ids, "" for an empty slot
 *   orch:events         list, newest first, trimmed to ORCH_EVENTS_MAX entries:
 *                       {"ts_ms", "nf", "kind", "instance", "detail"} ("" when none)
 *
 * Every function is synchronous (control path) and NOT thread-safe: one caller at a time
 * (the core's lock). Multi-key changes are single Lua scripts, so they are atomic. Return
 * values: 0 or a negative errno: -EIO (store unreachable or failing), -ENOENT, -EEXIST,
 * -EBADMSG (a stored record that does not parse; the reason is logged), -ENOMEM.
 */
#ifndef ORCH_STATE_H
#define ORCH_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "datastore/store.h"
#include "orchestrator/model.h"

#define ORCH_EVENTS_MAX 1000
#define ORCH_EVENT_DETAIL_MAX 256	/* longer details are cut */

enum orch_event_kind {
	ORCH_EV_LAUNCHED, ORCH_EV_READY, ORCH_EV_FAILED, ORCH_EV_REPLACED, ORCH_EV_SCALED,
	ORCH_EV_DRAINING, ORCH_EV_STOPPED, ORCH_EV_CREATED, ORCH_EV_DELETED, ORCH_EV_AUTOSCALE,
	ORCH_EV__COUNT
};

/* "launched", "ready", ..., "autoscale". */
const char *orch_event_kind_name(enum orch_event_kind k);

/* NF names, sorted; 'names' is malloc'd (orch_name_list_free). */
struct orch_name_list {
	size_t n;
	char (*names)[ORCH_NAME_MAX];
};
void orch_name_list_free(struct orch_name_list *l);

struct orch_state;

/* Open a state handle on its own store connection (copied from 'cfg'). Works while Redis
 * is down: calls fail with -EIO and reconnect with backoff. NULL on bad arguments or out
 * of memory. The caller owns the handle (orch_state_close). */
struct orch_state *orch_state_open(const struct store_cfg *cfg);
void orch_state_close(struct orch_state *s);

/* True when the store is reachable now (tries a reconnect when the backoff allows). */
bool orch_state_connected(struct orch_state *s);

/* NF specs. put_nf with 'create_only' fails with -EEXIST when the name exists (atomic);
 * without it creates or replaces. get_nf fills 'out' (the caller clears it with
 * orch_nf_spec_clear) or returns -ENOENT. del_nf removes the spec, the instances and the
 * slots (-ENOENT if there is no such NF); orch:seq:<name> stays (see above). */
int orch_state_put_nf(struct orch_state *s, const struct orch_nf_spec *spec, bool create_only);
int orch_state_get_nf(struct orch_state *s, const char *name, struct orch_nf_spec *out);
int orch_state_list_nfs(struct orch_state *s, struct orch_name_list *out);
int orch_state_del_nf(struct orch_state *s, const char *name);

/* Instances, kept per NF (inst->nf). put_instance creates or replaces, -ENOENT when the NF
 * does not exist (no orphan records after a delete). list_instances returns them sorted by
 * instance number in '*out' (malloc'd, the caller frees it; NULL when '*n' is 0). */
int orch_state_put_instance(struct orch_state *s, const struct orch_instance *inst);
int orch_state_get_instance(struct orch_state *s, const char *nf, const char *id,
			    struct orch_instance *out);
int orch_state_del_instance(struct orch_state *s, const char *nf, const char *id);
int orch_state_list_instances(struct orch_state *s, const char *nf, struct orch_instance **out,
			      size_t *n);

/* The next instance id of NF 'nf' ("<nf>-<n>", n = 1, 2, ...) into 'id'. */
int orch_state_next_instance_id(struct orch_state *s, const char *nf, char id[ORCH_ID_MAX]);

/* Record an event now (wall clock). 'instance' and 'detail' may be NULL. */
int orch_state_add_event(struct orch_state *s, const char *nf, enum orch_event_kind kind,
			 const char *instance, const char *detail);
/* The newest 'max' events (at most ORCH_EVENTS_MAX), newest first, as a new JSON array
 * in '*out' (the caller decrefs). Records that do not parse are skipped and logged. */
int orch_state_events(struct orch_state *s, unsigned max, json_t **out);

/* The steering slot table of NF 'nf': ORCH_SLOTS instance ids, "" for an empty slot.
 * get_slots returns -ENOENT when none was stored. */
int orch_state_put_slots(struct orch_state *s, const char *nf, char slots[ORCH_SLOTS][ORCH_ID_MAX]);
int orch_state_get_slots(struct orch_state *s, const char *nf, char slots[ORCH_SLOTS][ORCH_ID_MAX]);

#endif
