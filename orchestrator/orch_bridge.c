/* The bridge and its uplinks through ovs-vsctl: created if missing (datapath netdev,
 * OpenFlow 1.3, fail_mode secure first), pointed at our controller, uplinks attached.
 * An existing bridge that is already right is left untouched, so that a restarted
 * orchestrator does not disturb the flows that carry traffic meanwhile. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nf/log.h"
#include "orchestrator/netdev.h"
#include "orchestrator/orch_int.h"

#define VSCTL_MAX_ARGS 24
#define OFPORT_WAIT_MS 5000

/* Run ovs-vsctl with the NULL-terminated arguments 'args'; output into 'out'. */
#define ORCH_RMEM_MIN (1ul << 20)

static int vsctl(const struct orch_cfg *cfg, const char *const *args, char *out, size_t outsz,
		 char *err, size_t errsz)
{
	const struct orch_launcher_cfg *l = &cfg->launcher;
	const char *argv[VSCTL_MAX_ARGS];
	char db[PATH_MAX + 8];
	unsigned n = 0;

	argv[n++] = l->ovs_vsctl[0] ? l->ovs_vsctl : "ovs-vsctl";
	if (l->ovs_db[0]) {
		snprintf(db, sizeof(db), "--db=%s", l->ovs_db);
		argv[n++] = db;
	}
	argv[n++] = "--timeout=10";
	while (*args != NULL && n < VSCTL_MAX_ARGS - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	return netdev_run(argv, l->ovs_timeout_ms ? l->ovs_timeout_ms : 10000, out, outsz, err,
			  errsz);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '"'))
		s[--n] = '\0';
}

/* Whether the existing bridge has column 'col' = 'want'. */
static bool bridge_has(const struct orch_cfg *cfg, const char *col, const char *want)
{
	const char *args[] = { "get", "bridge", cfg->launcher.bridge, col, NULL };
	char out[256] = "";
	const char *v = out;

	if (vsctl(cfg, args, out, sizeof(out), NULL, 0) < 0)
		return false;
	chomp(out);
	while (*v == '"' || *v == '[')
		v++;
	return strncmp(v, want, strlen(want)) == 0;
}

/* Create the bridge, or fix its settings (which flushes its flows) if they differ. */
static int bridge_ensure(const struct orch_cfg *cfg, char *err, size_t errsz)
{
	const char *br = cfg->launcher.bridge;
	const char *exists[] = { "br-exists", br, NULL };
	const char *create[] = { "--may-exist", "add-br", br, "--", "set", "bridge", br,
				 "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
				 NULL };

	if (vsctl(cfg, exists, NULL, 0, NULL, 0) == 0 && bridge_has(cfg, "datapath_type", "netdev") &&
	    bridge_has(cfg, "protocols", "OpenFlow13") && bridge_has(cfg, "fail_mode", "secure"))
		return 0;
	NF_LOG(INFO, ORCH_LOG, "bridge %s: creating it (datapath netdev, OpenFlow 1.3, fail_mode "
	       "secure)", br);
	return vsctl(cfg, create, NULL, 0, err, errsz);
}

