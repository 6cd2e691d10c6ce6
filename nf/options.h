/* Parsing of the options every NF takes after '--' (and the NF's own through its nf_def). */
#ifndef NF_OPTIONS_H
#define NF_OPTIONS_H

#include "nf/nf.h"

/* Parse 'argc'/'argv' (argv[0] is the program name) into 'opts' (defaults filled first),
 * passing the NF's own options to def->option(nf, ...). Returns 0, 1 when --help was
 * printed, or -EINVAL with a message naming the option in 'err'. */
int nf_options_parse(int argc, char **argv, const struct nf_def *def, void *nf,
		     struct nf_opts *opts, char *err, size_t errsz);

void nf_options_usage(FILE *f, const char *prog, const struct nf_def *def);

#endif
