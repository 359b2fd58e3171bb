/*
 * writer.c — batches of firings written to PostgreSQL, per tenant.
 *
 * DESIGN
 *
 * Writer threads (one per pooled connection) each own a bounded queue.  An
 * event goes to the thread its tenant hashes to, so the firings of one rule
 * reach the database in the order the rule made them (firing seq n+1 is only
 * claimed after firing n committed), and a tenant's firings gather into one
 * batch rather than one per thread: a transaction costs a fixed share of
 * CPU (its tenant guard, its commit) that small batches paid per firing.
 * The price: one tenant's writes go through one connection.
 *
 * A thread gathers events into one batch per tenant and writes its batches
 * as soon as it has them (natural batching, writer.batch_max_delay_ms 0,
 * the default): a lone firing goes out at once, and while a write is in
 * flight the next firings gather in the queue, so light load gets the
 * lowest latency and heavy load the largest batches, with no timer.  The
 * commits stay out of the feed's way because they do not notify (wsql.c
 * announces the deliveries after the commit, in a transaction that waits
 * for no WAL flush): a notifying commit holds PostgreSQL's one notification
 * lock through its flush, and the feed's price changes all notify.
 * With a delay N > 0, a thread that wrote within the last N ms waits until
 * then, and a batch's oldest firing N ms at most, unless nothing more is
 * coming: its queue is empty and no tick is
 * still being evaluated (`inflight`, counted by the workers through
 * writer_flight: +1 when a tick is queued, -1 once its firings are all
 * pushed).  Bounds either way: a batch is written when it holds
 * writer.batch_max_rows events, and everything at shutdown.  A
 * second firing of a rule already in the batch (one UPDATE can claim a row
 * once) waits in the batch's `later` list and joins the next transaction,
 * after the first committed.
 *
 * A batch is ONE transaction under its one tenant (the schema refuses a
 * daemon transaction that writes two tenants' rows): wsql.c sends it, the
 * schema's leo_write_firings() does the work.  batch.c keeps the batches
 * and retries or bisects a failed write.
 *
 * Exactly once: the claim and the inserts commit together, and the claim
 * only matches while trigger_count is seq - 1; a retried or duplicated
 * firing matches nothing.  The claim does not look at status: a rule paused
 * or expired after the price change that fired it committed still gets
 * that firing (it was evaluated against a change it was there for).  A rule
 * deleted in that window has no row to claim or read the profile from: its
 * firing gets an agent_task row saying so (reason rule_deleted), keyed
 * like any other, and no delivery.  Row-level security holds because every
 * statement runs under the batch's tenant.
 *
 * Failures: a lost connection, a serialization failure, an admin shutdown
 * or a COMMIT refused because PostgreSQL's notification queue is full is
 * retried (on a fresh connection when it went) with backoff, without limit
 * while the daemon runs.  Any other error means some row can never be written: the
 * batch is bisected until the bad firing is alone, which is logged with its
 * reason and dropped, so it never blocks the others.
 *
 * Announcements: a batch's deliveries are announced right after its commit;
 * an announcement refused (a full notification queue, a lost connection)
 * stays with the thread's connection state and is tried again with backoff,
 * and at stop a few times more.
 *
 * Checkpoints (ckpt.c): every event a batch is done with (committed, or
 * dropped for good) is reported with ckpt_done, and the checkpoints that
 * advanced ride in the next transaction (wsql.c).  When no batch comes,
 * thread 0, which then looks every WRITER_CKPT_MS, writes them alone.
 *
 * Ownership: each thread owns its batches and connection; its queue (core's
 * bq.h) guards itself.  `rows`/`delay_ms` are atomics set by the loop.
 * Wake-up when the last tick in flight is done: a thread about to wait
 * with batches pending sets `idle_wait`, then reads `inflight`;
 * writer_flight decrements `inflight`, then reads `idle_wait` and kicks the
 * queue (bq_kick, which a later wait still sees).  Either the thread sees
 * zero or its wait ends.
 */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "bq.h"
#include "ckpt.h"
#include "clock.h"
#include "fnv.h"
#include "ids.h"
#include "log.h"
#include "pool.h"
#include "wsql.h"
#include "alertd_metrics.h"

/* Events taken off the queue per wake-up, at most. */
#define WRITER_POP_MAX 4096

