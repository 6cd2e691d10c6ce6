/* Orchestrator state in Redis: NF specs, instances, instance ids, steering slots and events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "orchestrator/state.h"

#define LOG_MOD "orch-state"
#define KEY_MAX 64
#define ARGV_MAX 8

struct orch_state {
	struct store *st;
};

/* Atomic multi-key changes. KEYS and ARGV are described above each one. */

/* KEYS: orch:nf:<name>, orch:nfs. ARGV: spec JSON, name. 1 = created, 0 = name taken. */
static const char lua_put_nf_nx[] =
	"if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end "
	"redis.call('SADD', KEYS[2], ARGV[2]) return 1";
/* Same keys and arguments: create or replace. */
static const char lua_put_nf[] =
	"redis.call('SET', KEYS[1], ARGV[1]) redis.call('SADD', KEYS[2], ARGV[2]) return 1";
/* KEYS: orch:nf:<name>, orch:inst:<name>, orch:slots:<name>, orch:nfs. ARGV: name.
 * 1 = deleted, 0 = no such NF (a stale set member is removed all the same). */
static const char lua_del_nf[] =
	"local n = redis.call('DEL', KEYS[1]) redis.call('DEL', KEYS[2], KEYS[3]) "
	"redis.call('SREM', KEYS[4], ARGV[1]) return n";
/* KEYS: orch:nf:<name>, orch:inst:<name>. ARGV: id, instance JSON. 0 = no such NF. */
static const char lua_put_inst[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) return 1";
/* KEYS: orch:events. ARGV: event JSON, the list's maximum length. */
static const char lua_add_event[] =
	"redis.call('LPUSH', KEYS[1], ARGV[1]) "
	"redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1) return 1";

static const char *const event_kind_names[ORCH_EV__COUNT] = {
	"launched", "ready", "failed", "replaced", "scaled",
	"draining", "stopped", "created", "deleted", "autoscale",
};

const char *orch_event_kind_name(enum orch_event_kind k)
{
	return (unsigned)k < ORCH_EV__COUNT ? event_kind_names[k] : "?";
}

void orch_name_list_free(struct orch_name_list *l)
{
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

/* ---- Handle ---- */

struct orch_state *orch_state_open(const struct store_cfg *cfg)
{
	struct orch_state *s = calloc(1, sizeof(*s));
	struct store_cfg c;

	if (s == NULL || cfg == NULL)
		goto err;
	c = *cfg;
	c.tracking = false;
	s->st = store_open(&c, "orchestrator");
	if (s->st == NULL)
		goto err;
	return s;
err:
	free(s);
	return NULL;
}

void orch_state_close(struct orch_state *s)
{
	if (s == NULL)
		return;
	store_close(s->st);
	free(s);
}

bool orch_state_connected(struct orch_state *s)
{
	return store_ready(s->st, nf_now_us());
}

/* ---- Commands ---- */

static void state_key(char *buf, const char *prefix, const char *name)
{
	snprintf(buf, KEY_MAX, "%s%s", prefix, name);
}

/* Run one command; the reply goes to '*out' (the caller frees it). -EIO when the store is
 * unreachable or answers with an error (logged). */
static int state_run(struct orch_state *s, int argc, const char **argv, redisReply **out)
{
	redisReply *r;

	if (!store_ready(s->st, nf_now_us()))
		return -EIO;
	r = store_command_argv(s->st, argc, argv, NULL);
	if (r == NULL)
		return -EIO;
	if (r->type == REDIS_REPLY_ERROR) {
		NF_LOG_RL(ERR, LOG_MOD, "%s: %s", argv[0], r->str);
		freeReplyObject(r);
		return -EIO;
	}
	*out = r;
	return 0;
}

/* Run a command whose reply is an integer, into '*val' (may be NULL). */
static int state_run_int(struct orch_state *s, int argc, const char **argv, long long *val)
{
	redisReply *r;
	int rc = state_run(s, argc, argv, &r);

	if (rc != 0)
		return rc;
	if (r->type != REDIS_REPLY_INTEGER) {
		NF_LOG_RL(ERR, LOG_MOD, "%s: unexpected reply type %d", argv[0], r->type);
		rc = -EIO;
	} else if (val != NULL) {
		*val = r->integer;
	}
	freeReplyObject(r);
	return rc;
}

/* EVAL 'script' with 'n_keys' keys followed by the other arguments (argc in all). */
static int state_eval(struct orch_state *s, const char *script, int n_keys, int argc,
		      const char **args, long long *val)
{
	const char *argv[ARGV_MAX + 3];
	char nk[8];

	snprintf(nk, sizeof(nk), "%d", n_keys);
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = nk;
	memcpy(&argv[3], args, sizeof(*args) * (size_t)argc);
	return state_run_int(s, argc + 3, argv, val);
}

/* A bulk string reply (or nil: -ENOENT) into '*out' (malloc'd). */
static int state_get_string(struct orch_state *s, int argc, const char **argv, char **out)
{
	redisReply *r;
	int rc = state_run(s, argc, argv, &r);

	if (rc != 0)
		return rc;
	if (r->type == REDIS_REPLY_NIL)
		rc = -ENOENT;
	else if (r->type != REDIS_REPLY_STRING)
		rc = -EIO;
	else if ((*out = strdup(r->str)) == NULL)
		rc = -ENOMEM;
	freeReplyObject(r);
	return rc;
}

static json_t *state_parse(const char *text, const char *what)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL)
		NF_LOG_RL(ERR, LOG_MOD, "%s: stored JSON does not parse: %s", what, jerr.text);
	return j;
}

