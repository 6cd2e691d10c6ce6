/* The nfv-orchestrator daemon's configuration: a table of settings, read from a JSON file
 * and from command-line options with the same names. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "nf/log.h"
#include "orchestrator/config.h"
#include "orchestrator/netdev.h"

#define CONFIG_DEFAULT_BRIDGE "snf-br0"
#define CONFIG_DEFAULT_RUN_DIR "/run/nfv-orchestrator"
#define CONFIG_DEFAULT_REDIS "127.0.0.1:6379"

enum cfg_kind { K_STR, K_UINT, K_INT, K_BOOL };

/* One setting: its key (file) and option (key with '-'), its JSON kind and its setter,
 * which parses 'v' (text) into the configuration or writes "reason" into 'err'. */
struct cfg_field {
	const char *key;
	enum cfg_kind kind;
	int (*set)(struct orch_config *c, const char *v, char *err, size_t errsz);
	const char *help;
};

static int fail(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- value parsers ---- */

static int parse_long(const char *v, long min, long max, long *out, char *err, size_t errsz)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return fail(err, errsz, "'%s' is not an integer in %ld-%ld", v, min, max);
	*out = n;
	return 0;
}

static int parse_str(const char *v, char *dst, size_t size, char *err, size_t errsz)
{
	if (strlen(v) >= size)
		return fail(err, errsz, "longer than %zu characters", size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT" with a numeric address. */
static int parse_addr_port(const char *v, char *addr, size_t addrsz, uint16_t *port, char *err,
			   size_t errsz)
{
	const char *colon = strrchr(v, ':');
	char a[64], buf[16];
	long p;
	size_t n;

	if (colon == NULL || colon == v)
		return fail(err, errsz, "'%s' is not ADDR:PORT", v);
	n = (size_t)(colon - v);
	if (v[0] == '[' && n >= 2 && v[n - 1] == ']')
		v++, n -= 2;
	if (n >= sizeof(a) || n >= addrsz)
		return fail(err, errsz, "'%s': address too long", v);
	memcpy(a, v, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, buf) != 1 && inet_pton(AF_INET6, a, buf) != 1)
		return fail(err, errsz, "'%s' is not a numeric IPv4 or IPv6 address", a);
	if (parse_long(colon + 1, 1, 65535, &p, err, errsz) < 0)
		return -EINVAL;
	memcpy(addr, a, n + 1);
	*port = (uint16_t)p;
	return 0;
}

static int parse_bool(const char *v, bool *out, char *err, size_t errsz)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
		*out = false;
	else
		return fail(err, errsz, "'%s' is not true or false", v);
	return 0;
}

static int parse_ifname(const char *v, char *dst, char *err, size_t errsz)
{
	if (!netdev_name_ok(v))
		return fail(err, errsz, "'%s' is not an interface name (1-15 characters)", v);
	snprintf(dst, ORCH_IFNAME_MAX, "%s", v);
	return 0;
}

/* ---- setters ---- */

static int set_listen(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_addr_port(v, c->api.addr, sizeof(c->api.addr), &c->api.port, err, errsz);
}

static int set_token(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_str(v, c->api.token, sizeof(c->api.token), err, errsz);
}

static int set_redis(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	struct store_cfg s = c->orch.store;
	char why[256];

	if (store_cfg_parse_url(&s, v, why, sizeof(why)) < 0)
		return fail(err, errsz, "%s", why);
	if (parse_str(v, c->redis_url, sizeof(c->redis_url), err, errsz) < 0)
		return -EINVAL;
	c->orch.store = s;
	return 0;
}

static int set_redis_password(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_str(v, c->orch.launcher.store_password, sizeof(c->orch.launcher.store_password),
			 err, errsz);
}

static int set_ovs_db(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	if (strncmp(v, "unix:", 5) != 0 && strncmp(v, "tcp:", 4) != 0)
		return fail(err, errsz, "'%s' is not unix:PATH or tcp:ADDR:PORT", v);
	return parse_str(v, c->orch.launcher.ovs_db, sizeof(c->orch.launcher.ovs_db), err, errsz);
}

static int set_ovs_vsctl(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_str(v, c->orch.launcher.ovs_vsctl, sizeof(c->orch.launcher.ovs_vsctl), err,
			 errsz);
}

static int set_bridge(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_ifname(v, c->orch.launcher.bridge, err, errsz);
}

static int set_openflow(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_addr_port(v, c->orch.of_addr, sizeof(c->orch.of_addr), &c->orch.of_port, err,
			       errsz);
}

