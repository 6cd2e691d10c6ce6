/* Firewall rule sets: the JSON form compiled into a flat array, with precise error messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "nf/cfgjson.h"
#include "nfs/firewall/fw_rules.h"

#ifdef __SSE4_1__
#include <smmintrin.h>
#endif

#define RULE_FIELDS "action, proto, dir, src, dst, src_ports, dst_ports, comment"

static int parse_action(const json_t *v, const char *where, uint8_t *out, char *err, size_t errsz)
{
	const char *s = json_string_value(v);

	if (s != NULL && strcmp(s, "allow") == 0)
		*out = FW_ALLOW;
	else if (s != NULL && strcmp(s, "deny") == 0)
		*out = FW_DENY;
	else
		return cfgjson_err(err, errsz, where, "must be \"allow\" or \"deny\"");
	return 0;
}

static int parse_proto(const json_t *v, const char *where, uint8_t *out, char *err, size_t errsz)
{
	static const struct { const char *name; uint8_t proto; } protos[] = {
		{ "any", 0 }, { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "icmp", IPPROTO_ICMP },
	};
	const char *s = json_string_value(v);

	for (size_t i = 0; s != NULL && i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcmp(s, protos[i].name) == 0) {
			*out = protos[i].proto;
			return 0;
		}
	}
	if (s == NULL)
		return cfgjson_err(err, errsz, where, "must be a string: tcp, udp, icmp or any");
	return cfgjson_err(err, errsz, where, "'%s' is not one of tcp, udp, icmp, any", s);
}

static int parse_dir(const json_t *v, const char *where, uint8_t *out, char *err, size_t errsz)
{
	const char *s = json_string_value(v);

	if (s != NULL && strcmp(s, "in") == 0)
		*out = FW_DIR_IN;
	else if (s != NULL && strcmp(s, "out") == 0)
		*out = FW_DIR_OUT;
	else if (s != NULL && strcmp(s, "any") == 0)
		*out = FW_DIR_ANY;
	else if (s == NULL)
		return cfgjson_err(err, errsz, where, "must be a string: in, out or any");
	else
		return cfgjson_err(err, errsz, where, "'%s' is not one of in, out, any", s);
	return 0;
}

static int parse_prefix(const json_t *v, const char *where, uint32_t *net, uint32_t *mask,
			char *err, size_t errsz)
{
	const char *s = json_string_value(v);

	if (s == NULL)
		return cfgjson_err(err, errsz, where, "must be a string \"A.B.C.D/LEN\"");
	return cfgjson_prefix(s, where, net, mask, err, errsz);
}

/* One field 'k' of rule 'idx'. */
static int rule_field(struct fw_rule *r, size_t idx, const char *k, const json_t *v, char *err,
		      size_t errsz)
{
	char where[96];

	snprintf(where, sizeof(where), "rules[%zu].%s", idx, k);
	if (strcmp(k, "action") == 0)
		return parse_action(v, where, &r->action, err, errsz);
	if (strcmp(k, "proto") == 0)
		return parse_proto(v, where, &r->proto, err, errsz);
	if (strcmp(k, "dir") == 0)
		return parse_dir(v, where, &r->dirs, err, errsz);
	if (strcmp(k, "src") == 0)
		return parse_prefix(v, where, &r->src_net, &r->src_mask, err, errsz);
	if (strcmp(k, "dst") == 0)
		return parse_prefix(v, where, &r->dst_net, &r->dst_mask, err, errsz);
	if (strcmp(k, "src_ports") == 0)
		return cfgjson_port_range(v, where, &r->sport_lo, &r->sport_span, err, errsz);
	if (strcmp(k, "dst_ports") == 0)
		return cfgjson_port_range(v, where, &r->dport_lo, &r->dport_span, err, errsz);
	if (strcmp(k, "comment") == 0)
		return json_is_string(v) ? 0 : cfgjson_err(err, errsz, where, "must be a string");
	return cfgjson_err(err, errsz, where, "unknown field (" RULE_FIELDS ")");
}

/* Checks that need the whole rule. */
static int rule_check(struct fw_rule *r, size_t idx, const json_t *obj, char *err, size_t errsz)
{
	char where[96];

	snprintf(where, sizeof(where), "rules[%zu]", idx);
	if (json_object_get(obj, "action") == NULL)
		return cfgjson_err(err, errsz, where, "\"action\" is required (\"allow\" or \"deny\")");
	r->has_ports = r->sport_span != 0xffff || r->dport_span != 0xffff;
	if (r->has_ports && r->proto == IPPROTO_ICMP) {
		snprintf(where, sizeof(where), "rules[%zu].%s", idx,
			 r->dport_span != 0xffff ? "dst_ports" : "src_ports");
		return cfgjson_err(err, errsz, where, "ports need proto tcp, udp or any");
	}
	return 0;
}

