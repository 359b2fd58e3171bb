/*
 * outcome.h — what one attempt's result means for its delivery (SPEC
 * section 7, "Outcome"): sent or delivered, another attempt and when, or
 * failed and why.  Pure: the caller passes the time and the randomness.
 */
#ifndef LEO_OUTCOME_H
#define LEO_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

#include "deliver_metrics.h"
#include "transport.h"

struct outcome_policy {
	int retry_initial_ms;
	int retry_max_ms;
	int max_attempts;
	int max_age_s;
	bool accept_means_delivered;
};

enum outcome_move { OM_SENT, OM_DELIVERED, OM_RETRY, OM_FAILED };
extern const char *const outcome_move_names[4];	/* leo_deliver_record's p_outcome */

struct outcome {
	enum outcome_move move;
	enum deliver_reason reason;	/* OM_FAILED only */
	int64_t next_us;		/* OM_RETRY only: when the next attempt is due */
};

/*
 * The wait before the attempt after attempt number `attempt` (1-based):
 * retry_initial_ms doubled per attempt, capped at retry_max_ms, then
 * "equal jitter" (half fixed, half drawn from rnd), so that senders that
 * failed together do not retry together.  Milliseconds.
 */
int64_t outcome_backoff_ms(const struct outcome_policy *p, int attempt, uint32_t rnd);

/*
 * Decide for result r of attempt `attempt` of a delivery created age_s
 * seconds ago, at now_us.  A retryable result becomes OM_RETRY after the
 * backoff (or Retry-After, when longer), unless that was the last attempt
 * or the next one would come after max_age_s: then OM_FAILED with
 * DR_RETRIES_EXHAUSTED.  Any other failure is OM_FAILED, DR_REJECTED.
 */
void outcome_decide(const struct outcome_policy *p, const struct tr_result *r, int attempt,
		    double age_s, int64_t now_us, uint32_t rnd, struct outcome *o);

#endif
