/*
 * eval.c — evaluate compiled conditions; the per-symbol price windows.
 *
 * Runs on the worker thread that owns the symbol (rules.c calls it); tests
 * and the benchmark call it directly.  Evaluation is pure and allocates
 * nothing; only eval_window_ref/push allocate, when a window grows.
 *
 * DESIGN
 * Every comparison is on dec_t keys (dec.h), so thresholds compare exactly.
 * A leaf on an absent field (NULL change_percent, or no previous value for a
 * crossing) does not hold.
 *
 * Windowed moves keep, per distinct window length, two monotonic deques of
 * (time, price): one whose prices increase from the front (its front is the
 * window's lowest price) and one whose prices decrease (front = highest).  A
 * push pops from the back every entry the new price dominates; advancing the
 * clock pops expired entries from the front.  Both are amortised O(1) per
 * price, and extremes are O(1).  The window holds the prices seen within the
 * last window_seconds before the change being evaluated.
 */
#include <stdlib.h>
#include <string.h>

#include "cond_int.h"
#include "eval.h"

#define EVAL_US_PER_S 1000000LL
/* 100 percent * 2 * 10^8: the scale of "percent" in the moves formulas. */
#define EVAL_PCT_SCALE ((dec_t)20000000000LL)

struct eval_pt {
	int64_t t;
	cond_dec p;
};

/* A ring buffer used as a deque; cap is a power of two. */
struct eval_dq {
	struct eval_pt *v;
	uint32_t head, len, cap;
};

struct eval_wq {
	uint32_t window_s;
	uint32_t refs;
	struct eval_dq lo;	/* increasing prices: front is the minimum */
	struct eval_dq hi;	/* decreasing prices: front is the maximum */
};

struct eval_window {
	uint32_t n, cap;
	struct eval_wq *q;
};

/* --- deque --- */

static struct eval_pt *eval_dq_at(const struct eval_dq *d, uint32_t i)
{
	return &d->v[(d->head + i) & (d->cap - 1)];
}

static int eval_dq_grow(struct eval_dq *d)
{
	uint32_t ncap = d->cap ? d->cap * 2 : 8;
	struct eval_pt *nv = malloc((size_t)ncap * sizeof(*nv));

	if (!nv)
		return -1;
	for (uint32_t i = 0; i < d->len; i++)
		nv[i] = *eval_dq_at(d, i);
	free(d->v);
	d->v = nv;
	d->head = 0;
	d->cap = ncap;
	return 0;
}

/* Push (t, p), first dropping from the back what p dominates. */
static int eval_dq_push(struct eval_dq *d, int64_t t, dec_t p, bool keep_min)
{
	while (d->len) {
		dec_t b = eval_dq_at(d, d->len - 1)->p;

		if (keep_min ? b >= p : b <= p)
			d->len--;
		else
			break;
	}
	if (d->len == d->cap && eval_dq_grow(d))
		return -1;
	eval_dq_at(d, d->len)->t = t;
	eval_dq_at(d, d->len)->p = p;
	d->len++;
	return 0;
}

static void eval_dq_expire(struct eval_dq *d, int64_t oldest)
{
	while (d->len && eval_dq_at(d, 0)->t < oldest) {
		d->head = (d->head + 1) & (d->cap - 1);
		d->len--;
	}
}

/* --- windows --- */

struct eval_window *eval_window_new(void)
{
	return calloc(1, sizeof(struct eval_window));
}

void eval_window_free(struct eval_window *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < w->n; i++) {
		free(w->q[i].lo.v);
		free(w->q[i].hi.v);
	}
	free(w->q);
	free(w);
}

static struct eval_wq *eval_window_find(const struct eval_window *w,
					uint32_t window_s)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (w->q[i].window_s == window_s)
			return &w->q[i];
	return NULL;
}

int eval_window_ref(struct eval_window *w, uint32_t window_s)
{
	struct eval_wq *q = eval_window_find(w, window_s);

	if (q) {
		q->refs++;
		return 0;
	}
	if (w->n == w->cap) {
		uint32_t ncap = w->cap ? w->cap * 2 : 2;
		struct eval_wq *nq = realloc(w->q, (size_t)ncap * sizeof(*nq));

		if (!nq)
			return -1;
		w->q = nq;
		w->cap = ncap;
	}
	q = &w->q[w->n++];
	memset(q, 0, sizeof(*q));
	q->window_s = window_s;
	q->refs = 1;
	return 0;
}

void eval_window_unref(struct eval_window *w, uint32_t window_s)
{
	struct eval_wq *q = eval_window_find(w, window_s);

	if (!q || --q->refs)
		return;
	free(q->lo.v);
	free(q->hi.v);
	*q = w->q[--w->n];
}

bool eval_window_empty(const struct eval_window *w)
{
	return w->n == 0;
}

void eval_window_advance(struct eval_window *w, int64_t now_us)
{
	for (uint32_t i = 0; i < w->n; i++) {
		struct eval_wq *q = &w->q[i];
		int64_t oldest = now_us - (int64_t)q->window_s * EVAL_US_PER_S;

		eval_dq_expire(&q->lo, oldest);
		eval_dq_expire(&q->hi, oldest);
	}
}

