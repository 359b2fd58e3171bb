/*
 * eval.h — evaluate a compiled condition (cond.h) on one price change, and
 * the per-symbol price window that the windowed moves read.
 *
 * Pure apart from the window, which its owner (the worker that owns the
 * symbol) updates; evaluation itself never allocates.
 */
#ifndef LEO_EVAL_H
#define LEO_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cond.h"
#include "dec.h"

/* A symbol's snapshot; a false has_* is SQL NULL (or never seen). */
struct eval_snap {
	bool has_price, has_chg;
	dec_t price, chg;
};

/*
 * Recent prices of one symbol, one sliding window per distinct
 * window_seconds in use (registered with eval_window_ref).  Times are the
 * injected clock of the caller, µs.
 */
struct eval_window;

struct eval_window *eval_window_new(void) __attribute__((warn_unused_result));
void eval_window_free(struct eval_window *w);
/* A rule with a window of `window_s` seconds arrives / leaves. */
int eval_window_ref(struct eval_window *w, uint32_t window_s)
	__attribute__((warn_unused_result));
void eval_window_unref(struct eval_window *w, uint32_t window_s);
bool eval_window_empty(const struct eval_window *w);
/* Forget prices older than each window at now_us (call before evaluating). */
void eval_window_advance(struct eval_window *w, int64_t now_us);
/*
 * Record a price seen at now_us (call after evaluating; expired prices go at
 * the next eval_window_advance, which extremes need first).  -1: out of
 * memory.
 */
int eval_window_push(struct eval_window *w, int64_t now_us, dec_t price)
	__attribute__((warn_unused_result));
/* Lowest and highest price in the window; false when it holds none. */
bool eval_window_extremes(const struct eval_window *w, uint32_t window_s,
			  dec_t *lo, dec_t *hi);

/*
 * Whether condition `c` holds on the change prev -> cur.  `w` may be NULL
 * (then windowed moves never hold).  The window holds the prices seen before
 * this change, not the current one.
 */
bool eval_cond(const struct cond *c, const struct eval_snap *prev,
	       const struct eval_snap *cur, const struct eval_window *w);

/* The same for the subtree at one node of a compiled condition (rules.c). */
struct cond_node;
bool eval_node(const struct cond_node *n, const struct eval_snap *prev,
	       const struct eval_snap *cur, const struct eval_window *w);

/*
 * The windowed-move tests on keys: cur at least pct percent above lo / below
 * hi (pct an operand key, > 0).  Exposed for the tests.
 */
bool eval_moved_up(dec_t cur, dec_t lo, dec_t pct);
bool eval_moved_down(dec_t cur, dec_t hi, dec_t pct);

#endif
