/*
 * outcome.c — an attempt's result -> the delivery's status move, with
 * exponential backoff and jitter.  Pure; the sender's loop thread calls it.
 */
#include "outcome.h"

const char *const outcome_move_names[4] = { "sent", "delivered", "retry", "failed" };

int64_t outcome_backoff_ms(const struct outcome_policy *p, int attempt, uint32_t rnd)
{
	int64_t d = p->retry_initial_ms > 0 ? p->retry_initial_ms : 1;

	for (int i = 1; i < attempt && d < p->retry_max_ms; i++)
		d *= 2;
	if (d > p->retry_max_ms)
		d = p->retry_max_ms;
	return d - d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
}

void outcome_decide(const struct outcome_policy *p, const struct tr_result *r, int attempt,
		    double age_s, int64_t now_us, uint32_t rnd, struct outcome *o)
{
	int64_t wait_ms;

	o->reason = DR_REJECTED;
	o->next_us = 0;
	switch (r->cls) {
	case TR_OK:
		o->move = p->accept_means_delivered ? OM_DELIVERED : OM_SENT;
		return;
	case TR_FAIL:
		o->move = OM_FAILED;
		return;
	case TR_RETRY:
		break;
	}
	wait_ms = outcome_backoff_ms(p, attempt, rnd);
	if (r->retry_after_s > 0 && (int64_t)r->retry_after_s * 1000 > wait_ms)
		wait_ms = (int64_t)r->retry_after_s * 1000;
	if (attempt >= p->max_attempts || age_s + (double)wait_ms / 1000.0 > (double)p->max_age_s) {
		o->move = OM_FAILED;
		o->reason = DR_RETRIES_EXHAUSTED;
		return;
	}
	o->move = OM_RETRY;
	o->next_us = now_us + wait_ms * 1000;
}
