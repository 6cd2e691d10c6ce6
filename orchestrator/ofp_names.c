/* Readable names for OpenFlow 1.3 message types and error types and codes. */
#include <stdio.h>

#include "orchestrator/ofp_names.h"
#include "orchestrator/ofp_proto.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const type_names[] = {
	"OFPT_HELLO", "OFPT_ERROR", "OFPT_ECHO_REQUEST", "OFPT_ECHO_REPLY",
	"OFPT_EXPERIMENTER", "OFPT_FEATURES_REQUEST", "OFPT_FEATURES_REPLY",
	"OFPT_GET_CONFIG_REQUEST", "OFPT_GET_CONFIG_REPLY", "OFPT_SET_CONFIG",
	"OFPT_PACKET_IN", "OFPT_FLOW_REMOVED", "OFPT_PORT_STATUS", "OFPT_PACKET_OUT",
	"OFPT_FLOW_MOD", "OFPT_GROUP_MOD", "OFPT_PORT_MOD", "OFPT_TABLE_MOD",
	"OFPT_MULTIPART_REQUEST", "OFPT_MULTIPART_REPLY", "OFPT_BARRIER_REQUEST",
	"OFPT_BARRIER_REPLY", "OFPT_QUEUE_GET_CONFIG_REQUEST", "OFPT_QUEUE_GET_CONFIG_REPLY",
	"OFPT_ROLE_REQUEST", "OFPT_ROLE_REPLY", "OFPT_GET_ASYNC_REQUEST", "OFPT_GET_ASYNC_REPLY",
	"OFPT_SET_ASYNC", "OFPT_METER_MOD",
};

static const char *const hello_failed[] = { "OFPHFC_INCOMPATIBLE", "OFPHFC_EPERM" };
static const char *const bad_request[] = {
	"OFPBRC_BAD_VERSION", "OFPBRC_BAD_TYPE", "OFPBRC_BAD_MULTIPART", "OFPBRC_BAD_EXPERIMENTER",
	"OFPBRC_BAD_EXP_TYPE", "OFPBRC_EPERM", "OFPBRC_BAD_LEN", "OFPBRC_BUFFER_EMPTY",
	"OFPBRC_BUFFER_UNKNOWN", "OFPBRC_BAD_TABLE_ID", "OFPBRC_IS_SLAVE", "OFPBRC_BAD_PORT",
	"OFPBRC_BAD_PACKET", "OFPBRC_MULTIPART_BUFFER_OVERFLOW",
};
static const char *const bad_action[] = {
	"OFPBAC_BAD_TYPE", "OFPBAC_BAD_LEN", "OFPBAC_BAD_EXPERIMENTER", "OFPBAC_BAD_EXP_TYPE",
	"OFPBAC_BAD_OUT_PORT", "OFPBAC_BAD_ARGUMENT", "OFPBAC_EPERM", "OFPBAC_TOO_MANY",
	"OFPBAC_BAD_QUEUE", "OFPBAC_BAD_OUT_GROUP", "OFPBAC_MATCH_INCONSISTENT",
	"OFPBAC_UNSUPPORTED_ORDER", "OFPBAC_BAD_TAG", "OFPBAC_BAD_SET_TYPE", "OFPBAC_BAD_SET_LEN",
	"OFPBAC_BAD_SET_ARGUMENT",
};
static const char *const bad_instruction[] = {
	"OFPBIC_UNKNOWN_INST", "OFPBIC_UNSUP_INST", "OFPBIC_BAD_TABLE_ID",
	"OFPBIC_UNSUP_METADATA", "OFPBIC_UNSUP_METADATA_MASK", "OFPBIC_BAD_EXPERIMENTER",
	"OFPBIC_BAD_EXP_TYPE", "OFPBIC_BAD_LEN", "OFPBIC_EPERM",
};
static const char *const bad_match[] = {
	"OFPBMC_BAD_TYPE", "OFPBMC_BAD_LEN", "OFPBMC_BAD_TAG", "OFPBMC_BAD_DL_ADDR_MASK",
	"OFPBMC_BAD_NW_ADDR_MASK", "OFPBMC_BAD_WILDCARDS", "OFPBMC_BAD_FIELD", "OFPBMC_BAD_VALUE",
	"OFPBMC_BAD_MASK", "OFPBMC_BAD_PREREQ", "OFPBMC_DUP_FIELD", "OFPBMC_EPERM",
};
static const char *const flow_mod_failed[] = {
	"OFPFMFC_UNKNOWN", "OFPFMFC_TABLE_FULL", "OFPFMFC_BAD_TABLE_ID", "OFPFMFC_OVERLAP",
	"OFPFMFC_EPERM", "OFPFMFC_BAD_TIMEOUT", "OFPFMFC_BAD_COMMAND", "OFPFMFC_BAD_FLAGS",
};
static const char *const group_mod_failed[] = {
	"OFPGMFC_GROUP_EXISTS", "OFPGMFC_INVALID_GROUP", "OFPGMFC_WEIGHT_UNSUPPORTED",
	"OFPGMFC_OUT_OF_GROUPS", "OFPGMFC_OUT_OF_BUCKETS", "OFPGMFC_CHAINING_UNSUPPORTED",
	"OFPGMFC_WATCH_UNSUPPORTED", "OFPGMFC_LOOP", "OFPGMFC_UNKNOWN_GROUP",
	"OFPGMFC_CHAINED_GROUP", "OFPGMFC_BAD_TYPE", "OFPGMFC_BAD_COMMAND", "OFPGMFC_BAD_BUCKET",
	"OFPGMFC_BAD_WATCH", "OFPGMFC_EPERM",
};
static const char *const port_mod_failed[] = {
	"OFPPMFC_BAD_PORT", "OFPPMFC_BAD_HW_ADDR", "OFPPMFC_BAD_CONFIG", "OFPPMFC_BAD_ADVERTISE",
	"OFPPMFC_EPERM",
};
static const char *const table_mod_failed[] = {
	"OFPTMFC_BAD_TABLE", "OFPTMFC_BAD_CONFIG", "OFPTMFC_EPERM",
};
static const char *const queue_op_failed[] = {
	"OFPQOFC_BAD_PORT", "OFPQOFC_BAD_QUEUE", "OFPQOFC_EPERM",
};
static const char *const switch_config_failed[] = {
	"OFPSCFC_BAD_FLAGS", "OFPSCFC_BAD_LEN", "OFPSCFC_EPERM",
};
static const char *const role_request_failed[] = {
	"OFPRRFC_STALE", "OFPRRFC_UNSUP", "OFPRRFC_BAD_ROLE",
};
static const char *const meter_mod_failed[] = {
	"OFPMMFC_UNKNOWN", "OFPMMFC_METER_EXISTS", "OFPMMFC_INVALID_METER",
	"OFPMMFC_UNKNOWN_METER", "OFPMMFC_BAD_COMMAND", "OFPMMFC_BAD_FLAGS", "OFPMMFC_BAD_RATE",
	"OFPMMFC_BAD_BURST", "OFPMMFC_BAD_BAND", "OFPMMFC_BAD_BAND_VALUE",
	"OFPMMFC_OUT_OF_METERS", "OFPMMFC_OUT_OF_BANDS",
};
static const char *const table_features_failed[] = {
	"OFPTFFC_BAD_TABLE", "OFPTFFC_BAD_METADATA", "OFPTFFC_BAD_TYPE", "OFPTFFC_BAD_LEN",
	"OFPTFFC_BAD_ARGUMENT", "OFPTFFC_EPERM",
};

