/* Load balancer configuration: defaults, valid files, every bad field named, the pool JSON. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "nfs/lb/lb.h"

static struct lb_config cfg;

#define GOOD "{\"services\": [" \
	"{\"vip\": \"192.0.2.10\", \"port\": 80, \"proto\": \"tcp\", \"backends\": [" \
	"  {\"address\": \"10.1.0.1\", \"port\": 8080}," \
	"  {\"address\": \"10.1.0.2\", \"port\": 8080, \"weight\": 3, \"state\": \"drain\"}]}," \
	"{\"vip\": \"192.0.2.10\", \"port\": 53, \"proto\": \"udp\", \"backends\": []}]," \
	"\"timeouts\": {\"tcp\": 60, \"udp\": 10}}"

Test(lb_config, defaults_and_a_good_file)
{
	char err[256];

	lb_config_default(&cfg);
	cr_assert_eq(cfg.timeouts.tcp, 900);
	cr_assert_eq(cfg.timeouts.udp, 300);
	cr_assert_eq(cfg.n_services, 0);
	cr_assert_eq(lb_config_load_string(&cfg, GOOD, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.n_services, 2);
	cr_assert_eq(cfg.n_backends, 2);
	cr_assert_eq(cfg.services[0].vip, inet_addr("192.0.2.10"));
	cr_assert_eq(cfg.services[0].port, htons(80));
	cr_assert_eq(cfg.services[0].proto, IPPROTO_TCP);
	cr_assert_eq(cfg.services[0].n_backends, 2);
	cr_assert_eq(cfg.services[1].proto, IPPROTO_UDP);
	cr_assert_eq(cfg.services[1].n_backends, 0);
	cr_assert_eq(cfg.backends[0].weight, 1);
	cr_assert_eq(cfg.backends[0].state, LB_BACKEND_ACTIVE);
	cr_assert_eq(cfg.backends[1].ip, inet_addr("10.1.0.2"));
	cr_assert_eq(cfg.backends[1].port, htons(8080));
	cr_assert_eq(cfg.backends[1].weight, 3);
	cr_assert_eq(cfg.backends[1].state, LB_BACKEND_DRAIN);
	cr_assert_eq(cfg.timeouts.tcp, 60);
	cr_assert_eq(cfg.timeouts.udp, 10);
}

Test(lb_config, pool_json_round_trips)
{
	struct lb_config back;
	char err[256], *json, *again;

	lb_config_default(&cfg);
	cr_assert_eq(lb_config_load_string(&cfg, GOOD, err, sizeof(err)), 0, "%s", err);
	json = lb_config_pool_json(&cfg);
	cr_assert_not_null(json);
	cr_assert_null(strstr(json, "timeouts"), "the pool has no timeouts: %s", json);
	lb_config_default(&back);
	cr_assert_eq(lb_config_load_string(&back, json, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.n_services, cfg.n_services);
	cr_assert_eq(back.n_backends, cfg.n_backends);
	cr_assert(memcmp(back.services, cfg.services, sizeof(cfg.services[0]) * cfg.n_services) == 0);
	cr_assert(memcmp(back.backends, cfg.backends, sizeof(cfg.backends[0]) * cfg.n_backends) == 0);
	again = lb_config_pool_json(&back);
	cr_assert_str_eq(again, json);
	free(json);
	free(again);
}

Test(lb_config, timeouts_by_name)
{
	lb_config_default(&cfg);
	cr_assert_eq(lb_config_set_timeout(&cfg, "udp", 7), 0);
	cr_assert_eq(cfg.timeouts.udp, 7);
	cr_assert_eq(lb_config_set_timeout(&cfg, "icmp", 7), -ENOENT);
}

struct bad_case {
	char json[400];
	char want[120];		/* the whole message must start with this */
};

#define SVC(backends) "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, \"backends\": [" backends "]}]}"
#define B1 "{\"address\": \"10.1.0.1\", \"port\": 8080}"
#define B2 "{\"address\": \"10.1.0.2\", \"port\": 8080}"

