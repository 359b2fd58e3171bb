/*
 * batch.h — the firings a writer thread gathers, per tenant, and how one
 * batch is written: retried while the failure is transient, bisected when
 * some firing can never be written.
 *
 * A batch set holds one batch per tenant: `now`, the next transaction, with
 * at most one firing per rule (one UPDATE claims a row once), and `later`,
 * the rule's further firings in their order, let in after `now` committed.
 * Writing is the caller's callback (writer.c runs the statement of
 * wsql.h), so everything here is pure and testable without a database.
 *
 * Writer thread only: a set belongs to one thread; nothing here locks.
 */
#ifndef LEO_BATCH_H
#define LEO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "rules.h"

/* The times are wall clock, in microseconds (leo_firing_stage_seconds). */
struct batch_ev {
	struct rules_event ev;
	int64_t recv_us;		/* its tick was received */
	int64_t decided_us;		/* the worker pushed it to the writer */
	int64_t taken_us;		/* its writer thread took it off the queue */
};

/* A growable array of events. */
struct batch_evs {
	size_t n, cap;
	struct batch_ev *e;
};

struct batch_tenant {
	char tenant[TENANT_ID_SIZE];
	int64_t first_ms;		/* monotonic, when the first event came */
	struct batch_evs now;		/* the next transaction: one event per rule */
	struct batch_evs later;		/* later firings of rules already in `now` */
};

/* What a transaction's failure means. */
enum batch_result {
	BATCH_OK,
	BATCH_RETRY,	/* transient (connection, serialization, full queue): again */
	BATCH_BAD	/* some firing can never be written: bisect */
};

struct batch_ops {
	/*
	 * Write evs[0..n) of tenant in one transaction.  On failure nothing
	 * committed; *err may get a malloc'd message (batch_write frees it).
	 */
	enum batch_result (*exec)(void *arg, const char *tenant, const struct batch_ev *evs,
				  size_t n, char **err);
	/*
	 * After the attempt-th transient failure in a row (0, 1, ...): wait
	 * before the next attempt and return true, or false to give up.
	 */
	bool (*retry)(void *arg, int attempt);
	void *arg;
	/*
	 * May be NULL: evs[0..n) are done with, committed or dropped for good
	 * (not called for what shutdown gives up on).
	 */
	void (*done)(void *arg, const struct batch_ev *evs, size_t n);
};

struct batch_set {
	const struct batch_ops *ops;
	int rows;			/* a batch this full is written at once */
	size_t n;
	struct batch_tenant *b;
};

/*
 * Write evs[0..n) of tenant: once it commits, or until ops->retry gives up;
 * a BAD batch is halved until the firing that cannot be written is alone,
 * which is logged and dropped, so it never holds back the others.
 */
void batch_write(const struct batch_ops *ops, const char *tenant, const struct batch_ev *evs,
		 size_t n);

/*
 * Add one event to its tenant's batch; a batch reaching s->rows events (in
 * `now`, or in `later`) is written at once.  Out of memory, the event is
 * written alone rather than lost.
 */
void batch_add(struct batch_set *s, const struct batch_ev *e);

/* Write every tenant's `now` once (then its `later` moves up). */
void batch_flush_all(struct batch_set *s);

/* Some tenant's `now` holds events. */
bool batch_pending(const struct batch_set *s);

/* The monotonic ms when the oldest pending batch is due, or -1: none. */
int64_t batch_deadline(const struct batch_set *s, int delay_ms);

void batch_free(struct batch_set *s);

#endif
