/*
 * rules_int.h — the rule table's own structs, shared by rules.c (the
 * symbol-indexed table), ruletab.c (its pool and rule id map), rulecand.c
 * (the candidates of a change) and trigger.c (the trigger policies it
 * applies to one rule).  Private to the engine, like cond_int.h.
 *
 * Everything here belongs to the worker thread that owns the table.
 */
#ifndef LEO_RULES_INT_H
#define LEO_RULES_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "cond_int.h"
#include "eval.h"
#include "idmap.h"
#include "ids.h"
#include "ruleidx.h"
#include "rules.h"

#define RULES_CHUNK_BITS 12
#define RULES_CHUNK (1u << RULES_CHUNK_BITS)
#define RULES_NONE UINT32_MAX

/* rule->flags */
#define RF_LIVE 0x01
#define RF_REARM 0x02
#define RF_EDGE 0x04
#define RF_INLINE 0x08		/* condition is the inline leaf */
#define RF_ARMED 0x10
#define RF_WATCH 0x20		/* in its symbol's watch list */
#define RF_SCANNED 0x40		/* in its symbol's scan list (moves in a composite) */
#define RF_MOVEIDX 0x80		/* a single moves leaf, in a moves group */

/*
 * Rarely needed policy state; NULL for a rule with no hysteresis, cooldown
 * or expiry that has not fired as REARM.  last_triggered_at lives here too:
 * only the cooldown reads it, and a rule with a cooldown always has an ext.
 * 56 bytes, one 64-byte malloc chunk.
 */
struct rule_ext {
	cond_dec hyst;
	int64_t expires_us;
	int64_t last_us;	/* last_triggered_at, 0 = never */
	int64_t *flood;		/* ring of recent firing times */
	uint32_t cooldown_s;
	uint16_t flood_cap, flood_n, flood_head;
	uint16_t flood_max;	/* the limit the ring was kept under */
};

/*
 * A single-leaf condition stored in the rule: the cond_node with its two
 * 128-bit operands packed into 96 bits each (keys stay below 2^70), 32 bytes
 * instead of 40.  rules_nodes() unpacks it.
 */
struct rules_leaf {
	uint8_t op, field;
	uint16_t pad;
	uint32_t window_s;
	uint64_t a_lo, b_lo;
	int32_t a_hi, b_hi;
};

/* 96 bytes. */
struct rule {
	uint8_t id[32];
	int64_t trigger_count;
	struct rule_ext *ext;
	union {
		struct cond *cond;
		struct rules_leaf leaf;
	} u;
	uint32_t tenant;
	uint32_t sym;
	uint32_t stamp;		/* tick epoch; next free slot when not live */
	uint8_t flags;
};

_Static_assert(sizeof(struct rule) == 96, "struct rule grew");
_Static_assert(sizeof(struct rule_ext) == 56, "struct rule_ext left its malloc chunk");

struct rules_vec {
	uint32_t *v;
	uint32_t n, cap;
};

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
	uint32_t hash;			/* ruletab_name_hash(name) */
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

struct rules {
	struct rules_limits lim;
	rules_emit_fn emit;
	void *arg;

	struct rule **chunk;
	uint32_t nchunk, chunk_cap;
	uint32_t next_slot;	/* first never-used slot */
	uint32_t free_head;	/* freed slots, chained through stamp */
	size_t count;
	struct idmap ids;	/* rule id -> pool index */

	struct rules_sym **sym;
	uint32_t nsym, sym_cap;
	struct idmap syms;

	char (*tenant)[TENANT_ID_SIZE];
	uint32_t ntenant, tenant_cap;
	struct idmap tenants;

	uint32_t epoch;
	struct rules_vec cand;	/* scratch for rules_tick */
	int64_t replay_since_us;	/* rules_replay: rules fired since then hold; 0 */
};

/* ------------------------------------------------------------------ */
/* reading a rule */

static inline struct rule *rules_at(const struct rules *t, uint32_t i)
{
	return &t->chunk[i >> RULES_CHUNK_BITS][i & (RULES_CHUNK - 1)];
}

static inline dec_t rules_unpack(uint64_t lo, int32_t hi)
{
	return (dec_t)hi * ((dec_t)1 << 64) + (dec_t)lo;
}

/*
 * The rule's compiled nodes; an inline leaf is unpacked into *buf (the
 * caller's), which is what the pointer then points to.
 */
static inline const struct cond_node *rules_nodes(const struct rule *r,
						  struct cond_node *buf)
{
	const struct rules_leaf *l = &r->u.leaf;

	if (!(r->flags & RF_INLINE))
		return r->u.cond->node;
	buf->op = l->op;
	buf->field = l->field;
	buf->size = 1;
	buf->window_s = l->window_s;
	buf->a = rules_unpack(l->a_lo, l->a_hi);
	buf->b = rules_unpack(l->b_lo, l->b_hi);
	return buf;
}

