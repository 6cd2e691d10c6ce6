/* nfvctl's shared interface: options, responses, the HTTP client (nfvctl_http.c) and printing (nfvctl_print.c). */
#ifndef ORCH_NFVCTL_H
#define ORCH_NFVCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CTL_EXIT_FAIL 1		/* the call failed: the server's message is printed */
#define CTL_EXIT_USAGE 2
#define CTL_MAX_COLS 8

struct ctl_opts {
	const char *url;
	const char *token;
	bool json;
	const char *name, *config, *autoscale, *instances, *max;	/* command options */
	const char *uplinks;		/* launch --uplinks IN,OUT */
};

/* A response: HTTP status and the body (malloc'd, NUL-terminated). */
struct ctl_resp {
	long status;
	char *body;
	size_t len;
};

struct ctl_table {
	size_t n_cols, n_rows;
	char **cells;		/* n_rows * n_cols strings */
	size_t widths[CTL_MAX_COLS];
};

/* ---- HTTP (nfvctl_http.c) ---- */

/* One call: 'method' on base URL + 'path' with an optional JSON 'body'. Returns 0 with
 * '*resp' filled (the caller frees resp->body), or CTL_EXIT_FAIL when the server cannot be
 * reached (reported here). */
int nfvctl_call(const struct ctl_opts *o, const char *method, const char *path,
		const char *body, struct ctl_resp *resp);

/* Print the server's error message ({"error": {"message"}}, else the raw body). */
int nfvctl_server_error(const struct ctl_resp *resp);

/* A call whose success is a 2xx with a JSON body: printed as it is with --json, parsed
 * into '*out' when 'out' is not NULL. Errors are reported; returns an exit status. */
int nfvctl_request(const struct ctl_opts *o, const char *method, const char *path,
		   const char *body, json_t **out);

/* "/v1/nfs/<escaped name><suffix>" into 'buf'. */
void nfvctl_nf_path(char *buf, size_t size, const char *name, const char *suffix);

/* ---- Printing (nfvctl_print.c) ---- */

/* Report a failure ("nfvctl: ..." on stderr) and return CTL_EXIT_FAIL. */
int nfvctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Add a row of 't->n_cols' strings (NULL prints as "-"); the table copies them. */
void nfvctl_table_row(struct ctl_table *t, ...);

/* Print the table (the last column unpadded) and free it. */
void nfvctl_table_print(struct ctl_table *t);

/* The string member 'key' of 'obj', or "-". */
const char *nfvctl_str(json_t *obj, const char *key);

/* The integer member 'key' of 'obj', or 0. */
long long nfvctl_int(json_t *obj, const char *key);

/* "2024-05-01 12:00:00.123" (local time) of a wall-clock time in ms. */
void nfvctl_time(char *buf, size_t size, long long ms);

/* Print an NF's spec and status, one "key: value" line each. */
void nfvctl_print_spec(json_t *nf);

/* Add instance 'in' to a table of ID STATE PID PORTS PPS BUSY HEARTBEAT-AGE. */
void nfvctl_instance_row(struct ctl_table *t, json_t *in);

#endif
