/*
 * test_metrics.c — the core registry: registration, updates from many
 * threads and the exposition, with a list of its own (no program's).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "metrics.h"
#include "metrics_text.h"

enum { C_JOBS, C_DROPPED_FULL, C_DROPPED_BAD, C_N };
static const struct metrics_desc counters[] = {
	{ "t_jobs_total", "", "Jobs done." },
	{ "t_dropped_total", "reason=\"full\"", "Jobs dropped, by reason." },
	{ "t_dropped_total", "reason=\"bad\"", "Jobs dropped, by reason." },
};

enum { G_DEPTH_A, G_DEPTH_B, G_RATIO, G_N };
static const struct metrics_desc gauges[] = {
	{ "t_depth", "queue=\"a\"", "Jobs waiting." },
	{ "t_depth", "queue=\"b\"", "Jobs waiting." },
	{ "t_ratio", "", "A ratio." },
};

static const double bounds_rows[] = { 1, 10, 100 };
static const double bounds_secs[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 5 };
enum { H_ROWS, H_SECS, H_N };
static const struct metrics_hdesc hists[] = {
	{ "t_rows", "", "Rows per batch.", bounds_rows, 3 },
	{ "t_seconds", "", "Seconds per job.", bounds_secs, 6 },
};

enum { A_LAST, A_N };
static const struct metrics_desc ages[] = {
	{ "t_seconds_since_last_job", "", "Seconds since the last job, or since start." },
};

/* Ids of the tables above: the registry's, which start at 0 here. */
static int c0, g0, h0, a0;

static int setup(void **state)
{
	(void)state;
	log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);	/* the full-registry test logs */
	c0 = metrics_register_counters(counters, C_N);
	g0 = metrics_register_gauges(gauges, G_N);
	h0 = metrics_register_histograms(hists, H_N);
	a0 = metrics_register_ages(ages, A_N);
	metrics_program("t-program");
	return c0 < 0 || g0 < 0 || h0 < 0 || a0 < 0;
}

/* Ids start at 0 in registration order; a table registered again keeps its ids. */
static void test_register(void **state)
{
	static const struct metrics_desc more[] = { { "t_more_total", "", "More." } };
	static double many[METRICS_MAX_BUCKETS + 1];
	static const struct metrics_hdesc wide[] = {
		{ "t_wide", "", "Too many buckets.", many, METRICS_MAX_BUCKETS + 1 },
	};
	static struct metrics_desc filler[METRICS_MAX_AGES];
	int id;
	(void)state;

	assert_int_equal(c0, 0);
	assert_int_equal(g0, 0);
	assert_int_equal(h0, 0);
	assert_int_equal(a0, 0);
	assert_int_equal(metrics_register_counters(counters, C_N), 0);
	assert_int_equal(metrics_register_histograms(hists, H_N), 0);
	id = metrics_register_counters(more, 1);
	assert_int_equal(id, C_N);
	assert_int_equal(metrics_register_counters(more, 1), id);
	/* Too many buckets, or more entries than the kind holds: refused. */
	assert_int_equal(metrics_register_histograms(wide, 1), -1);
	assert_int_equal(metrics_register_ages(filler, METRICS_MAX_AGES), -1);
}

#define THREADS 4
#define ADDS 100000

static void *adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		metrics_add(c0 + C_JOBS, 1);
		metrics_observe(h0 + H_ROWS, 3);
	}
	return NULL;
}

/* Counts from several threads (each its own slot) all arrive. */
static void test_counters_threads(void **state)
{
	pthread_t t[THREADS];
	char *before, *after;
	(void)state;

	before = render();
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	metrics_add(c0 + C_JOBS, 5);
	after = render();
	assert_true(value(after, "t_jobs_total") - value(before, "t_jobs_total") ==
		    THREADS * ADDS + 5);
	assert_true(value(after, "t_rows_count") - value(before, "t_rows_count") ==
		    THREADS * ADDS);
	free(before);
	free(after);
}

