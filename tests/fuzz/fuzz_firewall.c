/* libFuzzer target: parse + firewall processing (local mode) of arbitrary frames, and the
 * rule set parser. Input (tests/fuzz/fuzz_common.h): byte 0 = flags (bit 0: one-armed;
 * bit 1: the rest is a rule set in JSON), then records of [port:1][len:2 LE][frame:len]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nfs/firewall/fw.h"
#include "nfs/firewall/fw_rules.h"
#include "tests/fuzz/fuzz_common.h"

static struct fw *fws[2];
static struct fw_worker *workers[2];
static struct nf_counters ctr;

static const char *RULES =
	"{\"inside_prefixes\": [\"10.0.0.0/8\"], \"timeouts\": {\"tcp_closed\": 1},"
	" \"default\": \"deny\", \"rules\": ["
	"{\"action\": \"deny\", \"dst\": \"198.51.100.66\"},"
	"{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", \"dst_ports\": [1, 1024]},"
	"{\"action\": \"allow\", \"proto\": \"udp\", \"dir\": \"out\"},"
	"{\"action\": \"allow\", \"proto\": \"icmp\"},"
	"{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"in\", \"dst_ports\": 8080},"
	"{\"action\": \"deny\", \"proto\": \"tcp\", \"src_ports\": 0}]}";

static void fuzz_init(void)
{
	struct fw_config cfg;
	struct nf_opts o;
	char err[256];

	fw_config_default(&cfg);
	if (fw_config_load_string(&cfg, RULES, err, sizeof(err)) != 0)
		abort();
	for (int i = 0; i < 2; i++) {
		fuzz_opts(&o, i == 1);
		fws[i] = fw_create(&cfg, &o);
		workers[i] = fws[i] != NULL ? fw_worker_create(fws[i], 0, &ctr) : NULL;
		if (workers[i] == NULL)
			abort();
	}
	fw_config_free(&cfg);
}

static void fuzz_rules(const uint8_t *data, size_t size)
{
	struct fw_ruleset *rs = NULL;
	struct fw_match m = { 0x0a000005, 0xc6336407, 1234, 80, 6, FW_DIR_OUT };
	char err[256];

	if (fw_rules_parse((const char *)data, size, &rs, err, sizeof(err)) != 0)
		return;
	if (fw_rules_eval(rs, &m, NULL) != FW_ALLOW && fw_rules_eval(rs, &m, NULL) != FW_DENY)
		abort();
	fw_ruleset_free(rs);
}

/* The firewall never modifies a packet, and only sends it where it may. */
static void check_output(const struct fake_mbuf *fm, const uint8_t *orig, uint8_t verdict, int one_armed)
{
	if (verdict == NF_VERDICT_DROP)
		return;
	if (verdict > 1 || (one_armed && verdict != 0))
		abort();
	if (memcmp(fm->data, orig, fm->m.data_len) != 0)
		abort();
}

/* What run_burst() needs: the worker ('mode', 0 or 1 for one-armed) and the time. */
struct burst_arg {
	int mode;
	uint64_t now;
};

/* fuzz_burst_fn on a struct burst_arg. */
static void run_burst(void *arg, uint16_t port, struct fake_mbuf *fms, uint16_t n)
{
	static uint8_t copies[NF_BURST][2048];
	const struct burst_arg *b = arg;
	struct rte_mbuf *pkts[NF_BURST];
	uint8_t verdicts[NF_BURST];

	for (uint16_t i = 0; i < n; i++)
		memcpy(copies[i], fms[i].data, fms[i].m.data_len);
	fuzz_mbufs(fms, n, pkts);
	fw_process_burst(workers[b->mode], port, pkts, n, verdicts, b->now);
	for (uint16_t i = 0; i < n; i++)
		check_output(&fms[i], copies[i], verdicts[i], b->mode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t now = 1000000;
	struct burst_arg b;

	if (fws[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	if (data[0] & 2) {
		fuzz_rules(data + 1, size - 1);
		return 0;
	}
	now += 300000;		/* time passes between inputs: connections expire */
	b.mode = data[0] & 1;
	b.now = now;
	fuzz_bursts(data, size, run_burst, &b);
	return 0;
}
