/* The read side of core.h: NF list and details, events and health as JSON. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "orchestrator/orch_int.h"

/* ---- reads ---- */

static const char *nf_status(unsigned ready, unsigned launching, unsigned desired)
{
	if (ready >= desired)
		return "running";
	if (ready > 0)
		return "degraded";
	return launching > 0 ? "starting" : "down";
}

static json_t *inst_json(const struct orch_inst *in, uint64_t now_wall)
{
	json_t *j = orch_instance_to_json(&in->rec);

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "heartbeat_age_ms", in->rec.last_heartbeat_ms > 0 ?
			    json_integer(now_wall > in->rec.last_heartbeat_ms ?
					 (json_int_t)(now_wall - in->rec.last_heartbeat_ms) : 0) :
			    json_null());
	return j;
}

/* The NF object of core.h, with the lock held. */
static json_t *nf_json(const struct orch_nf *nf)
{
	unsigned ready = 0, launching = 0;
	uint64_t now = orch_wall_ms();
	json_t *arr = json_array();

	for (unsigned i = 0; arr != NULL && i < ORCH_NF_ENTRIES; i++) {
		const struct orch_inst *in = &nf->insts[i];

		if (!in->in_use)
			continue;
		json_array_append_new(arr, inst_json(in, now));
		ready += in->rec.state == ORCH_INST_READY;
		launching += in->rec.state == ORCH_INST_LAUNCHING;
	}
	return json_pack("{s:o, s:{s:s, s:I, s:I}, s:o}", "spec", orch_nf_spec_to_json(&nf->spec),
			 "status", "state", nf_status(ready, launching, nf->spec.instances),
			 "ready", (json_int_t)ready, "desired", (json_int_t)nf->spec.instances,
			 "instances", arr);
}

json_t *orch_nf_get(struct orch *o, const char *name)
{
	struct orch_nf *nf;
	json_t *j = NULL;

	pthread_mutex_lock(&o->lock);
	nf = orch_nf_live(o, name);
	if (nf != NULL)
		j = nf_json(nf);
	pthread_mutex_unlock(&o->lock);
	return j;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(json_object_get(*(json_t *const *)a, "spec"),
							"name")),
		      json_string_value(json_object_get(json_object_get(*(json_t *const *)b, "spec"),
							"name")));
}

json_t *orch_nf_list(struct orch *o)
{
	json_t *items[64], *arr = json_array();
	size_t n = 0;

	pthread_mutex_lock(&o->lock);
	for (struct orch_nf *nf = o->nfs; nf != NULL && n < 64; nf = nf->next)
		if (!nf->deleting)
			items[n++] = nf_json(nf);
	pthread_mutex_unlock(&o->lock);
	qsort(items, n, sizeof(items[0]), name_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	return arr;
}

json_t *orch_events_get(struct orch *o, unsigned max)
{
	json_t *ev = NULL;

	pthread_mutex_lock(&o->lock);
	if (orch_state_events(o->st_api, max, &ev) != 0)
		ev = NULL;
	pthread_mutex_unlock(&o->lock);
	return ev;
}

/* Instances per state over every NF, with the lock held. */
static json_t *health_instances(struct orch *o)
{
	unsigned n[ORCH_INST__COUNT] = { 0 };
	json_t *j = json_object();

	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
			if (nf->insts[i].in_use && !nf->deleting)
				n[nf->insts[i].rec.state]++;
	for (int s = 0; s < ORCH_INST__COUNT; s++)
		json_object_set_new(j, orch_inst_state_name(s), json_integer(n[s]));
	return j;
}

json_t *orch_health(struct orch *o)
{
	unsigned n_nfs = 0;
	json_t *h;
	bool up;

	pthread_mutex_lock(&o->lock);
	/* The API's own connection, and the main loop's (an idle API connection does not
	 * notice a store that stopped answering; the heartbeat polls do). */
	up = orch_state_connected(o->st_api) && o->store_up;
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		n_nfs += !nf->deleting;
	h = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:f, s:b}",
		      "status", up && o->of_ready ? "ok" : "degraded",
		      "store", up ? "up" : "down",
		      "openflow", o->of_ready ? "connected" : "disconnected",
		      "bridge", o->cfg.launcher.bridge,
		      "nfs", (json_int_t)n_nfs,
		      "instances", health_instances(o),
		      "uptime_s", (json_int_t)((orch_wall_ms() - o->started_ms) / 1000),
		      "openflow_connects", (json_int_t)o->m.of_connects,
		      "last_detect_to_reroute_ms", o->m.last_rr_ms,
		      "restored", o->restored);
	pthread_mutex_unlock(&o->lock);
	return h;
}
