/* Steering state: the NFs as last applied and their changes confirmed by barriers (the
 * resync after a reconnection is in steer_resync.c).
 *
 * Theory of operation. The steer keeps in memory, per NF, what was last applied (config,
 * members, slots) and whether the switch holds its groups, so that a change is one batch
 * of messages (groups ADDed the first time, MODIFYed afterwards, always ORCH_SLOTS
 * buckets) followed by a barrier whose reply runs the caller's callback. A resync
 * reinstalls the base flows and the learned delivery flows at once, asks for the group
 * stats to learn which groups the switch kept, and then reprograms every NF; changes made
 * while it waits ("syncing") are stored and confirmed by the resync's barrier. While not
 * connected, changes are stored and return -ENOTCONN; removals are remembered and done at
 * the next resync. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nf/log.h"
#include "orchestrator/ofp_proto.h"
#include "orchestrator/steer_priv.h"

/* ---- Callbacks and waits ---- */

void steer_cbs_fire(struct steer_cb *cbs, size_t n, int status)
{
	for (size_t i = 0; i < n; i++)
		if (cbs[i].done)
			cbs[i].done(cbs[i].arg, status);
}

/* Append ('done', 'arg') to a callback array. 0 or -ENOMEM. */
int steer_cbs_push(struct steer_cb **cbs, size_t *n, size_t *cap, steer_done_cb *done, void *arg)
{
	struct steer_cb *p;

	if (!done)
		return 0;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;

		p = realloc(*cbs, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*cbs = p;
		*cap = c;
	}
	(*cbs)[(*n)++] = (struct steer_cb){ done, arg };
	return 0;
}

struct steer_wait *steer_wait_new(struct steer *s, enum steer_wait_kind kind)
{
	struct steer_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->s = s;
	w->kind = kind;
	w->next = s->waits;
	s->waits = w;
	return w;
}

/* Take 'w' off its steer's list (if the steer still exists). */
void steer_wait_unlink(struct steer_wait *w)
{
	struct steer_wait **pp;

	if (!w->s)
		return;
	for (pp = &w->s->waits; *pp && *pp != w; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = w->next;
}

void steer_wait_free(struct steer_wait *w)
{
	steer_wait_unlink(w);
	ofp_port_desc_reply_uninit(&w->ports);
	ofp_group_stats_reply_uninit(&w->groups);
	free(w->cbs);
	free(w);
}

/* The barrier of a change: the callbacks get 0, -EPROTO when the switch rejected a message
 * (logged by the ofconn), or the connection error. */
static void steer_on_barrier(struct ofconn *c, void *arg, int status, unsigned n_errors)
{
	struct steer_wait *w = arg;

	(void)c;
	steer_wait_unlink(w);
	if (status == 0 && n_errors)
		status = -EPROTO;
	steer_cbs_fire(w->cbs, w->n_cbs, status);
	w->s = NULL;
	steer_wait_free(w);
}

/* Send a barrier that completes the callbacks 'cbs' (taken over, even on failure). On
 * failure the callbacks are not called: the caller reports the error. */
int steer_barrier(struct steer *s, struct steer_cb *cbs, size_t n_cbs)
{
	struct steer_wait *w = steer_wait_new(s, STEER_WAIT_BARRIER);
	int rc;

	if (!w) {
		free(cbs);
		return -ENOMEM;
	}
	w->cbs = cbs;
	w->n_cbs = n_cbs;
	rc = ofconn_send_barrier(s->conn, steer_on_barrier, w, NULL);
	if (rc < 0) {
		w->n_cbs = 0;
		steer_wait_free(w);
	}
	return rc;
}

/* A barrier for one callback. */
static int steer_barrier_one(struct steer *s, steer_done_cb *done, void *arg)
{
	struct steer_cb *cbs = NULL;
	size_t n = 0, cap = 0;

	if (steer_cbs_push(&cbs, &n, &cap, done, arg) < 0)
		return -ENOMEM;
	return steer_barrier(s, cbs, n);
}

/* ---- Sending ---- */

static int steer_send_buf(struct steer *s, int rc)
{
	if (rc == 0)
		rc = ofconn_send(s->conn, &s->buf, NULL);
	if (rc < 0 && s->send_err == 0)
		s->send_err = rc;
	ofp_buf_reset(&s->buf);
	return rc;
}

int steer_send_flow(struct steer *s, const struct ofp_flow_mod *fm)
{
	return steer_send_buf(s, ofp_flow_mod_encode(&s->buf, 0, fm));
}

int steer_send_group(struct steer *s, const struct ofp_group_mod *gm)
{
	return steer_send_buf(s, ofp_group_mod_encode(&s->buf, 0, gm));
}

int steer_send_packet(struct steer *s, uint32_t out_port, const uint8_t *frame, size_t size)
{
	struct ofp_packet_out po = { .buffer_id = OFP_NO_BUFFER, .in_port = OFPP_CONTROLLER,
				     .data = frame, .data_size = size };

	ofp_actions_output(&po.actions, out_port);
	return steer_send_buf(s, ofp_packet_out_encode(&s->buf, 0, &po));
}

/* ---- Entries ---- */

static struct steer_entry *entry_find(struct steer *s, const char *name)
{
	for (size_t i = 0; i < s->n_entries; i++)
		if (strcmp(s->entries[i].nf.name, name) == 0)
			return &s->entries[i];
	return NULL;
}

static struct steer_entry *entry_add(struct steer *s)
{
	struct steer_entry *e;

	if (s->n_entries == s->cap_entries) {
		size_t cap = s->cap_entries ? s->cap_entries * 2 : 8;

		e = realloc(s->entries, cap * sizeof(*e));
		if (!e)
			return NULL;
		s->entries = e;
		s->cap_entries = cap;
	}
	e = &s->entries[s->n_entries++];
	memset(e, 0, sizeof(*e));
	return e;
}

const struct steer_entry *steer_entry_by_uplink(const struct steer *s, uint32_t port,
						uint8_t *table)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		const struct steer_nf *nf = &s->entries[i].nf;

		if (nf->uplink_in == port || nf->uplink_out == port) {
			*table = nf->uplink_in == port ? STEER_TABLE_DELIVER_IN : STEER_TABLE_DELIVER_OUT;
			return &s->entries[i];
		}
	}
	return NULL;
}

