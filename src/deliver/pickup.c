/*
 * pickup.c — LISTEN leo_delivery for the sender.  Loop thread.
 *
 * leo-alertd sends NOTIFY leo_delivery '<tenant> <delivery_id>' after each
 * commit that queued deliveries.  Each notification kicks the sender for
 * that tenant; the payload's id is not trusted for more than a hint (the
 * claim finds the due rows itself).  On a lost connection the sender is
 * left to its poll timer while this reconnects with pool_backoff_ms; once
 * listening again, every tenant is scanned, since notifications sent in
 * between are gone.
 */
#include "pickup.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_metrics.h"
#include "ids.h"
#include "log.h"
#include "pool.h"
#include "sender.h"

struct pickup {
	struct event_base *base;
	struct pool *pool;
	struct sender *sender;
	PGconn *conn;
	struct event *ev_read;		/* on conn's socket */
	struct event *ev_retry;		/* reconnect timer */
	int failures;
	bool ever;
};

static void pickup_retry(struct pickup *p);

static void pickup_drop(struct pickup *p)
{
	if (p->ev_read)
		event_free(p->ev_read);
	p->ev_read = NULL;
	if (p->conn)
		PQfinish(p->conn);
	p->conn = NULL;
}

static void pickup_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct pickup *p = arg;
	PGnotify *n;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(p->conn)) {
		log_warn("leo_delivery connection lost: %s", PQerrorMessage(p->conn));
		pickup_drop(p);
		pickup_retry(p);
		return;
	}
	while ((n = PQnotifies(p->conn)) != NULL) {
		char tenant[TENANT_ID_SIZE];
		size_t len = strcspn(n->extra, " ");

		if (len == TENANT_ID_SIZE - 1) {
			memcpy(tenant, n->extra, len);
			tenant[len] = '\0';
			sender_kick(p->sender, tenant);
		} else {
			log_warn("leo_delivery: malformed payload ignored (%zu bytes); scanning every tenant",
				 strlen(n->extra));
			sender_kick(p->sender, NULL);
		}
		PQfreemem(n);
	}
}

/* Connect and LISTEN; on failure schedule the next try. */
static void pickup_connect(struct pickup *p)
{
	PGresult *r;

	p->conn = pool_connect(p->pool);
	if (!p->conn)
		goto fail;
	r = PQexec(p->conn, "LISTEN leo_delivery");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("LISTEN leo_delivery: %s", PQresultErrorMessage(r));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (PQsetnonblocking(p->conn, 1))
		goto fail;
	p->ev_read = event_new(p->base, PQsocket(p->conn), EV_READ | EV_PERSIST, pickup_on_read, p);
	if (!p->ev_read || event_add(p->ev_read, NULL))
		goto fail;
	if (p->ever)
		deliver_metrics_db_reconnect();
	if (p->failures)
		log_info("listening on leo_delivery again");
	p->ever = true;
	p->failures = 0;
	sender_scan(p->sender);	/* whatever was queued while we were not listening */
	return;
fail:
	pickup_drop(p);
	pickup_retry(p);
}

static void pickup_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pickup_connect(arg);
}

static void pickup_retry(struct pickup *p)
{
	int ms = pool_backoff_ms(p->failures++);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(p->ev_retry, &tv);
}

struct pickup *pickup_new(struct event_base *base, struct pool *pool, struct sender *s)
{
	struct pickup *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base = base;
	p->pool = pool;
	p->sender = s;
	p->ev_retry = evtimer_new(base, pickup_on_retry, p);
	if (!p->ev_retry) {
		free(p);
		return NULL;
	}
	return p;
}

void pickup_start(struct pickup *p)
{
	pickup_connect(p);
}

void pickup_free(struct pickup *p)
{
	if (!p)
		return;
	pickup_drop(p);
	event_free(p->ev_retry);
	free(p);
}
