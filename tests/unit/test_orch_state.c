/* Tests of the orchestrator's state in Redis (orchestrator/state.c) against a real redis-server. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "nf/clock.h"
#include "orchestrator/state.h"
#include "tests/harness/redis_server.h"

static struct redis_server rs;
static struct orch_state *st;	/* the state under test */
static redisContext *raw;	/* a plain client to look at and tamper with the keys */

static void setup(void)
{
	struct store_cfg cfg;

	cr_assert_eq(redis_server_start(&rs, NULL), 0, "cannot start redis-server");
	redis_server_store_cfg(&rs, 0, &cfg);
	st = orch_state_open(&cfg);
	cr_assert_not_null(st);
	cr_assert(orch_state_connected(st));
	raw = redisConnectUnix(rs.unix_path);
	cr_assert(raw != NULL && raw->err == 0);
}

static void teardown(void)
{
	orch_state_close(st);
	st = NULL;
	if (raw != NULL)
		redisFree(raw);
	raw = NULL;
	redis_server_stop(&rs);
}

TestSuite(orch_state, .init = setup, .fini = teardown, .timeout = 30);

/* A plain command's reply (the caller frees it). */
static redisReply *raw_cmd(const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(raw, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r, "raw client: %s", raw->errstr);
	return r;
}

static long long raw_int(const char *fmt, const char *arg)
{
	redisReply *r = raw_cmd(fmt, arg);
	long long v = r->integer;

	cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	return v;
}

static void spec_make(struct orch_nf_spec *s, const char *name, unsigned instances)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->type = ORCH_NF_NAT;
	s->instances = instances;
	s->created_ms = 1700000000000ull;
	s->config = json_pack("{s:[s]}", "public_ips", "203.0.113.1");
}

static void inst_make(struct orch_instance *in, const char *nf, const char *id, enum orch_inst_state state)
{
	memset(in, 0, sizeof(*in));
	snprintf(in->nf, sizeof(in->nf), "%s", nf);
	snprintf(in->id, sizeof(in->id), "%s", id);
	in->state = state;
	in->pid = 1000;
	in->pps = 10.5;
}

static void put_nf(const char *name, unsigned instances)
{
	struct orch_nf_spec s;

	spec_make(&s, name, instances);
	cr_assert_eq(orch_state_put_nf(st, &s, true), 0);
	orch_nf_spec_clear(&s);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- NF specs ---- */

Test(orch_state, create_only_conflicts_and_replace_does_not)
{
	struct orch_nf_spec a, b, got;

	spec_make(&a, "nat1", 2);
	spec_make(&b, "nat1", 5);
	cr_assert_eq(orch_state_put_nf(st, &a, true), 0);
	cr_assert_eq(orch_state_put_nf(st, &b, true), -EEXIST);
	cr_assert_eq(orch_state_get_nf(st, "nat1", &got), 0);
	cr_assert_eq(got.instances, 2, "a refused create changed the spec");
	orch_nf_spec_clear(&got);
	cr_assert_eq(orch_state_put_nf(st, &b, false), 0);
	cr_assert_eq(orch_state_get_nf(st, "nat1", &got), 0);
	cr_assert_eq(got.instances, 5);
	cr_assert_eq(got.created_ms, 1700000000000ull);
	cr_assert(json_equal(got.config, a.config));
	cr_assert_eq(raw_int("SCARD %s", "orch:nfs"), 1);
	orch_nf_spec_clear(&got);
	orch_nf_spec_clear(&a);
	orch_nf_spec_clear(&b);
}

Test(orch_state, get_missing_is_enoent)
{
	struct orch_nf_spec got;

	cr_assert_eq(orch_state_get_nf(st, "nope", &got), -ENOENT);
	cr_assert_eq(orch_state_del_nf(st, "nope"), -ENOENT);
}

Test(orch_state, list_is_sorted)
{
	struct orch_name_list l;

	put_nf("zeta", 1);
	put_nf("alpha", 1);
	put_nf("mid-1", 1);
	cr_assert_eq(orch_state_list_nfs(st, &l), 0);
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.names[0], "alpha");
	cr_assert_str_eq(l.names[1], "mid-1");
	cr_assert_str_eq(l.names[2], "zeta");
	orch_name_list_free(&l);
}

Test(orch_state, list_empty)
{
	struct orch_name_list l;

	cr_assert_eq(orch_state_list_nfs(st, &l), 0);
	cr_assert_eq(l.n, 0);
	orch_name_list_free(&l);
}

