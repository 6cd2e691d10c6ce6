/* The switch's port table: port-description requests, port-status updates, lookups by name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/ofp_proto.h"
#include "orchestrator/steer_priv.h"

/* ---- Ports ---- */

uint32_t steer_port_no(const struct steer *s, const char *ifname)
{
	for (size_t i = 0; i < s->n_ports; i++)
		if (strcmp(s->ports[i].name, ifname) == 0)
			return s->ports[i].port_no;
	return 0;
}

/* Replace the port table with the description in 'r'. */
static void steer_ports_take(struct steer *s, const struct ofp_port_desc_reply *r)
{
	struct steer_port *p = r->n ? calloc(r->n, sizeof(*p)) : NULL;

	if (r->n && !p)
		return;
	for (size_t i = 0; i < r->n; i++) {
		memcpy(p[i].name, r->ports[i].name, sizeof(p[i].name));
		p[i].port_no = r->ports[i].port_no;
	}
	free(s->ports);
	s->ports = p;
	s->n_ports = r->n;
}

static void steer_on_ports(struct ofconn *c, void *arg, int status, const uint8_t *msg, size_t size)
{
	struct steer_wait *w = arg;
	bool more = false;
	uint16_t type;

	(void)c;
	if (status == 0 && (ofp_mp_decode_header(msg, size, OFPT_MULTIPART_REPLY, &type, &more, NULL) < 0 ||
			    ofp_port_desc_reply_decode(msg, size, &w->ports, NULL) < 0))
		status = -EBADMSG;
	if (status == 0 && more)
		return;
	steer_wait_unlink(w);
	if (status == 0 && w->s)
		steer_ports_take(w->s, &w->ports);
	steer_cbs_fire(w->cbs, w->n_cbs, status);
	w->s = NULL;
	steer_wait_free(w);
}

int steer_refresh_ports(struct steer *s, steer_done_cb *done, void *arg)
{
	struct ofp_buf b = OFP_BUF_INIT;
	struct steer_wait *w;
	size_t cap = 0;
	int rc;

	if (!ofconn_is_ready(s->conn))
		return -ENOTCONN;
	w = steer_wait_new(s, STEER_WAIT_PORTS);
	if (!w)
		return -ENOMEM;
	rc = steer_cbs_push(&w->cbs, &w->n_cbs, &cap, done, arg);
	if (rc == 0)
		rc = ofp_port_desc_request_encode(&b, 0);
	if (rc == 0)
		rc = ofconn_request(s->conn, &b, steer_on_ports, w, NULL);
	ofp_buf_uninit(&b);
	if (rc < 0) {
		w->n_cbs = 0;
		steer_wait_free(w);
	}
	return rc;
}

void steer_port_status(struct steer *s, const struct ofp_port_status *ps)
{
	struct steer_port *p;
	size_t i;

	for (i = 0; i < s->n_ports && strcmp(s->ports[i].name, ps->port.name) != 0; i++)
		;
	if (ps->reason == OFPPR_DELETE) {
		if (i < s->n_ports)
			s->ports[i] = s->ports[--s->n_ports];
		return;
	}
	if (i == s->n_ports) {
		p = realloc(s->ports, (s->n_ports + 1) * sizeof(*p));
		if (!p)
			return;
		s->ports = p;
		s->n_ports++;
	}
	memcpy(s->ports[i].name, ps->port.name, sizeof(s->ports[i].name));
	s->ports[i].port_no = ps->port.port_no;
}