/* A checkpoint-only transaction at most this often. */
#define WRITER_CKPT_MS 100

struct writer_thread {
	struct writer *w;
	int index;
	pthread_t thread;
	struct wsql_conn wc;		/* thread only: its connection, checked out */
	struct batch_ops ops;		/* writer_exec, writer_retry on this thread */

	struct bq q;			/* of struct batch_ev; closed by writer_stop */
	bool q_ok;			/* q initialised */
	atomic_bool idle_wait;		/* waiting with batches pending */
	size_t lcap;			/* thread only: events popped per wake-up */
	struct batch_ev *local;

	struct batch_set set;		/* thread only */
	int64_t last_ms;		/* thread only: monotonic, its last write */
	int64_t ann_next_ms;		/* thread only: when to announce again */
	int ann_attempt;		/* thread only: announcements failed in a row */
	size_t ann_counted;		/* thread only: its share of w->unannounced */
};

struct writer {
	struct pool *pool;
	int n;
	atomic_int rows, delay_ms;
	atomic_uint_fast64_t waiting;
	atomic_long inflight;		/* ticks still being evaluated */
	atomic_long unannounced;	/* the threads' wc.unannounced, summed */
	struct ckpt *ckpt;		/* may be NULL; not owned */
	struct writer_thread *t;
};

static void writer_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The deliveries waiting for an announcement, all threads: a gauge. */
static void writer_count_unannounced(struct writer_thread *t)
{
	long d = (long)t->wc.unannounced - (long)t->ann_counted;

	if (!d)
		return;
	t->ann_counted = t->wc.unannounced;
	metrics_set(METRIC_UNANNOUNCED, (double)(atomic_fetch_add(&t->w->unannounced, d) + d));
}

/* batch_ops.exec: one transaction on the thread's connection. */
static enum batch_result writer_exec(void *arg, const char *tenant, const struct batch_ev *evs,
				     size_t n, char **err)
{
	struct writer_thread *t = arg;
	enum batch_result r;

	if (!t->wc.conn) {
		t->wc.conn = pool_get(t->w->pool);
		t->wc.prepared = false;
	}
	if (!t->wc.conn)
		return BATCH_RETRY;
	r = wsql_write(&t->wc, tenant, evs, n, err);
	writer_count_unannounced(t);
	return r;
}

/* batch_ops.done: the symbols' checkpoints may move past these events. */
static void writer_done(void *arg, const struct batch_ev *evs, size_t n)
{
	struct writer_thread *t = arg;

	if (!t->w->ckpt)
		return;
	for (size_t i = 0; i < n; i++)
		ckpt_done(t->w->ckpt, evs[i].ev.symbol, 1);
}

/* Thread 0, nothing pending: write the checkpoints that advanced, alone. */
static void writer_checkpoint(struct writer_thread *t)
{
	char *err = NULL;

	if (!t->wc.conn) {
		t->wc.conn = pool_get(t->w->pool);
		t->wc.prepared = false;
	}
	if (t->wc.conn && wsql_checkpoint(&t->wc, &err) != BATCH_OK) {
		log_warn("writer: checkpoints not written, retrying later: %s",
			 err ? err : "no connection");
		if (PQstatus(t->wc.conn) != CONNECTION_OK) {
			pool_put(t->w->pool, t->wc.conn, true);
			t->wc.conn = NULL;
		}
	}
	free(err);
}

/*
 * Deliveries committed but not announced (the announcement after their
 * commit failed): try again, with backoff between failures.
 */
static void writer_announce(struct writer_thread *t)
{
	char *err = NULL;
	size_t n = t->wc.unannounced;

	if (!t->wc.conn) {
		t->wc.conn = pool_get(t->w->pool);
		t->wc.prepared = false;
	}
	if (wsql_announce(&t->wc, &err) == BATCH_OK) {
		log_info("writer: %zu deliveries announced on leo_delivery after %d retries", n,
			 t->ann_attempt + 1);
		t->ann_attempt = 0;
	} else {
		log_debug("writer: %zu deliveries still not announced: %s", n,
			  err ? err : "no connection");
		if (t->wc.conn && PQstatus(t->wc.conn) != CONNECTION_OK) {
			pool_put(t->w->pool, t->wc.conn, true);
			t->wc.conn = NULL;
		}
		t->ann_next_ms = clock_mono_ms() + pool_backoff_ms(t->ann_attempt++);
	}
	writer_count_unannounced(t);
	free(err);
}

