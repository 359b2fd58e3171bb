/*
 * test_batch.c — batch.c: per-tenant batches, a rule's later firings
 * behind its first, the row bound, retries of transient failures and the
 * bisection that drops only the firing that cannot be written.  The
 * database is a fake exec callback that records every transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"

#define MAX_TX 64
#define MAX_EV 64

/* What the fake database saw, and how it answers. */
struct fake {
	int ntx;
	char tenant[MAX_TX][TENANT_ID_SIZE];
	size_t n[MAX_TX];
	int64_t seq[MAX_TX][MAX_EV];	/* rule number * 100 + seq */
	int retry_left;			/* answer BATCH_RETRY this many times */
	int64_t bad;			/* a transaction holding it is BATCH_BAD */
	int retries[16], nretries;
	bool give_up;
	int committed[1000];		/* per (rule*100+seq): times committed */
};

static int64_t key(const struct batch_ev *e)
{
	return atoi(e->ev.rule_id) * 100 + e->ev.seq;
}

static enum batch_result fake_exec(void *arg, const char *tenant, const struct batch_ev *evs,
				   size_t n, char **err)
{
	struct fake *f = arg;
	int tx = f->ntx++;

	assert_true(tx < MAX_TX && n <= MAX_EV);
	snprintf(f->tenant[tx], sizeof(f->tenant[tx]), "%s", tenant);
	f->n[tx] = n;
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(evs[i].ev.tenant_id, tenant);	/* one tenant */
		f->seq[tx][i] = key(&evs[i]);
	}
	if (f->retry_left > 0) {
		f->retry_left--;
		*err = strdup("connection lost");
		return BATCH_RETRY;
	}
	for (size_t i = 0; i < n; i++)
		if (key(&evs[i]) == f->bad) {
			*err = strdup("violates check constraint");
			return BATCH_BAD;
		}
	for (size_t i = 0; i < n; i++)
		f->committed[key(&evs[i])]++;
	return BATCH_OK;
}

static bool fake_retry(void *arg, int attempt)
{
	struct fake *f = arg;

	f->retries[f->nretries++] = attempt;
	return !f->give_up;
}

static struct batch_ev ev(const char *tenant, int rule, int64_t seq)
{
	struct batch_ev e;

	memset(&e, 0, sizeof(e));
	e.ev.kind = RULES_FIRE;
	snprintf(e.ev.tenant_id, sizeof(e.ev.tenant_id), "%s", tenant);
	snprintf(e.ev.rule_id, sizeof(e.ev.rule_id), "%d", rule);
	e.ev.seq = seq;
	return e;
}

struct env {
	struct fake f;
	struct batch_ops ops;
	struct batch_set set;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->ops = (struct batch_ops){ fake_exec, fake_retry, &e->f, NULL };
	e->set.ops = &e->ops;
	e->set.rows = 100;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	batch_free(&e->set);
	free(e);
	return 0;
}

static void add(struct env *e, const char *tenant, int rule, int64_t seq)
{
	struct batch_ev x = ev(tenant, rule, seq);

	batch_add(&e->set, &x);
}

/* Two tenants: two batches, one transaction each, nothing before the flush. */
static void test_tenants(void **state)
{
	struct env *e = *state;

	assert_int_equal(batch_deadline(&e->set, 10), -1);
	add(e, "A", 1, 1);
	add(e, "B", 2, 1);
	add(e, "A", 3, 1);
	assert_true(batch_pending(&e->set));
	assert_true(batch_deadline(&e->set, 10) >= 10);
	assert_int_equal(e->f.ntx, 0);
	batch_flush_all(&e->set);
	assert_int_equal(e->f.ntx, 2);
	assert_string_equal(e->f.tenant[0], "A");
	assert_int_equal(e->f.n[0], 2);
	assert_int_equal(e->f.seq[0][0], 101);
	assert_int_equal(e->f.seq[0][1], 301);
	assert_string_equal(e->f.tenant[1], "B");
	assert_int_equal(e->f.n[1], 1);
	assert_false(batch_pending(&e->set));
	assert_int_equal(batch_deadline(&e->set, 10), -1);
}

