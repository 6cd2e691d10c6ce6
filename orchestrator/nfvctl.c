/* nfvctl: the orchestrator's command-line client; every command is one REST call through libcurl. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "orchestrator/nfvctl.h"

#define CTL_DEFAULT_URL "http://127.0.0.1:8181"

static const char usage_text[] =
	"usage: nfvctl [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  launch TYPE [--name NAME] [--instances N] [--config FILE]\n"
	"              [--autoscale MIN,MAX[,OUT_LOAD,IN_LOAD[,COOLDOWN_S]]] [--uplinks IN,OUT]\n"
	"                        create an NF (TYPE: nat, firewall, lb; NAME defaults to TYPE)\n"
	"  ls                    list NFs: NAME TYPE INSTANCES(ready/desired) STATUS\n"
	"  get NAME              an NF's spec and its instances\n"
	"  scale NAME N          set the desired number of instances\n"
	"  kill NAME/ID          drain and stop one instance (the NF is not scaled back up)\n"
	"  rm NAME               remove an NF and stop its instances\n"
	"  events [--max N]      lifecycle events, newest first\n"
	"  health                the orchestrator's health (exit status 1 unless ok)\n"
	"\n"
	"options:\n"
	"  --url URL       orchestrator address (default $NFVCTL_URL or " CTL_DEFAULT_URL ")\n"
	"  --token TOKEN   bearer token for changes (default $NFVCTL_TOKEN)\n"
	"  --json          print the server's JSON instead of tables\n"
	"\n"
	"exit status: 0 ok, 1 the call failed (the server's message is printed), 2 usage error\n";

static int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a usage error and return the usage exit status. */
static int ctl_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("nfvctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(nfvctl --help for usage)\n", stderr);
	return CTL_EXIT_USAGE;
}

/* ---- Commands ---- */

static int ctl_ls(const struct ctl_opts *o)
{
	struct ctl_table t = { .n_cols = 4 };
	json_t *j = NULL, *nf;
	size_t i;
	int rc = nfvctl_request(o, "GET", "/v1/nfs", NULL, o->json ? NULL : &j);

	if (rc != 0 || o->json)
		return rc;
	nfvctl_table_row(&t, "NAME", "TYPE", "INSTANCES", "STATUS");
	json_array_foreach(json_object_get(j, "nfs"), i, nf) {
		json_t *spec = json_object_get(nf, "spec"), *st = json_object_get(nf, "status");
		char inst[48];

		snprintf(inst, sizeof(inst), "%lld/%lld", nfvctl_int(st, "ready"), nfvctl_int(spec, "instances"));
		nfvctl_table_row(&t, nfvctl_str(spec, "name"), nfvctl_str(spec, "type"), inst, nfvctl_str(st, "state"));
	}
	nfvctl_table_print(&t);
	json_decref(j);
	return 0;
}

static int ctl_get(const struct ctl_opts *o, const char *name)
{
	struct ctl_table t = { .n_cols = 7 };
	json_t *nf = NULL, *in;
	char path[256];
	size_t i;
	int rc;

	nfvctl_nf_path(path, sizeof(path), name, "");
	rc = nfvctl_request(o, "GET", path, NULL, o->json ? NULL : &nf);
	if (rc != 0 || o->json)
		return rc;
	nfvctl_print_spec(nf);
	printf("\n");
	nfvctl_table_row(&t, "ID", "STATE", "PID", "PORTS", "PPS", "BUSY", "HEARTBEAT-AGE");
	json_array_foreach(json_object_get(nf, "instances"), i, in)
		nfvctl_instance_row(&t, in);
	nfvctl_table_print(&t);
	json_decref(nf);
	return 0;
}

