/* Integration of the whole orchestrator (the fixture: tests/harness/orchenv.h): the real
 * nfv-orchestrator process on a real OVS bridge (netdev datapath) and a real Redis, real
 * nf-nat instances, a client and a server network namespace joined through the bridge's
 * uplinks, and 200 TCP connections (build/tcpprobe) through the NAT, each sending a message
 * every 10 ms. Under that load: kill -9 of an instance, a hung (SIGSTOPped) instance, scale
 * 3 -> 5, a graceful removal (nfvctl kill: drain, then stop), scale to 2, an orchestrator
 * restart (traffic keeps flowing while it is down; it adopts the instances), a kill after
 * the restart, and an instance killed while the orchestrator is down (failed as lost and
 * replaced after it returns). Hard requirements checked in every phase: no connection reset
 * or broken, no gap over 1 s (kill -9, scaling, restart), the NAT mappings in Redis
 * unchanged, failures replaced. The measured numbers are printed.
 *
 * `make bench` runs bench_failover_and_scale_out (--filter 'orch_failover/bench*'). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "tests/harness/orchenv.h"

/* ---- phases ---- */

static void phase_kill(void)
{
	m.rr_kill = fail_instance("kill -9", SIGKILL, 3, NULL);
	m.gap_kill = probe_check("kill -9", GAP_MAX_MS);
	mappings_check("kill -9");
}

static void phase_hung(void)
{
	m.rr_hung = fail_instance("hung (SIGSTOP)", SIGSTOP, 3, &m.hung_detect_ms);
	m.gap_hung = probe_check("hung (SIGSTOP)", 0);
	if (m.gap_hung > GAP_MAX_MS)
		cr_log_warn("hung instance: a connection was silent %.0f ms (detection alone takes "
			    "3 heartbeat intervals, then TCP's retransmission backoff)", m.gap_hung);
	mappings_check("hung");
}

/* 'nfvctl kill NAME/ID': the instance drains (out of the steering, counters still), stops,
 * and is not replaced. */
static void drain_one(void)
{
	struct inst_view v = pick_instance();
	char out[1024], detail[512];
	uint64_t since = wall_ms() - 1;

	probe_mark();
	cr_assert_eq(sh_out(out, sizeof(out), "%s/nfvctl --url %s kill %s/%s", bin_dir, base_url,
			    NF_NAME, v.id), 0, "nfvctl kill: %s", out);
	wait_event("draining", v.id, since, NULL, 0);
	wait_event("stopped", v.id, since, detail, sizeof(detail));
	cr_log_info("nfvctl kill %s/%s: %s", NF_NAME, v.id, detail);
	wait_ready(4, "drain");
	sleep_ms(SETTLE_MS);
	m.gap_drain = probe_check("drain (nfvctl kill)", GAP_MAX_MS);
}

static void phase_scale(void)
{
	struct inst_view before[MAX_INSTS];
	char resp[65536], detail[512];
	unsigned ready;
	int n = nf_insts(before, &ready);
	uint64_t since = wall_ms() - 1, t0;

	probe_mark();
	t0 = mono_ms();
	cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 5}", resp), 200,
		     "%s", resp);
	m.scale_ms = scale_traffic_ms(t0, before, n);
	wait_ready(5, "scale to 5");
	if (event_find("ready", NULL, since, detail, sizeof(detail)) &&
	    strstr(detail, "after the request"))
		m.scale_steer_ms = strtod(strrchr(detail, ';') + 2, NULL);
	cr_log_info("scale 3 -> 5: the new instances carried traffic %.0f ms after the call "
		    "(last one in the steering: %s)", m.scale_ms, detail);
	sleep_ms(SETTLE_MS);
	m.gap_up = probe_check("scale 3 -> 5", GAP_MAX_MS);
	drain_one();
	probe_mark();
	cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 2}", resp), 200,
		     "%s", resp);
	wait_ready(2, "scale to 2");
	sleep_ms(SETTLE_MS);
	m.gap_down = probe_check("scale 5 -> 2", GAP_MAX_MS);
	mappings_check("scale");
}

static bool same_instances(const struct inst_view *a, int na, const struct inst_view *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++) {
		bool found = false;

		for (int j = 0; j < nb; j++)
			found |= strcmp(a[i].id, b[j].id) == 0 && a[i].pid == b[j].pid;
		if (!found)
			return false;
	}
	return true;
}

