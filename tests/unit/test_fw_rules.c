/* Firewall rule sets and configuration: first-match evaluation (table-driven, overlapping
 * rules and range edges), bad rule sets naming the rule and field, configuration files. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "nfs/firewall/fw.h"
#include "nfs/firewall/fw_rules.h"

/* A rule set exercising overlaps and edges; rule indexes are in the comments. */
static const char *RULES =
	"{\"default\": \"deny\", \"rules\": ["
	/* 0 */ "{\"action\": \"deny\", \"src\": \"10.0.0.66/32\"},"
	/* 1 */ "{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", \"src\": \"10.0.0.0/8\", \"dst_ports\": [80, 81]},"
	/* 2 */ "{\"action\": \"deny\", \"proto\": \"tcp\", \"dst_ports\": \"1-1023\"},"
	/* 3 */ "{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"in\", \"dst\": \"10.1.2.3\", \"dst_ports\": 443},"
	/* 4 */ "{\"action\": \"allow\", \"proto\": \"udp\", \"src_ports\": \"1024-65535\", \"dst_ports\": [53, 53]},"
	/* 5 */ "{\"action\": \"allow\", \"proto\": \"icmp\", \"dir\": \"out\"},"
	/* 6 */ "{\"action\": \"allow\", \"proto\": \"any\", \"src\": \"192.168.0.0/16\", \"dst\": \"0.0.0.0/0\", \"dir\": \"any\"},"
	/* 7 */ "{\"action\": \"allow\", \"dst_ports\": [0, 0], \"comment\": \"port 0, tcp and udp only\"},"
	/* 8 */ "{\"action\": \"deny\", \"proto\": \"udp\", \"dst_ports\": 65535}"
	"]}";

struct match_case {
	char src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t dir;
	int want_rule;		/* -1: no rule, the default */
	int want_action;
};

