/* libFuzzer target: parse + NAT processing (local mode) of arbitrary frames.
 * Input (tests/fuzz/fuzz_common.h): byte 0 = flags (bit 0: one-armed), then records of
 * [port:1][len:2 LE][frame:len]. Checks: a forwarded packet still parses. */
#include <stdint.h>
#include <stdlib.h>

#include "nfs/nat/nat.h"
#include "tests/fuzz/fuzz_common.h"

static struct nat *nats[2];
static struct nat_worker *workers[2];
static struct nf_counters ctr;

static void fuzz_init(void)
{
	struct nat_config cfg;
	struct nf_opts o;
	char err[128];

	nat_config_default(&cfg);
	if (nat_config_load_string(&cfg, "{\"public_ips\": [\"203.0.113.1\", \"203.0.113.2\"],"
				   " \"port_range\": [1000, 1015]}", err, sizeof(err)) != 0)
		abort();
	for (int i = 0; i < 2; i++) {
		fuzz_opts(&o, i == 1);
		nats[i] = nat_create(&cfg, &o);
		workers[i] = nat_worker_create(nats[i], 0, &ctr);
		if (workers[i] == NULL)
			abort();
	}
}

/* fuzz_burst_fn: 'arg' points at the worker's index. */
static void run_burst(void *arg, uint16_t port, struct fake_mbuf *fms, uint16_t n)
{
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t verdicts[NF_BURST];

	fuzz_mbufs(fms, n, pkts);
	nat_process_burst(workers[*(int *)arg], port, pkts, n, verdicts, 1000);
	for (uint16_t i = 0; i < n; i++)
		fuzz_forwarded_parses(&fms[i], verdicts[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int mode;

	if (nats[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	mode = data[0] & 1;
	fuzz_bursts(data, size, run_burst, &mode);
	return 0;
}
