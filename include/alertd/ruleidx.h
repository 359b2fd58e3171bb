/*
 * ruleidx.h — a threshold index: (key, rule) entries kept sorted by key, so
 * that the rules with a threshold in a swept range [lo, hi] are found in
 * O(log n + k).  rules.c keeps one per symbol and field, and one per
 * windowed-move direction and window length.
 *
 * Owned by the thread of its owner (a worker's rule table); nothing locks.
 * The look-ups are static inline so that the owner's callback is inlined.
 */
#ifndef LEO_RULEIDX_H
#define LEO_RULEIDX_H

#include <stdint.h>

#include "dec.h"

/* A rule's bit that marks a removed entry; rules are below it. */
#define RULEIDX_DEAD 0x80000000u

/* One entry: a 96-bit key (plenty: keys stay below 2^70) and a rule. */
struct ruleidx_ent {
	uint64_t lo;
	int32_t hi;
	uint32_t rule;		/* RULEIDX_DEAD bit: removed */
};

/*
 * main: sorted by (key, rule), the dead ones still in place; pend: recent
 * inserts, unsorted, never dead.  A zeroed struct is an empty index.
 */
struct ruleidx {
	struct ruleidx_ent *main, *pend;
	uint32_t n, pn, pcap, dead;
	uint32_t cursor;	/* where the last look-up started (see ruleidx_lower) */
};

typedef void (*ruleidx_fn)(void *arg, uint32_t rule);

/*
 * Add an entry (the same key and rule may be there already: each copy is an
 * entry of its own).  -1 when out of memory.
 */
int ruleidx_add(struct ruleidx *x, dec_t key, uint32_t rule)
	__attribute__((warn_unused_result));

/* Remove one copy of the entry; nothing if it is not there. */
void ruleidx_del(struct ruleidx *x, dec_t key, uint32_t rule);

/*
 * Sort the pending entries into main, dropping dead ones.  -1 when out of
 * memory: the index is unchanged, which is still correct (pending entries
 * are found by a scan), so callers may ignore it.
 */
int ruleidx_merge(struct ruleidx *x);

/*
 * First position in main whose key is >= key, galloping from where the
 * previous look-up started (prices move a little per change).
 */
uint32_t ruleidx_lower(struct ruleidx *x, dec_t key);

void ruleidx_free(struct ruleidx *x);

static inline dec_t ruleidx_key(const struct ruleidx_ent *e)
{
	return (dec_t)e->hi * ((dec_t)1 << 64) + (dec_t)e->lo;
}

/* Before a look-up: small arrays merge for next to nothing; big ones once 16 wait. */
static inline void ruleidx_settle(struct ruleidx *x)
{
	if (x->pn > 16 || (x->pn && x->n < 1024))
		(void)ruleidx_merge(x);
}

/* fn(arg, rule) for every entry. */
static inline void ruleidx_all(struct ruleidx *x, ruleidx_fn fn, void *arg)
{
	uint32_t p;

	ruleidx_settle(x);
	for (p = 0; p < x->n; p++)
		if (!(x->main[p].rule & RULEIDX_DEAD))
			fn(arg, x->main[p].rule);
	for (p = 0; p < x->pn; p++)
		fn(arg, x->pend[p].rule);
}

/* fn(arg, rule) for every entry whose key lies in [lo, hi]. */
static inline void ruleidx_range(struct ruleidx *x, dec_t lo, dec_t hi,
				 ruleidx_fn fn, void *arg)
{
	uint32_t p;

	ruleidx_settle(x);
	for (p = ruleidx_lower(x, lo); p < x->n; p++) {
		const struct ruleidx_ent *m = &x->main[p];

		if (ruleidx_key(m) > hi)
			break;
		if (!(m->rule & RULEIDX_DEAD))
			fn(arg, m->rule);
	}
	for (p = 0; p < x->pn; p++) {
		dec_t k = ruleidx_key(&x->pend[p]);

		if (k >= lo && k <= hi)
			fn(arg, x->pend[p].rule);
	}
}

/* fn(arg, rule) for every entry whose key is <= hi: a prefix of main. */
static inline void ruleidx_upto(struct ruleidx *x, dec_t hi, ruleidx_fn fn, void *arg)
{
	ruleidx_settle(x);
	for (uint32_t p = 0; p < x->n && ruleidx_key(&x->main[p]) <= hi; p++)
		if (!(x->main[p].rule & RULEIDX_DEAD))
			fn(arg, x->main[p].rule);
	for (uint32_t p = 0; p < x->pn; p++)
		if (ruleidx_key(&x->pend[p]) <= hi)
			fn(arg, x->pend[p].rule);
}

#endif
