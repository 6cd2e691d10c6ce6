/* The orchestrator core as the REST API sees it (core.h): desired-state changes and reads. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "nf/log.h"
#include "orchestrator/orch_int.h"

/* ---- helpers shared by orch_*.c ---- */

uint64_t orch_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t orch_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void orch_wake(struct orch *o)
{
	uint64_t one = 1;

	if (write(o->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the loop wakes anyway. */
	}
}

struct orch_nf *orch_nf_find(struct orch *o, const char *name)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		if (strcmp(nf->spec.name, name) == 0)
			return nf;
	return NULL;
}

/* The NF 'name' unless it is being deleted. */
static struct orch_nf *nf_live(struct orch *o, const char *name)
{
	struct orch_nf *nf = orch_nf_find(o, name);

	return nf != NULL && !nf->deleting ? nf : NULL;
}

struct orch_inst *orch_inst_find(struct orch_nf *nf, const char *id)
{
	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
		if (nf->insts[i].in_use && strcmp(nf->insts[i].rec.id, id) == 0)
			return &nf->insts[i];
	return NULL;
}

int orch_spec_copy(struct orch_nf_spec *dst, const struct orch_nf_spec *src)
{
	*dst = *src;
	dst->config = src->config != NULL ? json_deep_copy(src->config) : json_object();
	return dst->config != NULL ? 0 : -ENOMEM;
}

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* Add address 'ip' (text) to the NF's owned addresses once. */
static void steer_own(struct steer_nf *s, const char *ip)
{
	struct in_addr a;

	if (ip == NULL || inet_pton(AF_INET, ip, &a) != 1)
		return;
	for (unsigned i = 0; i < s->n_owned; i++)
		if (s->owned_ips[i] == a.s_addr)
			return;
	if (s->n_owned < sizeof(s->owned_ips) / sizeof(s->owned_ips[0]))
		s->owned_ips[s->n_owned++] = a.s_addr;
}

/* The addresses whose return traffic belongs to the NF: a NAT's public addresses, an LB's
 * VIPs; a firewall owns none (it sees all IPv4 from the outside). */
static void steer_owned(struct steer_nf *s, const struct orch_nf_spec *spec)
{
	json_t *v;
	size_t i;

	s->n_owned = 0;
	if (spec->type == ORCH_NF_NAT) {
		json_array_foreach(json_object_get(spec->config, "public_ips"), i, v)
			steer_own(s, json_string_value(v));
	} else if (spec->type == ORCH_NF_LB) {
		json_array_foreach(json_object_get(spec->config, "services"), i, v)
			steer_own(s, json_string_value(json_object_get(v, "vip")));
	}
}

/* A group id pair no other NF uses, derived from the name (stable across restarts). */
static uint32_t group_base_pick(struct orch *o, const struct orch_nf *self)
{
	uint32_t base = 0x100 + 2 * (uint32_t)(fnv1a64(self->spec.name) % 0x3fff00);

	for (;;) {
		const struct orch_nf *nf;

		for (nf = o->nfs; nf != NULL; nf = nf->next)
			if (nf != self && nf->steer.group_base == base)
				break;
		if (nf == NULL)
			return base;
		base += 2;
	}
}

void orch_nf_steer_desc(struct orch *o, struct orch_nf *nf)
{
	struct steer_nf *s = &nf->steer;

	snprintf(s->name, sizeof(s->name), "%s", nf->spec.name);
	s->cookie = fnv1a64(nf->spec.name) | 1;
	if (s->group_base == 0)
		s->group_base = group_base_pick(o, nf);
	s->uplink_in = o->uplink_in_port;
	s->uplink_out = o->uplink_out_port;
	steer_owned(s, &nf->spec);
}

struct orch_nf *orch_nf_new(struct orch *o, const struct orch_nf_spec *spec)
{
	struct orch_nf *nf = calloc(1, sizeof(*nf));