/* Parse "MIN,MAX[,OUT,IN[,COOLDOWN]]" into an autoscale object; NULL on a usage error. */
static json_t *ctl_autoscale(const char *s)
{
	static const char *const keys[] = { "min", "max", "scale_out_load", "scale_in_load", "cooldown_s" };
	json_t *as = json_object();
	const char *p = s;
	size_t n = 0;

	while (as != NULL && *p != 0 && n < 5) {
		char *end;
		double v = strtod(p, &end);

		if (end == p || (*end != ',' && *end != 0))
			break;
		json_object_set_new(as, keys[n], n == 2 || n == 3 ? json_real(v) : json_integer((json_int_t)v));
		n++;
		p = *end == ',' ? end + 1 : end;
	}
	if (as == NULL || *p != 0 || (n != 2 && n != 4 && n != 5)) {
		json_decref(as);
		return NULL;
	}
	return as;
}

/* The body of POST /v1/nfs from the command line; exit status (usage errors are reported). */
static int ctl_launch_body(const struct ctl_opts *o, const char *type, json_t **out)
{
	json_error_t jerr;
	json_t *body = json_pack("{s:s, s:s}", "name", o->name ? o->name : type, "type", type);
	json_t *config = NULL, *as = NULL;
	char *end;

	if (o->config != NULL && (config = json_load_file(o->config, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		json_decref(body);
		return ctl_usage("--config %s: line %d: %s", o->config, jerr.line, jerr.text);
	}
	if (o->autoscale != NULL && (as = ctl_autoscale(o->autoscale)) == NULL) {
		json_decref(body);
		json_decref(config);
		return ctl_usage("--autoscale: expected MIN,MAX[,OUT_LOAD,IN_LOAD[,COOLDOWN_S]], got '%s'",
				 o->autoscale);
	}
	if (o->uplinks != NULL) {
		const char *comma = strchr(o->uplinks, ',');

		if (comma == NULL || comma == o->uplinks || comma[1] == '\0' || strchr(comma + 1, ',')) {
			json_decref(body);
			json_decref(config);
			json_decref(as);
			return ctl_usage("--uplinks: expected IN,OUT (two bridge ports), got '%s'",
					 o->uplinks);
		}
		json_object_set_new(body, "uplinks", json_pack("{s:s#, s:s}", "inside", o->uplinks,
							      (int)(comma - o->uplinks), "outside",
							      comma + 1));
	}
	if (config != NULL)
		json_object_set_new(body, "config", config);
	if (as != NULL)
		json_object_set_new(body, "autoscale", as);
	if (o->instances != NULL) {
		long long n = strtoll(o->instances, &end, 10);

		if (end == o->instances || *end != 0) {
			json_decref(body);
			return ctl_usage("--instances: '%s' is not a number", o->instances);
		}
		json_object_set_new(body, "instances", json_integer(n));
	}
	*out = body;
	return 0;
}

/* A change that answers with the NF: print a one-line summary of it. */
static int ctl_change(const struct ctl_opts *o, const char *method, const char *path, json_t *body,
		      const char *verb)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_t *nf = NULL, *spec, *st;
	int rc;

	json_decref(body);
	rc = nfvctl_request(o, method, path, text, o->json ? NULL : &nf);
	free(text);
	if (rc != 0 || o->json)
		return rc;
	spec = json_object_get(nf, "spec");
	st = json_object_get(nf, "status");
	printf("%s: %s (type %s, %lld/%lld instances ready)\n", nfvctl_str(spec, "name"), verb,
	       nfvctl_str(spec, "type"), nfvctl_int(st, "ready"), nfvctl_int(spec, "instances"));
	json_decref(nf);
	return 0;
}

static int ctl_launch(const struct ctl_opts *o, const char *type)
{
	json_t *body = NULL;
	int rc = ctl_launch_body(o, type, &body);

	if (rc != 0)
		return rc;
	return ctl_change(o, "POST", "/v1/nfs", body, "created");
}

static int ctl_scale(const struct ctl_opts *o, const char *name, const char *count)
{
	char path[256], *end;
	long long n = strtoll(count, &end, 10);

	if (end == count || *end != 0)
		return ctl_usage("scale: '%s' is not a number of instances", count);
	nfvctl_nf_path(path, sizeof(path), name, "/scale");
	return ctl_change(o, "POST", path, json_pack("{s:I}", "instances", (json_int_t)n), "scaling");
}

/* A change answered with no body we need: print 'done' unless --json. */
static int ctl_simple(const struct ctl_opts *o, const char *method, const char *path,
		      const char *done)
{
	struct ctl_resp resp;
	int rc = nfvctl_call(o, method, path, NULL, &resp);

	if (rc != 0)
		return rc;
	if (resp.status < 200 || resp.status > 299)
		rc = nfvctl_server_error(&resp);
	else if (o->json)
		fputs(resp.body ? resp.body : "", stdout);
	else
		printf("%s\n", done);
	free(resp.body);
	return rc;
}

/* NAME/ID, or just ID ("<name>-<n>": the name is what precedes the last '-'). */
static int ctl_kill(const struct ctl_opts *o, const char *arg)
{
	char name[128], path[512], suffix[256], done[300];
	const char *slash = strchr(arg, '/'), *id = slash ? slash + 1 : arg;
	const char *dash = strrchr(arg, '-');
	size_t n = slash ? (size_t)(slash - arg) : dash ? (size_t)(dash - arg) : 0;
	char *esc;

	if (n == 0 || n >= sizeof(name) || *id == 0)
		return ctl_usage("kill: expected NAME/ID (e.g. nat/nat-3), got '%s'", arg);
	snprintf(name, sizeof(name), "%.*s", (int)n, arg);
	esc = curl_easy_escape(NULL, id, 0);
	snprintf(suffix, sizeof(suffix), "/instances/%s", esc ? esc : "");
	curl_free(esc);
	nfvctl_nf_path(path, sizeof(path), name, suffix);
	snprintf(done, sizeof(done), "%s: draining, then stopping", id);
	return ctl_simple(o, "DELETE", path, done);
}

static int ctl_rm(const struct ctl_opts *o, const char *name)
{
	char path[256], done[160];

	nfvctl_nf_path(path, sizeof(path), name, "");
	snprintf(done, sizeof(done), "%s: removed", name);
	return ctl_simple(o, "DELETE", path, done);
}

static int ctl_events(const struct ctl_opts *o)
{
	struct ctl_table t = { .n_cols = 5 };
	char path[64];
	json_t *j = NULL, *e;
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "/v1/events?max=%s", o->max ? o->max : "100");
	rc = nfvctl_request(o, "GET", path, NULL, o->json ? NULL : &j);
	if (rc != 0 || o->json)
		return rc;
	nfvctl_table_row(&t, "TIME", "NF", "KIND", "INSTANCE", "DETAIL");
	json_array_foreach(json_object_get(j, "events"), i, e) {
		char when[40];
		const char *inst = nfvctl_str(e, "instance");

		nfvctl_time(when, sizeof(when), nfvctl_int(e, "ts_ms"));
		nfvctl_table_row(&t, when, nfvctl_str(e, "nf"), nfvctl_str(e, "kind"), inst[0] ? inst : "-",
			      nfvctl_str(e, "detail"));
	}
	nfvctl_table_print(&t);
	json_decref(j);
	return 0;
}