static inline uint32_t rules_nnodes(const struct rule *r)
{
	return (r->flags & RF_INLINE) ? 1 : r->u.cond->n;
}

static inline bool rules_single_cmp(const struct rule *r)
{
	unsigned op = (r->flags & RF_INLINE) ? r->u.leaf.op : r->u.cond->node[0].op;

	return rules_nnodes(r) == 1 && op >= COND_GT && op <= COND_LE;
}

static inline dec_t rules_hyst(const struct rule *r)
{
	return r->ext ? r->ext->hyst : 0;
}

/* ------------------------------------------------------------------ */
/* vectors */

static inline int rules_vec_push(struct rules_vec *v, uint32_t x)
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

static inline void rules_vec_del(struct rules_vec *v, uint32_t x)
{
	for (uint32_t i = 0; i < v->n; i++)
		if (v->v[i] == x) {
			v->v[i] = v->v[--v->n];
			return;
		}
}


/* ------------------------------------------------------------------ */
/* candidates of a change (rulecand.c), inline for rules_tick */

/* Add rule ri to the candidates of this change unless it is there already. */
static inline int rulecand_cand(struct rules *t, uint32_t ri)
{
	struct rule *r = rules_at(t, ri);

	if (r->stamp == t->epoch)
		return 0;
	if (rules_vec_push(&t->cand, ri))
		return -1;
	r->stamp = t->epoch;
	return 0;
}

/* A new change: no rule is a candidate of it yet. */
static inline void rulecand_new_epoch(struct rules *t)
{
	if (++t->epoch != 0)
		return;
	/* Wrapped: clear every stamp so none matches by accident. */
	for (uint32_t i = 0; i < t->next_slot; i++)
		if (rules_at(t, i)->flags & RF_LIVE)
			rules_at(t, i)->stamp = 0;
	t->epoch = 1;
}


/* ------------------------------------------------------------------ */
/* ruletab.c: the pool of rules and the three maps */

/* Pool index of the rule with this id, or RULES_NONE. */
uint32_t ruletab_id_find(const struct rules *t, const uint8_t id[32]);

/* Rule x (whose id is not in the map) becomes findable. */
int ruletab_id_add(struct rules *t, uint32_t x);

/* Rule x is no longer findable by its id. */
void ruletab_id_del(struct rules *t, uint32_t x);

/* A free slot (its contents stale), or RULES_NONE when out of memory or full. */
uint32_t ruletab_alloc_slot(struct rules *t);

/* Slot ri is free again (its rule no longer live). */
void ruletab_free_slot(struct rules *t, uint32_t ri);

/* The symbol's index, interned for the table's life; RULES_NONE when out of memory. */
uint32_t ruletab_sym_get(struct rules *t, const char *name);

/* The tenant's index, or RULES_NONE when it has no rule yet. */
uint32_t ruletab_tenant_find(const struct rules *t, const char *name);

/* The tenant's index, interned; RULES_NONE when out of memory or not a tenant id. */
uint32_t ruletab_tenant_get(struct rules *t, const char *name);

/* ------------------------------------------------------------------ */
/* rulecand.c: what a rule registers, what a change must evaluate */

/* Add (add) or remove the index keys of rule ri; -1: out of memory. */
int rulecand_keys(struct rules *t, uint32_t ri, bool add);

/* Register (add) or release the windows the moves leaves of rule r need. */
void rulecand_windows(struct rules *t, struct rule *r, bool add);

/* Put the single moves leaf rule ri in its moves group, or take it out. */
int rulecand_moves_add(struct rules *t, uint32_t ri);
void rulecand_moves_del(struct rules *t, uint32_t ri);

/* Candidates from one field's index: keys in [lo, hi], or all when `all`. */
void rulecand_range(struct rules *t, struct ruleidx *x, bool all,
		    dec_t lo, dec_t hi);

/* Candidates from moves group g of symbol s for a change to price. */
void rulecand_moves(struct rules *t, struct rules_sym *s,
		    struct rules_mgroup *g, dec_t price);

/* ------------------------------------------------------------------ */
/* rules.c, for trigger.c */

/* Drop rule ri from every structure and free its slot. */
void rules_drop(struct rules *t, uint32_t ri);

/* Put rule ri in its symbol's watch list (evaluated on every change), or take it out. */
void rules_set_watch(struct rules *t, uint32_t ri, bool on);

/* The event of rule r; prev NULL: no previous value, cur NULL: no values. */
void rules_event_fill(struct rules *t, const struct rule *r,
		      struct rules_event *ev, enum rules_event_kind kind,
		      int64_t now_us, const struct eval_snap *prev,
		      const struct eval_snap *cur);

#endif