	if (nf == NULL)
		return NULL;
	if (orch_spec_copy(&nf->spec, spec) < 0) {
		free(nf);
		return NULL;
	}
	orch_nf_steer_desc(o, nf);
	nf->launch_backoff_ms = 500;
	return nf;
}

void orch_nf_free(struct orch_nf *nf)
{
	if (nf == NULL)
		return;
	orch_nf_spec_clear(&nf->spec);
	free(nf->hist);
	free(nf);
}

/* ---- error messages ---- */

static int core_fail(int rc, char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int core_fail(int rc, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* A state.c result as core.h's error convention. */
static int core_store_fail(int rc, const char *name, char *err, size_t errsz)
{
	if (rc == -EEXIST)
		return core_fail(rc, err, errsz, "name: an NF named '%s' exists", name);
	if (rc == -ENOENT)
		return core_fail(rc, err, errsz, "name: no NF named '%s'", name);
	if (rc == -EIO)
		return core_fail(rc, err, errsz, "store: unreachable");
	return core_fail(rc, err, errsz, "store: %s", strerror(-rc));
}

/* ---- desired-state changes ---- */

/* Another NF that already uses the bridge's uplinks (one NF per uplink pair). */
static struct orch_nf *uplinks_taken(struct orch *o)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		if (!nf->deleting)
			return nf;
	return NULL;
}

static int create_locked(struct orch *o, const struct orch_nf_spec *spec, char *err, size_t errsz)
{
	struct orch_nf_spec s = *spec;
	struct orch_nf *nf, *other;
	int rc;

	if (orch_nf_find(o, spec->name) != NULL)
		return core_fail(-EEXIST, err, errsz, "name: an NF named '%s' exists%s", spec->name,
				 nf_live(o, spec->name) ? "" : " (being deleted)");
	other = uplinks_taken(o);
	if (other != NULL)
		return core_fail(-EEXIST, err, errsz, "name: the bridge's uplinks (%s, %s) carry NF '%s' "
				 "already (one NF per uplink pair)", o->cfg.uplink_in,
				 o->cfg.uplink_out, other->spec.name);
	s.created_ms = orch_wall_ms();
	nf = orch_nf_new(o, &s);
	if (nf == NULL)
		return core_fail(-ENOMEM, err, errsz, "out of memory");
	rc = orch_state_put_nf(o->st_api, &nf->spec, true);
	if (rc < 0) {
		orch_nf_free(nf);
		return core_store_fail(rc, spec->name, err, errsz);
	}
	nf->scale_req_us = orch_mono_ms() * 1000;
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
	struct orch_nf *nf = nf_live(o, name);
	const struct orch_autoscale *as;
	struct orch_nf_spec next;
	unsigned before;
	int rc;

	if (nf == NULL)
		return core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
	as = &nf->spec.autoscale;
	if (as->enabled && (n < as->min || n > as->max))
		return core_fail(-EINVAL, err, errsz, "instances: must be within autoscale.min-"
				 "autoscale.max (%u-%u)", as->min, as->max);
	if (orch_spec_copy(&next, &nf->spec) < 0)
		return core_fail(-ENOMEM, err, errsz, "out of memory");
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
	struct orch_nf *nf = nf_live(o, name);
	struct orch_nf_spec next;
	int rc;

	if (nf == NULL)
		return core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
	if (orch_spec_copy(&next, &nf->spec) < 0)
		return core_fail(-ENOMEM, err, errsz, "out of memory");
	if (config != NULL) {
		json_decref(next.config);
		next.config = json_deep_copy(config);
	}
	if (as != NULL)
		next.autoscale = *as;
	rc = spec_replace(o, nf, &next, err, errsz);
	if (rc < 0)
		return rc;
	if (config != NULL) {
		orch_nf_steer_desc(o, nf);
		nf->steer_dirty = true;
		orch_state_add_event(o->st_api, name, ORCH_EV_SCALED, NULL,
				     "config replaced: applies to instances launched from now on");
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
	struct orch_nf *nf = nf_live(o, name);
	int rc;

	if (nf == NULL)
		return core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
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
	struct orch_nf *nf = nf_live(o, name);
	struct orch_inst *in = nf != NULL ? orch_inst_find(nf, id) : NULL;
	struct orch_nf_spec next;

	if (nf == NULL)
		return core_fail(-ENOENT, err, errsz, "name: no NF named '%s'", name);
	if (in == NULL || (in->rec.state != ORCH_INST_LAUNCHING && in->rec.state != ORCH_INST_READY &&
			   in->rec.state != ORCH_INST_DRAINING))
		return core_fail(-ENOENT, err, errsz, "id: no instance '%s' in NF '%s'", id, name);
	if (in->drain_requested || in->rec.state == ORCH_INST_DRAINING)
		return 0;
	if (orch_spec_copy(&next, &nf->spec) < 0)
		return core_fail(-ENOMEM, err, errsz, "out of memory");
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
	nf = nf_live(o, name);
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
	up = orch_state_connected(o->st_api);
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

/* ---- construction ---- */

void orch_cfg_default(struct orch_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	store_cfg_default(&cfg->store);
	launcher_cfg_default(&cfg->launcher);
	snprintf(cfg->of_addr, sizeof(cfg->of_addr), "127.0.0.1");
	cfg->of_port = 6653;
	cfg->heartbeat_ms = 100;
	cfg->start_timeout_ms = 30000;
	cfg->drain_timeout_ms = 10000;
}

static int orch_open_stores(struct orch *o, char *err, size_t errsz)
{
	o->st_api = orch_state_open(&o->cfg.store);
	o->st_loop = orch_state_open(&o->cfg.store);
	o->hb = store_open(&o->cfg.store, "orch-heartbeats");
	if (o->st_api == NULL || o->st_loop == NULL || o->hb == NULL)
		return core_fail(-ENOMEM, err, errsz, "store: cannot create a connection");
	if (!orch_state_connected(o->st_loop))
		return core_fail(-EIO, err, errsz, "store: %s:%u unreachable",
				 o->cfg.store.unix_path[0] ? o->cfg.store.unix_path : o->cfg.store.host,
				 o->cfg.store.port);
	return 0;
}

struct orch *orch_create(const struct orch_cfg *cfg, char *err, size_t errsz)
{
	struct orch *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->wake_fd = -1;
	pthread_mutex_init(&o->lock, NULL);
	o->cfg = *cfg;
	o->cfg.launcher.heartbeat_ms = cfg->heartbeat_ms;
	o->started_ms = orch_wall_ms();
	o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (o->wake_fd < 0) {
		core_fail(-errno, err, errsz, "eventfd: %s", strerror(errno));
		goto err;
	}
	if (orch_open_stores(o, err, errsz) < 0)
		goto err;
	o->launcher = launcher_create(&o->cfg.launcher, err, errsz);
	if (o->launcher == NULL)
		goto err;
	if (orch_bridge_setup(&o->cfg, &o->uplink_in_port, &o->uplink_out_port, err, errsz) < 0)
		goto err;
	if (orch_steer_open(o, err, errsz) < 0)
		goto err;
	return o;
err:
	orch_destroy(o);
	return NULL;
}

void orch_stop(struct orch *o)
{
	o->stop = 1;
	orch_wake(o);
}

void orch_destroy(struct orch *o)
{
	struct orch_nf *nf;

	if (o == NULL)
		return;
	if (o->cfg.stop_instances_on_exit && o->launcher != NULL)
		orch_stop_all(o);
	orch_steer_close(o);
	launcher_destroy(o->launcher);
	while ((nf = o->nfs) != NULL) {
		o->nfs = nf->next;
		orch_nf_free(nf);
	}
	orch_state_close(o->st_api);
	orch_state_close(o->st_loop);
	store_close(o->hb);
	if (o->wake_fd >= 0)
		close(o->wake_fd);
	pthread_mutex_destroy(&o->lock);
	free(o);
}
