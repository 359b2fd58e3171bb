/*
 * rules.c — the symbol-indexed table of ACTIVE rules: rules arrive, change
 * and leave, and each price change evaluates the rules it can affect.
 *
 * Runs on one worker thread: each worker owns one table (its symbols, their
 * snapshots, windows and rules), so nothing here locks.  The emit callback
 * runs synchronously on that thread and must not call back into the table.
 *
 * DESIGN
 * The rules themselves live in ruletab.c's pool and are found by rule_id
 * through its id map; symbols and tenants are interned there too, each
 * with an id map (idmap.h).  A single-leaf condition is stored inline in the
 * rule; only composites keep a compiled struct cond.
 *
 * Which rules a change can affect (the threshold indexes, the moves groups,
 * the scan and watch lists) is rulecand.c's; this file registers each rule
 * there when it arrives, takes it out when it leaves, and evaluates the
 * candidates of each change.
 *
 * The trigger policies (SPEC section 3) are trigger.c's; this file calls
 * them for each candidate of a change and for each rule checked at load.
 */
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "cond_int.h"
#include "eval.h"
#include "idmap.h"
#include "ids.h"
#include "rules.h"
#include "ruleid.h"
#include "ruleidx.h"
#include "rules_int.h"
#include "trigger.h"

/* ------------------------------------------------------------------ */
/* rules: keys, storage, events */

static void rules_leaf_pack(struct rules_leaf *l, const struct cond_node *n)
{
	memset(l, 0, sizeof(*l));
	l->op = n->op;
	l->field = n->field;
	l->window_s = n->window_s;
	l->a_lo = (uint64_t)n->a;
	l->a_hi = (int32_t)(n->a >> 64);
	l->b_lo = (uint64_t)n->b;
	l->b_hi = (int32_t)(n->b >> 64);
}

void rules_event_fill(struct rules *t, const struct rule *r,
		      struct rules_event *ev, enum rules_event_kind kind,
		      int64_t now_us, const struct eval_snap *prev,
		      const struct eval_snap *cur)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ruleid_format(r->id, ev->rule_id);
	memcpy(ev->tenant_id, t->tenant[r->tenant], sizeof(ev->tenant_id));
	strncpy(ev->symbol, t->sym[r->sym]->name, sizeof(ev->symbol) - 1);
	ev->seq = r->trigger_count + 1;
	ev->at_us = now_us;
	if (prev && prev->has_price) {
		ev->has_prev = true;
		ev->prev_price = prev->price;
		ev->has_prev_chg = prev->has_chg;
		ev->prev_chg = prev->chg;
	}
	if (cur) {
		ev->cur_price = cur->price;
		ev->has_cur_chg = cur->has_chg;
		ev->cur_chg = cur->chg;
	}
}

/* Drop rule ri from every structure and free its slot. */
void rules_drop(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);
	struct rules_sym *s = t->sym[r->sym];

	if (r->flags & RF_SCANNED) {
		rules_vec_del(&s->scan, ri);
		rulecand_windows(t, r, false);
	} else if (r->flags & RF_MOVEIDX) {
		rulecand_moves_del(t, ri);
		rulecand_windows(t, r, false);
	} else {
		(void)rulecand_keys(t, ri, false);
	}
	if (r->flags & RF_WATCH)
		rules_vec_del(&s->watch, ri);
	ruletab_id_del(t, ri);
	if (!(r->flags & RF_INLINE))
		cond_free(r->u.cond);
	if (r->ext)
		free(r->ext->flood);
	free(r->ext);
	r->ext = NULL;
	ruletab_free_slot(t, ri);
	t->count--;
}

void rules_set_watch(struct rules *t, uint32_t ri, bool on)
{
	struct rule *r = rules_at(t, ri);
	struct rules_sym *s = t->sym[r->sym];

	if (on && !(r->flags & RF_WATCH)) {
		if (rules_vec_push(&s->watch, ri) == 0)
			r->flags |= RF_WATCH;
	} else if (!on && (r->flags & RF_WATCH)) {
		rules_vec_del(&s->watch, ri);
		r->flags &= (uint8_t)~RF_WATCH;
	}
}

/* ------------------------------------------------------------------ */
/* public API */

struct rules *rules_new(const struct rules_limits *lim, rules_emit_fn emit,
			void *arg)
{
	struct rules *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lim = *lim;
	t->emit = emit;
	t->arg = arg;
	t->free_head = RULES_NONE;
	return t;
}

