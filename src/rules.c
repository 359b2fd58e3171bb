/*
 * rules.c — the symbol-indexed table of ACTIVE rules, its threshold index
 * and the trigger policies of SPEC section 3.
 *
 * Runs on one worker thread: each worker owns one table (its symbols, their
 * snapshots, windows and rules), so nothing here locks.  The emit callback
 * runs synchronously on that thread and must not call back into the table.
 *
 * DESIGN
 * Rules live in a chunked pool (stable 32-bit indices, no realloc of the
 * rules themselves) and are found by rule_id through an open-addressing hash
 * of indices.  Symbols and tenants are interned.  A single-leaf condition is
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
 * What the range cannot find, and how it is covered:
 *   - windowed moves depend on the window, not on thresholds: rules with a
 *     moves leaf sit in a per-symbol list evaluated on every change;
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
 * once (per-rule stamp).
 *
 * Each per-field index is a sorted main array plus a small unsorted pending
 * array for recent inserts.  Pending entries are merged (sorted, then one
 * linear merge) when there are more than max(64, n/4) of them or before a
 * look-up finds more than 64: bulk loads cost O(n log n) overall and a
 * single insert is amortised O(log n) plus, on a hot symbol, one merge per
 * 64 inserts.  Removal marks the entry dead (high bit of its rule index,
 * which the sort order ignores) after a binary search; dead entries are
 * dropped when they pass half of the array, or at the next merge.
 *
 * Trigger policies follow SPEC section 3 exactly; see rules_fire() and
 * rules_process().
 */
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "cond_int.h"
#include "eval.h"
#include "rules.h"

#define RULES_CHUNK_BITS 12
#define RULES_CHUNK (1u << RULES_CHUNK_BITS)
#define RULES_NONE UINT32_MAX
#define RULES_DEAD 0x80000000u		/* index entry removed */
#define RULES_PEND_MIN 64
#define RULES_US_PER_S 1000000LL

/* rule->flags */
#define RF_LIVE 0x01
#define RF_REARM 0x02
#define RF_EDGE 0x04
#define RF_INLINE 0x08		/* condition is the inline leaf */
#define RF_ARMED 0x10
#define RF_WATCH 0x20		/* in its symbol's watch list */
#define RF_SCANNED 0x40		/* in its symbol's scan list (moves) */

/* Rarely used policy columns and the flood history; NULL when all default. */
struct rule_ext {
	cond_dec hyst;
	int64_t cooldown_us;
	int64_t expires_us;
	int64_t *flood;		/* ring of recent firing times */
	uint32_t flood_cap, flood_n, flood_head;
};

struct rule {
	uint8_t id[32];
	int64_t trigger_count;
	int64_t last_us;	/* last_triggered_at, 0 = never */
	struct rule_ext *ext;
	union {
		struct cond *cond;
		struct cond_node leaf;
	} u;
	uint32_t tenant;
	uint32_t sym;
	uint32_t stamp;		/* tick epoch; next free slot when not live */
	uint8_t flags;
};

/* One index entry: a 96-bit key (plenty: keys stay below 2^70) and a rule. */
struct rules_ent {
	uint64_t lo;
	int32_t hi;
	uint32_t rule;		/* RULES_DEAD bit: removed */
};

struct rules_idx {
	struct rules_ent *main, *pend;
	uint32_t n, pn, pcap, dead;
};

struct rules_vec {
	uint32_t *v;
	uint32_t n, cap;
};

struct rules_sym {
	char *name;
	struct eval_snap snap;
	struct rules_idx idx[2];	/* per enum cond_field */
	struct rules_vec scan;		/* rules with a moves leaf */
	struct rules_vec watch;		/* evaluated on every change */
	struct eval_window *win;	/* NULL until a moves rule arrives */
};

struct rules_hash {
	uint32_t *slot;		/* RULES_NONE = empty */
	uint32_t cap, n;	/* cap: power of two */
};

struct rules {
	struct rules_limits lim;
	rules_emit_fn emit;
	void *arg;

