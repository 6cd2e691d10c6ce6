/* The firewall in the NF benchmark: outbound TCP connections (handshake, then data) that
 * the last of 1,000 rules allows, and the cost of scanning those rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "nfs/firewall/fw.h"
#include "tests/bench/bench.h"

#define FW_BENCH_N_RULES 1000
#define FW_BENCH_PORTS_PER_IP 64	/* inside flows per inside address */
#define FW_BENCH_SERVER "198.51.100.7"
#define FW_BENCH_PORT 443
#define FW_BENCH_ISN_C 1000u		/* client's initial sequence number */
#define FW_BENCH_ISN_S 5000u		/* server's */
#define FW_BENCH_DATA 10		/* payload bytes of a data segment: 64-byte frames */
#define FW_BENCH_SCAN_FLOWS 4000	/* F of the rule scan cells: a cache that stays in L2 */

enum { FW_BENCH_SYN, FW_BENCH_SYNACK, FW_BENCH_ACK, FW_BENCH_DATA_SEG };
enum { FW_BENCH_V_1000 = 0, FW_BENCH_V_1 = 1, FW_BENCH_N_VARIANTS };

#define SYN 0x02
#define ACK 0x10

struct bench_inst {
	struct fw *fw;
	struct fw_worker *w;
};

static struct fw_config fw_bench_cfg[FW_BENCH_N_VARIANTS];

static const char fw_bench_allow[] = "{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", "
				     "\"dst\": \"198.51.100.0/24\", \"dst_ports\": 443}";

/* The rule set JSON: 'n_deny' rules that every outbound TCP packet is compared with and
 * none matches (deny tcp out to 172.16.x.y/32 port 443), then the allowing rule. The
 * caller frees it. */
static char *fw_bench_rules_json(unsigned n_deny)
{
	size_t size = 128 + sizeof(fw_bench_allow) + (size_t)n_deny * 128, off;
	char *json = malloc(size);

	if (json == NULL)
		return NULL;
	off = (size_t)snprintf(json, size, "{\"default\": \"deny\", \"rules\": [");
	for (unsigned i = 0; i < n_deny; i++)
		off += (size_t)snprintf(json + off, size - off, "{\"action\": \"deny\", \"proto\": \"tcp\", "
					"\"dir\": \"out\", \"dst\": \"172.16.%u.%u/32\", \"dst_ports\": %u}, ",
					i / 256, i % 256, FW_BENCH_PORT);
	snprintf(json + off, size - off, "%s]}", fw_bench_allow);
	return json;
}

static int fw_bench_config(struct fw_config *cfg, unsigned n_rules)
{
	char err[256], *json = fw_bench_rules_json(n_rules - 1);
	int rc;

	fw_config_default(cfg);
	if (json == NULL)
		return -ENOMEM;
	rc = fw_config_load_string(cfg, json, err, sizeof(err));
	if (rc == 0)
		rc = fw_config_validate(cfg, NULL, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "bench: firewall config (%u rules): %s\n", n_rules, err);
	free(json);
	return rc;
}

static void fw_bench_cleanup(void)
{
	for (unsigned v = 0; v < FW_BENCH_N_VARIANTS; v++)
		fw_config_free(&fw_bench_cfg[v]);
}

static int fw_bench_setup(struct bench *b)
{
	(void)b;
	if (fw_bench_config(&fw_bench_cfg[FW_BENCH_V_1000], FW_BENCH_N_RULES) != 0 ||
	    fw_bench_config(&fw_bench_cfg[FW_BENCH_V_1], 1) != 0) {
		fw_bench_cleanup();
		return -EINVAL;
	}
	return 0;
}

static void fw_bench_describe(const struct bench_opts *o, char *buf, size_t size)
{
	(void)o;
	snprintf(buf, size, "outbound TCP connections to %s:%u: SYN, SYN-ACK (inbound), ACK (54-byte "
		 "frames), then ACK segments with %u bytes of data (%u-byte frames); %u rules, the "
		 "allowing one last (default deny)", FW_BENCH_SERVER, FW_BENCH_PORT, FW_BENCH_DATA,
		 BENCH_FRAME_LEN, FW_BENCH_N_RULES);
}

/* Stage 'stage' of the connection of inside endpoint number 'g' (10.0.0.1 + g / 64, port
 * 20000 + g % 64) to the server. */
static uint16_t fw_bench_build(const struct bench_opts *o, unsigned stage, uint64_t g, uint8_t *buf,
			       size_t size)
{
	static const struct { uint8_t flags; bool in; uint32_t seq, ack; uint16_t len; } st[] = {
		[FW_BENCH_SYN] = { SYN, false, FW_BENCH_ISN_C, 0, 0 },
		[FW_BENCH_SYNACK] = { SYN | ACK, true, FW_BENCH_ISN_S, FW_BENCH_ISN_C + 1, 0 },
		[FW_BENCH_ACK] = { ACK, false, FW_BENCH_ISN_C + 1, FW_BENCH_ISN_S + 1, 0 },
		[FW_BENCH_DATA_SEG] = { ACK, false, FW_BENCH_ISN_C + 1, FW_BENCH_ISN_S + 1, FW_BENCH_DATA },
	};
	uint32_t ip = 0x0a000001u + (uint32_t)(g / FW_BENCH_PORTS_PER_IP);
	uint16_t port = (uint16_t)(20000 + g % FW_BENCH_PORTS_PER_IP);
	struct pkt_spec s = { .proto = IPPROTO_TCP };
	char client[16];

	(void)o;
	if (stage >= sizeof(st) / sizeof(st[0]))
		return 0;
	snprintf(client, sizeof(client), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
		 ip & 255);
	s.src = st[stage].in ? FW_BENCH_SERVER : client;
	s.dst = st[stage].in ? client : FW_BENCH_SERVER;
	s.sport = st[stage].in ? FW_BENCH_PORT : port;
	s.dport = st[stage].in ? port : FW_BENCH_PORT;
	s.tcp_flags = st[stage].flags;
	s.seq = st[stage].seq;
	s.ack = st[stage].ack;
	s.payload_len = st[stage].len;
	return pktgen_build(buf, size, &s);
}

