/*
 * rulecand.c — which rules of the table a change can affect: the keys a
 * rule puts in its symbol's threshold indexes (ruleidx.c) and moves groups,
 * the windows its moves leaves need, and the lookups that turn one change
 * into its candidates.  rulecand_cand and rulecand_new_epoch, on the path of
 * every change, are inline in rules_int.h.
 *
 * Runs on the worker thread that owns the table (see rules.c), so nothing
 * here locks.
 *
 * DESIGN
 * The index.  For a condition without windowed moves, the truth of every
 * leaf depends only on where each field's value lies relative to the leaf's
 * thresholds (value, or low and high).  So if a price moves from p0 to p1
 * and no threshold of a rule lies in the closed range [min, max] of the two,
 * every leaf keeps its truth value, no crossing or enters/exits can hold,
 * and the rule's state cannot change.  Each symbol therefore keeps, per
 * field, a sorted array of (threshold key, rule) entries, and a change looks
 * up only the swept range: O(log n + k).  A REARM rule with hysteresis on a
 * single comparison leaf has its re-arm point (threshold -/+ hysteresis) as a
 * second key, so re-arming is found the same way.  Keys never move with the
 * rule's state, so state changes cost nothing in the index.
 *
 * Single-leaf windowed moves are indexed too, per window length, by their
 * percent (struct rules_mgroup): the rules that hold on a change are a
 * prefix of that sorted array.
 *
 * What the indexes cannot find, and how it is covered:
 *   - a composite with a windowed-move leaf depends on the window: such
 *     rules sit in a per-symbol "scan" list evaluated on every change;
 *   - a level rule armed and holding but held back by its cooldown would
 *     fire on any later change once the cooldown is over, and an edge rule
 *     that holds without any crossing (a crossing under "not", or beside a
 *     level leaf under "any") fires on every change while that lasts: such
 *     rules sit in a per-symbol "watch" list, evaluated on every change; each
 *     evaluation decides again whether the rule stays there (for an edge
 *     rule: whether it holds on a change that stays in the current cell,
 *     i.e. evaluated with previous = current);
 *   - a change where a field appears or disappears (first price of a
 *     symbol, change_percent NULL <-> not NULL) evaluates every rule of the
 *     symbol.
 * A rule reached twice in one change (several keys in range) is evaluated
 * once (per-rule stamp).  tests/test_rules.c checks all of this against an
 * independent brute-force model.
 *
 * How an index keeps its entries sorted while rules come and go is
 * ruleidx.c's business.
 */
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "cond_int.h"
#include "eval.h"
#include "ruleidx.h"
#include "rules_int.h"

/* ------------------------------------------------------------------ */
/* what a rule registers */

/*
 * Call fn for each index key of rule r: every threshold of every leaf, and
 * the re-arm point of a single comparison leaf with hysteresis.
 */
int rulecand_keys(struct rules *t, uint32_t ri, bool add)
{
	struct rule *r = rules_at(t, ri);
	struct rules_sym *s = t->sym[r->sym];
	struct cond_node buf;
	const struct cond_node *nd = rules_nodes(r, &buf);
	uint32_t n = rules_nnodes(r);
	dec_t h = rules_hyst(r);

	for (uint32_t i = 0; i < n; i++) {
		const struct cond_node *c = &nd[i];
		struct ruleidx *x = &s->idx[c->field];
		dec_t keys[2];
		int nk = 0;

		if (!cond_node_is_leaf(c))
			continue;
		keys[nk++] = c->a;
		if (cond_op_has_range(c->op))
			keys[nk++] = c->b;
		else if (h > 0 && rules_single_cmp(r))
			keys[nk++] = (c->op == COND_GT || c->op == COND_GE) ? c->a - h : c->a + h;
		for (int k = 0; k < nk; k++) {
			if (!add)
				ruleidx_del(x, keys[k], ri);
			else if (ruleidx_add(x, keys[k], ri))
				return -1;
		}
	}
	return 0;
}

