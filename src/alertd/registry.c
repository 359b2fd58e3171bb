/*
 * registry.c — the loop's registry of the rules it has sent to the workers:
 * rule id -> symbol, tenant, load generation.  Loop thread only.
 *
 * DESIGN
 *
 * It holds every ACTIVE rule, so its size per rule is the daemon's: a rule
 * is 44 bytes in one dense array (the id as 32 binary bytes, symbol and
 * tenant as indices of interned strings, the generation), found through the
 * core's id map of array indices (idmap.h).  Removing a rule moves the last
 * one into its place.  About 50 bytes a rule in all, against ~400 for a
 * heap entry per rule with fixed-size symbol and tenant buffers.
 *
 * Interned strings (symbols and tenants, a few thousand at most) carry a
 * reference count and are freed with their last rule, so a long-running
 * daemon does not keep every symbol it ever saw.
 */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "idmap.h"
#include "ids.h"
#include "ruleid.h"

struct registry_rule {
	uint8_t id[32];
	uint32_t sym, tenant;	/* interned strings */
	uint32_t gen;
};

struct registry_str {
	char *s;		/* NULL: free slot */
	uint32_t hash;		/* fnv_str(s); free slot: next free index + 1 */
	uint32_t refs;
};

struct registry {
	struct registry_rule *rule;
	uint32_t n, cap;
	struct idmap ids;

	struct registry_str *str;
	uint32_t nstr, str_cap;
	uint32_t free_str;	/* first free string slot + 1; 0 = none */
	struct idmap strs;
	size_t str_bytes;
};

/* ------------------------------------------------------------------ */
/* rule ids */

bool registry_id_ok(const char *rule_id)
{
	uint8_t id[32];

	return ruleid_parse(rule_id, id) == 0;
}

/* ------------------------------------------------------------------ */
/* the two maps */

static uint32_t registry_rule_hash(const void *o, uint32_t i)
{
	return ruleid_hash(((const struct registry *)o)->rule[i].id);
}

static bool registry_rule_eq(const void *o, uint32_t i, const void *id)
{
	return memcmp(((const struct registry *)o)->rule[i].id, id, 32) == 0;
}

static uint32_t registry_str_hash(const void *o, uint32_t i)
{
	return ((const struct registry *)o)->str[i].hash;
}

struct registry_key {
	const char *s;
	uint32_t hash;
};

/* The full hash first: the string itself is one more pointer away. */
static bool registry_str_eq(const void *o, uint32_t i, const void *key)
{
	const struct registry_str *x = &((const struct registry *)o)->str[i];
	const struct registry_key *k = key;

	return x->hash == k->hash && strcmp(x->s, k->s) == 0;
}

/* The position of the rule with this id, or of the empty slot that ends its
 * probe; IDMAP_NOWHERE when the map has no slots yet. */
static uint32_t registry_find_rule(const struct registry *r, const uint8_t id[32])
{
	return idmap_find(&r->ids, ruleid_hash(id), registry_rule_eq, r, id);
}

static uint32_t registry_find_str(const struct registry *r, const char *s, uint32_t h)
{
	struct registry_key k = { s, h };

	return idmap_find(&r->strs, h, registry_str_eq, r, &k);
}

/* ------------------------------------------------------------------ */
/* interned strings */

/* The index of s, interned with one more reference; UINT32_MAX if no memory. */
static uint32_t registry_intern(struct registry *r, const char *s)
{
	uint32_t h = fnv_str(s), p = registry_find_str(r, s, h), i;
	size_t len;
	char *copy;

	if (idmap_found(&r->strs, p)) {
		i = idmap_at(&r->strs, p);
		r->str[i].refs++;
		return i;
	}
	if (idmap_reserve(&r->strs, r, registry_str_hash))
		return UINT32_MAX;
	len = strlen(s) + 1;
	copy = malloc(len);
	if (!copy)
		return UINT32_MAX;
	memcpy(copy, s, len);
	if (r->free_str) {
		i = r->free_str - 1;
		r->free_str = r->str[i].hash;
	} else {
		if (r->nstr == r->str_cap) {
			uint32_t ncap = r->str_cap ? r->str_cap * 2 : 16;
			struct registry_str *nv = realloc(r->str, (size_t)ncap * sizeof(*nv));

			if (!nv) {
				free(copy);
				return UINT32_MAX;
			}
			r->str = nv;
			r->str_cap = ncap;
		}
		i = r->nstr++;
	}
	/* the map may have grown: find the position again, before i is a
	 * string the probe could match */
	p = registry_find_str(r, s, h);
	r->str[i] = (struct registry_str){ .s = copy, .hash = h, .refs = 1 };
	r->str_bytes += len;
	idmap_put(&r->strs, p, h, i);
	return i;
}

static void registry_unref(struct registry *r, uint32_t i)
{
	struct registry_str *x = &r->str[i];

	if (--x->refs)
		return;
	idmap_del(&r->strs, registry_find_str(r, x->s, x->hash), r, registry_str_hash);
	r->str_bytes -= strlen(x->s) + 1;
	free(x->s);
	x->s = NULL;
	x->hash = r->free_str;
	r->free_str = i + 1;
}

/* ------------------------------------------------------------------ */
/* rules */

struct registry *registry_new(void)
{
	return calloc(1, sizeof(struct registry));
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->nstr; i++)
		free(r->str[i].s);
	free(r->str);
	idmap_free(&r->strs);
	free(r->rule);
	idmap_free(&r->ids);
	free(r);
}

