/* The Lua scripts of datastore/lua/, as embedded by the Makefile into build/gen/lua_scripts.c. */
#include "datastore/scripts.h"

/* Defined in the generated build/gen/lua_scripts.c (one pair per datastore/lua/<name>.lua). */
extern const unsigned char lua_nat_alloc[];
extern const unsigned long lua_nat_alloc_size;
extern const unsigned char lua_nat_update[];
extern const unsigned long lua_nat_update_size;
extern const unsigned char lua_nat_touch[];
extern const unsigned long lua_nat_touch_size;

struct script_src {
	const char *name;
	const unsigned char *text;
	const unsigned long *size;
};

static const struct script_src scripts[SCRIPT__COUNT] = {
	[SCRIPT_NAT_ALLOC] = { "nat_alloc.lua", lua_nat_alloc, &lua_nat_alloc_size },
	[SCRIPT_NAT_UPDATE] = { "nat_update.lua", lua_nat_update, &lua_nat_update_size },
	[SCRIPT_NAT_TOUCH] = { "nat_touch.lua", lua_nat_touch, &lua_nat_touch_size },
};

/* The text is static and owned by the binary; NULL (and '*size' 0) for an unknown 'id'. */
const char *store_script_text(enum store_script id, size_t *size)
{
	if ((unsigned)id >= SCRIPT__COUNT) {
		if (size)
			*size = 0;
		return NULL;
	}
	if (size)
		*size = *scripts[id].size;
	return (const char *)scripts[id].text;
}

/* Static string; "?" for an unknown 'id'. */
const char *store_script_name(enum store_script id)
{
	if ((unsigned)id >= SCRIPT__COUNT)
		return "?";
	return scripts[id].name;
}
