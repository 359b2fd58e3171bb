/*
 * trigger.c — the trigger policies of SPEC section 3 for one rule of a rule
 * table (rules_int.h): what a rule does when it holds, when it stops
 * holding and when its time is up.  Runs on the worker thread that owns the
 * table; the emit callback runs synchronously on it.
 *
 * A level rule fires when it holds while armed, then (REARM) disarms until
 * it stops holding, past its hysteresis for a single comparison; an edge
 * rule fires on every change where it holds.  A REARM rule's cooldown holds
 * a firing back (it is not a firing: a level rule stays armed and watched);
 * the flood guard turns the (flood_max_fires + 1)th firing within the
 * window into a pause.  ONCE fires once and leaves the table.
 */
#include "trigger.h"

#include <stdlib.h>

#include "cond_int.h"
#include "eval.h"
#include "rules.h"
#include "rules_int.h"

#define TRIGGER_US_PER_S 1000000LL

/*
 * Flood guard: record a firing at now; true when this firing is the
 * (flood_max_fires + 1)th within flood_window_s (then the caller pauses the
 * rule).  The ring holds the firing times still inside the window, at most
 * flood_max_fires of them; it grows as it fills, so a rule costs memory for
 * the firings it really has, not for the limit.
 */
static bool trigger_flooded(struct rules *t, struct rule *r, int64_t now_us)
{
	int max = t->lim.flood_max_fires > 65535 ? 65535 : t->lim.flood_max_fires;
	struct rule_ext *e;
	int64_t window_us = t->lim.flood_window_s * TRIGGER_US_PER_S;

	if (max <= 0 || t->lim.flood_window_s <= 0)
		return false;
	if (!r->ext) {
		r->ext = calloc(1, sizeof(*r->ext));
		if (!r->ext)
			return false;
	}
	e = r->ext;
	if (e->flood_max != (uint16_t)max) {	/* new limits: a new count */
		e->flood_max = (uint16_t)max;
		e->flood_n = e->flood_head = 0;
	}
	/* flood_head is the oldest entry; forget those out of the window */
	while (e->flood_n && e->flood[e->flood_head] <= now_us - window_us) {
		e->flood_head = (uint16_t)((e->flood_head + 1) % e->flood_cap);
		e->flood_n--;
	}
	if (e->flood_n >= max)
		return true;
	if (e->flood_n == e->flood_cap) {
		int cap = e->flood_cap ? 2 * e->flood_cap : 4;
		int64_t *nf;

		if (cap > max)
			cap = max;
		nf = malloc((size_t)cap * sizeof(*nf));
		if (!nf)
			return false;
		for (int i = 0; i < e->flood_n; i++)
			nf[i] = e->flood[(e->flood_head + i) % e->flood_cap];
		free(e->flood);
		e->flood = nf;
		e->flood_cap = (uint16_t)cap;
		e->flood_head = 0;
	}
	e->flood[(e->flood_head + e->flood_n) % e->flood_cap] = now_us;
	e->flood_n++;
	return false;
}

/*
 * Rule ri holds and may fire.  Applies cooldown (REARM), the flood guard and
 * ONCE; emits; may drop the rule.  Returns true when the rule is gone.
 */
bool trigger_fire(struct rules *t, uint32_t ri, int64_t now_us,
		  const struct eval_snap *prev, const struct eval_snap *cur)
{
	struct rule *r = rules_at(t, ri);
	struct rules_event ev;

	if (t->replay_since_us && r->ext && r->ext->last_us >= t->replay_since_us) {
		/* fired for this change before a restart (rules_replay) */
		if (!(r->flags & RF_EDGE)) {
			r->flags &= (uint8_t)~RF_ARMED;
			rules_set_watch(t, ri, false);
		}
		return false;
	}
	if ((r->flags & RF_REARM) && r->ext && r->ext->cooldown_s > 0 &&
	    r->ext->last_us != 0 &&
	    now_us < r->ext->last_us + (int64_t)r->ext->cooldown_s * TRIGGER_US_PER_S) {
		/* Held back: not a firing; a level rule stays armed and is
		 * watched on every change until it fires or stops holding. */
		if (!(r->flags & RF_EDGE))
			rules_set_watch(t, ri, true);
		return false;
	}
	if ((r->flags & RF_REARM) && trigger_flooded(t, r, now_us)) {
		rules_event_fill(t, r, &ev, RULES_FLOOD_PAUSE, now_us, prev, cur);
		rules_drop(t, ri);
		t->emit(t->arg, &ev);
		return true;
	}
	rules_event_fill(t, r, &ev, RULES_FIRE, now_us, prev, cur);
	if (!(r->flags & RF_REARM)) {
		rules_drop(t, ri);
		t->emit(t->arg, &ev);
		return true;
	}
	r->trigger_count++;
	if (r->ext)
		r->ext->last_us = now_us;
	if (!(r->flags & RF_EDGE)) {
		r->flags &= (uint8_t)~RF_ARMED;
		rules_set_watch(t, ri, false);
	}
	t->emit(t->arg, &ev);
	return false;
}

void trigger_flood_seed(struct rules *t, struct rule *r, const int64_t *times, size_t n,
			int64_t now_us)
{
	int64_t window_us = t->lim.flood_window_s * TRIGGER_US_PER_S;

	/* the guard itself records them: same ring, same limits */
	for (size_t i = 0; i < n; i++)
		if (times[i] > now_us - window_us && times[i] <= now_us)
			(void)trigger_flooded(t, r, times[i]);
}

/* A level rule that does not hold re-arms (hysteresis for single comparisons). */
bool trigger_rearm_ok(const struct rule *r, const struct eval_snap *cur)
{
	struct cond_node buf;
	const struct cond_node *c = rules_nodes(r, &buf);
	dec_t h = rules_hyst(r), v;

	if (h <= 0 || !rules_single_cmp(r))
		return true;
	if (c->field == COND_FIELD_CHG) {
		if (!cur->has_chg)
			return false;
		v = cur->chg;
	} else {
		if (!cur->has_price)
			return false;
		v = cur->price;
	}
	if (c->op == COND_GT || c->op == COND_GE)
		return v <= c->a - h;
	return v >= c->a + h;
}

bool trigger_expired(const struct rule *r, int64_t now_us)
{
	return r->ext && r->ext->expires_us != 0 && r->ext->expires_us <= now_us;
}

/* Evaluate one rule on a change and apply its policy. */
void trigger_process(struct rules *t, uint32_t ri, int64_t now_us,
		     const struct eval_snap *prev, const struct eval_snap *cur,
		     const struct eval_window *win)
{
	struct rule *r = rules_at(t, ri);
	struct cond_node buf;
	const struct cond_node *nd;
	bool holds;

	if (trigger_expired(r, now_us))
		return;		/* never fires again; rules_sweep drops it */
	nd = rules_nodes(r, &buf);
	holds = eval_node(nd, prev, cur, win);
	if (r->flags & RF_EDGE) {
		if (holds && trigger_fire(t, ri, now_us, prev, cur))
			return;
		if (!(r->flags & (RF_SCANNED | RF_MOVEIDX)))
			rules_set_watch(t, ri, eval_node(nd, cur, cur, win));
		return;
	}
	if (r->flags & RF_ARMED) {
		if (holds)
			(void)trigger_fire(t, ri, now_us, prev, cur);
		else
			rules_set_watch(t, ri, false);
	} else if (!holds && trigger_rearm_ok(r, cur)) {
		r->flags |= RF_ARMED;
	}
}