/*
 * batch_ops.retry: a lost connection goes back to the pool broken; wait
 * with backoff.  Without limit while the daemon runs; at shutdown, ten
 * attempts.
 */
static bool writer_retry(void *arg, int attempt)
{
	struct writer_thread *t = arg;

	if (t->wc.conn && PQstatus(t->wc.conn) != CONNECTION_OK) {
		pool_put(t->w->pool, t->wc.conn, true);
		t->wc.conn = NULL;
		t->wc.prepared = false;
	}
	if (bq_closed(&t->q) && attempt >= 10)
		return false;
	writer_sleep_ms(pool_backoff_ms(attempt));
	return true;
}

static void *writer_main(void *arg)
{
	struct writer_thread *t = arg;
	struct writer *w = t->w;
	size_t lcap = t->lcap;
	struct batch_ev *local = t->local;
	char name[32];

	snprintf(name, sizeof(name), "writer-%d", t->index);
	log_thread_name(name);
	for (;;) {
		size_t n;
		bool stopping, idle, due;
		int64_t deadline, taken_us, now = clock_mono_ms();
		int delay = atomic_load(&w->delay_ms), timeout = -1;
		bool ckpt_poll = t->index == 0 && w->ckpt;

		t->set.rows = atomic_load(&w->rows);
		deadline = batch_deadline(&t->set, delay);
		/*
		 * idle_wait before inflight; writer_flight the other way round
		 * (both sequentially consistent): either this thread sees the
		 * last tick done, or writer_flight sees it waiting and kicks.
		 */
		atomic_store(&t->idle_wait, deadline >= 0);
		if (deadline >= 0) {
			int64_t until = t->last_ms + delay > now && t->last_ms + delay < deadline
						? t->last_ms + delay : deadline;

			if (atomic_load(&w->inflight) <= 0 && now >= t->last_ms + delay)
				timeout = 0;	/* nothing more is coming: write now */
			else
				timeout = until > now ? (int)(until - now) : 0;
		} else if (ckpt_poll) {
			timeout = WRITER_CKPT_MS;	/* a look at the checkpoints */
		}
		if (t->wc.unannounced) {
			int64_t wait = t->ann_next_ms > now ? t->ann_next_ms - now : 0;

			if (timeout < 0 || wait < timeout)
				timeout = (int)wait;
		}
		n = bq_pop(&t->q, local, lcap, timeout);
		atomic_store(&t->idle_wait, false);
		stopping = bq_drained(&t->q);
		metrics_set(METRIC_QUEUE_WRITER, (double)(atomic_fetch_sub(&w->waiting, n) - n));

		taken_us = n ? clock_wall_us() : 0;
		for (size_t i = 0; i < n; i++) {
			local[i].taken_us = taken_us;
			batch_add(&t->set, &local[i]);
		}
		if (t->wc.unannounced && clock_mono_ms() >= t->ann_next_ms)
			writer_announce(t);
		if (!batch_pending(&t->set) && !stopping) {
			now = clock_mono_ms();
			if (ckpt_poll && now >= t->last_ms + WRITER_CKPT_MS &&
			    ckpt_dirty(w->ckpt)) {
				writer_checkpoint(t);
				t->last_ms = clock_mono_ms();
			}
			continue;
		}
		/*
		 * inflight before the queue: at zero, every firing of the ticks
		 * evaluated so far has been pushed, so an empty queue then means
		 * nothing more is coming for these batches.
		 */
		idle = atomic_load(&w->inflight) <= 0 && bq_len(&t->q) == 0;
		now = clock_mono_ms();
		deadline = batch_deadline(&t->set, delay);
		due = stopping || (idle && now >= t->last_ms + delay) ||
		      (deadline >= 0 && now >= deadline);
		/* at shutdown, until `later` is empty too */
		while (due && batch_pending(&t->set)) {
			batch_flush_all(&t->set);
			t->last_ms = clock_mono_ms();
			due = stopping;
		}
		if (stopping)
			break;
	}
	if (t->index == 0 && w->ckpt)
		writer_checkpoint(t);	/* at stop: what is done so far; others may lag */
	for (int i = 0; i < 3 && t->wc.unannounced; i++) {
		if (i)
			writer_sleep_ms(pool_backoff_ms(i - 1));
		writer_announce(t);
	}
	if (t->wc.unannounced)
		log_warn("writer: %zu deliveries committed but not announced at stop; senders"
			 " find them by their poll", t->wc.unannounced);
	if (t->wc.conn)
		pool_put(w->pool, t->wc.conn, false);
	t->wc.conn = NULL;
	return NULL;
}

