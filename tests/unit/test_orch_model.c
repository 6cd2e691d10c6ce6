/* Tests of the orchestrator's data model (orchestrator/model.c): names, spec validation, JSON round trips. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "orchestrator/model.h"

#define NAT_CFG "\"config\": {\"public_ips\": [\"203.0.113.1\"]}"

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	cr_assert(j != NULL, "test JSON does not parse: %s: %s", text, jerr.text);
	return j;
}

/* ---- Names ---- */

Test(orch_model, type_and_state_names_round_trip, .timeout = 10)
{
	enum orch_nf_type t;
	enum orch_inst_state s;

	for (int i = 0; i < ORCH_NF__COUNT; i++) {
		cr_assert_eq(orch_nf_type_parse(orch_nf_type_name(i), &t), 0);
		cr_assert_eq(t, (enum orch_nf_type)i);
	}
	for (int i = 0; i < ORCH_INST__COUNT; i++) {
		cr_assert_eq(orch_inst_state_parse(orch_inst_state_name(i), &s), 0);
		cr_assert_eq(s, (enum orch_inst_state)i);
	}
	cr_assert_str_eq(orch_nf_type_name(ORCH_NF_FIREWALL), "firewall");
	cr_assert_str_eq(orch_inst_state_name(ORCH_INST_DRAINING), "draining");
	cr_assert_eq(orch_nf_type_parse("NAT", &t), -EINVAL);
	cr_assert_eq(orch_inst_state_parse("dead", &s), -EINVAL);
	cr_assert_str_eq(orch_nf_type_name(ORCH_NF__COUNT), "?");
}