/* 'nfvctl ls' through the CLI: its output. */
static void nfvctl_ls(char *out, size_t size)
{
	cr_assert_eq(sh_out(out, size, "%s/nfvctl --url %s ls", bin_dir, base_url), 0,
		     "nfvctl ls: %s", out);
}

static void phase_restart(void)
{
	struct inst_view a[MAX_INSTS], b[MAX_INSTS];
	unsigned long long seq[MAX_INSTS];
	char out[4096];
	unsigned ready;
	int na, nb;
	json_t *r;
	long echoes;

	probe_mark();
	na = nf_insts(a, &ready);
	nfvctl_ls(out, sizeof(out));
	cr_log_info("before the restart, nfvctl ls:\n%s", out);
	for (int i = 0; i < na; i++)
		seq[i] = hb_seq(a[i].id);
	orch_daemon_stop();
	r = probe_report();
	echoes = probe_int(r, "echoes");
	json_decref(r);
	sleep_ms(3000);
	for (int i = 0; i < na; i++)
		cr_assert_gt(hb_seq(a[i].id), seq[i], "%s stopped with the orchestrator", a[i].id);
	r = probe_report();
	cr_assert_gt(probe_int(r, "echoes"), echoes + CONNS * 100,
		     "traffic did not flow while the orchestrator was down");
	json_decref(r);
	cr_log_info("orchestrator down 3 s: the instances kept publishing, the traffic kept flowing");
	orch_daemon_start();
	nb = nf_insts(b, &ready);
	cr_assert(same_instances(a, na, b, nb), "after the restart the NF has other instances "
		  "(%d before, %d after)", na, nb);
	nfvctl_ls(out, sizeof(out));
	cr_log_info("after the restart, nfvctl ls:\n%s", out);
	cr_assert(strstr(out, NF_NAME) != NULL && strstr(out, "2/2") != NULL, "nfvctl ls: %s", out);
	sleep_ms(SETTLE_MS);
	m.gap_restart = probe_check("orchestrator restart", GAP_MAX_MS);
	m.rr_kill2 = fail_instance("kill -9 after the restart", SIGKILL, 2, NULL);
	m.gap_kill2 = probe_check("kill -9 after the restart", GAP_MAX_MS);
	mappings_check("restart");
}

/* Stop the orchestrator, kill -9 an instance while it is down, start it again: the
 * missing instance is failed ("lost") and replaced, the other one adopted as it was. */
static void phase_lost(void)
{
	struct inst_view v = pick_instance(), a[MAX_INSTS], b[MAX_INSTS];
	uint64_t since = wall_ms() - 1;
	char detail[512];
	unsigned ready;
	int na = nf_insts(a, &ready), nb, kept = 0;

	probe_mark();
	orch_daemon_stop();
	cr_assert_eq(sh("kill -9 %ld", v.pid), 0);
	sleep_ms(1000);
	orch_daemon_start();
	wait_event("failed", v.id, since, detail, sizeof(detail));
	cr_log_info("restart with %s killed meanwhile: failed: %s", v.id, detail);
	cr_assert(strstr(detail, "lost") != NULL, "%s", detail);
	wait_event("replaced", v.id, since, detail, sizeof(detail));
	wait_ready(2, "lost instance replaced");
	nb = nf_insts(b, &ready);
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			kept += strcmp(a[i].id, v.id) != 0 && strcmp(a[i].id, b[j].id) == 0 && a[i].pid == b[j].pid;
	cr_assert_eq(kept, na - 1, "the surviving instance was not adopted as it was");
	sleep_ms(SETTLE_MS);
	m.gap_lost = probe_check("instance lost while the orchestrator was down", 0);
	mappings_check("lost");
}

/* The bridge side of an instance's inside veth goes down: OVS reports it (port_status),
 * the instance fails ("port_down") and is replaced. */
