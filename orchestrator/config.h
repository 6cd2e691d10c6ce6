/* The nfv-orchestrator daemon's configuration: a JSON file and command-line options. */
#ifndef ORCH_CONFIG_H
#define ORCH_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "orchestrator/api.h"
#include "orchestrator/orch.h"

/* Every setting has a file key and an option (the key with '-' for '_'):
 *   listen ADDR:PORT (127.0.0.1:8181), token, redis (host:port | unix:/path |
 *   redis://[:pw@]host:port; 127.0.0.1:6379), redis_password, ovs_db (unix:/path),
 *   ovs_vsctl, bridge (snf-br0), openflow ADDR:PORT (127.0.0.1:6653), uplink_inside,
 *   uplink_outside (the default uplinks of NFs that name none; both or neither),
 *   launcher (process), heartbeat_ms (100), nf_bin_dir (the directory of
 *   nfv-orchestrator), run_dir (/run/nfv-orchestrator), nf_mem_mb (256), nf_mbufs (2047),
 *   nf_spare_ports (4), nf_lcore (-1: spread), nf_idle_sleep_us (100), nf_nice (0),
 *   start_timeout_ms (30000), drain_timeout_ms (10000), stop_instances_on_exit (false),
 *   log_level (info).
 * Precedence: defaults, then the file (--config FILE), then the other options. */
struct orch_config {
	struct orch_cfg orch;
	struct api_cfg api;
	char redis_url[256];
	char log_level[16];
	char config_path[PATH_MAX];
};

/* Fill 'cfg' from 'argv'. Returns 0; 1 when --help was asked (print config_usage());
 * -EINVAL with "FIELD: reason" (options: "--field: reason"; the file: "FILE: field:
 * reason") in 'err' for a bad value, an unknown key or a missing required setting. */
int config_parse(int argc, char **argv, struct orch_config *cfg, char *err, size_t errsz);

void config_usage(FILE *f);

#endif
