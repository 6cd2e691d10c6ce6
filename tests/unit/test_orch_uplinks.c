/* NFs on uplinks of their own (the fixture: tests/harness/orchenv.h): a firewall beside
 * the NAT on the default ones, each carrying its own connections, uplinks in use or missing
 * refused, a PATCH of the firewall's rules reaching its running instances; a load balancer
 * whose VIP reaches both backends and whose pool PATCH reaches its running instances. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "tests/harness/orchenv.h"

#define FW_CONNS 20

/* POST /v1/nfs 'body': want status 'want' and, for an error, 'msg' in the answer. */
static void create_expect(const char *body, long want, const char *msg)
{
	char resp[65536];
	long st = http("POST", "/v1/nfs", body, resp);

	cr_assert_eq(st, want, "POST /v1/nfs %s: %ld %s", body, st, resp);
	if (msg != NULL)
		cr_assert(strstr(resp, msg) != NULL, "POST /v1/nfs %s: '%s' lacks '%s'", body, resp,
			  msg);
}

/* The sum of heartbeat counter 'field' over the instances of NF 'name'. */
static unsigned long long nf_counter(const char *name, const char *field)
{
	struct inst_view v[MAX_INSTS];
	unsigned ready;
	unsigned long long sum = 0;
	int n = nf_insts_of(name, v, &ready);

	for (int i = 0; i < n; i++) {
		redisReply *r = redisCommand(rc, "HGET snf:inst:%s %s", v[i].id, field);

		if (r != NULL && r->type == REDIS_REPLY_STRING)
			sum += strtoull(r->str, NULL, 10);
		freeReplyObject(r);
	}
	return sum;
}

/* A connection to port 'port' the firewall denies: the SYN is dropped, so the connect times
 * out (nothing listens on PROBE_PORT + 1: an allowed SYN there would be refused). */
static void denied_connect_times_out(int port)
{
	pid_t pid = spawn_in(&ns_c, path_in("probe-denied.log"), "%s/tcpprobe client %s:%d --conns 1 "
			     "--connect-timeout-ms 1000 --duration-s 2 --out %s", bin_dir,
			     FW_SERVER_IP, port, path_in("probe-denied.json"));
	json_t *r, *c;
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "the denied connection did not break "
		  "(status %#x)", st);
	r = probe_report_at("probe-denied.json");
	c = json_array_get(json_object_get(r, "per_conn"), 0);
	cr_assert(strstr(json_string_value(json_object_get(c, "error")), "timed out") != NULL,
		  "denied connection: %s (want a timeout: the firewall drops the SYN)",
		  json_string_value(json_object_get(c, "error")));
	json_decref(r);
}

/* The integer at store key 'key', -1 when absent. */
static long long store_int(const char *key)
{
	redisReply *r = redisCommand(rc, "GET %s", key);
	long long v = r != NULL && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;

	freeReplyObject(r);
	return v;
}

static long long rules_version(void)
{
	return store_int("fw:rules_ver");
}

/* PATCH the firewall's rules (deny everything): the running instances take the new rule
 * set from the store; the connections already open go on, a new one is dropped. */
static void patch_rules_apply_to_new_connections(void)
{
	long long v0 = rules_version();
	uint64_t t0 = mono_ms();
	char resp[65536];
	long echoes;
	json_t *r;

	cr_assert_gt(v0, 0, "the orchestrator published no rule set for fw");
	cr_assert_eq(http("PATCH", "/v1/nfs/fw", "{\"config\": {\"default\": \"deny\", \"rules\": "
			  "[]}}", resp), 200, "%s", resp);
	while (rules_version() == v0 && mono_ms() - t0 < 5000)
		sleep_ms(20);
	cr_assert_gt(rules_version(), v0, "PATCH did not publish the new rule set");
	sleep_ms(500);	/* the instances check the version every 100 ms */
	denied_connect_times_out(PROBE_PORT);
	r = probe_report_at("probe-fw.json");
	echoes = probe_int(r, "echoes");
	json_decref(r);
	sleep_ms(1000);
	r = probe_report_at("probe-fw.json");
	cr_assert_eq(probe_int(r, "broken"), 0, "established connections broke after the PATCH");
	cr_assert_gt(probe_int(r, "echoes"), echoes + FW_CONNS * 50, "established connections "
		     "stopped after the PATCH");
	json_decref(r);
	cr_log_info("PATCH fw: rule set version %lld -> %lld in %llu ms; new connections dropped, "
		    "%d established ones kept going", v0, rules_version(),
		    (unsigned long long)(mono_ms() - t0), FW_CONNS);
}

