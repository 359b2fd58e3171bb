/*
 * listen.c — the LISTEN connection, start-up load, reconnect catch-up and
 * resync.  Loop thread.  The load itself is load.c's, the decoding of a
 * notification decode.c's, the fences fence.c's, a burst's way to the
 * workers dispatch.c's; this file owns the state
 * (listen_int.h).
 *
 * DESIGN
 *
 * Two connections of the loop's own: `lc` LISTENs on the market channel,
 * on leo_control and on its fence channel (see Counters) and is only ever
 * read (its socket is a libevent read event); `qc` runs the loop's queries
 * (loads, rule look-ups), blocking, on the loop.  They are short and indexed; nothing else on the loop waits on
 * them for long.
 *
 * Load.  After LISTEN, one REPEATABLE READ READ ONLY transaction on qc reads
 * pg_current_snapshot(), market_snapshot, leo_active_tenants() and, per
 * tenant (under its app.current_tenant_id, through a cursor, applied batch
 * by batch as they arrive: see load_rules in load.c), its ACTIVE rules.  A
 * notification whose transaction is visible in that snapshot is already in
 * what was loaded and is skipped; everything committed later arrives on lc,
 * because LISTEN came first.
 *   - start-up: snapshots are seeded, then rules loaded (a level rule that
 *     holds fires against the current price);
 *   - reconnect: a symbol whose price differs from the last one the loop
 *     passed on becomes one tick (so a crossing while away fires once),
 *     then rules are re-upserted (unchanged ones keep their state) and rules
 *     that are gone are removed;
 *   - resync (timer, SIGHUP): the same as a reconnect, then the expiry
 *     sweep.  It starts with a fence (see Counters) and loads where the
 *     fence arrives, when everything committed before it has been read: a
 *     load taken while a backlog waits on lc would skip that backlog and
 *     fold its changes into one (a crossing and its return never seen).  A
 *     fence the database refuses (its notification queue full) postpones
 *     the resync to the next timer.  It also heals what no notification can tell: PostgreSQL
 *     folds equal notifications of one transaction, so a price moved
 *     1 -> 2 -> 1 -> 2 in one transaction arrives as 1 -> 2 -> 1; the resync
 *     turns the stale 1 into one observed change to 2.  The new snapshot
 *     replaces the old as the filter: a notification still unread that the
 *     resync already covered is skipped, so no price ever goes backwards.
 *
 * Ordering.  Notifications are drained in bursts.  The rules named by rule
 * notifications of a burst are fetched (one pipeline, per tenant) before
 * any message of the burst goes to the workers; then ticks, rule upserts and
 * removals are pushed in notification order, i.e. commit order.  A rule
 * committed before a price change is therefore in the worker's table when
 * the tick arrives, even within one burst.
 *
 * Counters.  When another daemon claimed a firing first (writer.c asks for
 * a refetch), the rule's row may be ahead of this table's count; but the
 * row, read now, may also count that daemon's firings of price changes
 * still on their way to lc, and taking that count before those ticks would
 * number this table's firings of them past the other daemon's (one change,
 * two firings).  So the refetch reads the counters in a transaction that
 * ends with a fence: a notification on this daemon's own channel
 * (`fence_chan`, unguessable, carrying only a number).  Notifications
 * arrive in commit order, so where the fence arrives every change that
 * committed before the read has arrived too; the counters are taken there
 * (rules_catch_up), queued after those ticks.
 *
 * State (loop thread only unless said): `prices` the last price passed on
 * per symbol; `reg` (registry.c, ~50 bytes a rule) every rule sent to a
 * worker (rule id -> symbol, tenant, load generation), a superset of what
 * the workers hold, used to route removals and to find rules gone at a
 * reload; `tenants` the active tenants.
 * `rq` (guarded by rq_lock) holds re-fetch requests from writer threads.
 */
#include "listen.h"
#include "listen_int.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dispatch.h"
#include "fence.h"
#include "ids.h"
#include "load.h"
#include "log.h"
#include "alertd_metrics.h"
#include "payload.h"
#include "registry.h"
#include "throttle.h"

#define LISTEN_QUEUE_SAMPLE_S 5

/* --- state --------------------------------------------------------------- */

static void listen_set_ready(struct listen *l, bool ready)
{
	if (l->ready == ready)
		return;
	l->ready = ready;
	metrics_set(METRIC_READY, ready ? 1 : 0);
	if (l->ready_fn)
		l->ready_fn(l->ready_arg, ready);
}

