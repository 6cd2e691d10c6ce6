/* JSON configuration helpers: loading, and checked values with messages naming the field. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "nf/cfgjson.h"

int cfgjson_err(char *err, size_t errsz, const char *field, const char *fmt, ...)
{
	int n = snprintf(err, errsz, "%s: ", field);
	va_list ap;

	if (n >= 0 && (size_t)n < errsz) {
		va_start(ap, fmt);
		vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int cfgjson_unknown(char *err, size_t errsz, const char *field, const char *known)
{
	return cfgjson_err(err, errsz, field, "unknown field (%s)", known);
}

bool cfgjson_int_in(const json_t *v, long long lo, long long hi)
{
	return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

int cfgjson_int(const json_t *v, const char *field, const struct cfgjson_range *r, long long *out,
		char *err, size_t errsz)
{
	if (!json_is_integer(v))
		return cfgjson_err(err, errsz, field, "%s",
				   r->not_int != NULL ? r->not_int : "must be an integer");
	*out = json_integer_value(v);
	if (*out >= r->lo && *out <= r->hi)
		return 0;
	if (r->outside != NULL)
		return cfgjson_err(err, errsz, field, "%s", r->outside);
	return cfgjson_err(err, errsz, field, "%lld is out of range %lld-%lld", *out, r->lo, r->hi);
}

int cfgjson_port(const json_t *v, const char *field, uint16_t *out, char *err, size_t errsz)
{
	long long n;

	if (!json_is_integer(v))
		return cfgjson_err(err, errsz, field, "must be an integer (1-65535)");
	n = json_integer_value(v);
	if (n < 1 || n > 65535)
		return cfgjson_err(err, errsz, field, "%lld is not a port", n);
	*out = (uint16_t)n;
	return 0;
}

/* The two ends of a port range in any of its forms into 'a' and 'b'. Returns false when 'v'
 * has none of them. */
static bool port_range_ends(const json_t *v, long long *a, long long *b)
{
	const char *s = json_string_value(v);
	char end;

	if (json_is_integer(v)) {
		*a = *b = json_integer_value(v);
	} else if (json_is_array(v) && json_array_size(v) == 2 &&
		   json_is_integer(json_array_get(v, 0)) && json_is_integer(json_array_get(v, 1))) {
		*a = json_integer_value(json_array_get(v, 0));
		*b = json_integer_value(json_array_get(v, 1));
	} else if (s != NULL && strcmp(s, "any") == 0) {
		*a = 0, *b = 65535;
	} else if (s != NULL && sscanf(s, "%lld-%lld%c", a, b, &end) == 2) {
	} else if (s != NULL && sscanf(s, "%lld%c", a, &end) == 1) {
		*b = *a;
	} else {
		return false;
	}
	return true;
}

int cfgjson_port_range(const json_t *v, const char *field, uint16_t *lo, uint16_t *span,
		       char *err, size_t errsz)
{
	long long a, b;

	if (!port_range_ends(v, &a, &b))
		return cfgjson_err(err, errsz, field,
				   "must be a port, \"LOW-HIGH\", [LOW, HIGH] or \"any\"");
	if (a < 0 || a > 65535)
		return cfgjson_err(err, errsz, field, "%lld is not a port", a);
	if (b < 0 || b > 65535)
		return cfgjson_err(err, errsz, field, "%lld is not a port", b);
	if (a > b)
		return cfgjson_err(err, errsz, field, "%lld-%lld: LOW is above HIGH", a, b);
	*lo = (uint16_t)a;
	*span = (uint16_t)(b - a);
	return 0;
}

int cfgjson_ipv4(const char *s, const char *field, uint32_t *addr, char *err, size_t errsz)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return cfgjson_err(err, errsz, field, "'%.64s' is not an IPv4 address", s);
	*addr = a.s_addr;
	return 0;
}