void writer_flight(struct writer *w, int delta)
{
	if (atomic_fetch_add(&w->inflight, delta) + delta > 0)
		return;
	for (int i = 0; i < w->n; i++) {
		struct writer_thread *t = &w->t[i];

		if (atomic_load(&t->idle_wait))
			bq_kick(&t->q);
	}
}

void writer_push(struct writer *w, const struct rules_event *ev, int64_t recv_us)
{
	struct writer_thread *t = &w->t[fnv_str(ev->tenant_id) % (uint32_t)w->n];

	struct batch_ev e = { *ev, recv_us, clock_wall_us(), 0 };

	/* counted up before the push, so the gauge never goes below zero */
	metrics_set(METRIC_QUEUE_WRITER, (double)(atomic_fetch_add(&w->waiting, 1) + 1));
	if (bq_push(&t->q, &e) == 0)
		return;
	atomic_fetch_sub(&w->waiting, 1);
	log_error("rule %s firing %lld (tenant %s): not written, the writer has stopped",
		  ev->rule_id, (long long)ev->seq, ev->tenant_id);
}

void writer_set_limits(struct writer *w, int batch_max_rows, int batch_max_delay_ms)
{
	atomic_store(&w->rows, batch_max_rows > 0 ? batch_max_rows : 1);
	atomic_store(&w->delay_ms, batch_max_delay_ms >= 0 ? batch_max_delay_ms : 0);
}

static void writer_free_thread(struct writer_thread *t)
{
	wsql_conn_free(&t->wc);
	batch_free(&t->set);
	free(t->local);
	if (t->q_ok)
		bq_destroy(&t->q);
}

struct writer *writer_start(struct pool *pool, int nthreads, int queue_capacity,
			    int batch_max_rows, int batch_max_delay_ms,
			    writer_refetch_fn refetch, void *refetch_arg, struct ckpt *ckpt)
{
	struct writer *w = calloc(1, sizeof(*w));
	int started = 0;

	if (!w)
		return NULL;
	w->pool = pool;
	w->ckpt = ckpt;
	w->n = nthreads > 0 ? nthreads : 1;
	writer_set_limits(w, batch_max_rows, batch_max_delay_ms);
	w->t = calloc((size_t)w->n, sizeof(*w->t));
	if (!w->t)
		goto fail;
	for (int i = 0; i < w->n; i++) {
		struct writer_thread *t = &w->t[i];

		size_t cap = queue_capacity > 0 ? (size_t)queue_capacity : 1024;

		t->w = w;
		t->index = i;
		t->wc.refetch = refetch;
		t->wc.refetch_arg = refetch_arg;
		t->wc.ckpt = ckpt;
		t->ops = (struct batch_ops){ writer_exec, writer_retry, t, writer_done };
		t->set.ops = &t->ops;
		t->q_ok = bq_init(&t->q, cap, sizeof(struct batch_ev)) == 0;
		t->lcap = cap < WRITER_POP_MAX ? cap : WRITER_POP_MAX;
		t->local = calloc(t->lcap, sizeof(*t->local));
		if (!t->q_ok || !t->local)
			goto fail;
	}
	for (; started < w->n; started++)
		if (pthread_create(&w->t[started].thread, NULL, writer_main, &w->t[started]))
			goto fail;
	return w;
fail:
	log_error("writer: cannot start");
	if (w->t) {
		for (int i = 0; i < started; i++) {
			bq_close(&w->t[i].q);
			pthread_join(w->t[i].thread, NULL);
		}
		for (int i = 0; i < w->n; i++)
			writer_free_thread(&w->t[i]);
		free(w->t);
	}
	free(w);
	return NULL;
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		bq_close(&w->t[i].q);
	for (int i = 0; i < w->n; i++) {
		pthread_join(w->t[i].thread, NULL);
		writer_free_thread(&w->t[i]);
	}
	free(w->t);
	free(w);
}