static int ctl_health(const struct ctl_opts *o)
{
	json_t *h = NULL, *v;
	const char *k, *status;
	int rc = nfvctl_request(o, "GET", "/v1/health", NULL, &h);
	bool ok;

	if (rc != 0)
		return rc;
	status = json_string_value(json_object_get(h, "status"));
	ok = status != NULL && strcmp(status, "ok") == 0;
	json_object_foreach(o->json ? NULL : h, k, v) {
		char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%-10s  %s\n", k, s ? s : json_string_value(v));
		free(s);
	}
	json_decref(h);
	return ok ? 0 : CTL_EXIT_FAIL;
}

/* ---- Command line ---- */

enum { OPT_URL = 256, OPT_TOKEN, OPT_JSON, OPT_NAME, OPT_CONFIG, OPT_AUTOSCALE, OPT_INSTANCES,
       OPT_UPLINKS, OPT_MAX, OPT_HELP };

static const struct option ctl_longopts[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "autoscale", required_argument, NULL, OPT_AUTOSCALE },
	{ "instances", required_argument, NULL, OPT_INSTANCES },
	{ "uplinks", required_argument, NULL, OPT_UPLINKS },
	{ "max", required_argument, NULL, OPT_MAX },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Parse options anywhere on the line; returns -1 to go on, else an exit status. */
