/*
 * rules.c — the symbol-indexed table of ACTIVE rules and how it uses its
 * threshold indexes (ruleidx.c) to find the rules a change can affect.
 *
 * Runs on one worker thread: each worker owns one table (its symbols, their
 * snapshots, windows and rules), so nothing here locks.  The emit callback
 * runs synchronously on that thread and must not call back into the table.
 *
 * DESIGN
 * Rules live in a chunked pool (stable 32-bit indices, no realloc of the
 * rules themselves) and are found by rule_id through the core's id map
 * (idmap.h).  Symbols and tenants are interned, each with an id map too.  A single-leaf condition is
 * stored inline in the rule; only composites keep a compiled struct cond.
 *
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
 *
 * The trigger policies (SPEC section 3) are trigger.c's; this file calls
 * them for each candidate of a change and for each rule checked at load.
 */
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "cond_int.h"
#include "eval.h"
#include "fnv.h"
#include "idmap.h"
#include "ids.h"
#include "rules.h"
#include "ruleid.h"
#include "ruleidx.h"
#include "rules_int.h"
#include "trigger.h"

/*
 * Single-leaf windowed moves of one window length, keyed by their percent.
 * With the window's lowest price L, "cur is at least V percent above L"
 * holds exactly for V <= floor((cur - L) * 2e10 / |L|) (eval.c), so the rules
 * that hold are a prefix of the sorted array: O(log n + k) per change.
 */
struct rules_mgroup {
	uint32_t window_s;
	struct ruleidx up, down;
};

struct rules_sym {
	uint32_t hash;			/* rules_name_hash(name) */
	char *name;			/* iname, or the heap when longer */
	char iname[40];
	struct rules_mgroup *mg;	/* moves groups */
	uint32_t nmg;
	struct eval_snap snap;
	struct ruleidx idx[2];		/* per enum cond_field */
	struct rules_vec scan;		/* composites with a moves leaf */
	struct rules_vec watch;		/* evaluated on every change */
	struct eval_window *win;	/* NULL until a moves rule arrives */
};

/* ------------------------------------------------------------------ */
/* vectors */

static int rules_vec_push(struct rules_vec *v, uint32_t x)
{
	if (v->n == v->cap) {
		uint32_t ncap = v->cap ? v->cap * 2 : 4;
		uint32_t *nv = realloc(v->v, (size_t)ncap * sizeof(*nv));

		if (!nv)
			return -1;
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->n++] = x;
	return 0;
}

static void rules_vec_del(struct rules_vec *v, uint32_t x)
{
	for (uint32_t i = 0; i < v->n; i++)
		if (v->v[i] == x) {
			v->v[i] = v->v[--v->n];
			return;
		}
}

/* ------------------------------------------------------------------ */
/* the three maps (idmap.h): rule id -> pool index, symbols, tenants */

static uint32_t rules_id_of(const void *t, uint32_t i)
{
	return ruleid_hash(rules_at(t, i)->id);
}

static bool rules_id_eq(const void *t, uint32_t i, const void *id)
{
	return memcmp(rules_at(t, i)->id, id, 32) == 0;
}

static uint32_t rules_id_find(const struct rules *t, const uint8_t id[32])
{
	uint32_t p = idmap_find(&t->ids, ruleid_hash(id), rules_id_eq, t, id);

	return idmap_found(&t->ids, p) ? idmap_at(&t->ids, p) : RULES_NONE;
}

/* Rule x (whose id is not in the map) becomes findable. */
static int rules_id_add(struct rules *t, uint32_t x)
{
	const uint8_t *id = rules_at(t, x)->id;
	uint32_t h = ruleid_hash(id);

	if (idmap_reserve(&t->ids, t, rules_id_of))
		return -1;
	idmap_put(&t->ids, idmap_find(&t->ids, h, rules_id_eq, t, id), h, x);
	return 0;
}

static void rules_id_del(struct rules *t, uint32_t x)
{
	const uint8_t *id = rules_at(t, x)->id;
	uint32_t p = idmap_find(&t->ids, ruleid_hash(id), rules_id_eq, t, id);

	if (idmap_found(&t->ids, p))
		idmap_del(&t->ids, p, t, rules_id_of);
}

/* Symbols and tenants: FNV-1a with its high bits folded into the low ones,
 * which pick the home slot. */
static uint32_t rules_name_hash(const char *name)
{
	uint32_t h = fnv_str(name);

	return h ^ (h >> 15);
}

