/*
 * registry.c — the loop's registry of the rules it has sent to the workers:
 * rule id -> symbol, tenant, load generation.  Loop thread only.
 *
 * DESIGN
 *
 * It holds every ACTIVE rule, so its size per rule is the daemon's: a rule
 * is 44 bytes in one dense array (the id as 32 binary bytes, symbol and
 * tenant as indices of interned strings, the generation), found through an
 * open-addressing hash of array indices (linear probing, at most half full,
 * backward-shift deletion: no tombstones).  Removing a rule moves the last
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
#include "ids.h"
#include "ruleid.h"

#define REGISTRY_MIN_SLOTS 64u

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

/*
 * Open addressing over array indices: a slot holds index + 1 in its low
 * REGISTRY_INDEX_BITS, 0 is empty.  In the rule hash the bits above hold
 * more bits of the id's hash, so a probe past another rule rarely reads
 * that rule (a cache miss) to see it is not the one.
 */
#define REGISTRY_INDEX_BITS 26
#define REGISTRY_INDEX_MASK ((1u << REGISTRY_INDEX_BITS) - 1)	/* also the rule limit */

static inline uint32_t registry_index(uint32_t slot)
{
	return (slot & REGISTRY_INDEX_MASK) - 1;
}

static inline uint32_t registry_tag(uint32_t hash, uint32_t index)
{
	return (hash >> REGISTRY_INDEX_BITS) << REGISTRY_INDEX_BITS | (index + 1);
}

struct registry_hash {
	uint32_t *slot;
	uint32_t mask;		/* slots - 1, a power of two; 0 before the first */
	uint32_t n;
};

struct registry {
	struct registry_rule *rule;
	uint32_t n, cap;
	struct registry_hash ids;

	struct registry_str *str;
	uint32_t nstr, str_cap;
	uint32_t free_str;	/* first free string slot + 1; 0 = none */
	struct registry_hash strs;
	size_t str_bytes;
};

/* ------------------------------------------------------------------ */
/* rule ids */

bool registry_id_ok(const char *rule_id)
{
	uint8_t id[32];

	return ruleid_parse(rule_id, id) == 0;
}

static uint32_t registry_id_hash(const uint8_t id[32])
{
	uint64_t w[4], h;

	memcpy(w, id, sizeof(w));
	h = w[0] ^ w[1] * 0x9e3779b97f4a7c15ULL ^ w[2] * 0xbf58476d1ce4e5b9ULL ^
	    w[3] * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h ^ h >> 29);
}

/* ------------------------------------------------------------------ */
/* the two hashes */

typedef uint32_t (*registry_hash_of)(const struct registry *r, uint32_t index);

static uint32_t registry_rule_hash(const struct registry *r, uint32_t i)
{
	return registry_id_hash(r->rule[i].id);
}

static uint32_t registry_str_hash(const struct registry *r, uint32_t i)
{
	return r->str[i].hash;
}

/* Make room for one more entry (at most half full). */
static int registry_hash_reserve(const struct registry *r, struct registry_hash *h,
				 registry_hash_of of)
{
	uint32_t slots = h->mask ? h->mask + 1 : 0, ns;
	uint32_t *nv;

	if (slots && (h->n + 1) * 2 <= slots)
		return 0;
	ns = slots ? slots * 2 : REGISTRY_MIN_SLOTS;
	if (ns < slots)
		return -1;
	nv = calloc(ns, sizeof(*nv));
	if (!nv)
		return -1;
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t v = h->slot[i], p;

		if (!v)
			continue;
		for (p = of(r, registry_index(v)) & (ns - 1); nv[p]; p = (p + 1) & (ns - 1))
			;
		nv[p] = v;
	}
	free(h->slot);
	h->slot = nv;
	h->mask = ns - 1;
	return 0;
}