static void phase_port_down(void)
{
	json_t *nf = get_json("/v1/nfs/" NF_NAME), *in;
	char id[48] = "", port[32] = "", detail[512];
	uint64_t since = wall_ms() - 1;
	size_t i;

	json_array_foreach(json_object_get(nf, "instances"), i, in) {
		if (strcmp(json_string_value(json_object_get(in, "state")), "ready") == 0) {
			snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(in, "id")));
			snprintf(port, sizeof(port), "%s", json_string_value(json_object_get(in, "br_in")));
		}
	}
	json_decref(nf);
	cr_assert_neq(id[0], '\0', "no ready instance");
	probe_mark();
	cr_assert_eq(sh("ip link set %s down", port), 0);
	wait_event("failed", id, since, detail, sizeof(detail));
	cr_log_info("port down: %s failed: %s", id, detail);
	cr_assert(strstr(detail, "port_down") != NULL, "%s", detail);
	wait_event("replaced", id, since, detail, sizeof(detail));
	m.rr_port = detail_rr(detail);
	wait_ready(2, "port down");
	sleep_ms(SETTLE_MS);
	m.gap_port = probe_check("OVS port down", GAP_MAX_MS);
}

/* Autoscaling under the probe's load: a policy whose scale-out threshold the load exceeds
 * adds an instance after its window (events autoscale and scaled); disabled again after. */
static void phase_autoscale(void)
{
	char resp[65536], detail[512];
	uint64_t since = wall_ms() - 1;

	probe_mark();
	cr_assert_eq(http("PATCH", "/v1/nfs/" NF_NAME, "{\"autoscale\": {\"min\": 2, \"max\": 3, "
			  "\"scale_out_load\": 0.001, \"scale_in_load\": 0.0005, \"window_s\": 1, "
			  "\"cooldown_s\": 60}}", resp), 200, "%s", resp);
	do {
		wait_event("scaled", NULL, since, detail, sizeof(detail));
		if (strstr(detail, "(autoscale)") == NULL)
			sleep_ms(100);
	} while (strstr(detail, "(autoscale)") == NULL && wall_ms() - since < EVENT_TIMEOUT_MS);
	cr_assert(strstr(detail, "(autoscale)") != NULL, "no autoscale decision: %s", detail);
	event_find("autoscale", NULL, since, detail, sizeof(detail));
	cr_log_info("autoscale decision: %s", detail);
	wait_ready(3, "autoscale out");
	cr_assert_eq(http("PATCH", "/v1/nfs/" NF_NAME, "{\"autoscale\": null}", resp), 200, "%s", resp);
	sleep_ms(SETTLE_MS);
	m.gap_autoscale = probe_check("autoscale 2 -> 3", GAP_MAX_MS);
}

/* Whether the NF runs 'want' ready instances, all of config generation 'gen'. */
static bool rolled(int want, long gen)
{
	struct inst_view v[MAX_INSTS];
	unsigned ready;
	int n = nf_insts(v, &ready);

	if (n != want || ready != (unsigned)want)
		return false;
	for (int i = 0; i < n; i++)
		if (v[i].config_gen != gen)
			return false;
	return true;
}

/* A PATCH of the NAT's config (a wider port range): the instances are replaced one at a
 * time under the load, never fewer than before; no connection breaks, the mappings stay. */
static void phase_config_roll(void)
{
	struct inst_view v[MAX_INSTS];
	char resp[65536];
	unsigned ready;
	int n = nf_insts(v, &ready);
	uint64_t t0;

	probe_mark();
	t0 = mono_ms();
	cr_assert_eq(http("PATCH", "/v1/nfs/" NF_NAME, "{\"config\": {\"public_ips\": [\""
			  PUBLIC_IP "\"], \"port_range\": [20000, 30999]}}", resp), 200, "%s", resp);
	while (!rolled(n, 1) && mono_ms() - t0 < READY_TIMEOUT_MS) {
		cr_assert_geq(nf_insts(v, &ready), n, "fewer instances during the roll");
		sleep_ms(50);
	}
	cr_assert(rolled(n, 1), "the instances were not all replaced in %d s (log %s)",
		  READY_TIMEOUT_MS / 1000, path_in("orch.log"));
	m.roll_ms = (double)(mono_ms() - t0);
	cr_log_info("config roll: %d instances replaced in %.0f ms", n, m.roll_ms);
	sleep_ms(SETTLE_MS);
	m.gap_roll = probe_check("config roll", GAP_MAX_MS);
	mappings_check("config roll");
}

/* /metrics (of the last orchestrator run: counters start again at a restart) has the
 * histogram, the instances by state and the failover (the lost instance) counted. */