static int ctl_parse(int argc, char **argv, struct ctl_opts *o)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", ctl_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL: o->url = optarg; break;
		case OPT_TOKEN: o->token = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_CONFIG: o->config = optarg; break;
		case OPT_AUTOSCALE: o->autoscale = optarg; break;
		case OPT_INSTANCES: o->instances = optarg; break;
		case OPT_UPLINKS: o->uplinks = optarg; break;
		case OPT_MAX: o->max = optarg; break;
		case 'h':
		case OPT_HELP: fputs(usage_text, stdout); return 0;
		default: return ctl_usage("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	return -1;
}

/* Options given to a command that does not take them are usage errors. */
static int ctl_check_opts(const struct ctl_opts *o, const char *cmd)
{
	bool launch = strcmp(cmd, "launch") == 0, events = strcmp(cmd, "events") == 0;

	if (!launch && (o->name || o->config || o->autoscale || o->instances || o->uplinks))
		return ctl_usage("%s: --name, --config, --autoscale, --instances and --uplinks belong "
				 "to launch", cmd);
	if (!events && o->max)
		return ctl_usage("%s: --max belongs to events", cmd);
	return 0;
}

struct ctl_cmd {
	const char *name;
	int n_args;
	const char *args;	/* for the usage message */
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "launch", 1, "TYPE" }, { "ls", 0, "" }, { "get", 1, "NAME" }, { "scale", 2, "NAME N" },
	{ "kill", 1, "NAME/ID" }, { "rm", 1, "NAME" }, { "events", 0, "" }, { "health", 0, "" },
};

static int ctl_run(const struct ctl_opts *o, const char *cmd, char **args)
{
	if (strcmp(cmd, "launch") == 0)
		return ctl_launch(o, args[0]);
	if (strcmp(cmd, "ls") == 0)
		return ctl_ls(o);
	if (strcmp(cmd, "get") == 0)
		return ctl_get(o, args[0]);
	if (strcmp(cmd, "scale") == 0)
		return ctl_scale(o, args[0], args[1]);
	if (strcmp(cmd, "kill") == 0)
		return ctl_kill(o, args[0]);
	if (strcmp(cmd, "rm") == 0)
		return ctl_rm(o, args[0]);
	if (strcmp(cmd, "events") == 0)
		return ctl_events(o);
	return ctl_health(o);
}

/* Find 'cmd' and check its argument count: NULL on a usage error (reported). */
static const struct ctl_cmd *ctl_find(const char *cmd, int n_args)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		if (strcmp(cmd, ctl_cmds[i].name) != 0)
			continue;
		if (n_args != ctl_cmds[i].n_args) {
			ctl_usage("usage: nfvctl %s %s", cmd, ctl_cmds[i].args);
			return NULL;
		}
		return &ctl_cmds[i];
	}
	ctl_usage("unknown command '%s'", cmd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .url = getenv("NFVCTL_URL"), .token = getenv("NFVCTL_TOKEN") };
	int rc = ctl_parse(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (o.url == NULL || o.url[0] == 0)
		o.url = CTL_DEFAULT_URL;
	if (optind >= argc)
		return ctl_usage("no command given");
	if (ctl_find(argv[optind], argc - optind - 1) == NULL)
		return CTL_EXIT_USAGE;
	rc = ctl_check_opts(&o, argv[optind]);
	if (rc != 0)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return nfvctl_fail("cannot initialise libcurl");
	rc = ctl_run(&o, argv[optind], argv + optind + 1);
	curl_global_cleanup();
	return rc;
}
