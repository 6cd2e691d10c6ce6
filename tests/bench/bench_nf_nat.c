/* The NAT in the NF benchmark: outbound UDP (or TCP ACK) flows to one server, 16 public
 * addresses, and its new-flow setup rate next to redis-benchmark of the same script. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "datastore/scripts.h"
#include "nfs/nat/nat.h"
#include "tests/bench/bench.h"

#define NAT_BENCH_N_PUBLIC 16		/* 16 x 64512 public ports per protocol */
#define NAT_BENCH_PORTS_PER_IP 64	/* inside flows per inside address */
#define NAT_BENCH_RB_REQUESTS 200000
#define NAT_BENCH_RB_REQUESTS_STR "200000"

struct bench_inst {
	struct nat *nat;
	struct nat_worker *w;
};

static struct nat_config nat_bench_cfg;
static char nat_bench_sha[41];	/* SHA1 of nat_alloc.lua, "" when not loaded */

/* SHA1 of nat_alloc.lua as the server knows it (SCRIPT LOAD; FLUSHALL keeps scripts), into
 * 'sha' (41 bytes). */
static int nat_bench_alloc_sha(struct bench *b, char *sha)
{
	size_t size;
	const char *text = store_script_text(SCRIPT_NAT_ALLOC, &size);
	redisReply *r = redisCommand(b->admin, "SCRIPT LOAD %b", text, size);
	int ok = r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40;

	if (ok)
		memcpy(sha, r->str, 41);
	if (r != NULL)
		freeReplyObject(r);
	return ok ? 0 : -EIO;
}

