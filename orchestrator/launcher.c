/* Launching NF instances: the backend interface and the process backend (fork/exec on veths). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "orchestrator/launcher.h"
#include "orchestrator/netdev.h"

#define LAUNCHER_DEFAULT_HB_MS 100
#define LAUNCHER_DEFAULT_MEM_MB 512
#define LAUNCHER_CMDLINE_SIZE 8192
#define LAUNCHER_MAX_ARGS 40
#define PASSWORD_ENV "SNF_STORE_PASSWORD"

/* One process the launcher watches. */
struct launcher_proc {
	char id[ORCH_ID_MAX];
	pid_t pid;
	int pidfd;		/* readable once the process has ended */
	bool child;		/* ours to reap */
	bool reaped;
	int status;		/* wait status once reaped */
};

struct orch_launcher {
	const struct orch_launcher_ops *ops;
	struct orch_launcher_cfg cfg;
	struct netdev_ovs ovs;
	struct launcher_proc *procs;
	unsigned n_procs, cap_procs;
	unsigned next_cpu;	/* round robin of lcore -1 */
};

/* The four interface names of one instance. */
struct launcher_names {
	char if_in[ORCH_IFNAME_MAX], if_out[ORCH_IFNAME_MAX];
	char br_in[ORCH_IFNAME_MAX], br_out[ORCH_IFNAME_MAX];
	char prefix[ORCH_IFNAME_MAX];	/* "snf" + 8 hex: also the DPDK --file-prefix */
};

/* The arguments and environment of one NF process. */
struct launch_args {
	char exe[PATH_MAX + 16], config[PATH_MAX + ORCH_ID_MAX + 8];
	char mem[16], lcore[16], prefix[32], vdev_in[64], vdev_out[64], hb[16];
	const char *argv[LAUNCHER_MAX_ARGS];
	char **envp;		/* malloc'ed array; the strings are environ's or 'pw' */
	char pw[sizeof(PASSWORD_ENV) + 128];
};

static int launcher_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int launcher_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the interface ---- */

void launcher_cfg_default(struct orch_launcher_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->backend, sizeof(cfg->backend), "process");
	cfg->heartbeat_ms = LAUNCHER_DEFAULT_HB_MS;
	cfg->mem_mb = LAUNCHER_DEFAULT_MEM_MB;
	cfg->lcore = -1;
}

static int launcher_mkdir(const char *dir, char *err, size_t errsz)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return launcher_fail(-errno, err, errsz, "run dir %s: %s", dir, strerror(errno));
	return 0;
}

struct orch_launcher *launcher_create(const struct orch_launcher_cfg *cfg, char *err,
				      size_t errsz)
{
	struct orch_launcher *l;

	if (cfg->backend[0] != '\0' && strcmp(cfg->backend, launcher_process_ops.name) != 0) {
		launcher_fail(0, err, errsz, "launcher: unknown backend '%s'", cfg->backend);
		return NULL;
	}
	if (!netdev_name_ok(cfg->bridge) || cfg->run_dir[0] == '\0' || cfg->bin_dir[0] == '\0') {
		launcher_fail(0, err, errsz, "launcher: needs a bridge, a run dir and a bin dir");
		return NULL;
	}
	if (launcher_mkdir(cfg->run_dir, err, errsz) < 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		launcher_fail(0, err, errsz, "launcher: out of memory");
		return NULL;
	}
	l->ops = &launcher_process_ops;
	l->cfg = *cfg;
	if (l->cfg.heartbeat_ms == 0)
		l->cfg.heartbeat_ms = LAUNCHER_DEFAULT_HB_MS;
	if (l->cfg.mem_mb == 0)
		l->cfg.mem_mb = LAUNCHER_DEFAULT_MEM_MB;
	l->ovs.vsctl = l->cfg.ovs_vsctl;
	l->ovs.db = l->cfg.ovs_db;
	l->ovs.timeout_ms = l->cfg.ovs_timeout_ms;
	return l;
}

