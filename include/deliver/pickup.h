/*
 * pickup.h — how the sender hears of new deliveries: LISTEN leo_delivery on
 * a connection of its own, reconnecting with backoff; every (re)connect
 * scans all tenants, so rows queued while it was away are found.  Loop
 * thread only.
 */
#ifndef LEO_PICKUP_H
#define LEO_PICKUP_H

struct event_base;
struct pool;
struct sender;
struct pickup;

struct pickup *pickup_new(struct event_base *base, struct pool *pool, struct sender *s)
	__attribute__((warn_unused_result));
/* Connect and LISTEN now, or schedule the retry. */
void pickup_start(struct pickup *p);
void pickup_free(struct pickup *p);

#endif