static void test_labels_and_families(void **state)
{
	char *s;
	(void)state;

	metrics_add(c0 + C_DROPPED_FULL, 7);
	metrics_add(c0 + C_DROPPED_BAD, 2);
	s = render();
	assert_true(value(s, "t_dropped_total{reason=\"full\"}") == 7);
	assert_true(value(s, "t_dropped_total{reason=\"bad\"}") == 2);
	/* A labelled family has one HELP and one TYPE, the first entry's. */
	assert_int_equal(count(s, "# HELP t_dropped_total Jobs dropped, by reason.\n"), 1);
	assert_int_equal(count(s, "# TYPE t_dropped_total counter\n"), 1);
	assert_int_equal(count(s, "# TYPE t_depth gauge\n"), 1);
	assert_non_null(strstr(s, "# HELP leo_build_info Version of the running t-program.\n"
				  "# TYPE leo_build_info gauge\n"
				  "leo_build_info{version=\"" LEO_VERSION "\"} 1\n"));
	/* Kinds in order: counters, gauges, histograms, ages, then the process. */
	assert_true(strstr(s, "# TYPE t_jobs_total") < strstr(s, "# TYPE t_depth"));
	assert_true(strstr(s, "# TYPE t_ratio") < strstr(s, "# TYPE t_rows"));
	assert_true(strstr(s, "# TYPE t_seconds histogram") <
		    strstr(s, "# TYPE t_seconds_since_last_job"));
	assert_true(strstr(s, "# TYPE t_seconds_since_last_job") <
		    strstr(s, "# TYPE leo_build_info"));
	free(s);
}

static void test_gauges(void **state)
{
	char *s;
	(void)state;

	metrics_set(g0 + G_DEPTH_B, 17);
	metrics_set(g0 + G_RATIO, 0.1);
	assert_true(metrics_get(g0 + G_DEPTH_B) == 17);
	s = render();
	assert_non_null(strstr(s, "\nt_depth{queue=\"a\"} 0\n"));
	assert_non_null(strstr(s, "\nt_depth{queue=\"b\"} 17\n"));
	assert_non_null(strstr(s, "\nt_ratio 0.1\n"));
	free(s);
	metrics_set(g0 + G_DEPTH_B, 0);
	s = render();
	assert_non_null(strstr(s, "\nt_depth{queue=\"b\"} 0\n"));
	free(s);
}

/* Buckets are cumulative, +Inf equals _count, _sum adds up. */
static void test_histogram(void **state)
{
	char *before, *after;
	(void)state;

	before = render();
	metrics_observe(h0 + H_SECS, 0.0001);	/* <= 0.0005 */
	metrics_observe(h0 + H_SECS, 0.0005);	/* le is inclusive */
	metrics_observe(h0 + H_SECS, 0.003);	/* <= 0.005 */
	metrics_observe(h0 + H_SECS, 7);	/* > 5: only +Inf */
	metrics_observe(h0 + H_SECS, NAN);	/* ignored */
	after = render();
#define D(series) (value(after, series) - value(before, series))
	assert_true(D("t_seconds_bucket{le=\"0.0005\"}") == 2);
	assert_true(D("t_seconds_bucket{le=\"0.002\"}") == 2);
	assert_true(D("t_seconds_bucket{le=\"0.005\"}") == 3);
	assert_true(D("t_seconds_bucket{le=\"5\"}") == 3);
	assert_true(D("t_seconds_bucket{le=\"+Inf\"}") == 4);
	assert_true(D("t_seconds_count") == 4);
	assert_true(fabs(D("t_seconds_sum") - 7.0036) < 1e-9);
#undef D
	assert_true(value(after, "t_seconds_count") ==
		    value(after, "t_seconds_bucket{le=\"+Inf\"}"));
	assert_int_equal(count(after, "# TYPE t_seconds histogram\n"), 1);
	free(before);
	free(after);
}

static void test_process_and_age(void **state)
{
	char *s;
	double t;
	(void)state;

	s = render();
	/* Never touched in this process: seconds since it started. */
	t = value(s, "t_seconds_since_last_job");
	assert_true(t >= 0 && t < 600);
	assert_true(fabs(value(s, "process_start_time_seconds") + t - (double)time(NULL)) < 5);
	assert_true(value(s, "process_open_fds") >= 3);
	assert_true(value(s, "process_max_fds") >= value(s, "process_open_fds"));
	assert_true(value(s, "process_resident_memory_bytes") > 0);
	assert_true(value(s, "process_virtual_memory_bytes") >=
		    value(s, "process_resident_memory_bytes"));
	assert_true(value(s, "process_cpu_seconds_total") >= 0);
	free(s);

	usleep(20000);
	metrics_touch(a0 + A_LAST);
	s = render();
	t = value(s, "t_seconds_since_last_job");
	assert_true(t >= 0 && t < 0.5);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_and_age),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_counters_threads),
		cmocka_unit_test(test_labels_and_families),
		cmocka_unit_test(test_gauges),
		cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
