/*
 * test_ratelimit.c — a channel's rate_per_second (ratelimit.c): unlimited,
 * a full bucket at start, refill at the rate, never more than a second's
 * worth, the wait until the next token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

static void test_unlimited(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 0);
	assert_int_equal(ratelimit_take(&rl, 1000000, 0), 1000000);
	assert_int_equal(ratelimit_wait_us(&rl, 0), 0);
}

static void test_rate(void **state)
{
	struct ratelimit rl;
	int total = 0;

	(void)state;
	ratelimit_init(&rl, 10, 0);
	assert_int_equal(ratelimit_take(&rl, 25, 0), 10);	/* one second's worth */
	assert_int_equal(ratelimit_take(&rl, 1, 0), 0);
	assert_int_equal(ratelimit_wait_us(&rl, 0), 100001);
	ratelimit_give(&rl, 3);					/* claimed fewer */
	assert_int_equal(ratelimit_take(&rl, 5, 0), 3);
	ratelimit_give(&rl, 50);				/* never past a second's worth */
	assert_int_equal(ratelimit_take(&rl, 50, 0), 10);
	assert_int_equal(ratelimit_take(&rl, 5, 50000), 0);	/* half a token */
	assert_int_equal(ratelimit_take(&rl, 5, 100000), 1);
	/* ten seconds at a steady ask of 3 per 100 ms: 10 per second pass */
	for (int64_t t = 200000; t <= 10100000; t += 100000)
		total += ratelimit_take(&rl, 3, t);
	assert_int_equal(total, 100);
	/* an idle hour refills one second's worth, not an hour's */
	assert_int_equal(ratelimit_take(&rl, 1000, 3600000000LL), 10);
	assert_int_equal(ratelimit_take(&rl, 0, 3700000000LL), 0);
	assert_int_equal(ratelimit_wait_us(&rl, 3700000000LL), 0);
}

/* A clock that steps back takes nothing it did not have. */
static void test_clock_back(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 2, 1000000);
	assert_int_equal(ratelimit_take(&rl, 2, 1000000), 2);
	assert_int_equal(ratelimit_take(&rl, 2, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 2, 1500000), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_clock_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
