/* The resync after every (re)connection: the group snapshot, deferred changes and removals. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nf/log.h"
#include "orchestrator/ofp_proto.h"
#include "orchestrator/steer_priv.h"

/* ---- Group snapshot (which groups the switch holds) ---- */

static bool snap_has(const struct steer *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_snap; i++)
		if (s->snap[i] == id)
			return true;
	return false;
}

void steer_snap_remove(struct steer *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_snap; i++)
		if (s->snap[i] == id)
			s->snap[i--] = s->snap[--s->n_snap];
}

/* What the switch holds of 'nf''s groups, as far as we know. */
enum steer_groups steer_snap_groups(const struct steer *s, const struct steer_nf *nf)
{
	if (!s->snap_valid)
		return STEER_G_UNKNOWN;
	return snap_has(s, nf->group_base) || snap_has(s, nf->group_base + 1) ? STEER_G_PRESENT
									     : STEER_G_ABSENT;
}

static void snap_take(struct steer *s, const struct ofp_group_stats_reply *r)
{
	uint32_t *ids = r->n ? malloc(r->n * sizeof(*ids)) : NULL;

	free(s->snap);
	s->snap = ids;
	s->n_snap = 0;
	s->snap_valid = ids || r->n == 0;
	for (size_t i = 0; ids && i < r->n; i++)
		ids[s->n_snap++] = r->groups[i].group_id;
}

/* ---- Resync ---- */

void steer_removals_push(struct steer *s, const struct steer_nf *nf)
{
	struct steer_nf *p;

	if (s->n_removals == s->cap_removals) {
		size_t cap = s->cap_removals ? s->cap_removals * 2 : 4;

		p = realloc(s->removals, cap * sizeof(*p));
		if (!p) {
			NF_LOG(ERR, STEER_LOG, "out of memory: flows of %s stay", nf->name);
			return;
		}
		s->removals = p;
		s->cap_removals = cap;
	}
	s->removals[s->n_removals++] = *nf;
}

/* Send the removals remembered while not up; the groups they delete are absent after. */
static void steer_send_removals(struct steer *s)
{
	for (size_t i = 0; i < s->n_removals; i++) {
		const struct steer_nf *nf = &s->removals[i];

		steer_flows_nf_delete(s, nf);
		steer_snap_remove(s, nf->group_base);
		steer_snap_remove(s, nf->group_base + 1);
		for (size_t j = 0; j < s->n_entries; j++)
			if (s->entries[j].nf.group_base == nf->group_base)
				s->entries[j].groups = STEER_G_ABSENT;
	}
	s->n_removals = 0;
}

/* The group stats are in (or could not be had): program every NF and confirm with one
 * barrier the changes deferred meanwhile. */
static void steer_sync_finish(struct steer *s)
{
	struct steer_cb *cbs = s->deferred;
	size_t n = s->n_deferred;
	int rc;

	s->deferred = NULL;
	s->n_deferred = s->cap_deferred = 0;
	s->send_err = 0;
	steer_send_removals(s);
	for (size_t i = 0; i < s->n_entries; i++)
		steer_flows_nf(s, &s->entries[i], NULL);
	s->phase = STEER_UP;
	rc = steer_barrier(s, cbs, n);
	if (rc < 0) {
		NF_LOG(WARN, STEER_LOG, "resync: cannot send the barrier: %s", strerror(-rc));
		s->phase = STEER_DOWN;
	}
	if (s->send_err)
		NF_LOG(WARN, STEER_LOG, "resync: sending failed: %s", strerror(-s->send_err));
}

/* A resync that cannot go on (the connection was lost): fail the deferred changes. */
static void steer_sync_abort(struct steer *s, int status)
{
	struct steer_cb *cbs = s->deferred;
	size_t n = s->n_deferred;

	s->deferred = NULL;
	s->n_deferred = s->cap_deferred = 0;
	s->phase = STEER_DOWN;
	steer_cbs_fire(cbs, n, status);
	free(cbs);
}

static void steer_on_group_stats(struct ofconn *c, void *arg, int status, const uint8_t *msg,
				 size_t size)
{
	struct steer_wait *w = arg;
	struct steer *s = w->s;
	bool more = false;
	uint16_t type;

	(void)c;
	if (status == 0 && ofp_mp_decode_header(msg, size, OFPT_MULTIPART_REPLY, &type, &more, NULL) == 0 &&
	    ofp_group_stats_reply_decode(msg, size, &w->groups, NULL) < 0)
		status = -EBADMSG;
	if (status == 0 && more)
		return;
	if (s && w->seq == s->sync_seq && s->phase == STEER_SYNCING) {
		if (status == 0)
			snap_take(s, &w->groups);
		for (size_t i = 0; i < s->n_entries; i++)
			s->entries[i].groups = steer_snap_groups(s, &s->entries[i].nf);
		if (status == 0 || status == -EPROTO || status == -EBADMSG)
			steer_sync_finish(s);	/* without stats: ADD then MODIFY */
		else
			steer_sync_abort(s, status);
	}
	steer_wait_free(w);
}

/* Ask for the group stats of this resync. */
static int steer_sync_request(struct steer *s)
{
	struct steer_wait *w = steer_wait_new(s, STEER_WAIT_SYNC);
	struct ofp_buf b = OFP_BUF_INIT;
	int rc;

	if (!w)
		return -ENOMEM;
	w->seq = s->sync_seq;
	rc = ofp_group_stats_request_encode(&b, 0, OFPG_ALL);
	if (rc == 0)
		rc = ofconn_request(s->conn, &b, steer_on_group_stats, w, NULL);
	ofp_buf_uninit(&b);
	if (rc < 0)
		steer_wait_free(w);
	return rc;
}

void steer_resync(struct steer *s)
{
	s->stats.n_resyncs++;
	if (!ofconn_is_ready(s->conn)) {
		s->phase = STEER_DOWN;
		return;
	}
	s->gen = ofconn_generation(s->conn);
	s->sync_seq++;
	s->phase = STEER_SYNCING;
	s->snap_valid = false;
	for (size_t i = 0; i < s->n_entries; i++)
		s->entries[i].groups = STEER_G_UNKNOWN;
	s->send_err = 0;
	steer_flows_base(s);
	steer_arp_resync(s);
	steer_refresh_ports(s, NULL, NULL);
	if (steer_sync_request(s) < 0)
		steer_sync_finish(s);
}

/* Bring the steer up to the connection: -ENOTCONN when there is none, a resync when it is
 * new. Returns 0 when changes can be sent or deferred. */
int steer_check_conn(struct steer *s)
{
	if (!ofconn_is_ready(s->conn)) {
		s->phase = STEER_DOWN;
		return -ENOTCONN;
	}
	if (s->phase == STEER_DOWN || s->gen != ofconn_generation(s->conn))
		steer_resync(s);
	return s->phase == STEER_DOWN ? -ENOTCONN : 0;
}
