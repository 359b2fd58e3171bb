/*
 * alertd_metrics.h — leo-alertd's Prometheus metrics, listed once.
 *
 * ALERTD_METRICS_COUNTERS, _GAUGES, _HISTOGRAMS and _AGES drive the ids
 * below and the tables alertd_metrics.c registers with the core registry
 * (metrics.h); nothing else lists them.  A labelled series is one entry
 * with its label text.  The matcher updates them with the registry's calls,
 * e.g. metrics_add(METRIC_TICKS_RECEIVED, 1), from any thread.
 *
 * The ids keep the METRIC_ prefix they had before the registry moved to
 * leo_core: they equal the registry's ids because main registers this list
 * before anything else registers (alertd_metrics_register checks it).
 */
#ifndef LEO_ALERTD_METRICS_H
#define LEO_ALERTD_METRICS_H

#include "metrics.h"

/* X(id, name, labels, help) */
#define ALERTD_METRICS_COUNTERS(X)                                                    \
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
	  "Write batches that failed and were retried or split.")                     \
	X(LISTEN_THROTTLED, "leo_listen_throttled_seconds_total", "",                 \
	  "Seconds the loop left notifications unread because workers were behind.")

/* leo_http_connections follows these: httpd.c registers it. */
#define ALERTD_METRICS_GAUGES(X)                                                      \
	X(RULES_ACTIVE, "leo_rules_active", "", "ACTIVE rules held in memory.")       \
	X(QUEUE_WORKER, "leo_queue_depth", "queue=\"worker\"",                        \
	  "Messages waiting in a queue.")                                             \
	X(QUEUE_WRITER, "leo_queue_depth", "queue=\"writer\"",                        \
	  "Messages waiting in a queue.")                                             \
	X(PG_QUEUE_USAGE, "leo_pg_notification_queue_usage", "",                      \
	  "pg_notification_queue_usage() of the database, 0 to 1.")                   \
	X(UNANNOUNCED, "leo_deliveries_unannounced", "",                              \
	  "Deliveries committed whose leo_delivery announcement waits for a retry.")  \
	X(READY, "leo_ready", "", "1 when rules are loaded and the database answers.")

/*
 * X(id, name, labels, help, bucket upper bounds as a brace list).  The four
 * stages of a firing add up to leo_tick_to_commit_seconds: received ->
 * decided (intake and worker queues, evaluation), decided -> taken by its
 * writer thread (the writer's queue), taken -> statement sent (waiting in a
 * batch while the thread writes another), sent -> committed.
 */
#define ALERTD_STAGE_BOUNDS                                                           \
	{ 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,  \
	  0.25, 1, 5 }
#define ALERTD_STAGE_HELP "Time a firing spends in each stage, from tick received to commit."
#define ALERTD_METRICS_HISTOGRAMS(X)                                                  \
	X(BATCH_ROWS, "leo_batch_rows", "", "Firings per committed write batch.",      \
	  { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000 })                                \
	X(TICK_TO_COMMIT, "leo_tick_to_commit_seconds", "",                            \
	  "From receiving a price change to committing its deliveries.",               \
	  { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 }) \
	X(STAGE_EVALUATE, "leo_firing_stage_seconds", "stage=\"evaluate\"",           \
	  ALERTD_STAGE_HELP, ALERTD_STAGE_BOUNDS)                                      \
	X(STAGE_WRITER_QUEUE, "leo_firing_stage_seconds", "stage=\"writer_queue\"",   \
	  ALERTD_STAGE_HELP, ALERTD_STAGE_BOUNDS)                                      \
	X(STAGE_BATCH, "leo_firing_stage_seconds", "stage=\"batch\"",                 \
	  ALERTD_STAGE_HELP, ALERTD_STAGE_BOUNDS)                                      \
	X(STAGE_COMMIT, "leo_firing_stage_seconds", "stage=\"commit\"",               \
	  ALERTD_STAGE_HELP, ALERTD_STAGE_BOUNDS)

/* X(id, name, labels, help); metrics_touch(METRIC_LAST_TICK) on each tick. */
#define ALERTD_METRICS_AGES(X)                                                        \
	X(LAST_TICK, "leo_seconds_since_last_tick", "",                               \
	  "Seconds since the last price change arrived, or since start when none did.")

#define ALERTD_METRICS_ENUM(id, ...) METRIC_##id,
enum alertd_metrics_counter { ALERTD_METRICS_COUNTERS(ALERTD_METRICS_ENUM) ALERTD_METRICS_NCOUNTERS };
enum alertd_metrics_gauge { ALERTD_METRICS_GAUGES(ALERTD_METRICS_ENUM) ALERTD_METRICS_NGAUGES };
enum alertd_metrics_histogram {
	ALERTD_METRICS_HISTOGRAMS(ALERTD_METRICS_ENUM) ALERTD_METRICS_NHISTOGRAMS
};
enum alertd_metrics_age { ALERTD_METRICS_AGES(ALERTD_METRICS_ENUM) ALERTD_METRICS_NAGES };
#undef ALERTD_METRICS_ENUM

/*
 * Register the list with the core registry, first, so that its ids are the
 * enums above (and name leo-alertd in leo_build_info).  -1 (logged) when
 * something registered before it.  main, at start-up.
 */
int alertd_metrics_register(void) __attribute__((warn_unused_result));

#endif
