/*
 * test_registry.c — the loop's rule registry (registry.c): ids, interned
 * symbols and tenants, removal paths, and a random walk against a plain
 * model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

static void id_of(unsigned n, char out[65])
{
	/* distinct for distinct n; all share a 56-digit prefix */
	snprintf(out, 65, "%056x%08x", 0u, n);
}

static void test_ids(void **state)
{
	(void)state;
	assert_true(registry_id_ok("0123456789abcdef0123456789abcdef"
				   "0123456789abcdef0123456789abcdef"));
	assert_false(registry_id_ok("0123456789ABCDEF0123456789abcdef"
				    "0123456789abcdef0123456789abcdef"));
	assert_false(registry_id_ok("0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcde"));
	assert_false(registry_id_ok("0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef0"));
	assert_false(registry_id_ok(""));
	assert_false(registry_id_ok("0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdeg"));
}

static void test_put_get_del(void **state)
{
	struct registry *r = registry_new();
	char id[65], was[16] = "x";

	(void)state;
	assert_non_null(r);
	id_of(1, id);
	assert_null(registry_symbol(r, id));
	assert_false(registry_del(r, id));
	assert_int_equal(registry_put(r, "not hex", "AAPL", "t1", 1, NULL, 0), -1);
	assert_int_equal(registry_count(r), 0);
	assert_int_equal(registry_put(r, id, "AAPL", "t1", 1, NULL, 0), 0);
	assert_string_equal(registry_symbol(r, id), "AAPL");
	/* moved to another symbol: the registry follows and says from where */
	assert_int_equal(registry_put(r, id, "MSFT", "t1", 2, was, sizeof(was)), 0);
	assert_string_equal(was, "AAPL");
	assert_string_equal(registry_symbol(r, id), "MSFT");
	assert_int_equal(registry_put(r, id, "MSFT", "t2", 3, was, sizeof(was)), 0);
	assert_string_equal(was, "");
	assert_int_equal(registry_count(r), 1);
	assert_null(registry_symbol(r, "zz"));
	assert_true(registry_del(r, id));
	assert_false(registry_del(r, id));
	assert_null(registry_symbol(r, id));
	assert_int_equal(registry_count(r), 0);
	registry_free(r);
}

struct seen {
	char ids[64][65];
	char syms[64][16];
	int n;
};

static void note(void *arg, const char *rule_id, const char *symbol)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", rule_id);
	snprintf(s->syms[s->n], sizeof(s->syms[0]), "%s", symbol);
	s->n++;
}

static void test_tenant_and_stale(void **state)
{
	struct registry *r = registry_new();
	struct seen s = { .n = 0 };
	char id[65];

	(void)state;
	assert_non_null(r);
	for (unsigned i = 0; i < 30; i++) {
		id_of(i, id);
		assert_int_equal(registry_put(r, id, i % 2 ? "ODD" : "EVEN",
					      i % 3 ? "tA" : "tB", i < 20 ? 7 : 6, NULL, 0), 0);
	}
	/* tenant tB: i = 0, 3, ..., 27 */
	assert_int_equal(registry_drop_tenant(r, "tB"), 10);
	assert_int_equal(registry_drop_tenant(r, "tB"), 0);
	assert_int_equal(registry_drop_tenant(r, "nobody"), 0);
	assert_int_equal(registry_count(r), 20);
	for (unsigned i = 0; i < 30; i++) {
		id_of(i, id);
		if (i % 3 == 0)
			assert_null(registry_symbol(r, id));
		else
			assert_string_equal(registry_symbol(r, id), i % 2 ? "ODD" : "EVEN");
	}
	/* stale: generation 6 (i >= 20), tenant tA: 20, 22, 23, 25, 26, 28, 29 */
	assert_int_equal(registry_drop_stale(r, 7, note, &s), 7);
	assert_int_equal(s.n, 7);
	for (int k = 0; k < s.n; k++) {
		unsigned i = (unsigned)strtoul(s.ids[k] + 56, NULL, 16);

		id_of(i, id);
		assert_string_equal(s.ids[k], id);
		assert_true(i >= 20 && i % 3 != 0);
		assert_string_equal(s.syms[k], i % 2 ? "ODD" : "EVEN");
	}
	assert_int_equal(registry_count(r), 13);
	assert_int_equal(registry_drop_stale(r, 7, NULL, NULL), 0);
	assert_int_equal(registry_drop_stale(r, 8, NULL, NULL), 13);
	assert_int_equal(registry_count(r), 0);
	/* every interned string went with its last rule */
	assert_true(registry_bytes(r) < 4096);
	registry_free(r);
}

