/* The desired-state API of core.h: create, scale, patch and delete NFs, remove instances. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nf/log.h"
#include "orchestrator/orch_int.h"

/* A state.c result as core.h's error convention. */
static int core_store_fail(int rc, const char *name, char *err, size_t errsz)
{
	if (rc == -EEXIST)
		return orch_core_fail(rc, err, errsz, "name: an NF named '%s' exists", name);
	if (rc == -ENOENT)
		return orch_core_fail(rc, err, errsz, "name: no NF named '%s'", name);
	if (rc == -EIO)
		return orch_core_fail(rc, err, errsz, "store: unreachable");
	return orch_core_fail(rc, err, errsz, "store: %s", strerror(-rc));
}

/* ---- desired-state changes ---- */

static bool uplink_used(const struct orch_nf_spec *s, const char *port)
{
	return strcmp(s->uplink_in, port) == 0 || strcmp(s->uplink_out, port) == 0;
}

/* Another NF on one of the uplinks 's' names (one NF per uplink), else 0; 's' gets the
 * default uplinks when it names none. */
static int uplinks_check(struct orch *o, struct orch_nf_spec *s, char *err, size_t errsz)
{
	if (s->uplink_in[0] == '\0') {
		snprintf(s->uplink_in, sizeof(s->uplink_in), "%s", o->cfg.uplink_in);
		snprintf(s->uplink_out, sizeof(s->uplink_out), "%s", o->cfg.uplink_out);
	}
	if (s->uplink_in[0] == '\0')
		return 0;	/* orch_nf_new() says what is missing */
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		const char *port = uplink_used(&nf->spec, s->uplink_in) ? s->uplink_in :
				   uplink_used(&nf->spec, s->uplink_out) ? s->uplink_out : NULL;

		if (port != NULL && !nf->deleting)
			return orch_core_fail(-EEXIST, err, errsz, "uplinks: %s carries NF '%s' already "
					      "(one NF per uplink; give this one its own uplinks)",
					      port, nf->spec.name);
	}
	return 0;
}

static int create_locked(struct orch *o, const struct orch_nf_spec *spec, char *err, size_t errsz)
{
	struct orch_nf_spec s = *spec;
	struct orch_nf *nf;
	int rc;

	if (orch_nf_find(o, spec->name) != NULL)
		return orch_core_fail(-EEXIST, err, errsz, "name: an NF named '%s' exists%s", spec->name,
				 orch_nf_live(o, spec->name) ? "" : " (being deleted)");
	rc = uplinks_check(o, &s, err, errsz);
	if (rc < 0)
		return rc;
	s.created_ms = orch_wall_ms();
	nf = orch_nf_new(o, &s, err, errsz);
	if (nf == NULL)
		return -EINVAL;
	rc = orch_state_put_nf(o->st_api, &nf->spec, true);
	if (rc < 0) {
		orch_nf_free(nf);
		return core_store_fail(rc, spec->name, err, errsz);
	}
	nf->scale_req_us = orch_mono_ms() * 1000;
	nf->push_due = true;	/* the spec's rule set / pool, not one an earlier NF left */
	nf->next = o->nfs;
	o->nfs = nf;
	orch_state_add_event(o->st_api, s.name, ORCH_EV_CREATED, NULL, orch_nf_type_name(s.type));
	return 0;
}

int orch_nf_create(struct orch *o, const struct orch_nf_spec *spec, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = create_locked(o, spec, err, errsz);
	pthread_mutex_unlock(&o->lock);
	if (rc == 0) {
		NF_LOG(INFO, ORCH_LOG, "NF '%s' created (%s, %u instances)", spec->name,
		       orch_nf_type_name(spec->type), spec->instances);
		orch_wake(o);
	}
	return rc;
}

/* Store 'next' (a changed copy of nf->spec that the function takes over) and make it the
 * NF's spec. */
static int spec_replace(struct orch *o, struct orch_nf *nf, struct orch_nf_spec *next, char *err,
			size_t errsz)
{
	int rc = orch_state_put_nf(o->st_api, next, false);

	if (rc < 0) {
		orch_nf_spec_clear(next);
		return core_store_fail(rc, nf->spec.name, err, errsz);
	}
	orch_nf_spec_clear(&nf->spec);
	nf->spec = *next;
	return 0;
}

static int scale_locked(struct orch *o, const char *name, unsigned n, char *err, size_t errsz)
{
	struct orch_nf *nf = orch_nf_live(o, name);
	const struct orch_autoscale *as;
	struct orch_nf_spec next;
	unsigned before;
	int rc;

	if (nf == NULL)
		return orch_core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
	as = &nf->spec.autoscale;
	if (as->enabled && (n < as->min || n > as->max))
		return orch_core_fail(-EINVAL, err, errsz, "instances: must be within autoscale.min-"
				 "autoscale.max (%u-%u)", as->min, as->max);
	if (orch_spec_copy(&next, &nf->spec) < 0)
		return orch_core_fail(-ENOMEM, err, errsz, "out of memory");
	before = nf->spec.instances;
	next.instances = n;
	rc = spec_replace(o, nf, &next, err, errsz);
	if (rc < 0)
		return rc;
	if (n != before) {
		char detail[64];

		nf->scale_req_us = orch_mono_ms() * 1000;
		o->m.scale_api++;
		snprintf(detail, sizeof(detail), "%u -> %u (api)", before, n);
		orch_state_add_event(o->st_api, name, ORCH_EV_SCALED, NULL, detail);
	}
	return 0;
}

