/*
 * idmap.c — growing and deleting in the map of idmap.h.  Its owner's thread.
 */
#include "idmap.h"

#include <stdlib.h>

/* Slots of a map's first allocation. */
#define IDMAP_MIN_SLOTS 16u

int idmap_reserve(struct idmap *m, const void *owner, idmap_hash_fn of)
{
	uint32_t slots = m->mask ? m->mask + 1 : 0, ns;
	uint32_t *nv;

	if (m->n >= IDMAP_MAX_ENTRIES)
		return -1;
	if (slots && ((uint64_t)m->n + 1) * 4 <= (uint64_t)slots * 3)
		return 0;
	ns = slots ? slots * 2 : IDMAP_MIN_SLOTS;
	if (ns < slots)
		return -1;
	nv = calloc(ns, sizeof(*nv));
	if (!nv)
		return -1;
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t v = m->slot[i], p;

		if (!v)
			continue;
		for (p = of(owner, idmap_index(v)) & (ns - 1); nv[p]; p = (p + 1) & (ns - 1))
			;
		nv[p] = v;
	}
	free(m->slot);
	m->slot = nv;
	m->mask = ns - 1;
	return 0;
}

void idmap_del(struct idmap *m, uint32_t pos, const void *owner, idmap_hash_fn of)
{
	uint32_t i = pos, j = pos;

	m->slot[i] = 0;
	m->n--;
	for (;;) {
		uint32_t k;

		j = (j + 1) & m->mask;
		if (!m->slot[j])
			return;
		k = of(owner, idmap_index(m->slot[j])) & m->mask;
		/* the entry at j stays if its home k lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->slot[i] = m->slot[j];
		m->slot[j] = 0;
		i = j;
	}
}

void idmap_free(struct idmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->mask = 0;
	m->n = 0;
}