void rules_free(struct rules *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->next_slot; i++) {
		struct rule *r = rules_at(t, i);

		if (!(r->flags & RF_LIVE))
			continue;
		if (!(r->flags & RF_INLINE))
			cond_free(r->u.cond);
		if (r->ext)
			free(r->ext->flood);
		free(r->ext);
	}
	for (uint32_t i = 0; i < t->nchunk; i++)
		free(t->chunk[i]);
	free(t->chunk);
	for (uint32_t i = 0; i < t->nsym; i++) {
		struct rules_sym *s = t->sym[i];

		ruleidx_free(&s->idx[0]);
		ruleidx_free(&s->idx[1]);
		free(s->scan.v);
		for (uint32_t k = 0; k < s->nmg; k++) {
			ruleidx_free(&s->mg[k].up);
			ruleidx_free(&s->mg[k].down);
		}
		free(s->mg);
		free(s->watch.v);
		eval_window_free(s->win);
		if (s->name != s->iname)
			free(s->name);
		free(s);
	}
	free(t->sym);
	free(t->tenant);
	idmap_free(&t->ids);
	idmap_free(&t->syms);
	idmap_free(&t->tenants);
	free(t->cand.v);
	free(t);
}

void rules_set_limits(struct rules *t, const struct rules_limits *lim)
{
	t->lim = *lim;
}

int rules_seed(struct rules *t, const char *symbol, dec_t price, bool has_chg,
	       dec_t chg)
{
	uint32_t si = ruletab_sym_get(t, symbol);
	struct rules_sym *s;

	if (si == RULES_NONE)
		return -1;
	s = t->sym[si];
	s->snap.has_price = true;
	s->snap.price = price;
	s->snap.has_chg = has_chg;
	s->snap.chg = has_chg ? chg : 0;
	return 0;
}

/* Same definition: same tenant, symbol, compiled condition and policy. */
static bool rules_same(const struct rules *t, const struct rule *r,
		       const struct rules_def *def, const struct cond_node *nodes,
		       uint32_t n, uint32_t sym, uint32_t tenant)
{
	int64_t cool = r->ext ? r->ext->cooldown_s : 0;
	struct cond_node buf;
	int64_t exp = r->ext ? r->ext->expires_us : 0;

	(void)t;
	return r->sym == sym && r->tenant == tenant &&
	       !!(r->flags & RF_REARM) == def->rearm &&
	       cool == (def->rearm && def->cooldown_s > 0 ? def->cooldown_s : 0) &&
	       exp == def->expires_at_us && rules_hyst(r) == def->rearm_hysteresis &&
	       rules_nnodes(r) == n &&
	       memcmp(rules_nodes(r, &buf), nodes, n * sizeof(nodes[0])) == 0;
}

