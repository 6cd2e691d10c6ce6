/* nf-nat command line: bad configuration exits with status 2 and names the field. */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "tests/harness/nfproc.h"

struct cli_case {
	char config[200];	/* JSON written to the --config file, or "" for none */
	char args[160];		/* NF options after '--' */
	char want[80];		/* fragment of the message on stderr */
};

/* Run nf-nat in local mode; returns its exit status and leaves stderr in 'err'. */
static int run_nat(const struct cli_case *c, char *err, size_t errsz)
{
	struct nfproc_cli cli = { .exe = "nf-nat", .pre = "--mode local", .file_opt = "--config",
				  .file_text = c->config, .args = c->args };

	return nfproc_cli_run(&cli, err, errsz);
}

ParameterizedTestParameters(nat_cli, bad_config_exits_2)
{
	static struct cli_case cases[] = {
		{ "{\"public_ips\": [\"203.0.113.1\"], \"port_range\": [1, 70000]}", "", "port_range[1]: 70000 is out of range" },
		{ "{\"public_ips\": [\"203.0.113.x\"]}", "", "public_ips[0]: '203.0.113.x' is not an IPv4 address" },
		{ "{\"public_ip\": [\"203.0.113.1\"]}", "", "public_ip: unknown field" },
		{ "{\"public_ips\": [\"203.0.113.1\"], \"timeouts\": {\"udp\": 0}}", "", "timeouts.udp: 0 is out of range" },
		{ "", "", "public_ips: at least one public address is required" },
		{ "", "--public-ip 203.0.113.1 --port-range 9-3", "--port-range: '9-3'" },
		{ "", "--public-ip 203.0.113.1 --timeout tcp=5", "--timeout: 'tcp=5'" },
		{ "", "--public-ip 1.2.3.4.5", "--public-ip: '1.2.3.4.5' is not an IPv4 address" },
		{ "", "--public-ip 203.0.113.1 --mode fast", "--mode" },
	};
	return cr_make_param_array(struct cli_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cli_case *c, nat_cli, bad_config_exits_2, .timeout = 30)
{
	char err[4096];
	int st = run_nat(c, err, sizeof(err));

	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, c->want) != NULL, "stderr lacks '%s': %s", c->want, err);
}

Test(nat_cli, missing_config_file_is_named, .timeout = 30)
{
	struct nfproc_cli cli = { .exe = "nf-nat", .args = "--config /nonexistent.json" };
	char err[4096];

	nfproc_cli_run(&cli, err, sizeof(err));
	cr_assert(strstr(err, "/nonexistent.json") != NULL, "%s", err);
}
