/*
 * sender.h — the sender's engine: claims due deliveries per tenant and
 * channel, checks and renders each, hands it to its channel's transport,
 * and records what came back.  Loop thread only.
 */
#ifndef LEO_SENDER_H
#define LEO_SENDER_H

#include <stdbool.h>

struct event_base;
struct deliver_cfg;
struct dstore;
struct sender;

/*
 * A sender on base for cfg (which must outlive it), claiming as owner
 * (unique among the senders of a database) over db.  NULL (logged) when a
 * channel's transport cannot be set up (a secret file unreadable, a body
 * template that does not parse, ...).
 */
struct sender *sender_new(struct event_base *base, const struct deliver_cfg *cfg,
			  struct dstore *db, const char *owner) __attribute__((warn_unused_result));

/* Tenant (NULL: every active tenant) may have new work: look soon. */
void sender_kick(struct sender *s, const char *tenant);

/* Scan every active tenant now (start-up, the poll timer, a reconnect). */
void sender_scan(struct sender *s);

/* Stop claiming; done() runs on the loop once nothing is in flight. */
void sender_drain(struct sender *s, void (*done)(void *arg), void *arg);

/* Whether the last database call worked (for /readyz). */
bool sender_ready(const struct sender *s);

void sender_free(struct sender *s);

#endif
