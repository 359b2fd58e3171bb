/*
 * test_outcome.c — an attempt's result -> the delivery's move (outcome.c):
 * classes, backoff growth, cap and jitter bounds, Retry-After, the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "outcome.h"

static const struct outcome_policy pol = { .retry_initial_ms = 1000, .retry_max_ms = 300000,
					   .max_attempts = 8, .max_age_s = 86400 };

static struct tr_result result(enum tr_class cls, int retry_after_s)
{
	struct tr_result r = { .cls = cls, .retry_after_s = retry_after_s };

	return r;
}

static void test_classes(void **state)
{
	struct outcome_policy delivered = pol;
	struct tr_result ok = result(TR_OK, -1), bad = result(TR_FAIL, -1);
	struct outcome o;

	(void)state;
	outcome_decide(&pol, &ok, 1, 0, 0, 0, &o);
	assert_int_equal(o.move, OM_SENT);
	delivered.accept_means_delivered = true;
	outcome_decide(&delivered, &ok, 1, 0, 0, 0, &o);
	assert_int_equal(o.move, OM_DELIVERED);
	outcome_decide(&pol, &bad, 1, 0, 0, 0, &o);
	assert_int_equal(o.move, OM_FAILED);
	assert_int_equal(o.reason, DR_REJECTED);
	assert_string_equal(outcome_move_names[OM_RETRY], "retry");
}

/* Doubling from retry_initial_ms, capped, jitter within [d/2, d]. */
static void test_backoff(void **state)
{
	(void)state;
	for (int a = 1; a <= 12; a++) {
		int64_t d = 1000LL << (a - 1);

		if (d > 300000)
			d = 300000;
		assert_int_equal(outcome_backoff_ms(&pol, a, 0), d - d / 2);
		assert_int_equal(outcome_backoff_ms(&pol, a, (uint32_t)(d / 2)), d);
		for (uint32_t rnd = 0; rnd < 100000; rnd += 7919) {
			int64_t w = outcome_backoff_ms(&pol, a, rnd);

			assert_true(w >= d - d / 2 && w <= d);
		}
	}
	assert_int_equal(outcome_backoff_ms(&pol, 1000, 0), 150000);	/* no overflow */
}

static void test_retry(void **state)
{
	struct tr_result r = result(TR_RETRY, -1), later = result(TR_RETRY, 120);
	struct outcome o;

	(void)state;
	outcome_decide(&pol, &r, 1, 0, 5000000, 0, &o);
	assert_int_equal(o.move, OM_RETRY);
	assert_int_equal(o.next_us, 5000000 + 500 * 1000);
	/* Retry-After longer than the backoff wins */
	outcome_decide(&pol, &later, 1, 0, 0, 0, &o);
	assert_int_equal(o.move, OM_RETRY);
	assert_int_equal(o.next_us, 120 * 1000000LL);
	/* the last attempt */
	outcome_decide(&pol, &r, 8, 0, 0, 0, &o);
	assert_int_equal(o.move, OM_FAILED);
	assert_int_equal(o.reason, DR_RETRIES_EXHAUSTED);
	outcome_decide(&pol, &r, 7, 0, 0, 0, &o);
	assert_int_equal(o.move, OM_RETRY);
	/* too old for the next attempt */
	outcome_decide(&pol, &r, 1, 86399.8, 0, 0, &o);
	assert_int_equal(o.move, OM_FAILED);
	assert_int_equal(o.reason, DR_RETRIES_EXHAUSTED);
	outcome_decide(&pol, &later, 1, 86400 - 100, 0, 0, &o);
	assert_int_equal(o.move, OM_FAILED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
