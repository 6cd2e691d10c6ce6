/* libFuzzer target: parse + load balancer processing (local mode) of arbitrary frames.
 * Input (tests/fuzz/fuzz_common.h): byte 0 = flags (bit 0: one-armed), then records of
 * [port:1][len:2 LE][frame:len]; consecutive records on the same port form one burst.
 * Seeds (tests/fuzz/corpus/lb/) are the golden input packets of tests/golden/lb_*.in*.pcap
 * in this format. Checks: a forwarded IPv4 packet still parses, and one that arrived with
 * correct checksums leaves with them. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>

#include "nfs/lb/lb.h"
#include "tests/fuzz/fuzz_common.h"

static struct lb *lbs[2];
static struct lb_worker *workers[2];
static struct nf_counters ctr;

static const char *CONFIG =
	"{\"services\": ["
	"{\"vip\": \"192.0.2.10\", \"port\": 80, \"backends\": [{\"address\": \"10.1.0.1\", \"port\": 8080}]},"
	"{\"vip\": \"192.0.2.10\", \"port\": 443, \"backends\": [{\"address\": \"10.1.0.1\", \"port\": 8443},"
	" {\"address\": \"10.1.0.2\", \"port\": 8443, \"weight\": 2}, {\"address\": \"10.1.0.3\", \"port\": 8443}]},"
	"{\"vip\": \"192.0.2.10\", \"port\": 53, \"proto\": \"udp\", \"backends\": [{\"address\": \"10.1.0.9\", \"port\": 5353}]},"
	"{\"vip\": \"192.0.2.20\", \"port\": 80, \"backends\": [{\"address\": \"10.1.0.5\", \"port\": 80, \"state\": \"drain\"},"
	" {\"address\": \"10.1.0.6\", \"port\": 80}]},"
	"{\"vip\": \"192.0.2.20\", \"port\": 81, \"backends\": []}]}";

static void fuzz_init(void)
{
	static struct lb_config cfg;
	struct nf_opts o;
	char err[256];

	lb_config_default(&cfg);
	if (lb_config_load_string(&cfg, CONFIG, err, sizeof(err)) != 0)
		abort();
	for (int i = 0; i < 2; i++) {
		fuzz_opts(&o, i == 1);
		lbs[i] = lb_create(&cfg, &o);
		workers[i] = lbs[i] != NULL ? lb_worker_create(lbs[i], 0, &ctr) : NULL;
		if (workers[i] == NULL)
			abort();
	}
}

/* True when 'frame' is a complete TCP/UDP packet whose checksums are right (the harness's
 * own checksum code is only safe on frames the parser accepted). */
static bool csums_ok(const uint8_t *frame, uint16_t len)
{
	struct pkt_info pi;

	if (parse_packet(frame, len, &pi) != PARSE_OK || (pi.flags & PKT_F_FRAG_FIRST))
		return false;
	return pi.proto != IPPROTO_ICMP && pktgen_csums_ok(frame, len);
}

/* What run_burst() needs: the worker ('mode', 0 or 1 for one-armed) and the time. */
struct burst_arg {
	int mode;
	uint64_t now_us;
};

/* fuzz_burst_fn on a struct burst_arg. A packet that arrived with correct checksums
 * leaves with them. */
static void run_burst(void *arg, uint16_t port, struct fake_mbuf *fms, uint16_t n)
{
	const struct burst_arg *b = arg;
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t verdicts[NF_BURST];
	bool ok[NF_BURST];

	for (uint16_t i = 0; i < n; i++)
		ok[i] = csums_ok(fms[i].data, fms[i].m.data_len);
	fuzz_mbufs(fms, n, pkts);
	lb_process_burst(workers[b->mode], port, pkts, n, verdicts, b->now_us);
	for (uint16_t i = 0; i < n; i++)
		if (fuzz_forwarded_parses(&fms[i], verdicts[i]) && ok[i] &&
		    !pktgen_csums_ok(fms[i].data, fms[i].m.data_len))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t now_us = 1000;
	struct burst_arg b;

	if (lbs[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	now_us += 1000000;	/* time passes between inputs: entries expire and are refreshed */
	b.mode = data[0] & 1;
	b.now_us = now_us;
	fuzz_bursts(data, size, run_burst, &b);
	lb_tick(workers[b.mode], now_us);
	return 0;
}
