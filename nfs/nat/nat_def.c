/* The NAT's control path: instance and worker lifecycle, and its nf_def for the runtime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "nfs/nat/nat_int.h"

static void nat_set_timeout(struct nat *nat, uint8_t proto, uint32_t s0, uint32_t s1, uint32_t s2)
{
	uint32_t secs[NAT_ST__COUNT] = { s0, s1, s2 };

	for (int s = 0; s < NAT_ST__COUNT; s++) {
		uint64_t refresh = (uint64_t)secs[s] * 1000000u / 4;

		nat->timeout_ms[proto][s] = secs[s] * 1000u;
		nat->refresh_us[proto][s] = refresh < NAT_REFRESH_MAX_US ? refresh : NAT_REFRESH_MAX_US;
		snprintf(nat->ttl_str[proto][s], sizeof(nat->ttl_str[proto][s]), "%u", secs[s] * 1000u);
	}
}

struct nat *nat_create(const struct nat_config *cfg, const struct nf_opts *opts)
{
	const struct nat_timeouts *t = &cfg->timeouts;
	struct nat *nat = calloc(1, sizeof(*nat));

	if (nat == NULL)
		return NULL;
	nat->cfg = *cfg;
	nat->opts = *opts;
	nat_set_timeout(nat, IPPROTO_TCP, t->tcp_transitory, t->tcp_established, t->tcp_transitory);
	nat_set_timeout(nat, IPPROTO_UDP, t->udp, t->udp_stream, t->udp_stream);
	nat_set_timeout(nat, IPPROTO_ICMP, t->icmp, t->icmp, t->icmp);
	return nat;
}

void nat_destroy(struct nat *nat)
{
	free(nat);
}

static void nat_worker_prefixes(struct nat_worker *w)
{
	const char *ns = w->nat->opts.ns;

	snprintf(w->pfx_m, sizeof(w->pfx_m), "%s:m", ns);
	snprintf(w->pfx_r, sizeof(w->pfx_r), "%s:r", ns);
	snprintf(w->pfx_p, sizeof(w->pfx_p), "%s:p", ns);
	snprintf(w->pfx_s, sizeof(w->pfx_s), "%s:s", ns);
	w->pfx_len = strlen(w->pfx_m);
	snprintf(w->lo_str, sizeof(w->lo_str), "%u", w->nat->cfg.port_lo);
	snprintf(w->hi_str, sizeof(w->hi_str), "%u", w->nat->cfg.port_hi);
	snprintf(w->probes_str, sizeof(w->probes_str), "%u", w->nat->cfg.max_probes);
}

struct nat_worker *nat_worker_create(struct nat *nat, unsigned worker_id, struct nf_counters *ctr)
{
	const struct nf_opts *o = &nat->opts;
	struct nat_worker *w = calloc(1, sizeof(*w));
	char who[96];

	if (w == NULL)
		return NULL;
	w->nat = nat;
	w->id = worker_id;
	w->ctr = ctr;
	w->dirty_epoch = 1;
	nat_worker_prefixes(w);
	if (o->mode != NF_MODE_REMOTE) {
		w->cache = flowcache_create(o->cache_entries ? o->cache_entries : 65536,
					    sizeof(struct nat_centry));
		if (w->cache == NULL)
			goto err;
	}
	if (o->mode == NF_MODE_CACHED) {
		w->max_dirty = flowcache_capacity(w->cache);
		w->dirty = calloc(w->max_dirty, sizeof(*w->dirty));
		w->flushing = calloc(w->max_dirty, sizeof(*w->flushing));
		if (w->dirty == NULL || w->flushing == NULL)
			goto err;
	}
	if (o->mode != NF_MODE_LOCAL) {
		struct store_cfg sc = o->store;

		sc.tracking = o->mode == NF_MODE_CACHED;
		snprintf(who, sizeof(who), "%s/w%u", o->id, worker_id);
		w->store = store_open(&sc, who);
		if (w->store == NULL)
			goto err;
		w->store_gen = store_generation(w->store);
	}
	return w;
err:
	nat_worker_destroy(w);
	return NULL;
}

void nat_worker_destroy(struct nat_worker *w)
{
	if (w == NULL)
		return;
	if (w->store != NULL) {
		nat_store_flush(w, nf_now_us());
		store_close(w->store);
	}
	flowcache_free(w->cache);
	free(w->dirty);
	free(w->flushing);
	free(w);
}

void nat_tick(struct nat_worker *w, uint64_t now_us)
{
	if (w->store != NULL)
		nat_store_poll(w, now_us);
}

/* nf_def glue: the NF context while options are parsed. */
struct nat_nf {
	struct nat_config cfg;
	struct nat *nat;
};