ParameterizedTestParameters(fw_rules, first_match_wins)
{
	static struct match_case cases[] = {
		/* Rule 0 shadows rule 1 for one host (a /32 inside the /8). */
		{ "10.0.0.66", "198.51.100.1", 40000, 80, IPPROTO_TCP, FW_DIR_OUT, 0, FW_DENY },
		{ "10.0.0.65", "198.51.100.1", 40000, 80, IPPROTO_TCP, FW_DIR_OUT, 1, FW_ALLOW },
		{ "10.0.0.67", "198.51.100.1", 40000, 80, IPPROTO_TCP, FW_DIR_OUT, 1, FW_ALLOW },
		/* Port range edges of rule 1 (80-81), then rule 2 takes over below 1024. */
		{ "10.9.9.9", "198.51.100.1", 40000, 81, IPPROTO_TCP, FW_DIR_OUT, 1, FW_ALLOW },
		{ "10.9.9.9", "198.51.100.1", 40000, 79, IPPROTO_TCP, FW_DIR_OUT, 2, FW_DENY },
		{ "10.9.9.9", "198.51.100.1", 40000, 82, IPPROTO_TCP, FW_DIR_OUT, 2, FW_DENY },
		{ "10.9.9.9", "198.51.100.1", 40000, 1023, IPPROTO_TCP, FW_DIR_OUT, 2, FW_DENY },
		{ "10.9.9.9", "198.51.100.1", 40000, 1024, IPPROTO_TCP, FW_DIR_OUT, -1, FW_DENY },
		/* Prefix edges of rule 1: 10.0.0.0/8 is 10.0.0.0 - 10.255.255.255. */
		{ "10.255.255.255", "198.51.100.1", 1, 80, IPPROTO_TCP, FW_DIR_OUT, 1, FW_ALLOW },
		{ "11.0.0.0", "198.51.100.1", 1, 80, IPPROTO_TCP, FW_DIR_OUT, 2, FW_DENY },
		{ "9.255.255.255", "198.51.100.1", 1, 80, IPPROTO_TCP, FW_DIR_OUT, 2, FW_DENY },
		/* Direction: rule 1 is out only. */
		{ "10.0.0.65", "198.51.100.1", 40000, 80, IPPROTO_TCP, FW_DIR_IN, 2, FW_DENY },
		/* Rule 3: in, one /32 destination, one port; rule 2 is before it only below 1024. */
		{ "203.0.113.9", "10.1.2.3", 5000, 443, IPPROTO_TCP, FW_DIR_IN, 2, FW_DENY },
		{ "203.0.113.9", "10.1.2.3", 5000, 8443, IPPROTO_TCP, FW_DIR_IN, -1, FW_DENY },
		/* UDP rule 4: source port range edges. */
		{ "10.0.0.5", "8.8.8.8", 1024, 53, IPPROTO_UDP, FW_DIR_OUT, 4, FW_ALLOW },
		{ "10.0.0.5", "8.8.8.8", 65535, 53, IPPROTO_UDP, FW_DIR_OUT, 4, FW_ALLOW },
		{ "10.0.0.5", "8.8.8.8", 1023, 53, IPPROTO_UDP, FW_DIR_OUT, -1, FW_DENY },
		{ "10.0.0.5", "8.8.8.8", 5000, 54, IPPROTO_UDP, FW_DIR_OUT, -1, FW_DENY },
		/* ICMP: rule 5 out only; port rules never match ICMP (rule 7). */
		{ "10.0.0.5", "8.8.8.8", 0, 0, IPPROTO_ICMP, FW_DIR_OUT, 5, FW_ALLOW },
		{ "8.8.8.8", "10.0.0.5", 0, 0, IPPROTO_ICMP, FW_DIR_IN, -1, FW_DENY },
		/* Rule 6: any protocol from 192.168/16, /0 destination, any direction. */
		{ "192.168.255.1", "1.2.3.4", 9, 9, IPPROTO_UDP, FW_DIR_IN, 6, FW_ALLOW },
		{ "192.168.0.0", "255.255.255.255", 9, 9, IPPROTO_ICMP, FW_DIR_OUT, 5, FW_ALLOW },
		{ "192.169.0.0", "1.2.3.4", 9, 9, IPPROTO_UDP, FW_DIR_IN, -1, FW_DENY },
		/* Port 0 and 65535 edges (rules 7 and 8). */
		{ "1.1.1.1", "2.2.2.2", 9, 0, IPPROTO_UDP, FW_DIR_IN, 7, FW_ALLOW },
		{ "1.1.1.1", "2.2.2.2", 9, 65535, IPPROTO_UDP, FW_DIR_IN, 8, FW_DENY },
		{ "1.1.1.1", "2.2.2.2", 9, 65534, IPPROTO_UDP, FW_DIR_IN, -1, FW_DENY },
	};
	return cr_make_param_array(struct match_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static struct fw_match match_of(const struct match_case *c)
{
	struct fw_match m = { .sport = c->sport, .dport = c->dport, .proto = c->proto, .dir = c->dir };
	struct in_addr a;

	inet_pton(AF_INET, c->src, &a);
	m.src = ntohl(a.s_addr);
	inet_pton(AF_INET, c->dst, &a);
	m.dst = ntohl(a.s_addr);
	return m;
}

ParameterizedTest(struct match_case *c, fw_rules, first_match_wins)
{
	struct fw_ruleset *rs = NULL;
	struct fw_match m = match_of(c);
	char err[256];
	int rule;

	cr_assert_eq(fw_rules_parse(RULES, strlen(RULES), &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs->n_rules, 9);
	cr_assert_eq((int)fw_rules_eval(rs, &m, &rule), c->want_action, "%s:%u -> %s:%u proto %u",
		     c->src, c->sport, c->dst, c->dport, c->proto);
	cr_assert_eq(rule, c->want_rule, "%s:%u -> %s:%u proto %u: rule %d, expected %d", c->src,
		     c->sport, c->dst, c->dport, c->proto, rule, c->want_rule);
	fw_ruleset_free(rs);
}

Test(fw_rules, default_allow_and_empty)
{
	struct fw_ruleset *rs = NULL;
	struct match_case c = { "1.2.3.4", "5.6.7.8", 1, 2, IPPROTO_TCP, FW_DIR_IN, -1, 0 };
	struct fw_match m = match_of(&c);
	char err[256];
	int rule;

	cr_assert_eq(fw_rules_parse("{\"default\": \"allow\"}", 20, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(fw_rules_eval(rs, &m, &rule), FW_ALLOW);
	cr_assert_eq(rule, -1);
	fw_ruleset_free(rs);
	cr_assert_eq(fw_rules_parse("{}", 2, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(fw_rules_eval(rs, &m, &rule), FW_DENY);
	fw_ruleset_free(rs);
}

struct bad_case {
	char json[240];
	char want[96];
};

ParameterizedTestParameters(fw_rules, bad_rule_sets_name_rule_and_field)
{
	static struct bad_case cases[] = {
		{ "{\"rules\": [{\"action\": \"allow\"}, {\"action\": \"allow\"}, {\"action\": \"deny\"},"
		  " {\"action\": \"allow\", \"dst_ports\": 70000}]}", "rules[3].dst_ports: 70000 is not a port" },
		{ "{\"rules\": [{\"action\": \"allow\", \"src_ports\": [1, 70000]}]}", "rules[0].src_ports: 70000 is not a port" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dst_ports\": \"90-80\"}]}", "rules[0].dst_ports: 90-80: LOW is above HIGH" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dst_ports\": -1}]}", "rules[0].dst_ports: -1 is not a port" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dst_ports\": \"http\"}]}", "rules[0].dst_ports: must be a port" },
		{ "{\"rules\": [{\"action\": \"permit\"}]}", "rules[0].action: must be \"allow\" or \"deny\"" },
		{ "{\"rules\": [{\"proto\": \"tcp\"}]}", "rules[0]: \"action\" is required" },
		{ "{\"rules\": [{\"action\": \"allow\"}, {\"action\": \"allow\", \"proto\": \"sctp\"}]}", "rules[1].proto: 'sctp' is not one of tcp, udp, icmp, any" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dir\": \"inbound\"}]}", "rules[0].dir: 'inbound' is not one of in, out, any" },
		{ "{\"rules\": [{\"action\": \"allow\", \"src\": \"10.0.0.300/8\"}]}", "rules[0].src: '10.0.0.300/8' is not an IPv4 prefix" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dst\": \"10.0.0.0/33\"}]}", "rules[0].dst: '10.0.0.0/33' is not an IPv4 prefix" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dst\": \"10.0.0.1/8\"}]}", "rules[0].dst: '10.0.0.1/8' has address bits set beyond" },
		{ "{\"rules\": [{\"action\": \"allow\", \"src\": 10}]}", "rules[0].src: must be a string" },
		{ "{\"rules\": [{\"action\": \"allow\", \"proto\": \"icmp\", \"dst_ports\": 7}]}", "rules[0].dst_ports: ports need proto tcp, udp or any" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dport\": 80}]}", "rules[0].dport: unknown field" },
		{ "{\"rules\": [\"allow all\"]}", "rules[0]: must be an object" },
		{ "{\"rules\": {\"action\": \"allow\"}}", "rules: must be an array" },
		{ "{\"default\": \"reject\"}", "default: must be \"allow\" or \"deny\"" },
		{ "{\"default\": \"deny\", \"timeouts\": {}}", "timeouts: unknown field (default, rules)" },
		{ "[]", "must be a JSON object" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, fw_rules, bad_rule_sets_name_rule_and_field)
{
	struct fw_ruleset *rs = NULL;
	char err[256] = "";

	cr_assert_eq(fw_rules_parse(c->json, strlen(c->json), &rs, err, sizeof(err)), -EINVAL,
		     "accepted: %s", c->json);
	cr_assert_null(rs);
	cr_assert(strstr(err, c->want) != NULL, "message '%s' lacks '%s'", err, c->want);
}

Test(fw_rules, not_json_names_line_and_column)
{
	struct fw_ruleset *rs = NULL;
	char err[256] = "";

	cr_assert_eq(fw_rules_parse("{\"rules\": [", 11, &rs, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "line 1") != NULL, "%s", err);
}

Test(fw_rules, canonical_text_is_stable)
{
	json_error_t jerr;
	json_t *a = json_loads("{\"rules\": [{\"proto\": \"tcp\", \"action\": \"allow\"}]}", 0, &jerr);
	json_t *b = json_loads("{ \"default\":\"deny\",\"rules\":[ {\"action\":\"allow\",\"proto\":\"tcp\"} ] }", 0, &jerr);
	char *ta = fw_rules_canonical(a), *tb = fw_rules_canonical(b);

	cr_assert_str_eq(ta, tb);
	cr_assert_str_eq(ta, "{\"default\":\"deny\",\"rules\":[{\"action\":\"allow\",\"proto\":\"tcp\"}]}");
	free(ta);
	free(tb);
	json_decref(a);
	json_decref(b);
}

Test(fw_rules, thousand_rules_compile_and_scan)
{
	size_t size = 1000 * 120 + 64, len;
	char *json = malloc(size);
	struct fw_ruleset *rs = NULL;
	struct match_case c = { "10.0.3.231", "198.51.100.1", 1234, 999, IPPROTO_TCP, FW_DIR_OUT, 0, 0 };
	struct fw_match m = match_of(&c);
	char err[256];
	int rule;

	len = (size_t)snprintf(json, size, "{\"default\": \"deny\", \"rules\": [");
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(json + len, size - len, "%s{\"action\": \"allow\", \"proto\": \"tcp\","
					" \"src\": \"10.0.%d.%d/32\", \"dst_ports\": %d}", i ? "," : "",
					i / 256, i % 256, i);
	len += (size_t)snprintf(json + len, size - len, "]}");
	cr_assert_eq(fw_rules_parse(json, len, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs->n_rules, 1000);
	cr_assert_eq(fw_rules_eval(rs, &m, &rule), FW_ALLOW);
	cr_assert_eq(rule, 999);
	m.dport = 998;
	cr_assert_eq(fw_rules_eval(rs, &m, &rule), FW_DENY);
	cr_assert_eq(rule, -1);
	fw_ruleset_free(rs);
	free(json);
}

Test(fw_config, defaults_settings_and_rules)
{
	struct fw_config cfg;
	char err[256];

	fw_config_default(&cfg);
	cr_assert_eq(cfg.timeouts.tcp_established, 432000);
	cr_assert_eq(cfg.timeouts.tcp_closed, 10);
	cr_assert_eq(cfg.rules_check_ms, 100);
	cr_assert_null(cfg.rules_json);
	cr_assert_eq(fw_config_load_string(&cfg, "{\"timeouts\": {\"udp\": 5, \"tcp_closing\": 7},"
					   " \"inside_prefixes\": [\"10.0.0.0/8\", \"192.0.2.1\"],"
					   " \"rules_check_ms\": 50, \"rules\": [{\"action\": \"allow\"}]}",
					   err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.timeouts.udp, 5);
	cr_assert_eq(cfg.timeouts.tcp_closing, 7);
	cr_assert_eq(cfg.n_inside, 2);
	cr_assert_eq(cfg.inside[0].net, htonl(0x0a000000));
	cr_assert_eq(cfg.inside[0].mask, htonl(0xff000000));
	cr_assert_eq(cfg.inside[1].mask, 0xffffffff);
	cr_assert_eq(cfg.rules_check_ms, 50);
	cr_assert_str_eq(cfg.rules_json, "{\"default\":\"deny\",\"rules\":[{\"action\":\"allow\"}]}");
	cr_assert_eq(fw_config_set_timeout(&cfg, "tcp_syn_recv", 3), 0);
	cr_assert_eq(cfg.timeouts.tcp_syn_recv, 3);
	cr_assert_eq(fw_config_set_timeout(&cfg, "tcp", 3), -ENOENT);
	fw_config_free(&cfg);
	cr_assert_null(cfg.rules_json);
}

struct cfg_case {
	char json[160];
	char want[96];
};

ParameterizedTestParameters(fw_config, bad_settings_name_the_field)
{
	static struct cfg_case cases[] = {
		{ "{\"timeouts\": {\"tcp\": 5}}", "timeouts.tcp: unknown timeout" },
		{ "{\"timeouts\": {\"udp\": 0}}", "timeouts.udp: must be a number of seconds" },
		{ "{\"inside_prefixes\": [\"10.0.0.0/8\", \"x\"]}", "inside_prefixes[1]: 'x' is not an IPv4 prefix" },
		{ "{\"rules_check_ms\": 0}", "rules_check_ms: must be a number of milliseconds" },
		{ "{\"rule\": []}", "rule: unknown field" },
		{ "{\"rules\": [{\"action\": \"allow\", \"dst_ports\": 70000}]}", "rules[0].dst_ports: 70000 is not a port" },
	};
	return cr_make_param_array(struct cfg_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cfg_case *c, fw_config, bad_settings_name_the_field)
{
	struct fw_config cfg;
	char err[256] = "";

	fw_config_default(&cfg);
	cr_assert_eq(fw_config_load_string(&cfg, c->json, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, c->want) != NULL, "message '%s' lacks '%s'", err, c->want);
	fw_config_free(&cfg);
}

Test(fw_config, rule_file_errors_name_the_file)
{
	char path[] = "/tmp/fwrulesXXXXXX", err[512] = "";
	const char *text = "{\"rules\": [{\"action\": \"allow\"}, {\"action\": \"allow\"}, {\"action\": \"allow\"},"
			   " {\"action\": \"allow\", \"dst_ports\": 70000}]}";
	int fd = mkstemp(path);
	struct fw_config cfg;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	fw_config_default(&cfg);
	cr_assert_eq(fw_config_load_rules_file(&cfg, path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, path) != NULL && strstr(err, "rules[3].dst_ports: 70000 is not a port") != NULL,
		  "%s", err);
	cr_assert_eq(fw_config_load_rules_file(&cfg, "/nonexistent/rules.json", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/nonexistent/rules.json") != NULL, "%s", err);
	unlink(path);
	fw_config_free(&cfg);
}

Test(fw_config, validate_against_the_options)
{
	struct fw_config cfg;
	struct nf_opts o;
	char err[256];

	fw_config_default(&cfg);
	memset(&o, 0, sizeof(o));
	o.mode = NF_MODE_LOCAL;
	cr_assert_eq(fw_config_validate(&cfg, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--rules") != NULL, "%s", err);
	o.mode = NF_MODE_CACHED;
	cr_assert_eq(fw_config_validate(&cfg, &o, err, sizeof(err)), 0, "%s", err);
	o.one_armed = true;
	cr_assert_eq(fw_config_validate(&cfg, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--inside-prefix") != NULL, "%s", err);
	cr_assert_eq(fw_config_add_inside_prefix(&cfg, "10.0.0.0/8", "--inside-prefix", err, sizeof(err)), 0);
	cr_assert_eq(fw_config_validate(&cfg, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(fw_config_add_inside_prefix(&cfg, "10.0.0.1/8", "--inside-prefix", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--inside-prefix: '10.0.0.1/8'") != NULL, "%s", err);
}
