/* Outages of the store and of the switch under load (the fixture: tests/harness/orchenv.h):
 * the NAT with 3 instances and 200 TCP connections through it; Redis frozen for 2 s, then
 * ovs-vswitchd killed and started again. Nothing crashes, no connection breaks, no instance
 * is replaced, the steering is restored. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "tests/harness/orchenv.h"

/* Health field 'key' (a number), -1 when the API does not answer. */
static long long health_int(const char *key)
{
	json_t *h = get_json("/v1/health");
	long long v = h != NULL ? json_integer_value(json_object_get(h, key)) : -1;

	json_decref(h);
	return v;
}

static bool health_store_up(void)
{
	json_t *h = get_json("/v1/health");
	bool up = h != NULL && strcmp(json_string_value(json_object_get(h, "store")) ?: "", "up") == 0;

	json_decref(h);
	return up;
}

/* The ids of the NF's instances, in order, into 'ids' (';'-separated). */
static void inst_ids(char *ids, size_t size)
{
	struct inst_view v[MAX_INSTS];
	unsigned ready;
	int n = nf_insts(v, &ready);

	ids[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(ids + strlen(ids), size - strlen(ids), "%s;", v[i].id);
}

/* Redis frozen for 2 s (SIGSTOP: unreachable, its data kept): the instances forward their
 * established flows from their caches, the orchestrator judges no instance while it cannot
 * read heartbeats, and everything resumes when Redis does. */
static void phase_store_pause(void)
{
	char before[512], after[512], detail[512];
	uint64_t since = wall_ms() - 1, t0;

	inst_ids(before, sizeof(before));
	probe_mark();
	cr_assert_eq(kill(rs.pid, SIGSTOP), 0);
	t0 = mono_ms();
	while (health_store_up() && mono_ms() - t0 < 2000)
		sleep_ms(50);
	cr_assert_not(health_store_up(), "the orchestrator did not notice the store outage");
	sleep_ms(2000);
	cr_assert_eq(kill(rs.pid, SIGCONT), 0);
	t0 = mono_ms();
	while (!health_store_up() && mono_ms() - t0 < 10000)
		sleep_ms(50);
	cr_assert(health_store_up(), "the orchestrator did not reconnect to the store");
	sleep_ms(SETTLE_MS);
	inst_ids(after, sizeof(after));
	cr_assert_str_eq(after, before, "instances changed over a store outage");
	cr_assert_eq(event_find("failed", NULL, since, detail, sizeof(detail)), 0,
		     "an instance was declared failed during the store outage: %s", detail);
	m.gap_store = probe_check("store frozen 2 s", GAP_MAX_MS);
	mappings_check("store outage");
}

/* ovs-vswitchd killed and started again: the switch forwards nothing meanwhile, comes back
 * with its ports (same OpenFlow numbers) but no flows, connects to the orchestrator, which
 * programs it again; TCP retransmits across the gap and no connection breaks. */
static void phase_switch_restart(void)
{
	char before[512], after[512];
	long long connects = health_int("openflow_connects");
	uint64_t t0;

	inst_ids(before, sizeof(before));
	probe_mark();
	t0 = mono_ms();
	cr_assert_eq(ovs_kill_vswitchd(&ovs), 0);
	sleep_ms(500);
	cr_assert_eq(ovs_start_vswitchd(&ovs), 0, "%s", ovs.out);
	while (health_int("openflow_connects") <= connects && mono_ms() - t0 < 20000)
		sleep_ms(50);
	cr_assert_gt(health_int("openflow_connects"), connects, "the switch did not reconnect");
	cr_log_info("switch restart: connected again %llu ms after the kill",
		    (unsigned long long)(mono_ms() - t0));
	sleep_ms(2 * SETTLE_MS);
	inst_ids(after, sizeof(after));
	cr_assert_str_eq(after, before, "instances changed over a switch restart");
	m.gap_switch = probe_check("switch restarted", 0);
	mappings_check("switch restart");
}

TestSuite(orch_outages, .init = setup, .fini = teardown, .timeout = 420);

/* The store and the switch go away under load and come back: nothing crashes, no
 * connection breaks, no instance is replaced, the steering is restored. */
Test(orch_outages, store_and_switch_outages, .timeout = 300)
{
	orch_daemon_start();
	phase_create();
	phase_traffic();
	phase_store_pause();
	phase_switch_restart();
	cr_assert_gt(hb_seq("nat-1") + hb_seq("nat-2") + hb_seq("nat-3"), 0);
	cr_log_info("RESULT outages: store frozen 2 s: longest gap %.1f ms; switch killed and "
		    "restarted: longest gap %.1f ms; 0 connections broken", m.gap_store,
		    m.gap_switch);
}
