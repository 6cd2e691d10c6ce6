/* The orchestrator core (core.h): lifecycle, the lock, construction, and helpers shared by orch_*.c. */
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
struct orch_nf *orch_nf_live(struct orch *o, const char *name)
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
	steer_owned(s, &nf->spec);
}

/* The NF's uplinks: its own, or the defaults (then written into its spec). */
static int nf_uplinks(struct orch *o, struct orch_nf *nf, char *err, size_t errsz)
{
	struct orch_nf_spec *s = &nf->spec;

	if (s->uplink_in[0] == '\0') {
		if (o->cfg.uplink_in[0] == '\0')
			return orch_core_fail(-EINVAL, err, errsz, "uplinks: required (this "
					      "orchestrator has no default uplink_inside/outside)");
		snprintf(s->uplink_in, sizeof(s->uplink_in), "%s", o->cfg.uplink_in);
		snprintf(s->uplink_out, sizeof(s->uplink_out), "%s", o->cfg.uplink_out);
	}
	if (orch_bridge_uplinks(&o->cfg, s->uplink_in, s->uplink_out, &nf->steer.uplink_in,
				&nf->steer.uplink_out, err, errsz) < 0)
		return -EINVAL;
	return 0;
}

struct orch_nf *orch_nf_new(struct orch *o, const struct orch_nf_spec *spec, char *err,
			    size_t errsz)
{
	struct orch_nf *nf = calloc(1, sizeof(*nf));

	if (nf == NULL) {
		orch_core_fail(-ENOMEM, err, errsz, "out of memory");
		return NULL;
	}
	if (orch_spec_copy(&nf->spec, spec) < 0) {
		free(nf);
		orch_core_fail(-ENOMEM, err, errsz, "out of memory");
		return NULL;
	}
	if (nf_uplinks(o, nf, err, errsz) < 0) {
		orch_nf_spec_clear(&nf->spec);
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

int orch_core_fail(int rc, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return rc;
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
		return orch_core_fail(-ENOMEM, err, errsz, "store: cannot create a connection");
	if (!orch_state_connected(o->st_loop))
		return orch_core_fail(-EIO, err, errsz, "store: %s:%u unreachable",
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
	o->store_up = true;	/* until a heartbeat poll fails */
	o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (o->wake_fd < 0) {
		orch_core_fail(-errno, err, errsz, "eventfd: %s", strerror(errno));
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
