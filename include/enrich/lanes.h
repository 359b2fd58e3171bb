/*
 * lanes.h — leo-enrich's workers inside one process (enrich.workers): each
 * lane is a jobs.h worker of its own (its connections, its LISTEN, one
 * batch in flight), lane 0 on the main loop, every other on a thread with
 * an event base of its own; they share the queue as separate processes
 * would (leases, SKIP LOCKED), so the database works on as many batches
 * at once.  Created, reloaded, drained and stopped from the main thread.
 */
#ifndef LEO_LANES_H
#define LEO_LANES_H

#include "enrich_cfg.h"
#include "jobs.h"

struct event_base;
struct pool;
struct lanes;

/*
 * Start c->enrich.workers lanes: lane 0 on base (the caller runs it), the
 * others on their threads.  api_key: openai's (NULL: none), copied.  ready
 * is lane 0's (the process is ready when it is).  NULL (logged) on failure,
 * with nothing left running.
 */
struct lanes *lanes_start(struct event_base *base, struct pool *pool, const struct enrich_cfg *c,
			  const char *api_key, const char *owner, jobs_ready_fn *ready, void *arg)
	__attribute__((warn_unused_result));

/* SIGHUP: every lane takes the enrich section's new values. */
void lanes_reload(struct lanes *l, const struct enrich_cfg_enrich *c);

/* SIGTERM: every lane stops taking work; lane 0 breaks base once its batch
 * is recorded, the others end their threads likewise. */
void lanes_drain(struct lanes *l);

/* After base's loop returned: drain what still runs, join the threads and
 * free everything; NULL is fine. */
void lanes_free(struct lanes *l);

#endif
