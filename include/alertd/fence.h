/*
 * fence.h — the fence protocol of listen.c's DESIGN ("Counters", "Load"):
 * read now, act where the fence notification arrives.  Loop thread only.
 */
#ifndef LEO_FENCE_H
#define LEO_FENCE_H

#include <stddef.h>
#include <stdint.h>

struct listen;
struct listen_req;

/*
 * Resync, step one: send its fence; the load runs when it arrives (at most
 * one on its way).  0, also when postponed (logged: out of memory, or the
 * notification queue full); -1 when the query connection was lost.
 */
int fence_resync(struct listen *l) __attribute__((warn_unused_result));

/*
 * Read the counters of the rules whose claims failed, per tenant, in one
 * transaction ending with a fence (sorts rq).  0, or -1 when qc failed.
 */
int fence_counters(struct listen *l, struct listen_req *rq, size_t n)
	__attribute__((warn_unused_result));

/* Fence id arrived on lc: a resync loads now, counters are taken now. */
void fence_reached(struct listen *l, uint64_t id);

/* The connection is gone: forget every fence still awaited. */
void fence_drop_all(struct listen *l);

#endif