int orch_nf_scale(struct orch *o, const char *name, unsigned instances, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = scale_locked(o, name, instances, err, errsz);
	pthread_mutex_unlock(&o->lock);
	if (rc == 0) {
		NF_LOG(INFO, ORCH_LOG, "NF '%s': desired instances %u", name, instances);
		orch_wake(o);
	}
	return rc;
}

static int patch_locked(struct orch *o, const char *name, json_t *config,
			const struct orch_autoscale *as, char *err, size_t errsz)
{
	struct orch_nf *nf = orch_nf_live(o, name);
	struct orch_nf_spec next;
	int rc;

	if (nf == NULL)
		return orch_core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
	if (orch_spec_copy(&next, &nf->spec) < 0)
		return orch_core_fail(-ENOMEM, err, errsz, "out of memory");
	if (config != NULL) {
		json_decref(next.config);
		next.config = json_deep_copy(config);
		next.config_gen++;	/* the instances are replaced one by one (orch_reconcile.c) */
	}
	if (as != NULL)
		next.autoscale = *as;
	rc = spec_replace(o, nf, &next, err, errsz);
	if (rc < 0)
		return rc;
	if (config != NULL) {
		orch_nf_steer_desc(o, nf);
		nf->steer_dirty = true;
		nf->push_due = nf->push_announce = nf->spec.type != ORCH_NF_NAT;
		orch_state_add_event(o->st_api, name, ORCH_EV_SCALED, NULL, nf->spec.type ==
				     ORCH_NF_NAT ? "config replaced: the instances are replaced one "
				     "by one" : "config replaced: the rules or pool go to the running "
				     "instances now, and the instances are replaced one by one");
	}
	if (as != NULL) {
		char detail[128];

		nf->n_hist = 0;
		if (as->enabled)
			snprintf(detail, sizeof(detail), "policy: %u-%u instances, out > %.2f, in < %.2f, "
				 "window %u s, cooldown %u s", as->min, as->max, as->scale_out_load,
				 as->scale_in_load, as->window_s, as->cooldown_s);
		else
			snprintf(detail, sizeof(detail), "policy: disabled");
		orch_state_add_event(o->st_api, name, ORCH_EV_AUTOSCALE, NULL, detail);
	}
	return 0;
}

int orch_nf_patch(struct orch *o, const char *name, json_t *config,
		  const struct orch_autoscale *autoscale, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = patch_locked(o, name, config, autoscale, err, errsz);
	pthread_mutex_unlock(&o->lock);
	if (rc == 0)
		orch_wake(o);
	return rc;
}

static int delete_locked(struct orch *o, const char *name, char *err, size_t errsz)
{
	struct orch_nf *nf = orch_nf_live(o, name);
	int rc;

	if (nf == NULL)
		return orch_core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
	rc = orch_state_del_nf(o->st_api, name);
	if (rc < 0 && rc != -ENOENT)
		return core_store_fail(rc, name, err, errsz);
	nf->deleting = true;
	orch_state_add_event(o->st_api, name, ORCH_EV_DELETED, NULL, NULL);
	return 0;
}

int orch_nf_delete(struct orch *o, const char *name, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = delete_locked(o, name, err, errsz);
	pthread_mutex_unlock(&o->lock);
	if (rc == 0) {
		NF_LOG(INFO, ORCH_LOG, "NF '%s' deleted: stopping its instances", name);
		orch_wake(o);
	}
	return rc;
}

static int remove_locked(struct orch *o, const char *name, const char *id, char *err,
			 size_t errsz)
{
	struct orch_nf *nf = orch_nf_live(o, name);
	struct orch_inst *in = nf != NULL ? orch_inst_find(nf, id) : NULL;
	struct orch_nf_spec next;

	if (nf == NULL)
		return orch_core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
	if (in == NULL || (in->rec.state != ORCH_INST_LAUNCHING && in->rec.state != ORCH_INST_READY &&
			   in->rec.state != ORCH_INST_DRAINING))
		return orch_core_fail(-ENOENT, err, errsz, "id: no instance '%s' in NF '%s'", id, name);
	if (in->drain_requested || in->rec.state == ORCH_INST_DRAINING)
		return 0;
	if (orch_spec_copy(&next, &nf->spec) < 0)
		return orch_core_fail(-ENOMEM, err, errsz, "out of memory");
	if (next.instances > 0)
		next.instances--;
	if (spec_replace(o, nf, &next, err, errsz) < 0)
		return -EIO;
	in->drain_requested = true;
	return 0;
}

int orch_instance_remove(struct orch *o, const char *nf, const char *id, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = remove_locked(o, nf, id, err, errsz);
	pthread_mutex_unlock(&o->lock);
	if (rc == 0) {
		NF_LOG(INFO, ORCH_LOG, "NF '%s': instance %s to drain", nf, id);
		orch_wake(o);
	}
	return rc;
}