static int set_uplink_in(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_ifname(v, c->orch.uplink_in, err, errsz);
}

static int set_uplink_out(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_ifname(v, c->orch.uplink_out, err, errsz);
}

static int set_launcher(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	if (strcmp(v, "process") != 0)
		return fail(err, errsz, "'%s' is not one of: process", v);
	snprintf(c->orch.launcher.backend, sizeof(c->orch.launcher.backend), "%s", v);
	return 0;
}

static int set_uint_field(unsigned *dst, const char *v, long min, long max, char *err, size_t errsz)
{
	long n;

	if (parse_long(v, min, max, &n, err, errsz) < 0)
		return -EINVAL;
	*dst = (unsigned)n;
	return 0;
}

static int set_heartbeat(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return set_uint_field(&c->orch.heartbeat_ms, v, 10, 10000, err, errsz);
}

static int set_bin_dir(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_str(v, c->orch.launcher.bin_dir, sizeof(c->orch.launcher.bin_dir), err, errsz);
}

static int set_run_dir(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	if (v[0] != '/')
		return fail(err, errsz, "'%s' is not an absolute path", v);
	return parse_str(v, c->orch.launcher.run_dir, sizeof(c->orch.launcher.run_dir), err, errsz);
}

static int set_mem(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return set_uint_field(&c->orch.launcher.mem_mb, v, 64, 65536, err, errsz);
}

static int set_idle_sleep(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return set_uint_field(&c->orch.launcher.idle_sleep_us, v, 0, 1000, err, errsz);
}

static int set_mbufs(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return set_uint_field(&c->orch.launcher.mbufs, v, 1023, 1048575, err, errsz);
}

static int set_spares(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return set_uint_field(&c->orch.launcher.spare_ports, v, 0, 16, err, errsz);
}

static int set_lcore(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	long n;

	if (parse_long(v, -1, 1023, &n, err, errsz) < 0)
		return -EINVAL;
	c->orch.launcher.lcore = (int)n;
	return 0;
}

static int set_nf_nice(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	long n;

	if (parse_long(v, -20, 19, &n, err, errsz) < 0)
		return -EINVAL;
	c->orch.nf_nice = (int)n;
	return 0;
}

static int set_start_timeout(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return set_uint_field(&c->orch.start_timeout_ms, v, 100, 600000, err, errsz);
}

static int set_drain_timeout(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return set_uint_field(&c->orch.drain_timeout_ms, v, 100, 600000, err, errsz);
}

static int set_stop_on_exit(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	return parse_bool(v, &c->orch.stop_instances_on_exit, err, errsz);
}

static int set_log_level(struct orch_config *c, const char *v, char *err, size_t errsz)
{
	static const char *const levels[] = { "err", "warn", "info", "debug" };

	for (unsigned i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(v, levels[i]) == 0) {
			snprintf(c->log_level, sizeof(c->log_level), "%s", v);
			return 0;
		}
	}
	return fail(err, errsz, "'%s' is not one of: err, warn, info, debug", v);
}