const struct steer_entry *steer_entry_by_instance(const struct steer *s, uint32_t port,
						  uint8_t table)
{
	for (size_t i = 0; i < s->n_entries; i++) {
		const struct steer_entry *e = &s->entries[i];

		for (unsigned j = 0; j < e->n_members; j++) {
			uint32_t p = table == STEER_TABLE_DELIVER_IN ? e->members[j].ofport_in
								    : e->members[j].ofport_out;
			if (p == port)
				return e;
		}
	}
	return NULL;
}

/* True when some NF uses 'port' as an uplink. */
static bool steer_uplink_used(const struct steer *s, uint32_t port)
{
	uint8_t table;

	return steer_entry_by_uplink(s, port, &table) != NULL;
}

/* ---- Public: lifecycle ---- */

struct steer *steer_create(struct ofconn *c)
{
	struct steer *s;

	if (!c) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->conn = c;
	ofp_buf_init(&s->buf);
	return s;
}

void steer_destroy(struct steer *s)
{
	struct steer_wait *w;

	if (!s)
		return;
	for (w = s->waits; w; w = w->next) {
		steer_cbs_fire(w->cbs, w->n_cbs, -ECANCELED);
		w->n_cbs = 0;
		w->s = NULL;	/* freed by its ofconn callback */
	}
	steer_cbs_fire(s->deferred, s->n_deferred, -ECANCELED);
	free(s->deferred);
	free(s->entries);
	free(s->removals);
	free(s->neighs);
	free(s->ports);
	free(s->snap);
	ofp_buf_uninit(&s->buf);
	free(s);
}

/* ---- Public: changes ---- */

