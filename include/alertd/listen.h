/*
 * listen.h — the LISTEN connection on the loop thread: notifications in,
 * worker messages out; start-up load, reconnect catch-up, periodic resync.
 *
 * Loop thread only, except listen_refetch (any thread).
 */
#ifndef LEO_LISTEN_H
#define LEO_LISTEN_H

#include <stdbool.h>

#include "pool.h"
#include "workers.h"

struct event_base;
struct listen;

/* Called on the loop thread when readiness changes (rules loaded and the
 * database connected, or connection lost). */
typedef void (*listen_ready_fn)(void *arg, bool ready);

struct listen *listen_new(struct event_base *base, struct pool *pool,
			  struct workers *workers, const char *market_channel,
			  int resync_interval_s, listen_ready_fn ready, void *ready_arg)
	__attribute__((warn_unused_result));

/* Connect (now, then with backoff until it works) and load. */
int listen_start(struct listen *l) __attribute__((warn_unused_result));

/* SIGHUP: new resync interval; re-read every rule now. */
void listen_reload(struct listen *l, int resync_interval_s);

/* Any thread, never blocks: another daemon claimed a firing of this rule
 * first; soon take the row's counters when they are ahead (rules_catch_up). */
void listen_refetch(struct listen *l, const char *tenant_id, const char *rule_id);

/* Stop taking changes: close the connections, drop the events. */
void listen_stop(struct listen *l);
void listen_free(struct listen *l);

#endif
