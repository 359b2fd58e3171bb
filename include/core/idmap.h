/*
 * idmap.h — the one hash map: open addressing over an owner's array indices.
 *
 * The map stores no keys.  Its owner keeps the entries in an array of its
 * own and tells the map each entry's hash; on a look-up the owner's key
 * comparison confirms a candidate.  A slot is 0 when empty, else
 * (hash >> IDMAP_INDEX_BITS) << IDMAP_INDEX_BITS | (index + 1): the high
 * bits of the hash ride along, so a probe past another entry rarely has to
 * read that entry (a cache miss) to see it is not the one.  Linear probing,
 * at most three quarters full, backward-shift deletion (no tombstones).
 *
 * Look-ups are static inline so that the owner's comparison is inlined.
 * Not thread-safe: each map belongs to the thread (or lock) of its owner.
 */
#ifndef LEO_IDMAP_H
#define LEO_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

#define IDMAP_INDEX_BITS 26
#define IDMAP_INDEX_MASK ((1u << IDMAP_INDEX_BITS) - 1)
/* Entries a map can index: indices 0 .. IDMAP_MAX_ENTRIES - 1. */
#define IDMAP_MAX_ENTRIES (IDMAP_INDEX_MASK - 1)
/* Where a position is asked for before the map has any slots. */
#define IDMAP_NOWHERE UINT32_MAX

struct idmap {
	uint32_t *slot;
	uint32_t mask;		/* slots - 1, a power of two; 0 before the first */
	uint32_t n;
};

/* The hash of the owner's entry at index (the same as when it was placed). */
typedef uint32_t (*idmap_hash_fn)(const void *owner, uint32_t index);

static inline uint32_t idmap_index(uint32_t slot)
{
	return (slot & IDMAP_INDEX_MASK) - 1;
}

static inline uint32_t idmap_tag(uint32_t hash, uint32_t index)
{
	return (hash >> IDMAP_INDEX_BITS) << IDMAP_INDEX_BITS | (index + 1);
}

/*
 * The position of the entry with this hash for which eq(owner, index, key)
 * holds, or of the empty slot that ends its probe; IDMAP_NOWHERE when the
 * map has no slots yet.  idmap_found tells which.
 */
static inline uint32_t idmap_find(const struct idmap *m, uint32_t hash,
				  bool (*eq)(const void *owner, uint32_t index, const void *key),
				  const void *owner, const void *key)
{
	uint32_t tag = hash >> IDMAP_INDEX_BITS, p, v;

	if (!m->mask)
		return IDMAP_NOWHERE;
	for (p = hash & m->mask; (v = m->slot[p]) != 0; p = (p + 1) & m->mask)
		if (v >> IDMAP_INDEX_BITS == tag && eq(owner, idmap_index(v), key))
			break;
	return p;
}

static inline bool idmap_found(const struct idmap *m, uint32_t pos)
{
	return pos != IDMAP_NOWHERE && m->slot[pos] != 0;
}

/* The index at a position idmap_found said holds an entry. */
static inline uint32_t idmap_at(const struct idmap *m, uint32_t pos)
{
	return idmap_index(m->slot[pos]);
}

/*
 * Make room for one more entry (growing moves every slot, so positions from
 * idmap_find are stale afterwards).  -1 when out of memory or full.
 */
int idmap_reserve(struct idmap *m, const void *owner, idmap_hash_fn of)
	__attribute__((warn_unused_result));

/*
 * Add index (whose hash is hash) at the empty position pos that idmap_find
 * returned after idmap_reserve.
 */
static inline void idmap_put(struct idmap *m, uint32_t pos, uint32_t hash, uint32_t index)
{
	m->slot[pos] = idmap_tag(hash, index);
	m->n++;
}

/* Point the entry at pos to another index (the owner moved it). */
static inline void idmap_move(struct idmap *m, uint32_t pos, uint32_t hash, uint32_t index)
{
	m->slot[pos] = idmap_tag(hash, index);
}

/* Empty the found position pos; of is needed to shift later entries back. */
void idmap_del(struct idmap *m, uint32_t pos, const void *owner, idmap_hash_fn of);

void idmap_free(struct idmap *m);

#endif
