/* The orchestrator's data model: NF specs (desired state) and instances (observed state).
 * Both live in Redis (orchestrator/state.c), so a restarted orchestrator finds them. */
#ifndef ORCH_MODEL_H
#define ORCH_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define ORCH_NAME_MAX 32	/* NF names: [a-z][a-z0-9-]{0,30} */
#define ORCH_ID_MAX 48		/* instance ids: "<name>-<n>" */
#define ORCH_IFNAME_MAX 16	/* Linux interface names (IFNAMSIZ) */
#define ORCH_MAX_INSTANCES 16	/* per NF */
#define ORCH_SLOTS 64		/* steering slots (select-group buckets) per NF and side */

enum orch_nf_type { ORCH_NF_NAT, ORCH_NF_FIREWALL, ORCH_NF_LB, ORCH_NF__COUNT };

struct orch_autoscale {
	bool enabled;
	unsigned min, max;		/* instance bounds */
	double scale_out_load;		/* average busy ratio (0..1) above which to add one */
	double scale_in_load;		/* below which to remove one */
	unsigned cooldown_s;		/* no decision within this long after the last one */
	unsigned window_s;		/* the load must stay beyond the threshold this long (default 3) */
};

/* What the user asked for (POST /v1/nfs, PATCH). Owned by the caller; 'config' is a
 * jansson reference the struct owns (json_decref in orch_nf_spec_clear). */
struct orch_nf_spec {
	char name[ORCH_NAME_MAX];
	enum orch_nf_type type;
	json_t *config;			/* the NF's own JSON config (e.g. the NAT's public_ips...) */
	unsigned instances;		/* desired count */
	struct orch_autoscale autoscale;
	char uplink_in[ORCH_IFNAME_MAX];	/* bridge port facing its clients ("" = the default) */
	char uplink_out[ORCH_IFNAME_MAX];	/* bridge port facing its servers */
	uint32_t config_gen;		/* +1 on every config change: older instances are replaced */
	uint64_t created_ms;
};

enum orch_inst_state {
	ORCH_INST_LAUNCHING,	/* process started, no heartbeat yet: receives no traffic */
	ORCH_INST_READY,	/* heartbeat seen: in the steering slots */
	ORCH_INST_DRAINING,	/* out of the slots, waiting for its counters to stop moving */
	ORCH_INST_STOPPED,	/* ended on purpose */
	ORCH_INST_FAILED,	/* died or hung: removed from steering, replaced */
	ORCH_INST__COUNT
};

/* One running (or recently ended) instance of an NF. */
struct orch_instance {
	char id[ORCH_ID_MAX];		/* "<nf name>-<n>", also the NF's --id */
	char nf[ORCH_NAME_MAX];
	enum orch_inst_state state;
	pid_t pid;			/* process backend; 0 if none */
	char if_in[ORCH_IFNAME_MAX];	/* NF side of the inside veth (af_packet) */
	char if_out[ORCH_IFNAME_MAX];
	char br_in[ORCH_IFNAME_MAX];	/* bridge side of the inside veth */
	char br_out[ORCH_IFNAME_MAX];
	uint32_t ofport_in, ofport_out;	/* OpenFlow port numbers of br_in / br_out */
	uint64_t launched_ms, ready_ms, last_heartbeat_ms;	/* wall clock */
	uint32_t config_gen;		/* the spec's config_gen it was launched with */
	double pps, busy;		/* from the last heartbeat */
};

const char *orch_nf_type_name(enum orch_nf_type t);
int orch_nf_type_parse(const char *s, enum orch_nf_type *t);
const char *orch_inst_state_name(enum orch_inst_state s);
int orch_inst_state_parse(const char *s, enum orch_inst_state *st);

void orch_nf_spec_clear(struct orch_nf_spec *spec);

/* JSON conversion (API bodies and the records stored in Redis). The to_json functions
 * return a new reference; the from_json functions fill 'out' or return -EINVAL with the
 * offending field named in 'err' (e.g. "instances: must be an integer in 1-16"). */
json_t *orch_nf_spec_to_json(const struct orch_nf_spec *spec);
int orch_nf_spec_from_json(json_t *j, struct orch_nf_spec *out, char *err, size_t errsz);
json_t *orch_instance_to_json(const struct orch_instance *inst);
int orch_instance_from_json(json_t *j, struct orch_instance *out, char *err, size_t errsz);

/* Added for the REST API (orchestrator/api.c). */

/* True when 's' is a valid NF name: [a-z][a-z0-9-]{0,30}. */
bool orch_name_valid(const char *s);

/* Like orch_nf_spec_from_json, for a user's request (POST /v1/nfs): read-only fields
 * (created_ms) are rejected as unknown, and instances must be 1-16 and within the autoscale
 * bounds (a stored record may say 0 after its last instance was removed, or lie outside
 * the bounds after a PATCH of the autoscale policy). */
int orch_nf_spec_from_request(json_t *j, struct orch_nf_spec *out, char *err, size_t errsz);

/* The "autoscale" member: JSON null means disabled; an object needs min and max and may
 * give scale_out_load (0.8), scale_in_load (0.3), cooldown_s (60), window_s (3). Returns 0
 * or -EINVAL naming the field ("autoscale.min: must be <= autoscale.max"). to_json returns
 * a new reference (json null when disabled). */
int orch_autoscale_from_json(json_t *j, struct orch_autoscale *out, char *err, size_t errsz);
json_t *orch_autoscale_to_json(const struct orch_autoscale *as);

/* Validate an NF's own config with that NF's loader (nat_config_load_string, ...). Returns
 * 0 or -EINVAL with the field named under "config." ("config.port_range[1]: ..."). */
int orch_nf_config_check(enum orch_nf_type t, json_t *config, char *err, size_t errsz);

#endif
