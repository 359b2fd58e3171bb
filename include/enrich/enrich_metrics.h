/*
 * enrich_metrics.h — leo-enrich's metrics (SPEC section 8), registered with
 * the core registry (metrics.h) at start-up, updated from any thread.
 */
#ifndef LEO_ENRICH_METRICS_H
#define LEO_ENRICH_METRICS_H

/* How a job's attempt ended: the result label of leo_enrich_jobs_total. */
enum enrich_result {
	ER_DONE,		/* embedding written, job done */
	ER_RETRY,		/* transient error: queued again after a backoff */
	ER_FAILED,		/* permanent error or attempts used up */
	ER_GONE,		/* profile deleted meanwhile: nothing written */
	ER_LOST,		/* the lease had passed to another worker */
	ER_COUNT
};
extern const char *const enrich_result_names[ER_COUNT];

/* Register the list; main thread, before anything else registers. 0 or -1. */
int enrich_metrics_register(void) __attribute__((warn_unused_result));

void enrich_metrics_job(enum enrich_result r);
void enrich_metrics_news(int ok);
void enrich_metrics_embed_seconds(double s);
void enrich_metrics_backlog(double waiting, double oldest_s);
void enrich_metrics_db_reconnect(void);

#endif
