/* NAT configuration: defaults, valid files, and bad input rejected with the field named. */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "nfs/nat/nat.h"

Test(nat_config, defaults_follow_linux_conntrack)
{
	struct nat_config c;

	nat_config_default(&c);
	cr_assert_eq(c.timeouts.tcp_established, 432000);
	cr_assert_eq(c.timeouts.tcp_transitory, 120);
	cr_assert_eq(c.timeouts.udp, 30);
	cr_assert_eq(c.timeouts.icmp, 30);
	cr_assert_eq(c.port_lo, 1024);
	cr_assert_eq(c.port_hi, 65535);
}

Test(nat_config, full_file_loads)
{
	struct nat_config c;
	char err[256], path[] = "/tmp/natcfgXXXXXX";
	int fd = mkstemp(path);
	const char *json = "{\"public_ips\": [\"203.0.113.1\", \"203.0.113.2\"],"
			   " \"port_range\": [2000, 3000], \"max_port_probes\": 64,"
			   " \"timeouts\": {\"udp\": 45, \"tcp_established\": 7440}}";

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	nat_config_default(&c);
	cr_assert_eq(nat_config_load_file(&c, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	cr_assert_eq(c.n_public_ips, 2);
	cr_assert_eq(c.port_lo, 2000);
	cr_assert_eq(c.port_hi, 3000);
	cr_assert_eq(c.max_probes, 64);
	cr_assert_eq(c.timeouts.udp, 45);
	cr_assert_eq(c.timeouts.tcp_established, 7440);
	cr_assert_eq(c.timeouts.icmp, 30, "unspecified timeouts keep their defaults");
}

Test(nat_config, missing_file_is_named)
{
	struct nat_config c;
	char err[256];

	nat_config_default(&c);
	cr_assert_eq(nat_config_load_file(&c, "/nonexistent/nat.json", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/nonexistent/nat.json") != NULL, "%s", err);
}

struct bad_case {
	char json[160];
	char want[64];	/* fragment the message must contain */
};

ParameterizedTestParameters(nat_config, bad_input_names_the_field)
{
	static struct bad_case cases[] = {
		{ "[1, 2]", "config: must be a JSON object" },
		{ "{\"public_ips\": [\"203.0.113.1\"],", "line 1" },
		{ "{}", "public_ips: at least one" },
		{ "{\"public_ips\": []}", "public_ips: must be a non-empty array" },
		{ "{\"public_ips\": [\"300.1.1.1\"]}", "public_ips[0]: '300.1.1.1' is not an IPv4" },
		{ "{\"public_ips\": [\"1.1.1.1\", 7]}", "public_ips[1]: must be a string" },
		{ "{\"public_ips\": [\"1.1.1.1\", \"1.1.1.1\"]}", "public_ips[1]: duplicate" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"port_range\": [1, 70000]}", "port_range[1]: 70000 is out of range" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"port_range\": [0, 10]}", "port_range[0]: 0 is out of range" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"port_range\": [9000, 10]}", "port_range: low must be" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"port_range\": \"1-2\"}", "port_range: must be [low, high]" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"timeouts\": {\"udp\": -1}}", "timeouts.udp: -1 is out of range" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"timeouts\": {\"tcp\": 5}}", "timeouts.tcp: unknown timeout" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"timeouts\": {\"udp\": \"5\"}}", "timeouts.udp: must be an integer" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"max_port_probes\": 0}", "max_port_probes: 0 is out of range" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"publicips\": 1}", "publicips: unknown field" },
		{ "{\"public_ips\": [\"1.1.1.1\"], \"public_ips\": [\"1.1.1.2\"]}", "duplicate" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *bc, nat_config, bad_input_names_the_field)
{
	struct nat_config c;
	char err[256] = "";

	nat_config_default(&c);
	cr_assert_eq(nat_config_load_string(&c, bc->json, err, sizeof(err)), -EINVAL, "accepted: %s", bc->json);
	cr_assert(strstr(err, bc->want) != NULL, "message '%s' lacks '%s'", err, bc->want);
}
