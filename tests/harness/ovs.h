/* Test harness: a private Open vSwitch (ovsdb-server and ovs-vswitchd with the netdev
 * datapath) in its own temporary directory, started, restarted and stopped by the test.
 *
 * Both daemons run in the foreground as children of the test process and die with it
 * (PR_SET_PDEATHSIG), so a crashed or timed-out test cannot leave them behind; a later
 * ovs_start() removes the directories of dead test processes. The netdev datapath makes a
 * persistent tap for every bridge and internal port, which outlives a killed ovs-vswitchd:
 * ovs_stop() deletes them, and a test that calls ovs_private_netns() first keeps them in
 * a network namespace that vanishes with the test process whatever happens. */
#ifndef TESTS_HARNESS_OVS_H
#define TESTS_HARNESS_OVS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define OVS_OUT_SIZE 65536

struct ovs {
	char dir[64];		/* private run/log/db directory ("" when stopped) */
	pid_t db_pid;		/* ovsdb-server, 0 when not running */
	pid_t vs_pid;		/* ovs-vswitchd, 0 when not running */
	bool vs_paused;		/* SIGSTOPped by ovs_pause_vswitchd() */
	char out[OVS_OUT_SIZE];	/* output (stdout and stderr) of the last ovs_vsctl(),
				 * ovs_ofctl() or ovs_appctl(), without the final newline */
};

/* Move the calling process (the test) into a new network namespace with loopback up:
 * taps and listeners of the test stay private and vanish with it. Needs root. Call it
 * before ovs_start() and before opening any socket the test shares with OVS. First it
 * raises net.core.rmem_default and rmem_max (global) to 4 MB, as a userspace-datapath
 * switch needs (see ovs.c). */
int ovs_private_netns(void);

/* Create the database, start ovsdb-server and ovs-vswitchd and wait until both answer.
 * Returns 0 or a negative errno (then nothing is left running). */
int ovs_start(struct ovs *o);
/* Stop both daemons (ovs-vswitchd with `exit --cleanup`, then signals), delete the
 * taps left over, and remove the directory. Safe to call twice and after a failed start. */
void ovs_stop(struct ovs *o);

/* Run `ovs-vsctl --db=unix:DIR/db.sock --timeout=10 ARGS`, `ovs-ofctl -O OpenFlow13 ARGS`
 * or `ovs-appctl -t DIR/ovs-vswitchd.ctl ARGS` against this instance, ARGS being the
 * printf-formatted string (split by sh: quote flows). Returns the exit status (0 on
 * success), or a negative errno when it could not run; the output is in 'o->out'. */
int ovs_vsctl(struct ovs *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ovs_ofctl(struct ovs *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ovs_appctl(struct ovs *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `add-br BR -- set bridge BR datapath_type=netdev protocols=OpenFlow13 fail_mode=secure`
 * (fail_mode first: changing it later flushes the flows). Returns like ovs_vsctl(). */
int ovs_add_bridge(struct ovs *o, const char *br);
/* `set-controller BR tcp:127.0.0.1:PORT`. */
int ovs_set_controller(struct ovs *o, const char *br, uint16_t port);
/* Add an internal port (a tap) to 'br' with OpenFlow port number 'ofport' (0: any);
 * returns like ovs_vsctl(). */
int ovs_add_internal_port(struct ovs *o, const char *br, const char *name, unsigned ofport);

/* Crash ovs-vswitchd (SIGKILL) and reap it; its taps stay. */
int ovs_kill_vswitchd(struct ovs *o);
/* Start ovs-vswitchd again on the same database. */
int ovs_start_vswitchd(struct ovs *o);
/* Freeze (SIGSTOP) or thaw (SIGCONT) ovs-vswitchd: a hung switch. */
int ovs_pause_vswitchd(struct ovs *o, bool pause);

#endif
