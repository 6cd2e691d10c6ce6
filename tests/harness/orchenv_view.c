/* Test harness: what the orchestrator's end-to-end tests observe (see orchenv.h): its
 * REST API, the TCP probe's reports, the NAT mappings and the heartbeats in Redis. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "tests/harness/orchenv.h"

#define MAX_MAPPINGS 4096

/* ---- HTTP ---- */

static size_t http_sink(char *p, size_t size, size_t n, void *arg)
{
	char *buf = arg;
	size_t have = strlen(buf), add = size * n;

	if (have + add >= 65536)
		add = 65535 - have;
	memcpy(buf + have, p, add);
	buf[have + add] = '\0';
	return size * n;
}

/* 'method' 'path' with JSON 'body' (may be NULL): the status, the reply in 'resp' (64 KiB). */
long http(const char *method, const char *path, const char *body, char *resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256];
	long status = 0;

	resp[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* GET 'path' as JSON (NULL unless 200). */
json_t *get_json(const char *path)
{
	static char resp[65536];

	if (http("GET", path, NULL, resp) != 200)
		return NULL;
	return json_loads(resp, 0, NULL);
}

/* ---- the NF as the API shows it ---- */

/* The instances of the NF; returns how many (-1 when the NF cannot be read). */
int nf_insts_of(const char *name, struct inst_view *v, unsigned *ready)
{
	char path[64];
	json_t *nf, *in;
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "/v1/nfs/%s", name);
	nf = get_json(path);
	*ready = 0;
	if (nf == NULL)
		return -1;
	json_array_foreach(json_object_get(nf, "instances"), i, in) {
		if (n == MAX_INSTS)
			break;
		snprintf(v[n].id, sizeof(v[n].id), "%s", json_string_value(json_object_get(in, "id")));
		snprintf(v[n].state, sizeof(v[n].state), "%s",
			 json_string_value(json_object_get(in, "state")));
		v[n].pid = (long)json_integer_value(json_object_get(in, "pid"));
		v[n].config_gen = (long)json_integer_value(json_object_get(in, "config_gen"));
		*ready += strcmp(v[n].state, "ready") == 0;
		n++;
	}
	json_decref(nf);
	return n;
}

int nf_insts(struct inst_view *v, unsigned *ready)
{
	return nf_insts_of(NF_NAME, v, ready);
}

/* Wait until the NF has exactly 'want' instances, all ready. */
void wait_ready_of(const char *name, unsigned want, const char *what)
{
	uint64_t t0 = mono_ms();
	struct inst_view v[MAX_INSTS];
	unsigned ready = 0;
	int n = -1;

	while (mono_ms() - t0 < READY_TIMEOUT_MS) {
		n = nf_insts_of(name, v, &ready);
		if (n == (int)want && ready == want)
			return;
		sleep_ms(100);
	}
	cr_assert_fail("%s: %u ready of %d instances after %d s (want %u; log %s)", what, ready, n,
		       READY_TIMEOUT_MS / 1000, path_in("orch.log"));
}

void wait_ready(unsigned want, const char *what)
{
	wait_ready_of(NF_NAME, want, what);
}

/* The newest event of 'kind' about instance 'id' recorded at or after 'since' (wall ms):
 * its detail into 'detail' and its time; 0 when none. */
uint64_t event_find(const char *kind, const char *id, uint64_t since, char *detail,
			   size_t size)
{
	json_t *ev = get_json("/v1/events?nf=" NF_NAME "&max=200"), *e;
	uint64_t ts = 0;
	size_t i;

	json_array_foreach(json_object_get(ev, "events"), i, e) {
		uint64_t t = (uint64_t)json_integer_value(json_object_get(e, "ts_ms"));

		if (t >= since && strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
		    (id == NULL || strcmp(json_string_value(json_object_get(e, "instance")), id) == 0)) {
			if (detail != NULL)
				snprintf(detail, size, "%s", json_string_value(json_object_get(e, "detail")));
			ts = t;
			break;
		}
	}
	json_decref(ev);
	return ts;
}

uint64_t wait_event(const char *kind, const char *id, uint64_t since, char *detail,
			   size_t size)
{
	uint64_t t0 = mono_ms(), ts;

	while ((ts = event_find(kind, id, since, detail, size)) == 0 &&
	       mono_ms() - t0 < EVENT_TIMEOUT_MS)
		sleep_ms(50);
	cr_assert_neq(ts, 0, "no '%s' event for %s within %d s (log %s)", kind, id ? id : "the NF",
		      EVENT_TIMEOUT_MS / 1000, path_in("orch.log"));
	return ts;
}

/* "... detection to reroute 1.3 ms)" in a "replaced" event's detail: the number, or -1. */
double detail_rr(const char *detail)
{
	const char *p = strstr(detail, "detection to reroute ");

	return p != NULL ? strtod(p + strlen("detection to reroute "), NULL) : -1;
}

/* ---- the probe ---- */

/* The JSON report of a probe, file 'name' in the test's directory. */
json_t *probe_report_at(const char *name)
{
	json_t *j = NULL;

	for (int i = 0; i < 20 && j == NULL; i++) {
		j = json_load_file(path_in(name), 0, NULL);
		if (j == NULL)
			sleep_ms(20);
	}
	cr_assert_not_null(j, "no probe report in %s", path_in(name));
	return j;
}

json_t *probe_report(void)
{
	return probe_report_at("probe.json");
}

long probe_int(json_t *r, const char *k)
{
	return (long)json_integer_value(json_object_get(r, k));
}

double probe_real(json_t *r, const char *k)
{
	return json_number_value(json_object_get(r, k));
}

/* Wait (at most 20 s) until no connection waits for an echo: TCP's retransmission backoff
 * after the previous phase's disruption is over. */
