/* Firewall rule sets: parsing and validation of the JSON form, and first-match evaluation. */
#ifndef NFS_FIREWALL_FW_RULES_H
#define NFS_FIREWALL_FW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FW_MAX_RULES 100000

enum fw_action { FW_DENY = 0, FW_ALLOW = 1 };

/* Direction bits: "in" is outside -> inside, "out" inside -> outside; "any" is both. */
#define FW_DIR_IN  0x1
#define FW_DIR_OUT 0x2
#define FW_DIR_ANY (FW_DIR_IN | FW_DIR_OUT)

/* One compiled rule, host byte order, laid out for a fast linear scan. A port range
 * matches when (uint16_t)(port - lo) <= span. */
struct fw_rule {
	uint32_t src_net, src_mask;
	uint32_t dst_net, dst_mask;
	uint16_t sport_lo, sport_span;
	uint16_t dport_lo, dport_span;
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, or 0 for any */
	uint8_t dirs;		/* FW_DIR_* bits */
	uint8_t action;		/* enum fw_action */
	uint8_t has_ports;	/* a port range narrower than 0-65535 (never matches ICMP) */
};
_Static_assert(sizeof(struct fw_rule) == 28, "fw_rule is 28 bytes");

/* What a rule is matched against (host byte order; ports 0 for ICMP). */
struct fw_match {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t dir;		/* FW_DIR_IN or FW_DIR_OUT */
};

/* Rules are scanned per kind of packet (protocol x direction): each kind has its own
 * list, in rule order, of the rules that can match it, four rules to a block laid out for
 * 4-wide SIMD compares (a port range matches when port - lo <= span, unsigned). */
#define FW_KINDS 6		/* {tcp, udp, icmp} x {in, out} */

struct fw_rule_block {
	uint32_t src_net[4], src_mask[4];
	uint32_t dst_net[4], dst_mask[4];
	uint32_t sport_lo[4], sport_span[4];
	uint32_t dport_lo[4], dport_span[4];
	uint32_t idx[4];	/* rule index; unused lanes never match (port range above 65535) */
} __attribute__((aligned(16)));

/* An immutable compiled rule set. */
struct fw_ruleset {
	uint64_t version;	/* the store's version, 0 when not from the store */
	uint8_t default_action;	/* enum fw_action, when no rule matches */
	uint32_t n_rules;
	struct fw_rule_block *blocks[FW_KINDS];	/* one allocation, owned */
	uint32_t n_blocks[FW_KINDS];
	struct fw_rule rules[];
};

/* Compile the rule set object 'root' ({"default": "allow"|"deny", "rules": [...]}; both
 * optional: default "deny", no rules). With 'only_rules' any other key is an error; without
 * it other keys are ignored (the caller handles them). Returns 0 with '*out' (owned by the
 * caller, fw_ruleset_free) or -EINVAL / -ENOMEM with a message naming the field in 'err':
 * "rules[3].dst_ports: 70000 is not a port". */
int fw_rules_from_json(const json_t *root, bool only_rules, struct fw_ruleset **out, char *err,
		       size_t errsz);

/* Same from a JSON text (e.g. the store's "<ns>:rules"); messages as above. */
int fw_rules_parse(const char *json, size_t len, struct fw_ruleset **out, char *err, size_t errsz);

/* Canonical JSON text of the rule set part of 'root' ({"default", "rules"}, compact, keys
 * sorted): what is published in the store. Caller frees with free(). NULL when out of memory. */
char *fw_rules_canonical(const json_t *root);

void fw_ruleset_free(struct fw_ruleset *rs);

/* Index of the first rule matching 'm', or -1. */
int fw_rules_first_match(const struct fw_ruleset *rs, const struct fw_match *m);

/* The action for 'm': the first matching rule's, else the default. '*rule' (may be NULL)
 * gets the rule index or -1. */
static inline enum fw_action fw_rules_eval(const struct fw_ruleset *rs, const struct fw_match *m,
					   int *rule)
{
	int i = fw_rules_first_match(rs, m);

	if (rule != NULL)
		*rule = i;
	return i >= 0 ? (enum fw_action)rs->rules[i].action : (enum fw_action)rs->default_action;
}

#endif
