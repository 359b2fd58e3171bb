/*
 * ruletab.c — the pool the rule table keeps its rules in, and the map that
 * finds a rule by its rule_id.
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
