/* test_bq.c — the bounded queue: FIFO order across the ring's wrap, full and
 * closed pushes, timed pops, and one producer thread against one consumer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "bq.h"

static void test_fifo_wrap(void **state)
{
	struct bq q;
	int out[8], v;
	(void)state;
	assert_int_equal(bq_init(&q, 4, sizeof(int)), 0);
	for (v = 0; v < 3; v++)
		assert_int_equal(bq_try_push(&q, &v), 0);
	assert_int_equal(bq_pop(&q, out, 2, 0), 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	/* 2 is at the ring's slot 2; three more wrap past the end */
	for (v = 3; v < 6; v++)
		assert_int_equal(bq_try_push(&q, &v), 0);
	assert_int_equal(bq_try_push(&q, &v), -1);	/* full */
	assert_int_equal(bq_len(&q), 4);
	assert_int_equal(bq_pop(&q, out, 8, 0), 4);
	for (v = 0; v < 4; v++)
		assert_int_equal(out[v], v + 2);
	assert_int_equal(bq_pop(&q, out, 8, 0), 0);
	bq_destroy(&q);
}

static void test_close(void **state)
{
	struct bq q;
	int out[4], v = 7;
	(void)state;
	assert_int_equal(bq_init(&q, 2, sizeof(int)), 0);
	assert_int_equal(bq_push(&q, &v), 0);
	assert_false(bq_closed(&q));
	bq_close(&q);
	assert_true(bq_closed(&q));
	assert_int_equal(bq_push(&q, &v), -1);
	assert_int_equal(bq_try_push(&q, &v), -1);
	assert_false(bq_drained(&q));
	assert_int_equal(bq_pop(&q, out, 4, -1), 1);	/* what was queued drains */
	assert_int_equal(out[0], 7);
	assert_true(bq_drained(&q));
	assert_int_equal(bq_pop(&q, out, 4, -1), 0);	/* and then never waits */
	bq_destroy(&q);
}

static void test_timeout(void **state)
{
	struct bq q;
	struct timespec a, b;
	int out;
	long ms;
	(void)state;
	assert_int_equal(bq_init(&q, 1, sizeof(int)), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(bq_pop(&q, &out, 1, 50), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 45);
	bq_destroy(&q);
}

static void *kicker(void *arg)
{
	struct timespec ts = { 0, 20 * 1000000 };

	nanosleep(&ts, NULL);
	bq_kick(arg);
	return NULL;
}

/* A kick before the wait is kept; one during it ends the wait; each once. */
static void test_kick(void **state)
{
	struct bq q;
	pthread_t t;
	int out, v = 7;
	(void)state;
	assert_int_equal(bq_init(&q, 2, sizeof(int)), 0);
	bq_kick(&q);
	assert_int_equal(bq_pop(&q, &out, 1, -1), 0);		/* kept: no hang */
	assert_int_equal(bq_pop(&q, &out, 1, 0), 0);		/* consumed */
	assert_int_equal(pthread_create(&t, NULL, kicker, &q), 0);
	assert_int_equal(bq_pop(&q, &out, 1, -1), 0);		/* woken, empty */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(bq_push(&q, &v), 0);
	bq_kick(&q);
	assert_int_equal(bq_pop(&q, &out, 1, -1), 1);		/* items win */
	assert_int_equal(out, 7);
	assert_int_equal(bq_pop(&q, &out, 1, 30), 0);		/* kick was consumed */
	bq_destroy(&q);
}

static void test_bad_init(void **state)
{
	struct bq q;
	(void)state;
	assert_int_equal(bq_init(&q, 0, 4), -1);
	assert_int_equal(bq_init(&q, 4, 0), -1);
	assert_int_equal(bq_init(&q, SIZE_MAX / 2, 4), -1);
	bq_destroy(&q);	/* safe after a failed init */
}

#define N_ITEMS 100000

static void *producer(void *arg)
{
	struct bq *q = arg;

	for (int v = 0; v < N_ITEMS; v++)
		if (bq_push(q, &v))
			return (void *)1;
	bq_close(q);
	return NULL;
}

/* A tiny ring makes the producer wait on full and the consumer on empty. */
static void test_threads(void **state)
{
	struct bq q;
	pthread_t t;
	int out[3], next = 0;
	size_t n;
	void *rc;
	(void)state;
	assert_int_equal(bq_init(&q, 3, sizeof(int)), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, &q), 0);
	while ((n = bq_pop(&q, out, 3, -1)) > 0)
		for (size_t i = 0; i < n; i++)
			assert_int_equal(out[i], next++);
	assert_int_equal(pthread_join(t, &rc), 0);
	assert_null(rc);
	assert_int_equal(next, N_ITEMS);
	bq_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_wrap),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_bad_init),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
