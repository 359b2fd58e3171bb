/*
 * deliver_metrics.h — leo-deliver's metrics (SPEC section 7), registered
 * with the core registry (metrics.h) at start-up, updated from any thread.
 *
 * Series are per channel (deliver_cfg.h's enum deliver_channel_id) and, for
 * failures, per reason; the functions below name them so callers never
 * compute an id.
 */
#ifndef LEO_DELIVER_METRICS_H
#define LEO_DELIVER_METRICS_H

#include <stdbool.h>

#include "deliver_cfg.h"

/* Why a delivery failed: the reason label, and provider_response's "reason". */
enum deliver_reason {
	DR_CONSENT_WITHDRAWN,
	DR_NO_ADDRESS,
	DR_TEMPLATE,
	DR_TEMPLATE_ENGINE_UNSUPPORTED,
	DR_RETRIES_EXHAUSTED,
	DR_REJECTED,		/* an answer that is neither success nor worth a retry */
	DR_COUNT
};
extern const char *const deliver_reason_names[DR_COUNT];

enum deliver_receipt_result {
	DRR_OK, DRR_BAD_SIGNATURE, DRR_BAD_REQUEST, DRR_UNKNOWN, DRR_CONFLICT, DRR_DISABLED,
	DRR_ERROR, DRR_COUNT
};

/* Register the list; main thread, before anything else registers. 0 or -1. */
int deliver_metrics_register(void) __attribute__((warn_unused_result));

void deliver_metrics_sent(int ch);
void deliver_metrics_failed(int ch, enum deliver_reason why);
void deliver_metrics_retry(int ch);
void deliver_metrics_attempt_seconds(int ch, double s);
void deliver_metrics_inflight(int ch, int n);
void deliver_metrics_queued(int ch, double n);
void deliver_metrics_configured(int ch, bool yes);
void deliver_metrics_oldest_queued(double seconds);
void deliver_metrics_receipt(enum deliver_receipt_result r);
void deliver_metrics_db_reconnect(void);

#endif
