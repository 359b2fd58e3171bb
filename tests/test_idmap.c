/* test_idmap.c — the one hash map against a brute-force owner: adds, finds,
 * deletes with backward shift, owner moves, growth, and colliding hashes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "idmap.h"

/* The owner: keys in an array, swapped-down on delete like registry.c does. */
struct owner {
	uint32_t key[4096];
	uint32_t n;
	uint32_t (*hash)(uint32_t key);
};

static uint32_t spread(uint32_t k)
{
	k ^= k >> 16;
	k *= 0x7feb352dU;
	k ^= k >> 15;
	return k;
}

/* All keys collide in their home slot and their tag: the worst case. */
static uint32_t same(uint32_t k)
{
	(void)k;
	return 0x12345678u;
}

static uint32_t owner_hash(const void *o, uint32_t i)
{
	const struct owner *w = o;
	return w->hash(w->key[i]);
}

static bool owner_eq(const void *o, uint32_t i, const void *key)
{
	const struct owner *w = o;
	return w->key[i] == *(const uint32_t *)key;
}

static uint32_t find(const struct idmap *m, const struct owner *w, uint32_t key)
{
	uint32_t p = idmap_find(m, w->hash(key), owner_eq, w, &key);
	return idmap_found(m, p) ? idmap_at(m, p) : UINT32_MAX;
}

static void add(struct idmap *m, struct owner *w, uint32_t key)
{
	uint32_t p;

	assert_int_equal(idmap_reserve(m, w, owner_hash), 0);
	p = idmap_find(m, w->hash(key), owner_eq, w, &key);
	assert_false(idmap_found(m, p));
	w->key[w->n] = key;
	idmap_put(m, p, w->hash(key), w->n++);
}

static void del(struct idmap *m, struct owner *w, uint32_t key)
{
	uint32_t p = idmap_find(m, w->hash(key), owner_eq, w, &key), i, last;

	assert_true(idmap_found(m, p));
	i = idmap_at(m, p);
	idmap_del(m, p, w, owner_hash);
	last = --w->n;
	if (i != last) {
		w->key[i] = w->key[last];
		p = idmap_find(m, w->hash(w->key[i]), owner_eq, w, &w->key[i]);
		assert_true(idmap_found(m, p));
		idmap_move(m, p, w->hash(w->key[i]), i);
	}
}

static void run(uint32_t (*hash)(uint32_t), uint32_t nkeys)
{
	struct owner *w = calloc(1, sizeof(*w));
	struct idmap m = { 0 };
	uint32_t k;

	assert_non_null(w);
	w->hash = hash;
	assert_int_equal(find(&m, w, 1), UINT32_MAX);	/* no slots yet */
	for (k = 0; k < nkeys; k++)
		add(&m, w, k * 7 + 1);
	assert_int_equal(m.n, nkeys);
	assert_true(m.n * 4 <= (m.mask + 1) * 3);
	/* delete every third key, then check every key against the owner */
	for (k = 0; k < nkeys; k += 3)
		del(&m, w, k * 7 + 1);
	for (k = 0; k < nkeys; k++) {
		uint32_t i = find(&m, w, k * 7 + 1);

		if (k % 3 == 0)
			assert_int_equal(i, UINT32_MAX);
		else
			assert_int_equal(w->key[i], k * 7 + 1);
	}
	assert_int_equal(find(&m, w, 2), UINT32_MAX);	/* never added */
	while (w->n)
		del(&m, w, w->key[w->n / 2]);
	assert_int_equal(m.n, 0);
	for (k = 0; k <= m.mask; k++)
		assert_int_equal(m.slot[k], 0);
	idmap_free(&m);
	free(w);
}

static void test_spread(void **state)
{
	(void)state;
	run(spread, 4096);
}

static void test_collide(void **state)
{
	(void)state;
	run(same, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_collide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