static uint64_t state_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- NF specs ---- */

int orch_state_put_nf(struct orch_state *s, const struct orch_nf_spec *spec, bool create_only)
{
	char k_nf[KEY_MAX];
	json_t *j = orch_nf_spec_to_json(spec);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	long long created = 0;
	int rc = -ENOMEM;

	json_decref(j);
	if (text != NULL) {
		state_key(k_nf, "orch:nf:", spec->name);
		rc = state_eval(s, create_only ? lua_put_nf_nx : lua_put_nf, 2, 4,
				(const char *[]){ k_nf, "orch:nfs", text, spec->name }, &created);
	}
	free(text);
	if (rc == 0 && created == 0)
		rc = -EEXIST;
	return rc;
}

int orch_state_get_nf(struct orch_state *s, const char *name, struct orch_nf_spec *out)
{
	char k_nf[KEY_MAX], err[256];
	char *text = NULL;
	json_t *j;
	int rc;

	state_key(k_nf, "orch:nf:", name);
	rc = state_get_string(s, 2, (const char *[]){ "GET", k_nf }, &text);
	if (rc != 0)
		return rc;
	j = state_parse(text, k_nf);
	free(text);
	if (j == NULL)
		return -EBADMSG;
	rc = orch_nf_spec_from_json(j, out, err, sizeof(err));
	json_decref(j);
	if (rc != 0) {
		NF_LOG_RL(ERR, LOG_MOD, "%s: bad record: %s", k_nf, err);
		return -EBADMSG;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Copy the members of a SMEMBERS reply into 'out', sorted. */
static int names_from_reply(const redisReply *r, struct orch_name_list *out)
{
	out->n = 0;
	out->names = calloc(r->elements ? r->elements : 1, sizeof(*out->names));
	if (out->names == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (e->type == REDIS_REPLY_STRING && e->len < ORCH_NAME_MAX)
			memcpy(out->names[out->n++], e->str, e->len + 1);
	}
	qsort(out->names, out->n, sizeof(*out->names), name_cmp);
	return 0;
}

int orch_state_list_nfs(struct orch_state *s, struct orch_name_list *out)
{
	redisReply *r;
	int rc = state_run(s, 2, (const char *[]){ "SMEMBERS", "orch:nfs" }, &r);

	if (rc != 0)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY)
		rc = names_from_reply(r, out);
	else
		rc = -EIO;
	freeReplyObject(r);
	return rc;
}

int orch_state_del_nf(struct orch_state *s, const char *name)
{
	char k_nf[KEY_MAX], k_inst[KEY_MAX], k_slots[KEY_MAX];
	long long deleted = 0;
	int rc;

	state_key(k_nf, "orch:nf:", name);
	state_key(k_inst, "orch:inst:", name);
	state_key(k_slots, "orch:slots:", name);
	rc = state_eval(s, lua_del_nf, 4, 5,
			(const char *[]){ k_nf, k_inst, k_slots, "orch:nfs", name }, &deleted);
	if (rc == 0 && deleted == 0)
		rc = -ENOENT;
	return rc;
}

/* ---- Instances ---- */

int orch_state_put_instance(struct orch_state *s, const struct orch_instance *inst)
{
	char k_nf[KEY_MAX], k_inst[KEY_MAX];
	json_t *j = orch_instance_to_json(inst);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	long long stored = 0;
	int rc = -ENOMEM;

	json_decref(j);
	if (text != NULL) {
		state_key(k_nf, "orch:nf:", inst->nf);
		state_key(k_inst, "orch:inst:", inst->nf);
		rc = state_eval(s, lua_put_inst, 2, 4,
				(const char *[]){ k_nf, k_inst, inst->id, text }, &stored);
	}
	free(text);
	if (rc == 0 && stored == 0)
		rc = -ENOENT;
	return rc;
}

/* Parse the stored instance 'text' ('what' names it in log lines). */
static int inst_parse(const char *text, const char *what, struct orch_instance *out)
{
	char err[256];
	json_t *j = state_parse(text, what);
	int rc;

	if (j == NULL)
		return -EBADMSG;
	rc = orch_instance_from_json(j, out, err, sizeof(err));
	json_decref(j);
	if (rc != 0) {
		NF_LOG_RL(ERR, LOG_MOD, "%s: bad record: %s", what, err);
		return -EBADMSG;
	}
	return 0;
}

int orch_state_get_instance(struct orch_state *s, const char *nf, const char *id,
			    struct orch_instance *out)
{
	char k_inst[KEY_MAX];
	char *text = NULL;
	int rc;

	state_key(k_inst, "orch:inst:", nf);
	rc = state_get_string(s, 3, (const char *[]){ "HGET", k_inst, id }, &text);
	if (rc == 0)
		rc = inst_parse(text, k_inst, out);
	free(text);
	return rc;
}

int orch_state_del_instance(struct orch_state *s, const char *nf, const char *id)
{
	char k_inst[KEY_MAX];
	long long n = 0;
	int rc;

	state_key(k_inst, "orch:inst:", nf);
	rc = state_run_int(s, 3, (const char *[]){ "HDEL", k_inst, id }, &n);
	if (rc == 0 && n == 0)
		rc = -ENOENT;
	return rc;
}

/* Instance number: what follows the last '-' of the id. */
static unsigned long inst_number(const char *id)
{
	const char *dash = strrchr(id, '-');

	return dash ? strtoul(dash + 1, NULL, 10) : 0;
}

static int inst_cmp(const void *a, const void *b)
{
	const struct orch_instance *x = a, *y = b;
	unsigned long nx = inst_number(x->id), ny = inst_number(y->id);

	if (nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Parse the values of an HVALS reply into a new array. */
static int insts_from_reply(const redisReply *r, const char *what, struct orch_instance **out,
			    size_t *n)
{
	struct orch_instance *v = calloc(r->elements ? r->elements : 1, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    inst_parse(r->element[i]->str, what, &v[i]) != 0) {
			free(v);
			return -EBADMSG;
		}
	}
	qsort(v, r->elements, sizeof(*v), inst_cmp);
	*n = r->elements;
	*out = v;
	return 0;
}

int orch_state_list_instances(struct orch_state *s, const char *nf, struct orch_instance **out,
			      size_t *n)
{
	char k_inst[KEY_MAX];
	redisReply *r;
	int rc;

	*out = NULL;
	*n = 0;
	state_key(k_inst, "orch:inst:", nf);
	rc = state_run(s, 2, (const char *[]){ "HVALS", k_inst }, &r);
	if (rc != 0)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY)
		rc = -EIO;
	else if (r->elements > 0)
		rc = insts_from_reply(r, k_inst, out, n);
	freeReplyObject(r);
	return rc;
}

int orch_state_next_instance_id(struct orch_state *s, const char *nf, char id[ORCH_ID_MAX])
{
	char k_seq[KEY_MAX];
	long long n = 0;
	int rc;

	state_key(k_seq, "orch:seq:", nf);
	rc = state_run_int(s, 2, (const char *[]){ "INCR", k_seq }, &n);
	if (rc == 0)
		snprintf(id, ORCH_ID_MAX, "%s-%lld", nf, n);
	return rc;
}

/* ---- Events ---- */

int orch_state_add_event(struct orch_state *s, const char *nf, enum orch_event_kind kind,
			 const char *instance, const char *detail)
{
	char detail_cut[ORCH_EVENT_DETAIL_MAX], max[16];
	json_t *j;
	char *text;
	int rc;

	snprintf(detail_cut, sizeof(detail_cut), "%s", detail ? detail : "");
	j = json_pack("{s:I, s:s, s:s, s:s, s:s}", "ts_ms", (json_int_t)state_wall_ms(),
		      "nf", nf ? nf : "", "kind", orch_event_kind_name(kind),
		      "instance", instance ? instance : "", "detail", detail_cut);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return -ENOMEM;
	snprintf(max, sizeof(max), "%d", ORCH_EVENTS_MAX);
	rc = state_eval(s, lua_add_event, 1, 3, (const char *[]){ "orch:events", text, max }, NULL);
	free(text);
	return rc;
}

int orch_state_events(struct orch_state *s, unsigned max, json_t **out)
{
	char stop[16];
	redisReply *r;
	json_t *arr;
	int rc;

	if (max == 0 || max > ORCH_EVENTS_MAX)
		max = ORCH_EVENTS_MAX;
	snprintf(stop, sizeof(stop), "%u", max - 1);
	rc = state_run(s, 4, (const char *[]){ "LRANGE", "orch:events", "0", stop }, &r);
	if (rc != 0)
		return rc;
	arr = r->type == REDIS_REPLY_ARRAY ? json_array() : NULL;
	for (size_t i = 0; arr != NULL && i < r->elements; i++) {
		json_t *e = r->element[i]->type == REDIS_REPLY_STRING
				    ? state_parse(r->element[i]->str, "orch:events")
				    : NULL;
		if (json_is_object(e))
			json_array_append(arr, e);
		json_decref(e);
	}
	rc = arr != NULL ? 0 : r->type == REDIS_REPLY_ARRAY ? -ENOMEM : -EIO;
	freeReplyObject(r);
	*out = arr;
	return rc;
}

/* ---- Steering slots ---- */

int orch_state_put_slots(struct orch_state *s, const char *nf, char slots[ORCH_SLOTS][ORCH_ID_MAX])
{
	char k_slots[KEY_MAX];
	json_t *arr = json_array();
	redisReply *r;
	char *text;
	int rc;

	for (unsigned i = 0; arr != NULL && i < ORCH_SLOTS; i++)
		json_array_append_new(arr, json_string(slots[i]));
	text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (text == NULL)
		return -ENOMEM;
	state_key(k_slots, "orch:slots:", nf);
	rc = state_run(s, 3, (const char *[]){ "SET", k_slots, text }, &r);
	if (rc == 0)
		freeReplyObject(r);
	free(text);
	return rc;
}

/* Copy a stored slot array into 'slots'; -EBADMSG unless it is ORCH_SLOTS short strings. */
static int slots_from_json(json_t *arr, char slots[ORCH_SLOTS][ORCH_ID_MAX])
{
	if (!json_is_array(arr) || json_array_size(arr) != ORCH_SLOTS)
		return -EBADMSG;
	for (unsigned i = 0; i < ORCH_SLOTS; i++) {
		json_t *e = json_array_get(arr, i);

		if (!json_is_string(e) || json_string_length(e) >= ORCH_ID_MAX)
			return -EBADMSG;
		memcpy(slots[i], json_string_value(e), json_string_length(e) + 1);
	}
	return 0;
}

int orch_state_get_slots(struct orch_state *s, const char *nf, char slots[ORCH_SLOTS][ORCH_ID_MAX])
{
	char k_slots[KEY_MAX];
	char *text = NULL;
	json_t *arr;
	int rc;

	state_key(k_slots, "orch:slots:", nf);
	rc = state_get_string(s, 2, (const char *[]){ "GET", k_slots }, &text);
	if (rc != 0)
		return rc;
	arr = state_parse(text, k_slots);
	free(text);
	rc = arr ? slots_from_json(arr, slots) : -EBADMSG;
	if (rc == -EBADMSG && arr != NULL)
		NF_LOG_RL(ERR, LOG_MOD, "%s: not an array of %d instance ids", k_slots, ORCH_SLOTS);
	json_decref(arr);
	return rc;
}