const char *listen_errmsg(PGconn *c, const PGresult *r)
{
	static __thread char buf[512];
	const char *m = r ? PQresultErrorMessage(r) : "";
	size_t n;

	if (!m[0])
		m = PQerrorMessage(c);
	n = strlen(m);
	while (n && m[n - 1] == '\n')
		n--;
	snprintf(buf, sizeof(buf), "%.*s", (int)n, m);
	for (char *p = buf; *p; p++)	/* DETAIL and HINT lines: one log line */
		if (*p == '\n')
			*p = ' ';
	return buf;
}

/* Blocking exec on qc that must succeed with st; NULL (logged) otherwise. */
PGresult *listen_exec(struct listen *l, const char *sql, int n,
			     const char *const *params, ExecStatusType st)
{
	PGresult *r = PQexecParams(l->qc, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != st) {
		log_warn("database: %s", listen_errmsg(l->qc, r));
		PQclear(r);
		return NULL;
	}
	return r;
}

/* --- rules rows -> workers ------------------------------------------------ */

void listen_remove_rule(struct listen *l, const char *rule_id,
			       const char *symbol_hint)
{
	const char *sym = registry_symbol(l->reg, rule_id);

	if (sym) {
		workers_remove(l->workers, sym, rule_id);
		registry_del(l->reg, rule_id);
	} else if (symbol_hint && symbol_hint[0]) {
		workers_remove(l->workers, symbol_hint, rule_id);
	}
}

/* --- qc pipelines (load.c streams its own) ------------------------------ */

/* Drain qc's pipeline to its (one, sent) sync, whatever happened, and leave
 * pipeline mode.  Returns rc, or -1 when that failed. */
int listen_pipe_end(struct listen *l, int rc)
{
	while (PQstatus(l->qc) == CONNECTION_OK) {
		PGresult *r = PQgetResult(l->qc);
		bool sync;

		if (!r)
			continue;
		sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
	if (PQstatus(l->qc) != CONNECTION_OK || !PQexitPipelineMode(l->qc))
		rc = -1;
	return rc;
}

/*
 * Send, on qc in pipeline mode, set_config + query for each tenant; results
 * land in res[i] (one per tenant; NULL on failure).  Returns 0 or -1.
 */
int listen_per_tenant(struct listen *l, char *const *tenants, size_t n,
			     const char *sql, const char *const *arrays, PGresult **res)
{
	int rc = 0;

	if (!PQenterPipelineMode(l->qc))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p1[1] = { tenants[i] };
		const char *p2[1] = { arrays ? arrays[i] : NULL };

		if (!PQsendQueryParams(l->qc,
				       "SELECT set_config('app.current_tenant_id', $1, true)",
				       1, NULL, p1, NULL, NULL, 0) ||
		    !PQsendQueryParams(l->qc, sql, arrays ? 1 : 0, NULL, p2, NULL, NULL, 0)) {
			rc = -1;
			break;
		}
	}
	if (!PQpipelineSync(l->qc))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		for (int q = 0; q < 2; q++) {
			PGresult *r;

			while ((r = PQgetResult(l->qc)) != NULL) {
				ExecStatusType st = PQresultStatus(r);

				if (st == PGRES_FATAL_ERROR) {
					log_warn("database: %s", listen_errmsg(l->qc, r));
					rc = -1;
				} else if (st == PGRES_PIPELINE_ABORTED) {
					rc = -1;
				}
				if (q == 1 && st == PGRES_TUPLES_OK && !res[i]) {
					res[i] = r;
				} else {
					PQclear(r);
				}
			}
			if (PQstatus(l->qc) != CONNECTION_OK) {
				rc = -1;
				break;
			}
		}
	}
	return listen_pipe_end(l, rc);
}

void listen_clear_results(PGresult **res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		PQclear(res[i]);
}

/* --- connection life cycle ---------------------------------------------- */

static void listen_on_read(evutil_socket_t fd, short what, void *arg);

static void listen_teardown(struct listen *l)
{
	if (l->ev_read) {
		event_free(l->ev_read);
		l->ev_read = NULL;
	}
	throttle_stop(l);
	PQfinish(l->lc);
	PQfinish(l->qc);
	l->lc = l->qc = NULL;
	fence_drop_all(l);
	listen_set_ready(l, false);
}

static void listen_schedule_connect(struct listen *l)
{
	int ms = l->attempt ? pool_backoff_ms(l->attempt - 1) : 0;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	l->attempt++;
	event_add(l->ev_connect, &tv);
}

/* The database went away under us: close both, retry with backoff. */
static void listen_lost(struct listen *l, const char *what)
{
	if (l->stopped)
		return;
	log_warn("database connection lost (%s); reconnecting", what);
	listen_teardown(l);
	listen_schedule_connect(l);
}