Test(orch_state, delete_removes_spec_instances_and_slots_but_keeps_ids)
{
	char slots[ORCH_SLOTS][ORCH_ID_MAX] = { { 0 } }, id[ORCH_ID_MAX];
	struct orch_instance in;
	struct orch_name_list l;

	put_nf("nat1", 1);
	put_nf("other", 1);
	cr_assert_eq(orch_state_next_instance_id(st, "nat1", id), 0);
	inst_make(&in, "nat1", id, ORCH_INST_READY);
	cr_assert_eq(orch_state_put_instance(st, &in), 0);
	cr_assert_eq(orch_state_put_slots(st, "nat1", slots), 0);
	cr_assert_eq(orch_state_del_nf(st, "nat1"), 0);
	cr_assert_eq(raw_int("EXISTS %s", "orch:nf:nat1"), 0);
	cr_assert_eq(raw_int("EXISTS %s", "orch:inst:nat1"), 0);
	cr_assert_eq(raw_int("EXISTS %s", "orch:slots:nat1"), 0);
	cr_assert_eq(raw_int("SISMEMBER orch:nfs %s", "nat1"), 0);
	cr_assert_eq(orch_state_list_nfs(st, &l), 0);
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(l.names[0], "other");
	orch_name_list_free(&l);
	/* Recreated under the same name, it does not reuse an instance id. */
	put_nf("nat1", 1);
	cr_assert_eq(orch_state_next_instance_id(st, "nat1", id), 0);
	cr_assert_str_eq(id, "nat1-2");
}

Test(orch_state, bad_record_is_ebadmsg)
{
	struct orch_nf_spec got;

	freeReplyObject(raw_cmd("SET orch:nf:bad %s", "{not json"));
	cr_assert_eq(orch_state_get_nf(st, "bad", &got), -EBADMSG);
	freeReplyObject(raw_cmd("SET orch:nf:bad %s", "{\"name\": \"bad\", \"type\": \"router\"}"));
	cr_assert_eq(orch_state_get_nf(st, "bad", &got), -EBADMSG);
}

/* ---- Instances and ids ---- */

Test(orch_state, instance_ids_count_up_per_nf)
{
	char id[ORCH_ID_MAX];

	for (int i = 1; i <= 3; i++) {
		char want[ORCH_ID_MAX];

		cr_assert_eq(orch_state_next_instance_id(st, "nat1", id), 0);
		snprintf(want, sizeof(want), "nat1-%d", i);
		cr_assert_str_eq(id, want);
	}
	cr_assert_eq(orch_state_next_instance_id(st, "fw", id), 0);
	cr_assert_str_eq(id, "fw-1");
}

Test(orch_state, instances_put_get_list_delete)
{
	struct orch_instance in, got, *list;
	size_t n;

	put_nf("nat1", 3);
	inst_make(&in, "nat1", "nat1-10", ORCH_INST_LAUNCHING);
	cr_assert_eq(orch_state_put_instance(st, &in), 0);
	inst_make(&in, "nat1", "nat1-2", ORCH_INST_READY);
	in.ofport_in = 5;
	cr_assert_eq(orch_state_put_instance(st, &in), 0);
	inst_make(&in, "nat1", "nat1-9", ORCH_INST_DRAINING);
	cr_assert_eq(orch_state_put_instance(st, &in), 0);
	cr_assert_eq(orch_state_get_instance(st, "nat1", "nat1-2", &got), 0);
	cr_assert_eq(got.state, ORCH_INST_READY);
	cr_assert_eq(got.ofport_in, 5);
	cr_assert_eq(orch_state_list_instances(st, "nat1", &list, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0].id, "nat1-2", "sorted by number, not as strings");
	cr_assert_str_eq(list[1].id, "nat1-9");
	cr_assert_str_eq(list[2].id, "nat1-10");
	free(list);
	/* Replace, then delete. */
	in.state = ORCH_INST_STOPPED;
	cr_assert_eq(orch_state_put_instance(st, &in), 0);
	cr_assert_eq(orch_state_get_instance(st, "nat1", "nat1-9", &got), 0);
	cr_assert_eq(got.state, ORCH_INST_STOPPED);
	cr_assert_eq(orch_state_del_instance(st, "nat1", "nat1-9"), 0);
	cr_assert_eq(orch_state_del_instance(st, "nat1", "nat1-9"), -ENOENT);
	cr_assert_eq(orch_state_get_instance(st, "nat1", "nat1-9", &got), -ENOENT);
	cr_assert_eq(orch_state_list_instances(st, "nat1", &list, &n), 0);
	cr_assert_eq(n, 2);
	free(list);
}