TestSuite(orch_uplinks, .init = setup, .fini = teardown, .timeout = 420);

/* A firewall on uplinks of its own beside the NAT on the default ones, one bridge: each
 * carries its own connections and drops what its rules deny; an NF cannot take an uplink
 * in use, nor one that does not exist. */
Test(orch_uplinks, nfs_on_their_own_uplinks, .timeout = 300)
{
	json_t *r;
	unsigned long long nat_rx, fw_rx;

	orch_daemon_start();
	phase_create();
	create_expect("{\"name\": \"fw\", \"type\": \"firewall\", \"instances\": 2, \"uplinks\": "
		      "{\"inside\": \"upfi\", \"outside\": \"upfo\"}, \"config\": {\"default\": \"deny\", "
		      "\"rules\": [{\"action\": \"allow\", \"proto\": \"tcp\", \"dir\": \"out\", "
		      "\"dst_ports\": 7777}]}}", 201, NULL);
	create_expect("{\"name\": \"fw2\", \"type\": \"firewall\", \"uplinks\": {\"inside\": "
		      "\"upfo\", \"outside\": \"upx\"}}", 409, "uplinks: upfo carries NF 'fw'");
	create_expect("{\"name\": \"nat2\", \"type\": \"nat\", \"config\": {\"public_ips\": "
		      "[\"203.0.113.9\"]}}", 409, "uplinks: upi carries NF 'nat'");
	create_expect("{\"name\": \"fw3\", \"type\": \"firewall\", \"uplinks\": {\"inside\": "
		      "\"nosuch0\", \"outside\": \"nosuch1\"}}", 400,
		      "uplinks.inside: interface 'nosuch0' does not exist");
	wait_ready_of("fw", 2, "firewall");
	/* Connections through both NFs; a port the firewall denies gets nowhere. */
	probe_srv = spawn_in(&ns_s, path_in("probe-server.log"), "%s/tcpprobe serve %d --duration-s "
			     "600 --out %s", bin_dir, PROBE_PORT, path_in("probe-server.json"));
	sleep_ms(300);
	probe_cli = spawn_in(&ns_c, path_in("probe.log"), "%s/tcpprobe client %s:%d --conns %d "
			     "--interval-ms 10 --duration-s 600 --out %s", bin_dir, SERVER_IP,
			     PROBE_PORT, FW_CONNS, path_in("probe.json"));
	probe_fw = spawn_in(&ns_c, path_in("probe-fw.log"), "%s/tcpprobe client %s:%d --conns %d "
			    "--interval-ms 10 --duration-s 600 --out %s", bin_dir, FW_SERVER_IP,
			    PROBE_PORT, FW_CONNS, path_in("probe-fw.json"));
	denied_connect_times_out(PROBE_PORT + 1);
	sleep_ms(3000);
	r = probe_report_at("probe.json");
	cr_assert_eq(probe_int(r, "connected"), FW_CONNS, "through the NAT: %s", path_in("probe.json"));
	cr_assert_eq(probe_int(r, "broken"), 0);
	json_decref(r);
	r = probe_report_at("probe-fw.json");
	cr_assert_eq(probe_int(r, "connected"), FW_CONNS, "through the firewall: %s",
		     path_in("probe-fw.json"));
	cr_assert_eq(probe_int(r, "broken"), 0);
	cr_assert_gt(probe_int(r, "echoes"), FW_CONNS * 100);
	json_decref(r);
	nat_rx = nf_counter(NF_NAME, "rx");
	fw_rx = nf_counter("fw", "rx");
	cr_log_info("two NFs on one bridge: NAT instances received %llu packets, firewall instances "
		    "%llu; the firewall dropped %llu by policy", nat_rx, fw_rx,
		    nf_counter("fw", "drop_policy"));
	cr_assert_gt(nat_rx, 1000);
	cr_assert_gt(fw_rx, 1000);
	cr_assert_gt(nf_counter("fw", "drop_policy"), 0, "the denied connection was not dropped");
	patch_rules_apply_to_new_connections();
}

/* ---- a load balancer ---- */

#define LB_CONNS 20
#define LB_SPEC(backends) "{\"services\": [{\"vip\": \"" LB_VIP "\", \"port\": 7777, " \
	"\"proto\": \"tcp\", \"backends\": [" backends "]}]}"
#define LB_BE(addr) "{\"address\": \"" addr "\", \"port\": 7777}"