static int listen_do_listen(struct listen *l)
{
	char *ident = PQescapeIdentifier(l->lc, l->market_channel,
					 strlen(l->market_channel));
	char sql[256];
	PGresult *r;
	int rc = -1;

	if (!ident)
		return -1;
	snprintf(sql, sizeof(sql), "LISTEN %s; LISTEN " DECODE_CONTROL "; LISTEN %s", ident,
		 l->fence_chan);
	PQfreemem(ident);
	r = PQexec(l->lc, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = 0;
	else
		log_warn("LISTEN: %s", listen_errmsg(l->lc, r));
	PQclear(r);
	return rc;
}

static void listen_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;
	enum load_mode mode = l->loaded_once ? LOAD_RECONNECT : LOAD_RESTART;

	(void)fd;
	(void)what;
	if (l->stopped)
		return;
	if (l->loaded_once || l->attempt > 1)
		metrics_add(METRIC_DB_RECONNECTS, 1);
	l->lc = pool_connect(l->pool);
	l->qc = l->lc ? pool_connect(l->pool) : NULL;
	if (!l->qc || listen_do_listen(l) || PQsetnonblocking(l->lc, 1) ||
	    load_run(l, mode)) {
		listen_teardown(l);
		listen_schedule_connect(l);
		return;
	}
	l->ev_read = event_new(l->base, PQsocket(l->lc), EV_READ | EV_PERSIST,
			       listen_on_read, l);
	if (!l->ev_read || event_add(l->ev_read, NULL)) {
		log_error("listen: cannot watch the LISTEN socket");
		listen_teardown(l);
		listen_schedule_connect(l);
		return;
	}
	l->attempt = 0;
	l->loaded_once = true;
	listen_set_ready(l, true);
	/* anything that came in while loading is already waiting */
	event_active(l->ev_read, EV_READ, 0);
}

/* --- bursts ------------------------------------------------------------- */

static void listen_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;
	struct decode_burst b = { 0 };
	PGnotify *n;

	(void)fd;
	(void)what;
	if (throttle_hold(l))
		return;		/* the workers are behind: PostgreSQL keeps the rest */
	if (!PQconsumeInput(l->lc)) {
		listen_lost(l, listen_errmsg(l->lc, NULL));
		return;
	}
	b.recv_us = clock_wall_us();
	while ((n = PQnotifies(l->lc)) != NULL) {
		(void)decode_notify(&l->dec, n->relname, n->extra, &b);
		PQfreemem(n);
	}
	if (b.n && dispatch_burst(l, &b))
		listen_lost(l, "rule look-up failed");
	else if (l->ev_read)
		(void)throttle_hold(l);
	free(b.items);
}

/* --- timers and requests -------------------------------------------------- */

/* Resync, step one: the fence (see Load). */
static void listen_on_resync(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;

	(void)fd;
	(void)what;
	if (!l->ready)
		return;
	if (fence_resync(l))
		listen_lost(l, "resync fence failed");
}

/* Resync, step two: its fence arrived. */
static void listen_on_resync_go(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;

	(void)fd;
	(void)what;
	if (!l->ready)
		return;
	if (load_run(l, LOAD_RESYNC)) {
		listen_lost(l, "resync failed");
		return;
	}
	workers_sweep(l->workers);
}

static void listen_on_sample(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;
	PGresult *r;

	(void)fd;
	(void)what;
	if (!l->ready)
		return;
	r = listen_exec(l, "SELECT pg_notification_queue_usage()", 0, NULL, PGRES_TUPLES_OK);
	if (!r) {
		listen_lost(l, "queue usage query failed");
		return;
	}
	metrics_set(METRIC_PG_QUEUE_USAGE, strtod(PQgetvalue(r, 0, 0), NULL));
	PQclear(r);
}

static void listen_req_push(struct listen *l, const char *tenant_id, const char *rule_id);

static void listen_on_refetch(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;
	struct listen_req *rq;
	size_t n;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&l->rq_lock);
	rq = l->rq;
	n = l->rq_n;
	l->rq = NULL;
	l->rq_n = l->rq_cap = 0;
	pthread_mutex_unlock(&l->rq_lock);
	/* not connected: the next failed claim asks again */
	if (n && l->ready && fence_counters(l, rq, n)) {
		if (PQstatus(l->qc) != CONNECTION_OK) {
			listen_lost(l, "rule counter look-up failed");
		} else {
			/*
			 * Refused (the notification queue full): a reconnect
			 * would lose what waits on lc; ask again in a second.
			 */
			struct timeval again = { 1, 0 };

			for (size_t i = 0; i < n; i++)
				listen_req_push(l, rq[i].tenant, rq[i].rule);
			event_add(l->ev_refetch, &again);
		}
	}
	free(rq);
}

