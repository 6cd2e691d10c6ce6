/* The Lua scripts of datastore/lua/, embedded in the binary and loaded on every connect. */
#ifndef DATASTORE_SCRIPTS_H
#define DATASTORE_SCRIPTS_H

#include <stddef.h>

enum store_script {
	SCRIPT_NAT_ALLOC,	/* datastore/lua/nat_alloc.lua */
	SCRIPT_NAT_UPDATE,	/* datastore/lua/nat_update.lua */
	SCRIPT_NAT_TOUCH,	/* datastore/lua/nat_touch.lua */
	SCRIPT_FW_UPDATE,	/* datastore/lua/fw_update.lua */
	SCRIPT_FW_TOUCH,	/* datastore/lua/fw_touch.lua */
	SCRIPT_FW_RULES_SET,	/* datastore/lua/fw_rules_set.lua */
	SCRIPT_LB_CREATE,	/* datastore/lua/lb_create.lua */
	SCRIPT_LB_TOUCH,	/* datastore/lua/lb_touch.lua */
	SCRIPT_LB_POOL_PUSH,	/* datastore/lua/lb_pool_push.lua */
	SCRIPT__COUNT
};

/* Source text and length of script 'id' (not NUL-terminated). */
const char *store_script_text(enum store_script id, size_t *size);

/* File name of script 'id', e.g. "nat_alloc.lua". */
const char *store_script_name(enum store_script id);

#endif
