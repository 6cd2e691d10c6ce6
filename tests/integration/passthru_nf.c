/* nf-passthru: a test NF that sends every packet out of the other port, to exercise the runtime.
 *
 * Theory of operation: no state but a per-worker packet count. A packet received on the
 * inside port leaves on the outside port and vice versa (in one-armed mode the runtime maps
 * both to port 0, so it goes back out where it came from). With --drop-every N every Nth
 * packet a worker sees is dropped and counted as drop_policy.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf/counters.h"
#include "nf/nf.h"

#define PASSTHRU_OPT_DROP_EVERY 'd'

struct passthru {
	unsigned drop_every;		/* 0 = never */
};

struct passthru_worker {
	const struct passthru *pt;
	struct nf_counters *ctr;	/* owned by the runtime */
	uint64_t n_seen;
};

static const struct option passthru_options[] = {
	{ "drop-every", required_argument, NULL, PASSTHRU_OPT_DROP_EVERY },
	{ NULL, 0, NULL, 0 },
};

static void *passthru_create(void)
{
	return calloc(1, sizeof(struct passthru));
}

static void passthru_destroy(void *nf)
{
	free(nf);
}

static int passthru_option(void *nf, int opt, const char *arg, char *err, size_t errsz)
{
	struct passthru *pt = nf;
	unsigned long v;
	char *end;

	if (opt != PASSTHRU_OPT_DROP_EVERY) {
		snprintf(err, errsz, "unknown option %d", opt);
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (!isdigit((unsigned char)arg[0]) || *end != '\0' || errno != 0 || v > 1000000000) {
		snprintf(err, errsz, "--drop-every: '%s' is not a number from 0 to 1000000000", arg);
		return -EINVAL;
	}
	pt->drop_every = (unsigned)v;
	return 0;
}

static void *passthru_worker_create(void *nf, unsigned worker_id, struct nf_counters *ctr)
{
	struct passthru_worker *w = calloc(1, sizeof(*w));

	(void)worker_id;
	if (w == NULL)
		return NULL;
	w->pt = nf;
	w->ctr = ctr;
	return w;
}

static void passthru_worker_destroy(void *w)
{
	free(w);
}

static void passthru_process_burst(void *wp, uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
				   uint8_t *out_ports, uint64_t now_us)
{
	struct passthru_worker *w = wp;
	uint8_t other = in_port == NF_PORT_INSIDE ? NF_PORT_OUTSIDE : NF_PORT_INSIDE;

	(void)pkts;
	(void)now_us;
	for (uint16_t i = 0; i < n; i++) {
		w->n_seen++;
		if (w->pt->drop_every != 0 && w->n_seen % w->pt->drop_every == 0) {
			out_ports[i] = NF_VERDICT_DROP;
			nf_ctr_add(w->ctr, NF_CTR_DROP_POLICY, 1);
		} else {
			out_ports[i] = other;
		}
	}
}

static const struct nf_def passthru_nf_def = {
	.name = "passthru",
	.usage = "  --drop-every N          drop every Nth packet (counted as drop_policy)\n",
	.options = passthru_options,
	.option = passthru_option,
	.create = passthru_create,
	.worker_create = passthru_worker_create,
	.process_burst = passthru_process_burst,
	.worker_destroy = passthru_worker_destroy,
	.destroy = passthru_destroy,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &passthru_nf_def);
}