static int rule_compile(struct fw_rule *r, size_t idx, const json_t *obj, char *err, size_t errsz)
{
	const char *k;
	json_t *v;

	memset(r, 0, sizeof(*r));
	r->dirs = FW_DIR_ANY;
	r->sport_span = r->dport_span = 0xffff;
	if (!json_is_object(obj)) {
		char where[32];

		snprintf(where, sizeof(where), "rules[%zu]", idx);
		return cfgjson_err(err, errsz, where, "must be an object");
	}
	json_object_foreach((json_t *)obj, k, v)
		if (rule_field(r, idx, k, v, err, errsz) != 0)
			return -EINVAL;
	return rule_check(r, idx, obj, err, errsz);
}

static int ruleset_top(const json_t *root, bool only_rules, const json_t **rules, uint8_t *def,
		       char *err, size_t errsz)
{
	const char *k;
	json_t *v;

	if (!json_is_object(root))
		return cfgjson_err(err, errsz, "rules file", "must be a JSON object {\"default\", \"rules\"}");
	*def = FW_DENY;
	*rules = json_object_get(root, "rules");
	if (json_object_get(root, "default") != NULL &&
	    parse_action(json_object_get(root, "default"), "default", def, err, errsz) != 0)
		return -EINVAL;
	if (*rules != NULL && !json_is_array(*rules))
		return cfgjson_err(err, errsz, "rules", "must be an array of rule objects");
	if (*rules != NULL && json_array_size(*rules) > FW_MAX_RULES)
		return cfgjson_err(err, errsz, "rules", "more than %d rules", FW_MAX_RULES);
	json_object_foreach((json_t *)root, k, v)
		if (only_rules && strcmp(k, "default") != 0 && strcmp(k, "rules") != 0)
			return cfgjson_err(err, errsz, k, "unknown field (default, rules)");
	return 0;
}

/* The kind (0 .. FW_KINDS-1) of a packet of 'proto' going 'dir', or -1. */
static int kind_of(uint8_t proto, uint8_t dir)
{
	int p = proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : proto == IPPROTO_ICMP ? 2 : -1;

	if (p < 0 || (dir != FW_DIR_IN && dir != FW_DIR_OUT))
		return -1;
	return p * 2 + (dir == FW_DIR_OUT);
}

/* Whether rule 'r' can match packets of kind 'k' (a rule with ports never matches ICMP). */
static bool rule_has_kind(const struct fw_rule *r, int k)
{
	static const uint8_t protos[3] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	uint8_t proto = protos[k / 2], dir = k % 2 ? FW_DIR_OUT : FW_DIR_IN;

	if (r->proto != 0 && r->proto != proto)
		return false;
	if (r->has_ports && proto == IPPROTO_ICMP)
		return false;
	return (r->dirs & dir) != 0;
}

static void block_lane(struct fw_rule_block *b, unsigned lane, const struct fw_rule *r, uint32_t idx)
{
	b->src_net[lane] = r->src_net;
	b->src_mask[lane] = r->src_mask;
	b->dst_net[lane] = r->dst_net;
	b->dst_mask[lane] = r->dst_mask;
	b->sport_lo[lane] = r->sport_lo;
	b->sport_span[lane] = r->sport_span;
	b->dport_lo[lane] = r->dport_lo;
	b->dport_span[lane] = r->dport_span;
	b->idx[lane] = idx;
}

/* A lane no packet matches: no port is 0x10000 or above. */
static void block_pad(struct fw_rule_block *b, unsigned lane)
{
	b->src_net[lane] = b->src_mask[lane] = b->dst_net[lane] = b->dst_mask[lane] = 0;
	b->sport_lo[lane] = b->dport_lo[lane] = 0x10000;
	b->sport_span[lane] = b->dport_span[lane] = 0;
	b->idx[lane] = 0;
}

/* Fill the blocks of kind 'k' from 'at'; returns the number of blocks used. */
static uint32_t kind_fill(struct fw_ruleset *rs, int k, struct fw_rule_block *at)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < rs->n_rules; i++)
		if (rule_has_kind(&rs->rules[i], k))
			block_lane(&at[n / 4], n % 4, &rs->rules[i], i), n++;
	for (uint32_t lane = n; lane % 4 != 0; lane++)
		block_pad(&at[lane / 4], lane % 4);
	return (n + 3) / 4;
}

/* Build the per-kind block lists of 'rs' in one allocation, which blocks[0] points at
 * (even when kind 0 has no block). Returns 0 or -ENOMEM. */
static int ruleset_build_blocks(struct fw_ruleset *rs)
{
	uint32_t total = 0, cnt[FW_KINDS] = { 0 };
	struct fw_rule_block *all;

	for (int k = 0; k < FW_KINDS; k++) {
		for (uint32_t i = 0; i < rs->n_rules; i++)
			cnt[k] += rule_has_kind(&rs->rules[i], k);
		total += (cnt[k] + 3) / 4;
	}
	if (total == 0)
		return 0;
	all = aligned_alloc(64, ((size_t)total * sizeof(*all) + 63) & ~(size_t)63);
	if (all == NULL)
		return -ENOMEM;
	for (int k = 0; k < FW_KINDS; k++) {
		rs->blocks[k] = all;
		rs->n_blocks[k] = kind_fill(rs, k, all);
		all += rs->n_blocks[k];
	}
	return 0;
}