/* Error types 0..13 in order: the type's name and its codes. */
static const struct {
	const char *name;
	const char *const *codes;
	size_t n_codes;
} error_types[] = {
#define ET(name, codes) { name, codes, N_ELEMS(codes) }
	ET("OFPET_HELLO_FAILED", hello_failed),
	ET("OFPET_BAD_REQUEST", bad_request),
	ET("OFPET_BAD_ACTION", bad_action),
	ET("OFPET_BAD_INSTRUCTION", bad_instruction),
	ET("OFPET_BAD_MATCH", bad_match),
	ET("OFPET_FLOW_MOD_FAILED", flow_mod_failed),
	ET("OFPET_GROUP_MOD_FAILED", group_mod_failed),
	ET("OFPET_PORT_MOD_FAILED", port_mod_failed),
	ET("OFPET_TABLE_MOD_FAILED", table_mod_failed),
	ET("OFPET_QUEUE_OP_FAILED", queue_op_failed),
	ET("OFPET_SWITCH_CONFIG_FAILED", switch_config_failed),
	ET("OFPET_ROLE_REQUEST_FAILED", role_request_failed),
	ET("OFPET_METER_MOD_FAILED", meter_mod_failed),
	ET("OFPET_TABLE_FEATURES_FAILED", table_features_failed),
#undef ET
};

const char *ofp_type_name(uint8_t type)
{
	return type < N_ELEMS(type_names) ? type_names[type] : NULL;
}

const char *ofp_error_type_name(uint16_t type)
{
	if (type == OFPET_EXPERIMENTER)
		return "OFPET_EXPERIMENTER";
	return type < N_ELEMS(error_types) ? error_types[type].name : NULL;
}

const char *ofp_error_code_name(uint16_t type, uint16_t code)
{
	if (type >= N_ELEMS(error_types) || code >= error_types[type].n_codes)
		return NULL;
	return error_types[type].codes[code];
}

/* The known experimenters whose errors OVS sends. */
static const char *experimenter_name(uint32_t id)
{
	switch (id) {
	case 0x00002320:
		return "Nicira";
	case 0x4f4e4600:
		return "ONF";
	default:
		return "unknown experimenter";
	}
}

void ofp_error_format(const struct ofp_error *err, char *buf, size_t size)
{
	const char *tname = ofp_error_type_name(err->type);
	const char *cname = ofp_error_code_name(err->type, err->code);
	const char *rname = err->failed_type >= 0 ? ofp_type_name(err->failed_type) : NULL;
	char type[32], code[64];

	if (tname)
		snprintf(type, sizeof(type), "%s", tname);
	else
		snprintf(type, sizeof(type), "type %u", err->type);
	if (err->type == OFPET_EXPERIMENTER)
		snprintf(code, sizeof(code), "exp_type %u of 0x%08x (%s)", err->code,
			 err->experimenter, experimenter_name(err->experimenter));
	else if (cname)
		snprintf(code, sizeof(code), "%s", cname);
	else
		snprintf(code, sizeof(code), "code %u", err->code);
	snprintf(buf, size, "%s/%s for %s xid 0x%x", type, code, rname ? rname : "request", err->xid);
}
