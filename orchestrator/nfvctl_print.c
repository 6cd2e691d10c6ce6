/* nfvctl's output: failure messages, aligned tables and the fields of the server's JSON. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "orchestrator/nfvctl.h"

/* Report a failure ("nfvctl: ..." on stderr) and return CTL_EXIT_FAIL. */
int nfvctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("nfvctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_FAIL;
}

/* ---- Tables ---- */

void nfvctl_table_row(struct ctl_table *t, ...)
{
	char **grown = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(*grown));
	va_list ap;

	if (grown == NULL)
		return;
	t->cells = grown;
	va_start(ap, t);
	for (size_t c = 0; c < t->n_cols; c++) {
		const char *s = va_arg(ap, const char *);
		char *cell = strdup(s ? s : "-");

		t->cells[t->n_rows * t->n_cols + c] = cell;
		if (cell != NULL && strlen(cell) > t->widths[c])
			t->widths[c] = strlen(cell);
	}
	va_end(ap);
	t->n_rows++;
}

/* Print the table (the last column unpadded) and free it. */
void nfvctl_table_print(struct ctl_table *t)
{
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = t->cells[r * t->n_cols + c];

			if (c + 1 < t->n_cols)
				printf("%-*s  ", (int)t->widths[c], s ? s : "");
			else
				printf("%s\n", s ? s : "");
		}
	}
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
}

const char *nfvctl_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "-";
}

long long nfvctl_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "2024-05-01 12:00:00.123" (local time) of a wall-clock time in ms. */
void nfvctl_time(char *buf, size_t size, long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	if (ms <= 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03lld", s, ms % 1000);
}

/* ---- An NF ---- */

static void ctl_print_autoscale(json_t *as)
{
	if (!json_is_object(as)) {
		printf("autoscale:  off\n");
		return;
	}
	printf("autoscale:  min %lld, max %lld, out %.2f, in %.2f, cooldown %llds, window %llds\n",
	       nfvctl_int(as, "min"), nfvctl_int(as, "max"),
	       json_number_value(json_object_get(as, "scale_out_load")),
	       json_number_value(json_object_get(as, "scale_in_load")), nfvctl_int(as, "cooldown_s"),
	       nfvctl_int(as, "window_s"));
}

void nfvctl_print_spec(json_t *nf)
{
	json_t *spec = json_object_get(nf, "spec"), *st = json_object_get(nf, "status");
	char *config = json_dumps(json_object_get(spec, "config"), JSON_COMPACT);
	char created[40];

	nfvctl_time(created, sizeof(created), nfvctl_int(spec, "created_ms"));
	printf("name:       %s\n", nfvctl_str(spec, "name"));
	printf("type:       %s\n", nfvctl_str(spec, "type"));
	printf("status:     %s (%lld/%lld ready)\n", nfvctl_str(st, "state"), nfvctl_int(st, "ready"),
	       nfvctl_int(spec, "instances"));
	printf("instances:  %lld\n", nfvctl_int(spec, "instances"));
	ctl_print_autoscale(json_object_get(spec, "autoscale"));
	if (json_is_object(json_object_get(spec, "uplinks")))
		printf("uplinks:    %s (inside), %s (outside)\n",
		       nfvctl_str(json_object_get(spec, "uplinks"), "inside"),
		       nfvctl_str(json_object_get(spec, "uplinks"), "outside"));
	printf("config:     %s\n", config ? config : "{}");
	printf("created:    %s\n", created);
	free(config);
}

/* Heartbeat age: the server's heartbeat_age_ms, else computed from last_heartbeat_ms. */
static void ctl_hb_age(char *buf, size_t size, json_t *inst)
{
	json_t *age = json_object_get(inst, "heartbeat_age_ms");
	long long last = nfvctl_int(inst, "last_heartbeat_ms"), ms = -1;

	if (json_is_integer(age))
		ms = json_integer_value(age);
	else if (last > 0)
		ms = (long long)ctl_now_ms() - last;
	if (ms < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1fs", (double)ms / 1000.0);
}

void nfvctl_instance_row(struct ctl_table *t, json_t *in)
{
	char pid[24], ports[48], pps[32], busy[16], age[32];

	snprintf(pid, sizeof(pid), "%lld", nfvctl_int(in, "pid"));
	snprintf(ports, sizeof(ports), "%lld/%lld", nfvctl_int(in, "ofport_in"), nfvctl_int(in, "ofport_out"));
	snprintf(pps, sizeof(pps), "%.0f", json_number_value(json_object_get(in, "pps")));
	snprintf(busy, sizeof(busy), "%.2f", json_number_value(json_object_get(in, "busy")));
	ctl_hb_age(age, sizeof(age), in);
	nfvctl_table_row(t, nfvctl_str(in, "id"), nfvctl_str(in, "state"), pid, ports, pps, busy, age);
}
