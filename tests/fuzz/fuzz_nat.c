/* libFuzzer target: parse + NAT processing (local mode) of arbitrary frames.
 * Input: byte 0 = flags (bit 0: one-armed), then records of [port:1][len:2 LE][frame:len]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nf/parse.h"
#include "nfs/nat/nat.h"
#include "tests/harness/pktgen.h"

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
		memset(&o, 0, sizeof(o));
		strcpy(o.id, "fuzz");
		strcpy(o.ns, "fuzz");
		o.mode = NF_MODE_LOCAL;
		o.one_armed = i == 1;
		o.cache_entries = 64;
		nats[i] = nat_create(&cfg, &o);
		workers[i] = nat_worker_create(nats[i], 0, &ctr);
		if (workers[i] == NULL)
			abort();
	}
}

/* A translated packet must still parse. */
static void check_output(const struct fake_mbuf *fm, uint8_t verdict)
{
	struct pkt_info pi;

	if (verdict == NF_VERDICT_DROP)
		return;
	if (parse_packet(fm->data, fm->m.data_len, &pi) > PARSE_NOT_IPV4)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_mbuf fms[NF_BURST];
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t verdicts[NF_BURST];
	uint16_t n = 0, port = 0;
	size_t off = 1;
	int mode;

	if (nats[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	mode = data[0] & 1;
	while (off + 3 <= size && n < NF_BURST) {
		uint16_t len = (uint16_t)(data[off + 1] | data[off + 2] << 8);

		port = data[off] & 1;
		off += 3;
		if (len > size - off)
			len = (uint16_t)(size - off);
		if (len > sizeof(fms[n].data))
			len = sizeof(fms[n].data);
		fake_mbuf_init(&fms[n], data + off, len);
		pkts[n] = &fms[n].m;
		off += len;
		n++;
		/* Each record is its own burst when the next record's port differs. */
		if (off + 3 <= size && (data[off] & 1) != port) {
			nat_process_burst(workers[mode], port, pkts, n, verdicts, 1000);
			for (uint16_t i = 0; i < n; i++)
				check_output(&fms[i], verdicts[i]);
			n = 0;
		}
	}
	if (n > 0) {
		nat_process_burst(workers[mode], port, pkts, n, verdicts, 1000);
		for (uint16_t i = 0; i < n; i++)
			check_output(&fms[i], verdicts[i]);
	}
	return 0;
}
