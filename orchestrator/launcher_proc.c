/* The process backend of the launcher: names, veth plumbing, files, spawning, stop, cleanup. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
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
#include "orchestrator/launcher_int.h"
#include "orchestrator/netdev.h"

#define LAUNCHER_MAX_ARGS 40
#define PASSWORD_ENV "SNF_STORE_PASSWORD"

/* The arguments and environment of one NF process. */
struct launch_args {
	char exe[PATH_MAX + 16], config[PATH_MAX + ORCH_ID_MAX + 8];
	char mem[16], lcore[16], prefix[32], vdev_in[64], vdev_out[64], hb[16], sleep[16], mbufs[16];
	const char *argv[LAUNCHER_MAX_ARGS];
	char **envp;		/* malloc'ed array; the strings are environ's or 'pw' */
	char pw[sizeof(PASSWORD_ENV) + 128];
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- names ---- */

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

void launcher_names_from_base(const char *base, struct launcher_names *n)
{
	int len = (int)strnlen(base, ORCH_IFNAME_MAX - 4);

	snprintf(n->prefix, sizeof(n->prefix), "%.*s", len, base);
	snprintf(n->if_in, sizeof(n->if_in), "%.*si", len, base);
	snprintf(n->if_out, sizeof(n->if_out), "%.*so", len, base);
	snprintf(n->br_in, sizeof(n->br_in), "%.*si-b", len, base);
	snprintf(n->br_out, sizeof(n->br_out), "%.*so-b", len, base);
}

/* A new instance's names: the base is "snf" and 8 hex digits of a hash of bridge and id. */
static void names_derive(const char *bridge, const char *id, struct launcher_names *n)
{
	char base[ORCH_IFNAME_MAX];

	snprintf(base, sizeof(base), "snf%08x", fnv1a(fnv1a(fnv1a(2166136261u, bridge), "/"), id));
	launcher_names_from_base(base, n);
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

/* The names of 'inst': its own where set (a reused pair has another instance's base: the
 * base is its if_in without the final 'i'), derived from its id otherwise. */
static void names_of(const struct orch_launcher *l, const struct orch_instance *inst,
		     struct launcher_names *n)
{
	size_t len = strnlen(inst->if_in, sizeof(inst->if_in));

	names_derive(l->cfg.bridge, inst->id, n);
	if (len > 1 && len < sizeof(inst->if_in) && inst->if_in[len - 1] == 'i')
		snprintf(n->prefix, sizeof(n->prefix), "%.*s", (int)len - 1, inst->if_in);
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

/* ---- the process backend: network plumbing ---- */

int launcher_plumb_remove(struct orch_launcher *l, const struct launcher_names *n, char *err,
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
		launcher_plumb_remove(l, n, NULL, 0);
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

void launcher_log_tail(const struct orch_launcher *l, const char *id, char *buf, size_t size)
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
	snprintf(a->sleep, sizeof(a->sleep), "%u", l->cfg.idle_sleep_us);
	snprintf(a->mbufs, sizeof(a->mbufs), "%u", l->cfg.mbufs);
	*v++ = a->exe;
	*v++ = "--no-huge", *v++ = "-m", *v++ = a->mem;
	*v++ = "--no-pci", *v++ = "--no-shconf", *v++ = "--no-telemetry";
	*v++ = "-l", *v++ = a->lcore, *v++ = "--file-prefix", *v++ = a->prefix;
	*v++ = a->vdev_in, *v++ = a->vdev_out;
	*v++ = "--";
	*v++ = "--id", *v++ = inst->id, *v++ = "--ns", *v++ = spec->name;
	*v++ = "--store", *v++ = l->cfg.store_url, *v++ = "--stats-interval-ms", *v++ = a->hb;
	*v++ = "--config", *v++ = a->config, *v++ = "--idle-sleep-us", *v++ = a->sleep;
	*v++ = "--mbufs", *v++ = a->mbufs;
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
	ret = pidfd < 0 ? -errno : launcher_proc_add(l, inst->id, *pid, pidfd, true);
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
	if (launcher_proc_find(l, inst->id) != NULL)
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
	uint32_t ofports[2] = { 0, 0 };
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
	if (launcher_spare_take(l, n.prefix, &n, ofports)) {
		args_build(l, spec, inst, &n, &a);	/* the spare's names */
	} else {
		launcher_plumb_remove(l, &n, NULL, 0);	/* leftovers of an earlier life of this id */
		ret = plumb_create(l, &n, ofports, err, errsz);
	}
	if (ret == 0)
		ret = config_write(a.config, spec->config, err, errsz);
	if (ret == 0)
		ret = proc_launch(l, inst, &a, &pid, err, errsz);
	free(a.envp);
	if (ret < 0) {
		if (!launcher_spare_park(l, &n, ofports))
			launcher_plumb_remove(l, &n, NULL, 0);
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
	struct launcher_proc *p = launcher_proc_find(l, inst->id);
	int sig = graceful ? SIGTERM : SIGKILL;

	if (p != NULL) {
		if (launcher_proc_ended(p))
			return 0;
		if (pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
			return launcher_fail(-errno, err, errsz, "signal %s (pid %ld): %s",
					     inst->id, (long)p->pid, strerror(errno));
		return 0;
	}
	if (!launcher_proc_is_instance(inst->pid, inst->id))
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
	struct launcher_proc *p = launcher_proc_find(l, inst->id);
	char path[PATH_MAX + ORCH_ID_MAX + 8];
	struct launcher_names n;
	uint32_t ofports[2] = { inst->ofport_in, inst->ofport_out };

	if ((p != NULL && !launcher_proc_ended(p)) ||
	    (p == NULL && launcher_proc_is_instance(inst->pid, inst->id)))
		return launcher_fail(-EBUSY, err, errsz, "instance %s: pid %ld still runs",
				     inst->id, (long)inst->pid);
	names_of(l, inst, &n);
	path_config(l, inst->id, path, sizeof(path));
	unlink(path);
	path_dpdk(n.prefix, path, sizeof(path));
	dir_remove(path);
	if (launcher_spare_park(l, &n, ofports))
		return 0;
	return launcher_plumb_remove(l, &n, err, errsz);
}

const struct orch_launcher_ops launcher_process_ops = {
	.name = "process",
	.start = process_start,
	.stop = process_stop,
	.cleanup = process_cleanup,
	.adopt = launcher_process_adopt,
	.watch_fd = launcher_process_watch_fd,
	.check_exit = launcher_process_check_exit,
	.reap = launcher_process_reap,
	.destroy = launcher_process_destroy,
};
