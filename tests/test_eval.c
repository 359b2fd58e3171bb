/*
 * test_eval.c — every operator at and around its boundary (equal, one unit
 * of the 8th decimal either side, a 9th digit), absent fields, composites,
 * and windowed moves with an injected clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "dec.h"
#include "eval.h"

#define US 1000000LL

static dec_t P(const char *s)
{
	dec_t v;
	const char *why;

	if (dec_parse(s, strlen(s), DEC_PRICE, &v, &why))
		fail_msg("bad price %s: %s", s, why);
	return v;
}

static struct cond *C(const char *json)
{
	char err[256];
	struct cond *c = cond_compile(json, strlen(json), err, sizeof(err));

	if (!c)
		fail_msg("%s: %s", json, err);
	return c;
}

static struct eval_snap snap(const char *price, const char *chg)
{
	struct eval_snap s;

	memset(&s, 0, sizeof(s));
	if (price) {
		s.has_price = true;
		s.price = P(price);
	}
	if (chg) {
		s.has_chg = true;
		s.chg = P(chg);
	}
	return s;
}

/* Does `json` hold on prev -> cur (price texts; NULL prev = no previous)? */
static bool holds(const char *json, const char *prev, const char *cur)
{
	struct cond *c = C(json);
	struct eval_snap p = snap(prev, NULL), q = snap(cur, NULL);
	bool r = eval_cond(c, prev ? &p : NULL, &q, NULL);

	cond_free(c);
	return r;
}

static void test_levels(void **state)
{
	static const struct {
		const char *op;
		bool below, sticky_below, at, sticky_above, above;
	} v[] = {
		/*           149.99999999  150.099999999  150.1  150.100000001 150.10000001 */
		{ ">",  false, false, false, true, true },
		{ ">=", false, false, true, true, true },
		{ "<",  true, true, false, false, false },
		{ "<=", true, true, true, false, false },
		{ "==", false, false, true, false, false },
		{ "!=", true, true, false, true, true },
	};
	char j[128];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(j, sizeof(j), "{\"operator\":\"%s\",\"value\":150.1}", v[i].op);
		assert_int_equal(holds(j, NULL, "150.09999999"), v[i].below);
		assert_int_equal(holds(j, NULL, "150.099999999"), v[i].sticky_below);
		assert_int_equal(holds(j, NULL, "150.1"), v[i].at);
		assert_int_equal(holds(j, NULL, "150.10000000"), v[i].at);
		assert_int_equal(holds(j, NULL, "150.100000001"), v[i].sticky_above);
		assert_int_equal(holds(j, NULL, "150.10000001"), v[i].above);
	}
	/* SPEC: {">", 150.1} does not fire at 150.1. */
	assert_false(holds("{\"operator\":\">\",\"value\":150.1}", NULL, "150.1"));
	/* Negative thresholds. */
	assert_true(holds("{\"operator\":\"<\",\"value\":-1}", NULL, "-1.000000001"));
	assert_false(holds("{\"operator\":\"<=\",\"value\":-1.00000001}", NULL, "-1.000000001"));
}

static void test_crossings(void **state)
{
	const char *ca = "{\"operator\":\"crosses_above\",\"value\":100}";
	const char *cb = "{\"operator\":\"crosses_below\",\"value\":100}";
	const char *cx = "{\"operator\":\"crosses\",\"value\":100}";

	(void)state;
	/* previous < value <= current */
	assert_true(holds(ca, "99.99999999", "100"));
	assert_true(holds(ca, "99.999999999", "100"));
	assert_false(holds(ca, "100", "100.00000001"));
	assert_true(holds(ca, "99", "101"));
	assert_false(holds(ca, "99", "99.99999999"));
	assert_false(holds(ca, "99", "99.999999999"));
	assert_true(holds(ca, "99", "100.000000001"));
	assert_false(holds(ca, "101", "99"));
	assert_false(holds(ca, NULL, "101"));
	/* previous > value >= current */
	assert_true(holds(cb, "100.00000001", "100"));
	assert_true(holds(cb, "100.000000001", "100"));
	assert_false(holds(cb, "100", "99.99999999"));
	assert_false(holds(cb, "101", "100.000000001"));
	assert_true(holds(cb, "101", "99.999999999"));
	assert_false(holds(cb, NULL, "99"));
	/* crosses: either */
	assert_true(holds(cx, "99", "100"));
	assert_true(holds(cx, "101", "100"));
	assert_false(holds(cx, "100", "100"));
	assert_false(holds(cx, "100", "101"));
	assert_false(holds(cx, "100", "99"));
}