/* 0 when 'nf' and 'members' can be programmed. */
static int steer_check_args(const struct steer_nf *nf, const struct steer_member *members,
			    unsigned n_members)
{
	if (!nf || !nf->name[0] || !nf->uplink_in || !nf->uplink_out || nf->n_owned > 64 ||
	    n_members > ORCH_SLOTS || (n_members && !members) || nf->group_base >= OFPG_MAX - 1)
		return -EINVAL;
	for (unsigned i = 0; i < n_members; i++) {
		if (!members[i].id[0] || !members[i].ofport_in || !members[i].ofport_out)
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(members[i].id, members[j].id) == 0)
				return -EINVAL;
	}
	return 0;
}

/* Store what is applied to 'nf'; the previous state goes into 'old' ('*had_old'). */
static struct steer_entry *steer_store(struct steer *s, const struct steer_nf *nf,
				       const struct steer_member *members, unsigned n_members,
				       char slots[ORCH_SLOTS][ORCH_ID_MAX], struct steer_entry *old,
				       bool *had_old)
{
	struct steer_entry *e = entry_find(s, nf->name);

	*had_old = e != NULL;
	if (e) {
		*old = *e;
	} else {
		e = entry_add(s);
		if (!e)
			return NULL;
		e->groups = steer_snap_groups(s, nf);
	}
	e->nf = *nf;
	e->n_members = n_members;
	if (n_members)
		memcpy(e->members, members, n_members * sizeof(*members));
	memcpy(e->slots, slots, sizeof(e->slots));
	return e;
}

int steer_apply(struct steer *s, const struct steer_nf *nf, const struct steer_member *members,
		unsigned n_members, char slots[ORCH_SLOTS][ORCH_ID_MAX], steer_done_cb *done,
		void *arg)
{
	const struct steer_entry *prev = nf ? entry_find(s, nf->name) : NULL;
	struct steer_entry *e, old;
	bool had_old;
	int rc = steer_check_args(nf, members, n_members);

	if (rc == 0 && prev && (prev->nf.cookie != nf->cookie || prev->nf.group_base != nf->group_base))
		rc = -EINVAL;	/* steer_remove() first */
	if (rc < 0)
		return rc;
	steer_assign_slots(slots, members, n_members);
	e = steer_store(s, nf, members, n_members, slots, &old, &had_old);
	if (!e)
		return -ENOMEM;
	rc = steer_check_conn(s);
	if (rc < 0)
		return rc;
	if (s->phase == STEER_SYNCING)
		return steer_cbs_push(&s->deferred, &s->n_deferred, &s->cap_deferred, done, arg);
	s->send_err = 0;
	steer_flows_nf(s, e, had_old ? &old : NULL);
	if (s->send_err)
		return s->send_err;
	return steer_barrier_one(s, done, arg);
}

/* Forget 'nf' and the hosts learned on uplinks no other NF uses. */
static void steer_forget(struct steer *s, const struct steer_nf *nf)
{
	struct steer_entry *e = entry_find(s, nf->name);

	if (e)
		*e = s->entries[--s->n_entries];
	if (!steer_uplink_used(s, nf->uplink_in))
		steer_arp_forget_port(s, nf->uplink_in);
	if (!steer_uplink_used(s, nf->uplink_out))
		steer_arp_forget_port(s, nf->uplink_out);
}

int steer_remove(struct steer *s, const struct steer_nf *nf, steer_done_cb *done, void *arg)
{
	int rc;

	if (!nf || !nf->name[0])
		return -EINVAL;
	steer_forget(s, nf);
	rc = steer_check_conn(s);
	if (rc < 0 || s->phase == STEER_SYNCING) {
		steer_removals_push(s, nf);
		return rc < 0 ? rc : steer_cbs_push(&s->deferred, &s->n_deferred, &s->cap_deferred, done, arg);
	}
	s->send_err = 0;
	steer_flows_nf_delete(s, nf);
	steer_snap_remove(s, nf->group_base);
	steer_snap_remove(s, nf->group_base + 1);
	if (s->send_err)
		return s->send_err;
	return steer_barrier_one(s, done, arg);
}

void steer_packet_in(struct steer *s, const struct ofp_packet_in *pin)
{
	s->stats.n_packet_in++;
	steer_arp_packet_in(s, pin);
}

void steer_get_stats(const struct steer *s, struct steer_stats *stats)
{
	*stats = s->stats;
}