/* Returns 0, -EINVAL when 's' is no prefix, -EDOM when it has bits beyond its length. */
static int prefix_parse(const char *s, uint32_t *net, uint32_t *mask)
{
	char addr[INET_ADDRSTRLEN], end;
	unsigned len = 32;
	struct in_addr a;

	if (strcmp(s, "any") == 0) {
		*net = *mask = 0;
		return 0;
	}
	if (strchr(s, '/') == NULL) {
		if (sscanf(s, "%15[0-9.]%c", addr, &end) != 1)
			return -EINVAL;
	} else if (sscanf(s, "%15[0-9.]/%2u%c", addr, &len, &end) != 2) {
		return -EINVAL;
	}
	if (inet_pton(AF_INET, addr, &a) != 1 || len > 32)
		return -EINVAL;
	*mask = len == 0 ? 0 : ~0u << (32 - len);
	*net = ntohl(a.s_addr);
	return (*net & ~*mask) ? -EDOM : 0;
}

int cfgjson_prefix(const char *s, const char *field, uint32_t *net, uint32_t *mask, char *err,
		   size_t errsz)
{
	int rc = prefix_parse(s, net, mask);

	if (rc == -EDOM)
		return cfgjson_err(err, errsz, field,
				   "'%s' has address bits set beyond its prefix length", s);
	if (rc != 0)
		return cfgjson_err(err, errsz, field, "'%s' is not an IPv4 prefix A.B.C.D/LEN", s);
	return 0;
}

int cfgjson_set_u32(void *base, const struct cfgjson_u32_field *fields, size_t n_fields,
		    const char *name, uint32_t value)
{
	for (size_t i = 0; i < n_fields; i++) {
		if (strcmp(name, fields[i].name) == 0) {
			*(uint32_t *)((char *)base + fields[i].off) = value;
			return 0;
		}
	}
	return -ENOENT;
}

/* "FIELD: unknown timeout (NAME, ...)" naming every one of 'fields'. */
static int unknown_timeout(const char *field, const struct cfgjson_u32_field *fields,
			   size_t n_fields, char *err, size_t errsz)
{
	char names[256] = "";
	size_t len = 0;

	for (size_t i = 0; i < n_fields && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
					fields[i].name);
	return cfgjson_err(err, errsz, field, "unknown timeout (%s)", names);
}

int cfgjson_timeouts(const json_t *v, const struct cfgjson_range *r, void *base,
		     const struct cfgjson_u32_field *fields, size_t n_fields, char *err,
		     size_t errsz)
{
	char field[128];
	const char *k;
	long long secs;
	json_t *e;

	if (!json_is_object(v))
		return cfgjson_err(err, errsz, "timeouts", "must be an object");
	json_object_foreach((json_t *)v, k, e) {
		snprintf(field, sizeof(field), "timeouts.%s", k);
		if (cfgjson_int(e, field, r, &secs, err, errsz) != 0)
			return -EINVAL;
		if (cfgjson_set_u32(base, fields, n_fields, k, (uint32_t)secs) != 0)
			return unknown_timeout(field, fields, n_fields, err, errsz);
	}
	return 0;
}

json_t *cfgjson_parse(const char *text, size_t len, const char *where, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (root == NULL)
		snprintf(err, errsz, "%s%sline %d column %d: %s", where != NULL ? where : "",
			 where != NULL ? ": " : "", jerr.line, jerr.column, jerr.text);
	return root;
}

static int apply_object(json_t *root, cfgjson_apply_fn *apply, void *ctx, char *err, size_t errsz)
{
	if (!json_is_object(root))
		return cfgjson_err(err, errsz, "config", "must be a JSON object");
	return apply(ctx, root, err, errsz);
}

int cfgjson_load_string(const char *json, cfgjson_apply_fn *apply, void *ctx, char *err,
			size_t errsz)
{
	json_t *root = cfgjson_parse(json, strlen(json), "config", err, errsz);
	int rc;

	if (root == NULL)
		return -EINVAL;
	rc = apply_object(root, apply, ctx, err, errsz);
	json_decref(root);
	return rc;
}

int cfgjson_load_file(const char *path, cfgjson_apply_fn *apply, void *ctx, char *err,
		      size_t errsz)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char where[512];
	int rc;

	if (root == NULL) {
		snprintf(err, errsz, "%s: line %d column %d: %s", path, jerr.line, jerr.column,
			 jerr.text);
		return -EINVAL;
	}
	rc = apply_object(root, apply, ctx, where, sizeof(where));
	if (rc != 0)
		snprintf(err, errsz, "%s: %s", path, where);
	json_decref(root);
	return rc;
}