/* Point the bridge at our OpenFlow listener (out of band, quick reconnection). */
static int controller_ensure(const struct orch_cfg *cfg, char *err, size_t errsz)
{
	const char *br = cfg->launcher.bridge;
	const char *host = strcmp(cfg->of_addr, "0.0.0.0") == 0 ? "127.0.0.1" : cfg->of_addr;
	const char *get[] = { "get-controller", br, NULL };
	char target[96], out[256] = "";
	const char *set[] = { "set-controller", br, target, "--", "set", "controller", br,
			      "connection_mode=out-of-band", "max_backoff=1000", NULL };

	snprintf(target, sizeof(target), "tcp:%s:%u", host, cfg->of_port);
	if (vsctl(cfg, get, out, sizeof(out), NULL, 0) == 0) {
		chomp(out);
		if (strcmp(out, target) == 0)
			return 0;
	}
	NF_LOG(INFO, ORCH_LOG, "bridge %s: controller %s", br, target);
	return vsctl(cfg, set, NULL, 0, err, errsz);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Attach uplink 'ifname' (named by config field 'field') and read its OpenFlow port. */
static int uplink_ensure(const struct orch_cfg *cfg, const char *field, const char *ifname,
			 uint32_t *ofport, char *err, size_t errsz)
{
	const char *add[] = { "--may-exist", "add-port", cfg->launcher.bridge, ifname, NULL };
	struct netdev_ovs ovs = { .vsctl = cfg->launcher.ovs_vsctl, .db = cfg->launcher.ovs_db,
				  .timeout_ms = 5000 };
	int rc;

	if (!netdev_exists(ifname)) {
		snprintf(err, errsz, "%s: interface '%s' does not exist", field, ifname);
		return -ENODEV;
	}
	rc = vsctl(cfg, add, NULL, 0, err, errsz);
	for (unsigned waited = 0; rc == 0; waited += 20) {
		rc = netdev_ovs_ofport(&ovs, ifname, ofport, err, errsz);
		if (rc < 0 || (*ofport != 0 && *ofport != 0xffffffffu))
			break;
		if (waited >= OFPORT_WAIT_MS) {
			snprintf(err, errsz, "%s: OVS gave '%s' no OpenFlow port", field, ifname);
			return -ETIMEDOUT;
		}
		sleep_ms(20);
	}
	if (rc == 0)
		netdev_set_up(ifname, true, NULL, 0);
	return rc;
}

/* OVS's userspace datapath reads every port through an AF_PACKET socket with the default
 * receive buffer; a flow table change keeps its main thread busy for milliseconds, and
 * with the kernel's 208 KB default every flow through the bridge loses packets then. */
static void rmem_check(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/net/core/rmem_default", "r");

	if (f == NULL)
		return;
	if (fscanf(f, "%lu", &v) == 1 && v < ORCH_RMEM_MIN)
		NF_LOG(WARN, ORCH_LOG, "net.core.rmem_default is %lu: the switch's ports will drop "
		       "packets whenever the steering changes; raise it (sysctl -w "
		       "net.core.rmem_max=4194304 net.core.rmem_default=4194304)", v);
	fclose(f);
}

int orch_bridge_uplinks(const struct orch_cfg *cfg, const char *in, const char *out,
			uint32_t *port_in, uint32_t *port_out, char *err, size_t errsz)
{
	int rc = uplink_ensure(cfg, "uplinks.inside", in, port_in, err, errsz);

	if (rc == 0)
		rc = uplink_ensure(cfg, "uplinks.outside", out, port_out, err, errsz);
	return rc;
}

int orch_bridge_setup(const struct orch_cfg *cfg, uint32_t *uplink_in, uint32_t *uplink_out,
		      char *err, size_t errsz)
{
	int rc = bridge_ensure(cfg, err, errsz);

	rmem_check();
	if (rc == 0)
		rc = controller_ensure(cfg, err, errsz);
	if (rc < 0 || cfg->uplink_in[0] == '\0') {
		if (rc == 0)
			NF_LOG(INFO, ORCH_LOG, "bridge %s ready (no default uplinks: every NF names its "
			       "own)", cfg->launcher.bridge);
		return rc;
	}
	rc = uplink_ensure(cfg, "uplink_inside", cfg->uplink_in, uplink_in, err, errsz);
	if (rc == 0)
		rc = uplink_ensure(cfg, "uplink_outside", cfg->uplink_out, uplink_out, err, errsz);
	if (rc == 0)
		NF_LOG(INFO, ORCH_LOG, "bridge %s ready: default uplinks %s (OpenFlow %u), %s "
		       "(OpenFlow %u)", cfg->launcher.bridge, cfg->uplink_in, *uplink_in,
		       cfg->uplink_out, *uplink_out);
	return rc;
}
