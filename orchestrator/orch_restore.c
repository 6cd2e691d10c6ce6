/* Restart safety: load the NFs and instances from Redis, adopt what still runs, fail what
 * does not (the reconciler replaces it), stop orphans of this bridge, re-apply the slots. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nf/clock.h"
#include "nf/log.h"
#include "orchestrator/orch_int.h"

#define CMDLINE_SIZE 8192
#define ORPHAN_WAIT_MS 3000

/* ---- instances ---- */

static struct orch_inst *entry_take(struct orch_nf *nf)
{
	for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++) {
		if (!nf->insts[i].in_use) {
			memset(&nf->insts[i], 0, sizeof(nf->insts[i]));
			nf->insts[i].in_use = true;
			nf->insts[i].rr_ms = -1;
			nf->insts[i].hb_age_ms = -1;
			return &nf->insts[i];
		}
	}
	return NULL;
}

/* A running instance: watch it again, as it was. */
static void restore_adopted(struct orch_nf *nf, struct orch_inst *in)
{
	uint64_t now = orch_mono_ms();
	bool was_ready = in->rec.state == ORCH_INST_READY || in->rec.state == ORCH_INST_DRAINING;

	in->watched = true;
	in->launch_mono_ms = now;
	in->ready_mono_ms = now;
	in->announced = true;	/* its "ready" event is in the log already */
	in->drain_requested = in->rec.state == ORCH_INST_DRAINING;
	orch_inst_track_init(in, was_ready);
	NF_LOG(INFO, ORCH_LOG, "NF '%s': adopted %s (pid %ld, %s)", nf->spec.name, in->rec.id,
	       (long)in->rec.pid, orch_inst_state_name(in->rec.state));
}

/* A live record whose process is gone: failed, to be cleaned up and replaced. */
static void restore_lost(struct orch *o, struct orch_nf *nf, struct orch_inst *in,
			 const char *why)
{
	in->exited = true;
	in->detect_us = nf_now_us();
	in->cause = ORCH_FAIL_LOST;
	in->rec.state = ORCH_INST_FAILED;
	o->m.failovers[ORCH_FAIL_LOST]++;
	orch_inst_persist(o, in);
	orch_event(o, nf->spec.name, ORCH_EV_FAILED, in->rec.id,
		   "not running when the orchestrator restarted: %s (lost)", why);
}

static void restore_inst(struct orch *o, struct orch_nf *nf, const struct orch_instance *rec)
{
	struct orch_inst *in;
	char err[256] = "";

	if (rec->state != ORCH_INST_LAUNCHING && rec->state != ORCH_INST_READY &&
	    rec->state != ORCH_INST_DRAINING) {
		launcher_cleanup(o->launcher, rec, err, sizeof(err));
		orch_state_del_instance(o->st_loop, nf->spec.name, rec->id);
		return;
	}
	in = entry_take(nf);
	if (in == NULL) {
		NF_LOG(ERR, ORCH_LOG, "NF '%s': too many instance records, %s ignored", nf->spec.name,
		       rec->id);
		return;
	}
	in->rec = *rec;
	if (launcher_adopt(o->launcher, rec, err, sizeof(err)) == 0)
		restore_adopted(nf, in);
	else
		restore_lost(o, nf, in, err);
}

static int restore_instances(struct orch *o, struct orch_nf *nf)
{
	struct orch_instance *recs = NULL;
	size_t n = 0;
	int rc = orch_state_list_instances(o->st_loop, nf->spec.name, &recs, &n);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		restore_inst(o, nf, &recs[i]);
	free(recs);
	return 0;
}

/* ---- NFs ---- */

static int restore_nf(struct orch *o, const char *name)
{
	struct orch_nf_spec spec;
	struct orch_nf *nf;
	char err[256] = "";
	int rc = orch_state_get_nf(o->st_loop, name, &spec);

	if (rc == -ENOENT || rc == -EBADMSG)
		return 0;	/* gone meanwhile, or unreadable (logged by state.c) */
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&o->lock);
	nf = orch_nf_new(o, &spec, err, sizeof(err));
	pthread_mutex_unlock(&o->lock);
	orch_nf_spec_clear(&spec);
	if (nf == NULL) {
		NF_LOG(ERR, ORCH_LOG, "NF '%s' not restored: %s (fix it and restart, or delete the "
		       "NF)", name, err);
		return 0;
	}
	nf->push_due = true;	/* republished (unchanged, unless a push was cut short) */
	if (orch_state_get_slots(o->st_loop, name, nf->slots) < 0)
		memset(nf->slots, 0, sizeof(nf->slots));
	rc = restore_instances(o, nf);
	if (rc < 0) {
		orch_nf_free(nf);
		return rc;
	}
	pthread_mutex_lock(&o->lock);
	nf->next = o->nfs;
	o->nfs = nf;
	pthread_mutex_unlock(&o->lock);
	return 0;
}

/* ---- orphans: instance processes of this bridge that no record knows ---- */