Test(orch_model, names, .timeout = 10)
{
	static const char *const good[] = { "a", "nat", "nat-1", "a0-b1", "abcdefghijklmnopqrstuvwxyz01234" };
	static const char *const bad[] = { "", "1nat", "-a", "Nat", "na_t", "na t", "nat/1",
					   "abcdefghijklmnopqrstuvwxyz012345" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(orch_name_valid(good[i]), "'%s' rejected", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!orch_name_valid(bad[i]), "'%s' accepted", bad[i]);
}

/* ---- Bad specs: each message starts with the exact field ---- */

struct bad_spec {
	char json[300];
	char want[96];	/* the message must start with this */
};

ParameterizedTestParameters(orch_model, bad_specs_name_the_field)
{
	static struct bad_spec cases[] = {
		{ "[]", "spec: must be a JSON object" },
		{ "{\"type\": \"nat\", " NAT_CFG "}", "name: is required" },
		{ "{\"name\": 7, \"type\": \"nat\"}", "name: must match [a-z][a-z0-9-]{0,30}" },
		{ "{\"name\": \"Nat\", \"type\": \"nat\"}", "name: must match [a-z][a-z0-9-]{0,30}" },
		{ "{\"name\": \"\", \"type\": \"nat\"}", "name: must match" },
		{ "{\"name\": \"abcdefghijklmnopqrstuvwxyz012345\", \"type\": \"nat\"}", "name: must match" },
		{ "{\"name\": \"n\"}", "type: is required" },
		{ "{\"name\": \"n\", \"type\": \"router\"}", "type: must be one of nat, firewall, lb" },
		{ "{\"name\": \"n\", \"type\": 1}", "type: must be one of nat, firewall, lb" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"instances\": 0, " NAT_CFG "}",
		  "instances: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"instances\": 17}", "instances: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"instances\": \"2\"}", "instances: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"instances\": 2.5}", "instances: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"instances\": true}", "instances: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"instances\": -1}", "instances: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"foo\": 1}", "foo: unknown field" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"created_ms\": 5}", "created_ms: unknown field" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"config_gen\": 2}", "config_gen: unknown field" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": 3}", "autoscale: must be an object or null" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"max\": 3}}", "autoscale.min: is required" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1}}", "autoscale.max: is required" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 4, \"max\": 2}}",
		  "autoscale.min: must be <= autoscale.max" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 0, \"max\": 2}}",
		  "autoscale.min: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 20}}",
		  "autoscale.max: must be an integer in 1-16" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 2, \"scale_out_load\": 1.5}}",
		  "autoscale.scale_out_load: must be a number in 0-1" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 2, \"scale_out_load\": \"hi\"}}",
		  "autoscale.scale_out_load: must be a number in 0-1" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 2, \"scale_in_load\": -0.1}}",
		  "autoscale.scale_in_load: must be a number in 0-1" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 2, \"scale_in_load\": 0.9}}",
		  "autoscale.scale_in_load: must be < autoscale.scale_out_load" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 2, \"cooldown_s\": -1}}",
		  "autoscale.cooldown_s: must be an integer in 0-86400" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 2, \"window_s\": 0}}",
		  "autoscale.window_s: must be an integer in 1-3600" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"autoscale\": {\"min\": 1, \"max\": 2, \"enabled\": true}}",
		  "autoscale.enabled: unknown field" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"instances\": 5, \"autoscale\": {\"min\": 1, \"max\": 4}}",
		  "instances: must be within autoscale.min-autoscale.max (1-4)" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": \"eth0\"}", "uplinks: must be an object" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": {\"inside\": \"a\"}}",
		  "uplinks.outside: is required" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": {\"outside\": \"a\"}}",
		  "uplinks.inside: is required" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": {\"inside\": \"a\", \"outside\": \"a\"}}",
		  "uplinks.outside: must differ from uplinks.inside" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": {\"inside\": \"a/b\", \"outside\": \"c\"}}",
		  "uplinks.inside: must be an interface name" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": {\"inside\": \"a\", \"outside\": "
		  "\"abcdefghijklmnop\"}}", "uplinks.outside: must be an interface name" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": {\"inside\": \"a\", \"outside\": 3}}",
		  "uplinks.outside: must be an interface name" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"uplinks\": {\"inside\": \"a\", \"outside\": \"b\", "
		  "\"mgmt\": \"c\"}}", "uplinks.mgmt: unknown field" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"config\": []}", "config: must be a JSON object" },
		{ "{\"name\": \"n\", \"type\": \"nat\"}", "config.public_ips: at least one public address" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"config\": {\"public_ips\": [\"1.1.1.1\"], \"port_range\": [1, 70000]}}",
		  "config.port_range[1]: 70000 is out of range" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"config\": {\"public_ips\": [\"1.1.1.x\"]}}",
		  "config.public_ips[0]: '1.1.1.x' is not an IPv4 address" },
		{ "{\"name\": \"n\", \"type\": \"nat\", \"config\": {\"public_ips\": [\"1.1.1.1\"], \"foo\": 1}}",
		  "config.foo: unknown field" },
		{ "{\"name\": \"n\", \"type\": \"firewall\", \"config\": {\"rules_check_ms\": 0}}",
		  "config.rules_check_ms: must be" },
		{ "{\"name\": \"n\", \"type\": \"firewall\", \"config\": {\"bogus\": 0}}", "config.bogus: unknown field" },
		{ "{\"name\": \"n\", \"type\": \"firewall\", \"config\": {\"default\": \"deny\", \"rules\": [{\"action\": \"maybe\"}]}}",
		  "config.rules[0].action:" },
		{ "{\"name\": \"n\", \"type\": \"lb\", \"config\": {\"timeouts\": {\"tcp\": 0}}}",
		  "config.timeouts.tcp: 0 is out of range" },
		{ "{\"name\": \"n\", \"type\": \"lb\", \"config\": {\"services\": [{\"vip\": \"192.0.2.1\", \"port\": 70000, "
		  "\"proto\": \"tcp\", \"backends\": [{\"address\": \"10.0.0.1\", \"port\": 80}]}]}}",
		  "config.services[0].port:" },
	};
	return cr_make_param_array(struct bad_spec, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_spec *bc, orch_model, bad_specs_name_the_field, .timeout = 10)
{
	struct orch_nf_spec spec;
	char err[512] = "";
	json_t *j = parse(bc->json);

	cr_assert_eq(orch_nf_spec_from_request(j, &spec, err, sizeof(err)), -EINVAL, "accepted: %s", bc->json);
	cr_assert(strncmp(err, bc->want, strlen(bc->want)) == 0, "message '%s' does not start with '%s'", err,
		  bc->want);
	json_decref(j);
}

/* ---- Good specs round-trip ---- */

struct good_spec {
	char json[400];
};

