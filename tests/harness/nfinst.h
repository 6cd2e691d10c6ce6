/* Test harness: NF instances run in the test process (no EAL), configured as the runtime
 * would configure them. */
#ifndef TESTS_HARNESS_NFINST_H
#define TESTS_HARNESS_NFINST_H

#include "nf/nf.h"
#include "tests/harness/redis_server.h"

/* 'o' as nf_options_parse() would leave it for instance "test" in namespace 'ns' in 'mode',
 * with a 4096-entry flow cache and two ports; its store is 'rs' (over TCP) unless the mode
 * is local. */
void nfinst_opts(struct nf_opts *o, const char *ns, enum nf_mode mode,
		 const struct redis_server *rs);

#endif
