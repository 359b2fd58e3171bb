/*
 * ruleidx.c — the threshold index of ruleidx.h: sorted keys, lower bound,
 * merge.  Runs on the thread of its owner (a worker's rule table).
 *
 * DESIGN
 * An index is a sorted main array plus a small unsorted pending array for
 * recent inserts.  An insert appends to the pending array and merges it
 * (sort, then one linear merge that also drops dead entries) once it holds
 * more than max(64, n/4) entries; a look-up merges first when more than 16
 * wait (or any, below 1024 entries) and scans the rest.  So a bulk load
 * costs O(n log n) in all, and a single insert amortised O(log n) plus, on a
 * hot symbol, one linear merge per 16 inserts that are each followed by a
 * change.  A look-up gallops from where the previous one started, since
 * prices move a little per change.  Removal marks the entry dead (high bit
 * of its rule, which the sort order ignores) after a binary search; dead
 * entries go when they pass half of the array, or at the next merge.
 */
#include "ruleidx.h"

#include <stdlib.h>

#define RULEIDX_PEND_MIN 64

static inline int ruleidx_cmp(const struct ruleidx_ent *a, const struct ruleidx_ent *b)
{
	uint32_t ra = a->rule & ~RULEIDX_DEAD, rb = b->rule & ~RULEIDX_DEAD;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return ra < rb ? -1 : ra > rb;
}

static int ruleidx_qcmp(const void *a, const void *b)
{
	return ruleidx_cmp(a, b);
}

static struct ruleidx_ent ruleidx_make(dec_t key, uint32_t rule)
{
	struct ruleidx_ent e;

	e.lo = (uint64_t)key;
	e.hi = (int32_t)(key >> 64);
	e.rule = rule;
	return e;
}

/* First position in main whose entry is >= e (dead flag ignored). */
static uint32_t ruleidx_search(const struct ruleidx *x, const struct ruleidx_ent *e)
{
	uint32_t lo = 0, hi = x->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ruleidx_cmp(&x->main[mid], e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * lower_bound again, but starting from where the previous look-up of this
 * index started: prices move a little per change, so the answer is near, and
 * galloping from there touches the cache lines the last change touched
 * instead of a fresh binary search's log2(n) cold lines.
 */
uint32_t ruleidx_lower(struct ruleidx *x, dec_t key)
{
	struct ruleidx_ent e = ruleidx_make(key, 0);
	uint32_t c = x->cursor < x->n ? x->cursor : x->n, lo, hi, step = 1;

	if (c < x->n && ruleidx_cmp(&x->main[c], &e) < 0) {
		/* Answer is right of c: gallop until main[hi] >= e. */
		lo = c + 1;
		hi = lo;
		while (hi < x->n && ruleidx_cmp(&x->main[hi], &e) < 0) {
			lo = hi + 1;
			hi = hi + step < x->n ? hi + step : x->n;
			step *= 2;
		}
	} else {
		/* Answer is c or left of it: gallop until main[lo - 1] < e. */
		hi = c;
		lo = c;
		while (lo > 0 && ruleidx_cmp(&x->main[lo - 1], &e) >= 0) {
			hi = lo - 1;
			lo = lo > step ? lo - step : 0;
			step *= 2;
		}
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ruleidx_cmp(&x->main[mid], &e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	x->cursor = lo;
	return lo;
}

int ruleidx_merge(struct ruleidx *x)
{
	uint32_t live = x->n - x->dead + x->pn, i = 0, j = 0, k = 0;
	struct ruleidx_ent *nm;

	if (x->pn == 0 && x->dead == 0)
		return 0;
	if (live == 0) {
		free(x->main);
		x->main = NULL;
		x->n = x->dead = x->pn = 0;
		return 0;
	}
	nm = malloc((size_t)live * sizeof(*nm));
	if (!nm)
		return -1;
	if (x->pn)
		qsort(x->pend, x->pn, sizeof(*x->pend), ruleidx_qcmp);
	while (i < x->n || j < x->pn) {
		if (i < x->n && (x->main[i].rule & RULEIDX_DEAD)) {
			i++;
			continue;
		}
		if (j >= x->pn || (i < x->n && ruleidx_cmp(&x->main[i], &x->pend[j]) <= 0))
			nm[k++] = x->main[i++];
		else
			nm[k++] = x->pend[j++];
	}
	free(x->main);
	x->main = nm;
	x->n = k;
	x->dead = 0;
	x->pn = 0;
	free(x->pend);
	x->pend = NULL;
	x->pcap = 0;
	return 0;
}

int ruleidx_add(struct ruleidx *x, dec_t key, uint32_t rule)
{
	if (x->pn == x->pcap) {
		uint32_t ncap = x->pcap ? x->pcap * 2 : 8;
		struct ruleidx_ent *np = realloc(x->pend, (size_t)ncap * sizeof(*np));

		if (!np)
			return -1;
		x->pend = np;
		x->pcap = ncap;
	}
	x->pend[x->pn++] = ruleidx_make(key, rule);
	if (x->pn > RULEIDX_PEND_MIN && x->pn > x->n / 4)
		(void)ruleidx_merge(x);	/* on failure pending just grows */
	return 0;
}

void ruleidx_del(struct ruleidx *x, dec_t key, uint32_t rule)
{
	struct ruleidx_ent e = ruleidx_make(key, rule);
	uint32_t p;

	/* After a bulk load many may wait: sort them in rather than scan. */
	if (x->pn > RULEIDX_PEND_MIN)
		(void)ruleidx_merge(x);
	for (uint32_t j = 0; j < x->pn; j++)
		if (x->pend[j].lo == e.lo && x->pend[j].hi == e.hi &&
		    x->pend[j].rule == rule) {
			x->pend[j] = x->pend[--x->pn];
			return;
		}
	for (p = ruleidx_search(x, &e); p < x->n && ruleidx_cmp(&x->main[p], &e) == 0; p++)
		if (!(x->main[p].rule & RULEIDX_DEAD)) {
			x->main[p].rule |= RULEIDX_DEAD;
			if (++x->dead * 2 > x->n && x->pn <= RULEIDX_PEND_MIN)
				(void)ruleidx_merge(x);
			return;
		}
}

void ruleidx_free(struct ruleidx *x)
{
	free(x->main);
	free(x->pend);
	x->main = x->pend = NULL;
	x->n = x->pn = x->pcap = x->dead = x->cursor = 0;
}
