/*
 * rules.h — the symbol-indexed table of ACTIVE rules and their trigger
 * policies (SPEC section 3).
 *
 * One table per worker thread: the worker that owns a symbol owns that
 * symbol's rules and snapshot, so nothing here locks.  Rule changes and price
 * changes for a symbol reach the table in commit order through the worker's
 * queue, which is what makes "a rule committed before a price change is
 * evaluated against that change" hold.
 *
 * The table reports what the writer must do through rules_emit_fn: a firing
 * to deliver, a firing held back by the flood guard (rule goes PAUSED), or a
 * rule that expired.  The callback runs on the worker thread, synchronously.
 */
#ifndef LEO_RULES_H
#define LEO_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"

#include "dec.h"

/* A symbol: up to 64 characters of UTF-8 (256 bytes) and the NUL. */
#define RULES_SYMBOL_CAP 257

/* A rule as read from its alert_rules row (status ACTIVE). */
struct rules_def {
	const char *rule_id;		/* 64 lower-case hex */
	const char *tenant_id;		/* uuid text */
	const char *symbol;
	const char *condition;		/* condition_logic JSON text */
	size_t condition_len;
	bool rearm;			/* trigger_mode = 'REARM' */
	int64_t cooldown_s;		/* 0 = none */
	dec_t rearm_hysteresis;		/* 0 = none */
	int64_t expires_at_us;		/* 0 = never; µs since the epoch */
	int64_t trigger_count;
	int64_t last_triggered_at_us;	/* 0 = never */
	/* REARM: firing times of its recent past, oldest first (the flood
	 * guard's history after a restart; taken by a rule new to the table) */
	const int64_t *recent_us;
	size_t nrecent;
};

enum rules_event_kind {
	RULES_FIRE,		/* deliver: claim, consent, delivery_log, agent_task */
	RULES_FLOOD_PAUSE,	/* flood guard: claim, set PAUSED, agent_task only */
	RULES_EXPIRE		/* set EXPIRED */
};

/* What the writer needs; everything is copied, nothing points into the table. */
struct rules_event {
	enum rules_event_kind kind;
	char rule_id[RULE_ID_SIZE];
	char tenant_id[TENANT_ID_SIZE];
	char symbol[RULES_SYMBOL_CAP];
	int64_t seq;		/* trigger_count this firing makes (claim expects seq-1);
				 * RULES_EXPIRE: the rule's trigger_count */
	int64_t at_us;		/* wall clock of the firing */
	bool has_prev;		/* false: no previous value (load-time level check) */
	bool has_prev_chg;	/* false: previous change_percent NULL (or no prev) */
	bool has_cur_chg;	/* false: current change_percent NULL */
	dec_t prev_price, cur_price;
	dec_t prev_chg, cur_chg;	/* 0 when the matching has_* is false */
};

typedef void (*rules_emit_fn)(void *arg, const struct rules_event *ev);

struct rules_limits {
	int flood_max_fires;		/* engine.flood_max_fires; <= 0: no guard */
	int64_t flood_window_s;		/* engine.flood_window_seconds */
};

struct rules;

struct rules *rules_new(const struct rules_limits *lim, rules_emit_fn emit,
			void *arg) __attribute__((warn_unused_result));
void rules_free(struct rules *t);
void rules_set_limits(struct rules *t, const struct rules_limits *lim);

/*
 * Set a symbol's current snapshot without evaluating anything (start-up
 * load, before the rules).  has_chg false: change_percent is NULL.
 */
int rules_seed(struct rules *t, const char *symbol, dec_t price, bool has_chg,
	       dec_t chg) __attribute__((warn_unused_result));

/*
 * Add or replace one rule.  A rule whose definition is unchanged (same
 * tenant, symbol, compiled condition and policy columns) keeps its runtime
 * state (armed, window, flood history, trigger_count); a changed one keeps
 * its trigger_count.  The row's counters are taken only by a rule new to
 * the table: a row read now may count firings (another daemon's) of price
 * changes this table has not seen yet, and taking them would number this
 * table's firings of those changes past theirs.  A new or changed level rule is checked against the
 * symbol's current snapshot (SPEC: checked when loaded) and may emit a
 * firing with has_prev false; a rule new to the table with trigger_count > 0
 * whose condition holds starts disarmed instead (a restart never fires twice
 * for one episode).  A rule already past expires_at emits RULES_EXPIRE and is
 * not kept (and leaves the table if it was there).  Returns 0, or -1 with err
 * set when the condition does not compile (a rule of that id already in the
 * table is then removed: it no longer matches its row) or rule_id is not 64
 * lower-case hex digits.
 */
int rules_upsert(struct rules *t, const struct rules_def *def, int64_t now_us,
		 char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Take a row's counters when they are ahead of the table's (another daemon
 * claimed firings this table numbered lower).  Only correct where the
 * table has seen every price change the row's counters count: listen.c
 * calls it at a fence.  1 if taken, 0 if not (not ahead), -1 if the rule
 * is not there.
 */
int rules_catch_up(struct rules *t, const char *rule_id, int64_t trigger_count,
		   int64_t last_triggered_at_us);

/* Remove one rule; 0 if it was there, -1 if not. */
int rules_remove(struct rules *t, const char *rule_id);

/* Remove every rule of a tenant (tenant suspended); returns how many. */
size_t rules_remove_tenant(struct rules *t, const char *tenant_id);

/*
 * A price change of one symbol, in commit order.  The previous value is the
 * table's own last snapshot of the symbol.  Emits the firings; returns the
 * number of rule evaluations it did (for leo_rule_evaluations_total).
 */
size_t rules_tick(struct rules *t, const char *symbol, dec_t price,
		  bool has_chg, dec_t chg, int64_t now_us);

/*
 * The change from a checkpoint to the current price, at start-up (load.c):
 * rules_tick, except that a rule whose last firing is at or after
 * since_us (the checkpoint's observation) does not fire on it — it already
 * fired for this change before the restart — and a level rule among them
 * is left disarmed, as after a firing.
 */
size_t rules_replay(struct rules *t, const char *symbol, dec_t price, bool has_chg,
		    dec_t chg, int64_t now_us, int64_t since_us);

/*
 * Expiry sweep: emits RULES_EXPIRE for every rule past expires_at and drops
 * it.  The worker calls it at least every engine.resync_interval_s.
 */
void rules_sweep(struct rules *t, int64_t now_us);

size_t rules_count(const struct rules *t);

#endif