int rules_upsert(struct rules *t, const struct rules_def *def, int64_t now_us,
		 char *err, size_t errlen)
{
	struct cond *c = NULL;
	uint8_t id[32];
	uint32_t ri, old, si, ti;
	struct rule *r;
	struct rules_sym *s;
	int64_t count = def->trigger_count, last = def->last_triggered_at_us;
	bool changed = false, holds;
	uint32_t cflags = 0, nn_n;
	struct cond_node buf, leaf;
	const struct cond_node *nn;
	int k;

	if (err && errlen)
		err[0] = '\0';
	if (!def->rule_id || ruleid_parse(def->rule_id, id)) {
		if (err && errlen)
			strncpy(err, "rule_id: not 64 lower-case hex digits", errlen - 1),
				err[errlen - 1] = '\0';
		return -1;
	}
	k = cond_compile_leaf(def->condition, def->condition_len, &leaf, &cflags, &c,
			      err, errlen);
	if (k < 0) {
		/* The row no longer says what the table holds: drop that too. */
		old = ruletab_id_find(t, id);
		if (old != RULES_NONE)
			rules_drop(t, old);
		goto fail;
	}
	si = ruletab_sym_get(t, def->symbol);
	ti = ruletab_tenant_get(t, def->tenant_id);
	if (si == RULES_NONE || ti == RULES_NONE) {
		if (err && errlen)
			strncpy(err, "out of memory or bad tenant id", errlen - 1),
				err[errlen - 1] = '\0';
		goto fail;
	}
	s = t->sym[si];
	if (k == 0)
		cflags = c->flags;
	nn = k ? &leaf : c->node;
	nn_n = k ? 1 : c->n;

	old = ruletab_id_find(t, id);
	if (old != RULES_NONE) {
		r = rules_at(t, old);
		if (rules_same(t, r, def, nn, nn_n, si, ti) &&
		    !(def->expires_at_us != 0 && def->expires_at_us <= now_us)) {
			cond_free(c);
			return 0;
		}
		/* Changed: the table's counter goes on (see rules_catch_up). */
		count = r->trigger_count;
		if (r->ext && r->ext->last_us > last)
			last = r->ext->last_us;
		rules_drop(t, old);
		changed = true;
	}

	if (def->expires_at_us != 0 && def->expires_at_us <= now_us) {
		struct rule tmp;
		struct rules_event ev;

		memset(&tmp, 0, sizeof(tmp));
		memcpy(tmp.id, id, 32);
		tmp.tenant = ti;
		tmp.sym = si;
		tmp.trigger_count = count;
		rules_event_fill(t, &tmp, &ev, RULES_EXPIRE, now_us, NULL, NULL);
		ev.seq = count;
		cond_free(c);
		t->emit(t->arg, &ev);
		return 0;
	}

	ri = ruletab_alloc_slot(t);
	if (ri == RULES_NONE)
		goto oom;
	r = rules_at(t, ri);
	memset(r, 0, sizeof(*r));
	memcpy(r->id, id, 32);
	r->trigger_count = count;
	r->tenant = ti;
	r->sym = si;
	r->stamp = t->epoch;
	r->flags = RF_LIVE | RF_ARMED;
	if (def->rearm)
		r->flags |= RF_REARM;
	if (cflags & COND_F_EDGE)
		r->flags |= RF_EDGE;
	/* last_us also for a replay after a restart (rules_replay) */
	if ((def->rearm && def->cooldown_s > 0) || def->rearm_hysteresis > 0 ||
	    def->expires_at_us != 0 || last != 0 || (def->rearm && def->nrecent)) {
		r->ext = calloc(1, sizeof(*r->ext));
		if (!r->ext)
			goto oom_slot;
		r->ext->hyst = def->rearm_hysteresis > 0 ? def->rearm_hysteresis : 0;
		r->ext->cooldown_s = def->rearm && def->cooldown_s > 0 ?
			(def->cooldown_s > UINT32_MAX ? UINT32_MAX : (uint32_t)def->cooldown_s) : 0;
		r->ext->last_us = last;
		r->ext->expires_us = def->expires_at_us;
	}
	if (k == 1) {
		rules_leaf_pack(&r->u.leaf, &leaf);
		r->flags |= RF_INLINE;
	} else {
		r->u.cond = c;
	}
	c = NULL;
	if (ruletab_id_add(t, ri))
		goto oom_slot;
	if ((cflags & COND_F_MOVES) && (r->flags & RF_INLINE)) {
		if (!s->win && !(s->win = eval_window_new()))
			goto oom_id;
		if (rulecand_moves_add(t, ri))
			goto oom_id;
		r->flags |= RF_MOVEIDX;
		rulecand_windows(t, r, true);
	} else if (cflags & COND_F_MOVES) {
		if (!s->win && !(s->win = eval_window_new()))
			goto oom_id;
		if (rules_vec_push(&s->scan, ri))
			goto oom_id;
		r->flags |= RF_SCANNED;
		rulecand_windows(t, r, true);
	} else if (rulecand_keys(t, ri, true)) {
		(void)rulecand_keys(t, ri, false);
		goto oom_id;
	}
	t->count++;
	/* a rule new to the table takes its flood history from the row's tasks */
	if (!changed && def->rearm && def->nrecent && r->ext)
		trigger_flood_seed(t, r, def->recent_us, def->nrecent, now_us);

	/* An edge rule that holds without a crossing is watched (see rulecand.c). */
	if ((r->flags & RF_EDGE) && !(r->flags & (RF_SCANNED | RF_MOVEIDX)) &&
	    s->snap.has_price &&
	    eval_node(rules_nodes(r, &buf), &s->snap, &s->snap, s->win))
		rules_set_watch(t, ri, true);
	/* SPEC: a level condition is checked against the current snapshot. */
	if (!(r->flags & RF_EDGE) && s->snap.has_price) {
		holds = eval_node(rules_nodes(r, &buf), NULL, &s->snap, s->win);
		/* restart: the same episode, or (REARM) not past its hysteresis
		 * since the last firing: disarmed, as it was */
		if (count > 0 && !changed && (holds || ((r->flags & RF_REARM) &&
							!trigger_rearm_ok(r, &s->snap))))
			r->flags &= (uint8_t)~RF_ARMED;
		else if (holds)
			(void)trigger_fire(t, ri, now_us, NULL, &s->snap);
	}
	return 0;

oom_id:
	ruletab_id_del(t, ri);
oom_slot:
	if (!(r->flags & RF_INLINE) && r->u.cond)
		cond_free(r->u.cond);
	free(r->ext);
	r->ext = NULL;
	ruletab_free_slot(t, ri);
oom:
	if (err && errlen)
		strncpy(err, "out of memory", errlen - 1), err[errlen - 1] = '\0';
fail:
	cond_free(c);
	return -1;
}

