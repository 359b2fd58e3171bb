/*
 * tmpl_arena.c — the bump allocator of the template engine: a compiled
 * template's tree and a render's temporary strings live in one each and
 * are freed at once.  Not thread-safe; each arena has one owner (the
 * compiling or rendering thread).
 */
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

#define TMPL_CHUNK_MIN (16 * 1024)

struct tmpl_chunk {
	struct tmpl_chunk *prev;
	size_t size, used;
	max_align_t data[];
};

void *tmpl_arena_alloc(struct tmpl_arena *a, size_t n)
{
	struct tmpl_chunk *c = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (need < n)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t size = need > TMPL_CHUNK_MIN ? need : TMPL_CHUNK_MIN;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->prev = a->head;
		c->size = size;
		c->used = 0;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

struct tmpl_mark tmpl_arena_mark(const struct tmpl_arena *a)
{
	struct tmpl_mark m = { a->head, a->head ? a->head->used : 0 };

	return m;
}

/* Frees every chunk made after the mark and rewinds the one it was in. */
void tmpl_arena_release(struct tmpl_arena *a, struct tmpl_mark m)
{
	while (a->head && a->head != m.chunk) {
		struct tmpl_chunk *c = a->head;

		a->head = c->prev;
		free(c);
	}
	if (a->head)
		a->head->used = m.used;
}

void tmpl_arena_free(struct tmpl_arena *a)
{
	struct tmpl_mark none = { NULL, 0 };

	tmpl_arena_release(a, none);
}
