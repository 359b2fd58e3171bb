/*
 * listen_map.c — the loop's string-keyed entries (symbol -> last price,
 * tenant -> active, and dispatch's per-burst look-ups), found through the
 * core's idmap.  Loop thread; a map belongs to one owner.
 */
#include "listen_int.h"

#include <stdlib.h>
#include <string.h>

#include "fnv.h"

static uint32_t listen_map_hash(const void *owner, uint32_t i)
{
	const struct listen_map *m = owner;

	return m->ent[i].hash;
}

static bool listen_map_eq(const void *owner, uint32_t i, const void *key)
{
	const struct listen_map *m = owner;

	return strcmp(m->ent[i].key, key) == 0;
}

struct listen_ent *listen_map_get(const struct listen_map *m, const char *key)
{
	uint32_t p = idmap_find(&m->idx, fnv_str(key), listen_map_eq, m, key);

	return idmap_found(&m->idx, p) ? &m->ent[idmap_at(&m->idx, p)] : NULL;
}

/* Find or add (its value zeroed); *added tells which.  NULL when out of memory. */
struct listen_ent *listen_map_put(struct listen_map *m, const char *key,
					 bool *added)
{
	uint32_t h = fnv_str(key), p = idmap_find(&m->idx, h, listen_map_eq, m, key);
	struct listen_ent *e;

	*added = false;
	if (idmap_found(&m->idx, p))
		return &m->ent[idmap_at(&m->idx, p)];
	if (idmap_reserve(&m->idx, m, listen_map_hash))
		return NULL;
	if (m->n == m->cap) {
		uint32_t ncap = m->cap ? m->cap * 2 : 64;
		struct listen_ent *ne = realloc(m->ent, ncap * sizeof(*ne));

		if (!ne)
			return NULL;
		m->ent = ne;
		m->cap = ncap;
	}
	e = &m->ent[m->n];
	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	if (!e->key)
		return NULL;
	e->hash = h;
	/* the reserve may have moved every slot */
	idmap_put(&m->idx, idmap_find(&m->idx, h, listen_map_eq, m, key), h, m->n++);
	*added = true;
	return e;
}

void listen_map_del(struct listen_map *m, const char *key)
{
	uint32_t p = idmap_find(&m->idx, fnv_str(key), listen_map_eq, m, key), i;

	if (!idmap_found(&m->idx, p))
		return;
	i = idmap_at(&m->idx, p);
	free(m->ent[i].key);
	idmap_del(&m->idx, p, m, listen_map_hash);
	if (i != --m->n) {
		/* the last entry fills the hole; its slot still names n */
		m->ent[i] = m->ent[m->n];
		p = idmap_find(&m->idx, m->ent[i].hash, listen_map_eq, m, m->ent[i].key);
		idmap_move(&m->idx, p, m->ent[i].hash, i);
	}
}

void listen_map_clear(struct listen_map *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		free(m->ent[i].key);
	free(m->ent);
	idmap_free(&m->idx);
	m->ent = NULL;
	m->n = m->cap = 0;
}