/* A rule's second and third firings wait for the first, each in order. */
static void test_later(void **state)
{
	struct env *e = *state;

	add(e, "A", 1, 1);
	add(e, "A", 2, 1);
	add(e, "A", 1, 2);
	add(e, "A", 1, 3);
	add(e, "A", 2, 2);
	batch_flush_all(&e->set);
	assert_int_equal(e->f.ntx, 1);
	assert_int_equal(e->f.n[0], 2);		/* 1:1 and 2:1 */
	assert_true(batch_pending(&e->set));	/* 1:2 and 2:2 moved up */
	batch_flush_all(&e->set);
	assert_int_equal(e->f.ntx, 2);
	assert_int_equal(e->f.n[1], 2);
	assert_int_equal(e->f.seq[1][0], 102);
	assert_int_equal(e->f.seq[1][1], 202);
	batch_flush_all(&e->set);
	assert_int_equal(e->f.ntx, 3);
	assert_int_equal(e->f.n[2], 1);
	assert_int_equal(e->f.seq[2][0], 103);
	assert_false(batch_pending(&e->set));
}

/* A batch reaching rows is written at once; so is a full `later`. */
static void test_rows(void **state)
{
	struct env *e = *state;

	e->set.rows = 3;
	add(e, "A", 1, 1);
	add(e, "A", 2, 1);
	assert_int_equal(e->f.ntx, 0);
	add(e, "A", 3, 1);
	assert_int_equal(e->f.ntx, 1);
	assert_int_equal(e->f.n[0], 3);
	add(e, "A", 4, 1);
	for (int s = 2; s <= 4; s++)
		add(e, "A", 4, s);		/* three behind 4:1 */
	assert_int_equal(e->f.ntx, 2);		/* 4:1, then 4:2 moved up */
	assert_int_equal(e->f.seq[1][0], 401);
	assert_true(batch_pending(&e->set));
}

/* Transient failures: retried with attempts 0, 1, ..., committed once. */
static void test_retry(void **state)
{
	struct env *e = *state;

	e->f.retry_left = 3;
	add(e, "A", 1, 1);
	add(e, "A", 2, 1);
	batch_flush_all(&e->set);
	assert_int_equal(e->f.ntx, 4);
	assert_int_equal(e->f.nretries, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(e->f.retries[i], i);
	assert_int_equal(e->f.committed[101], 1);
	assert_int_equal(e->f.committed[201], 1);
}

/* retry saying no (shutdown, database away): the write ends, uncommitted. */
static void test_give_up(void **state)
{
	struct env *e = *state;

	e->f.retry_left = 100;
	e->f.give_up = true;
	add(e, "A", 1, 1);
	batch_flush_all(&e->set);
	assert_int_equal(e->f.ntx, 1);
	assert_int_equal(e->f.nretries, 1);
	assert_int_equal(e->f.committed[101], 0);
	assert_false(batch_pending(&e->set));
}

/* One bad firing among eight: bisected; the seven others commit once. */
static void test_bisect(void **state)
{
	struct env *e = *state;
	int total = 0;

	e->f.bad = 501;
	for (int r = 1; r <= 8; r++)
		add(e, "A", r, 1);
	batch_flush_all(&e->set);
	for (int r = 1; r <= 8; r++) {
		assert_int_equal(e->f.committed[r * 100 + 1], r == 5 ? 0 : 1);
		total += e->f.committed[r * 100 + 1];
	}
	assert_int_equal(total, 7);
	/* 8 -> 4+4 -> 2+2 -> 1+1: 1 + 2 + 2 + 2 transactions */
	assert_int_equal(e->f.ntx, 7);
	assert_int_equal(e->f.n[e->f.ntx - 1], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tenants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_give_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bisect, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