/* A random walk against a plain array, with few distinct strings so that
 * interning, reference counts and backward-shift deletion all get work. */
#define MODEL_N 3000

struct model {
	int live[MODEL_N];
	int sym[MODEL_N], ten[MODEL_N];
	uint32_t gen[MODEL_N];
};

static void sym_name(int k, char out[16])
{
	snprintf(out, 16, "S%d", k);
}

static void test_random_walk(void **state)
{
	static struct model m;
	struct registry *r = registry_new();
	uint32_t gen = 1;
	char id[65], name[16], tname[16], was[16];
	unsigned seed = 12345;

	(void)state;
	assert_non_null(r);
	memset(&m, 0, sizeof(m));
	for (int step = 0; step < 200000; step++) {
		int op, i;

		seed = seed * 1103515245u + 12345u;
		op = (int)(seed >> 16) % 100;
		seed = seed * 1103515245u + 12345u;
		i = (int)(seed >> 8) % MODEL_N;
		id_of((unsigned)i * 2654435761u, id);
		if (op < 55) {
			int s = (int)(seed >> 20) % 37, t = (int)(seed >> 4) % 5;

			sym_name(s, name);
			snprintf(tname, sizeof(tname), "T%d", t);
			assert_int_equal(registry_put(r, id, name, tname, gen, was, sizeof(was)), 0);
			if (m.live[i] && m.sym[i] != s) {
				sym_name(m.sym[i], name);
				assert_string_equal(was, name);
			} else {
				assert_string_equal(was, "");
			}
			m.live[i] = 1;
			m.sym[i] = s;
			m.ten[i] = t;
			m.gen[i] = gen;
		} else if (op < 85) {
			assert_int_equal(registry_del(r, id), m.live[i] != 0);
			m.live[i] = 0;
		} else if (op < 87) {
			int t = i % 5;
			size_t want = 0;

			for (int k = 0; k < MODEL_N; k++)
				if (m.live[k] && m.ten[k] == t) {
					m.live[k] = 0;
					want++;
				}
			snprintf(tname, sizeof(tname), "T%d", t);
			assert_int_equal(registry_drop_tenant(r, tname), want);
		} else if (op < 89) {
			size_t want = 0;

			gen++;
			/* a reload: half the live rules are read again */
			for (int k = 0; k < MODEL_N; k++) {
				if (!m.live[k])
					continue;
				if (k % 2) {
					id_of((unsigned)k * 2654435761u, id);
					sym_name(m.sym[k], name);
					snprintf(tname, sizeof(tname), "T%d", m.ten[k]);
					assert_int_equal(registry_put(r, id, name, tname, gen, NULL, 0), 0);
					m.gen[k] = gen;
				} else {
					m.live[k] = 0;
					want++;
				}
			}
			assert_int_equal(registry_drop_stale(r, gen, NULL, NULL), want);
		} else {
			const char *got = registry_symbol(r, id);

			if (m.live[i]) {
				sym_name(m.sym[i], name);
				assert_non_null(got);
				assert_string_equal(got, name);
			} else {
				assert_null(got);
			}
		}
		if (step % 10000 == 0) {
			size_t live = 0;

			for (int k = 0; k < MODEL_N; k++) {
				live += (size_t)m.live[k];
				id_of((unsigned)k * 2654435761u, id);
				if (m.live[k]) {
					sym_name(m.sym[k], name);
					assert_string_equal(registry_symbol(r, id), name);
				} else {
					assert_null(registry_symbol(r, id));
				}
			}
			assert_int_equal(registry_count(r), live);
		}
	}
	registry_free(r);
}

/* What a million rules cost: the figure the daemon's RSS is built on. */
static void test_size_per_rule(void **state)
{
	struct registry *r = registry_new();
	char id[65], sym[16];

	(void)state;
	assert_non_null(r);
	for (unsigned i = 0; i < 1000000; i++) {
		id_of(i * 2654435761u, id);
		snprintf(sym, sizeof(sym), "S%04u", i % 1000);
		assert_int_equal(registry_put(r, id, sym, i % 2 ? "t-one" : "t-two", 1, NULL, 0), 0);
	}
	assert_int_equal(registry_count(r), 1000000);
	print_message("registry: %.1f bytes per rule at 1M rules\n",
		      (double)registry_bytes(r) / 1e6);
	assert_true(registry_bytes(r) < 64u * 1000000u);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_tenant_and_stale),
		cmocka_unit_test(test_random_walk),
		cmocka_unit_test(test_size_per_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
