/*
 * test_alertd_metrics.c — leo-alertd's metric list as the registry renders
 * it: names, labels, HELP and families, and the README's table of them.
 *
 * With --dump it instead sets some values and prints the exposition on
 * stdout; ctest pipes that into `promtool check metrics`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "alertd_metrics.h"
#include "metrics_text.h"
#include "slurp.h"

static void test_labels_and_families(void **state)
{
	char *s;
	(void)state;

	metrics_add(METRIC_SUPPRESSED_FLOOD, 7);
	metrics_add(METRIC_SUPPRESSED_NO_CONSENT, 2);
	s = render();
	assert_true(value(s, "leo_deliveries_suppressed_total{reason=\"flood_guard\"}") == 7);
	assert_true(value(s, "leo_deliveries_suppressed_total{reason=\"consent_missing\"}") == 2);
	assert_true(value(s, "leo_deliveries_suppressed_total{reason=\"consent_revoked\"}") == 0);
	/* A labelled family has one HELP and one TYPE. */
	assert_int_equal(count(s, "# HELP leo_deliveries_suppressed_total "), 1);
	assert_int_equal(count(s, "# TYPE leo_deliveries_suppressed_total counter\n"), 1);
	assert_int_equal(count(s, "# TYPE leo_queue_depth gauge\n"), 1);
	assert_int_equal(count(s, "# TYPE leo_rules_rejected_total counter\n"), 1);
	assert_non_null(strstr(s, "\nleo_build_info{version=\"" LEO_VERSION "\"} 1\n"));
	free(s);
}

static void test_gauges(void **state)
{
	char *s;
	(void)state;

	metrics_set(METRIC_RULES_ACTIVE, 1234);
	metrics_set(METRIC_QUEUE_WRITER, 17);
	metrics_set(METRIC_PG_QUEUE_USAGE, 0.1);
	s = render();
	assert_non_null(strstr(s, "\nleo_rules_active 1234\n"));
	assert_non_null(strstr(s, "\nleo_queue_depth{queue=\"writer\"} 17\n"));
	assert_non_null(strstr(s, "\nleo_pg_notification_queue_usage 0.1\n"));
	free(s);
	metrics_set(METRIC_RULES_ACTIVE, 0);
	s = render();
	assert_non_null(strstr(s, "\nleo_rules_active 0\n"));
	free(s);
}

/* Buckets are cumulative, +Inf equals _count, _sum adds up. */
static void test_histogram(void **state)
{
	char *before, *after;
	(void)state;

	before = render();
	metrics_observe(METRIC_TICK_TO_COMMIT, 0.0001);	/* <= 0.0005 */
	metrics_observe(METRIC_TICK_TO_COMMIT, 0.0005);	/* le is inclusive */
	metrics_observe(METRIC_TICK_TO_COMMIT, 0.003);	/* <= 0.005 */
	metrics_observe(METRIC_TICK_TO_COMMIT, 7);	/* > 5: only +Inf */
	metrics_observe(METRIC_TICK_TO_COMMIT, NAN);	/* ignored */
	after = render();
#define D(series) (value(after, series) - value(before, series))
	assert_true(D("leo_tick_to_commit_seconds_bucket{le=\"0.0005\"}") == 2);
	assert_true(D("leo_tick_to_commit_seconds_bucket{le=\"0.002\"}") == 2);
	assert_true(D("leo_tick_to_commit_seconds_bucket{le=\"0.005\"}") == 3);
	assert_true(D("leo_tick_to_commit_seconds_bucket{le=\"5\"}") == 3);
	assert_true(D("leo_tick_to_commit_seconds_bucket{le=\"+Inf\"}") == 4);
	assert_true(D("leo_tick_to_commit_seconds_count") == 4);
	assert_true(fabs(D("leo_tick_to_commit_seconds_sum") - 7.0036) < 1e-9);
#undef D
	assert_true(value(after, "leo_tick_to_commit_seconds_count") ==
		    value(after, "leo_tick_to_commit_seconds_bucket{le=\"+Inf\"}"));
	assert_int_equal(count(after, "# TYPE leo_tick_to_commit_seconds histogram\n"), 1);
	free(before);
	free(after);
}

static void test_process_and_tick(void **state)
{
	char *s;
	double t;
	(void)state;

	s = render();
	/* No tick yet in this process: seconds since it started. */
	t = value(s, "leo_seconds_since_last_tick");
	assert_true(t >= 0 && t < 600);
	assert_true(fabs(value(s, "process_start_time_seconds") + t - (double)time(NULL)) < 5);
	free(s);

	usleep(20000);
	metrics_touch(METRIC_LAST_TICK);
	s = render();
	t = value(s, "leo_seconds_since_last_tick");
	assert_true(t >= 0 && t < 0.5);
	free(s);
}

/* The README's metrics table has a row "| `name` | type |" for every family. */
static void test_readme_table(void **state)
{
	const char *data = getenv("LEO_TEST_DATA");
	char path[4096], row[256], *readme, *s = render(), *line;
	int n = 0;
	(void)state;

	assert_non_null(data);
	snprintf(path, sizeof(path), "%s/../../README.md", data);
	readme = slurp(path);
	assert_non_null(readme);
	for (line = strstr(s, "# TYPE "); line; line = strstr(line + 1, "\n# TYPE ")) {
		char name[128], type[32];

		if (*line == '\n')
			line++;
		assert_int_equal(sscanf(line, "# TYPE %127s %31s", name, type), 2);
		snprintf(row, sizeof(row), "| `%s` | %s |", name, type);
		if (!strstr(readme, row))
			fail_msg("README.md lacks the row %s", row);
		n++;
	}
	assert_true(n >= 20);
	free(readme);
	free(s);
}

/* --dump: an exposition with values in every family, for promtool. */
static int dump(void)
{
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return 1;
	if (alertd_metrics_register())
		goto fail;
	metrics_add(METRIC_TICKS_RECEIVED, 42);
	metrics_add(METRIC_SUPPRESSED_REVOKED, 1);
	metrics_set(METRIC_QUEUE_WORKER, 3);
	metrics_set(METRIC_PG_QUEUE_USAGE, 0.25);
	metrics_set(METRIC_READY, 1);
	metrics_observe(METRIC_BATCH_ROWS, 12);
	metrics_observe(METRIC_TICK_TO_COMMIT, 0.0042);
	metrics_touch(METRIC_LAST_TICK);
	if (metrics_render(b) < 0)
		goto fail;
	while (evbuffer_get_length(b) > 0)
		if (evbuffer_write(b, STDOUT_FILENO) < 0)
			goto fail;
	evbuffer_free(b);
	return 0;
fail:
	evbuffer_free(b);
	return 1;
}

/* The list registers first, so its ids are the registry's; again is a no-op. */
static int setup(void **state)
{
	(void)state;
	return alertd_metrics_register() || alertd_metrics_register();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_and_tick),
		cmocka_unit_test(test_labels_and_families),
		cmocka_unit_test(test_gauges),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_readme_table),
	};

	if (argc > 1 && strcmp(argv[1], "--dump") == 0)
		return dump();
	return cmocka_run_group_tests(tests, setup, NULL);
}