static void test_ranges(void **state)
{
	const char *bt = "{\"operator\":\"between\",\"low\":10,\"high\":20}";
	const char *os = "{\"operator\":\"outside\",\"low\":10,\"high\":20}";
	const char *en = "{\"operator\":\"enters\",\"low\":10,\"high\":20}";
	const char *ex = "{\"operator\":\"exits\",\"low\":10,\"high\":20}";

	(void)state;
	assert_false(holds(bt, NULL, "9.99999999"));
	assert_false(holds(bt, NULL, "9.999999999"));
	assert_true(holds(bt, NULL, "10"));
	assert_true(holds(bt, NULL, "10.000000001"));
	assert_true(holds(bt, NULL, "20"));
	assert_false(holds(bt, NULL, "20.000000001"));
	assert_false(holds(bt, NULL, "20.00000001"));
	assert_true(holds(os, NULL, "9.999999999"));
	assert_false(holds(os, NULL, "10"));
	assert_false(holds(os, NULL, "20"));
	assert_true(holds(os, NULL, "20.000000001"));
	assert_true(holds(en, "9.99999999", "10"));
	assert_true(holds(en, "25", "20"));
	assert_false(holds(en, "10", "11"));
	assert_false(holds(en, "9", "9.999999999"));
	assert_false(holds(en, NULL, "15"));
	assert_true(holds(ex, "20", "20.000000001"));
	assert_true(holds(ex, "10", "9.99999999"));
	assert_false(holds(ex, "21", "22"));
	assert_false(holds(ex, "10", "20"));
	assert_false(holds(ex, NULL, "5"));
	/* low == high */
	assert_true(holds("{\"operator\":\"between\",\"low\":5,\"high\":5}", NULL, "5"));
	assert_false(holds("{\"operator\":\"between\",\"low\":5,\"high\":5}", NULL, "5.000000001"));
}

static void test_fields(void **state)
{
	struct cond *c = C("{\"field\":\"change_percent\",\"operator\":\">\",\"value\":-2.5}");
	struct cond *x = C("{\"field\":\"change_percent\",\"operator\":\"crosses_below\",\"value\":0}");
	struct cond *n = C("{\"not\":{\"field\":\"change_percent\",\"operator\":\">\",\"value\":0}}");
	struct eval_snap a = snap("1", "-2.49999999"), b = snap("1", "-2.5"),
			 nul = snap("1", NULL), neg = snap("1", "-0.1");

	(void)state;
	assert_true(eval_cond(c, NULL, &a, NULL));
	assert_false(eval_cond(c, NULL, &b, NULL));
	assert_false(eval_cond(c, NULL, &nul, NULL));	/* NULL: no leaf holds */
	assert_true(eval_cond(x, &a, &neg, NULL) == false);	/* -2.49 -> -0.1: no */
	assert_true(eval_cond(x, &neg, &a, NULL) == false);
	{
		struct eval_snap up = snap("1", "0.5");

		assert_true(eval_cond(x, &up, &neg, NULL));
		assert_false(eval_cond(x, &nul, &neg, NULL));	/* no previous chg */
	}
	assert_true(eval_cond(n, NULL, &nul, NULL));	/* not(false) */
	cond_free(c);
	cond_free(x);
	cond_free(n);
}