static void metrics_check(void)
{
	static char text[65536];

	cr_assert_eq(http("GET", "/metrics", NULL, text), 200);
	cr_assert_not_null(strstr(text, "orch_detection_to_reroute_seconds_bucket{le=\"0.01\"}"),
			   "no detection-to-reroute histogram in /metrics");
	cr_assert_not_null(strstr(text, "orch_failovers_total{cause=\"lost\"} 1"), "%s", text);
	cr_assert_not_null(strstr(text, "orch_instances{nf=\"" NF_NAME "\",state=\"ready\"} 2"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "orch_openflow_reconnects_total"));
	cr_assert_not_null(strstr(text, "orch_scale_events_total{source=\"api\"}"));
}

static void report(void)
{
	json_t *r;

	proc_end(&probe_cli, SIGTERM);
	r = probe_report();
	cr_log_info("RESULT connections %ld, broken %ld, resets %ld, echoes %ld, longest gap "
		    "overall %.1f ms (the lost-instance phase included)", probe_int(r, "conns"),
		    probe_int(r, "broken"), probe_int(r, "resets"), probe_int(r, "echoes"),
		    probe_real(r, "max_gap_ms"));
	cr_assert_eq(probe_int(r, "broken"), 0);
	json_decref(r);
	cr_log_info("RESULT longest gap: kill -9 %.1f ms, hung %.1f ms, scale up %.1f ms, drain %.1f "
		    "ms, scale down %.1f ms, orchestrator restart %.1f ms, kill -9 after restart %.1f ms, "
		    "instance lost while down %.1f ms, OVS port down %.1f ms, autoscale %.1f ms, "
		    "config roll %.1f ms", m.gap_kill, m.gap_hung, m.gap_up, m.gap_drain, m.gap_down,
		    m.gap_restart, m.gap_kill2, m.gap_lost, m.gap_port, m.gap_autoscale, m.gap_roll);
	cr_log_info("RESULT detection to reroute: kill -9 %.1f ms, hung %.1f ms (detected %.0f ms after "
		    "SIGSTOP), kill -9 after restart %.1f ms, port down %.1f ms", m.rr_kill, m.rr_hung,
		    m.hung_detect_ms, m.rr_kill2, m.rr_port);
	cr_log_info("RESULT scale 3 -> 5: new instances carried traffic %.0f ms after the call "
		    "(in the steering %.0f ms after it); config roll of 3 instances %.0f ms",
		    m.scale_ms, m.scale_steer_ms, m.roll_ms);
}

TestSuite(orch_failover, .init = setup, .fini = teardown, .timeout = 420);

Test(orch_failover, kill_hang_scale_restart_under_200_connections)
{
	orch_daemon_start();
	phase_create();
	phase_traffic();
	phase_kill();
	phase_hung();
	phase_scale();
	phase_restart();
	phase_lost();
	metrics_check();
	phase_port_down();
	phase_autoscale();
	phase_config_roll();
	report();
}

/* ---- `make bench`: failover and scale-out over repeated runs ---- */

#define BENCH_KILLS 10
#define BENCH_HUNG 3
#define BENCH_SCALES 5

