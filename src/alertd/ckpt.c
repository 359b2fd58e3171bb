/*
 * ckpt.c — per symbol, the last price whose firings are all committed.
 * Worker and writer threads; `lock` guards everything in struct ckpt.
 *
 * DESIGN
 *
 * A symbol's entry counts its events on their way to the database
 * (`pending`: +1 when a worker emits one, -1 when a writer is done with
 * it) and remembers the last tick a worker evaluated (`last`).  While
 * nothing is pending, every firing of every tick up to `last` is committed,
 * so `last` becomes the checkpoint (`safe`): at the end of a tick that left
 * nothing pending, or when the last pending event of the symbol is done.
 * While events are pending, `safe` stays where it was: at or before the
 * tick of the oldest event not yet committed.  That is all a restart needs
 * (load.c): replaying the change from `safe` to the current price loses no
 * firing, and the rules that fired after `safe` are told not to fire on it.
 *
 * A checkpoint that advanced is `dirty` until a writer takes it into its
 * next transaction (ckpt_take); a failed transaction gives it back.  The
 * written value thus lags the commits by one transaction — never leads
 * them, which is what matters.
 *
 * Entries are never removed: one per symbol that ever ticked.
 */
#include "ckpt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "idmap.h"

struct ckpt_snap {
	dec_t price, chg;
	bool has_chg;
	int64_t observed_us;
};

struct ckpt_ent {
	char *symbol;
	uint32_t hash;
	int64_t pending;
	bool has_last, has_safe, dirty;
	struct ckpt_snap last, safe;
};

struct ckpt {
	pthread_mutex_t lock;
	struct idmap idx;
	struct ckpt_ent *ent;
	uint32_t n, cap;
	uint32_t ndirty;
};

static uint32_t ckpt_hash(const void *owner, uint32_t i)
{
	const struct ckpt *c = owner;

	return c->ent[i].hash;
}

static bool ckpt_eq(const void *owner, uint32_t i, const void *key)
{
	const struct ckpt *c = owner;

	return strcmp(c->ent[i].symbol, key) == 0;
}

/* Under lock: find or add symbol's entry; NULL when out of memory. */
static struct ckpt_ent *ckpt_get(struct ckpt *c, const char *symbol)
{
	uint32_t h = fnv_str(symbol), p = idmap_find(&c->idx, h, ckpt_eq, c, symbol);
	struct ckpt_ent *e;

	if (idmap_found(&c->idx, p))
		return &c->ent[idmap_at(&c->idx, p)];
	if (idmap_reserve(&c->idx, c, ckpt_hash))
		return NULL;
	if (c->n == c->cap) {
		uint32_t ncap = c->cap ? c->cap * 2 : 64;
		struct ckpt_ent *ne = realloc(c->ent, ncap * sizeof(*ne));

		if (!ne)
			return NULL;
		c->ent = ne;
		c->cap = ncap;
	}
	e = &c->ent[c->n];
	memset(e, 0, sizeof(*e));
	e->symbol = strdup(symbol);
	if (!e->symbol)
		return NULL;
	e->hash = h;
	idmap_put(&c->idx, idmap_find(&c->idx, h, ckpt_eq, c, symbol), h, c->n++);
	return e;
}

/* Under lock: last becomes the checkpoint. */
static void ckpt_advance(struct ckpt *c, struct ckpt_ent *e)
{
	if (!e->has_last)
		return;
	if (e->has_safe && e->safe.observed_us == e->last.observed_us)
		return;
	e->safe = e->last;
	e->has_safe = true;
	if (!e->dirty) {
		e->dirty = true;
		c->ndirty++;
	}
}

struct ckpt *ckpt_new(void)
{
	struct ckpt *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void ckpt_free(struct ckpt *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++)
		free(c->ent[i].symbol);
	free(c->ent);
	idmap_free(&c->idx);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void ckpt_fired(struct ckpt *c, const char *symbol)
{
	struct ckpt_ent *e;

	pthread_mutex_lock(&c->lock);
	e = ckpt_get(c, symbol);
	if (e)
		e->pending++;
	pthread_mutex_unlock(&c->lock);
}

void ckpt_ticked(struct ckpt *c, const char *symbol, dec_t price, bool has_chg, dec_t chg,
		 int64_t observed_us)
{
	struct ckpt_ent *e;

	pthread_mutex_lock(&c->lock);
	e = ckpt_get(c, symbol);
	if (e) {
		e->last = (struct ckpt_snap){ price, has_chg ? chg : 0, has_chg, observed_us };
		e->has_last = true;
		if (e->pending <= 0)
			ckpt_advance(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

void ckpt_done(struct ckpt *c, const char *symbol, size_t n)
{
	struct ckpt_ent *e;

	pthread_mutex_lock(&c->lock);
	e = ckpt_get(c, symbol);
	if (e) {
		e->pending -= (int64_t)n;
		if (e->pending <= 0) {
			e->pending = 0;
			ckpt_advance(c, e);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

int ckpt_take(struct ckpt *c, struct ckpt_rows *out)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; c->ndirty && i < c->n; i++) {
		struct ckpt_ent *e = &c->ent[i];
		struct ckpt_row *r;

		if (!e->dirty)
			continue;
		if (out->n == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 64;
			struct ckpt_row *nr = realloc(out->r, ncap * sizeof(*nr));

			if (!nr) {
				rc = -1;
				break;
			}
			out->r = nr;
			out->cap = ncap;
		}
		r = &out->r[out->n];
		r->symbol = strdup(e->symbol);
		if (!r->symbol) {
			rc = -1;
			break;
		}
		r->price = e->safe.price;
		r->chg = e->safe.chg;
		r->has_chg = e->safe.has_chg;
		r->observed_us = e->safe.observed_us;
		out->n++;
		e->dirty = false;
		c->ndirty--;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void ckpt_untake(struct ckpt *c, const struct ckpt_rows *rows)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < rows->n; i++) {
		struct ckpt_ent *e = ckpt_get(c, rows->r[i].symbol);

		/* a newer one may be dirty already; it is written instead */
		if (e && !e->dirty) {
			e->dirty = true;
			c->ndirty++;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

bool ckpt_dirty(struct ckpt *c)
{
	bool d;

	pthread_mutex_lock(&c->lock);
	d = c->ndirty > 0;
	pthread_mutex_unlock(&c->lock);
	return d;
}

void ckpt_rows_free(struct ckpt_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		free(rows->r[i].symbol);
	free(rows->r);
	rows->r = NULL;
	rows->n = rows->cap = 0;
}