ParameterizedTestParameters(lb_config, bad_fields_are_named)
{
	static struct bad_case cases[] = {
		{ SVC(B1 "," B2 ", {\"address\": \"10.1.0.3\", \"port\": 70000}"),
		  "services[0].backends[2].port: 70000 is not a port" },
		{ SVC(B1 ", {\"address\": \"10.1.0.300\", \"port\": 1}"),
		  "services[0].backends[1].address: '10.1.0.300' is not an IPv4 address" },
		{ SVC("{\"address\": \"10.1.0.1\", \"port\": 1, \"weight\": 0}"),
		  "services[0].backends[0].weight: 0 is out of range 1-65535" },
		{ SVC("{\"address\": \"10.1.0.1\", \"port\": 1, \"state\": \"off\"}"),
		  "services[0].backends[0].state: 'off' is not active or drain" },
		{ SVC("{\"address\": \"10.1.0.1\", \"port\": 1, \"wieght\": 2}"),
		  "services[0].backends[0].wieght: unknown field" },
		{ SVC("{\"address\": \"10.1.0.1\"}"), "services[0].backends[0]: port is missing" },
		{ SVC("{\"port\": 1}"), "services[0].backends[0]: address is missing" },
		{ SVC(B1 "," B1), "services[0].backends[1]: duplicate of backends[0] (10.1.0.1:8080)" },
		{ SVC("\"10.1.0.1:80\""), "services[0].backends[0]: must be an object" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 0, \"backends\": []}]}",
		  "services[0].port: 0 is not a port" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": \"80\", \"backends\": []}]}",
		  "services[0].port: must be an integer" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, \"proto\": \"icmp\", \"backends\": []}]}",
		  "services[0].proto: 'icmp' is not tcp or udp" },
		{ "{\"services\": [{\"vip\": \"192.0.2\", \"port\": 80, \"backends\": []}]}",
		  "services[0].vip: '192.0.2' is not an IPv4 address" },
		{ "{\"services\": [{\"port\": 80, \"backends\": []}]}", "services[0]: vip is missing" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80}]}", "services[0]: backends is missing" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, \"backends\": {}}]}",
		  "services[0].backends: must be an array" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, \"backends\": []},"
		  " {\"vip\": \"192.0.2.10\", \"port\": 80, \"proto\": \"tcp\", \"backends\": []}]}",
		  "services[1]: duplicate of services[0] (192.0.2.10:80/tcp)" },
		{ "{\"services\": [{\"vip\": \"192.0.2.10\", \"port\": 80, \"backends\": [], \"mode\": 1}]}",
		  "services[0].mode: unknown field (vip, port, proto, backends)" },
		{ "{\"services\": {}}", "services: must be an array" },
		{ "{\"service\": []}", "service: unknown field (services, timeouts)" },
		{ "{\"timeouts\": {\"tcp\": 0}}", "timeouts.tcp: 0 is out of range" },
		{ "{\"timeouts\": {\"icmp\": 5}}", "timeouts.icmp: unknown timeout (tcp, udp)" },
		{ "[]", "config: must be a JSON object" },
		{ "{\"services\": [", "config: line 1" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, lb_config, bad_fields_are_named)
{
	char err[256] = "";

	lb_config_default(&cfg);
	cr_assert_eq(lb_config_load_string(&cfg, c->json, err, sizeof(err)), -EINVAL,
		     "accepted: %s", c->json);
	cr_assert_eq(strncmp(err, c->want, strlen(c->want)), 0, "message '%s', want '%s...'", err, c->want);
}

Test(lb_config, file_errors_start_with_the_file_name)
{
	char path[] = "/tmp/lbcfgXXXXXX", err[512];
	const char *json = SVC(B1 ", {\"address\": \"10.1.0.3\", \"port\": 70000}");
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	lb_config_default(&cfg);
	cr_assert_eq(lb_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	unlink(path);
	cr_assert(strstr(err, path) == err, "%s", err);
	cr_assert(strstr(err, ": services[0].backends[1].port: 70000 is not a port") != NULL, "%s", err);
	cr_assert_eq(lb_config_load_file(&cfg, "/nonexistent/lb.json", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/nonexistent/lb.json") != NULL);
}

Test(lb_config, validate_catches_programmatic_mistakes)
{
	char err[256];

	lb_config_default(&cfg);
	cfg.n_services = 1;
	cfg.services[0] = (struct lb_service_cfg){ .vip = inet_addr("192.0.2.1"), .port = htons(80),
						   .proto = IPPROTO_TCP, .first = 0, .n_backends = 2 };
	cfg.n_backends = 1;
	cfg.backends[0] = (struct lb_backend_cfg){ .ip = inet_addr("10.0.0.1"), .port = htons(1),
						   .weight = 1 };
	cr_assert_eq(lb_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "services[0]: backends out of range");
	cfg.services[0].n_backends = 1;
	cr_assert_eq(lb_config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
	cfg.services[0].proto = 1;
	cr_assert_eq(lb_config_validate(&cfg, err, sizeof(err)), -EINVAL);
}