/*
 * Symbols: every change looks its symbol up by name; on a tag match the
 * name compared is in the symbol struct the change needs anyway.  Interned
 * for the table's life.
 */
static uint32_t rules_sym_of(const void *o, uint32_t i)
{
	return ((const struct rules *)o)->sym[i]->hash;
}

static bool rules_sym_eq(const void *o, uint32_t i, const void *name)
{
	return strcmp(((const struct rules *)o)->sym[i]->name, name) == 0;
}

static uint32_t rules_sym_get(struct rules *t, const char *name)
{
	uint32_t h = rules_name_hash(name), x, p;
	struct rules_sym *sy;
	size_t len;

	p = idmap_find(&t->syms, h, rules_sym_eq, t, name);
	if (idmap_found(&t->syms, p))
		return idmap_at(&t->syms, p);
	if (idmap_reserve(&t->syms, t, rules_sym_of))
		return RULES_NONE;
	if (t->nsym == t->sym_cap) {
		uint32_t ncap = t->sym_cap ? t->sym_cap * 2 : 64;
		struct rules_sym **ns = realloc(t->sym, (size_t)ncap * sizeof(*ns));

		if (!ns)
			return RULES_NONE;
		t->sym = ns;
		t->sym_cap = ncap;
	}
	sy = calloc(1, sizeof(*sy));
	if (!sy)
		return RULES_NONE;
	len = strlen(name);
	sy->name = len < sizeof(sy->iname) ? sy->iname : malloc(len + 1);
	if (!sy->name) {
		free(sy);
		return RULES_NONE;
	}
	memcpy(sy->name, name, len + 1);
	sy->hash = h;
	p = idmap_find(&t->syms, h, rules_sym_eq, t, name);	/* after a grow */
	x = t->nsym++;
	t->sym[x] = sy;
	idmap_put(&t->syms, p, h, x);
	return x;
}

/* Tenants: interned for the table's life, looked up only on rule changes. */
static uint32_t rules_tenant_of(const void *o, uint32_t i)
{
	return rules_name_hash(((const struct rules *)o)->tenant[i]);
}

static bool rules_tenant_eq(const void *o, uint32_t i, const void *name)
{
	return strcmp(((const struct rules *)o)->tenant[i], name) == 0;
}

static uint32_t rules_tenant_find(const struct rules *t, const char *name)
{
	uint32_t p = idmap_find(&t->tenants, rules_name_hash(name), rules_tenant_eq, t, name);

	return idmap_found(&t->tenants, p) ? idmap_at(&t->tenants, p) : RULES_NONE;
}

static uint32_t rules_tenant_get(struct rules *t, const char *name)
{
	uint32_t h, x, p;

	if (strlen(name) > 36)
		return RULES_NONE;
	x = rules_tenant_find(t, name);
	if (x != RULES_NONE)
		return x;
	if (idmap_reserve(&t->tenants, t, rules_tenant_of))
		return RULES_NONE;
	if (t->ntenant == t->tenant_cap) {
		uint32_t ncap = t->tenant_cap ? t->tenant_cap * 2 : 16;
		char (*nt)[TENANT_ID_SIZE] = realloc(t->tenant, (size_t)ncap * sizeof(*nt));

		if (!nt)
			return RULES_NONE;
		t->tenant = nt;
		t->tenant_cap = ncap;
	}
	h = rules_name_hash(name);
	p = idmap_find(&t->tenants, h, rules_tenant_eq, t, name);
	x = t->ntenant++;
	strcpy(t->tenant[x], name);
	idmap_put(&t->tenants, p, h, x);
	return x;
}

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

/*
 * Call fn for each index key of rule r: every threshold of every leaf, and
 * the re-arm point of a single comparison leaf with hysteresis.
 */
static int rules_keys(struct rules *t, uint32_t ri, bool add)
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

static void rules_windows(struct rules *t, struct rule *r, bool add)
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

static struct ruleidx *rules_moves_idx(struct rules_sym *s, const struct cond_node *n,
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

static void rules_moves_del(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);
	struct cond_node buf;
	const struct cond_node *n = rules_nodes(r, &buf);
	struct ruleidx *x = rules_moves_idx(t->sym[r->sym], n, false);

	if (x)
		ruleidx_del(x, n->a, ri);
}

static int rules_moves_add(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);
	struct cond_node buf;
	const struct cond_node *n = rules_nodes(r, &buf);
	struct ruleidx *x = rules_moves_idx(t->sym[r->sym], n, true);

	return x ? ruleidx_add(x, n->a, ri) : -1;
}