/* From /proc/<pid>/cmdline: the value of --id and the inside interface of the vdev. */
static bool cmdline_instance(const char *pid, char *id, size_t idsz, char *ifc, size_t ifsz)
{
	static const char vdev[] = "--vdev=net_af_packet0,iface=";
	char path[64], buf[CMDLINE_SIZE];
	const char *prev = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	id[0] = ifc[0] = '\0';
	for (const char *a = buf; a < buf + n; a += strlen(a) + 1) {
		if (strcmp(prev, "--id") == 0)
			snprintf(id, idsz, "%.*s", (int)idsz - 1, a);
		else if (strncmp(a, vdev, sizeof(vdev) - 1) == 0)
			snprintf(ifc, ifsz, "%.*s", (int)ifsz - 1, a + sizeof(vdev) - 1);
		prev = a;
	}
	return id[0] != '\0' && ifc[0] != '\0';
}

static bool id_known(struct orch *o, const char *id)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		if (orch_inst_find(nf, id) != NULL)
			return true;
	return false;
}

/* Kill orphan 'id' (pid 'pid'), wait for it, clean up its ports. */
static void orphan_stop(struct orch *o, const char *id, pid_t pid)
{
	struct orch_instance rec = { .pid = pid };
	uint64_t deadline = orch_mono_ms() + ORPHAN_WAIT_MS;
	char err[256] = "", *dash;

	snprintf(rec.id, sizeof(rec.id), "%s", id);
	snprintf(rec.nf, sizeof(rec.nf), "%.*s", (int)sizeof(rec.nf) - 1, id);
	dash = strrchr(rec.nf, '-');
	if (dash != NULL)
		*dash = '\0';
	if (launcher_adopt(o->launcher, &rec, err, sizeof(err)) < 0)
		return;
	launcher_stop(o->launcher, &rec, false, err, sizeof(err));
	while (launcher_check_exit(o->launcher, &rec, NULL) == 0 && orch_mono_ms() < deadline)
		poll(NULL, 0, 10);
	launcher_cleanup(o->launcher, &rec, err, sizeof(err));
	orch_event(o, rec.nf, ORCH_EV_STOPPED, id, "orphan of bridge %s (pid %ld, no record): killed",
		   o->cfg.launcher.bridge, (long)pid);
}

static void orphans_stop(struct orch *o)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char id[ORCH_ID_MAX], ifc[32], in[ORCH_IFNAME_MAX], out[ORCH_IFNAME_MAX];
		char bin[ORCH_IFNAME_MAX], bout[ORCH_IFNAME_MAX];

		if (e->d_name[0] < '1' || e->d_name[0] > '9' || atol(e->d_name) == getpid() ||
		    !cmdline_instance(e->d_name, id, sizeof(id), ifc, sizeof(ifc)))
			continue;
		launcher_ifnames(o->cfg.launcher.bridge, id, in, out, bin, bout);
		if (id_known(o, id) ||
		    (strcmp(in, ifc) != 0 && !launcher_iface_ours(o->launcher, ifc)))
			continue;
		NF_LOG(WARN, ORCH_LOG, "instance %s (pid %s) runs on bridge %s without a record: "
		       "stopping it", id, e->d_name, o->cfg.launcher.bridge);
		orphan_stop(o, id, (pid_t)atol(e->d_name));
	}
	if (d != NULL)
		closedir(d);
}

/* Whether an instance record uses the port pair with names from 'base' (launcher). */
static bool base_in_use(const char *base, void *arg)
{
	struct orch *o = arg;
	size_t len = strlen(base);

	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
			if (nf->insts[i].in_use && strncmp(nf->insts[i].rec.if_in, base, len) == 0 &&
			    strcmp(nf->insts[i].rec.if_in + len, "i") == 0)
				return true;
	return false;
}

int orch_restore(struct orch *o, char *err, size_t errsz)
{
	struct orch_name_list names;
	unsigned n_inst = 0;
	size_t n_nfs;
	int rc = orch_state_list_nfs(o->st_loop, &names);

	if (rc < 0) {
		snprintf(err, errsz, "store: cannot list the NFs: %s", strerror(-rc));
		return rc;
	}
	n_nfs = names.n;
	for (size_t i = 0; i < names.n && rc == 0; i++)
		rc = restore_nf(o, names.names[i]);
	orch_name_list_free(&names);
	if (rc < 0) {
		snprintf(err, errsz, "store: cannot load the NFs: %s", strerror(-rc));
		return rc;
	}
	orphans_stop(o);
	launcher_spares_adopt(o->launcher, base_in_use, o);
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
			n_inst += nf->insts[i].in_use;
		orch_steer_sync(o, nf);	/* recorded now, sent when the bridge connects */
	}
	pthread_mutex_lock(&o->lock);
	o->restored = true;
	pthread_mutex_unlock(&o->lock);
	NF_LOG(INFO, ORCH_LOG, "restored %zu NF(s) with %u instance record(s) from the store",
	       n_nfs, n_inst);
	o->reconcile_due = true;
	return 0;
}