int eval_window_push(struct eval_window *w, int64_t now_us, dec_t price)
{
	int rc = 0;

	for (uint32_t i = 0; i < w->n; i++) {
		if (eval_dq_push(&w->q[i].lo, now_us, price, true))
			rc = -1;
		if (eval_dq_push(&w->q[i].hi, now_us, price, false))
			rc = -1;
	}
	return rc;
}

bool eval_window_extremes(const struct eval_window *w, uint32_t window_s,
			  dec_t *lo, dec_t *hi)
{
	const struct eval_wq *q = w ? eval_window_find(w, window_s) : NULL;

	if (!q || !q->lo.len || !q->hi.len)
		return false;
	*lo = eval_dq_at(&q->lo, 0)->p;
	*hi = eval_dq_at(&q->hi, 0)->p;
	return true;
}

/* --- the moves arithmetic --- */

/*
 * "cur is at least pct percent above lo" reads, in real numbers,
 *     cur - lo >= |lo| * pct / 100
 * (for lo > 0 that is cur >= lo * (1 + pct/100); |lo| keeps it meaningful
 * for negative prices).  In keys (value * 2e8): C - L >= |L| * P / (100 * 2e8)
 * i.e.  X := (C - L) * 2e10  >=  |L| * P.
 *
 * Overflow: observed keys saturate at DEC_MAX = 2e26, so |C - L| <= 4e26 and
 * |X| <= 8e36 < 2^127 (1.7e38).  |L| * P could reach 2e26 * 2e20 = 4e46, so
 * it is never formed: X < 0 fails (|L| * P >= 0), and for X >= 0 and P > 0,
 * |L| * P <= X  <=>  |L| <= floor(X / P), exact in integers.  P > 0 is
 * guaranteed by cond.c.
 *
 * Keys with the sticky bit (an observed price with more than 8 fractional
 * digits) stand for their cell's midpoint here; every other comparison in
 * the engine is exact.
 */
static bool eval_moved(dec_t diff, dec_t base, dec_t pct)
{
	dec_t x, mag;

	if (pct <= 0)
		return false;
	x = diff * EVAL_PCT_SCALE;
	if (x < 0)
		return false;
	mag = base < 0 ? -base : base;
	return mag <= x / pct;
}

bool eval_moved_up(dec_t cur, dec_t lo, dec_t pct)
{
	return eval_moved(cur - lo, lo, pct);
}

bool eval_moved_down(dec_t cur, dec_t hi, dec_t pct)
{
	return eval_moved(hi - cur, hi, pct);
}

/* --- conditions --- */

static bool eval_in(dec_t v, dec_t lo, dec_t hi)
{
	return lo <= v && v <= hi;
}

bool eval_node(const struct cond_node *n, const struct eval_snap *prev,
	       const struct eval_snap *cur, const struct eval_window *w)
{
	const struct cond_node *c, *end;
	bool hp, hc;
	dec_t p = 0, v = 0, a = n->a, b = n->b;

	switch (n->op) {
	case COND_ALL:
		for (c = n + 1, end = n + n->size; c < end; c += c->size)
			if (!eval_node(c, prev, cur, w))
				return false;
		return true;
	case COND_ANY:
		for (c = n + 1, end = n + n->size; c < end; c += c->size)
			if (eval_node(c, prev, cur, w))
				return true;
		return false;
	case COND_NOT:
		return !eval_node(n + 1, prev, cur, w);
	default:
		break;
	}
	if (n->field == COND_FIELD_CHG) {
		hp = prev && prev->has_chg;
		hc = cur->has_chg;
		if (hp)
			p = prev->chg;
		if (hc)
			v = cur->chg;
	} else {
		hp = prev && prev->has_price;
		hc = cur->has_price;
		if (hp)
			p = prev->price;
		if (hc)
			v = cur->price;
	}
	if (!hc)
		return false;
	switch (n->op) {
	case COND_GT: return v > a;
	case COND_GE: return v >= a;
	case COND_LT: return v < a;
	case COND_LE: return v <= a;
	case COND_EQ: return v == a;
	case COND_NE: return v != a;
	case COND_CROSSES_ABOVE: return hp && p < a && a <= v;
	case COND_CROSSES_BELOW: return hp && p > a && a >= v;
	case COND_CROSSES:
		return hp && ((p < a && a <= v) || (p > a && a >= v));
	case COND_BETWEEN: return eval_in(v, a, b);
	case COND_OUTSIDE: return !eval_in(v, a, b);
	case COND_ENTERS: return hp && !eval_in(p, a, b) && eval_in(v, a, b);
	case COND_EXITS: return hp && eval_in(p, a, b) && !eval_in(v, a, b);
	case COND_MOVES_UP_PCT:
	case COND_MOVES_DOWN_PCT: {
		dec_t lo, hi;

		if (!eval_window_extremes(w, n->window_s, &lo, &hi))
			return false;
		return n->op == COND_MOVES_UP_PCT ? eval_moved_up(v, lo, a)
						  : eval_moved_down(v, hi, a);
	}
	default:
		return false;
	}
}

bool eval_cond(const struct cond *c, const struct eval_snap *prev,
	       const struct eval_snap *cur, const struct eval_window *w)
{
	return eval_node(&c->node[0], prev, cur, w);
}