void rulecand_windows(struct rules *t, struct rule *r, bool add)
{
	struct rules_sym *s = t->sym[r->sym];
	struct cond_node buf;
	const struct cond_node *nd = rules_nodes(r, &buf);

	for (uint32_t i = 0; i < rules_nnodes(r); i++) {
		if (!cond_op_is_moves(nd[i].op))
			continue;
		if (add) {
			/* Failure leaves the window unregistered: the leaf then
			 * never holds (eval_window_extremes finds no window). */
			if (s->win && eval_window_ref(s->win, nd[i].window_s) == 0)
				continue;
		} else if (s->win) {
			eval_window_unref(s->win, nd[i].window_s);
		}
	}
}

static struct ruleidx *rulecand_moves_idx(struct rules_sym *s, const struct cond_node *n,
					   bool add)
{
	struct rules_mgroup *g = NULL;

	for (uint32_t i = 0; i < s->nmg; i++)
		if (s->mg[i].window_s == n->window_s)
			g = &s->mg[i];
	if (!g && add) {
		struct rules_mgroup *ng = realloc(s->mg, (s->nmg + 1) * sizeof(*ng));

		if (!ng)
			return NULL;
		s->mg = ng;
		g = &s->mg[s->nmg++];
		memset(g, 0, sizeof(*g));
		g->window_s = n->window_s;
	}
	if (!g)
		return NULL;
	return n->op == COND_MOVES_UP_PCT ? &g->up : &g->down;
}

void rulecand_moves_del(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);
	struct cond_node buf;
	const struct cond_node *n = rules_nodes(r, &buf);
	struct ruleidx *x = rulecand_moves_idx(t->sym[r->sym], n, false);

	if (x)
		ruleidx_del(x, n->a, ri);
}

int rulecand_moves_add(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);
	struct cond_node buf;
	const struct cond_node *n = rules_nodes(r, &buf);
	struct ruleidx *x = rulecand_moves_idx(t->sym[r->sym], n, true);

	return x ? ruleidx_add(x, n->a, ri) : -1;
}

/* ------------------------------------------------------------------ */
/* the candidates of a change */

/* rulecand_cand as a ruleidx_fn (out of memory: the rule is missed). */
static void rulecand_fn(void *t, uint32_t ri)
{
	(void)rulecand_cand(t, ri);
}

/* Candidates from one field's index: keys in [lo, hi], or all when `all`. */
void rulecand_range(struct rules *t, struct ruleidx *x, bool all,
		    dec_t lo, dec_t hi)
{
	if (all)
		ruleidx_all(x, rulecand_fn, t);
	else
		ruleidx_range(x, lo, hi, rulecand_fn, t);
}

/* Largest percent key a threshold can need (operands stay below 2e20). */
#define RULECAND_PCT_CAP ((dec_t)1 << 80)

/*
 * Rules of index x whose percent key is <= the largest that holds for a move
 * from `base` to `cur` (see struct rules_mgroup): a prefix of the array.
 */
static void rulecand_pct(struct rules *t, struct ruleidx *x, dec_t diff, dec_t base)
{
	dec_t xx, mag, thr;

	if (x->n == 0 && x->pn == 0)
		return;
	if (diff < 0)
		return;
	/* diff <= 4e26 (saturated keys), so xx <= 8e36 < 2^127: see eval.c. */
	xx = diff * (dec_t)20000000000LL;
	mag = base < 0 ? -base : base;
	thr = mag == 0 ? RULECAND_PCT_CAP : xx / mag;
	if (thr > RULECAND_PCT_CAP)
		thr = RULECAND_PCT_CAP;
	ruleidx_upto(x, thr, rulecand_fn, t);
}

void rulecand_moves(struct rules *t, struct rules_sym *s,
		    struct rules_mgroup *g, dec_t price)
{
	dec_t lo, hi;

	if (!eval_window_extremes(s->win, g->window_s, &lo, &hi))
		return;
	rulecand_pct(t, &g->up, price - lo, lo);
	rulecand_pct(t, &g->down, hi - price, hi);
}