/* Drop rule ri from every structure and free its slot. */
void rules_drop(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);
	struct rules_sym *s = t->sym[r->sym];

	if (r->flags & RF_SCANNED) {
		rules_vec_del(&s->scan, ri);
		rules_windows(t, r, false);
	} else if (r->flags & RF_MOVEIDX) {
		rules_moves_del(t, ri);
		rules_windows(t, r, false);
	} else {
		(void)rules_keys(t, ri, false);
	}
	if (r->flags & RF_WATCH)
		rules_vec_del(&s->watch, ri);
	rules_id_del(t, ri);
	if (!(r->flags & RF_INLINE))
		cond_free(r->u.cond);
	if (r->ext)
		free(r->ext->flood);
	free(r->ext);
	r->ext = NULL;
	r->flags = 0;
	r->stamp = t->free_head;
	t->free_head = ri;
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
	uint32_t si = rules_sym_get(t, symbol);
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

static uint32_t rules_alloc_slot(struct rules *t)
{
	uint32_t ri;

	if (t->free_head != RULES_NONE) {
		ri = t->free_head;
		t->free_head = rules_at(t, ri)->stamp;
		return ri;
	}
	/* As many as the id map can index. */
	if (t->next_slot >= IDMAP_MAX_ENTRIES)
		return RULES_NONE;
	if ((t->next_slot >> RULES_CHUNK_BITS) >= t->nchunk) {
		struct rule *c;

		if (t->nchunk == t->chunk_cap) {
			uint32_t ncap = t->chunk_cap ? t->chunk_cap * 2 : 16;
			struct rule **nc = realloc(t->chunk, (size_t)ncap * sizeof(*nc));

			if (!nc)
				return RULES_NONE;
			t->chunk = nc;
			t->chunk_cap = ncap;
		}
		c = calloc(RULES_CHUNK, sizeof(*c));
		if (!c)
			return RULES_NONE;
		t->chunk[t->nchunk++] = c;
	}
	return t->next_slot++;
}

static void rules_free_slot(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);

	r->flags = 0;
	r->stamp = t->free_head;
	t->free_head = ri;
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
		old = rules_id_find(t, id);
		if (old != RULES_NONE)
			rules_drop(t, old);
		goto fail;
	}
	si = rules_sym_get(t, def->symbol);
	ti = rules_tenant_get(t, def->tenant_id);
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

	old = rules_id_find(t, id);
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

	ri = rules_alloc_slot(t);
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
	if ((def->rearm && def->cooldown_s > 0) || def->rearm_hysteresis > 0 ||
	    def->expires_at_us != 0) {
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
	if (rules_id_add(t, ri))
		goto oom_slot;
	if ((cflags & COND_F_MOVES) && (r->flags & RF_INLINE)) {
		if (!s->win && !(s->win = eval_window_new()))
			goto oom_id;
		if (rules_moves_add(t, ri))
			goto oom_id;
		r->flags |= RF_MOVEIDX;
		rules_windows(t, r, true);
	} else if (cflags & COND_F_MOVES) {
		if (!s->win && !(s->win = eval_window_new()))
			goto oom_id;
		if (rules_vec_push(&s->scan, ri))
			goto oom_id;
		r->flags |= RF_SCANNED;
		rules_windows(t, r, true);
	} else if (rules_keys(t, ri, true)) {
		(void)rules_keys(t, ri, false);
		goto oom_id;
	}
	t->count++;

	/* An edge rule that holds without a crossing is watched (see DESIGN). */
	if ((r->flags & RF_EDGE) && !(r->flags & (RF_SCANNED | RF_MOVEIDX)) &&
	    s->snap.has_price &&
	    eval_node(rules_nodes(r, &buf), &s->snap, &s->snap, s->win))
		rules_set_watch(t, ri, true);
	/* SPEC: a level condition is checked against the current snapshot. */
	if (!(r->flags & RF_EDGE) && s->snap.has_price) {
		holds = eval_node(rules_nodes(r, &buf), NULL, &s->snap, s->win);
		if (holds && count > 0 && !changed)
			r->flags &= (uint8_t)~RF_ARMED;	/* restart: same episode */
		else if (holds)
			(void)trigger_fire(t, ri, now_us, NULL, &s->snap);
	}
	return 0;

oom_id:
	rules_id_del(t, ri);
oom_slot:
	if (!(r->flags & RF_INLINE) && r->u.cond)
		cond_free(r->u.cond);
	free(r->ext);
	r->ext = NULL;
	rules_free_slot(t, ri);
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
	ri = rules_id_find(t, id);
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
	ri = rules_id_find(t, id);
	if (ri == RULES_NONE)
		return -1;
	rules_drop(t, ri);
	return 0;
}

