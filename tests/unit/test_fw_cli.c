/* nf-firewall command line: a bad rule file or option exits with status 2 and names the
 * rule index and field (or the option). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "tests/harness/nfproc.h"

struct cli_case {
	char rules[240];	/* JSON written to the --rules file, or "" for none */
	char args[160];		/* other NF options after '--' */
	char want[96];		/* fragment of the message on stderr */
};

/* Run nf-firewall (local mode unless 'args' says otherwise); returns its exit status and
 * leaves its stderr in 'err'. */
static int run_fw(const struct cli_case *c, char *err, size_t errsz)
{
	struct nfproc_cli cli = { .exe = "nf-firewall", .file_opt = "--rules",
				  .file_text = c->rules, .args = c->args };

	return nfproc_cli_run(&cli, err, errsz);
}

#define ALLOW "{\"action\": \"allow\"}"

ParameterizedTestParameters(fw_cli, bad_rules_and_options_exit_2)
{
	static struct cli_case cases[] = {
		{ "{\"rules\": [" ALLOW ", " ALLOW ", " ALLOW ", {\"action\": \"allow\", \"dst_ports\": 70000}]}",
		  "--mode local", "rules[3].dst_ports: 70000 is not a port" },
		{ "{\"rules\": [" ALLOW ", {\"action\": \"allow\", \"src\": \"10.0.0.0/40\"}]}", "--mode local",
		  "rules[1].src: '10.0.0.0/40' is not an IPv4 prefix" },
		{ "{\"rules\": [{\"action\": \"allow\", \"proto\": \"gre\"}]}", "--mode local",
		  "rules[0].proto: 'gre' is not one of tcp, udp, icmp, any" },
		{ "{\"rules\": [{\"proto\": \"tcp\"}]}", "--mode local", "rules[0]: \"action\" is required" },
		{ "{\"default\": \"drop\"}", "--mode local", "default: must be \"allow\" or \"deny\"" },
		{ "{\"rules\": [" ALLOW "], \"timeouts\": {}}", "--mode local", "timeouts: unknown field (default, rules)" },
		{ "{\"rules\": [" ALLOW "", "--mode local", "line 1" },
		{ "", "--mode local", "--rules: local mode needs a rule set" },
		{ "", "--publish-rules", "--publish-rules: needs a rule set" },
		{ "{}", "--mode local --one-armed", "--inside-prefix: one-armed mode needs at least one inside prefix" },
		{ "{}", "--mode local --inside-prefix 10.0.0.1/8", "--inside-prefix: '10.0.0.1/8' has address bits set" },
		{ "{}", "--mode local --timeout tcp=5", "--timeout: 'tcp=5'" },
		{ "{}", "--mode local --rules-check-ms 0", "--rules-check-ms: '0'" },
		{ "{}", "--mode fast", "--mode" },
	};
	return cr_make_param_array(struct cli_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cli_case *c, fw_cli, bad_rules_and_options_exit_2, .timeout = 30)
{
	char err[4096];
	int st = run_fw(c, err, sizeof(err));

	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, c->want) != NULL, "stderr lacks '%s': %s", c->want, err);
}

Test(fw_cli, missing_rule_file_is_named, .timeout = 30)
{
	struct cli_case c = { "", "--mode local --rules /nonexistent/fw.json", "/nonexistent/fw.json" };
	char err[4096];
	int st = run_fw(&c, err, sizeof(err));

	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, c.want) != NULL, "stderr lacks '%s': %s", c.want, err);
}

Test(fw_cli, help_lists_the_firewall_options, .timeout = 30)
{
	char exe[4096], cmd[8192];
	int st;

	cr_assert_eq(nfproc_build_path("nf-firewall", exe, sizeof(exe)), 0);
	snprintf(cmd, sizeof(cmd), "timeout 20 %s " NFPROC_CLI_EAL " -- --help 2>/dev/null | grep -q -- '--publish-rules'", exe);
	st = system(cmd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--help does not describe --publish-rules");
}
