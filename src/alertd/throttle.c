/*
 * throttle.c — back-pressure without blocking.  Loop thread only.
 *
 * A worker whose queue is full gets its messages spilled, in order, on the
 * loop's side (workers.c).  From then on the loop reads no notification:
 * ev_read is taken off the base and PostgreSQL keeps what follows in its
 * queue (leo_pg_notification_queue_usage shows it).  Every THROTTLE_POLL_MS
 * ev_throttle moves spilled messages into the queues that have room; once
 * nothing is spilled it puts ev_read back and makes it active, so whatever
 * libpq already holds is read at once.  HTTP and the watchdog live on the
 * stats thread anyway; signals, resync and sampling timers, refetches and
 * fences go on here, because nothing on the loop waits for a worker.
 *
 * leo_listen_throttled_seconds_total counts the time held, in whole
 * seconds (the counters are integers); the remainder is carried over.
 */
#include "throttle.h"

#include <event2/event.h>

#include "alertd_metrics.h"
#include "clock.h"
#include "listen_int.h"
#include "log.h"
#include "workers.h"

#define THROTTLE_POLL_MS 2

/* Count the time held up to now. */
static void throttle_account(struct listen *l)
{
	int64_t now = clock_mono_us();

	if (!l->throttled_since_us)
		return;
	l->throttle_carry_us += now - l->throttled_since_us;
	l->throttled_since_us = now;
	if (l->throttle_carry_us >= 1000000) {
		metrics_add(METRIC_LISTEN_THROTTLED, (uint64_t)(l->throttle_carry_us / 1000000));
		l->throttle_carry_us %= 1000000;
	}
}

static void throttle_arm(struct listen *l)
{
	struct timeval tv = { 0, THROTTLE_POLL_MS * 1000 };

	if (event_add(l->ev_throttle, &tv))
		log_error("listen: cannot arm the throttle timer");
}

static void throttle_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;

	(void)fd;
	(void)what;
	throttle_account(l);
	if (!workers_flush(l->workers)) {
		throttle_arm(l);
		return;
	}
	l->throttled_since_us = 0;
	log_debug("workers caught up: reading notifications again");
	if (l->ev_read && !event_pending(l->ev_read, EV_READ, NULL)) {
		if (event_add(l->ev_read, NULL)) {
			log_error("listen: cannot watch the LISTEN socket again");
			return;
		}
		event_active(l->ev_read, EV_READ, 0);
	}
}

bool throttle_hold(struct listen *l)
{
	if (!l->ev_throttle) {
		l->ev_throttle = evtimer_new(l->base, throttle_on_timer, l);
		if (!l->ev_throttle)
			return false;	/* logged by nobody: then read on, as before */
	}
	if (l->throttled_since_us)
		return true;
	if (workers_flush(l->workers))
		return false;
	l->throttled_since_us = clock_mono_us();
	log_debug("workers behind: notifications wait in PostgreSQL's queue");
	if (l->ev_read)
		event_del(l->ev_read);
	throttle_arm(l);
	return true;
}

void throttle_stop(struct listen *l)
{
	if (!l->ev_throttle)
		return;
	throttle_account(l);
	l->throttled_since_us = 0;
	event_free(l->ev_throttle);
	l->ev_throttle = NULL;
}
