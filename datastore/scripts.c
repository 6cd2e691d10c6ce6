/* The Lua scripts of datastore/lua/, as embedded by the Makefile into build/gen/lua_scripts.c. */
#include <string.h>

#include "datastore/scripts.h"

/* Defined in the generated build/gen/lua_scripts.c: one entry per datastore/lua/<name>.lua. */
struct lua_blob {
	const char *name;
	const unsigned char *text;
	unsigned long size;
};
extern const struct lua_blob lua_blobs[];
extern const unsigned n_lua_blobs;

/* File name of each script; a name without a file is caught by
 * store_script_text (NULL), which tests/unit/test_store.c checks for every id. */
static const char *const script_names[SCRIPT__COUNT] = {
	[SCRIPT_NAT_ALLOC] = "nat_alloc.lua",
	[SCRIPT_NAT_UPDATE] = "nat_update.lua",
	[SCRIPT_NAT_TOUCH] = "nat_touch.lua",
	[SCRIPT_FW_UPDATE] = "fw_update.lua",
	[SCRIPT_FW_TOUCH] = "fw_touch.lua",
	[SCRIPT_FW_RULES_SET] = "fw_rules_set.lua",
	[SCRIPT_LB_CREATE] = "lb_create.lua",
	[SCRIPT_LB_TOUCH] = "lb_touch.lua",
	[SCRIPT_LB_POOL_PUSH] = "lb_pool_push.lua",
};

static const struct lua_blob *script_blob(enum store_script id)
{
	if ((unsigned)id >= SCRIPT__COUNT || script_names[id] == NULL)
		return NULL;
	for (unsigned i = 0; i < n_lua_blobs; i++)
		if (strcmp(lua_blobs[i].name, script_names[id]) == 0)
			return &lua_blobs[i];
	return NULL;
}

/* The text is static and owned by the binary; NULL (and '*size' 0) for an unknown 'id'. */
const char *store_script_text(enum store_script id, size_t *size)
{
	const struct lua_blob *b = script_blob(id);

	if (size)
		*size = b != NULL ? b->size : 0;
	return b != NULL ? (const char *)b->text : NULL;
}

/* Static string; "?" for an unknown 'id'. */
const char *store_script_name(enum store_script id)
{
	if ((unsigned)id >= SCRIPT__COUNT || script_names[id] == NULL)
		return "?";
	return script_names[id];
}
