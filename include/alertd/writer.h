/*
 * writer.h — the writer threads: firings in, delivery_log and agent_task
 * rows out, in per-tenant batches over pooled connections.
 *
 * writer_push is called by the worker threads (the rules emit callback) and
 * blocks while the target writer's queue is full; writer_flight by the loop
 * and worker threads.  The rest is for the loop
 * thread (main.c).
 */
#ifndef LEO_WRITER_H
#define LEO_WRITER_H

#include <stdint.h>

#include "pool.h"
#include "rules.h"

/*
 * Called on a writer thread when a claim matched no row (another daemon
 * claimed that firing): the loop should catch the rule's counter up with
 * the database's.  Must not block.
 */
typedef void (*writer_refetch_fn)(void *arg, const char *tenant_id, const char *rule_id);

struct writer;
struct ckpt;

/*
 * ckpt (may be NULL): told of every event done with, and its advanced
 * checkpoints written with the batches (or alone, WRITER_CKPT_MS after
 * they advanced when no batch comes).  It must outlive the writer.
 */
struct writer *writer_start(struct pool *pool, int nthreads, int queue_capacity,
			    int batch_max_rows, int batch_max_delay_ms,
			    writer_refetch_fn refetch, void *refetch_arg, struct ckpt *ckpt)
	__attribute__((warn_unused_result));

/* Queue one event; the same rule always goes to the same thread, in order. */
void writer_push(struct writer *w, const struct rules_event *ev, int64_t recv_us);

/*
 * Ticks in flight (workers_flight_fn): +1 when a tick is queued for
 * evaluation, -1 once its firings are all pushed.  While any is in flight a
 * batch waits for more, up to batch_max_delay_ms; at zero it is written.
 */
void writer_flight(struct writer *w, int delta);

/* SIGHUP: new batch limits, picked up by the next batch. */
void writer_set_limits(struct writer *w, int batch_max_rows, int batch_max_delay_ms);

/* Flush everything queued, join the threads, free. */
void writer_stop(struct writer *w);

#endif
