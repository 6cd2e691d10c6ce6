/* Parsing of the options every NF takes after '--', merged with the NF's own options. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nf/log.h"
#include "nf/nf.h"
#include "nf/options.h"

#define OPTS_MAX 64	/* common + NF-specific long options, including the terminator */

/* getopt_long values of the common options: far above any char an NF may use. An NF's own
 * options may use any other value except '?', ':' and 0 (getopt_long's own returns). */
enum {
	OPT_ID = 0x10000,
	OPT_NS,
	OPT_STORE,
	OPT_STORE_PASSWORD,
	OPT_STORE_TIMEOUT_MS,
	OPT_MODE,
	OPT_ONE_ARMED,
	OPT_MBUFS,
	OPT_STATS_INTERVAL_MS,
	OPT_IDLE_EXIT_MS,
	OPT_IDLE_SLEEP_US,
	OPT_CACHE_ENTRIES,
	OPT_LOG_LEVEL,
	OPT_HELP,
};

static const struct option common_options[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "ns", required_argument, NULL, OPT_NS },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "store-password", required_argument, NULL, OPT_STORE_PASSWORD },
	{ "store-timeout-ms", required_argument, NULL, OPT_STORE_TIMEOUT_MS },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "one-armed", no_argument, NULL, OPT_ONE_ARMED },
	{ "mbufs", required_argument, NULL, OPT_MBUFS },
	{ "stats-interval-ms", required_argument, NULL, OPT_STATS_INTERVAL_MS },
	{ "idle-exit-ms", required_argument, NULL, OPT_IDLE_EXIT_MS },
	{ "idle-sleep-us", required_argument, NULL, OPT_IDLE_SLEEP_US },
	{ "cache-entries", required_argument, NULL, OPT_CACHE_ENTRIES },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, OPT_HELP },
};
#define N_COMMON (sizeof(common_options) / sizeof(common_options[0]))

static const char *const mode_names[] = {
	[NF_MODE_CACHED] = "cached",
	[NF_MODE_REMOTE] = "remote",
	[NF_MODE_LOCAL] = "local",
};

static const char *const log_level_names[] = {
	[NF_LOG_ERR] = "err",
	[NF_LOG_WARN] = "warn",
	[NF_LOG_INFO] = "info",
	[NF_LOG_DEBUG] = "debug",
};

/* What the command line said about the store password, applied once parsing is done. */
struct pw_state {
	bool from_cli;			/* --store-password was given */
	char cli[sizeof(((struct store_cfg *)0)->password)];
};

