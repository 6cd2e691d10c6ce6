/* JSON configuration helpers shared by the NFs: loading, and values checked with messages
 * that name the field ("FIELD: WHAT", from a file "PATH: FIELD: WHAT"). */
#ifndef NF_CFGJSON_H
#define NF_CFGJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Every function that takes 'err' (of 'errsz' bytes) writes the reason there when it fails,
 * and returns 0 or -EINVAL (NULL for cfgjson_parse). */

/* "FIELD: " and printf 'fmt' into 'err'. Returns -EINVAL. */
int cfgjson_err(char *err, size_t errsz, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "FIELD: unknown field (KNOWN)", 'known' listing the accepted names. Returns -EINVAL. */
int cfgjson_unknown(char *err, size_t errsz, const char *field, const char *known);

/* The integers a setting accepts, and what to say about a value that is not one of them. */
struct cfgjson_range {
	long long lo, hi;
	const char *not_int;	/* for a non-integer; NULL: "must be an integer" */
	const char *outside;	/* for an integer outside; NULL: "N is out of range LO-HI" */
};

/* Whether 'v' is an integer in ['lo', 'hi']. */
bool cfgjson_int_in(const json_t *v, long long lo, long long hi);

/* The integer 'v' (named 'field') within 'r' into '*out'. */
int cfgjson_int(const json_t *v, const char *field, const struct cfgjson_range *r, long long *out,
		char *err, size_t errsz);

/* A port 1-65535 into '*out' (host order). */
int cfgjson_port(const json_t *v, const char *field, uint16_t *out, char *err, size_t errsz);

/* A port range given as N, "N", "LOW-HIGH", "any" (0-65535) or [LOW, HIGH], into '*lo' and
 * '*span' (HIGH - LOW). */
int cfgjson_port_range(const json_t *v, const char *field, uint16_t *lo, uint16_t *span,
		       char *err, size_t errsz);

/* The dotted quad 's' into '*addr' (network order). */
int cfgjson_ipv4(const char *s, const char *field, uint32_t *addr, char *err, size_t errsz);

/* The prefix 's' ("A.B.C.D/LEN", "A.B.C.D" for /32, or "any") into '*net' and '*mask'
 * (host order); address bits beyond the length are an error. */
int cfgjson_prefix(const char *s, const char *field, uint32_t *net, uint32_t *mask, char *err,
		   size_t errsz);

/* A uint32_t member of a struct, by name: 'off' is its offsetof(). */
struct cfgjson_u32_field {
	const char *name;
	size_t off;
};

/* Set the member named 'name' of the struct at 'base' to 'value'. Returns 0, or -ENOENT
 * when none of the 'n_fields' 'fields' has that name. */
int cfgjson_set_u32(void *base, const struct cfgjson_u32_field *fields, size_t n_fields,
		    const char *name, uint32_t value);

/* The "timeouts" object 'v' of NAME: SECONDS, each value within 'r', into the members
 * 'fields' of 'base' (a name not among them: "unknown timeout (NAME, ...)"). */
int cfgjson_timeouts(const json_t *v, const struct cfgjson_range *r, void *base,
		     const struct cfgjson_u32_field *fields, size_t n_fields, char *err,
		     size_t errsz);

/* Parse the 'len' bytes of JSON at 'text', rejecting duplicate keys. A syntax error is
 * "WHERE: line L column C: TEXT" ('where' NULL: without "WHERE: "). The caller owns the
 * result (json_decref). */
json_t *cfgjson_parse(const char *text, size_t len, const char *where, char *err, size_t errsz);

/* Apply the configuration object 'root' to 'ctx' (an NF's config and how to read it). */
typedef int cfgjson_apply_fn(void *ctx, json_t *root, char *err, size_t errsz);

/* Parse 'json' and apply it: "config: line L column C: TEXT" for a syntax error, "config:
 * must be a JSON object" when it is not an object, else what 'apply' says. */
int cfgjson_load_string(const char *json, cfgjson_apply_fn *apply, void *ctx, char *err,
			size_t errsz);

/* The same for the file 'path', its messages starting with "PATH: " instead ("PATH: line L
 * column C: TEXT", "PATH: config: must be a JSON object", "PATH: FIELD: WHAT"). */
int cfgjson_load_file(const char *path, cfgjson_apply_fn *apply, void *ctx, char *err,
		      size_t errsz);

#endif