static int nat_bench_setup(struct bench *b)
{
	char json[2048], err[256];
	size_t off;

	nat_config_default(&nat_bench_cfg);
	off = (size_t)snprintf(json, sizeof(json), "{\"public_ips\": [");
	for (unsigned i = 1; i <= NAT_BENCH_N_PUBLIC; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s\"203.0.113.%u\"",
					i > 1 ? ", " : "", i);
	snprintf(json + off, sizeof(json) - off, "], \"port_range\": [1024, 65535]}");
	if (nat_config_load_string(&nat_bench_cfg, json, err, sizeof(err)) != 0 ||
	    nat_config_validate(&nat_bench_cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: NAT config: %s\n", err);
		return -EINVAL;
	}
	nat_bench_sha[0] = '\0';
	if (b->o.redis_benchmark != NULL && nat_bench_alloc_sha(b, nat_bench_sha) != 0)
		fprintf(stderr, "bench: SCRIPT LOAD nat_alloc.lua failed: no redis-benchmark lines\n");
	return 0;
}

static void nat_bench_cleanup(void)
{
}

static void nat_bench_describe(const struct bench_opts *o, char *buf, size_t size)
{
	snprintf(buf, size, "outbound %s, %u-byte frames", o->tcp ? "TCP ACK" : "UDP", BENCH_FRAME_LEN);
}

/* Inside endpoint number 'g' to 198.51.100.7:443: 10.0.0.1 + g / 64, port 20000 + g % 64. */
static uint16_t nat_bench_build(const struct bench_opts *o, unsigned stage, uint64_t g, uint8_t *buf,
				size_t size)
{
	struct pkt_spec s = { .dst = "198.51.100.7", .dport = 443 };
	uint32_t ip = 0x0a000001u + (uint32_t)(g / NAT_BENCH_PORTS_PER_IP);
	char src[16];

	(void)stage;
	s.proto = o->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	s.tcp_flags = 0x10;	/* ACK only: no state transition after the mapping exists */
	s.payload_len = BENCH_FRAME_LEN - 14 - 20 - (o->tcp ? 20 : 8);
	s.seq = 1000, s.ack = 2000;
	s.src = src;
	snprintf(src, sizeof(src), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	s.sport = (uint16_t)(20000 + g % NAT_BENCH_PORTS_PER_IP);
	return pktgen_build(buf, size, &s);
}

static struct bench_inst *nat_bench_create(unsigned variant, const struct nf_opts *opts,
					   struct nf_counters *ctr)
{
	struct bench_inst *in = calloc(1, sizeof(*in));

	(void)variant;
	if (in == NULL)
		return NULL;
	in->nat = nat_create(&nat_bench_cfg, opts);
	if (in->nat == NULL)
		goto err;
	in->w = nat_worker_create(in->nat, 0, ctr);
	if (in->w == NULL)
		goto err;
	return in;
err:
	nat_destroy(in->nat);
	free(in);
	return NULL;
}

static void nat_bench_destroy(struct bench_inst *in)
{
	nat_worker_destroy(in->w);
	nat_destroy(in->nat);
	free(in);
}

static void nat_bench_process(struct bench_inst *in, uint16_t in_port, struct rte_mbuf **pkts,
			      uint16_t n, uint8_t *out_ports, uint64_t now_us)
{
	nat_process_burst(in->w, in_port, pkts, n, out_ports, now_us);
}

static void nat_bench_tick(struct bench_inst *in, uint64_t now_us)
{
	nat_tick(in->w, now_us);
}

/* ---- redis-benchmark ---- */

/* EVALSHA nat_alloc as the NAT sends it in cached mode for a new flow: random inside
 * endpoint (forward key) and random reverse-key prefix, so that every call allocates on
 * its first probe, like the NAT with 16 x 64512 free ports. */
static double nat_bench_rb_alloc(struct bench *b, const char *clients)
{
	const char *args[] = {
		"-n", NAT_BENCH_RB_REQUESTS_STR, "-c", clients, "-P", "32", "-r", "100000000", "-q",
		"EVALSHA", nat_bench_sha, "1", "rb:m__rand_int__",	/* KEYS[1] forward key */
		"rb:r__rand_int__",	/* ARGV[1] reverse key prefix */
		"rb:puPPPP",		/* ARGV[2] port cursor key: "<ns>:p" + proto + address */
		"PPPP",			/* ARGV[3] public address, 4 bytes */
		"1024", "65535", "30000",	/* ARGV[4..6] port range, TTL ms */
		"AAAA0000BB00u000",	/* ARGV[7] 16-byte value template */
		"128", "0", "0", "0",	/* ARGV[8] probes, ARGV[9..11] no refresh */
		"rb:s__rand_int__", "64",	/* ARGV[12..13] counters key, first packet's bytes */
	};

	return bench_rb_run(b, (int)(sizeof(args) / sizeof(args[0])), args);
}

/* redis-benchmark of nat_alloc with one client on an empty data set, or -1. */
static double nat_bench_side(struct bench *b)
{
	if (b->o.redis_benchmark == NULL || nat_bench_sha[0] == '\0' || bench_flushall(b) != 0)
		return -1;
	return nat_bench_rb_alloc(b, "1");
}

static double nat_bench_rb_get(struct bench *b)
{
	const char *args[] = { "-n", NAT_BENCH_RB_REQUESTS_STR, "-c", "1", "-P", "32", "-r", "100000",
			       "-q", "GET", "key:__rand_int__" };

	return bench_rb_run(b, (int)(sizeof(args) / sizeof(args[0])), args);
}

/* New-flow setup: NAT cached P=1 next to redis-benchmark of the same script (the -c 1 runs
 * were made between the cells, median; the others are references run once here). */
static void nat_bench_report(struct bench *b)
{
	const struct bench_result *r = &b->cells[2][0];
	double nat = (double)r->flows / bench_secs(r), c1 = b->side, c4 = -1, get = -1;

	if (c1 > 0 && bench_flushall(b) == 0) {
		c4 = nat_bench_rb_alloc(b, "4");
		bench_flushall(b);
		get = nat_bench_rb_get(b);
	}
	printf("| new-flow setup (%s) | rate |\n|---|--:|\n", b->o.use_unix ? "unix socket" : "TCP loopback");
	printf("| NAT cached, P=1 (every packet a new flow; %.2f store commands per flow) | %.0f flows/s |\n",
	       r->flows ? (double)r->cmds / (double)r->flows : 0.0, nat);
	if (c1 < 0) {
		printf("| redis-benchmark | not run (%s) |\n\n",
		       b->o.redis_benchmark ? "failed" : "no --redis-benchmark");
		return;
	}
	printf("| redis-benchmark EVALSHA nat_alloc -n %d -c 1 -P 32 (median of %u, run next to the P=1 "
	       "cells) | %.0f req/s |\n", NAT_BENCH_RB_REQUESTS, b->o.reps, c1);
	printf("| redis-benchmark EVALSHA nat_alloc -n %d -c 4 -P 32 (reference) | %.0f req/s |\n",
	       NAT_BENCH_RB_REQUESTS, c4);
	printf("| redis-benchmark GET -n %d -c 1 -P 32 (reference) | %.0f req/s |\n\n",
	       NAT_BENCH_RB_REQUESTS, get);
	printf("| target | measured | result |\n|---|--:|---|\n");
	bench_print_target("NAT setup rate / redis-benchmark EVALSHA (-c 1)", nat / c1, 0.30);
}

const struct bench_nf_ops bench_nf_nat = {
	.name = "nat",
	.title = "NAT",
	.noun = "NAT",
	.fast_path = "nat_process_burst",
	.n_packets = 200000,
	.flows_note = "flows \"new\": every pass brings F flows never seen (their mappings are created "
		      "in the timed loop); \"established\": the same F flows, mappings created by an "
		      "untimed packet per flow first. ",
	.n_stages = 1,
	.stage_ports = { NF_PORT_INSIDE },
	.setup = nat_bench_setup,
	.cleanup = nat_bench_cleanup,
	.describe = nat_bench_describe,
	.build = nat_bench_build,
	.create = nat_bench_create,
	.destroy = nat_bench_destroy,
	.process = nat_bench_process,
	.tick = nat_bench_tick,
	.side_run = nat_bench_side,
	.report = nat_bench_report,
};
