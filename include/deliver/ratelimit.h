/*
 * ratelimit.h — a channel's rate_per_second (SPEC section 7) as a token
 * bucket: one token per message, refilled at rate per second, holding at
 * most one second's worth, so a quiet channel may send one second's
 * messages at once and never more.  Pure: the caller passes the time.
 */
#ifndef LEO_RATELIMIT_H
#define LEO_RATELIMIT_H

#include <stdint.h>

struct ratelimit {
	int rate;		/* per second; 0: unlimited */
	double tokens;
	int64_t last_us;
};

void ratelimit_init(struct ratelimit *rl, int rate, int64_t now_us);

/* Take up to want tokens at now_us; returns how many were taken. */
int ratelimit_take(struct ratelimit *rl, int want, int64_t now_us);

/* Give back n tokens taken and not used. */
void ratelimit_give(struct ratelimit *rl, int n);

/* Microseconds from now_us until a token is there (0: one is). */
int64_t ratelimit_wait_us(const struct ratelimit *rl, int64_t now_us);

#endif
