/* The load balancer in the NF benchmark: client connections to one TCP service (VIP:80)
 * with four backends, a SYN then ACK segments, rewritten to the chosen backend. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "nfs/lb/lb.h"
#include "tests/bench/bench.h"

#define LB_BENCH_PORTS_PER_IP 64	/* client flows per client address */
#define LB_BENCH_VIP "192.0.2.10"
#define LB_BENCH_VPORT 80
#define LB_BENCH_DATA 10		/* payload bytes of a data segment: 64-byte frames */

#define SYN 0x02
#define ACK 0x10

struct bench_inst {
	struct lb *lb;
	struct lb_worker *w;
};

static struct lb_config lb_bench_cfg;

static const char lb_bench_json[] =
	"{\"services\": [{\"vip\": \"" LB_BENCH_VIP "\", \"port\": 80, \"proto\": \"tcp\", \"backends\": ["
	"{\"address\": \"10.1.0.1\", \"port\": 8080}, {\"address\": \"10.1.0.2\", \"port\": 8080}, "
	"{\"address\": \"10.1.0.3\", \"port\": 8080}, {\"address\": \"10.1.0.4\", \"port\": 8080}]}]}";

static int lb_bench_setup(struct bench *b)
{
	char err[256];

	(void)b;
	lb_config_default(&lb_bench_cfg);
	if (lb_config_load_string(&lb_bench_cfg, lb_bench_json, err, sizeof(err)) != 0 ||
	    lb_config_validate(&lb_bench_cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: LB config: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

static void lb_bench_cleanup(void)
{
}

static void lb_bench_describe(const struct bench_opts *o, char *buf, size_t size)
{
	(void)o;
	snprintf(buf, size, "client -> VIP TCP to %s:%u, one service with 4 backends (Maglev, half NAT): "
		 "a SYN (54-byte frame), then ACK segments with %u bytes of data (%u-byte frames)",
		 LB_BENCH_VIP, LB_BENCH_VPORT, LB_BENCH_DATA, BENCH_FRAME_LEN);
}

/* Stage 0 (SYN) or 1 (data) of client endpoint number 'g' (100.64.0.1 + g / 64, port
 * 20000 + g % 64) to the VIP. */
static uint16_t lb_bench_build(const struct bench_opts *o, unsigned stage, uint64_t g, uint8_t *buf,
			       size_t size)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .dst = LB_BENCH_VIP, .dport = LB_BENCH_VPORT };
	uint32_t ip = 0x64400001u + (uint32_t)(g / LB_BENCH_PORTS_PER_IP);
	char client[16];

	(void)o;
	snprintf(client, sizeof(client), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
		 ip & 255);
	s.src = client;
	s.sport = (uint16_t)(20000 + g % LB_BENCH_PORTS_PER_IP);
	s.tcp_flags = stage == 0 ? SYN : ACK;
	s.seq = stage == 0 ? 1000 : 1001;
	s.ack = stage == 0 ? 0 : 5001;
	s.payload_len = stage == 0 ? 0 : LB_BENCH_DATA;
	return pktgen_build(buf, size, &s);
}

static struct bench_inst *lb_bench_create(unsigned variant, const struct nf_opts *opts,
					  struct nf_counters *ctr)
{
	struct bench_inst *in = calloc(1, sizeof(*in));

	(void)variant;
	if (in == NULL)
		return NULL;
	in->lb = lb_create(&lb_bench_cfg, opts);
	if (in->lb == NULL)
		goto err;
	in->w = lb_worker_create(in->lb, 0, ctr);
	if (in->w == NULL)
		goto err;
	return in;
err:
	lb_destroy(in->lb);
	free(in);
	return NULL;
}

static void lb_bench_destroy(struct bench_inst *in)
{
	lb_worker_destroy(in->w);
	lb_destroy(in->lb);
	free(in);
}

static void lb_bench_process(struct bench_inst *in, uint16_t in_port, struct rte_mbuf **pkts,
			     uint16_t n, uint8_t *out_ports, uint64_t now_us)
{
	lb_process_burst(in->w, in_port, pkts, n, out_ports, now_us);
}

static void lb_bench_tick(struct bench_inst *in, uint64_t now_us)
{
	lb_tick(in->w, now_us);
}

const struct bench_nf_ops bench_nf_lb = {
	.name = "lb",
	.title = "Load balancer",
	.noun = "LB",
	.fast_path = "lb_process_burst",
	.n_packets = 100000,
	.flows_note = "flows \"new\": every pass brings F client connections never seen (the backend "
		      "is chosen and the connection stored in the timed loop, on the SYN); "
		      "\"established\": the same F connections, created by an untimed SYN per flow "
		      "first, then only data segments. ",
	.n_stages = 2,
	.stage_ports = { NF_PORT_OUTSIDE, NF_PORT_OUTSIDE },
	.setup = lb_bench_setup,
	.cleanup = lb_bench_cleanup,
	.describe = lb_bench_describe,
	.build = lb_bench_build,
	.create = lb_bench_create,
	.destroy = lb_bench_destroy,
	.process = lb_bench_process,
	.tick = lb_bench_tick,
};
