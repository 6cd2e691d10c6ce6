/* Readable names for OpenFlow 1.3 message types and error types and codes. */
#ifndef ORCH_OFP_NAMES_H
#define ORCH_OFP_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "orchestrator/ofp_msg.h"

/* "OFPT_FLOW_MOD", or NULL for an unknown type. */
const char *ofp_type_name(uint8_t type);
/* "OFPET_BAD_MATCH", or NULL. */
const char *ofp_error_type_name(uint16_t type);
/* "OFPBMC_BAD_FIELD", or NULL for an unknown type or code. */
const char *ofp_error_code_name(uint16_t type, uint16_t code);
/* One line for a log: "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ for OFPT_FLOW_MOD xid 0x7";
 * unknown values print as numbers, experimenter errors with their experimenter id. */
void ofp_error_format(const struct ofp_error *err, char *buf, size_t size);

#endif
