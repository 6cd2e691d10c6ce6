/* libFuzzer target: parse + load balancer processing (local mode) of arbitrary frames.
 * Input: byte 0 = flags (bit 0: one-armed), then records of [port:1][len:2 LE][frame:len];
 * consecutive records on the same port form one burst. Seeds (tests/fuzz/corpus/lb/) are the
 * golden input packets of tests/golden/lb_*.in*.pcap in this format. Checks: a forwarded
 * IPv4 packet still parses, and one that arrived with correct checksums leaves with them. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nf/parse.h"
#include "nfs/lb/lb.h"
#include "tests/harness/pktgen.h"

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
		memset(&o, 0, sizeof(o));
		strcpy(o.id, "fuzz");
		strcpy(o.ns, "fuzz");
		o.mode = NF_MODE_LOCAL;
		o.one_armed = i == 1;
		o.cache_entries = 64;
		lbs[i] = lb_create(&cfg, &o);
		workers[i] = lbs[i] != NULL ? lb_worker_create(lbs[i], 0, &ctr) : NULL;
		if (workers[i] == NULL)
			abort();
	}
}

static void check_output(const struct fake_mbuf *fm, uint8_t verdict, bool csums_ok_in)
{
	struct pkt_info pi;
	enum parse_status st;

	if (verdict == NF_VERDICT_DROP)
		return;
	st = parse_packet(fm->data, fm->m.data_len, &pi);
	if (st > PARSE_NOT_IPV4)
		abort();
	if (st == PARSE_OK && csums_ok_in && !pktgen_csums_ok(fm->data, fm->m.data_len))
		abort();
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

static void run_burst(int mode, uint16_t port, struct fake_mbuf *fms, const bool *ok, uint16_t n,
		      uint64_t now_us)
{
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t verdicts[NF_BURST];

	for (uint16_t i = 0; i < n; i++)
		pkts[i] = &fms[i].m;
	lb_process_burst(workers[mode], port, pkts, n, verdicts, now_us);
	for (uint16_t i = 0; i < n; i++)
		check_output(&fms[i], verdicts[i], ok[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_mbuf fms[NF_BURST];
	static uint64_t now_us = 1000;
	bool ok[NF_BURST];
	uint16_t n = 0, port = 0;
	size_t off = 1;
	int mode;

	if (lbs[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	mode = data[0] & 1;
	now_us += 1000000;	/* time passes between inputs: entries expire and are refreshed */
	while (off + 3 <= size && n < NF_BURST) {
		uint16_t len = (uint16_t)(data[off + 1] | data[off + 2] << 8);

		port = data[off] & 1;
		off += 3;
		if (len > size - off)
			len = (uint16_t)(size - off);
		if (len > sizeof(fms[n].data))
			len = sizeof(fms[n].data);
		fake_mbuf_init(&fms[n], data + off, len);
		ok[n] = csums_ok(data + off, len);
		off += len;
		n++;
		if (off + 3 <= size && (data[off] & 1) != port) {
			run_burst(mode, port, fms, ok, n, now_us);
			n = 0;
		}
	}
	if (n > 0)
		run_burst(mode, port, fms, ok, n, now_us);
	lb_tick(workers[mode], now_us);
	return 0;
}