/* The settings, in the order of the usage text. */
static const struct cfg_field fields[] = {
	{ "listen", K_STR, set_listen, "ADDR:PORT of the REST API (127.0.0.1:8181)" },
	{ "token", K_STR, set_token, "bearer token required by changes (none)" },
	{ "redis", K_STR, set_redis, "host:port, unix:/path or redis://[:pw@]host:port (127.0.0.1:6379)" },
	{ "redis_password", K_STR, set_redis_password, "Redis AUTH password (or $SNF_STORE_PASSWORD)" },
	{ "ovs_db", K_STR, set_ovs_db, "OVS database, unix:/path (ovs-vsctl's default)" },
	{ "ovs_vsctl", K_STR, set_ovs_vsctl, "the ovs-vsctl program (from $PATH)" },
	{ "bridge", K_STR, set_bridge, "the OVS bridge (" CONFIG_DEFAULT_BRIDGE ")" },
	{ "openflow", K_STR, set_openflow, "ADDR:PORT the bridge connects to (127.0.0.1:6653)" },
	{ "uplink_inside", K_STR, set_uplink_in, "default uplink facing the clients (none)" },
	{ "uplink_outside", K_STR, set_uplink_out, "default uplink facing the servers (none)" },
	{ "launcher", K_STR, set_launcher, "instance backend: process (process)" },
	{ "heartbeat_ms", K_UINT, set_heartbeat, "the NFs' heartbeat interval, 10-10000 (100)" },
	{ "nf_bin_dir", K_STR, set_bin_dir, "directory of nf-nat, nf-firewall, nf-lb (ours)" },
	{ "run_dir", K_STR, set_run_dir, "instance configs and logs (" CONFIG_DEFAULT_RUN_DIR ")" },
	{ "nf_mem_mb", K_UINT, set_mem, "EAL memory per instance, MB (256)" },
	{ "nf_mbufs", K_UINT, set_mbufs, "packet buffers per port of an instance, 1023+ (2047)" },
	{ "nf_lcore", K_INT, set_lcore, "CPU of every instance, -1 = spread (-1)" },
	{ "nf_spare_ports", K_UINT, set_spares,
	  "port pairs of ended instances kept on the bridge for reuse, 0-16 (4)" },
	{ "nf_idle_sleep_us", K_UINT, set_idle_sleep,
	  "idle instances sleep up to this between polls, 0-1000; 0 = busy-poll (100)" },
	{ "nf_nice", K_INT, set_nf_nice, "CPU priority of the instances, -20..19 (0)" },
	{ "start_timeout_ms", K_UINT, set_start_timeout, "first heartbeat due within (30000)" },
	{ "drain_timeout_ms", K_UINT, set_drain_timeout, "longest drain before SIGTERM (10000)" },
	{ "stop_instances_on_exit", K_BOOL, set_stop_on_exit, "stop the instances on exit (false)" },
	{ "log_level", K_STR, set_log_level, "err, warn, info, debug (info)" },
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct cfg_field *field_find(const char *key)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

/* ---- the file ---- */

/* A JSON value of the field's kind as text for its setter. */
static int json_text(const struct cfg_field *f, json_t *v, char *buf, size_t size, char *err,
		     size_t errsz)
{
	switch (f->kind) {
	case K_STR:
		if (!json_is_string(v))
			return fail(err, errsz, "must be a string");
		snprintf(buf, size, "%s", json_string_value(v));
		return 0;
	case K_UINT:
	case K_INT:
		if (!json_is_integer(v))
			return fail(err, errsz, "must be an integer");
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return 0;
	case K_BOOL:
		if (!json_is_boolean(v))
			return fail(err, errsz, "must be true or false");
		snprintf(buf, size, "%s", json_is_true(v) ? "true" : "false");
		return 0;
	}
	return -EINVAL;
}

static int config_file(struct orch_config *c, const char *path, char *err, size_t errsz)
{
	char why[512], text[1024];
	json_error_t je;
	const char *key;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	int rc = 0;

	if (root == NULL)
		return fail(err, errsz, "%s: %s (line %d)", path, je.text, je.line);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errsz, "%s: must be a JSON object", path);
	}
	json_object_foreach(root, key, v) {
		const struct cfg_field *f = field_find(key);

		if (f == NULL)
			rc = fail(why, sizeof(why), "unknown field");
		else if ((rc = json_text(f, v, text, sizeof(text), why, sizeof(why))) == 0)
			rc = f->set(c, text, why, sizeof(why));
		if (rc < 0) {
			fail(err, errsz, "%s: %s: %s", path, key, why);
			break;
		}
	}
	json_decref(root);
	return rc;
}

/* ---- options ---- */

void config_usage(FILE *f)
{
	fprintf(f, "usage: nfv-orchestrator [--config FILE] [OPTIONS]\n\n"
		   "The NFV orchestrator: REST API, OpenFlow steering of an OVS bridge, NF "
		   "instances,\nfailover and autoscaling. Each option is also a key of the JSON "
		   "config file\n(with '_' for '-'); options override the file.\n\n"
		   "  --config FILE                 JSON configuration file\n");
	for (size_t i = 0; i < N_FIELDS; i++) {
		char opt[64];

		snprintf(opt, sizeof(opt), "--%s%s", fields[i].key, fields[i].kind == K_BOOL ? "" : " V");
		for (char *p = opt; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "  %-29s %s\n", opt, fields[i].help);
	}
	fprintf(f, "  --help                        this text\n\nExit status: 0 after SIGTERM "
		   "or SIGINT, 1 on a runtime failure, 2 on a bad configuration.\n");
}

