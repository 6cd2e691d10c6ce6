/* Test harness: the end-to-end fixture of the orchestrator's tests (test_orch_failover,
 * test_orch_outages, test_orch_uplinks): the real nfv-orchestrator process on a real OVS
 * bridge (netdev datapath) and a real Redis, real NF instances, a client and a server network
 * namespace joined through the bridge's uplinks, and TCP connections (build/tcpprobe) through
 * the NFs; helpers to drive it (REST API, shell commands, signals) and to check it (the
 * probe's reports, the NAT mappings and the heartbeats in Redis).
 *
 * Isolation: setup() moves the test into a network namespace of its own (OVS, Redis, the
 * uplinks, the orchestrator, the instances), the client and server namespaces are held by
 * children of the test, and the orchestrator and its instances run in a PID namespace (with
 * its own /proc) whose init dies with the test: nothing outlives it, whatever happens.
 *
 * The tests share fixed ports (API_PORT, OF_PORT): run one at a time (--jobs=1). Functions
 * that check something fail the running Criterion test (cr_assert) unless said otherwise;
 * they are called in the test's process, between setup() and teardown(). */
#ifndef TESTS_HARNESS_ORCHENV_H
#define TESTS_HARNESS_ORCHENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "tests/harness/netns.h"
#include "tests/harness/ovs.h"
#include "tests/harness/redis_server.h"

#define CONNS 200		/* the probe's connections through the NAT */
#define API_PORT 18181
#define OF_PORT 16653
#define GAP_MAX_MS 1000.0
#define READY_TIMEOUT_MS 90000	/* generous: a loaded 2-core machine */
#define EVENT_TIMEOUT_MS 30000
#define SETTLE_MS 2500		/* after a change: let the probe see its effect */
#define NF_NAME "nat"
#define PUBLIC_IP "203.0.113.1"
#define CLIENT_IP "10.0.0.2"
#define SERVER_IP "198.51.100.1"
#define FW_CLIENT_IP "10.0.1.2"	/* the firewall's pair (nfs_on_their_own_uplinks) */
#define FW_SERVER_IP "198.51.101.1"
#define LB_CLIENT_IP "10.0.2.2"	/* the load balancer's pair: clients outside, */
#define LB_VIP "192.0.2.10"
#define LB_BACKEND1 "198.51.102.1"	/* ... two backends inside (one interface) */
#define LB_BACKEND2 "198.51.102.2"
#define PROBE_PORT 7777
#define MAX_INSTS 16

struct redisContext;

/* What a test measured (ms), printed at its end; zeroed by setup(). */
struct orch_measures {
	double gap_kill, gap_hung, gap_up, gap_drain, gap_down, gap_restart, gap_kill2, gap_lost;
	double gap_port, gap_autoscale, rr_port;
	double gap_store, gap_switch, gap_roll, roll_ms;
	double rr_kill, rr_hung, rr_kill2, hung_detect_ms, scale_ms, scale_steer_ms;
};

/* The fixture, set up by setup() and torn down by teardown(). */
extern struct ovs ovs;			/* the private Open vSwitch */
extern struct redis_server rs;		/* the private Redis */
extern struct redisContext *rc;		/* the test's own connection to it */
extern struct netns ns_c, ns_s;		/* the client's and the server's namespaces */
extern pid_t probe_srv, probe_cli, probe_fw;	/* probes started by the test (0: none);
						 * teardown() kills them */
extern char dir[64];			/* the test's temporary directory */
extern char bin_dir[PATH_MAX];		/* the build directory (nfv-orchestrator, tcpprobe, ...) */
extern char bridge[16];			/* the OVS bridge the orchestrator manages */
extern char base_url[64];		/* "http://127.0.0.1:API_PORT" */
extern struct orch_measures m;

/* One instance as the API shows it. */
struct inst_view {
	char id[48], state[16];
	long pid;		/* in the PID namespace of the orchestrator */
	long config_gen;	/* the NF's config generation it was launched with */
};

/* ---- small helpers ---- */

/* CLOCK_MONOTONIC and CLOCK_REALTIME (the events' ts_ms) in ms. */
uint64_t mono_ms(void);
uint64_t wall_ms(void);
void sleep_ms(unsigned ms);

/* '<dir>/<name>' in one of 4 static buffers used in turn: valid until the 4th next call. */
const char *path_in(const char *name);

/* ---- commands (the harness's netns_run/netns_spawn children check their parent with
 * getppid(), which says 0 inside the PID namespace: these accept that) ---- */

/* Start the printf-formatted command in 'ns' (NULL: the test's) with "exec" under sh, its
 * stdout and stderr in file 'log'; it dies with the test. Returns the pid (fails the test
 * when it cannot start); end it with proc_end() or waitpid(). */
