/*
 * alertd_metrics.c — leo-alertd's metric tables, registered with the core
 * registry (metrics.c).
 *
 * Main thread, at start-up; the X-macro lists in alertd_metrics.h expand
 * here into the descriptor tables and histogram bounds.
 */
#include "alertd_metrics.h"

#include "log.h"

#define ALERTD_METRICS_DESC(id, name, labels, help) { name, labels, help },
static const struct metrics_desc alertd_metrics_counters[] = {
	ALERTD_METRICS_COUNTERS(ALERTD_METRICS_DESC)
};
static const struct metrics_desc alertd_metrics_gauges[] = {
	ALERTD_METRICS_GAUGES(ALERTD_METRICS_DESC)
};
static const struct metrics_desc alertd_metrics_ages[] = {
	ALERTD_METRICS_AGES(ALERTD_METRICS_DESC)
};
#undef ALERTD_METRICS_DESC

#define ALERTD_METRICS_BOUNDS(id, name, labels, help, ...)                                    \
	static const double alertd_metrics_bounds_##id[] = __VA_ARGS__;                \
	_Static_assert(sizeof(alertd_metrics_bounds_##id) / sizeof(double) <=          \
			       METRICS_MAX_BUCKETS,                                    \
		       name ": too many buckets");
ALERTD_METRICS_HISTOGRAMS(ALERTD_METRICS_BOUNDS)
#undef ALERTD_METRICS_BOUNDS

static const struct metrics_hdesc alertd_metrics_histograms[] = {
#define ALERTD_METRICS_HDESC(id, name, labels, help, ...)                             \
	{ name, labels, help, alertd_metrics_bounds_##id,                                      \
	  sizeof(alertd_metrics_bounds_##id) / sizeof(alertd_metrics_bounds_##id[0]) },
	ALERTD_METRICS_HISTOGRAMS(ALERTD_METRICS_HDESC)
#undef ALERTD_METRICS_HDESC
};

#define ALERTD_METRICS_N(a) (sizeof(a) / sizeof((a)[0]))

int alertd_metrics_register(void)
{
	if (metrics_register_counters(alertd_metrics_counters,
				      ALERTD_METRICS_N(alertd_metrics_counters)) != 0 ||
	    metrics_register_gauges(alertd_metrics_gauges,
				    ALERTD_METRICS_N(alertd_metrics_gauges)) != 0 ||
	    metrics_register_histograms(alertd_metrics_histograms,
					ALERTD_METRICS_N(alertd_metrics_histograms)) != 0 ||
	    metrics_register_ages(alertd_metrics_ages,
				  ALERTD_METRICS_N(alertd_metrics_ages)) != 0) {
		log_error("metrics: leo-alertd's list must be registered first");
		return -1;
	}
	metrics_program("leo-alertd");
	return 0;
}