ParameterizedTestParameters(orch_model, good_specs_round_trip)
{
	static struct good_spec cases[] = {
		{ "{\"name\": \"nat1\", \"type\": \"nat\", \"instances\": 3, " NAT_CFG "}" },
		{ "{\"name\": \"nat-b\", \"type\": \"nat\", " NAT_CFG ", \"autoscale\": {\"min\": 2, \"max\": 8, "
		  "\"scale_out_load\": 0.75, \"scale_in_load\": 0.2, \"cooldown_s\": 0, \"window_s\": 10}}" },
		{ "{\"name\": \"fw\", \"type\": \"firewall\"}" },
		{ "{\"name\": \"fw3\", \"type\": \"firewall\", \"uplinks\": {\"inside\": \"fw-in\", "
		  "\"outside\": \"fw_out.1\"}}" },
		{ "{\"name\": \"fw2\", \"type\": \"firewall\", \"instances\": 16, \"autoscale\": null, \"config\": "
		  "{\"default\": \"deny\", \"rules\": [{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", "
		  "\"dst_ports\": [80, 443]}]}}" },
		{ "{\"name\": \"lb\", \"type\": \"lb\", \"config\": {\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, "
		  "\"proto\": \"tcp\", \"backends\": [{\"address\": \"10.1.0.1\", \"port\": 8080}]}]}}" },
	};
	return cr_make_param_array(struct good_spec, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct good_spec *gc, orch_model, good_specs_round_trip, .timeout = 10)
{
	struct orch_nf_spec a, b;
	char err[512] = "";
	json_t *in = parse(gc->json), *ja, *jb;

	cr_assert_eq(orch_nf_spec_from_request(in, &a, err, sizeof(err)), 0, "%s: %s", gc->json, err);
	a.created_ms = 1700000000123ull;
	ja = orch_nf_spec_to_json(&a);
	cr_assert(ja != NULL);
	cr_assert_eq(orch_nf_spec_from_json(ja, &b, err, sizeof(err)), 0, "round trip: %s", err);
	jb = orch_nf_spec_to_json(&b);
	cr_assert(json_equal(ja, jb), "JSON differs after a round trip");
	cr_assert_str_eq(a.name, b.name);
	cr_assert_eq(a.type, b.type);
	cr_assert_eq(a.instances, b.instances);
	cr_assert_eq(b.created_ms, 1700000000123ull);
	cr_assert_eq(memcmp(&a.autoscale, &b.autoscale, sizeof(a.autoscale)), 0);
	cr_assert(json_equal(a.config, b.config));
	/* The config given is kept as given (an absent one is {}). */
	cr_assert(json_equal(a.config, json_object_get(in, "config") ? json_object_get(in, "config")
								      : json_object_get(ja, "config")));
	json_decref(ja);
	json_decref(jb);
	json_decref(in);
	orch_nf_spec_clear(&a);
	orch_nf_spec_clear(&b);
}

Test(orch_model, defaults, .timeout = 10)
{
	struct orch_nf_spec s;
	char err[256] = "";
	json_t *j = parse("{\"name\": \"n\", \"type\": \"nat\", " NAT_CFG "}");
	json_t *k = parse("{\"name\": \"n\", \"type\": \"nat\", " NAT_CFG ", \"autoscale\": {\"min\": 3, \"max\": 5}}");

	cr_assert_eq(orch_nf_spec_from_request(j, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.instances, 1);
	cr_assert(!s.autoscale.enabled);
	json_t *out = orch_nf_spec_to_json(&s);
	cr_assert(json_is_null(json_object_get(out, "autoscale")));
	json_decref(out);
	orch_nf_spec_clear(&s);
	cr_assert_eq(orch_nf_spec_from_request(k, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.instances, 3, "the desired count defaults to autoscale.min");
	cr_assert(s.autoscale.enabled);
	cr_assert_float_eq(s.autoscale.scale_out_load, 0.8, 1e-9);
	cr_assert_float_eq(s.autoscale.scale_in_load, 0.3, 1e-9);
	cr_assert_eq(s.autoscale.cooldown_s, 60);
	cr_assert_eq(s.autoscale.window_s, 3);
	orch_nf_spec_clear(&s);
	json_decref(j);
	json_decref(k);
}

Test(orch_model, failed_parse_leaves_nothing_to_free, .timeout = 10)
{
	struct orch_nf_spec s = { .config = NULL };
	char err[256];
	json_t *j = parse("{\"name\": \"n\", \"type\": \"nat\", \"config\": {\"public_ips\": [\"x\"]}}");

	cr_assert_eq(orch_nf_spec_from_request(j, &s, err, sizeof(err)), -EINVAL);
	cr_assert_null(s.config);
	json_decref(j);
}

/* ---- Instances ---- */

Test(orch_model, instance_round_trip, .timeout = 10)
{
	struct orch_instance a = {
		.id = "nat1-12", .nf = "nat1", .state = ORCH_INST_READY, .pid = 4242,
		.if_in = "snfi-nat1-12", .if_out = "snfo-nat1-12", .br_in = "snbi12", .br_out = "snbo12",
		.ofport_in = 7, .ofport_out = 8, .launched_ms = 1700000000000ull,
		.ready_ms = 1700000000150ull, .last_heartbeat_ms = 1700000009999ull,
		.pps = 123456.5, .busy = 0.42,
	};
	struct orch_instance b;
	char err[256] = "";
	json_t *j = orch_instance_to_json(&a);

	cr_assert(j != NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "ready");
	cr_assert_eq(orch_instance_from_json(j, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "instance differs after a round trip");
	json_decref(j);
}

struct bad_inst {
	char json[200];
	char want[64];
};

ParameterizedTestParameters(orch_model, bad_instances_name_the_field)
{
	static struct bad_inst cases[] = {
		{ "[1]", "instance: must be a JSON object" },
		{ "{\"nf\": \"a\", \"state\": \"ready\"}", "id: is required" },
		{ "{\"id\": \"a-1\", \"state\": \"ready\"}", "nf: is required" },
		{ "{\"id\": \"a-1\", \"nf\": \"a\"}", "state: is required" },
		{ "{\"id\": \"a-1\", \"nf\": \"a\", \"state\": \"zombie\"}", "state: must be one of" },
		{ "{\"id\": \"a-1\", \"nf\": \"a\", \"state\": \"ready\", \"pid\": -3}", "pid: must be an integer" },
		{ "{\"id\": \"a-1\", \"nf\": \"a\", \"state\": \"ready\", \"ofport_in\": 4294967296}", "ofport_in: must be" },
		{ "{\"id\": \"a-1\", \"nf\": \"a\", \"state\": \"ready\", \"pps\": \"fast\"}", "pps: must be a number" },
		{ "{\"id\": \"a-1\", \"nf\": \"a\", \"state\": \"ready\", \"if_in\": \"much-too-long-ifname\"}",
		  "if_in: must be a string of at most 15" },
		{ "{\"id\": \"a-1\", \"nf\": \"a\", \"state\": \"ready\", \"colour\": \"red\"}", "colour: unknown field" },
	};
	return cr_make_param_array(struct bad_inst, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_inst *bc, orch_model, bad_instances_name_the_field, .timeout = 10)
{
	struct orch_instance in;
	char err[256] = "";
	json_t *j = parse(bc->json);

	cr_assert_eq(orch_instance_from_json(j, &in, err, sizeof(err)), -EINVAL, "accepted: %s", bc->json);
	cr_assert(strncmp(err, bc->want, strlen(bc->want)) == 0, "message '%s' does not start with '%s'", err,
		  bc->want);
	json_decref(j);
}

Test(orch_model, autoscale_null_disables, .timeout = 10)
{
	struct orch_autoscale as = { .enabled = true, .min = 2 };
	char err[128];
	json_t *null = json_null(), *j;

	cr_assert_eq(orch_autoscale_from_json(null, &as, err, sizeof(err)), 0);
	cr_assert(!as.enabled);
	j = orch_autoscale_to_json(&as);
	cr_assert(json_is_null(j));
	json_decref(j);
}

Test(orch_model, config_check_alone, .timeout = 10)
{
	char err[256] = "";
	json_t *good = parse("{\"public_ips\": [\"198.51.100.7\"], \"port_range\": [2000, 3000]}");
	json_t *bad = parse("{\"public_ips\": [\"198.51.100.7\"], \"port_range\": [3000, 2000]}");

	cr_assert_eq(orch_nf_config_check(ORCH_NF_NAT, good, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(orch_nf_config_check(ORCH_NF_NAT, bad, err, sizeof(err)), -EINVAL);
	cr_assert(strncmp(err, "config.port_range: ", 19) == 0, "%s", err);
	cr_assert_eq(orch_nf_config_check(ORCH_NF_LB, good, err, sizeof(err)), -EINVAL,
		     "a NAT config is not an LB config");
	cr_assert(strncmp(err, "config.public_ips: unknown field", 32) == 0, "%s", err);
	json_decref(good);
	json_decref(bad);
}