static void defaults(struct orch_config *c, const char *argv0)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	memset(c, 0, sizeof(*c));
	orch_cfg_default(&c->orch);
	api_cfg_default(&c->api);
	snprintf(c->orch.launcher.bridge, sizeof(c->orch.launcher.bridge), CONFIG_DEFAULT_BRIDGE);
	snprintf(c->orch.launcher.run_dir, sizeof(c->orch.launcher.run_dir), CONFIG_DEFAULT_RUN_DIR);
	snprintf(c->log_level, sizeof(c->log_level), "info");
	store_cfg_parse_url(&c->orch.store, CONFIG_DEFAULT_REDIS, NULL, 0);
	snprintf(c->redis_url, sizeof(c->redis_url), CONFIG_DEFAULT_REDIS);
	if (n > 0)
		self[n] = '\0';
	else
		snprintf(self, sizeof(self), "%s", argv0);
	snprintf(c->orch.launcher.bin_dir, sizeof(c->orch.launcher.bin_dir), "%s", dirname(self));
	if (getenv("SNF_STORE_PASSWORD") != NULL)
		snprintf(c->orch.launcher.store_password, sizeof(c->orch.launcher.store_password), "%s",
			 getenv("SNF_STORE_PASSWORD"));
}

/* getopt_long's table from the fields: index i is fields[i], N_FIELDS is --config. */
static void long_options(struct option *lo, char names[][40])
{
	for (size_t i = 0; i < N_FIELDS; i++) {
		snprintf(names[i], 40, "%s", fields[i].key);
		for (char *p = names[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		lo[i] = (struct option){ names[i], fields[i].kind == K_BOOL ? no_argument : required_argument,
					 NULL, 1000 + (int)i };
	}
	lo[N_FIELDS] = (struct option){ "config", required_argument, NULL, 'c' };
	lo[N_FIELDS + 1] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[N_FIELDS + 2] = (struct option){ NULL, 0, NULL, 0 };
}

/* First pass: --config and --help only. */
static int options_config(int argc, char **argv, const struct option *lo, struct orch_config *c,
			  char *err, size_t errsz)
{
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == 'h')
			return 1;
		if (ch == 'c' && parse_str(optarg, c->config_path, sizeof(c->config_path), err,
					   errsz) < 0)
			return -EINVAL;
	}
	return 0;
}

static int options_apply(int argc, char **argv, const struct option *lo, struct orch_config *c,
			 char *err, size_t errsz)
{
	char why[512];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == '?')
			return fail(err, errsz, "%s: unknown option", argv[optind - 1]);
		if (ch == ':')
			return fail(err, errsz, "%s: needs a value", argv[optind - 1]);
		if (ch < 1000)
			continue;
		if (fields[ch - 1000].set(c, fields[ch - 1000].kind == K_BOOL ? "true" : optarg, why,
					  sizeof(why)) < 0)
			return fail(err, errsz, "--%s: %s", lo[ch - 1000].name, why);
	}
	if (optind < argc)
		return fail(err, errsz, "%s: unexpected argument", argv[optind]);
	return 0;
}

/* The settings that go together. */
static int config_check(struct orch_config *c, char *err, size_t errsz)
{
	if (c->orch.uplink_out[0] != '\0' && c->orch.uplink_in[0] == '\0')
		return fail(err, errsz, "uplink_inside: required with uplink_outside (the default "
			    "uplinks go together)");
	if (c->orch.uplink_in[0] != '\0' && c->orch.uplink_out[0] == '\0')
		return fail(err, errsz, "uplink_outside: required with uplink_inside (the default "
			    "uplinks go together)");
	if (c->orch.uplink_in[0] != '\0' && strcmp(c->orch.uplink_in, c->orch.uplink_out) == 0)
		return fail(err, errsz, "uplink_outside: must differ from uplink_inside");
	if (c->orch.launcher.store_password[0] && !c->orch.store.password[0])
		snprintf(c->orch.store.password, sizeof(c->orch.store.password), "%s",
			 c->orch.launcher.store_password);
	snprintf(c->orch.launcher.store_url, sizeof(c->orch.launcher.store_url), "%s", c->redis_url);
	c->orch.launcher.heartbeat_ms = c->orch.heartbeat_ms;
	return 0;
}

int config_parse(int argc, char **argv, struct orch_config *c, char *err, size_t errsz)
{
	static struct option lo[N_FIELDS + 3];
	static char names[N_FIELDS][40];
	int rc;

	defaults(c, argv[0]);
	long_options(lo, names);
	rc = options_config(argc, argv, lo, c, err, errsz);
	if (rc != 0)
		return rc;
	if (c->config_path[0] && config_file(c, c->config_path, err, errsz) < 0)
		return -EINVAL;
	rc = options_apply(argc, argv, lo, c, err, errsz);
	if (rc == 0)
		rc = config_check(c, err, errsz);
	return rc;
}