#ifdef __SSE4_1__
#define LD(field) _mm_load_si128((const __m128i *)b->field)

/* Lanes of 'b' matching the packet (bit i = lane i): four rules per compare. A port
 * range holds 'port' when min(port - lo, span) == port - lo (unsigned). */
static inline unsigned block_hits(const struct fw_rule_block *b, __m128i src, __m128i dst,
				  __m128i sport, __m128i dport)
{
	const __m128i zero = _mm_setzero_si128();
	__m128i ok, d;

	ok = _mm_cmpeq_epi32(_mm_and_si128(_mm_xor_si128(src, LD(src_net)), LD(src_mask)), zero);
	d = _mm_cmpeq_epi32(_mm_and_si128(_mm_xor_si128(dst, LD(dst_net)), LD(dst_mask)), zero);
	ok = _mm_and_si128(ok, d);
	d = _mm_sub_epi32(sport, LD(sport_lo));
	ok = _mm_and_si128(ok, _mm_cmpeq_epi32(_mm_min_epu32(d, LD(sport_span)), d));
	d = _mm_sub_epi32(dport, LD(dport_lo));
	ok = _mm_and_si128(ok, _mm_cmpeq_epi32(_mm_min_epu32(d, LD(dport_span)), d));
	return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(ok));
}

#undef LD

static int blocks_first(const struct fw_rule_block *b, uint32_t n, const struct fw_match *m)
{
	const __m128i src = _mm_set1_epi32((int)m->src), dst = _mm_set1_epi32((int)m->dst);
	const __m128i sport = _mm_set1_epi32(m->sport), dport = _mm_set1_epi32(m->dport);

	for (uint32_t i = 0; i < n; i++) {
		unsigned hits = block_hits(&b[i], src, dst, sport, dport);

		if (hits != 0)
			return (int)b[i].idx[__builtin_ctz(hits)];
	}
	return -1;
}
#else
static int blocks_first(const struct fw_rule_block *b, uint32_t n, const struct fw_match *m)
{
	for (uint32_t i = 0; i < n; i++)
		for (unsigned l = 0; l < 4; l++)
			if (((m->src ^ b[i].src_net[l]) & b[i].src_mask[l]) == 0 &&
			    ((m->dst ^ b[i].dst_net[l]) & b[i].dst_mask[l]) == 0 &&
			    (uint32_t)m->sport - b[i].sport_lo[l] <= b[i].sport_span[l] &&
			    (uint32_t)m->dport - b[i].dport_lo[l] <= b[i].dport_span[l])
				return (int)b[i].idx[l];
	return -1;
}
#endif

int fw_rules_first_match(const struct fw_ruleset *rs, const struct fw_match *m)
{
	int k = kind_of(m->proto, m->dir);

	if (k < 0)
		return -1;
	return blocks_first(rs->blocks[k], rs->n_blocks[k], m);
}

int fw_rules_from_json(const json_t *root, bool only_rules, struct fw_ruleset **out, char *err,
		       size_t errsz)
{
	const json_t *rules = NULL;
	struct fw_ruleset *rs;
	size_t n;
	uint8_t def = FW_DENY;

	if (ruleset_top(root, only_rules, &rules, &def, err, errsz) != 0)
		return -EINVAL;
	n = rules != NULL ? json_array_size(rules) : 0;
	rs = calloc(1, sizeof(*rs) + n * sizeof(rs->rules[0]));
	if (rs == NULL) {
		snprintf(err, errsz, "rules: out of memory");
		return -ENOMEM;
	}
	rs->default_action = def;
	rs->n_rules = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (rule_compile(&rs->rules[i], i, json_array_get(rules, i), err, errsz) != 0) {
			fw_ruleset_free(rs);
			return -EINVAL;
		}
	}
	if (ruleset_build_blocks(rs) != 0) {
		fw_ruleset_free(rs);
		snprintf(err, errsz, "rules: out of memory");
		return -ENOMEM;
	}
	*out = rs;
	return 0;
}

int fw_rules_parse(const char *json, size_t len, struct fw_ruleset **out, char *err, size_t errsz)
{
	json_t *root = cfgjson_parse(json, len, NULL, err, errsz);
	int rc;

	if (root == NULL)
		return -EINVAL;
	rc = fw_rules_from_json(root, true, out, err, errsz);
	json_decref(root);
	return rc;
}

char *fw_rules_canonical(const json_t *root)
{
	json_t *rules = json_object_get(root, "rules");
	json_t *def = json_object_get(root, "default");
	json_t *obj = json_object();
	char *text;

	if (obj == NULL)
		return NULL;
	json_object_set_new(obj, "default", def != NULL ? json_copy(def) : json_string("deny"));
	json_object_set_new(obj, "rules", rules != NULL ? json_deep_copy(rules) : json_array());
	text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	return text;
}

void fw_ruleset_free(struct fw_ruleset *rs)
{
	if (rs == NULL)
		return;
	free(rs->blocks[0]);	/* the start of the one allocation of every list */
	free(rs);
}