Test(orch_state, no_orphan_instances)
{
	struct orch_instance in, *list;
	size_t n = 7;

	inst_make(&in, "ghost", "ghost-1", ORCH_INST_READY);
	cr_assert_eq(orch_state_put_instance(st, &in), -ENOENT);
	cr_assert_eq(raw_int("EXISTS %s", "orch:inst:ghost"), 0);
	cr_assert_eq(orch_state_list_instances(st, "ghost", &list, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(list);
}

/* ---- Events ---- */

Test(orch_state, events_newest_first_and_capped)
{
	json_t *ev;
	char detail[32];
	long long t0 = (long long)time(NULL) * 1000;

	for (int i = 0; i < ORCH_EVENTS_MAX + 5; i++) {
		snprintf(detail, sizeof(detail), "n=%d", i);
		cr_assert_eq(orch_state_add_event(st, "nat1", i % 2 ? ORCH_EV_READY : ORCH_EV_LAUNCHED,
						  i % 3 ? "nat1-1" : NULL, detail), 0);
	}
	cr_assert_eq(raw_int("LLEN %s", "orch:events"), ORCH_EVENTS_MAX);
	cr_assert_eq(orch_state_events(st, 0, &ev), 0);
	cr_assert_eq(json_array_size(ev), ORCH_EVENTS_MAX);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 0), "detail")), "n=1004");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 999), "detail")), "n=5");
	json_decref(ev);
	cr_assert_eq(orch_state_events(st, 3, &ev), 0);
	cr_assert_eq(json_array_size(ev), 3);
	json_t *e = json_array_get(ev, 0);
	cr_assert_str_eq(json_string_value(json_object_get(e, "nf")), "nat1");
	cr_assert_str_eq(json_string_value(json_object_get(e, "kind")), "launched");	/* 1004 is even */
	cr_assert_str_eq(json_string_value(json_object_get(e, "instance")), "nat1-1");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 1), "kind")), "ready");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 2), "instance")), "",
			 "1002 had no instance");
	cr_assert_geq(json_integer_value(json_object_get(e, "ts_ms")), t0);
	cr_assert_leq(json_integer_value(json_object_get(e, "ts_ms")), t0 + 60000);
	json_decref(ev);
}

Test(orch_state, event_kinds_have_names)
{
	static const char *const want[] = { "launched", "ready", "failed", "replaced", "scaled",
					    "draining", "stopped", "created", "deleted", "autoscale" };

	for (int k = 0; k < ORCH_EV__COUNT; k++)
		cr_assert_str_eq(orch_event_kind_name(k), want[k]);
}

/* ---- Slots ---- */

Test(orch_state, slots_round_trip)
{
	char slots[ORCH_SLOTS][ORCH_ID_MAX] = { { 0 } }, got[ORCH_SLOTS][ORCH_ID_MAX];

	cr_assert_eq(orch_state_get_slots(st, "nat1", got), -ENOENT);
	for (int i = 0; i < ORCH_SLOTS; i++)
		if (i % 4 != 3)
			snprintf(slots[i], ORCH_ID_MAX, "nat1-%d", 1 + i % 3);
	cr_assert_eq(orch_state_put_slots(st, "nat1", slots), 0);
	cr_assert_eq(orch_state_get_slots(st, "nat1", got), 0);
	for (int i = 0; i < ORCH_SLOTS; i++)
		cr_assert_str_eq(got[i], slots[i], "slot %d", i);
	freeReplyObject(raw_cmd("SET orch:slots:nat1 %s", "[\"a\"]"));
	cr_assert_eq(orch_state_get_slots(st, "nat1", got), -EBADMSG);
}

/* ---- Store down, restart ---- */

