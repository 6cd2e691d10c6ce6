/* The launcher's watched processes: pidfds, adoption, exit checks and reaping. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orchestrator/launcher.h"
#include "orchestrator/launcher_int.h"

struct launcher_proc *launcher_proc_find(struct orch_launcher *l, const char *id)
{
	for (unsigned i = 0; i < l->n_procs; i++)
		if (strcmp(l->procs[i].id, id) == 0)
			return &l->procs[i];
	return NULL;
}

/* Watch 'pid' as instance 'id' through 'pidfd' (the table takes the descriptor). */
int launcher_proc_add(struct orch_launcher *l, const char *id, pid_t pid, int pidfd, bool child)
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
bool launcher_proc_ended(const struct launcher_proc *p)
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
bool launcher_proc_is_instance(pid_t pid, const char *id)
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

int launcher_process_adopt(struct orch_launcher *l, const struct orch_instance *inst, char *err,
			 size_t errsz)
{
	int pidfd, ret;

	if (launcher_proc_find(l, inst->id) != NULL)
		return 0;
	if (!launcher_proc_is_instance(inst->pid, inst->id))
		return launcher_fail(-ESRCH, err, errsz, "instance %s: pid %ld is not running it",
				     inst->id, (long)inst->pid);
	pidfd = pidfd_open(inst->pid, 0);
	if (pidfd < 0)
		return launcher_fail(-errno, err, errsz, "instance %s: pidfd_open(%ld): %s",
				     inst->id, (long)inst->pid, strerror(errno));
	/* Checked again now that the pidfd pins the process: the pid was not recycled. */
	if (!launcher_proc_is_instance(inst->pid, inst->id)) {
		close(pidfd);
		return launcher_fail(-ESRCH, err, errsz, "instance %s: pid %ld ended", inst->id,
				     (long)inst->pid);
	}
	ret = launcher_proc_add(l, inst->id, inst->pid, pidfd, proc_ppid(inst->pid) == getpid());
	if (ret < 0) {
		close(pidfd);
		return launcher_fail(ret, err, errsz, "instance %s: out of memory", inst->id);
	}
	return 0;
}

int launcher_process_watch_fd(struct orch_launcher *l, const struct orch_instance *inst)
{
	struct launcher_proc *p = launcher_proc_find(l, inst->id);

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

int launcher_process_check_exit(struct orch_launcher *l, const struct orch_instance *inst,
			      struct launcher_exit *ex)
{
	struct launcher_proc *p = launcher_proc_find(l, inst->id);

	if (p == NULL)
		return -ENOENT;
	if (!launcher_proc_ended(p))
		return 0;
	proc_try_reap(p);
	if (ex != NULL) {
		exit_describe(p, ex);
		launcher_log_tail(l, inst->id, ex->log_tail, sizeof(ex->log_tail));
	}
	proc_remove(l, p);
	return 1;
}

void launcher_process_reap(struct orch_launcher *l)
{
	for (unsigned i = 0; i < l->n_procs; i++)
		proc_try_reap(&l->procs[i]);
}

void launcher_process_destroy(struct orch_launcher *l)
{
	for (unsigned i = 0; i < l->n_procs; i++)
		close(l->procs[i].pidfd);
	free(l->procs);
	free(l);
}
