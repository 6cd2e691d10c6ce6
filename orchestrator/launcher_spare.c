/* Spare port pairs: the veths and bridge ports of an instance that ended stay on the
 * bridge, and the next launch takes them instead of creating new ones. Adding and
 * removing ports reconfigures OVS's userspace datapath, which stops forwarding meanwhile:
 * with a pool, a replacement or a scale-out after a scale-in touches no port at all. */
#include <stdio.h>
#include <string.h>

#include "nf/log.h"
#include "orchestrator/launcher.h"
#include "orchestrator/launcher_int.h"
#include "orchestrator/netdev.h"

#define SPARE_LOG "launcher"
#define PORT_LIST_SIZE 65536

static bool spare_ends_exist(const struct launcher_names *n)
{
	return netdev_exists(n->if_in) && netdev_exists(n->if_out) && netdev_exists(n->br_in) &&
	       netdev_exists(n->br_out);
}

bool launcher_spare_park(struct orch_launcher *l, const struct launcher_names *n,
			 const uint32_t ofports[2])
{
	unsigned max = l->cfg.spare_ports < LAUNCHER_MAX_SPARES ? l->cfg.spare_ports
								 : LAUNCHER_MAX_SPARES;

	for (unsigned i = 0; i < l->n_spares; i++)
		if (strcmp(l->spares[i].n.prefix, n->prefix) == 0)
			return true;	/* parked already (a second cleanup) */
	if (l->n_spares >= max || ofports[0] == 0 || ofports[1] == 0 || !spare_ends_exist(n))
		return false;
	l->spares[l->n_spares].n = *n;
	memcpy(l->spares[l->n_spares].ofports, ofports, sizeof(l->spares[0].ofports));
	l->n_spares++;
	return true;
}

/* Index of the spare to take: the one with 'base', else the last one; -1 when none. */
static int spare_pick(const struct orch_launcher *l, const char *base)
{
	for (unsigned i = 0; i < l->n_spares; i++)
		if (strcmp(l->spares[i].n.prefix, base) == 0)
			return (int)i;
	return (int)l->n_spares - 1;
}

static int spare_prepare(const struct launcher_names *n, char *err, size_t errsz)
{
	const char *ends[] = { n->if_in, n->if_out, n->br_in, n->br_out };
	int ret = 0;

	for (unsigned i = 0; ret == 0 && i < 4; i++)
		ret = netdev_port_prepare(ends[i], err, errsz);
	return ret;
}

bool launcher_spare_take(struct orch_launcher *l, const char *base, struct launcher_names *n,
			 uint32_t ofports[2])
{
	char err[256] = "";
	int i;

	while ((i = spare_pick(l, base)) >= 0) {
		struct launcher_spare s = l->spares[i];

		l->spares[i] = l->spares[--l->n_spares];
		if (spare_prepare(&s.n, err, sizeof(err)) == 0) {
			*n = s.n;
			memcpy(ofports, s.ofports, sizeof(s.ofports));
			return true;
		}
		NF_LOG(WARN, SPARE_LOG, "spare ports %s: %s: removing them", s.n.prefix, err);
		launcher_plumb_remove(l, &s.n, NULL, 0);
	}
	return false;
}

/* The base of bridge port 'port' when it is the inside end of an instance pair
 * ("snf" + 8 hex + "i-b"), into 'base'. */
static bool port_base(const char *port, char *base, size_t size)
{
	size_t len = strlen(port);

	if (len != 14 || strncmp(port, "snf", 3) != 0 || strcmp(port + 11, "i-b") != 0 ||
	    strspn(port + 3, "0123456789abcdef") < 8)
		return false;
	snprintf(base, size, "%.11s", port);
	return true;
}

static void spare_adopt_one(struct orch_launcher *l, const char *base)
{
	struct launcher_names n;
	uint32_t ofports[2] = { 0, 0 };
	char err[256] = "";

	launcher_names_from_base(base, &n);
	if (netdev_ovs_ofport(&l->ovs, n.br_in, &ofports[0], err, sizeof(err)) == 0 &&
	    netdev_ovs_ofport(&l->ovs, n.br_out, &ofports[1], err, sizeof(err)) == 0 &&
	    launcher_spare_park(l, &n, ofports)) {
		NF_LOG(INFO, SPARE_LOG, "ports %s/%s: kept as spares", n.br_in, n.br_out);
		return;
	}
	NF_LOG(INFO, SPARE_LOG, "ports %s/%s: no instance uses them: removing them", n.br_in,
	       n.br_out);
	launcher_plumb_remove(l, &n, NULL, 0);
}

/* Call 'fn(port, arg)' for every port of the launcher's bridge until it returns true.
 * Returns whether one did; false also when the ports cannot be listed (logged). */
static bool bridge_ports_find(struct orch_launcher *l, bool (*fn)(const char *port, void *arg),
			      void *arg)
{
	static char ports[PORT_LIST_SIZE];	/* the main loop only */
	char err[256] = "", *save = NULL;

	if (netdev_ovs_list_ports(&l->ovs, l->cfg.bridge, ports, sizeof(ports), err,
				  sizeof(err)) < 0) {
		NF_LOG(WARN, SPARE_LOG, "bridge %s: cannot list its ports: %s", l->cfg.bridge, err);
		return false;
	}
	for (char *p = strtok_r(ports, "\n", &save); p != NULL; p = strtok_r(NULL, "\n", &save))
		if (fn(p, arg))
			return true;
	return false;
}

struct adopt_ctx {
	struct orch_launcher *l;
	bool (*in_use)(const char *base, void *arg);
	void *arg;
};

static bool adopt_port(const char *port, void *arg)
{
	struct adopt_ctx *c = arg;
	char base[ORCH_IFNAME_MAX];

	if (port_base(port, base, sizeof(base)) && !c->in_use(base, c->arg))
		spare_adopt_one(c->l, base);
	return false;	/* every port */
}

void launcher_spares_adopt(struct orch_launcher *l, bool (*in_use)(const char *base, void *arg),
			   void *arg)
{
	struct adopt_ctx c = { l, in_use, arg };

	bridge_ports_find(l, adopt_port, &c);
}

static bool port_is(const char *port, void *arg)
{
	return strcmp(port, arg) == 0;
}

bool launcher_iface_ours(struct orch_launcher *l, const char *ifname)
{
	char port[ORCH_IFNAME_MAX + 4];

	snprintf(port, sizeof(port), "%s-b", ifname);
	return bridge_ports_find(l, port_is, port);
}