/* Empty slot pos, shifting back the entries that probed past it. */
static void registry_hash_del(const struct registry *r, struct registry_hash *h,
			      uint32_t pos, registry_hash_of of)
{
	uint32_t i = pos, j = pos;

	h->slot[i] = 0;
	h->n--;
	for (;;) {
		uint32_t k;

		j = (j + 1) & h->mask;
		if (!h->slot[j])
			return;
		k = of(r, registry_index(h->slot[j])) & h->mask;
		/* the entry at j stays if its home k lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		h->slot[i] = h->slot[j];
		h->slot[j] = 0;
		i = j;
	}
}

/* The slot of the rule with this id, or of the empty slot that ends its
 * probe; UINT32_MAX when the table has no slots yet. */
static uint32_t registry_find_rule(const struct registry *r, const uint8_t id[32])
{
	uint32_t h = registry_id_hash(id), tag = h >> REGISTRY_INDEX_BITS, p, v;

	if (!r->ids.mask)
		return UINT32_MAX;
	for (p = h & r->ids.mask; (v = r->ids.slot[p]) != 0; p = (p + 1) & r->ids.mask)
		if (v >> REGISTRY_INDEX_BITS == tag &&
		    memcmp(r->rule[registry_index(v)].id, id, 32) == 0)
			break;
	return p;
}

static uint32_t registry_find_str(const struct registry *r, const char *s, uint32_t h)
{
	uint32_t p;

	if (!r->strs.mask)
		return UINT32_MAX;
	for (p = h & r->strs.mask; r->strs.slot[p]; p = (p + 1) & r->strs.mask) {
		const struct registry_str *x = &r->str[registry_index(r->strs.slot[p])];

		if (x->hash == h && strcmp(x->s, s) == 0)
			break;
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* interned strings */

/* The index of s, interned with one more reference; UINT32_MAX if no memory. */
static uint32_t registry_intern(struct registry *r, const char *s)
{
	uint32_t h = fnv_str(s), p = registry_find_str(r, s, h), i;
	size_t len;
	char *copy;

	if (p != UINT32_MAX && r->strs.slot[p]) {
		i = registry_index(r->strs.slot[p]);
		r->str[i].refs++;
		return i;
	}
	if (registry_hash_reserve(r, &r->strs, registry_str_hash))
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
	r->str[i] = (struct registry_str){ .s = copy, .hash = h, .refs = 1 };
	r->str_bytes += len;
	/* the table may have grown: probe again */
	for (p = h & r->strs.mask; r->strs.slot[p]; p = (p + 1) & r->strs.mask)
		;
	r->strs.slot[p] = i + 1;
	r->strs.n++;
	return i;
}

static void registry_unref(struct registry *r, uint32_t i)
{
	struct registry_str *x = &r->str[i];

	if (--x->refs)
		return;
	registry_hash_del(r, &r->strs, registry_find_str(r, x->s, x->hash),
			  registry_str_hash);
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
	free(r->strs.slot);
	free(r->rule);
	free(r->ids.slot);
	free(r);
}

int registry_put(struct registry *r, const char *rule_id, const char *symbol,
		 const char *tenant, uint32_t gen, char *was, size_t waslen)
{
	uint8_t id[32];
	uint32_t p, h, sym, ten;
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
	if (p != UINT32_MAX && r->ids.slot[p]) {
		x = &r->rule[registry_index(r->ids.slot[p])];
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

		if (ncap > REGISTRY_INDEX_MASK)
			ncap = REGISTRY_INDEX_MASK;
		if (ncap <= r->cap)
			goto fail_ten;
		nv = realloc(r->rule, (size_t)ncap * sizeof(*nv));
		if (!nv)
			goto fail_ten;
		r->rule = nv;
		r->cap = ncap;
	}
	if (registry_hash_reserve(r, &r->ids, registry_rule_hash))
		goto fail_ten;
	x = &r->rule[r->n];
	memcpy(x->id, id, sizeof(id));
	x->sym = sym;
	x->tenant = ten;
	x->gen = gen;
	h = registry_id_hash(id);
	for (p = h & r->ids.mask; r->ids.slot[p]; p = (p + 1) & r->ids.mask)
		;
	r->ids.slot[p] = registry_tag(h, r->n++);
	r->ids.n++;
	return 0;
fail_ten:
	registry_unref(r, ten);
fail_sym:
	registry_unref(r, sym);
	return -1;
}

/* The hash slot holding rule_id, or UINT32_MAX when it is not registered. */
static uint32_t registry_slot_of(const struct registry *r, const char *rule_id)
{
	uint8_t id[32];
	uint32_t p;

	if (ruleid_parse(rule_id, id))
		return UINT32_MAX;
	p = registry_find_rule(r, id);
	return p != UINT32_MAX && r->ids.slot[p] ? p : UINT32_MAX;
}

const char *registry_symbol(const struct registry *r, const char *rule_id)
{
	uint32_t p = registry_slot_of(r, rule_id);

	if (p == UINT32_MAX)
		return NULL;
	return r->str[r->rule[registry_index(r->ids.slot[p])].sym].s;
}

/* Remove the rule at index i (its hash slot is pos). */
static void registry_remove_at(struct registry *r, uint32_t i, uint32_t pos)
{
	uint32_t last = r->n - 1;

	registry_unref(r, r->rule[i].sym);
	registry_unref(r, r->rule[i].tenant);
	registry_hash_del(r, &r->ids, pos, registry_rule_hash);
	if (i != last) {
		r->rule[i] = r->rule[last];
		r->ids.slot[registry_find_rule(r, r->rule[i].id)] =
			registry_tag(registry_id_hash(r->rule[i].id), i);
	}
	r->n--;
}

bool registry_del(struct registry *r, const char *rule_id)
{
	uint32_t p = registry_slot_of(r, rule_id);

	if (p == UINT32_MAX)
		return false;
	registry_remove_at(r, registry_index(r->ids.slot[p]), p);
	return true;
}

size_t registry_drop_tenant(struct registry *r, const char *tenant)
{
	uint32_t p = registry_find_str(r, tenant, fnv_str(tenant)), t;
	size_t n = 0;

	if (p == UINT32_MAX || !r->strs.slot[p])
		return 0;
	t = registry_index(r->strs.slot[p]);
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
