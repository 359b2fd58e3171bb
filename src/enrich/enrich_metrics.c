/*
 * enrich_metrics.c — leo-enrich's metric tables, registered with the core
 * registry.  enrich_metrics_register runs once on the main thread before
 * any other registration, so the ids are the offsets below; the update
 * functions run on any thread.
 */
#include "enrich_metrics.h"

#include "log.h"
#include "metrics.h"

const char *const enrich_result_names[ER_COUNT] = { "done", "retry", "failed", "gone", "lost" };

/* Counter ids: jobs by result, news embedded and not, reconnects. */
#define EMC_JOBS 0
#define EMC_NEWS_DONE (EMC_JOBS + ER_COUNT)
#define EMC_NEWS_FAILED (EMC_NEWS_DONE + 1)
#define EMC_RECONNECTS (EMC_NEWS_FAILED + 1)
#define EMC_N (EMC_RECONNECTS + 1)
/* Gauge ids. */
#define EMG_DEPTH 0
#define EMG_OLDEST 1
#define EMG_N 2

#define EM_JOBS_HELP "Attempts of embedding jobs, by how they ended."
#define EM_NEWS_HELP "news_feed rows embedded, and those whose embedding failed (tried again later)."
static const struct metrics_desc enrich_metrics_counters[EMC_N] = {
	{ "leo_enrich_jobs_total", "result=\"done\"", EM_JOBS_HELP },
	{ "leo_enrich_jobs_total", "result=\"retry\"", EM_JOBS_HELP },
	{ "leo_enrich_jobs_total", "result=\"failed\"", EM_JOBS_HELP },
	{ "leo_enrich_jobs_total", "result=\"gone\"", EM_JOBS_HELP },
	{ "leo_enrich_jobs_total", "result=\"lost\"", EM_JOBS_HELP },
	{ "leo_enrich_news_total", "result=\"done\"", EM_NEWS_HELP },
	{ "leo_enrich_news_total", "result=\"failed\"", EM_NEWS_HELP },
	{ "leo_db_reconnects_total", "", "Database connections opened again after a failure." },
};

static const struct metrics_desc enrich_metrics_gauges[EMG_N] = {
	{ "leo_enrich_queue_depth", "",
	  "Embedding jobs queued or running, of active tenants, at the last scan." },
	{ "leo_enrich_oldest_job_seconds", "",
	  "Age of the oldest embedding job queued or running at the last scan." },
};

static const double enrich_metrics_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
static const struct metrics_hdesc enrich_metrics_hists[] = {
	{ "leo_enrich_embed_seconds", "",
	  "Time one batch took to embed (all its documents, one request for openai).",
	  enrich_metrics_bounds, sizeof(enrich_metrics_bounds) / sizeof(enrich_metrics_bounds[0]) },
};

int enrich_metrics_register(void)
{
	if (metrics_register_counters(enrich_metrics_counters, EMC_N) != 0 ||
	    metrics_register_gauges(enrich_metrics_gauges, EMG_N) != 0 ||
	    metrics_register_histograms(enrich_metrics_hists, 1) != 0) {
		log_error("metrics: leo-enrich's list must be registered first");
		return -1;
	}
	metrics_program("leo-enrich");
	return 0;
}

void enrich_metrics_job(enum enrich_result r)
{
	metrics_add(EMC_JOBS + (int)r, 1);
}

void enrich_metrics_news(int ok)
{
	metrics_add(ok ? EMC_NEWS_DONE : EMC_NEWS_FAILED, 1);
}

void enrich_metrics_embed_seconds(double s)
{
	metrics_observe(0, s);
}

void enrich_metrics_backlog(double waiting, double oldest_s)
{
	metrics_set(EMG_DEPTH, waiting);
	metrics_set(EMG_OLDEST, oldest_s);
}

void enrich_metrics_db_reconnect(void)
{
	metrics_add(EMC_RECONNECTS, 1);
}
