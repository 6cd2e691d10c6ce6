/* Rule set convergence: publishing "<ns>:rules" + "<ns>:rules_ver", and each worker's
 * version check and reload (on its own lcore, in the tick, only when the version changes). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "nfs/firewall/fw_int.h"

/* Validate 'rules_json' and make its canonical text ('*canon', caller frees). */
static int fw_push_validate(const char *rules_json, char **canon, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_loads(rules_json, JSON_REJECT_DUPLICATES, &jerr);
	struct fw_ruleset *rs = NULL;
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "rules: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = fw_rules_from_json(root, true, &rs, err, errsz);
	fw_ruleset_free(rs);
	if (rc == 0) {
		*canon = fw_rules_canonical(root);
		if (*canon == NULL) {
			snprintf(err, errsz, "rules: out of memory");
			rc = -ENOMEM;
		}
	}
	json_decref(root);
	return rc;
}

/* One EVALSHA of fw_rules_set.lua; '*r' is the reply (caller frees). */
static int fw_push_once(struct store *st, const char *ns, const char *canon, bool if_absent,
			redisReply **r)
{
	char kr[FW_KEY_MAX], kv[FW_KEY_MAX];
	const char *argv[4] = { kr, kv, canon, if_absent ? "1" : "0" };
	size_t len[4];
	int rc;

	snprintf(kr, sizeof(kr), "%s:rules", ns);
	snprintf(kv, sizeof(kv), "%s:rules_ver", ns);
	for (int i = 0; i < 4; i++)
		len[i] = strlen(argv[i]);
	rc = store_append_script(st, SCRIPT_FW_RULES_SET, 2, 4, argv, len);
	return rc != 0 ? rc : store_read_reply(st, r);
}

static int fw_push_result(const redisReply *r, uint64_t *version, char *err, size_t errsz)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
		bool is_err = r->type == REDIS_REPLY_ERROR;

		snprintf(err, errsz, "store: unexpected reply to the rule set update%s%s",
			 is_err ? ": " : "", is_err ? r->str : "");
		return -EIO;
	}
	if (version != NULL)
		*version = (uint64_t)r->element[0]->integer;
	return r->element[1]->integer == 1;
}

int fw_rules_push(struct store *st, const char *ns, const char *rules_json, bool if_absent,
		  uint64_t *version, char *err, size_t errsz)
{
	redisReply *r = NULL;
	char *canon = NULL;
	int rc = fw_push_validate(rules_json, &canon, err, errsz);

	if (rc != 0)
		return rc;
	rc = -ENOTCONN;
	for (int attempt = 0; attempt < 2 && store_ready(st, nf_now_us()); attempt++) {
		rc = fw_push_once(st, ns, canon, if_absent, &r);
		if (rc != 0 || !store_reply_is_noscript(r))
			break;
		freeReplyObject(r);	/* scripts flushed: reloaded with the next batch */
		r = NULL;
		rc = -ENOTCONN;
	}
	if (rc != 0)
		snprintf(err, errsz, "store unreachable: rule set not published");
	else
		rc = fw_push_result(r, version, err, errsz);
	if (r != NULL)
		freeReplyObject(r);
	free(canon);
	return rc;
}

/* Make 'rs' (text 'text', both now owned by the worker) the rule set for new connections. */
static void fw_rules_install(struct fw_worker *w, struct fw_ruleset *rs, char *text, uint64_t ver)
{
	fw_ruleset_free(w->rules_owned);
	free(w->rules_text_owned);
	rs->version = ver;
	w->rules_owned = rs;
	w->rules = rs;
	w->rules_text_owned = text;
	w->rules_text = text;
	w->rules_ver = ver;
}

/* The version in the store (0: no rule set there). Returns 0 or a negative errno. */
static int fw_read_version(struct fw_worker *w, uint64_t *ver)
{
	redisReply *r = store_command(w->store, "GET %s", w->key_rules_ver);
	int rc = 0;

	if (r == NULL)
		return -ENOTCONN;
	if (r->type == REDIS_REPLY_STRING)
		*ver = strtoull(r->str, NULL, 10);
	else if (r->type == REDIS_REPLY_NIL)
		*ver = 0;
	else
		rc = -EIO;
	freeReplyObject(r);
	return rc;
}

/* Compile the store's rule set (version and text read together) and install it. A bad
 * rule set is logged and skipped until the version changes again. */
static void fw_rules_reload(struct fw_worker *w)
{
	redisReply *r = store_command(w->store, "MGET %s %s", w->key_rules_ver, w->key_rules);
	struct fw_ruleset *rs = NULL;
	char err[256], *text;
	uint64_t ver;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
		goto out;
	ver = strtoull(r->element[0]->str, NULL, 10);
	w->rules_ver_seen = ver;
	if (fw_rules_parse(r->element[1]->str, r->element[1]->len, &rs, err, sizeof(err)) != 0) {
		NF_LOG_RL(WARN, "firewall", "rule set version %" PRIu64 " in the store is invalid (%s): "
			  "keeping version %" PRIu64, ver, err, w->rules_ver);
		goto out;
	}
	text = strndup(r->element[1]->str, r->element[1]->len);
	if (text == NULL) {
		fw_ruleset_free(rs);
		w->rules_ver_seen = 0;	/* try again */
		goto out;
	}
	fw_rules_install(w, rs, text, ver);
	if (w->id == 0)
		NF_LOG(INFO, "firewall", "rule set version %" PRIu64 " loaded: %u rules, default %s",
		       ver, rs->n_rules, rs->default_action == FW_ALLOW ? "allow" : "deny");
out:
	if (r != NULL)
		freeReplyObject(r);
}

/* Worker 0 publishes the rule set it applies: at start (always with --publish-rules, else
 * only if the store has none) and after a reconnect (only if the store lost it). */
static void fw_rules_publish(struct fw_worker *w)
{
	char err[256];
	uint64_t ver = 0;
	int rc = fw_rules_push(w->store, w->fw->opts.ns, w->rules_text, !w->publish_force, &ver, err,
			       sizeof(err));

	if (rc == -ENOTCONN || rc == -EIO) {
		NF_LOG_RL(WARN, "firewall", "%s", err);
		return;		/* retried at the next check */
	}
	w->publish_pending = false;
	w->publish_force = false;
	if (rc == 1)
		NF_LOG(INFO, "firewall", "published rule set version %" PRIu64, ver);
	else if (rc < 0)
		NF_LOG(ERR, "firewall", "rule set not published: %s", err);
}

void fw_sync_rules(struct fw_worker *w, uint64_t now_us, bool force)
{
	uint64_t ver = 0;

	if (w->store == NULL)
		return;
	if (!force && !w->rules_check_now && now_us < w->next_rules_check_us)
		return;
	w->next_rules_check_us = now_us + (uint64_t)w->fw->cfg.rules_check_ms * 1000u;
	w->rules_check_now = false;
	if (!store_ready(w->store, now_us))
		return;
	if (w->publish_pending && w->rules_text != NULL)
		fw_rules_publish(w);
	if (fw_read_version(w, &ver) == 0 && ver != 0 && ver != w->rules_ver_seen)
		fw_rules_reload(w);
	fw_store_sync_counters(w);
}

void fw_sync_on_reconnect(struct fw_worker *w)
{
	w->rules_ver_seen = 0;
	w->rules_check_now = true;
	w->publish_pending = w->id == 0 && w->rules_text != NULL;
}
