/*
 * metrics.h — the daemon's Prometheus metrics, listed once.
 *
 * METRICS_COUNTERS, METRICS_GAUGES and METRICS_HISTOGRAMS drive the enum,
 * the HELP/TYPE text and the output; nothing else lists metrics.  A labelled
 * series is one entry with its label text.  Updates are lock-free (relaxed
 * atomics) from any thread; metrics_render() sums them on a scrape.
 */
#ifndef LEO_METRICS_H
#define LEO_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* X(id, name, labels, help) */
#define METRICS_COUNTERS(X)                                                           \
	X(TICKS_RECEIVED, "leo_ticks_received_total", "",                             \
	  "Price changes received from PostgreSQL.")                                  \
	X(RULE_EVALUATIONS, "leo_rule_evaluations_total", "",                         \
	  "Rule conditions evaluated.")                                               \
	X(ALERTS_FIRED, "leo_alerts_fired_total", "", "Rule firings decided.")       \
	X(DELIVERIES_WRITTEN, "leo_deliveries_written_total", "",                     \
	  "delivery_log rows committed.")                                             \
	X(SUPPRESSED_NO_CONSENT, "leo_deliveries_suppressed_total",                   \
	  "reason=\"consent_missing\"", "Firings not delivered, by reason.")          \
	X(SUPPRESSED_REVOKED, "leo_deliveries_suppressed_total",                      \
	  "reason=\"consent_revoked\"", "Firings not delivered, by reason.")          \
	X(SUPPRESSED_EXPIRED, "leo_deliveries_suppressed_total",                      \
	  "reason=\"consent_expired\"", "Firings not delivered, by reason.")          \
	X(SUPPRESSED_FLOOD, "leo_deliveries_suppressed_total",                        \
	  "reason=\"flood_guard\"", "Firings not delivered, by reason.")              \
	X(SUPPRESSED_CLAIMED, "leo_deliveries_suppressed_total",                      \
	  "reason=\"already_claimed\"", "Firings not delivered, by reason.")          \
	X(SUPPRESSED_DELETED, "leo_deliveries_suppressed_total",                      \
	  "reason=\"rule_deleted\"", "Firings not delivered, by reason.")             \
	X(AGENT_TASKS_WRITTEN, "leo_agent_tasks_written_total", "",                   \
	  "agent_task rows committed.")                                               \
	X(RULES_REJECTED_INVALID, "leo_rules_rejected_total",                         \
	  "reason=\"invalid_condition\"", "Rules not loaded, by reason.")             \
	X(RULES_REJECTED_EXPIRED, "leo_rules_rejected_total", "reason=\"expired\"",   \
	  "Rules not loaded, by reason.")                                             \
	X(NOTIFY_ERRORS, "leo_notify_errors_total", "",                               \
	  "Malformed or unexpected notifications.")                                   \
	X(CONSENT_CHANGES, "leo_consent_changes_total", "",                           \
	  "Consent changes notified (consent is checked at write time).")            \
	X(DB_RECONNECTS, "leo_db_reconnects_total", "",                               \
	  "Reconnections to PostgreSQL.")                                             \
	X(BATCHES_FAILED, "leo_batches_failed_total", "",                             \
	  "Write batches that failed and were retried or split.")

#define METRICS_GAUGES(X)                                                             \
	X(RULES_ACTIVE, "leo_rules_active", "", "ACTIVE rules held in memory.")       \
	X(QUEUE_WORKER, "leo_queue_depth", "queue=\"worker\"",                        \
	  "Messages waiting in a queue.")                                             \
	X(QUEUE_WRITER, "leo_queue_depth", "queue=\"writer\"",                        \
	  "Messages waiting in a queue.")                                             \
	X(PG_QUEUE_USAGE, "leo_pg_notification_queue_usage", "",                      \
	  "pg_notification_queue_usage() of the database, 0 to 1.")                   \
	X(READY, "leo_ready", "", "1 when rules are loaded and the database answers.") \
	X(HTTP_CONNECTIONS, "leo_http_connections", "",                               \
	  "Open connections to the stats endpoint.")

/* X(id, name, help, bucket upper bounds as a brace list) */
#define METRICS_HISTOGRAMS(X)                                                         \
	X(BATCH_ROWS, "leo_batch_rows", "Firings per committed write batch.",          \
	  { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000 })                                \
	X(TICK_TO_COMMIT, "leo_tick_to_commit_seconds",                                \
	  "From receiving a price change to committing its deliveries.",               \
	  { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 })

#define METRICS_ENUM(id, ...) METRIC_##id,
enum metrics_counter { METRICS_COUNTERS(METRICS_ENUM) METRICS_COUNTER_COUNT };
enum metrics_gauge { METRICS_GAUGES(METRICS_ENUM) METRICS_GAUGE_COUNT };
enum metrics_histogram { METRICS_HISTOGRAMS(METRICS_ENUM) METRICS_HISTOGRAM_COUNT };
#undef METRICS_ENUM

void metrics_add(enum metrics_counter c, uint64_t n);
void metrics_set(enum metrics_gauge g, double v);
double metrics_get(enum metrics_gauge g);
void metrics_observe(enum metrics_histogram h, double v);

/* Wall clock of the newest tick (leo_seconds_since_last_tick). */
void metrics_tick_seen(void);

/*
 * Append the whole exposition (text format 0.0.4), including
 * leo_build_info, leo_seconds_since_last_tick and process_* from /proc.
 * Loop thread.
 */
int metrics_render(struct evbuffer *out) __attribute__((warn_unused_result));

#endif