static void test_composites(void **state)
{
	const char *j = "{\"all\":[{\"operator\":\">\",\"value\":10},"
			"{\"any\":[{\"operator\":\"<\",\"value\":12},{\"operator\":\"==\",\"value\":20}]},"
			"{\"not\":{\"operator\":\"between\",\"low\":11,\"high\":11.5}}]}";

	(void)state;
	assert_false(holds(j, NULL, "10"));
	assert_true(holds(j, NULL, "10.5"));
	assert_false(holds(j, NULL, "11.2"));
	assert_true(holds(j, NULL, "11.50000001"));
	assert_false(holds(j, NULL, "12"));
	assert_true(holds(j, NULL, "20"));
	assert_false(holds(j, NULL, "20.000000001"));
	assert_true(holds("{\"any\":[{\"operator\":\"crosses_above\",\"value\":5},"
			  "{\"operator\":\"crosses_below\",\"value\":5}]}", "6", "5"));
}

static void test_moves_arith(void **state)
{
	dec_t pct10 = P("10");

	(void)state;
	/* up: cur >= lo * 1.1 */
	assert_true(eval_moved_up(P("110"), P("100"), pct10));
	assert_false(eval_moved_up(P("109.99999999"), P("100"), pct10));
	assert_true(eval_moved_up(P("110.00000001"), P("100"), pct10));
	assert_false(eval_moved_up(P("100"), P("100"), pct10));
	assert_true(eval_moved_up(P("0.00000011"), P("0.0000001"), pct10));
	assert_false(eval_moved_up(P("0.00000010"), P("0.0000001"), pct10));
	/* down: cur <= hi * 0.9 */
	assert_true(eval_moved_down(P("90"), P("100"), pct10));
	assert_false(eval_moved_down(P("90.00000001"), P("100"), pct10));
	assert_true(eval_moved_down(P("-10"), P("100"), P("110")));
	assert_false(eval_moved_down(P("-9.99999999"), P("100"), P("110")));
	/* negative prices: the move is relative to |base| */
	assert_true(eval_moved_up(P("-9"), P("-10"), pct10));
	assert_false(eval_moved_up(P("-9.00000001"), P("-10"), pct10));
	assert_true(eval_moved_down(P("-11"), P("-10"), pct10));
	/* zero base: cur >= 0 * 1.1 holds for any cur >= 0 */
	assert_true(eval_moved_up(P("0.00000001"), P("0"), pct10));
	assert_true(eval_moved_up(P("0"), P("0"), pct10));
	assert_false(eval_moved_up(P("-0.00000001"), P("0"), pct10));
	/* extremes: no overflow at the saturation bounds and the largest pct */
	{
		dec_t big = P("999999999999.99999999");

		assert_false(eval_moved_up(DEC_MAX, DEC_MAX - 2, big));
		assert_true(eval_moved_up(DEC_MAX, -DEC_MAX, P("200")));
		assert_false(eval_moved_up(DEC_MAX, -DEC_MAX, P("200.00000001")));
		assert_true(eval_moved_down(-DEC_MAX, DEC_MAX, P("200")));
		assert_false(eval_moved_down(-DEC_MAX, DEC_MAX, big));
		assert_true(eval_moved_up(DEC_MAX, P("0.00000001"), big));
		assert_true(eval_moved_down(P("-0.00000001"), P("0.00000001"), P("200")));
	}
}

