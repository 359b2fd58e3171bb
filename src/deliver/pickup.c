/*
 * pickup.c — LISTEN leo_delivery (pickup.h).  Loop thread.
 *
 * A notification's payload ("tenant delivery_id") is not needed: the pass
 * it wakes claims whatever is due, so a burst of notifications is one
 * wake-up (sender_wake coalesces) and a lost one costs at most the poll
 * interval.
 */
#include "pickup.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include "deliver_metrics.h"
#include "log.h"
#include "pool.h"

struct pickup {
	struct event_base *base;
	struct pool *pool;
	pickup_wake_fn *wake;
	void *arg;
	PGconn *conn;
	struct event *ev_read;
	struct event *ev_retry;
	int failures;
};

static void pickup_connect(struct pickup *p);

static void pickup_drop(struct pickup *p, const char *why)
{
	int ms = pool_backoff_ms(p->failures++);

	if (p->failures == 1)
		log_warn("pickup: %s; reconnecting", why);
	if (p->ev_read) {
		event_free(p->ev_read);
		p->ev_read = NULL;
	}
	if (p->conn) {
		PQfinish(p->conn);
		p->conn = NULL;
	}
	deliver_metrics_db_reconnect();
	event_add(p->ev_retry, &(struct timeval){ ms / 1000, (ms % 1000) * 1000 });
}

static void pickup_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct pickup *p = arg;
	PGnotify *n;
	int got = 0;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(p->conn)) {
		pickup_drop(p, PQerrorMessage(p->conn));
		return;
	}
	while ((n = PQnotifies(p->conn))) {
		got++;
		PQfreemem(n);
	}
	if (got)
		p->wake(p->arg);
}

static void pickup_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pickup_connect(arg);
}

static void pickup_connect(struct pickup *p)
{
	PGresult *r;

	p->conn = pool_connect(p->pool);
	if (!p->conn) {
		pickup_drop(p, "cannot connect");
		return;
	}
	r = PQexec(p->conn, "LISTEN leo_delivery");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		pickup_drop(p, PQerrorMessage(p->conn));
		return;
	}
	PQclear(r);
	p->ev_read = event_new(p->base, PQsocket(p->conn), EV_READ | EV_PERSIST, pickup_on_read, p);
	if (!p->ev_read || event_add(p->ev_read, NULL)) {
		pickup_drop(p, "cannot watch the connection");
		return;
	}
	if (p->failures)
		log_info("pickup: listening again");
	p->failures = 0;
	p->wake(p->arg);	/* what was queued meanwhile */
}

struct pickup *pickup_new(struct event_base *base, struct pool *pool, pickup_wake_fn *wake,
			  void *arg)
{
	struct pickup *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	*p = (struct pickup){ .base = base, .pool = pool, .wake = wake, .arg = arg };
	p->ev_retry = event_new(base, -1, 0, pickup_on_retry, p);
	if (!p->ev_retry) {
		free(p);
		return NULL;
	}
	pickup_connect(p);
	return p;
}

bool pickup_up(const struct pickup *p)
{
	return p->conn != NULL;
}

void pickup_free(struct pickup *p)
{
	if (!p)
		return;
	if (p->ev_read)
		event_free(p->ev_read);
	event_free(p->ev_retry);
	if (p->conn)
		PQfinish(p->conn);
	free(p);
}
