/*
 * sender.h — leo-deliver's work: claim queued deliveries per active tenant
 * and configured channel, as many as the channel has free slots and rate
 * tokens for; check, address and render each; hand it to its channel's
 * transport; record the attempt and the status move its result means
 * (outcome.h).  Loop thread only.
 *
 * Passes run when woken (sender_wake: a leo_delivery notification, the
 * poll backstop, a freed slot, a retry coming due).  A record that cannot
 * be written (database away) is kept and written first on the next pass;
 * its claim's lease keeps other senders off the delivery meanwhile.
 */
#ifndef LEO_SENDER_H
#define LEO_SENDER_H

#include <stdbool.h>

struct deliver_cfg;
struct event_base;
struct pool;
struct sender;

/* cfg must outlive the sender.  NULL (logged) on a channel that cannot be
 * opened (a secret file unreadable, an outbox not writable) or out of memory. */
struct sender *sender_new(struct event_base *base, struct pool *pool,
			  const struct deliver_cfg *cfg) __attribute__((warn_unused_result));

/* Run a pass soon (coalesced). */
void sender_wake(struct sender *s);

/* Whether the last pass reached the database. */
bool sender_db_up(const struct sender *s);

/* SIGHUP: cfg (the deliver section's reloadable keys; channels keep what
 * they were opened with) replaces the one given before, which may then be freed. */
void sender_set_cfg(struct sender *s, const struct deliver_cfg *cfg);

/* Stop claiming; true once nothing is in flight and every record is written. */
bool sender_quiesce(struct sender *s);

/* Requests still in flight are aborted (their attempts recorded as retries). */
void sender_free(struct sender *s);

#endif
