/* Logging to stderr with a timestamp, level and module name. */
#include <stdarg.h>
#include <time.h>

#include "nf/clock.h"
#include "nf/log.h"

enum nf_log_level nf_log_threshold = NF_LOG_INFO;

static const char *const level_names[] = { "ERR", "WARN", "INFO", "DEBUG" };

void nf_log(enum nf_log_level lvl, const char *module, const char *fmt, ...)
{
	struct timespec ts;
	char line[1024];
	va_list ap;

	if (lvl > nf_log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%ld.%03ld %s %s: %s\n", (long)ts.tv_sec, ts.tv_nsec / 1000000,
		level_names[lvl], module, line);
}

int nf_ratelimit_ok(struct nf_ratelimit *rl, uint64_t interval_us)
{
	uint64_t now = nf_now_us();

	if (rl->last_us != 0 && now - rl->last_us < interval_us) {
		rl->suppressed++;
		return 0;
	}
	rl->last_us = now;
	rl->suppressed = 0;
	return 1;
}