pid_t spawn_in(const struct netns *ns, const char *log, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Run the printf-formatted shell command in the test's namespace and wait: its exit status
 * (128 + signal when killed), or -errno when it could not run. Its output (stdout and
 * stderr, NUL-terminated, truncated) goes into 'out' when not NULL. Inside the PID
 * namespace, pids given to kill(1) are the orchestrator's. */
int sh_out(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* sh_out() without the output: a non-zero status is logged as a warning, not fatal. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stop a spawned process: 'sig', then SIGKILL after 5 s; reaped and '*pid' set to 0.
 * Nothing when '*pid' is 0. */
void proc_end(pid_t *pid, int sig);

/* ---- HTTP (libcurl, to base_url) ---- */

/* 'method' 'path' with JSON 'body' (may be NULL): the HTTP status (0 when there was no
 * answer), the reply NUL-terminated in 'resp' (64 KiB, truncated). */
long http(const char *method, const char *path, const char *body, char *resp);

/* GET 'path' as JSON: NULL unless 200 and JSON; caller json_decref()s it. */
json_t *get_json(const char *path);

/* ---- the NFs as the API shows them ---- */

/* The instances of NF 'name' (at most MAX_INSTS) into 'v', how many of them are ready into
 * '*ready'; returns how many, -1 when the NF cannot be read. */
int nf_insts_of(const char *name, struct inst_view *v, unsigned *ready);
/* The same for NF_NAME. */
int nf_insts(struct inst_view *v, unsigned *ready);

/* Wait (READY_TIMEOUT_MS) until NF 'name' (NF_NAME) has exactly 'want' instances, all
 * ready; 'what' names the step in the failure. */
void wait_ready_of(const char *name, unsigned want, const char *what);
void wait_ready(unsigned want, const char *what);

/* The newest event of 'kind' about instance 'id' (NULL: any) of NF_NAME recorded at or
 * after 'since' (wall ms): its detail into 'detail' (may be NULL) and its time; 0 when
 * none. */
uint64_t event_find(const char *kind, const char *id, uint64_t since, char *detail,
		    size_t size);
/* event_find() until it finds one (EVENT_TIMEOUT_MS, then the test fails): its time. */
uint64_t wait_event(const char *kind, const char *id, uint64_t since, char *detail,
		    size_t size);

/* "... detection to reroute 1.3 ms)" in a "replaced" event's detail: the number, or -1. */
double detail_rr(const char *detail);

/* ---- the probe (build/tcpprobe's JSON reports in the test's directory) ---- */

/* The report of a probe, file 'name' in dir (probe_report(): "probe.json", the one of
 * probe_cli); caller json_decref()s it. */
json_t *probe_report_at(const char *name);
json_t *probe_report(void);

/* Number 'k' of a report (0 when missing). */
long probe_int(json_t *r, const char *k);
double probe_real(json_t *r, const char *k);

/* Start a new measuring phase of probe_cli (SIGUSR1) once no connection waits for an echo
 * (at most 20 s), and wait until it took it (5 s). */
void probe_mark(void);

/* After a phase: every connection up, none reset, the phase's longest gap (returned)
 * within 'limit' ms (0: not checked). Logs the phase's numbers. */
double probe_check(const char *phase, double limit);

/* ---- NAT mappings in Redis ---- */

/* Snapshot every NF_NAME:m* key and its value (the previous snapshot freed); returns how
 * many. */
unsigned mappings_snapshot(void);
/* The mappings of the snapshot are all still there, unchanged. */
void mappings_check(const char *phase);
/* Free the snapshot (teardown() does). */
void mappings_free(void);

/* ---- heartbeats ---- */

/* Field seq (heartbeats published) and rx (packets received) of instance 'id' in Redis, 0
 * when missing. */
unsigned long long hb_seq(const char *id);
unsigned long long hb_rx(const char *id);

/* ---- the orchestrator ---- */

/* Start nfv-orchestrator in the PID namespace (config orch.json, log orch.log in dir) and
 * wait until /v1/health says ok (30 s). */
void orch_daemon_start(void);

/* SIGTERM and wait (SIGKILL after 15 s): it must exit 0 (checked with cr_expect) and leave
 * the instances running. Nothing when it does not run. */
void orch_daemon_stop(void);

/* ---- fixture: TestSuite(name, .init = setup, .fini = teardown) ---- */

/* Needs root. The test's session gets the data plane's priority; a temporary directory,
 * a network namespace of its own, Redis, OVS, the client and server namespaces and their
 * uplinks (upi/upo for the NAT, upfi/upfo for a firewall), the PID namespace and the
 * orchestrator's config. The orchestrator is not started. */
void setup(void);

/* Kill the probes, delete the NFs (fw, NF_NAME: their instances stop and clean up), stop
 * the orchestrator and everything setup() started; the directory stays with
 * ORCH_TEST_KEEP set. */
void teardown(void);

/* ---- phases shared by the tests ---- */

/* POST the NAT (NF_NAME, 3 instances) and wait until they are ready. */
void phase_create(void);

/* Start probe_srv in ns_s and probe_cli in ns_c: CONNS connections through the NAT, a
 * message every 10 ms each; wait until they all run (60 s), then snapshot the mappings. */
void phase_traffic(void);

/* A ready instance of NF_NAME (the last one listed). */
struct inst_view pick_instance(void);

/* Kill ('sig' SIGKILL) or freeze (SIGSTOP) a ready instance of NF_NAME under a new probe
 * phase; wait for its "failed" and "replaced" events and for 'want' ready instances, then
 * SETTLE_MS. Returns the detection-to-reroute time of the event (ms, -1 when not found);
 * the time from the signal to the "failed" event into '*detect_ms' (may be NULL). */
double fail_instance(const char *phase, int sig, unsigned want, double *detect_ms);

/* After a scale call at 't0' (mono ms), with 'before' the 'n_before' instances then: wait
 * until every new instance is ready and received traffic (READY_TIMEOUT_MS); returns the
 * ms from 't0' to the last one's. */
double scale_traffic_ms(uint64_t t0, const struct inst_view *before, int n_before);

#endif