static void probe_settled(void)
{
	uint64_t t0 = mono_ms();
	long stalled;

	do {
		json_t *r = probe_report();

		stalled = probe_int(r, "stalled");
		json_decref(r);
		if (stalled > 0)
			sleep_ms(100);
	} while (stalled > 0 && mono_ms() - t0 < 20000);
	if (stalled > 0)
		cr_log_warn("%ld connection(s) still waiting for an echo after 20 s", stalled);
}

/* Packets the switch's sockets dropped so far (their receive buffers were full: the
 * switch did not read them in time), from ss's skmem "d" of ovs-vswitchd's packet sockets. */
static long ovs_sock_drops(void)
{
	char out[16384];
	long total = 0;

	if (sh_out(out, sizeof(out), "ss -f link -a -m -p | grep ovs-vswitchd | "
		   "grep -o ',d[0-9]*)' | tr -dc '0-9\\n'") != 0)
		return -1;
	for (char *p = out; *p != '\0';) {
		char *end;
		long v = strtol(p, &end, 10);

		total += v;
		p = end == p ? p + 1 : end;
	}
	return total;
}

static long drops_at_mark;

/* Start a new measuring phase of the probe (SIGUSR1) and wait until it took it. */
void probe_mark(void)
{
	json_t *r;
	long phase;
	uint64_t t0;

	probe_settled();
	r = probe_report();
	phase = probe_int(r, "phase");
	t0 = mono_ms();
	json_decref(r);
	drops_at_mark = ovs_sock_drops();
	kill(probe_cli, SIGUSR1);
	do {
		sleep_ms(50);
		r = probe_report();
		if (probe_int(r, "phase") > phase) {
			json_decref(r);
			return;
		}
		json_decref(r);
	} while (mono_ms() - t0 < 5000);
	cr_assert_fail("the probe did not start a new phase");
}

/* After a phase: every connection up, none reset, the phase's longest gap (returned)
 * within 'limit' ms (0: not checked). */
double probe_check(const char *phase, double limit)
{
	json_t *r = probe_report(), *c;
	double gap = probe_real(r, "phase_max_gap_ms");
	long broken = probe_int(r, "broken"), resets = probe_int(r, "resets");
	unsigned slow = 0;
	size_t i;

	json_array_foreach(json_object_get(r, "per_conn"), i, c)
		slow += probe_real(c, "phase_max_gap_ms") > 200.0;
	cr_log_info("%s: longest gap %.1f ms (%u of %d connections silent > 200 ms), %ld echoes so "
		    "far, %ld broken, %ld resets; the switch's sockets dropped %ld packets", phase, gap,
		    slow, CONNS, probe_int(r, "echoes"), broken, resets,
		    ovs_sock_drops() - drops_at_mark);
	json_decref(r);
	cr_expect_eq(resets, 0, "%s: %ld connection(s) reset (%s)", phase, resets, path_in("probe.json"));
	cr_assert_eq(broken, 0, "%s: %ld connection(s) broke (%s)", phase, broken, path_in("probe.json"));
	if (limit > 0)
		cr_assert_leq(gap, limit, "%s: a connection was silent %.1f ms (limit %.0f ms)", phase, gap,
			      limit);
	return gap;
}

/* ---- NAT mappings in Redis ---- */

struct mapping {
	char *key, *val;
	size_t klen, vlen;
};
static struct mapping maps[MAX_MAPPINGS];
static unsigned n_maps;

void mappings_free(void)
{
	for (unsigned i = 0; i < n_maps; i++) {
		free(maps[i].key);
		free(maps[i].val);
	}
	n_maps = 0;
}

static char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	cr_assert_not_null(d);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* Every nat:m* key and its value; returns how many. */
unsigned mappings_snapshot(void)
{
	char cursor[32] = "0";

	mappings_free();
	do {
		redisReply *r = redisCommand(rc, "SCAN %s MATCH " NF_NAME ":m* COUNT 1000", cursor);

		cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "SCAN failed");
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && n_maps < MAX_MAPPINGS; i++) {
			redisReply *k = r->element[1]->element[i];
			redisReply *v = redisCommand(rc, "GET %b", k->str, k->len);

			if (v != NULL && v->type == REDIS_REPLY_STRING) {
				maps[n_maps] = (struct mapping){ dup_bytes(k->str, k->len),
								 dup_bytes(v->str, v->len), k->len, v->len };
				n_maps++;
			}
			freeReplyObject(v);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return n_maps;
}

/* The mappings of the snapshot are all still there, unchanged. */
void mappings_check(const char *phase)
{
	unsigned changed = 0, gone = 0;

	for (unsigned i = 0; i < n_maps; i++) {
		redisReply *v = redisCommand(rc, "GET %b", maps[i].key, maps[i].klen);

		if (v == NULL || v->type != REDIS_REPLY_STRING)
			gone++;
		else if (v->len != maps[i].vlen || memcmp(v->str, maps[i].val, v->len) != 0)
			changed++;
		freeReplyObject(v);
	}
	cr_log_info("%s: %u NAT mappings checked: %u changed, %u gone", phase, n_maps, changed, gone);
	cr_assert_eq(changed + gone, 0, "%s: %u NAT mapping(s) changed, %u gone", phase, changed, gone);
}

/* ---- heartbeats (to see instances run while the orchestrator is down) ---- */

unsigned long long hb_seq(const char *id)
{
	redisReply *r = redisCommand(rc, "HGET snf:inst:%s seq", id);
	unsigned long long v = 0;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		v = strtoull(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

unsigned long long hb_rx(const char *id)
{
	redisReply *r = redisCommand(rc, "HGET snf:inst:%s rx", id);
	unsigned long long v = 0;

	if (r != NULL && r->type == REDIS_REPLY_STRING)
		v = strtoull(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