static struct bench_inst *fw_bench_create(unsigned variant, const struct nf_opts *opts,
					  struct nf_counters *ctr)
{
	struct bench_inst *in = calloc(1, sizeof(*in));

	if (in == NULL || variant >= FW_BENCH_N_VARIANTS)
		goto err;
	in->fw = fw_create(&fw_bench_cfg[variant], opts);
	if (in->fw == NULL)
		goto err;
	in->w = fw_worker_create(in->fw, 0, ctr);
	if (in->w == NULL)
		goto err;
	return in;
err:
	if (in != NULL)
		fw_destroy(in->fw);
	free(in);
	return NULL;
}

static void fw_bench_destroy(struct bench_inst *in)
{
	fw_worker_destroy(in->w);
	fw_destroy(in->fw);
	free(in);
}

static void fw_bench_process(struct bench_inst *in, uint16_t in_port, struct rte_mbuf **pkts,
			     uint16_t n, uint8_t *out_ports, uint64_t now_us)
{
	fw_process_burst(in->w, in_port, pkts, n, out_ports, now_us);
}

static void fw_bench_tick(struct bench_inst *in, uint64_t now_us)
{
	fw_tick(in->w, now_us);
}

static void fw_bench_rule_row(const char *what, const struct bench_result *r)
{
	printf("| %s | %.3f | %.1f |\n", what, bench_mpps(r), bench_secs(r) * 1e9 / (double)r->pkts);
}

/* Rule evaluation: established flows never scan the rules; a SYN scans them once. The scan
 * cells use a small F so that the difference is the scan, not cache misses in a big table. */
static void fw_bench_report(struct bench *b)
{
	const struct bench_result *est = &b->est[2], *syn = &b->extra[0], *syn1 = &b->extra[1];
	double scan_ns = (bench_secs(syn) / (double)syn->pkts - bench_secs(syn1) / (double)syn1->pkts) * 1e9;

	printf("| firewall rule evaluation | Mpps | ns/pkt |\n|---|--:|--:|\n");
	fw_bench_rule_row("cached, established, 1000 rules (P=100: the cached established row above)", est);
	fw_bench_rule_row(b->nf->extra[0].label, syn);
	fw_bench_rule_row(b->nf->extra[1].label, syn1);
	printf("| scanning 999 more rules, per new connection (the two rows above) | | %.1f |\n\n", scan_ns);
	printf("| target | measured | result |\n|---|--:|---|\n");
	bench_print_target("firewall cached, established, 1000 rules, Mpps", bench_mpps(est), 1.0);
}

const struct bench_nf_ops bench_nf_fw = {
	.name = "firewall",
	.title = "Firewall",
	.noun = "firewall",
	.fast_path = "fw_process_burst",
	.n_packets = 100000,
	.pass_skew_us = 1000000000000ull,	/* 11.6 days: tcp_established lasts 5 */
	.flows_note = "flows \"new\": every pass brings F connections never seen, opened in the timed "
		      "loop: a flow's first three packets are its handshake (the SYN scans the rules and "
		      "creates the connection, the SYN-ACK and the ACK are state transitions written "
		      "through), the others data segments; \"established\": the same F connections, "
		      "their handshakes untimed first, then only data segments. ",
	.n_stages = 4,
	.stage_ports = { NF_PORT_INSIDE, NF_PORT_OUTSIDE, NF_PORT_INSIDE, NF_PORT_INSIDE },
	.n_extra = 2,
	.extra = {
		{ .mode = NF_MODE_LOCAL, .p = 1, .n_flows = FW_BENCH_SCAN_FLOWS, .variant = FW_BENCH_V_1000,
		  .label = "local, new, P=1, F=4000, 1000 rules: every packet a SYN, one scan of the rules each" },
		{ .mode = NF_MODE_LOCAL, .p = 1, .n_flows = FW_BENCH_SCAN_FLOWS, .variant = FW_BENCH_V_1,
		  .label = "local, new, P=1, F=4000, 1 rule (the allowing rule alone)" },
	},
	.setup = fw_bench_setup,
	.cleanup = fw_bench_cleanup,
	.describe = fw_bench_describe,
	.build = fw_bench_build,
	.create = fw_bench_create,
	.destroy = fw_bench_destroy,
	.process = fw_bench_process,
	.tick = fw_bench_tick,
	.report = fw_bench_report,
};
