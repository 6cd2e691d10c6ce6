/* Logging: one log type per module, levels, and rate-limited warnings for the fast path. */
#ifndef NF_LOG_H
#define NF_LOG_H

#include <stdint.h>
#include <stdio.h>

enum nf_log_level { NF_LOG_ERR = 0, NF_LOG_WARN, NF_LOG_INFO, NF_LOG_DEBUG };

extern enum nf_log_level nf_log_threshold;

void nf_log(enum nf_log_level lvl, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Token-bucket limiter: at most one message per 'interval_us' (state is per call site). */
struct nf_ratelimit {
	uint64_t last_us;
	uint64_t suppressed;
};
int nf_ratelimit_ok(struct nf_ratelimit *rl, uint64_t interval_us);

#define NF_LOG(lvl, mod, ...) nf_log(NF_LOG_##lvl, mod, __VA_ARGS__)

/* Log at most once a second from this call site; says how many were suppressed. */
#define NF_LOG_RL(lvl, mod, ...)                                              \
	do {                                                                  \
		static struct nf_ratelimit rl_;                               \
		if (nf_ratelimit_ok(&rl_, 1000000))                           \
			nf_log(NF_LOG_##lvl, mod, __VA_ARGS__);               \
	} while (0)

#endif
