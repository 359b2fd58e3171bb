/*
 * trigger.h — the trigger policies of SPEC section 3 applied to one rule of
 * a rule table: ONCE, REARM level (re-arm with hysteresis) and edge,
 * cooldown, the flood guard, expiry.
 *
 * Called by rules.c on the worker thread that owns the table; what fires is
 * reported through the table's emit callback, synchronously.
 */
#ifndef LEO_TRIGGER_H
#define LEO_TRIGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rules;
struct rule;
struct eval_snap;
struct eval_window;

/*
 * Rule ri holds and may fire.  Applies cooldown (REARM), the flood guard and
 * ONCE; emits; may drop the rule.  Returns true when the rule is gone.
 */
bool trigger_fire(struct rules *t, uint32_t ri, int64_t now_us,
		  const struct eval_snap *prev, const struct eval_snap *cur);

/* Evaluate rule ri on a change and apply its policy (may drop it). */
void trigger_process(struct rules *t, uint32_t ri, int64_t now_us,
		     const struct eval_snap *prev, const struct eval_snap *cur,
		     const struct eval_window *win);

/*
 * After a restart: rule r's flood history from its recent firings (oldest
 * first; rules_def.recent_us), as if it had made them here.  Needs r->ext.
 */
void trigger_flood_seed(struct rules *t, struct rule *r, const int64_t *times, size_t n,
			int64_t now_us);

/* A level rule that does not hold may re-arm at cur (its hysteresis passed). */
bool trigger_rearm_ok(const struct rule *r, const struct eval_snap *cur);

/* Rule r is past its expires_at: it never fires again (rules_sweep drops it). */
bool trigger_expired(const struct rule *r, int64_t now_us);

#endif