size_t rules_remove_tenant(struct rules *t, const char *tenant_id)
{
	uint32_t ti = rules_tenant_find(t, tenant_id);
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

/* Add rule ri to the candidates of this change unless it is there already. */
static inline int rules_cand(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);

	if (r->stamp == t->epoch)
		return 0;
	if (rules_vec_push(&t->cand, ri))
		return -1;
	r->stamp = t->epoch;
	return 0;
}

/* rules_cand as a ruleidx_fn (out of memory: the rule is missed). */
static void rules_cand_fn(void *t, uint32_t ri)
{
	(void)rules_cand(t, ri);
}

/* Candidates from one field's index: keys in [lo, hi], or all when `all`. */
static void rules_cand_range(struct rules *t, struct ruleidx *x, bool all,
			     dec_t lo, dec_t hi)
{
	if (all)
		ruleidx_all(x, rules_cand_fn, t);
	else
		ruleidx_range(x, lo, hi, rules_cand_fn, t);
}

/* Largest percent key a threshold can need (operands stay below 2e20). */
#define RULES_PCT_CAP ((dec_t)1 << 80)

/*
 * Rules of index x whose percent key is <= the largest that holds for a move
 * from `base` to `cur` (see struct rules_mgroup): a prefix of the array.
 */
static void rules_cand_pct(struct rules *t, struct ruleidx *x, dec_t diff, dec_t base)
{
	dec_t xx, mag, thr;

	if (x->n == 0 && x->pn == 0)
		return;
	if (diff < 0)
		return;
	/* diff <= 4e26 (saturated keys), so xx <= 8e36 < 2^127: see eval.c. */
	xx = diff * (dec_t)20000000000LL;
	mag = base < 0 ? -base : base;
	thr = mag == 0 ? RULES_PCT_CAP : xx / mag;
	if (thr > RULES_PCT_CAP)
		thr = RULES_PCT_CAP;
	ruleidx_upto(x, thr, rules_cand_fn, t);
}

static void rules_cand_moves(struct rules *t, struct rules_sym *s,
			     struct rules_mgroup *g, dec_t price)
{
	dec_t lo, hi;

	if (!eval_window_extremes(s->win, g->window_s, &lo, &hi))
		return;
	rules_cand_pct(t, &g->up, price - lo, lo);
	rules_cand_pct(t, &g->down, hi - price, hi);
}

static void rules_new_epoch(struct rules *t)
{
	if (++t->epoch != 0)
		return;
	/* Wrapped: clear every stamp so none matches by accident. */
	for (uint32_t i = 0; i < t->next_slot; i++)
		if (rules_at(t, i)->flags & RF_LIVE)
			rules_at(t, i)->stamp = 0;
	t->epoch = 1;
}

size_t rules_tick(struct rules *t, const char *symbol, dec_t price,
		  bool has_chg, dec_t chg, int64_t now_us)
{
	uint32_t si = rules_sym_get(t, symbol);
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

	rules_new_epoch(t);
	t->cand.n = 0;
	if (s->win)
		eval_window_advance(s->win, now_us);

	/* A field that appears or disappears can change any leaf on it. */
	full = !prev.has_price || prev.has_chg != cur.has_chg;
	if (full || prev.price != cur.price)
		rules_cand_range(t, &s->idx[COND_FIELD_PRICE], full,
				 prev.price < cur.price ? prev.price : cur.price,
				 prev.price < cur.price ? cur.price : prev.price);
	if (full || (cur.has_chg && prev.chg != cur.chg))
		rules_cand_range(t, &s->idx[COND_FIELD_CHG], full,
				 prev.chg < cur.chg ? prev.chg : cur.chg,
				 prev.chg < cur.chg ? cur.chg : prev.chg);
	for (uint32_t i = 0; i < s->scan.n; i++)
		(void)rules_cand(t, s->scan.v[i]);
	for (uint32_t i = 0; i < s->nmg; i++)
		rules_cand_moves(t, s, &s->mg[i], price);
	for (uint32_t i = 0; i < s->watch.n; i++)
		(void)rules_cand(t, s->watch.v[i]);

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