	struct rule **chunk;
	uint32_t nchunk, chunk_cap;
	uint32_t next_slot;	/* first never-used slot */
	uint32_t free_head;	/* freed slots, chained through stamp */
	size_t count;
	struct rules_hash ids;

	struct rules_sym **sym;
	uint32_t nsym, sym_cap;
	struct rules_hash sym_hash;

	char (*tenant)[37];
	uint32_t ntenant, tenant_cap;
	struct rules_hash tenant_hash;

	uint32_t epoch;
	struct rules_vec cand;	/* scratch for rules_tick */
};

/* ------------------------------------------------------------------ */
/* small helpers */

static inline struct rule *rules_at(const struct rules *t, uint32_t i)
{
	return &t->chunk[i >> RULES_CHUNK_BITS][i & (RULES_CHUNK - 1)];
}

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

static uint64_t rules_hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static uint64_t rules_hash_id(const uint8_t id[32])
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ULL;
	a *= 0xbf58476d1ce4e5b9ULL;
	return a ^ (a >> 31);
}

static int rules_hex_id(const char *s, uint8_t out[32])
{
	for (int i = 0; i < 64; i++) {
		int c = s[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1;
		if (i & 1)
			out[i / 2] |= (uint8_t)v;
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return s[64] == '\0' ? 0 : -1;
}

static void rules_id_hex(const uint8_t id[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[id[i] >> 4];
		out[2 * i + 1] = hx[id[i] & 15];
	}
	out[64] = '\0';
}

/* ------------------------------------------------------------------ */
/* open-addressing hash of 32-bit indices; the owner compares keys */

static int rules_hash_init(struct rules_hash *h, uint32_t cap)
{
	h->slot = malloc((size_t)cap * sizeof(*h->slot));
	if (!h->slot)
		return -1;
	memset(h->slot, 0xff, (size_t)cap * sizeof(*h->slot));
	h->cap = cap;
	h->n = 0;
	return 0;
}

/* Rule-id hash. */
static uint32_t rules_id_find(const struct rules *t, const uint8_t id[32])
{
	uint32_t m = t->ids.cap - 1;

	for (uint32_t i = (uint32_t)rules_hash_id(id) & m;; i = (i + 1) & m) {
		uint32_t x = t->ids.slot[i];

		if (x == RULES_NONE)
			return RULES_NONE;
		if (memcmp(rules_at(t, x)->id, id, 32) == 0)
			return x;
	}
}

static void rules_id_place(struct rules *t, uint32_t x)
{
	uint32_t m = t->ids.cap - 1;
	uint32_t i = (uint32_t)rules_hash_id(rules_at(t, x)->id) & m;

	while (t->ids.slot[i] != RULES_NONE)
		i = (i + 1) & m;
	t->ids.slot[i] = x;
}

static int rules_id_add(struct rules *t, uint32_t x)
{
	if ((t->ids.n + 1) * 4 > t->ids.cap * 3) {
		struct rules_hash old = t->ids;

		if (rules_hash_init(&t->ids, old.cap * 2)) {
			t->ids = old;
			return -1;
		}
		t->ids.n = old.n;
		for (uint32_t i = 0; i < old.cap; i++)
			if (old.slot[i] != RULES_NONE)
				rules_id_place(t, old.slot[i]);
		free(old.slot);
	}
	rules_id_place(t, x);
	t->ids.n++;
	return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void rules_id_del(struct rules *t, uint32_t x)
{
	uint32_t m = t->ids.cap - 1;
	uint32_t i = (uint32_t)rules_hash_id(rules_at(t, x)->id) & m;

	while (t->ids.slot[i] != x) {
		if (t->ids.slot[i] == RULES_NONE)
			return;
		i = (i + 1) & m;
	}
	for (uint32_t j = (i + 1) & m;; j = (j + 1) & m) {
		uint32_t y = t->ids.slot[j], home;

		if (y == RULES_NONE)
			break;
		home = (uint32_t)rules_hash_id(rules_at(t, y)->id) & m;
		/* y may move to i when i lies cyclically in [home, j). */
		if (((j - home) & m) >= ((j - i) & m)) {
			t->ids.slot[i] = y;
			i = j;
		}
	}
	t->ids.slot[i] = RULES_NONE;
	t->ids.n--;
}

/* Generic name interning (symbols, tenants): no deletion. */
static uint32_t rules_name_find(const struct rules_hash *h, const char *name,
				const char *(*get)(const struct rules *, uint32_t),
				const struct rules *t, uint32_t *slot)
{
	uint32_t m = h->cap - 1;
	uint32_t i = (uint32_t)rules_hash_bytes(name, strlen(name)) & m;

	for (;; i = (i + 1) & m) {
		uint32_t x = h->slot[i];

		if (x == RULES_NONE) {
			*slot = i;
			return RULES_NONE;
		}
		if (strcmp(get(t, x), name) == 0)
			return x;
	}
}

static int rules_name_grow(struct rules_hash *h,
			   const char *(*get)(const struct rules *, uint32_t),
			   const struct rules *t)
{
	struct rules_hash old = *h;

	if ((h->n + 1) * 2 <= h->cap)
		return 0;
	if (rules_hash_init(h, old.cap * 2)) {
		*h = old;
		return -1;
	}
	h->n = old.n;
	for (uint32_t i = 0; i < old.cap; i++) {
		uint32_t x = old.slot[i], s = 0;

		if (x == RULES_NONE)
			continue;
		(void)rules_name_find(h, get(t, x), get, t, &s);
		h->slot[s] = x;
	}
	free(old.slot);
	return 0;
}

static const char *rules_sym_name(const struct rules *t, uint32_t x)
{
	return t->sym[x]->name;
}

static const char *rules_tenant_name(const struct rules *t, uint32_t x)
{
	return t->tenant[x];
}

static uint32_t rules_sym_get(struct rules *t, const char *name)
{
	uint32_t x, s = 0;
	struct rules_sym *sy;

	x = rules_name_find(&t->sym_hash, name, rules_sym_name, t, &s);
	if (x != RULES_NONE)
		return x;
	if (rules_name_grow(&t->sym_hash, rules_sym_name, t))
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
	sy->name = strdup(name);
	if (!sy->name) {
		free(sy);
		return RULES_NONE;
	}
	x = t->nsym++;
	t->sym[x] = sy;
	(void)rules_name_find(&t->sym_hash, name, rules_sym_name, t, &s);
	t->sym_hash.slot[s] = x;
	t->sym_hash.n++;
	return x;
}

static uint32_t rules_tenant_find(const struct rules *t, const char *name)
{
	uint32_t s;

	return rules_name_find(&t->tenant_hash, name, rules_tenant_name, t, &s);
}

static uint32_t rules_tenant_get(struct rules *t, const char *name)
{
	uint32_t x, s = 0;

	if (strlen(name) > 36)
		return RULES_NONE;
	x = rules_name_find(&t->tenant_hash, name, rules_tenant_name, t, &s);
	if (x != RULES_NONE)
		return x;
	if (rules_name_grow(&t->tenant_hash, rules_tenant_name, t))
		return RULES_NONE;
	if (t->ntenant == t->tenant_cap) {
		uint32_t ncap = t->tenant_cap ? t->tenant_cap * 2 : 16;
		char (*nt)[37] = realloc(t->tenant, (size_t)ncap * sizeof(*nt));

		if (!nt)
			return RULES_NONE;
		t->tenant = nt;
		t->tenant_cap = ncap;
	}
	x = t->ntenant++;
	strcpy(t->tenant[x], name);
	(void)rules_name_find(&t->tenant_hash, name, rules_tenant_name, t, &s);
	t->tenant_hash.slot[s] = x;
	t->tenant_hash.n++;
	return x;
}

/* ------------------------------------------------------------------ */
/* the per-field threshold index */

static inline dec_t rules_ent_key(const struct rules_ent *e)
{
	return (dec_t)e->hi * ((dec_t)1 << 64) + (dec_t)e->lo;
}

static inline int rules_ent_cmp(const struct rules_ent *a, const struct rules_ent *b)
{
	uint32_t ra = a->rule & ~RULES_DEAD, rb = b->rule & ~RULES_DEAD;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return ra < rb ? -1 : ra > rb;
}

static int rules_ent_qcmp(const void *a, const void *b)
{
	return rules_ent_cmp(a, b);
}

static struct rules_ent rules_ent_make(dec_t key, uint32_t rule)
{
	struct rules_ent e;

	e.lo = (uint64_t)key;
	e.hi = (int32_t)(key >> 64);
	e.rule = rule;
	return e;
}

/* First position in main whose entry is >= e (dead flag ignored). */
static uint32_t rules_idx_lower(const struct rules_idx *x, const struct rules_ent *e)
{
	uint32_t lo = 0, hi = x->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rules_ent_cmp(&x->main[mid], e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Sort the pending entries into main, dropping dead ones. */
static int rules_idx_merge(struct rules_idx *x)
{
	uint32_t live = x->n - x->dead + x->pn, i = 0, j = 0, k = 0;
	struct rules_ent *nm;

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
	qsort(x->pend, x->pn, sizeof(*x->pend), rules_ent_qcmp);
	while (i < x->n || j < x->pn) {
		if (i < x->n && (x->main[i].rule & RULES_DEAD)) {
			i++;
			continue;
		}
		if (j >= x->pn || (i < x->n && rules_ent_cmp(&x->main[i], &x->pend[j]) <= 0))
			nm[k++] = x->main[i++];
		else
			nm[k++] = x->pend[j++];
	}
	free(x->main);
	x->main = nm;
	x->n = k;
	x->dead = 0;
	x->pn = 0;
	if (x->pcap > RULES_PEND_MIN) {
		free(x->pend);
		x->pend = NULL;
		x->pcap = 0;
	}
	return 0;
}

static int rules_idx_add(struct rules_idx *x, dec_t key, uint32_t rule)
{
	if (x->pn == x->pcap) {
		uint32_t ncap = x->pcap ? x->pcap * 2 : 8;
		struct rules_ent *np = realloc(x->pend, (size_t)ncap * sizeof(*np));

		if (!np)
			return -1;
		x->pend = np;
		x->pcap = ncap;
	}
	x->pend[x->pn++] = rules_ent_make(key, rule);
	if (x->pn > RULES_PEND_MIN && x->pn > x->n / 4)
		(void)rules_idx_merge(x);	/* on failure pending just grows */
	return 0;
}

static void rules_idx_del(struct rules_idx *x, dec_t key, uint32_t rule)
{
	struct rules_ent e = rules_ent_make(key, rule);
	uint32_t p;

	for (uint32_t j = 0; j < x->pn; j++)
		if (x->pend[j].lo == e.lo && x->pend[j].hi == e.hi &&
		    x->pend[j].rule == rule) {
			x->pend[j] = x->pend[--x->pn];
			return;
		}
	for (p = rules_idx_lower(x, &e); p < x->n && rules_ent_cmp(&x->main[p], &e) == 0; p++)
		if (!(x->main[p].rule & RULES_DEAD)) {
			x->main[p].rule |= RULES_DEAD;
			if (++x->dead * 2 > x->n && x->pn <= RULES_PEND_MIN)
				(void)rules_idx_merge(x);
			return;
		}
}

static void rules_idx_free(struct rules_idx *x)
{
	free(x->main);
	free(x->pend);
}

/* ------------------------------------------------------------------ */
/* rules: keys, storage, events */

static inline const struct cond_node *rules_nodes(const struct rule *r)
{
	return (r->flags & RF_INLINE) ? &r->u.leaf : r->u.cond->node;
}

static inline uint32_t rules_nnodes(const struct rule *r)
{
	return (r->flags & RF_INLINE) ? 1 : r->u.cond->n;
}

static bool rules_single_cmp(const struct rule *r)
{
	unsigned op = rules_nodes(r)[0].op;

	return rules_nnodes(r) == 1 && op >= COND_GT && op <= COND_LE;
}

static dec_t rules_hyst(const struct rule *r)
{
	return r->ext ? r->ext->hyst : 0;
}

/*
 * Call fn for each index key of rule r: every threshold of every leaf, and
 * the re-arm point of a single comparison leaf with hysteresis.
 */
static int rules_keys(struct rules *t, uint32_t ri, bool add)
{
	struct rule *r = rules_at(t, ri);
	struct rules_sym *s = t->sym[r->sym];
	const struct cond_node *nd = rules_nodes(r);
	uint32_t n = rules_nnodes(r);
	dec_t h = rules_hyst(r);

	for (uint32_t i = 0; i < n; i++) {
		const struct cond_node *c = &nd[i];
		struct rules_idx *x = &s->idx[c->field];
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
				rules_idx_del(x, keys[k], ri);
			else if (rules_idx_add(x, keys[k], ri))
				return -1;
		}
	}
	return 0;
}

static void rules_event_fill(struct rules *t, const struct rule *r,
			     struct rules_event *ev, enum rules_event_kind kind,
			     int64_t now_us, const struct eval_snap *prev,
			     const struct eval_snap *cur)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	rules_id_hex(r->id, ev->rule_id);
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
	const struct cond_node *nd = rules_nodes(r);

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

/* Drop rule ri from every structure and free its slot. */
static void rules_drop(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);
	struct rules_sym *s = t->sym[r->sym];

	if (r->flags & RF_SCANNED) {
		rules_vec_del(&s->scan, ri);
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

static void rules_set_watch(struct rules *t, uint32_t ri, bool on)
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

/*
 * Flood guard: record a firing at now; true when this firing is the
 * (flood_max_fires + 1)th within flood_window_s (then the caller pauses the
 * rule).  The ring keeps the last flood_max_fires firing times.
 */
static bool rules_flooded(struct rules *t, struct rule *r, int64_t now_us)
{
	int max = t->lim.flood_max_fires;
	struct rule_ext *e;
	int64_t window_us = t->lim.flood_window_s * RULES_US_PER_S;

	if (max <= 0 || t->lim.flood_window_s <= 0)
		return false;
	if (!r->ext) {
		r->ext = calloc(1, sizeof(*r->ext));
		if (!r->ext)
			return false;
	}
	e = r->ext;
	if (e->flood_cap != (uint32_t)max) {
		int64_t *nf = calloc((size_t)max, sizeof(*nf));

		if (!nf)
			return false;
		free(e->flood);
		e->flood = nf;
		e->flood_cap = (uint32_t)max;
		e->flood_n = e->flood_head = 0;
	}
	/* flood_head is the oldest entry when the ring is full. */
	if (e->flood_n == e->flood_cap &&
	    e->flood[e->flood_head] > now_us - window_us)
		return true;
	if (e->flood_n < e->flood_cap) {
		e->flood[(e->flood_head + e->flood_n) % e->flood_cap] = now_us;
		e->flood_n++;
	} else {
		e->flood[e->flood_head] = now_us;
		e->flood_head = (e->flood_head + 1) % e->flood_cap;
	}
	return false;
}

/*
 * Rule ri holds and may fire.  Applies cooldown (REARM), the flood guard and
 * ONCE; emits; may drop the rule.  Returns true when the rule is gone.
 */
static bool rules_fire(struct rules *t, uint32_t ri, int64_t now_us,
		       const struct eval_snap *prev, const struct eval_snap *cur)
{
	struct rule *r = rules_at(t, ri);
	struct rules_event ev;

	if ((r->flags & RF_REARM) && r->ext && r->ext->cooldown_us > 0 &&
	    r->last_us != 0 && now_us < r->last_us + r->ext->cooldown_us) {
		/* Held back: not a firing; a level rule stays armed and is
		 * watched on every change until it fires or stops holding. */
		if (!(r->flags & RF_EDGE))
			rules_set_watch(t, ri, true);
		return false;
	}
	if ((r->flags & RF_REARM) && rules_flooded(t, r, now_us)) {
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
	r->last_us = now_us;
	if (!(r->flags & RF_EDGE)) {
		r->flags &= (uint8_t)~RF_ARMED;
		rules_set_watch(t, ri, false);
	}
	t->emit(t->arg, &ev);
	return false;
}

/* A level rule that does not hold re-arms (hysteresis for single comparisons). */
static bool rules_rearm_ok(const struct rule *r, const struct eval_snap *cur)
{
	const struct cond_node *c = rules_nodes(r);
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

static bool rules_expired(const struct rule *r, int64_t now_us)
{
	return r->ext && r->ext->expires_us != 0 && r->ext->expires_us <= now_us;
}

/* Evaluate one rule on a change and apply its policy. */
static void rules_process(struct rules *t, uint32_t ri, int64_t now_us,
			  const struct eval_snap *prev, const struct eval_snap *cur,
			  const struct eval_window *win)
{
	struct rule *r = rules_at(t, ri);
	bool holds;

	if (rules_expired(r, now_us))
		return;		/* never fires again; rules_sweep drops it */
	holds = eval_node(rules_nodes(r), prev, cur, win);
	if (r->flags & RF_EDGE) {
		if (holds && rules_fire(t, ri, now_us, prev, cur))
			return;
		if (!(r->flags & RF_SCANNED))
			rules_set_watch(t, ri, eval_node(rules_nodes(r), cur, cur, win));
		return;
	}
	if (r->flags & RF_ARMED) {
		if (holds)
			(void)rules_fire(t, ri, now_us, prev, cur);
		else
			rules_set_watch(t, ri, false);
	} else if (!holds && rules_rearm_ok(r, cur)) {
		r->flags |= RF_ARMED;
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
	if (rules_hash_init(&t->ids, 1024) || rules_hash_init(&t->sym_hash, 64) ||
	    rules_hash_init(&t->tenant_hash, 16))
		goto fail;
	return t;
fail:
	rules_free(t);
	return NULL;
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

		rules_idx_free(&s->idx[0]);
		rules_idx_free(&s->idx[1]);
		free(s->scan.v);
		free(s->watch.v);
		eval_window_free(s->win);
		free(s->name);
		free(s);
	}
	free(t->sym);
	free(t->tenant);
	free(t->ids.slot);
	free(t->sym_hash.slot);
	free(t->tenant_hash.slot);
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
	if (t->next_slot >= RULES_DEAD)
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
		       const struct rules_def *def, const struct cond *c,
		       uint32_t sym, uint32_t tenant)
{
	int64_t cool = r->ext ? r->ext->cooldown_us : 0;
	int64_t exp = r->ext ? r->ext->expires_us : 0;

	(void)t;
	return r->sym == sym && r->tenant == tenant &&
	       !!(r->flags & RF_REARM) == def->rearm &&
	       cool == (def->cooldown_s > 0 ? def->cooldown_s * RULES_US_PER_S : 0) &&
	       exp == def->expires_at_us && rules_hyst(r) == def->rearm_hysteresis &&
	       rules_nnodes(r) == c->n &&
	       memcmp(rules_nodes(r), c->node, c->n * sizeof(c->node[0])) == 0;
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
	uint32_t cflags;

	if (err && errlen)
		err[0] = '\0';
	if (!def->rule_id || rules_hex_id(def->rule_id, id)) {
		if (err && errlen)
			strncpy(err, "rule_id: not 64 lower-case hex digits", errlen - 1),
				err[errlen - 1] = '\0';
		return -1;
	}
	c = cond_compile(def->condition, def->condition_len, err, errlen);
	if (!c)
		goto fail;
	si = rules_sym_get(t, def->symbol);
	ti = rules_tenant_get(t, def->tenant_id);
	if (si == RULES_NONE || ti == RULES_NONE) {
		if (err && errlen)
			strncpy(err, "out of memory or bad tenant id", errlen - 1),
				err[errlen - 1] = '\0';
		goto fail;
	}
	s = t->sym[si];

	old = rules_id_find(t, id);
	if (old != RULES_NONE) {
		r = rules_at(t, old);
		if (rules_same(t, r, def, c, si, ti) &&
		    !(def->expires_at_us != 0 && def->expires_at_us <= now_us)) {
			if (def->trigger_count > r->trigger_count) {
				r->trigger_count = def->trigger_count;
				if (def->last_triggered_at_us > r->last_us)
					r->last_us = def->last_triggered_at_us;
			}
			cond_free(c);
			return 0;
		}
		/* Changed: the table's own counters may be ahead of the row. */
		if (r->trigger_count > count) {
			count = r->trigger_count;
			last = r->last_us;
		}
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
	r->last_us = last;
	r->tenant = ti;
	r->sym = si;
	r->stamp = t->epoch;
	r->flags = RF_LIVE | RF_ARMED;
	if (def->rearm)
		r->flags |= RF_REARM;
	if (cond_is_edge(c))
		r->flags |= RF_EDGE;
	cflags = c->flags;
	if ((def->rearm && def->cooldown_s > 0) || def->rearm_hysteresis > 0 ||
	    def->expires_at_us != 0) {
		r->ext = calloc(1, sizeof(*r->ext));
		if (!r->ext)
			goto oom_slot;
		r->ext->hyst = def->rearm_hysteresis > 0 ? def->rearm_hysteresis : 0;
		r->ext->cooldown_us = def->cooldown_s > 0 ? def->cooldown_s * RULES_US_PER_S : 0;
		r->ext->expires_us = def->expires_at_us;
	}
	if (c->n == 1) {
		r->u.leaf = c->node[0];
		r->flags |= RF_INLINE;
		cond_free(c);
	} else {
		r->u.cond = c;
	}
	c = NULL;
	if (rules_id_add(t, ri))
		goto oom_slot;
	if (cflags & COND_F_MOVES) {
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
	if ((r->flags & RF_EDGE) && !(r->flags & RF_SCANNED) && s->snap.has_price &&
	    eval_node(rules_nodes(r), &s->snap, &s->snap, s->win))
		rules_set_watch(t, ri, true);
	/* SPEC: a level condition is checked against the current snapshot. */
	if (!(r->flags & RF_EDGE) && s->snap.has_price) {
		holds = eval_node(rules_nodes(r), NULL, &s->snap, s->win);
		if (holds && count > 0 && !changed)
			r->flags &= (uint8_t)~RF_ARMED;	/* restart: same episode */
		else if (holds)
			(void)rules_fire(t, ri, now_us, NULL, &s->snap);
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

int rules_remove(struct rules *t, const char *rule_id)
{
	uint8_t id[32];
	uint32_t ri;

	if (!rule_id || rules_hex_id(rule_id, id))
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
	r->stamp = t->epoch;
	return rules_vec_push(&t->cand, ri);
}

/* Candidates from one field's index: keys in [lo, hi], or all when `all`. */
static void rules_cand_range(struct rules *t, struct rules_idx *x, bool all,
			     dec_t lo, dec_t hi)
{
	uint32_t p;
	struct rules_ent e;

	if (x->pn > RULES_PEND_MIN)
		(void)rules_idx_merge(x);
	if (all) {
		for (p = 0; p < x->n; p++)
			if (!(x->main[p].rule & RULES_DEAD))
				(void)rules_cand(t, x->main[p].rule);
		for (p = 0; p < x->pn; p++)
			(void)rules_cand(t, x->pend[p].rule);
		return;
	}
	e = rules_ent_make(lo, 0);
	for (p = rules_idx_lower(x, &e); p < x->n; p++) {
		const struct rules_ent *m = &x->main[p];

		if (rules_ent_key(m) > hi)
			break;
		if (!(m->rule & RULES_DEAD))
			(void)rules_cand(t, m->rule);
	}
	for (p = 0; p < x->pn; p++) {
		dec_t k = rules_ent_key(&x->pend[p]);

		if (k >= lo && k <= hi)
			(void)rules_cand(t, x->pend[p].rule);
	}
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
	for (uint32_t i = 0; i < s->watch.n; i++)
		(void)rules_cand(t, s->watch.v[i]);

	for (uint32_t i = 0; i < t->cand.n; i++) {
		uint32_t ri = t->cand.v[i];

		/* The only rule a step drops is its own (the callback may not
		 * re-enter), and nothing is added during a tick, so the other
		 * candidates stay valid. */
		if (rules_at(t, ri)->flags & RF_LIVE)
			rules_process(t, ri, now_us, &prev, &cur, s->win);
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

		if (!(r->flags & RF_LIVE) || !rules_expired(r, now_us))
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
