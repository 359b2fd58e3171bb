/*
 * ruletab.c — the pool the rule table keeps its rules in, and its three
 * maps (the core's idmap.h): rule_id -> rule, symbol and tenant names ->
 * their interned index.
 *
 * Runs on the worker thread that owns the table (see rules.c), so nothing
 * here locks.
 *
 * DESIGN
 * Rules live in a chunked pool (stable 32-bit indices, no realloc of the
 * rules themselves) and are found by rule_id through the core's id map
 * (idmap.h).  A freed slot is chained into a free list through its stamp
 * and reused before the pool grows; the pool never holds more rules than
 * the id map can index.
 */
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "idmap.h"
#include "ruleid.h"
#include "rules_int.h"

/* ------------------------------------------------------------------ */
/* the rule id map */

static uint32_t ruletab_id_of(const void *t, uint32_t i)
{
	return ruleid_hash(rules_at(t, i)->id);
}

static bool ruletab_id_eq(const void *t, uint32_t i, const void *id)
{
	return memcmp(rules_at(t, i)->id, id, 32) == 0;
}

uint32_t ruletab_id_find(const struct rules *t, const uint8_t id[32])
{
	uint32_t p = idmap_find(&t->ids, ruleid_hash(id), ruletab_id_eq, t, id);

	return idmap_found(&t->ids, p) ? idmap_at(&t->ids, p) : RULES_NONE;
}

/* Rule x (whose id is not in the map) becomes findable. */
int ruletab_id_add(struct rules *t, uint32_t x)
{
	const uint8_t *id = rules_at(t, x)->id;
	uint32_t h = ruleid_hash(id);

	if (idmap_reserve(&t->ids, t, ruletab_id_of))
		return -1;
	idmap_put(&t->ids, idmap_find(&t->ids, h, ruletab_id_eq, t, id), h, x);
	return 0;
}

void ruletab_id_del(struct rules *t, uint32_t x)
{
	const uint8_t *id = rules_at(t, x)->id;
	uint32_t p = idmap_find(&t->ids, ruleid_hash(id), ruletab_id_eq, t, id);

	if (idmap_found(&t->ids, p))
		idmap_del(&t->ids, p, t, ruletab_id_of);
}

/* ------------------------------------------------------------------ */
/* the pool */

uint32_t ruletab_alloc_slot(struct rules *t)
{
	uint32_t ri;

	if (t->free_head != RULES_NONE) {
		ri = t->free_head;
		t->free_head = rules_at(t, ri)->stamp;
		return ri;
	}
	/* As many as the id map can index. */
	if (t->next_slot >= IDMAP_MAX_ENTRIES)
		return RULES_NONE;
	if ((t->next_slot >> RULES_CHUNK_BITS) >= t->nchunk) {
		struct rule *c;

		if (t->nchunk == t->chunk_cap) {
			uint32_t ncap = t->chunk_cap ? t->chunk_cap * 2 : 16;
			struct rule **nc = realloc(t->chunk, (size_t)ncap * sizeof(*nc));

			if (!nc)
				return RULES_NONE;
			t->chunk = nc;
			t->chunk_cap = ncap;
		}
		c = calloc(RULES_CHUNK, sizeof(*c));
		if (!c)
			return RULES_NONE;
		t->chunk[t->nchunk++] = c;
	}
	return t->next_slot++;
}

void ruletab_free_slot(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);

	r->flags = 0;
	r->stamp = t->free_head;
	t->free_head = ri;
}

/* ------------------------------------------------------------------ */
/* symbols and tenants, interned by name */

/* Symbols and tenants: FNV-1a with its high bits folded into the low ones,
 * which pick the home slot. */
static uint32_t ruletab_name_hash(const char *name)
{
	uint32_t h = fnv_str(name);

	return h ^ (h >> 15);
}

/*
 * Symbols: every change looks its symbol up by name; on a tag match the
 * name compared is in the symbol struct the change needs anyway.  Interned
 * for the table's life.
 */
static uint32_t ruletab_sym_of(const void *o, uint32_t i)
{
	return ((const struct rules *)o)->sym[i]->hash;
}

static bool ruletab_sym_eq(const void *o, uint32_t i, const void *name)
{
	return strcmp(((const struct rules *)o)->sym[i]->name, name) == 0;
}

uint32_t ruletab_sym_get(struct rules *t, const char *name)
{
	uint32_t h = ruletab_name_hash(name), x, p;
	struct rules_sym *sy;
	size_t len;

	p = idmap_find(&t->syms, h, ruletab_sym_eq, t, name);
	if (idmap_found(&t->syms, p))
		return idmap_at(&t->syms, p);
	if (idmap_reserve(&t->syms, t, ruletab_sym_of))
		return RULES_NONE;
	if (t->nsym == t->sym_cap) {
		uint32_t ncap = t->sym_cap ? t->sym_cap * 2 : 64;
		struct rules_sym **ns = realloc(t->sym, (size_t)ncap * sizeof(*ns));

		if (!ns)
			return RULES_NONE;
		t->sym = ns;
		t->sym_cap = ncap;
	}
	sy = calloc(1, sizeof(*sy));
	if (!sy)
		return RULES_NONE;
	len = strlen(name);
	sy->name = len < sizeof(sy->iname) ? sy->iname : malloc(len + 1);
	if (!sy->name) {
		free(sy);
		return RULES_NONE;
	}
	memcpy(sy->name, name, len + 1);
	sy->hash = h;
	p = idmap_find(&t->syms, h, ruletab_sym_eq, t, name);	/* after a grow */
	x = t->nsym++;
	t->sym[x] = sy;
	idmap_put(&t->syms, p, h, x);
	return x;
}

/* Tenants: interned for the table's life, looked up only on rule changes. */
static uint32_t ruletab_tenant_of(const void *o, uint32_t i)
{
	return ruletab_name_hash(((const struct rules *)o)->tenant[i]);
}

static bool ruletab_tenant_eq(const void *o, uint32_t i, const void *name)
{
	return strcmp(((const struct rules *)o)->tenant[i], name) == 0;
}

uint32_t ruletab_tenant_find(const struct rules *t, const char *name)
{
	uint32_t p = idmap_find(&t->tenants, ruletab_name_hash(name), ruletab_tenant_eq, t, name);

	return idmap_found(&t->tenants, p) ? idmap_at(&t->tenants, p) : RULES_NONE;
}

uint32_t ruletab_tenant_get(struct rules *t, const char *name)
{
	uint32_t h, x, p;

	if (strlen(name) > 36)
		return RULES_NONE;
	x = ruletab_tenant_find(t, name);
	if (x != RULES_NONE)
		return x;
	if (idmap_reserve(&t->tenants, t, ruletab_tenant_of))
		return RULES_NONE;
	if (t->ntenant == t->tenant_cap) {
		uint32_t ncap = t->tenant_cap ? t->tenant_cap * 2 : 16;
		char (*nt)[TENANT_ID_SIZE] = realloc(t->tenant, (size_t)ncap * sizeof(*nt));

		if (!nt)
			return RULES_NONE;
		t->tenant = nt;
		t->tenant_cap = ncap;
	}
	h = ruletab_name_hash(name);
	p = idmap_find(&t->tenants, h, ruletab_tenant_eq, t, name);
	x = t->ntenant++;
	strcpy(t->tenant[x], name);
	idmap_put(&t->tenants, p, h, x);
	return x;
}
