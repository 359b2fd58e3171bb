/*
 * workers.h — the evaluation threads.  Each worker owns the symbols that
 * hash to it, their snapshot and rules (one struct rules each), and a
 * bounded queue that carries ticks and rule changes in the order the loop
 * pushed them, which is commit order.
 *
 * All workers_* calls but workers_start/stop/free/progress are made by the loop
 * thread only, and none of them waits: a message for a full queue is kept,
 * in order, in that worker's spill (workers.c's DESIGN).  The loop stops
 * reading notifications while workers_backlog() and calls workers_flush()
 * until it is false: back-pressure reaches PostgreSQL's queue, nothing is
 * dropped, and the loop keeps serving its timers and signals.
 */
#ifndef LEO_WORKERS_H
#define LEO_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "dec.h"
#include "rules.h"

/* Called on the worker thread for each event the rule table emits; recv_us
 * is when the loop received the change that led to it (wall clock, µs). */
typedef void (*workers_emit_fn)(void *arg, const struct rules_event *ev,
				int64_t recv_us);

/*
 * Ticks in flight, for the writers' group commit: called with +1 on the loop
 * thread before a tick is queued and with -1 on the worker thread once its
 * evaluation has emitted every event it makes.  Same arg as emit.
 */
typedef void (*workers_flight_fn)(void *arg, int delta);

struct workers;
struct ckpt;

/*
 * ckpt (may be NULL) hears of every event emitted and every tick evaluated
 * (ckpt.h); it must outlive the workers.
 */
struct workers *workers_start(int nthreads, int queue_capacity,
			      const struct rules_limits *lim, workers_emit_fn emit,
			      workers_flight_fn flight, void *emit_arg, struct ckpt *ckpt)
	__attribute__((warn_unused_result));

/* Drain every queue, join the threads, free what they used.  Another
 * thread may still call workers_progress until workers_free. */
void workers_stop(struct workers *w);
void workers_free(struct workers *w);

/* Which worker owns a symbol (stable for the process lifetime). */
int workers_owner(const struct workers *w, const char *symbol);

void workers_seed(struct workers *w, const char *symbol, dec_t price, bool has_chg,
		  dec_t chg);
/* recv_us: when the loop observed the change, unique per tick (listen_observed_us);
 * it is also the evaluation's time, so a firing's at_us names its tick. */
void workers_tick(struct workers *w, const char *symbol, dec_t price, bool has_chg,
		  dec_t chg, int64_t recv_us);
/* A tick replaying the change from a checkpoint observed at since_us (rules_replay). */
void workers_replay(struct workers *w, const char *symbol, dec_t price, bool has_chg,
		    dec_t chg, int64_t recv_us, int64_t since_us);
/* Copies def.  Returns -1 only when out of memory. */
int workers_upsert(struct workers *w, const struct rules_def *def, int64_t recv_us)
	__attribute__((warn_unused_result));
void workers_remove(struct workers *w, const char *symbol, const char *rule_id);
void workers_catch_up(struct workers *w, const char *symbol, const char *rule_id,
		      int64_t trigger_count, int64_t last_triggered_at_us);
void workers_remove_tenant(struct workers *w, const char *tenant_id);
void workers_sweep(struct workers *w);
void workers_set_limits(struct workers *w, const struct rules_limits *lim);

/* Messages spilled because a queue was full wait for room. */
bool workers_backlog(const struct workers *w);
/* Move spilled messages into queues with room; true when none is left. */
bool workers_flush(struct workers *w);

/* For the watchdog: messages processed so far and messages waiting. */
void workers_progress(struct workers *w, uint64_t *processed, uint64_t *waiting);

#endif