int registry_put(struct registry *r, const char *rule_id, const char *symbol,
		 const char *tenant, uint32_t gen, char *was, size_t waslen)
{
	uint8_t id[32];
	uint32_t p, sym, ten;
	struct registry_rule *x;

	if (waslen)
		was[0] = '\0';
	if (ruleid_parse(rule_id, id))
		return -1;
	sym = registry_intern(r, symbol);
	if (sym == UINT32_MAX)
		return -1;
	ten = registry_intern(r, tenant);
	if (ten == UINT32_MAX)
		goto fail_sym;
	p = registry_find_rule(r, id);
	if (idmap_found(&r->ids, p)) {
		x = &r->rule[idmap_at(&r->ids, p)];
		if (x->sym != sym && waslen)
			snprintf(was, waslen, "%s", r->str[x->sym].s);
		registry_unref(r, x->sym);
		registry_unref(r, x->tenant);
		x->sym = sym;
		x->tenant = ten;
		x->gen = gen;
		return 0;
	}
	if (r->n == r->cap) {
		uint32_t ncap = r->cap ? r->cap * 2 : 64;
		struct registry_rule *nv;

		if (ncap > IDMAP_MAX_ENTRIES)
			ncap = IDMAP_MAX_ENTRIES;
		if (ncap <= r->cap)
			goto fail_ten;
		nv = realloc(r->rule, (size_t)ncap * sizeof(*nv));
		if (!nv)
			goto fail_ten;
		r->rule = nv;
		r->cap = ncap;
	}
	if (idmap_reserve(&r->ids, r, registry_rule_hash))
		goto fail_ten;
	p = registry_find_rule(r, id);	/* the map may have grown */
	x = &r->rule[r->n];
	memcpy(x->id, id, sizeof(id));
	x->sym = sym;
	x->tenant = ten;
	x->gen = gen;
	idmap_put(&r->ids, p, ruleid_hash(id), r->n++);
	return 0;
fail_ten:
	registry_unref(r, ten);
fail_sym:
	registry_unref(r, sym);
	return -1;
}

/* The map position holding rule_id, or UINT32_MAX when it is not registered. */
static uint32_t registry_slot_of(const struct registry *r, const char *rule_id)
{
	uint8_t id[32];
	uint32_t p;

	if (ruleid_parse(rule_id, id))
		return UINT32_MAX;
	p = registry_find_rule(r, id);
	return idmap_found(&r->ids, p) ? p : UINT32_MAX;
}

const char *registry_symbol(const struct registry *r, const char *rule_id)
{
	uint32_t p = registry_slot_of(r, rule_id);

	if (p == UINT32_MAX)
		return NULL;
	return r->str[r->rule[idmap_at(&r->ids, p)].sym].s;
}

/* Remove the rule at index i (its map position is pos). */
static void registry_remove_at(struct registry *r, uint32_t i, uint32_t pos)
{
	uint32_t last = r->n - 1;

	registry_unref(r, r->rule[i].sym);
	registry_unref(r, r->rule[i].tenant);
	idmap_del(&r->ids, pos, r, registry_rule_hash);
	if (i != last) {
		r->rule[i] = r->rule[last];
		idmap_move(&r->ids, registry_find_rule(r, r->rule[i].id),
			   ruleid_hash(r->rule[i].id), i);
	}
	r->n--;
}

bool registry_del(struct registry *r, const char *rule_id)
{
	uint32_t p = registry_slot_of(r, rule_id);

	if (p == UINT32_MAX)
		return false;
	registry_remove_at(r, idmap_at(&r->ids, p), p);
	return true;
}

size_t registry_drop_tenant(struct registry *r, const char *tenant)
{
	uint32_t p = registry_find_str(r, tenant, fnv_str(tenant)), t;
	size_t n = 0;

	if (!idmap_found(&r->strs, p))
		return 0;
	t = idmap_at(&r->strs, p);
	/* downwards: what moves into i was checked already */
	for (uint32_t i = r->n; i-- > 0;) {
		if (r->rule[i].tenant != t)
			continue;
		registry_remove_at(r, i, registry_find_rule(r, r->rule[i].id));
		n++;
	}
	return n;
}

size_t registry_drop_stale(struct registry *r, uint32_t gen, registry_drop_fn fn,
			   void *arg)
{
	size_t n = 0;

	for (uint32_t i = r->n; i-- > 0;) {
		char hex[RULE_ID_SIZE];

		if (r->rule[i].gen == gen)
			continue;
		if (fn) {
			ruleid_format(r->rule[i].id, hex);
			fn(arg, hex, r->str[r->rule[i].sym].s);
		}
		registry_remove_at(r, i, registry_find_rule(r, r->rule[i].id));
		n++;
	}
	return n;
}

size_t registry_count(const struct registry *r)
{
	return r->n;
}

size_t registry_bytes(const struct registry *r)
{
	return sizeof(*r) + (size_t)r->cap * sizeof(*r->rule) +
	       (r->ids.mask ? ((size_t)r->ids.mask + 1) * sizeof(uint32_t) : 0) +
	       (size_t)r->str_cap * sizeof(*r->str) +
	       (r->strs.mask ? ((size_t)r->strs.mask + 1) * sizeof(uint32_t) : 0) +
	       r->str_bytes;
}
