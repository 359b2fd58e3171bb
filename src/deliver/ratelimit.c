/*
 * ratelimit.c — a token bucket per channel (ratelimit.h).  Pure.
 */
#include "ratelimit.h"

static void ratelimit_refill(struct ratelimit *rl, int64_t now_us)
{
	if (now_us > rl->last_us) {
		rl->tokens += (double)(now_us - rl->last_us) * rl->rate / 1e6;
		if (rl->tokens > rl->rate)
			rl->tokens = rl->rate;
		rl->last_us = now_us;
	}
}

void ratelimit_init(struct ratelimit *rl, int rate, int64_t now_us)
{
	rl->rate = rate > 0 ? rate : 0;
	rl->tokens = rl->rate;
	rl->last_us = now_us;
}

int ratelimit_take(struct ratelimit *rl, int want, int64_t now_us)
{
	int n;

	if (want <= 0)
		return 0;
	if (!rl->rate)
		return want;
	ratelimit_refill(rl, now_us);
	n = (int)rl->tokens;
	if (n > want)
		n = want;
	rl->tokens -= n;
	return n;
}

void ratelimit_give(struct ratelimit *rl, int n)
{
	if (rl->rate && n > 0) {
		rl->tokens += n;
		if (rl->tokens > rl->rate)
			rl->tokens = rl->rate;
	}
}

int64_t ratelimit_wait_us(const struct ratelimit *rl, int64_t now_us)
{
	struct ratelimit r = *rl;

	if (!r.rate)
		return 0;
	ratelimit_refill(&r, now_us);
	if (r.tokens >= 1)
		return 0;
	return (int64_t)((1 - r.tokens) * 1e6 / r.rate) + 1;
}
