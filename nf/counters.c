/* Counter names, summing and printing. */
#include "nf/counters.h"

static const char *const ctr_names[NF_CTR__COUNT] = {
	[NF_CTR_RX] = "rx",
	[NF_CTR_TX] = "tx",
	[NF_CTR_TX_FAIL] = "tx_fail",
	[NF_CTR_PASSTHROUGH] = "passthrough",
	[NF_CTR_DROP_ETH_TRUNC] = "drop_eth_trunc",
	[NF_CTR_DROP_IP_TRUNC] = "drop_ip_trunc",
	[NF_CTR_DROP_IP_VERSION] = "drop_ip_version",
	[NF_CTR_DROP_IP_IHL] = "drop_ip_ihl",
	[NF_CTR_DROP_IP_LEN] = "drop_ip_len",
	[NF_CTR_DROP_IP_CSUM] = "drop_ip_csum",
	[NF_CTR_DROP_L4_TRUNC] = "drop_l4_trunc",
	[NF_CTR_DROP_TCP_DOFF] = "drop_tcp_doff",
	[NF_CTR_DROP_UDP_LEN] = "drop_udp_len",
	[NF_CTR_DROP_FRAG_LATER] = "drop_frag_later",
	[NF_CTR_DROP_UNSUPPORTED] = "drop_unsupported",
	[NF_CTR_DROP_NO_MAPPING] = "drop_no_mapping",
	[NF_CTR_DROP_PORTS_EXHAUSTED] = "drop_ports_exhausted",
	[NF_CTR_DROP_STORE_DOWN] = "drop_store_down",
	[NF_CTR_DROP_STORE_ERROR] = "drop_store_error",
	[NF_CTR_DROP_POLICY] = "drop_policy",
	[NF_CTR_DROP_NO_CONN] = "drop_no_conn",
	[NF_CTR_DROP_BAD_STATE] = "drop_bad_state",
	[NF_CTR_DROP_NO_BACKEND] = "drop_no_backend",
	[NF_CTR_CACHE_HITS] = "cache_hits",
	[NF_CTR_CACHE_MISSES] = "cache_misses",
	[NF_CTR_STORE_ROUND_TRIPS] = "store_round_trips",
	[NF_CTR_STORE_CMDS] = "store_cmds",
	[NF_CTR_STORE_INVALIDATIONS] = "store_invalidations",
	[NF_CTR_FLOWS_CREATED] = "flows_created",
	[NF_CTR_WRITE_THROUGH] = "write_through",
	[NF_CTR_WRITE_BEHIND] = "write_behind",
	[NF_CTR_CKSUM_PARTIAL] = "cksum_partial",
	[NF_CTR_BUSY_CYCLES] = "busy_cycles",
	[NF_CTR_IDLE_CYCLES] = "idle_cycles",
};

const char *nf_ctr_name(enum nf_ctr i)
{
	return (unsigned)i < NF_CTR__COUNT ? ctr_names[i] : "?";
}

void nf_counters_sum(const struct nf_counters *per_worker, unsigned n, struct nf_counters *out)
{
	for (unsigned i = 0; i < NF_CTR__COUNT; i++) {
		out->v[i] = 0;
		for (unsigned w = 0; w < n; w++)
			out->v[i] += __atomic_load_n(&per_worker[w].v[i], __ATOMIC_RELAXED);
	}
}

void nf_counters_print(FILE *f, const char *prefix, const struct nf_counters *c)
{
	for (unsigned i = 0; i < NF_CTR__COUNT; i++)
		if (c->v[i] != 0)
			fprintf(f, "%s%s %llu\n", prefix, ctr_names[i], (unsigned long long)c->v[i]);
}