int rules_catch_up(struct rules *t, const char *rule_id, int64_t trigger_count,
		   int64_t last_triggered_at_us)
{
	uint8_t id[32];
	uint32_t ri;
	struct rule *r;

	if (!rule_id || ruleid_parse(rule_id, id))
		return -1;
	ri = ruletab_id_find(t, id);
	if (ri == RULES_NONE)
		return -1;
	r = rules_at(t, ri);
	if (trigger_count <= r->trigger_count)
		return 0;
	r->trigger_count = trigger_count;
	if (r->ext && last_triggered_at_us > r->ext->last_us)
		r->ext->last_us = last_triggered_at_us;
	return 1;
}

int rules_remove(struct rules *t, const char *rule_id)
{
	uint8_t id[32];
	uint32_t ri;

	if (!rule_id || ruleid_parse(rule_id, id))
		return -1;
	ri = ruletab_id_find(t, id);
	if (ri == RULES_NONE)
		return -1;
	rules_drop(t, ri);
	return 0;
}

size_t rules_remove_tenant(struct rules *t, const char *tenant_id)
{
	uint32_t ti = ruletab_tenant_find(t, tenant_id);
	size_t n = 0;

	if (ti == RULES_NONE)
		return 0;
	for (uint32_t i = 0; i < t->next_slot; i++) {
		struct rule *r = rules_at(t, i);

		if ((r->flags & RF_LIVE) && r->tenant == ti) {
			rules_drop(t, i);
			n++;
		}
	}
	return n;
}

size_t rules_tick(struct rules *t, const char *symbol, dec_t price,
		  bool has_chg, dec_t chg, int64_t now_us)
{
	uint32_t si = ruletab_sym_get(t, symbol);
	struct rules_sym *s;
	struct eval_snap prev, cur;
	bool full;

	if (si == RULES_NONE)
		return 0;
	s = t->sym[si];
	prev = s->snap;
	cur.has_price = true;
	cur.price = price;
	cur.has_chg = has_chg;
	cur.chg = has_chg ? chg : 0;
	s->snap = cur;

	rulecand_new_epoch(t);
	t->cand.n = 0;
	if (s->win)
		eval_window_advance(s->win, now_us);

	/* A field that appears or disappears can change any leaf on it. */
	full = !prev.has_price || prev.has_chg != cur.has_chg;
	if (full || prev.price != cur.price)
		rulecand_range(t, &s->idx[COND_FIELD_PRICE], full,
				 prev.price < cur.price ? prev.price : cur.price,
				 prev.price < cur.price ? cur.price : prev.price);
	if (full || (cur.has_chg && prev.chg != cur.chg))
		rulecand_range(t, &s->idx[COND_FIELD_CHG], full,
				 prev.chg < cur.chg ? prev.chg : cur.chg,
				 prev.chg < cur.chg ? cur.chg : prev.chg);
	for (uint32_t i = 0; i < s->scan.n; i++)
		(void)rulecand_cand(t, s->scan.v[i]);
	for (uint32_t i = 0; i < s->nmg; i++)
		rulecand_moves(t, s, &s->mg[i], price);
	for (uint32_t i = 0; i < s->watch.n; i++)
		(void)rulecand_cand(t, s->watch.v[i]);

	for (uint32_t i = 0; i < t->cand.n; i++) {
		uint32_t ri = t->cand.v[i];

		/* The only rule a step drops is its own (the callback may not
		 * re-enter), and nothing is added during a tick, so the other
		 * candidates stay valid. */
		if (rules_at(t, ri)->flags & RF_LIVE)
			trigger_process(t, ri, now_us, &prev, &cur, s->win);
	}
	if (s->win && !eval_window_empty(s->win) &&
	    eval_window_push(s->win, now_us, price)) {
		/* Out of memory: this price is missing from the window, which
		 * can only make a windowed move see a narrower range. */
	}
	return t->cand.n;
}

size_t rules_replay(struct rules *t, const char *symbol, dec_t price, bool has_chg,
		    dec_t chg, int64_t now_us, int64_t since_us)
{
	size_t n;

	t->replay_since_us = since_us > 0 ? since_us : 0;
	n = rules_tick(t, symbol, price, has_chg, chg, now_us);
	t->replay_since_us = 0;
	return n;
}

void rules_sweep(struct rules *t, int64_t now_us)
{
	for (uint32_t i = 0; i < t->next_slot; i++) {
		struct rule *r = rules_at(t, i);
		struct rules_event ev;

		if (!(r->flags & RF_LIVE) || !trigger_expired(r, now_us))
			continue;
		rules_event_fill(t, r, &ev, RULES_EXPIRE, now_us, NULL, NULL);
		ev.seq = r->trigger_count;
		rules_drop(t, i);
		t->emit(t->arg, &ev);
	}
}

size_t rules_count(const struct rules *t)
{
	return t->count;
}