struct bench_series {
	const char *what, *target;
	double v[BENCH_KILLS];
	unsigned n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One Markdown table row: runs, median, max. */
static void bench_row(struct bench_series *s)
{
	double v[BENCH_KILLS];

	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	printf("| %s | %u | %.1f ms | %.1f ms | %s |\n", s->what, s->n,
	       s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2, v[s->n - 1], s->target);
}

static void bench_kills(struct bench_series *gap, struct bench_series *rr,
			struct bench_series *k2r)
{
	for (unsigned i = 0; i < BENCH_KILLS; i++) {
		double detect;

		rr->v[i] = fail_instance("bench kill -9", SIGKILL, 3, &detect);
		k2r->v[i] = detect + rr->v[i];
		gap->v[i] = probe_check("bench kill -9", GAP_MAX_MS);
	}
	gap->n = rr->n = k2r->n = BENCH_KILLS;
}

static void bench_hung(struct bench_series *detect, struct bench_series *gap)
{
	for (unsigned i = 0; i < BENCH_HUNG; i++) {
		fail_instance("bench SIGSTOP", SIGSTOP, 3, &detect->v[i]);
		gap->v[i] = probe_check("bench SIGSTOP", 0);
	}
	detect->n = gap->n = BENCH_HUNG;
}

/* Scale 3 -> 4 (time from the call until the new instance carries traffic), then back. */
static void bench_scale(struct bench_series *out, struct bench_series *gap)
{
	char resp[65536];

	for (unsigned i = 0; i < BENCH_SCALES; i++) {
		struct inst_view before[MAX_INSTS];
		unsigned ready;
		int n = nf_insts(before, &ready);
		uint64_t t0;

		probe_mark();
		t0 = mono_ms();
		cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 4}", resp), 200,
			     "%s", resp);
		out->v[i] = scale_traffic_ms(t0, before, n);
		wait_ready(4, "bench scale to 4");
		cr_assert_eq(http("POST", "/v1/nfs/" NF_NAME "/scale", "{\"instances\": 3}", resp), 200,
			     "%s", resp);
		wait_ready(3, "bench scale to 3");
		sleep_ms(SETTLE_MS);
		gap->v[i] = probe_check("bench scale 3 -> 4 -> 3", GAP_MAX_MS);
	}
	out->n = gap->n = BENCH_SCALES;
}

/* The same measuring phases with no event: the machine's own noise in the longest gap. */
static void bench_quiet(struct bench_series *gap)
{
	for (unsigned i = 0; i < BENCH_HUNG; i++) {
		probe_mark();
		sleep_ms(SETTLE_MS + 1000);
		gap->v[i] = probe_check("bench, no event", GAP_MAX_MS);
	}
	gap->n = BENCH_HUNG;
}

enum { B_QUIET, B_GAP, B_RR, B_K2R, B_HDET, B_HGAP, B_SCALE, B_SGAP, B__N };

static const char *const bench_names[B__N][2] = {
	[B_QUIET] = { "longest gap with no event (this machine's noise)", "-" },
	[B_GAP] = { "longest gap after kill -9 (any connection)", "<= 10 ms median" },
	[B_RR] = { "kill -9: detection to reroute (orchestrator)", "-" },
	[B_K2R] = { "kill -9: signal to reroute (with the kernel's exit)", "-" },
	[B_HDET] = { "SIGSTOP: signal to detection (heartbeat 100 ms)", "<= 300 ms" },
	[B_HGAP] = { "longest gap after SIGSTOP", "-" },
	[B_SCALE] = { "scale-out: REST call to traffic on the new instance", "<= 1000 ms" },
	[B_SGAP] = { "longest gap, scale 3 -> 4 -> 3", "-" },
};

/* Run by `make bench` (SNF_FAILOVER_BENCH=1): prints a Markdown section. */
Test(orch_failover, bench_failover_and_scale_out, .timeout = 900)
{
	static struct bench_series b[B__N];
	json_t *r;

	if (getenv("SNF_FAILOVER_BENCH") == NULL)
		cr_skip_test("the failover benchmark runs with make bench (SNF_FAILOVER_BENCH=1)");
	for (unsigned i = 0; i < B__N; i++)
		b[i].what = bench_names[i][0], b[i].target = bench_names[i][1];
	orch_daemon_start();
	phase_create();
	phase_traffic();
	bench_quiet(&b[B_QUIET]);
	bench_kills(&b[B_GAP], &b[B_RR], &b[B_K2R]);
	bench_hung(&b[B_HDET], &b[B_HGAP]);
	bench_scale(&b[B_SCALE], &b[B_SGAP]);
	proc_end(&probe_cli, SIGTERM);
	r = probe_report();
	printf("\n## Failover and scale-out (NAT, 3 instances, %d TCP connections, a message "
	       "every 10 ms each, OVS userspace)\n\n", CONNS);
	printf("| measure | runs | median | max | target |\n|---|---|---|---|---|\n");
	for (unsigned i = 0; i < B__N; i++)
		bench_row(&b[i]);
	printf("| connections broken / reset over the %u events | %d | %ld / %ld | | 0 |\n",
	       BENCH_KILLS + BENCH_HUNG + 2 * BENCH_SCALES, CONNS, probe_int(r, "broken"),
	       probe_int(r, "resets"));
	fflush(stdout);
	cr_assert_eq(probe_int(r, "broken"), 0);
	json_decref(r);
}