enum { OPT_CONFIG = 1000, OPT_PUBLIC_IP, OPT_PORT_RANGE, OPT_TIMEOUT, OPT_MAX_PROBES };

static const struct option nat_options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "public-ip", required_argument, NULL, OPT_PUBLIC_IP },
	{ "port-range", required_argument, NULL, OPT_PORT_RANGE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "max-port-probes", required_argument, NULL, OPT_MAX_PROBES },
	{ NULL, 0, NULL, 0 },
};

static void *nat_nf_create(void)
{
	struct nat_nf *nf = calloc(1, sizeof(*nf));

	if (nf != NULL)
		nat_config_default(&nf->cfg);
	return nf;
}

static int nat_opt_port_range(struct nat_config *cfg, const char *arg, char *err, size_t errsz)
{
	unsigned lo, hi;
	char end;

	if (sscanf(arg, "%u-%u%c", &lo, &hi, &end) != 2 || lo == 0 || lo > hi || hi > 65535) {
		snprintf(err, errsz, "--port-range: '%s' is not LOW-HIGH with 1 <= LOW <= HIGH <= 65535", arg);
		return -EINVAL;
	}
	cfg->port_lo = (uint16_t)lo;
	cfg->port_hi = (uint16_t)hi;
	return 0;
}

static int nat_opt_timeout(struct nat_config *cfg, const char *arg, char *err, size_t errsz)
{
	char name[32], end;
	unsigned secs;

	if (sscanf(arg, "%31[a-z_]=%u%c", name, &secs, &end) != 2 || secs == 0 ||
	    nat_config_set_timeout(cfg, name, secs) != 0) {
		snprintf(err, errsz, "--timeout: '%s' is not NAME=SECONDS with NAME one of tcp_established, "
			 "tcp_transitory, udp, udp_stream, icmp", arg);
		return -EINVAL;
	}
	return 0;
}

static int nat_nf_option(void *ctx, int opt, const char *arg, char *err, size_t errsz)
{
	struct nat_nf *nf = ctx;
	unsigned long n;
	char *end;

	switch (opt) {
	case OPT_CONFIG:
		return nat_config_load_file(&nf->cfg, arg, err, errsz);
	case OPT_PUBLIC_IP:
		return nat_config_add_public_ip(&nf->cfg, arg, "--public-ip", err, errsz);
	case OPT_PORT_RANGE:
		return nat_opt_port_range(&nf->cfg, arg, err, errsz);
	case OPT_TIMEOUT:
		return nat_opt_timeout(&nf->cfg, arg, err, errsz);
	case OPT_MAX_PROBES:
		n = strtoul(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || n == 0 || n > 65536) {
			snprintf(err, errsz, "--max-port-probes: '%s' is not a number in 1-65536", arg);
			return -EINVAL;
		}
		nf->cfg.max_probes = (unsigned)n;
		return 0;
	}
	snprintf(err, errsz, "unknown NAT option %d", opt);
	return -EINVAL;
}

static int nat_nf_configure(void *ctx, const struct nf_opts *opts, char *err, size_t errsz)
{
	struct nat_nf *nf = ctx;

	if (nat_config_validate(&nf->cfg, err, errsz) != 0)
		return -EINVAL;
	nf->nat = nat_create(&nf->cfg, opts);
	if (nf->nat == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

NF_DEF_WORKER_GLUE(nat, struct nat_nf, nat)

static void nat_nf_destroy(void *ctx)
{
	struct nat_nf *nf = ctx;

	if (nf == NULL)
		return;
	nat_destroy(nf->nat);
	free(nf);
}

const struct nf_def nat_nf_def = {
	.name = "nat",
	.usage = "  --config FILE            JSON config (public_ips, port_range, timeouts, max_port_probes)\n"
		 "  --public-ip A.B.C.D      add a public address (repeatable)\n"
		 "  --port-range LO-HI       public port range (default 1024-65535)\n"
		 "  --timeout NAME=SECONDS   tcp_established, tcp_transitory, udp, udp_stream, icmp\n"
		 "  --max-port-probes N      ports tried per new flow before dropping it (default 128)\n",
	.options = nat_options,
	.option = nat_nf_option,
	.create = nat_nf_create,
	.configure = nat_nf_configure,
	NF_DEF_WORKER_CALLBACKS(nat),
	.destroy = nat_nf_destroy,
};