static void test_window(void **state)
{
	struct eval_window *w = eval_window_new();
	struct cond *up = C("{\"operator\":\"moves_up_pct\",\"value\":10,\"window_seconds\":60}");
	struct cond *dn = C("{\"operator\":\"moves_down_pct\",\"value\":5,\"window_seconds\":10}");
	struct eval_snap s;
	dec_t lo, hi;
	int64_t t = 1700000000 * US;

	(void)state;
	assert_non_null(w);
	assert_int_equal(eval_window_ref(w, 60), 0);
	assert_int_equal(eval_window_ref(w, 10), 0);
	assert_false(eval_window_extremes(w, 60, &lo, &hi));
	s = snap("200", NULL);
	assert_false(eval_cond(up, NULL, &s, w));	/* empty window */
	assert_false(eval_cond(up, NULL, &s, NULL));

	/* prices 100 @0s, 105 @5s, 103 @20s */
	assert_int_equal(eval_window_push(w, t, P("100")), 0);
	assert_int_equal(eval_window_push(w, t + 5 * US, P("105")), 0);
	assert_int_equal(eval_window_push(w, t + 20 * US, P("103")), 0);
	eval_window_advance(w, t + 21 * US);
	assert_true(eval_window_extremes(w, 60, &lo, &hi));
	assert_true(lo == P("100") && hi == P("105"));
	assert_true(eval_window_extremes(w, 10, &lo, &hi));	/* only 103 left */
	assert_true(lo == P("103") && hi == P("103"));
	s = snap("110", NULL);
	assert_true(eval_cond(up, NULL, &s, w));
	s = snap("109.99999999", NULL);
	assert_false(eval_cond(up, NULL, &s, w));
	s = snap("97.85", NULL);	/* 103 * 0.95 */
	assert_true(eval_cond(dn, NULL, &s, w));
	s = snap("97.85000001", NULL);
	assert_false(eval_cond(dn, NULL, &s, w));

	/* At 60s the 100 @0s is exactly window_seconds old and still in. */
	eval_window_advance(w, t + 60 * US);
	assert_true(eval_window_extremes(w, 60, &lo, &hi));
	assert_true(lo == P("100"));
	eval_window_advance(w, t + 60 * US + 1);
	assert_true(eval_window_extremes(w, 60, &lo, &hi));
	assert_true(lo == P("103") && hi == P("105"));
	s = snap("110", NULL);
	assert_false(eval_cond(up, NULL, &s, w));	/* 110 < 103 * 1.1 */
	s = snap("113.3", NULL);
	assert_true(eval_cond(up, NULL, &s, w));
	eval_window_advance(w, t + 200 * US);
	assert_false(eval_window_extremes(w, 60, &lo, &hi));

	/* A long monotone run keeps the deques right (and grows them). */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(eval_window_push(w, t + (300 + i) * US, (dec_t)(1000 + i) * DEC_ONE), 0);
	assert_true(eval_window_extremes(w, 60, &lo, &hi));
	assert_true(lo == (dec_t)(1000 + 939) * DEC_ONE);	/* t >= now - 60 s */
	assert_true(hi == (dec_t)(1000 + 999) * DEC_ONE);
	assert_true(eval_window_extremes(w, 10, &lo, &hi));
	assert_true(lo == (dec_t)(1000 + 989) * DEC_ONE);

	eval_window_unref(w, 10);
	assert_false(eval_window_extremes(w, 10, &lo, &hi));
	assert_true(eval_window_extremes(w, 60, &lo, &hi));
	eval_window_unref(w, 60);
	assert_true(eval_window_empty(w));
	eval_window_free(w);
	cond_free(up);
	cond_free(dn);
}

/* The sliding extremes agree with a brute-force scan on a random path. */
static void test_window_random(void **state)
{
	struct eval_window *w = eval_window_new();
	enum { N = 5000 };
	static int64_t ts[N];
	static dec_t ps[N];
	int64_t t = 0;

	(void)state;
	assert_int_equal(eval_window_ref(w, 7), 0);
	srandom(11);
	for (int i = 0; i < N; i++) {
		dec_t lo, hi, blo = 0, bhi = 0;
		bool any = false;

		t += (random() % 3000) * 1000;
		eval_window_advance(w, t);
		for (int k = 0; k < i; k++)
			if (ts[k] >= t - 7 * US) {
				if (!any || ps[k] < blo)
					blo = ps[k];
				if (!any || ps[k] > bhi)
					bhi = ps[k];
				any = true;
			}
		assert_int_equal(eval_window_extremes(w, 7, &lo, &hi), any);
		if (any)
			assert_true(lo == blo && hi == bhi);
		ts[i] = t;
		ps[i] = (dec_t)(random() % 1000) * 2;
		assert_int_equal(eval_window_push(w, t, ps[i]), 0);
	}
	eval_window_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_crossings),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_composites),
		cmocka_unit_test(test_moves_arith),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_window_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
