/*
 * deliver_metrics.c — leo-deliver's metric tables, built at start-up from
 * the channel and reason names and registered with the core registry.
 *
 * deliver_metrics_register runs once on the main thread before any other
 * registration, so the ids are the offsets computed here; the update
 * functions run on any thread.
 */
#include "deliver_metrics.h"

#include <stdio.h>

#include "log.h"
#include "metrics.h"

const char *const deliver_reason_names[DR_COUNT] = {
	"consent_withdrawn", "no_address", "template", "template_engine_unsupported",
	"retries_exhausted", "rejected",
};

static const char *const deliver_metrics_receipt_names[DRR_COUNT] = {
	"ok", "bad_signature", "bad_request", "unknown", "conflict", "disabled", "error",
};

/* Counter ids: sent, failed (channel x reason), retries, receipts, reconnects. */
#define DMC_SENT 0
#define DMC_FAILED (DMC_SENT + DC_COUNT)
#define DMC_RETRIES (DMC_FAILED + DC_COUNT * DR_COUNT)
#define DMC_RECEIPTS (DMC_RETRIES + DC_COUNT)
#define DMC_RECONNECTS (DMC_RECEIPTS + DRR_COUNT)
#define DMC_N (DMC_RECONNECTS + 1)
/* Gauge ids: inflight, queued, configured (per channel), oldest queued. */
#define DMG_INFLIGHT 0
#define DMG_QUEUED (DMG_INFLIGHT + DC_COUNT)
#define DMG_CONFIGURED (DMG_QUEUED + DC_COUNT)
#define DMG_OLDEST (DMG_CONFIGURED + DC_COUNT)
#define DMG_N (DMG_OLDEST + 1)

static struct metrics_desc deliver_metrics_counters[DMC_N];
static struct metrics_desc deliver_metrics_gauges[DMG_N];
static struct metrics_hdesc deliver_metrics_hists[DC_COUNT];
static char deliver_metrics_labels[DMC_N + DMG_N + DC_COUNT][96];

static const double deliver_metrics_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
						 1, 2.5, 5, 10, 30 };

/* `k="v"` (or `k="v",k2="v2"` when k2 is not NULL) in the next label buffer. */
static const char *deliver_metrics_label(int *n, const char *k, const char *v, const char *k2,
					 const char *v2)
{
	char *l = deliver_metrics_labels[(*n)++];

	if (k2)
		snprintf(l, sizeof(deliver_metrics_labels[0]), "%s=\"%s\",%s=\"%s\"", k, v, k2, v2);
	else
		snprintf(l, sizeof(deliver_metrics_labels[0]), "%s=\"%s\"", k, v);
	return l;
}

int deliver_metrics_register(void)
{
	int nl = 0;

	for (int c = 0; c < DC_COUNT; c++) {
		const char *ch = deliver_channel_names[c];

		deliver_metrics_counters[DMC_SENT + c] = (struct metrics_desc){
			"leo_deliver_sent_total", deliver_metrics_label(&nl, "channel", ch, NULL, NULL),
			"Messages accepted by the channel's server (sent or delivered)." };
		for (int r = 0; r < DR_COUNT; r++)
			deliver_metrics_counters[DMC_FAILED + c * DR_COUNT + r] = (struct metrics_desc){
				"leo_deliver_failed_total",
				deliver_metrics_label(&nl, "channel", ch, "reason",
						      deliver_reason_names[r]),
				"Deliveries that ended failed, by reason." };
		deliver_metrics_counters[DMC_RETRIES + c] = (struct metrics_desc){
			"leo_deliver_retries_total", deliver_metrics_label(&nl, "channel", ch, NULL, NULL),
			"Attempts that failed in a way worth another attempt." };
		deliver_metrics_gauges[DMG_INFLIGHT + c] = (struct metrics_desc){
			"leo_deliver_inflight", deliver_metrics_label(&nl, "channel", ch, NULL, NULL),
			"Messages of the channel being sent now." };
		deliver_metrics_gauges[DMG_QUEUED + c] = (struct metrics_desc){
			"leo_deliver_queued", deliver_metrics_label(&nl, "channel", ch, NULL, NULL),
			"Deliveries queued at the last scan, of active tenants." };
		deliver_metrics_gauges[DMG_CONFIGURED + c] = (struct metrics_desc){
			"leo_deliver_channel_configured",
			deliver_metrics_label(&nl, "channel", ch, NULL, NULL),
			"1 when the channel has a transport; 0: its deliveries stay queued." };
		deliver_metrics_hists[c] = (struct metrics_hdesc){
			"leo_deliver_attempt_seconds", deliver_metrics_label(&nl, "channel", ch, NULL, NULL),
			"Time one attempt took, from start to the server's answer.",
			deliver_metrics_bounds,
			sizeof(deliver_metrics_bounds) / sizeof(deliver_metrics_bounds[0]) };
	}
	for (int r = 0; r < DRR_COUNT; r++)
		deliver_metrics_counters[DMC_RECEIPTS + r] = (struct metrics_desc){
			"leo_receipts_total",
			deliver_metrics_label(&nl, "result", deliver_metrics_receipt_names[r], NULL, NULL),
			"POST /v1/receipts requests, by result." };
	deliver_metrics_counters[DMC_RECONNECTS] = (struct metrics_desc){
		"leo_db_reconnects_total", "", "Database connections opened again after a failure." };
	deliver_metrics_gauges[DMG_OLDEST] = (struct metrics_desc){
		"leo_deliver_oldest_queued_seconds", "",
		"Age of the oldest queued delivery of an active tenant at the last scan." };

	if (metrics_register_counters(deliver_metrics_counters, DMC_N) != 0 ||
	    metrics_register_gauges(deliver_metrics_gauges, DMG_N) != 0 ||
	    metrics_register_histograms(deliver_metrics_hists, DC_COUNT) != 0) {
		log_error("metrics: leo-deliver's list must be registered first");
		return -1;
	}
	metrics_program("leo-deliver");
	return 0;
}

void deliver_metrics_sent(int ch)
{
	metrics_add(DMC_SENT + ch, 1);
}

void deliver_metrics_failed(int ch, enum deliver_reason why)
{
	metrics_add(DMC_FAILED + ch * DR_COUNT + (int)why, 1);
}

void deliver_metrics_retry(int ch)
{
	metrics_add(DMC_RETRIES + ch, 1);
}

void deliver_metrics_attempt_seconds(int ch, double s)
{
	metrics_observe(ch, s);
}

void deliver_metrics_inflight(int ch, int n)
{
	metrics_set(DMG_INFLIGHT + ch, n);
}

void deliver_metrics_queued(int ch, double n)
{
	metrics_set(DMG_QUEUED + ch, n);
}

void deliver_metrics_configured(int ch, bool yes)
{
	metrics_set(DMG_CONFIGURED + ch, yes ? 1 : 0);
}

void deliver_metrics_oldest_queued(double seconds)
{
	metrics_set(DMG_OLDEST + 0, seconds);
}

void deliver_metrics_receipt(enum deliver_receipt_result r)
{
	metrics_add(DMC_RECEIPTS + (int)r, 1);
}

void deliver_metrics_db_reconnect(void)
{
	metrics_add(DMC_RECONNECTS, 1);
}
