/*
 * pickup.h — what wakes the sender: a connection of its own that LISTENs on
 * leo_delivery (the writer's NOTIFY for each new delivery), reconnecting
 * with backoff when it breaks; each connect is followed by a wake-up too,
 * since notifications sent while it was down are gone.  Loop thread.
 */
#ifndef LEO_PICKUP_H
#define LEO_PICKUP_H

#include <stdbool.h>

struct event_base;
struct pool;
struct pickup;

typedef void pickup_wake_fn(void *arg);

/* Connects at once (or schedules the reconnect); NULL when out of memory. */
struct pickup *pickup_new(struct event_base *base, struct pool *pool, pickup_wake_fn *wake,
			  void *arg) __attribute__((warn_unused_result));

/* Whether the LISTEN connection is up. */
bool pickup_up(const struct pickup *p);

void pickup_free(struct pickup *p);

#endif
