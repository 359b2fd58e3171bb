/*
 * bq.h — a bounded FIFO of fixed-size items between threads.
 *
 * One mutex guards the ring; producers wait on not_full, consumers on
 * not_empty.  Items are copied in and out (memcpy of `size` bytes), so a
 * queue holds values, never pointers into a producer's stack.  A consumer
 * takes everything waiting (up to its buffer) in one lock, then works
 * without it.  After bq_close, pushes fail and pops drain what is left,
 * then return 0: a closed, empty queue is the consumer's signal to stop.
 *
 * Any thread; a struct bq is shared by its producers and consumers and is
 * guarded by its own lock.  The owner calls bq_init and bq_destroy.
 */
#ifndef LEO_BQ_H
#define LEO_BQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct bq {
	pthread_mutex_t lock;		/* guards everything below */
	pthread_cond_t not_empty, not_full;
	unsigned char *ring;
	size_t size;			/* bytes per item */
	size_t cap, head, len;
	bool closed;
	bool kicked;			/* bq_kick: the next bq_pop returns */
};

/* cap items of size bytes each (both > 0). */
int bq_init(struct bq *q, size_t cap, size_t size) __attribute__((warn_unused_result));
void bq_destroy(struct bq *q);

/*
 * Append one item, waiting while the queue is full.  Returns 0, or -1 when
 * the queue is closed (the item was not queued).
 */
int bq_push(struct bq *q, const void *item);

/* Append one item if there is room now: 0, or -1 when full or closed. */
int bq_try_push(struct bq *q, const void *item);

/*
 * Take up to max items into out (an array of max items), oldest first.
 * Waits until at least one item is there, the queue is closed, or
 * timeout_ms passes (-1: no limit; 0: do not wait).  Returns how many were
 * taken; 0 means timed out, kicked (bq_kick), or closed and drained
 * (see bq_drained).
 */
size_t bq_pop(struct bq *q, void *out, size_t max, int timeout_ms);

/* Items waiting now (a snapshot). */
size_t bq_len(struct bq *q);

/*
 * Make the consumer's current or next bq_pop return at once, with what is
 * there (perhaps nothing).  Sticky: a kick before the consumer waits is not
 * lost; one pop consumes it.  For a consumer that waits for more than items
 * (writer.c: for the ticks still being evaluated).
 */
void bq_kick(struct bq *q);

/* Refuse further pushes and wake every waiter. */
void bq_close(struct bq *q);

/* Closed (bq_close), perhaps with items still to pop. */
bool bq_closed(struct bq *q);

/* Closed and empty: nothing will ever be popped again. */
bool bq_drained(struct bq *q);

#endif
