/*
 * test_deliver_metrics.c — leo-deliver's metrics (deliver_metrics.c) as a
 * scrape shows them: every family of SPEC section 7 with its labelled
 * series, labelled histograms with one HELP per family.  With --dump it
 * prints an exposition with values in every family, for promtool.
 */
#include "metrics_text.h"

#include <stdio.h>
#include <unistd.h>

#include "deliver_metrics.h"

static void fill(void)
{
	deliver_metrics_sent(DC_EMAIL);
	deliver_metrics_failed(DC_WEB_PUSH, DR_RETRIES_EXHAUSTED);
	deliver_metrics_failed(DC_WEB_PUSH, DR_RETRIES_EXHAUSTED);
	deliver_metrics_retry(DC_SMS);
	deliver_metrics_attempt_seconds(DC_EMAIL, 0.03);
	deliver_metrics_attempt_seconds(DC_WHATSAPP, 40);
	deliver_metrics_inflight(DC_EMAIL, 3);
	deliver_metrics_queued(DC_ZALO_OA, 7);
	deliver_metrics_configured(DC_EMAIL, true);
	deliver_metrics_oldest_queued(12.5);
	deliver_metrics_receipt(DRR_CONFLICT);
}

static void test_series(void **state)
{
	char *s;

	(void)state;
	fill();
	s = render();
	assert_true(value(s, "leo_deliver_sent_total{channel=\"email\"}") == 1);
	assert_true(value(s, "leo_deliver_sent_total{channel=\"sms\"}") == 0);
	assert_true(value(s, "leo_deliver_failed_total{channel=\"web_push\",reason=\"retries_exhausted\"}") == 2);
	assert_true(value(s, "leo_deliver_failed_total{channel=\"email\",reason=\"consent_withdrawn\"}") == 0);
	assert_true(value(s, "leo_deliver_retries_total{channel=\"sms\"}") == 1);
	assert_true(value(s, "leo_deliver_inflight{channel=\"email\"}") == 3);
	assert_true(value(s, "leo_deliver_queued{channel=\"zalo_oa\"}") == 7);
	assert_true(value(s, "leo_deliver_channel_configured{channel=\"email\"}") == 1);
	assert_true(value(s, "leo_deliver_oldest_queued_seconds") == 12.5);
	assert_true(value(s, "leo_receipts_total{result=\"conflict\"}") == 1);
	assert_true(value(s, "leo_deliver_attempt_seconds_bucket{channel=\"email\",le=\"0.05\"}") == 1);
	assert_true(value(s, "leo_deliver_attempt_seconds_bucket{channel=\"email\",le=\"0.025\"}") == 0);
	assert_true(value(s, "leo_deliver_attempt_seconds_bucket{channel=\"whatsapp\",le=\"+Inf\"}") == 1);
	assert_true(value(s, "leo_deliver_attempt_seconds_count{channel=\"whatsapp\"}") == 1);
	assert_true(value(s, "leo_deliver_attempt_seconds_sum{channel=\"whatsapp\"}") == 40);
	/* one HELP and TYPE per family, however many series */
	assert_int_equal(count(s, "# TYPE leo_deliver_attempt_seconds histogram\n"), 1);
	assert_int_equal(count(s, "# TYPE leo_deliver_failed_total counter\n"), 1);
	assert_int_equal(count(s, "leo_deliver_failed_total{"), DC_COUNT * DR_COUNT);
	assert_int_equal(count(s, "leo_build_info{"), 1);
	assert_non_null(strstr(s, "Version of the running leo-deliver."));
	free(s);
}

static int dump(void)
{
	char *s;

	fill();
	s = render();
	fputs(s, stdout);
	free(s);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return deliver_metrics_register();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series),
	};

	if (argc > 1 && strcmp(argv[1], "--dump") == 0)
		return deliver_metrics_register() ? 1 : dump();
	return cmocka_run_group_tests(tests, setup, NULL);
}