void launcher_destroy(struct orch_launcher *l)
{
	if (l != NULL)
		l->ops->destroy(l);
}

const struct orch_launcher_cfg *launcher_cfg(const struct orch_launcher *l)
{
	return &l->cfg;
}

int launcher_start(struct orch_launcher *l, const struct orch_nf_spec *spec,
		   struct orch_instance *inst, char *err, size_t errsz)
{
	return l->ops->start(l, spec, inst, err, errsz);
}

int launcher_stop(struct orch_launcher *l, const struct orch_instance *inst, bool graceful,
		  char *err, size_t errsz)
{
	return l->ops->stop(l, inst, graceful, err, errsz);
}

int launcher_cleanup(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		     size_t errsz)
{
	return l->ops->cleanup(l, inst, err, errsz);
}

int launcher_adopt(struct orch_launcher *l, const struct orch_instance *inst, char *err,
		   size_t errsz)
{
	return l->ops->adopt(l, inst, err, errsz);
}

int launcher_watch_fd(struct orch_launcher *l, const struct orch_instance *inst)
{
	return l->ops->watch_fd(l, inst);
}

int launcher_check_exit(struct orch_launcher *l, const struct orch_instance *inst,
			struct launcher_exit *ex)
{
	return l->ops->check_exit(l, inst, ex);
}

void launcher_reap(struct orch_launcher *l)
{
	l->ops->reap(l);
}

/* ---- names ---- */

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void names_derive(const char *bridge, const char *id, struct launcher_names *n)
{
	uint32_t h = fnv1a(fnv1a(fnv1a(2166136261u, bridge), "/"), id);

	snprintf(n->prefix, sizeof(n->prefix), "snf%08x", h);
	snprintf(n->if_in, sizeof(n->if_in), "snf%08xi", h);
	snprintf(n->if_out, sizeof(n->if_out), "snf%08xo", h);
	snprintf(n->br_in, sizeof(n->br_in), "snf%08xi-b", h);
	snprintf(n->br_out, sizeof(n->br_out), "snf%08xo-b", h);
}

void launcher_ifnames(const char *bridge, const char *id, char *if_in, char *if_out,
		      char *br_in, char *br_out)
{
	struct launcher_names n;

	names_derive(bridge, id, &n);
	memcpy(if_in, n.if_in, ORCH_IFNAME_MAX);
	memcpy(if_out, n.if_out, ORCH_IFNAME_MAX);
	memcpy(br_in, n.br_in, ORCH_IFNAME_MAX);
	memcpy(br_out, n.br_out, ORCH_IFNAME_MAX);
}

/* The names of 'inst': its own where set, derived from its id otherwise. */
static void names_of(const struct orch_launcher *l, const struct orch_instance *inst,
		     struct launcher_names *n)
{
	names_derive(l->cfg.bridge, inst->id, n);
	if (inst->if_in[0])
		snprintf(n->if_in, sizeof(n->if_in), "%s", inst->if_in);
	if (inst->if_out[0])
		snprintf(n->if_out, sizeof(n->if_out), "%s", inst->if_out);
	if (inst->br_in[0])
		snprintf(n->br_in, sizeof(n->br_in), "%s", inst->br_in);
	if (inst->br_out[0])
		snprintf(n->br_out, sizeof(n->br_out), "%s", inst->br_out);
}