/* Queue one counter read (any thread). */
static void listen_req_push(struct listen *l, const char *tenant_id, const char *rule_id)
{
	pthread_mutex_lock(&l->rq_lock);
	if (l->rq_n == l->rq_cap) {
		size_t ncap = l->rq_cap ? l->rq_cap * 2 : 64;
		struct listen_req *nr = realloc(l->rq, ncap * sizeof(*nr));

		if (!nr) {
			/* the next failed claim asks again */
			pthread_mutex_unlock(&l->rq_lock);
			return;
		}
		l->rq = nr;
		l->rq_cap = ncap;
	}
	snprintf(l->rq[l->rq_n].tenant, sizeof(l->rq[0].tenant), "%s", tenant_id);
	snprintf(l->rq[l->rq_n].rule, sizeof(l->rq[0].rule), "%s", rule_id);
	l->rq_n++;
	pthread_mutex_unlock(&l->rq_lock);
}

void listen_refetch(struct listen *l, const char *tenant_id, const char *rule_id)
{
	listen_req_push(l, tenant_id, rule_id);
	event_active(l->ev_refetch, EV_READ, 0);
}

/* --- life cycle ------------------------------------------------------------- */

struct listen *listen_new(struct event_base *base, struct pool *pool,
			  struct workers *workers, const char *market_channel,
			  int resync_interval_s, listen_ready_fn ready, void *ready_arg)
{
	struct listen *l = calloc(1, sizeof(*l));
	uint8_t rnd[8];

	if (!l)
		return NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->rq_lock, NULL);
	snprintf(l->fence_chan, sizeof(l->fence_chan), "leo_fence_%02x%02x%02x%02x%02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	l->base = base;
	l->pool = pool;
	l->workers = workers;
	l->resync_s = resync_interval_s > 0 ? resync_interval_s : 60;
	l->ready_fn = ready;
	l->ready_arg = ready_arg;
	l->market_channel = strdup(market_channel);
	l->dec.market_channel = l->market_channel;
	l->dec.fence_chan = l->fence_chan;
	l->ev_connect = evtimer_new(base, listen_on_connect, l);
	l->ev_resync = event_new(base, -1, EV_PERSIST, listen_on_resync, l);
	l->ev_resync_go = event_new(base, -1, 0, listen_on_resync_go, l);
	l->ev_sample = event_new(base, -1, EV_PERSIST, listen_on_sample, l);
	l->ev_refetch = event_new(base, -1, 0, listen_on_refetch, l);
	l->reg = registry_new();
	if (!l->market_channel || !l->reg || !l->ev_connect || !l->ev_resync ||
	    !l->ev_resync_go || !l->ev_sample || !l->ev_refetch) {
		listen_free(l);
		return NULL;
	}
	return l;
}

int listen_start(struct listen *l)
{
	struct timeval rs = { l->resync_s, 0 }, qs = { LISTEN_QUEUE_SAMPLE_S, 0 };

	if (event_add(l->ev_resync, &rs) || event_add(l->ev_sample, &qs))
		return -1;
	listen_schedule_connect(l);
	return 0;
}

void listen_reload(struct listen *l, int resync_interval_s)
{
	struct timeval rs;

	if (resync_interval_s > 0 && resync_interval_s != l->resync_s) {
		l->resync_s = resync_interval_s;
		rs = (struct timeval){ l->resync_s, 0 };
		event_del(l->ev_resync);
		if (event_add(l->ev_resync, &rs))
			log_error("listen: cannot re-arm the resync timer");
	}
	listen_on_resync(-1, 0, l);
}

void listen_stop(struct listen *l)
{
	if (!l)
		return;
	l->stopped = true;
	event_del(l->ev_connect);
	event_del(l->ev_resync);
	event_del(l->ev_resync_go);
	event_del(l->ev_sample);
	event_del(l->ev_refetch);
	listen_teardown(l);
}

void listen_free(struct listen *l)
{
	if (!l)
		return;
	listen_stop(l);
	if (l->ev_connect)
		event_free(l->ev_connect);
	if (l->ev_resync)
		event_free(l->ev_resync);
	if (l->ev_resync_go)
		event_free(l->ev_resync_go);
	if (l->ev_sample)
		event_free(l->ev_sample);
	if (l->ev_refetch)
		event_free(l->ev_refetch);
	decode_free(&l->dec);
	listen_map_clear(&l->prices);
	registry_free(l->reg);
	listen_map_clear(&l->tenants);
	free(l->rq);
	free(l->market_channel);
	pthread_mutex_destroy(&l->rq_lock);
	free(l);
}