/* Connections the backends' side has established on 'addr':7777 (ss in the server netns). */
static int backend_conns(const char *addr)
{
	char log[PATH_MAX], line[256], want[64];
	pid_t pid;
	FILE *f;
	int st, n = 0;

	snprintf(log, sizeof(log), "%s", path_in("ss.log"));
	pid = spawn_in(&ns_s, log, "ss -Htn state established '( sport = :%d )'", PROBE_PORT);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	snprintf(want, sizeof(want), " %s:%d ", addr, PROBE_PORT);
	f = fopen(log, "r");
	cr_assert_not_null(f, "%s", log);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, want) != NULL;
	fclose(f);
	return n;
}

static long long pool_version(void)
{
	return store_int("lb:pool_ver");
}

/* 'n' connections of the probe with report 'report' connected, none broken, echoing. */
static void probe_expect(const char *report, int n)
{
	uint64_t t0 = mono_ms();
	json_t *r;

	for (;;) {
		r = probe_report_at(report);
		if (probe_int(r, "connected") == n || mono_ms() - t0 > 10000)
			break;
		json_decref(r);
		sleep_ms(100);
	}
	cr_assert_eq(probe_int(r, "connected"), n, "through the LB: %s", path_in(report));
	cr_assert_eq(probe_int(r, "broken"), 0, "through the LB: %s", path_in(report));
	json_decref(r);
}

/* A load balancer on its own uplinks: connections to its VIP (the orchestrator answers ARP
 * for it) reach both backends through the instances and come back from the VIP; a PATCH of
 * its pool reaches the running instances: new connections go to the backend left, the open
 * ones keep theirs. */
Test(orch_uplinks, lb_vip_and_pool_patch, .timeout = 300)
{
	long long v0;
	uint64_t t0;
	int b1, b2;
	char resp[65536];

	orch_daemon_start();
	create_expect("{\"name\": \"lb\", \"type\": \"lb\", \"instances\": 2, \"uplinks\": "
		      "{\"inside\": \"uplbi\", \"outside\": \"uplbo\"}, \"config\": "
		      LB_SPEC(LB_BE(LB_BACKEND1) ", " LB_BE(LB_BACKEND2)) "}", 201, NULL);
	wait_ready_of("lb", 2, "lb");
	probe_srv = spawn_in(&ns_s, path_in("probe-server.log"), "%s/tcpprobe serve %d --duration-s "
			     "600 --out %s", bin_dir, PROBE_PORT, path_in("probe-server.json"));
	sleep_ms(300);
	probe_cli = spawn_in(&ns_c, path_in("probe.log"), "%s/tcpprobe client %s:%d --conns %d "
			     "--interval-ms 10 --duration-s 600 --out %s", bin_dir, LB_VIP, PROBE_PORT,
			     LB_CONNS, path_in("probe.json"));
	probe_expect("probe.json", LB_CONNS);
	b1 = backend_conns(LB_BACKEND1);
	b2 = backend_conns(LB_BACKEND2);
	cr_log_info("LB: %d connections to %s:%d, %d on %s and %d on %s", LB_CONNS, LB_VIP,
		    PROBE_PORT, b1, LB_BACKEND1, b2, LB_BACKEND2);
	cr_assert_eq(b1 + b2, LB_CONNS);
	cr_assert(b1 > 0 && b2 > 0, "one backend got every connection");
	/* The pool without backend 1: published, then new connections go to backend 2. */
	v0 = pool_version();
	t0 = mono_ms();
	cr_assert_eq(http("PATCH", "/v1/nfs/lb", "{\"config\": " LB_SPEC(LB_BE(LB_BACKEND2)) "}",
			  resp), 200, "%s", resp);
	while (pool_version() == v0 && mono_ms() - t0 < 5000)
		sleep_ms(20);
	cr_assert_gt(pool_version(), v0, "PATCH did not publish the new pool");
	sleep_ms(500);	/* the instances check the version every 100 ms */
	probe_fw = spawn_in(&ns_c, path_in("probe-new.log"), "%s/tcpprobe client %s:%d --conns 10 "
			    "--interval-ms 10 --duration-s 600 --out %s", bin_dir, LB_VIP, PROBE_PORT,
			    path_in("probe-new.json"));
	probe_expect("probe-new.json", 10);
	probe_expect("probe.json", LB_CONNS);
	cr_assert_eq(backend_conns(LB_BACKEND1), b1, "connections moved off backend 1");
	cr_assert_eq(backend_conns(LB_BACKEND2), b2 + 10, "new connections did not all go to "
		     "backend 2");
	cr_log_info("PATCH lb: pool version %lld -> %lld; 10 new connections on %s, the %d on %s "
		    "kept theirs", v0, pool_version(), LB_BACKEND2, b1, LB_BACKEND1);
}