const char *nf_mode_name(enum nf_mode m)
{
	return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

int nf_mode_parse(const char *s, enum nf_mode *m)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*m = (enum nf_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int log_level_parse(const char *s, enum nf_log_level *lvl)
{
	for (unsigned i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*lvl = (enum nf_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Parse 'arg' as a decimal number in [lo, hi] for option 'name'. */
static int parse_uint(const char *name, const char *arg, unsigned long lo, unsigned long hi,
		      unsigned *out, char *err, size_t errsz)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)arg[0])) {
		snprintf(err, errsz, "--%s: '%s' is not a number", name, arg);
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*end != '\0') {
		snprintf(err, errsz, "--%s: '%s' is not a number", name, arg);
		return -EINVAL;
	}
	if (errno == ERANGE || v < lo || v > hi) {
		snprintf(err, errsz, "--%s: %s is out of range [%lu, %lu]", name, arg, lo, hi);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* Instance ids and namespaces become parts of store keys: keep them plain. */
static int parse_name(const char *name, const char *arg, char *out, size_t size, char *err,
		      size_t errsz)
{
	size_t len = strlen(arg);

	if (len == 0 || len >= size) {
		snprintf(err, errsz, "--%s: must be 1 to %zu characters", name, size - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
			snprintf(err, errsz, "--%s: '%s' has a character other than [A-Za-z0-9._-]",
				 name, arg);
			return -EINVAL;
		}
	}
	memcpy(out, arg, len + 1);
	return 0;
}

/* --store: parse into a fresh config, keep only the address and password it carries. */
static int parse_store(struct store_cfg *cfg, const char *arg, char *err, size_t errsz)
{
	struct store_cfg tmp;
	char why[200] = "";
	const char *reason = why;

	store_cfg_default(&tmp);
	if (store_cfg_parse_url(&tmp, arg, why, sizeof(why)) < 0) {
		if (strncmp(reason, "store: ", 7) == 0)	/* the option names it already */
			reason += 7;
		snprintf(err, errsz, "--store: %s", reason[0] ? reason : "bad address");
		return -EINVAL;
	}
	memcpy(cfg->host, tmp.host, sizeof(cfg->host));
	memcpy(cfg->unix_path, tmp.unix_path, sizeof(cfg->unix_path));
	memcpy(cfg->password, tmp.password, sizeof(cfg->password));
	cfg->port = tmp.port;
	return 0;
}

static int parse_password(struct pw_state *pw, const char *arg, char *err, size_t errsz)
{
	if (strlen(arg) >= sizeof(pw->cli)) {
		snprintf(err, errsz, "--store-password: longer than %zu characters",
			 sizeof(pw->cli) - 1);
		return -EINVAL;
	}
	strcpy(pw->cli, arg);
	pw->from_cli = true;
	return 0;
}

static int parse_mode(struct nf_opts *opts, const char *arg, char *err, size_t errsz)
{
	if (nf_mode_parse(arg, &opts->mode) < 0) {
		snprintf(err, errsz, "--mode: '%s' is not one of cached, remote, local", arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_log_level(const char *arg, char *err, size_t errsz)
{
	enum nf_log_level lvl;

	if (log_level_parse(arg, &lvl) < 0) {
		snprintf(err, errsz, "--log-level: '%s' is not one of err, warn, info, debug", arg);
		return -EINVAL;
	}
	nf_log_threshold = lvl;
	return 0;
}

/* Handle one common option 'opt'. Returns 0, 1 for --help, or -EINVAL. */
static int parse_common(int opt, const char *arg, struct nf_opts *opts, struct pw_state *pw,
			char *err, size_t errsz)
{
	switch (opt) {
	case OPT_ID:
		return parse_name("id", arg, opts->id, sizeof(opts->id), err, errsz);
	case OPT_NS:
		return parse_name("ns", arg, opts->ns, sizeof(opts->ns), err, errsz);
	case OPT_STORE:
		return parse_store(&opts->store, arg, err, errsz);
	case OPT_STORE_PASSWORD:
		return parse_password(pw, arg, err, errsz);
	case OPT_STORE_TIMEOUT_MS:
		return parse_uint("store-timeout-ms", arg, 1, 60000, &opts->store.timeout_ms,
				  err, errsz);
	case OPT_MODE:
		return parse_mode(opts, arg, err, errsz);
	case OPT_ONE_ARMED:
		opts->one_armed = true;
		return 0;
	case OPT_MBUFS:
		return parse_uint("mbufs", arg, 1023, 16777215, &opts->n_mbufs, err, errsz);
	case OPT_STATS_INTERVAL_MS:
		return parse_uint("stats-interval-ms", arg, 0, 3600000, &opts->stats_interval_ms,
				  err, errsz);
	case OPT_IDLE_EXIT_MS:
		return parse_uint("idle-exit-ms", arg, 0, 86400000, &opts->idle_exit_ms, err, errsz);
	case OPT_IDLE_SLEEP_US:
		return parse_uint("idle-sleep-us", arg, 0, NF_IDLE_SLEEP_MAX_US, &opts->idle_sleep_us,
				  err, errsz);
	case OPT_CACHE_ENTRIES:
		return parse_uint("cache-entries", arg, 1, 1u << 26, &opts->cache_entries, err,
				  errsz);
	case OPT_LOG_LEVEL:
		return parse_log_level(arg, err, errsz);
	case OPT_HELP:
		return 1;
	}
	snprintf(err, errsz, "internal error: option %d", opt);
	return -EINVAL;
}

static void opts_default(struct nf_opts *opts, const struct nf_def *def, struct pw_state *pw)
{
	const char *env_pw = getenv("SNF_STORE_PASSWORD");

	memset(opts, 0, sizeof(*opts));
	memset(pw, 0, sizeof(*pw));
	snprintf(opts->id, sizeof(opts->id), "%s-%ld", def->name, (long)getpid());
	snprintf(opts->ns, sizeof(opts->ns), "%s", def->name);
	store_cfg_default(&opts->store);
	if (env_pw != NULL)
		snprintf(opts->store.password, sizeof(opts->store.password), "%s", env_pw);
	opts->mode = NF_MODE_CACHED;
	opts->n_mbufs = 8191;
	opts->stats_interval_ms = 100;
	opts->cache_entries = 65536;
}

/* Build the merged long-option table in 'table' (OPTS_MAX entries). */
static int opts_table(const struct nf_def *def, struct option *table, char *err, size_t errsz)
{
	unsigned n = 0;

	memcpy(table, common_options, sizeof(common_options));
	n = N_COMMON;
	for (const struct option *o = def->options; o != NULL && o->name != NULL; o++) {
		if (n + 1 >= OPTS_MAX) {
			snprintf(err, errsz, "internal error: more than %d options", OPTS_MAX - 1);
			return -EINVAL;
		}
		table[n++] = *o;
	}
	memset(&table[n], 0, sizeof(table[n]));
	return 0;
}

static bool is_common(int opt)
{
	return opt >= OPT_ID && opt <= OPT_HELP;
}

/* getopt_long returned '?' or ':': describe the offending argument. */
static int opts_bad(int opt, char **argv, char *err, size_t errsz)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		snprintf(err, errsz, "%s: missing argument", arg);
	else if (optopt != 0 && arg[0] == '-' && arg[1] != '-')
		snprintf(err, errsz, "-%c: unknown option", optopt);
	else
		snprintf(err, errsz, "%s: unknown option", arg);
	return -EINVAL;
}

/* A final pass over things that depend on more than one option. */
static void opts_finish(struct nf_opts *opts, const struct pw_state *pw)
{
	if (pw->from_cli)
		memcpy(opts->store.password, pw->cli, sizeof(opts->store.password));
	opts->store.tracking = opts->mode == NF_MODE_CACHED;
}

int nf_options_parse(int argc, char **argv, const struct nf_def *def, void *nf,
		     struct nf_opts *opts, char *err, size_t errsz)
{
	struct option table[OPTS_MAX];
	struct pw_state pw;
	int opt, ret = 0;

	opts_default(opts, def, &pw);
	if (opts_table(def, table, err, errsz) < 0)
		return -EINVAL;
	optind = 0;	/* glibc: full re-initialisation (EAL ran getopt before us) */
	opterr = 0;
	while (ret == 0 && (opt = getopt_long(argc, argv, "+:", table, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return opts_bad(opt, argv, err, errsz);
		if (is_common(opt))
			ret = parse_common(opt, optarg, opts, &pw, err, errsz);
		else if (opt != 0 && def->option != NULL)
			ret = def->option(nf, opt, optarg, err, errsz) < 0 ? -EINVAL : 0;
	}
	if (ret == 1)
		nf_options_usage(stdout, argv[0], def);
	if (ret != 0)
		return ret;
	if (optind < argc) {
		snprintf(err, errsz, "'%s': unexpected argument", argv[optind]);
		return -EINVAL;
	}
	opts_finish(opts, &pw);
	return 0;
}

void nf_options_usage(FILE *f, const char *prog, const struct nf_def *def)
{
	fprintf(f,
		"usage: %s [EAL options] -- [options]\n"
		"\n"
		"Options of every NF:\n"
		"  --id ID                 instance id (default %s-<pid>)\n"
		"  --ns NAME               store key namespace (default %s)\n"
		"  --store ADDR            host:port, unix:/path or redis://[:pw@]host:port\n"
		"                          (default 127.0.0.1:6379)\n"
		"  --store-password PW     AUTH password (also $SNF_STORE_PASSWORD)\n"
		"  --store-timeout-ms N    connect and command timeout (default 200)\n"
		"  --mode MODE             cached (default), remote or local\n"
		"  --one-armed             one port: both directions on port 0\n"
		"  --mbufs N               mempool size per port (default 8191)\n"
		"  --stats-interval-ms N   heartbeat and counter publishing period, 0 = off\n"
		"                          (default 100)\n"
		"  --idle-exit-ms N        exit after N ms without packets once some arrived\n"
		"  --idle-sleep-us N       when idle, sleep up to N us between polls (0-1000;\n"
		"                          default 0: busy-poll; for CPUs shared with others)\n"
		"  --cache-entries N       flow cache entries per worker (default 65536)\n"
		"  --log-level LEVEL       err, warn, info (default) or debug\n"
		"  --help                  this text\n",
		prog, def->name, def->name);
	if (def->usage != NULL && def->usage[0] != '\0')
		fprintf(f, "\nOptions of %s:\n%s", def->name, def->usage);
}
