/* test_ruleidx.c — the threshold index against a brute-force multiset:
 * adds, deletes (pending and merged, dead entries), merges, range, prefix
 * and full look-ups from every side of the cursor, duplicate keys and
 * duplicate (key, rule) entries, and keys beyond 64 bits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dec.h"
#include "ruleidx.h"

#define MAXE 6000

/* The model: every live (key, rule) entry, in any order. */
struct model {
	dec_t key[MAXE];
	uint32_t rule[MAXE];
	uint32_t n;
};

static struct model m;
static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* Keys from a small set (many duplicates), some far beyond 2^64. */
static dec_t some_key(void)
{
	dec_t k = (dec_t)rnd(300) * DEC_ONE;

	if (rnd(8) == 0)
		k = k * ((dec_t)1 << 40) + 7;	/* ~2^70 */
	return rnd(5) == 0 ? -k : k;
}

/* What a look-up reported, as a sorted list of rules. */
struct got {
	uint32_t rule[MAXE];
	uint32_t n;
};

static void collect(void *arg, uint32_t rule)
{
	struct got *g = arg;

	assert_true(g->n < MAXE);
	assert_int_equal(rule & RULEIDX_DEAD, 0);
	g->rule[g->n++] = rule;
}

static int ucmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The model's rules with a key in [lo, hi], sorted. */
static void expect(struct got *e, dec_t lo, dec_t hi)
{
	e->n = 0;
	for (uint32_t i = 0; i < m.n; i++)
		if (m.key[i] >= lo && m.key[i] <= hi)
			e->rule[e->n++] = m.rule[i];
	qsort(e->rule, e->n, sizeof(e->rule[0]), ucmp);
}

static void same(struct got *g, struct got *e)
{
	qsort(g->rule, g->n, sizeof(g->rule[0]), ucmp);
	assert_int_equal(g->n, e->n);
	assert_memory_equal(g->rule, e->rule, g->n * sizeof(g->rule[0]));
}

static struct got g, e;

static void check_range(struct ruleidx *x, dec_t lo, dec_t hi)
{
	g.n = 0;
	ruleidx_range(x, lo, hi, collect, &g);
	expect(&e, lo, hi);
	same(&g, &e);
}

static void check_all(struct ruleidx *x)
{
	dec_t big = (dec_t)1 << 100;

	g.n = 0;
	ruleidx_all(x, collect, &g);
	expect(&e, -big, big);
	same(&g, &e);
	g.n = 0;
	ruleidx_upto(x, 150 * DEC_ONE, collect, &g);
	expect(&e, -big, 150 * DEC_ONE);
	same(&g, &e);
}

static void add(struct ruleidx *x, dec_t key, uint32_t rule)
{
	assert_true(m.n < MAXE);
	assert_int_equal(ruleidx_add(x, key, rule), 0);
	m.key[m.n] = key;
	m.rule[m.n++] = rule;
}

/* Delete the model's entry i (one copy of its key and rule). */
static void del(struct ruleidx *x, uint32_t i)
{
	ruleidx_del(x, m.key[i], m.rule[i]);
	m.n--;
	m.key[i] = m.key[m.n];
	m.rule[i] = m.rule[m.n];
}

/* main is sorted by (key, rule) and counts its dead entries right. */
static void check_sorted(const struct ruleidx *x)
{
	uint32_t dead = 0;

	for (uint32_t p = 0; p < x->n; p++) {
		if (x->main[p].rule & RULEIDX_DEAD)
			dead++;
		if (p > 0)
			assert_true(ruleidx_key(&x->main[p - 1]) <= ruleidx_key(&x->main[p]));
	}
	assert_int_equal(dead, x->dead);
}

static void test_empty(void **state)
{
	struct ruleidx x = { 0 };

	(void)state;
	m.n = 0;
	assert_int_equal(ruleidx_lower(&x, 5), 0);
	check_range(&x, -DEC_ONE, DEC_ONE);
	check_all(&x);
	ruleidx_del(&x, 5, 1);		/* not there: nothing */
	assert_int_equal(ruleidx_merge(&x), 0);
	ruleidx_free(&x);
}