Test(orch_state, store_down_is_eio_everywhere_then_recovers)
{
	char slots[ORCH_SLOTS][ORCH_ID_MAX] = { { 0 } }, id[ORCH_ID_MAX];
	struct orch_nf_spec s, got;
	struct orch_instance in, *list;
	struct orch_name_list l;
	json_t *ev;
	size_t n;
	uint64_t t0;

	spec_make(&s, "nat1", 1);
	inst_make(&in, "nat1", "nat1-1", ORCH_INST_READY);
	cr_assert_eq(redis_server_kill(&rs), 0);
	cr_assert_eq(orch_state_put_nf(st, &s, true), -EIO);
	cr_assert_eq(orch_state_get_nf(st, "nat1", &got), -EIO);
	cr_assert_eq(orch_state_list_nfs(st, &l), -EIO);
	cr_assert_eq(orch_state_del_nf(st, "nat1"), -EIO);
	cr_assert_eq(orch_state_put_instance(st, &in), -EIO);
	cr_assert_eq(orch_state_get_instance(st, "nat1", "nat1-1", &in), -EIO);
	cr_assert_eq(orch_state_del_instance(st, "nat1", "nat1-1"), -EIO);
	cr_assert_eq(orch_state_list_instances(st, "nat1", &list, &n), -EIO);
	cr_assert_eq(orch_state_next_instance_id(st, "nat1", id), -EIO);
	cr_assert_eq(orch_state_add_event(st, "nat1", ORCH_EV_FAILED, NULL, NULL), -EIO);
	cr_assert_eq(orch_state_events(st, 10, &ev), -EIO);
	cr_assert_eq(orch_state_put_slots(st, "nat1", slots), -EIO);
	cr_assert_eq(orch_state_get_slots(st, "nat1", slots), -EIO);
	cr_assert(!orch_state_connected(st));
	/* Back: the handle reconnects by itself (backoff capped at 1 s). */
	cr_assert_eq(redis_server_restart(&rs), 0);
	t0 = nf_now_us();
	while (orch_state_put_nf(st, &s, true) == -EIO && nf_now_us() - t0 < 5000000)
		sleep_ms(20);
	cr_assert_eq(orch_state_get_nf(st, "nat1", &got), 0);
	orch_nf_spec_clear(&got);
	orch_nf_spec_clear(&s);
}

Test(orch_state, a_second_handle_sees_everything)
{
	char slots[ORCH_SLOTS][ORCH_ID_MAX] = { { 0 } }, got_slots[ORCH_SLOTS][ORCH_ID_MAX];
	char id[ORCH_ID_MAX];
	struct orch_instance in, *list;
	struct orch_nf_spec got;
	struct orch_name_list l;
	struct store_cfg cfg;
	struct orch_state *st2;
	json_t *ev;
	size_t n;

	put_nf("nat1", 2);
	put_nf("fw", 1);
	cr_assert_eq(orch_state_next_instance_id(st, "nat1", id), 0);
	inst_make(&in, "nat1", id, ORCH_INST_READY);
	cr_assert_eq(orch_state_put_instance(st, &in), 0);
	snprintf(slots[0], ORCH_ID_MAX, "%s", id);
	cr_assert_eq(orch_state_put_slots(st, "nat1", slots), 0);
	cr_assert_eq(orch_state_add_event(st, "nat1", ORCH_EV_CREATED, NULL, "2 instances"), 0);
	orch_state_close(st);	/* the first orchestrator goes away */
	st = NULL;

	redis_server_store_cfg(&rs, 1, &cfg);	/* the second one even comes by the unix socket */
	st2 = orch_state_open(&cfg);
	cr_assert_not_null(st2);
	cr_assert_eq(orch_state_list_nfs(st2, &l), 0);
	cr_assert_eq(l.n, 2);
	orch_name_list_free(&l);
	cr_assert_eq(orch_state_get_nf(st2, "nat1", &got), 0);
	cr_assert_eq(got.instances, 2);
	orch_nf_spec_clear(&got);
	cr_assert_eq(orch_state_list_instances(st2, "nat1", &list, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].id, "nat1-1");
	cr_assert_eq(list[0].state, ORCH_INST_READY);
	free(list);
	cr_assert_eq(orch_state_get_slots(st2, "nat1", got_slots), 0);
	cr_assert_str_eq(got_slots[0], "nat1-1");
	cr_assert_eq(orch_state_events(st2, 10, &ev), 0);
	cr_assert_eq(json_array_size(ev), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 0), "detail")), "2 instances");
	json_decref(ev);
	cr_assert_eq(orch_state_next_instance_id(st2, "nat1", id), 0);
	cr_assert_str_eq(id, "nat1-2", "ids continue where the first handle stopped");
	orch_state_close(st2);
}