/* Ids become --id, file names and store keys: [A-Za-z0-9._-], not starting with '.'. */
static bool id_ok(const char *id)
{
	size_t len = strnlen(id, ORCH_ID_MAX);

	if (len == 0 || len >= ORCH_ID_MAX || id[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_' && id[i] != '.')
			return false;
	return true;
}

/* ---- watched processes ---- */

static struct launcher_proc *proc_find(struct orch_launcher *l, const char *id)
{
	for (unsigned i = 0; i < l->n_procs; i++)
		if (strcmp(l->procs[i].id, id) == 0)
			return &l->procs[i];
	return NULL;
}

/* Watch 'pid' as instance 'id' through 'pidfd' (the table takes the descriptor). */
static int proc_add(struct orch_launcher *l, const char *id, pid_t pid, int pidfd, bool child)
{
	struct launcher_proc *p;

	if (l->n_procs == l->cap_procs) {
		unsigned cap = l->cap_procs ? l->cap_procs * 2 : 16;
		struct launcher_proc *np = realloc(l->procs, cap * sizeof(*np));

		if (np == NULL)
			return -ENOMEM;
		l->procs = np;
		l->cap_procs = cap;
	}
	p = &l->procs[l->n_procs++];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->pid = pid;
	p->pidfd = pidfd;
	p->child = child;
	return 0;
}

static void proc_remove(struct orch_launcher *l, struct launcher_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	*p = l->procs[--l->n_procs];
}

/* True once the process has ended (its pidfd is readable). */
static bool proc_ended(const struct launcher_proc *p)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	return p->reaped || (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
}

static void proc_try_reap(struct launcher_proc *p)
{
	int status;

	if (p->child && !p->reaped && waitpid(p->pid, &status, WNOHANG) == p->pid) {
		p->reaped = true;
		p->status = status;
	}
}

/* Whether /proc/<pid>/cmdline has "--id <id>" (or "--id=<id>"): the process is that NF
 * instance. A zombie has an empty cmdline: not an instance any more. */
static bool proc_is_instance(pid_t pid, const char *id)
{
	char path[64], buf[LAUNCHER_CMDLINE_SIZE];
	const char *prev = "";
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (const char *a = buf; a < buf + n; a += strlen(a) + 1) {
		if ((strcmp(prev, "--id") == 0 && strcmp(a, id) == 0) ||
		    (strncmp(a, "--id=", 5) == 0 && strcmp(a + 5, id) == 0))
			return true;
		prev = a;
	}
	return false;
}

/* The parent pid of 'pid' from /proc/<pid>/stat, or -1. */
static pid_t proc_ppid(pid_t pid)
{
	char path[64], buf[512];
	const char *rp;
	long ppid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	rp = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (rp == NULL || sscanf(rp + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* ---- the process backend: network plumbing ---- */

/* Remove bridge ports and veths of 'n'; keeps going on errors, returns the first. */
static int plumb_remove(struct orch_launcher *l, const struct launcher_names *n, char *err,
			size_t errsz)
{
	const char *ports[] = { n->br_in, n->br_out };
	const char *ifs[] = { n->br_in, n->br_out, n->if_in, n->if_out };
	int ret = netdev_ovs_del_ports(&l->ovs, l->cfg.bridge, ports, 2, err, errsz);

	for (unsigned i = 0; i < 4; i++) {
		int rc = netdev_delete(ifs[i], ret < 0 ? NULL : err, ret < 0 ? 0 : errsz);

		if (ret == 0)
			ret = rc;
	}
	return ret;
}

/* Create both veth pairs, prepare their four ends and attach the bridge ends. */
static int plumb_create(struct orch_launcher *l, const struct launcher_names *n,
			uint32_t ofports[2], char *err, size_t errsz)
{
	const char *ports[] = { n->br_in, n->br_out };
	const char *ends[] = { n->if_in, n->if_out, n->br_in, n->br_out };
	int ret = netdev_veth_create(n->if_in, n->br_in, l->cfg.mtu, err, errsz);

	if (ret == 0)
		ret = netdev_veth_create(n->if_out, n->br_out, l->cfg.mtu, err, errsz);
	for (unsigned i = 0; ret == 0 && i < 4; i++)
		ret = netdev_port_prepare(ends[i], err, errsz);
	if (ret == 0)
		ret = netdev_ovs_add_ports(&l->ovs, l->cfg.bridge, ports, 2, ofports, err, errsz);
	if (ret < 0)
		plumb_remove(l, n, NULL, 0);
	return ret;
}

/* ---- the process backend: files ---- */

static void path_config(const struct orch_launcher *l, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.json", l->cfg.run_dir, id);
}

static void path_log(const struct orch_launcher *l, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.log", l->cfg.run_dir, id);
}

/* Write the NF's JSON config ('config' may be NULL: "{}") to 'path', atomically. */
static int config_write(const char *path, const json_t *config, char *err, size_t errsz)
{
	char tmp[PATH_MAX + ORCH_ID_MAX + 16];
	json_t *empty = config == NULL ? json_object() : NULL;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(config != NULL ? config : empty, tmp, JSON_COMPACT) != 0)
		ret = launcher_fail(-EIO, err, errsz, "%s: cannot write", tmp);
	else if (rename(tmp, path) < 0)
		ret = launcher_fail(-errno, err, errsz, "%s: %s", path, strerror(errno));
	json_decref(empty);
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* DPDK's runtime directory for 'prefix' (eal_create_runtime_dir's rule). */
static void path_dpdk(const char *prefix, char *buf, size_t size)
{
	const char *base = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");

	snprintf(buf, size, "%s/dpdk/%s", base != NULL ? base : "/tmp", prefix);
}

/* Remove directory 'dir' and the files in it (DPDK puts no subdirectories there). */
static void dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* The last non-empty line of the instance's log into 'buf'. */
static void log_tail(const struct orch_launcher *l, const char *id, char *buf, size_t size)
{
	char path[PATH_MAX + ORCH_ID_MAX + 8], tail[1024];
	int fd;
	off_t end;
	ssize_t n;
	char *line;

	buf[0] = '\0';
	path_log(l, id, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	n = pread(fd, tail, sizeof(tail) - 1, end > (off_t)sizeof(tail) - 1 ?
		  end - (off_t)sizeof(tail) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
		tail[--n] = '\0';
	line = strrchr(tail, '\n');
	line = line != NULL ? line + 1 : tail;
	snprintf(buf, size, "%.*s", (int)strnlen(line, size - 1), line);
}

/* ---- the process backend: the NF process ---- */

/* EAL -l: the configured CPU, or the next one of those this process may run on. */
static unsigned pick_lcore(struct orch_launcher *l)
{
	cpu_set_t set;
	unsigned n, k;

	if (l->cfg.lcore >= 0)
		return (unsigned)l->cfg.lcore;
	if (sched_getaffinity(0, sizeof(set), &set) != 0 || (n = (unsigned)CPU_COUNT(&set)) == 0)
		return 0;
	k = l->next_cpu++ % n;
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && k-- == 0)
			return cpu;
	return 0;
}

/* environ without SNF_STORE_PASSWORD, plus ours when one is configured. */
static int args_env(struct launch_args *a, const char *password)
{
	size_t n = 0, k = 0, plen = strlen(PASSWORD_ENV "=");

	while (environ[n] != NULL)
		n++;
	a->envp = calloc(n + 2, sizeof(*a->envp));
	if (a->envp == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], PASSWORD_ENV "=", plen) != 0)
			a->envp[k++] = environ[i];
	if (password[0] != '\0') {
		snprintf(a->pw, sizeof(a->pw), PASSWORD_ENV "=%s", password);
		a->envp[k++] = a->pw;
	}
	return 0;
}

/* The NF's command line: EAL options, "--", the NF's options. */
static void args_build(struct orch_launcher *l, const struct orch_nf_spec *spec,
		       const struct orch_instance *inst, const struct launcher_names *nm,
		       struct launch_args *a)
{
	const char **v = a->argv;

	snprintf(a->exe, sizeof(a->exe), "%s/nf-%s", l->cfg.bin_dir, orch_nf_type_name(spec->type));
	path_config(l, inst->id, a->config, sizeof(a->config));
	snprintf(a->mem, sizeof(a->mem), "%u", l->cfg.mem_mb);
	snprintf(a->lcore, sizeof(a->lcore), "%u", pick_lcore(l));
	snprintf(a->prefix, sizeof(a->prefix), "%s", nm->prefix);
	snprintf(a->vdev_in, sizeof(a->vdev_in), "--vdev=net_af_packet0,iface=%s", nm->if_in);
	snprintf(a->vdev_out, sizeof(a->vdev_out), "--vdev=net_af_packet1,iface=%s", nm->if_out);
	snprintf(a->hb, sizeof(a->hb), "%u", l->cfg.heartbeat_ms);
	*v++ = a->exe;
	*v++ = "--no-huge", *v++ = "-m", *v++ = a->mem;
	*v++ = "--no-pci", *v++ = "--no-shconf", *v++ = "--no-telemetry";
	*v++ = "-l", *v++ = a->lcore, *v++ = "--file-prefix", *v++ = a->prefix;
	*v++ = a->vdev_in, *v++ = a->vdev_out;
	*v++ = "--";
	*v++ = "--id", *v++ = inst->id, *v++ = "--ns", *v++ = spec->name;
	*v++ = "--store", *v++ = l->cfg.store_url, *v++ = "--stats-interval-ms", *v++ = a->hb;
	*v++ = "--config", *v++ = a->config;
	*v = NULL;
}

/* Open the instance's log (append) and write a header line with the command. */
static int log_open(const struct orch_launcher *l, const struct orch_instance *inst,
		    const struct launch_args *a, char *err, size_t errsz)
{
	char path[PATH_MAX + ORCH_ID_MAX + 8];
	FILE *f;
	int fd;

	path_log(l, inst->id, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return launcher_fail(-errno, err, errsz, "%s: %s", path, strerror(errno));
	f = fdopen(dup(fd), "a");
	if (f != NULL) {
		fprintf(f, "=== %llu launching %s:", (unsigned long long)wall_ms(), inst->id);
		for (const char *const *v = a->argv; *v != NULL; v++)
			fprintf(f, " %s", *v);
		fputc('\n', f);
		fclose(f);
	}
	return fd;
}

/* Spawn the NF in a session of its own: stdin /dev/null, stdout and stderr to 'log_fd',
 * no other descriptor, default signal dispositions and an empty signal mask. */
static int spawn_nf(const struct launch_args *a, int log_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int ret;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, log_fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, log_fd, STDERR_FILENO);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	ret = posix_spawn(pid, a->exe, &fa, &attr, (char *const *)a->argv, a->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -ret;
}

/* Spawn the process and watch it. */
static int proc_launch(struct orch_launcher *l, const struct orch_instance *inst,
		       const struct launch_args *a, pid_t *pid, char *err, size_t errsz)
{
	int log_fd = log_open(l, inst, a, err, errsz);
	int pidfd, ret;

	if (log_fd < 0)
		return log_fd;
	ret = spawn_nf(a, log_fd, pid);
	close(log_fd);
	if (ret < 0)
		return launcher_fail(ret, err, errsz, "%s: %s", a->exe, strerror(-ret));
	pidfd = pidfd_open(*pid, 0);
	ret = pidfd < 0 ? -errno : proc_add(l, inst->id, *pid, pidfd, true);
	if (ret < 0) {
		if (pidfd >= 0)
			close(pidfd);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		return launcher_fail(ret, err, errsz, "watch %s (pid %ld): %s", inst->id,
				     (long)*pid, strerror(-ret));
	}
	return 0;
}

static int start_check(struct orch_launcher *l, const struct orch_nf_spec *spec,
		       const struct orch_instance *inst, const char *exe, char *err, size_t errsz)
{
	if (!id_ok(inst->id))
		return launcher_fail(-EINVAL, err, errsz, "instance id '%s': not [A-Za-z0-9._-]{1,%d}",
				     inst->id, ORCH_ID_MAX - 1);
	if (proc_find(l, inst->id) != NULL)
		return launcher_fail(-EEXIST, err, errsz, "instance %s: already running", inst->id);
	if (spec->name[0] == '\0' || (unsigned)spec->type >= ORCH_NF__COUNT)
		return launcher_fail(-EINVAL, err, errsz, "instance %s: spec without name or type",
				     inst->id);
	if (access(exe, X_OK) < 0)
		return launcher_fail(-errno, err, errsz, "%s: %s", exe, strerror(errno));
	return 0;
}

static void inst_fill(struct orch_instance *inst, const struct orch_nf_spec *spec,
		      const struct launcher_names *n, const uint32_t ofports[2], pid_t pid)
{
	snprintf(inst->nf, sizeof(inst->nf), "%s", spec->name);
	inst->state = ORCH_INST_LAUNCHING;
	inst->pid = pid;
	memcpy(inst->if_in, n->if_in, sizeof(inst->if_in));
	memcpy(inst->if_out, n->if_out, sizeof(inst->if_out));
	memcpy(inst->br_in, n->br_in, sizeof(inst->br_in));
	memcpy(inst->br_out, n->br_out, sizeof(inst->br_out));
	inst->ofport_in = ofports[0];
	inst->ofport_out = ofports[1];
	inst->launched_ms = wall_ms();
	inst->ready_ms = 0;
	inst->last_heartbeat_ms = 0;
}

static int process_start(struct orch_launcher *l, const struct orch_nf_spec *spec,
			 struct orch_instance *inst, char *err, size_t errsz)
{
	struct launch_args a = { .envp = NULL };
	struct launcher_names n;
	uint32_t ofports[2];
	pid_t pid;
	int ret;

	names_derive(l->cfg.bridge, inst->id, &n);
	args_build(l, spec, inst, &n, &a);
	ret = start_check(l, spec, inst, a.exe, err, errsz);
	if (ret < 0)
		return ret;
	ret = args_env(&a, l->cfg.store_password);
	if (ret < 0)
		return launcher_fail(ret, err, errsz, "instance %s: out of memory", inst->id);
	plumb_remove(l, &n, NULL, 0);	/* leftovers of an earlier life of this id */
	ret = plumb_create(l, &n, ofports, err, errsz);
	if (ret == 0)
		ret = config_write(a.config, spec->config, err, errsz);
	if (ret == 0)
		ret = proc_launch(l, inst, &a, &pid, err, errsz);
	free(a.envp);
	if (ret < 0) {
		plumb_remove(l, &n, NULL, 0);
		unlink(a.config);
		return ret;
	}
	inst_fill(inst, spec, &n, ofports, pid);
	return 0;
}

/* Signal the instance: through its pidfd when watched, else by pid after checking that
 * the pid is still that instance. */
static int process_stop(struct orch_launcher *l, const struct orch_instance *inst,
			bool graceful, char *err, size_t errsz)
{
	struct launcher_proc *p = proc_find(l, inst->id);
	int sig = graceful ? SIGTERM : SIGKILL;

	if (p != NULL) {
		if (proc_ended(p))
			return 0;
		if (pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
			return launcher_fail(-errno, err, errsz, "signal %s (pid %ld): %s",
					     inst->id, (long)p->pid, strerror(errno));
		return 0;
	}
	if (!proc_is_instance(inst->pid, inst->id))
		return launcher_fail(-ESRCH, err, errsz, "instance %s: pid %ld is not running it",
				     inst->id, (long)inst->pid);
	if (kill(inst->pid, sig) < 0 && errno != ESRCH)
		return launcher_fail(-errno, err, errsz, "signal %s (pid %ld): %s", inst->id,
				     (long)inst->pid, strerror(errno));
	return 0;
}

static int process_cleanup(struct orch_launcher *l, const struct orch_instance *inst,
			   char *err, size_t errsz)
{
	struct launcher_proc *p = proc_find(l, inst->id);
	char path[PATH_MAX + ORCH_ID_MAX + 8];
	struct launcher_names n;

	if ((p != NULL && !proc_ended(p)) || (p == NULL && proc_is_instance(inst->pid, inst->id)))
		return launcher_fail(-EBUSY, err, errsz, "instance %s: pid %ld still runs",
				     inst->id, (long)inst->pid);
	names_of(l, inst, &n);
	path_config(l, inst->id, path, sizeof(path));
	unlink(path);
	path_dpdk(n.prefix, path, sizeof(path));
	dir_remove(path);
	return plumb_remove(l, &n, err, errsz);
}

static int process_adopt(struct orch_launcher *l, const struct orch_instance *inst, char *err,
			 size_t errsz)
{
	int pidfd, ret;

	if (proc_find(l, inst->id) != NULL)
		return 0;
	if (!proc_is_instance(inst->pid, inst->id))
		return launcher_fail(-ESRCH, err, errsz, "instance %s: pid %ld is not running it",
				     inst->id, (long)inst->pid);
	pidfd = pidfd_open(inst->pid, 0);
	if (pidfd < 0)
		return launcher_fail(-errno, err, errsz, "instance %s: pidfd_open(%ld): %s",
				     inst->id, (long)inst->pid, strerror(errno));
	/* Checked again now that the pidfd pins the process: the pid was not recycled. */
	if (!proc_is_instance(inst->pid, inst->id)) {
		close(pidfd);
		return launcher_fail(-ESRCH, err, errsz, "instance %s: pid %ld ended", inst->id,
				     (long)inst->pid);
	}
	ret = proc_add(l, inst->id, inst->pid, pidfd, proc_ppid(inst->pid) == getpid());
	if (ret < 0) {
		close(pidfd);
		return launcher_fail(ret, err, errsz, "instance %s: out of memory", inst->id);
	}
	return 0;
}

static int process_watch_fd(struct orch_launcher *l, const struct orch_instance *inst)
{
	struct launcher_proc *p = proc_find(l, inst->id);

	return p != NULL ? p->pidfd : -ENOENT;
}

static void exit_describe(const struct launcher_proc *p, struct launcher_exit *ex)
{
	ex->status_known = p->reaped;
	ex->status = p->status;
	if (!p->reaped)
		snprintf(ex->desc, sizeof(ex->desc), "ended (not our child: status unknown)");
	else if (WIFEXITED(p->status))
		snprintf(ex->desc, sizeof(ex->desc), "exit status %d", WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status))
		snprintf(ex->desc, sizeof(ex->desc), "killed by signal %d (%s)", WTERMSIG(p->status),
			 strsignal(WTERMSIG(p->status)));
	else
		snprintf(ex->desc, sizeof(ex->desc), "ended (wait status 0x%x)", p->status);
}

static int process_check_exit(struct orch_launcher *l, const struct orch_instance *inst,
			      struct launcher_exit *ex)
{
	struct launcher_proc *p = proc_find(l, inst->id);

	if (p == NULL)
		return -ENOENT;
	if (!proc_ended(p))
		return 0;
	proc_try_reap(p);
	if (ex != NULL) {
		exit_describe(p, ex);
		log_tail(l, inst->id, ex->log_tail, sizeof(ex->log_tail));
	}
	proc_remove(l, p);
	return 1;
}

static void process_reap(struct orch_launcher *l)
{
	for (unsigned i = 0; i < l->n_procs; i++)
		proc_try_reap(&l->procs[i]);
}

static void process_destroy(struct orch_launcher *l)
{
	for (unsigned i = 0; i < l->n_procs; i++)
		close(l->procs[i].pidfd);
	free(l->procs);
	free(l);
}

const struct orch_launcher_ops launcher_process_ops = {
	.name = "process",
	.start = process_start,
	.stop = process_stop,
	.cleanup = process_cleanup,
	.adopt = process_adopt,
	.watch_fd = process_watch_fd,
	.check_exit = process_check_exit,
	.reap = process_reap,
	.destroy = process_destroy,
};
