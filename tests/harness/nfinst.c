/* Test harness: options of NF instances run in the test process. */
#include <stdio.h>
#include <string.h>

#include "tests/harness/nfinst.h"

void nfinst_opts(struct nf_opts *o, const char *ns, enum nf_mode mode,
		 const struct redis_server *rs)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "test");
	snprintf(o->ns, sizeof(o->ns), "%s", ns);
	o->mode = mode;
	o->cache_entries = 4096;
	if (mode != NF_MODE_LOCAL)
		redis_server_store_cfg(rs, 0, &o->store);
	o->store.tracking = mode == NF_MODE_CACHED;
}