/* Small and exact: duplicate keys, duplicate entries, bounds inclusive. */
static void test_duplicates(void **state)
{
	struct ruleidx x = { 0 };

	(void)state;
	m.n = 0;
	add(&x, 10 * DEC_ONE, 1);
	add(&x, 10 * DEC_ONE, 2);
	add(&x, 10 * DEC_ONE, 2);	/* between 10 and 10: one rule, two keys */
	add(&x, 20 * DEC_ONE, 3);
	add(&x, 5 * DEC_ONE, 4);
	check_range(&x, 10 * DEC_ONE, 10 * DEC_ONE);
	assert_int_equal(g.n, 3);
	check_range(&x, 10 * DEC_ONE + 1, 20 * DEC_ONE - 1);
	assert_int_equal(g.n, 0);
	check_range(&x, 10 * DEC_ONE, 20 * DEC_ONE);
	assert_int_equal(g.n, 4);
	/* merged: the same answers from the sorted part */
	assert_int_equal(ruleidx_merge(&x), 0);
	assert_int_equal(x.pn, 0);
	assert_int_equal(x.n, 5);
	check_sorted(&x);
	check_range(&x, 10 * DEC_ONE, 10 * DEC_ONE);
	assert_int_equal(g.n, 3);
	/* deleting one copy of (10, 2) leaves the other */
	ruleidx_del(&x, 10 * DEC_ONE, 2);
	assert_int_equal(x.dead, 1);
	m.n = 0;
	add(&x, 0, 0);			/* pending again */
	m.key[0] = 10 * DEC_ONE, m.rule[0] = 1;
	m.key[1] = 10 * DEC_ONE, m.rule[1] = 2;
	m.key[2] = 20 * DEC_ONE, m.rule[2] = 3;
	m.key[3] = 5 * DEC_ONE, m.rule[3] = 4;
	m.key[4] = 0, m.rule[4] = 0;
	m.n = 5;
	check_range(&x, 10 * DEC_ONE, 10 * DEC_ONE);
	assert_int_equal(g.n, 2);
	check_all(&x);
	/* a pending entry is deleted from the pending array */
	del(&x, 4);
	assert_int_equal(x.pn, 0);
	check_all(&x);
	check_sorted(&x);
	ruleidx_free(&x);
}

/* Half dead: the next delete merges them away. */
static void test_dead_merge(void **state)
{
	struct ruleidx x = { 0 };

	(void)state;
	m.n = 0;
	for (uint32_t r = 0; r < 100; r++)
		add(&x, (dec_t)r * DEC_ONE, r);
	assert_int_equal(ruleidx_merge(&x), 0);
	assert_int_equal(x.n, 100);
	while (m.n > 49) {
		del(&x, 0);
		check_sorted(&x);
	}
	assert_int_equal(x.dead, 0);
	assert_int_equal(x.n, 49);
	check_all(&x);
	while (m.n)
		del(&x, m.n - 1);
	assert_int_equal(x.n + x.pn, 0);
	check_all(&x);
	ruleidx_free(&x);
}

/* Random adds and deletes, checked after every step against the model,
 * with look-ups that walk like prices (near the last one) or jump. */
static void test_random(void **state)
{
	struct ruleidx x = { 0 };
	dec_t at = 0;

	(void)state;
	m.n = 0;
	for (int step = 0; step < 40000; step++) {
		uint32_t op = rnd(100);

		if (op < 45 && m.n < MAXE - 1) {
			add(&x, some_key(), rnd(50));
		} else if (op < 60 && m.n > 0) {
			del(&x, rnd(m.n));
		} else if (op < 62) {
			assert_int_equal(ruleidx_merge(&x), 0);
			assert_int_equal(x.pn, 0);
			assert_int_equal(x.dead, 0);
			check_sorted(&x);
		} else if (op < 63) {
			check_all(&x);
		} else {
			dec_t lo, hi;

			if (rnd(10) == 0)
				at = some_key();
			else
				at += ((dec_t)rnd(2001) - 1000) * DEC_ONE / 100;
			lo = at;
			hi = at + (dec_t)rnd(3000) * DEC_ONE / 100;
			check_range(&x, lo, hi);
			assert_true(x.cursor <= x.n);
		}
		if (step % 997 == 0)
			check_sorted(&x);
	}
	/* a bulk load into a large index, then deletes through the pending part */
	while (m.n)
		del(&x, rnd(m.n));
	for (uint32_t i = 0; i < 5000; i++)
		add(&x, some_key(), i);
	check_all(&x);
	for (uint32_t i = 0; i < 2500; i++)
		del(&x, rnd(m.n));
	check_range(&x, -100 * DEC_ONE, 100 * DEC_ONE);
	check_all(&x);
	check_sorted(&x);
	ruleidx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_dead_merge),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
