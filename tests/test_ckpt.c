/*
 * test_ckpt.c — the checkpoint table (ckpt.c): a checkpoint follows the
 * last tick only once none of its symbol's events is pending, never runs
 * ahead of an event not yet done, and is taken once per advance (given
 * back after a failed write).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ckpt.h"

/* Take what advanced: how many rows; the price of `sym` in *price (-1: none). */
static size_t take(struct ckpt *c, const char *sym, dec_t *price, int64_t *obs)
{
	struct ckpt_rows rows = { 0 };
	size_t n;

	*price = -1;
	assert_int_equal(ckpt_take(c, &rows), 0);
	for (size_t i = 0; i < rows.n; i++)
		if (strcmp(rows.r[i].symbol, sym) == 0) {
			*price = rows.r[i].price;
			if (obs)
				*obs = rows.r[i].observed_us;
		}
	n = rows.n;
	ckpt_rows_free(&rows);
	return n;
}

static void test_quiet_ticks(void **state)
{
	struct ckpt *c = ckpt_new();
	dec_t p;
	int64_t obs;

	(void)state;
	assert_non_null(c);
	assert_false(ckpt_dirty(c));
	ckpt_ticked(c, "S", 10, false, 0, 100);
	ckpt_ticked(c, "S", 11, false, 0, 101);
	assert_true(ckpt_dirty(c));
	assert_int_equal(take(c, "S", &p, &obs), 1);
	assert_true(p == 11 && obs == 101);
	assert_false(ckpt_dirty(c));	/* taken once */
	assert_int_equal(take(c, "S", &p, NULL), 0);
	ckpt_free(c);
}

static void test_pending_holds_it_back(void **state)
{
	struct ckpt *c = ckpt_new();
	dec_t p;

	(void)state;
	ckpt_ticked(c, "S", 10, false, 0, 100);
	assert_int_equal(take(c, "S", &p, NULL), 1);
	/* tick 20 fires twice; tick 21 fires nothing; tick 22 fires once */
	ckpt_fired(c, "S");
	ckpt_fired(c, "S");
	ckpt_ticked(c, "S", 20, false, 0, 200);
	ckpt_ticked(c, "S", 21, false, 0, 201);
	ckpt_fired(c, "S");
	ckpt_ticked(c, "S", 22, false, 0, 202);
	assert_false(ckpt_dirty(c));	/* still at 10 */
	ckpt_done(c, "S", 2);
	assert_false(ckpt_dirty(c));	/* tick 22's event is pending */
	/* another symbol is not held back */
	ckpt_ticked(c, "T", 5, true, 3, 203);
	assert_int_equal(take(c, "T", &p, NULL), 1);
	assert_true(p == 5);
	ckpt_done(c, "S", 1);
	assert_int_equal(take(c, "S", &p, NULL), 1);
	assert_true(p == 22);
	ckpt_free(c);
}

static void test_done_before_ticked(void **state)
{
	struct ckpt *c = ckpt_new();
	dec_t p;
	int64_t obs;

	(void)state;
	ckpt_ticked(c, "S", 10, false, 0, 100);
	assert_int_equal(take(c, "S", &p, NULL), 1);
	/* a writer may commit a firing before its worker ends the tick */
	ckpt_fired(c, "S");
	ckpt_done(c, "S", 1);
	assert_false(ckpt_dirty(c));	/* the last tick evaluated is still 10 */
	ckpt_ticked(c, "S", 30, false, 0, 300);
	assert_int_equal(take(c, "S", &p, &obs), 1);
	assert_true(p == 30 && obs == 300);
	ckpt_free(c);
}

static void test_untake(void **state)
{
	struct ckpt *c = ckpt_new();
	struct ckpt_rows rows = { 0 };
	dec_t p;

	(void)state;
	ckpt_ticked(c, "S", 10, false, 0, 100);
	assert_int_equal(ckpt_take(c, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_false(ckpt_dirty(c));
	ckpt_untake(c, &rows);		/* the write failed */
	ckpt_rows_free(&rows);
	assert_true(ckpt_dirty(c));
	assert_int_equal(take(c, "S", &p, NULL), 1);
	assert_true(p == 10);
	ckpt_free(c);
}

static void test_many_symbols(void **state)
{
	struct ckpt *c = ckpt_new();
	struct ckpt_rows rows = { 0 };
	char sym[16];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(sym, sizeof(sym), "S%d", i);
		ckpt_ticked(c, sym, i, false, 0, i + 1);
	}
	assert_int_equal(ckpt_take(c, &rows), 0);
	assert_int_equal(rows.n, 1000);
	for (size_t i = 0; i < rows.n; i++) {
		snprintf(sym, sizeof(sym), "S%lld", (long long)rows.r[i].price);
		assert_string_equal(rows.r[i].symbol, sym);
	}
	ckpt_rows_free(&rows);
	ckpt_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_ticks),
		cmocka_unit_test(test_pending_holds_it_back),
		cmocka_unit_test(test_done_before_ticked),
		cmocka_unit_test(test_untake),
		cmocka_unit_test(test_many_symbols),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
