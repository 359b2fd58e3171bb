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
 * as soon as nothing more is coming right now (group commit): its queue is
 * empty and no tick is still being evaluated (`inflight`, counted by the
 * workers through writer_flight: +1 when a tick is queued, -1 once its
 * firings are all pushed) — provided the thread has not written within the
 * last writer.batch_max_delay_ms.  A lone firing is thus written at once,
 * while under load each thread writes at most once per delay: every commit
 * that delivers takes PostgreSQL's notification lock through its WAL flush,
 * as the feed's own commits must, and a commit after every tick starved
 * the feed.  Two bounds: a batch is written when it holds
 * writer.batch_max_rows events, and when its oldest event has waited
 * writer.batch_max_delay_ms; and everything at shutdown.  A
 * second firing of a rule already in the batch (one UPDATE can claim a row
 * once) waits in the batch's `later` list and joins the next transaction,
 * after the first committed.
 *
 * A batch is ONE transaction under its one tenant (the schema refuses a
 * daemon transaction that writes two tenants' rows), sent as one pipeline
 * (one round trip):
 *
 *	BEGIN
 *	SELECT set_config('app.current_tenant_id', tenant, true),
 *	       set_config('leo.writer', 'on', true),
 *	       set_config('plan_cache_mode', 'force_generic_plan', true)
 *	WITH f AS (unnest of the firings), claimed AS (UPDATE alert_rules ...
 *	     WHERE trigger_count = seq - 1 RETURNING ...),
 *	     c AS (claimed LEFT JOIN consent_management, newest news item),
 *	     d AS (INSERT INTO delivery_log ... WHERE consent holds ... pg_notify),
 *	     t AS (INSERT INTO agent_task ...),
 *	     g AS (INSERT INTO agent_task ... for firings whose rule is gone)
 *	SELECT per-firing outcome
 *	UPDATE alert_rules SET status = 'EXPIRED' ...	(when the batch has expiries)
 *	COMMIT
 *
 * The batch statement is prepared once per connection and runs with a
 * generic plan (planning it took longer than running it for a few firings).
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

#include "bq.h"
#include "clock.h"
#include "fnv.h"
#include "ids.h"
#include "log.h"
#include "alertd_metrics.h"

/* Events taken off the queue per wake-up, at most. */
#define WRITER_POP_MAX 4096

struct writer_ev {
	struct rules_event ev;
	int64_t recv_us;
};

/* A growable array of events. */
struct writer_evs {
	size_t n, cap;
	struct writer_ev *e;
};

struct writer_batch {
	char tenant[TENANT_ID_SIZE];
	int64_t first_ms;		/* monotonic, when the first event came */
	struct writer_evs now;		/* the next transaction: one event per rule */
	struct writer_evs later;	/* later firings of rules already in `now` */
};

struct writer_thread {
	struct writer *w;
	int index;
	pthread_t thread;
	PGconn *conn;			/* checked out, thread only */
	bool prepared;			/* writer_sql is prepared on conn */

	struct bq q;			/* of struct writer_ev; closed by writer_stop */
	bool q_ok;			/* q initialised */
	atomic_bool idle_wait;		/* waiting with batches pending */
	size_t lcap;			/* thread only: events popped per wake-up */
	struct writer_ev *local;

	size_t nbatches;		/* thread only */
	int64_t last_ms;		/* thread only: monotonic, its last write */
	struct writer_batch *batches;
};

struct writer {
	struct pool *pool;
	int n;
	atomic_int rows, delay_ms;
	atomic_uint_fast64_t waiting;
	atomic_long inflight;		/* ticks still being evaluated */
	writer_refetch_fn refetch;
	void *refetch_arg;
	struct writer_thread *t;
};

/* A growing string; on allocation failure `oom` is set and appends stop. */
struct writer_sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void writer_sbuf_add(struct writer_sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void writer_sbuf_add(struct writer_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		while (ncap < b->len + (size_t)n + 1)
			ncap *= 2;
		char *ns = realloc(b->s, ncap);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

static void writer_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * The statements of a batch: the schema's functions (schema/45_writer.sql).
 * $1 tenant, $2.. the firings as arrays; one outcome row per firing.
 */
static const char writer_sql[] =
	"SELECT ord, claimed, reason, delivered, tasked FROM leo_write_firings($1::uuid,"
	" $2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::numeric[],"
	" $8::numeric[], $9::numeric[], $10::numeric[])";

static const char writer_expire_sql[] = "SELECT leo_expire_rules($1::text[])";

/* Append a dec as an array element, NULL when absent. */
static void writer_arr_dec(struct writer_sbuf *b, bool first, bool has, dec_t v)
{
	char num[DEC_FMT_MAX];

	if (!has) {
		writer_sbuf_add(b, "%sNULL", first ? "" : ",");
		return;
	}
	dec_format(v, num, sizeof(num));
	writer_sbuf_add(b, "%s%s", first ? "" : ",", num);
}

enum writer_result { WRITER_OK, WRITER_RETRY, WRITER_BAD };

/* A server message as one log line (it may carry DETAIL/HINT lines). */
static char *writer_oneline(const char *msg)
{
	char *s = strdup(msg), *p;

	if (!s)
		return NULL;
	for (p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
	while (p > s && p[-1] == ' ')
		*--p = '\0';
	return s;
}

/*
 * Classify a failed result: transient errors are retried, others bisected.
 * A COMMIT refused with program_limit_exceeded is PostgreSQL's notification
 * queue being full ("too many notifications in the NOTIFY queue": the batch
 * announces its deliveries): that clears once the slowest listener reads
 * on, whatever the rows, so it is retried, never blamed on a firing.
 */
static enum writer_result writer_classify(PGconn *c, const PGresult *r, bool at_commit)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(c) != CONNECTION_OK || !st)
		return WRITER_RETRY;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "40", 2) == 0 ||
	    strncmp(st, "57", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	    strcmp(st, "55P03") == 0 || (at_commit && strcmp(st, "54000") == 0))
		return WRITER_RETRY;
	return WRITER_BAD;
}

/*
 * The reason codes of schema table leo_reason, as the metric each counts
 * in (label reason="<code>"; tests/integration/it_prometheus.sh compares
 * the two lists).
 */
static const struct {
	const char *code;
	enum metrics_counter metric;
} writer_reasons[] = {
	{ "consent_missing", METRIC_SUPPRESSED_NO_CONSENT },
	{ "consent_revoked", METRIC_SUPPRESSED_REVOKED },
	{ "consent_expired", METRIC_SUPPRESSED_EXPIRED },
	{ "flood_guard", METRIC_SUPPRESSED_FLOOD },
	{ "rule_deleted", METRIC_SUPPRESSED_DELETED },
	{ "already_claimed", METRIC_SUPPRESSED_CLAIMED },
};

/* Count a suppression by its reason code; an unknown code is logged. */
static void writer_count_reason(const char *code)
{
	for (size_t i = 0; i < sizeof(writer_reasons) / sizeof(writer_reasons[0]); i++)
		if (strcmp(writer_reasons[i].code, code) == 0) {
			metrics_add(writer_reasons[i].metric, 1);
			return;
		}
	log_warn("leo_write_firings() gave reason code '%s', which this daemon does not"
		 " know: is the schema newer than the daemon?", code);
}

/* Account the outcome of one committed batch (writer thread). */
static void writer_account(struct writer *w, const char *tenant,
			   const struct writer_ev *evs, size_t n, PGresult *out)
{
	int64_t now = clock_wall_us();
	size_t nfire = 0;
	int c_ord = PQfnumber(out, "ord"), c_claimed = PQfnumber(out, "claimed"),
	    c_reason = PQfnumber(out, "reason"), c_delivered = PQfnumber(out, "delivered"),
	    c_tasked = PQfnumber(out, "tasked");

	if (out && (c_ord < 0 || c_claimed < 0 || c_reason < 0 || c_delivered < 0 ||
		    c_tasked < 0)) {
		log_error("leo_write_firings() returned no ord/claimed/reason/delivered/tasked"
			  " columns: is the schema older than the daemon?");
		return;
	}
	for (int i = 0; out && i < PQntuples(out); i++) {
		size_t ord = (size_t)strtoul(PQgetvalue(out, i, c_ord), NULL, 10);
		bool claimed = PQgetvalue(out, i, c_claimed)[0] == 't';
		const char *reason = PQgetisnull(out, i, c_reason) ? NULL
								   : PQgetvalue(out, i, c_reason);
		bool delivered = PQgetvalue(out, i, c_delivered)[0] == 't';
		bool tasked = PQgetvalue(out, i, c_tasked)[0] == 't';
		const struct writer_ev *e;

		if (ord >= n)
			continue;
		e = &evs[ord];
		nfire++;
		if (!claimed) {
			metrics_add(METRIC_SUPPRESSED_CLAIMED, 1);
			log_debug("rule %s firing %lld: already claimed, reading its counter",
				  e->ev.rule_id, (long long)e->ev.seq);
			if (w->refetch)
				w->refetch(w->refetch_arg, tenant, e->ev.rule_id);
			continue;
		}
		if (tasked)
			metrics_add(METRIC_AGENT_TASKS_WRITTEN, 1);
		if (!reason)
			metrics_add(delivered ? METRIC_DELIVERIES_WRITTEN
					      : METRIC_SUPPRESSED_CLAIMED, 1);
		else
			writer_count_reason(reason);
		if (reason && strcmp(reason, "rule_deleted") == 0)
			log_info("rule %s firing %lld: the rule was deleted before the firing was"
				 " written; its agent_task says so, nothing was sent",
				 e->ev.rule_id, (long long)e->ev.seq);
		metrics_observe(METRIC_TICK_TO_COMMIT,
				(double)(now - e->recv_us) / 1e6);
	}
	if (nfire)
		metrics_observe(METRIC_BATCH_ROWS, (double)nfire);
}

/* One tenant's share of a transaction: its firings as the statements' arrays. */
struct writer_part {
	const char *tenant;
	const struct writer_ev *evs;
	size_t n, nfire, nexp;
	struct writer_sbuf a[9], ex;
	const char *params[10];
	int q_out;			/* pipeline index of its batch statement */
	PGresult *out;
};

/* Build a part's arrays.  Returns -1 when out of memory. */
static int writer_part_build(struct writer_part *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct rules_event *e = &p->evs[i].ev;

		if (e->kind == RULES_EXPIRE) {
			writer_sbuf_add(&p->ex, "%s%s", p->nexp++ ? "," : "{", e->rule_id);
			continue;
		}
		bool first = p->nfire++ == 0;
		const char *sep = first ? "" : ",";

		writer_sbuf_add(&p->a[0], "%s%zu", sep, i);
		writer_sbuf_add(&p->a[1], "%s%s", sep, e->rule_id);
		writer_sbuf_add(&p->a[2], "%s%lld", sep, (long long)e->seq);
		writer_sbuf_add(&p->a[3], "%s%lld", sep, (long long)e->at_us);
		writer_sbuf_add(&p->a[4], "%s%s", sep, e->kind == RULES_FLOOD_PAUSE ? "P" : "F");
		writer_arr_dec(&p->a[5], first, e->has_prev, e->prev_price);
		writer_arr_dec(&p->a[6], first, true, e->cur_price);
		writer_arr_dec(&p->a[7], first, e->has_prev_chg, e->prev_chg);
		writer_arr_dec(&p->a[8], first, e->has_cur_chg, e->cur_chg);
	}
	writer_sbuf_add(&p->ex, "}");
	for (int k = 0; k < 9; k++) {
		char *body = p->a[k].s;

		p->a[k].s = NULL;
		p->a[k].len = p->a[k].cap = 0;
		writer_sbuf_add(&p->a[k], "{%s}", body ? body : "");
		free(body);
		if (p->a[k].oom)
			return -1;
	}
	if (p->ex.oom)
		return -1;
	p->params[0] = p->tenant;
	for (int k = 0; k < 9; k++)
		p->params[k + 1] = p->a[k].s;
	p->q_out = -1;
	return 0;
}

static void writer_part_free(struct writer_part *p)
{
	PQclear(p->out);
	p->out = NULL;
	for (int k = 0; k < 9; k++)
		free(p->a[k].s);
	free(p->ex.s);
}

/*
 * Send parts as one pipelined transaction on the thread's connection (one
 * round trip, one commit), each under its tenant; writer_write sends one.  On success every part's outcome has been accounted.  On failure
 * nothing committed and *errmsg gets the first error (malloc'd).
 */
static enum writer_result writer_exec(struct writer_thread *t, struct writer_part *parts,
				      size_t nparts, char **errmsg)
{
	struct writer *w = t->w;
	PGconn *c = t->conn;
	int nsent = 0;
	bool anyfire = false;
	enum writer_result res = WRITER_OK;
	bool sync_seen = false;

	for (size_t k = 0; k < nparts; k++) {
		if (writer_part_build(&parts[k])) {
			res = WRITER_RETRY;
			goto out;
		}
		anyfire |= parts[k].nfire > 0;
	}

	/* planned once per connection: the batch statement is long */
	if (anyfire && !t->prepared) {
		PGresult *r = PQprepare(c, "leo_batch", writer_sql, 10, NULL);
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		if (PQresultStatus(r) == PGRES_COMMAND_OK || (st && !strcmp(st, "42P05"))) {
			t->prepared = true;
		} else {
			res = writer_classify(c, r, false);
			*errmsg = writer_oneline(PQresultErrorMessage(r));
		}
		PQclear(r);
		if (!t->prepared)
			goto out;
	}
	if (!PQenterPipelineMode(c)) {
		res = WRITER_RETRY;
		goto out;
	}
	if (!PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
		goto send_fail;
	nsent++;
	for (size_t k = 0; k < nparts; k++) {
		struct writer_part *p = &parts[k];
		const char *exparams[1] = { p->ex.s };

		/* a generic plan: the same for every batch, never re-planned */
		if (!PQsendQueryParams(c, "SELECT set_config('app.current_tenant_id', $1, true),"
					  " set_config('leo.writer', 'on', true),"
					  " set_config('plan_cache_mode', 'force_generic_plan', true)",
				       1, NULL, p->params, NULL, NULL, 0))
			goto send_fail;
		nsent++;
		if (p->nfire) {
			if (!PQsendQueryPrepared(c, "leo_batch", 10, p->params, NULL, NULL, 0))
				goto send_fail;
			p->q_out = nsent++;
		}
		if (p->nexp) {
			if (!PQsendQueryParams(c, writer_expire_sql, 1, NULL, exparams, NULL,
					       NULL, 0))
				goto send_fail;
			nsent++;
		}
	}
	if (!PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
		goto send_fail;
	nsent++;
	if (!PQpipelineSync(c))
		goto send_fail;

	/* Each query's results end with NULL; the sync ends the pipeline. */
	for (int q = 0; q < nsent && PQstatus(c) == CONNECTION_OK; q++) {
		PGresult *r;

		while ((r = PQgetResult(c)) != NULL) {
			ExecStatusType st = PQresultStatus(r);
			struct writer_part *p = NULL;

			for (size_t m = 0; m < nparts; m++)
				if (parts[m].q_out == q)
					p = &parts[m];
			if (st == PGRES_FATAL_ERROR && res == WRITER_OK) {
				res = writer_classify(c, r, q == nsent - 1);
				*errmsg = writer_oneline(PQresultErrorMessage(r));
			} else if (st == PGRES_PIPELINE_ABORTED && res == WRITER_OK) {
				res = WRITER_RETRY;
			}
			if (p && st == PGRES_TUPLES_OK && !p->out)
				p->out = r;
			else
				PQclear(r);
		}
	}
	while (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQgetResult(c);

		if (!r)
			break;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
			sync_seen = true;
		PQclear(r);
		if (sync_seen)
			break;
	}
	if (!sync_seen && res == WRITER_OK)
		res = WRITER_RETRY;
	if (PQstatus(c) != CONNECTION_OK)
		res = WRITER_RETRY;
	else
		PQexitPipelineMode(c);
	if (res == WRITER_OK) {
		for (size_t k = 0; k < nparts; k++)
			writer_account(w, parts[k].tenant, parts[k].evs, parts[k].n,
				       parts[k].out);
	} else if (PQstatus(c) == CONNECTION_OK &&
		   PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQclear(PQexec(c, "ROLLBACK"));
	}
	goto out;

send_fail:
	res = WRITER_RETRY;
	if (!*errmsg)
		*errmsg = writer_oneline(PQerrorMessage(c));
out:
	for (size_t k = 0; k < nparts; k++)
		writer_part_free(&parts[k]);
	return res;
}

/*
 * Write a batch until it is written; bisect what can never be written.
 * Writer thread.  Gives up only at shutdown when the database stays away.
 */
static void writer_write(struct writer_thread *t, const char *tenant,
			 const struct writer_ev *evs, size_t n)
{
	struct writer *w = t->w;
	int attempt = 0;

	while (n > 0) {
		char *err = NULL;
		enum writer_result r;

		if (!t->conn) {
			t->conn = pool_get(w->pool);
			t->prepared = false;
		}
		if (!t->conn) {
			r = WRITER_RETRY;
		} else {
			struct writer_part part = { .tenant = tenant, .evs = evs, .n = n };

			r = writer_exec(t, &part, 1, &err);
		}
		if (r == WRITER_OK) {
			free(err);
			return;
		}
		metrics_add(METRIC_BATCHES_FAILED, 1);
		if (r == WRITER_BAD) {
			if (n == 1) {
				log_error("rule %s firing %lld (tenant %s): dropped, cannot be written: %s",
					  evs[0].ev.rule_id, (long long)evs[0].ev.seq, tenant,
					  err ? err : "unknown error");
				free(err);
				return;
			}
			free(err);
			writer_write(t, tenant, evs, n / 2);
			writer_write(t, tenant, evs + n / 2, n - n / 2);
			return;
		}
		if (t->conn && PQstatus(t->conn) != CONNECTION_OK) {
			pool_put(w->pool, t->conn, true);
			t->conn = NULL;
			t->prepared = false;
		}
		log_warn("writer: batch of %zu for tenant %s failed, retrying: %s", n, tenant,
			 err ? err : "no connection");
		free(err);
		if (bq_closed(&t->q) && attempt >= 10) {
			log_error("writer: database unreachable at shutdown, %zu firings of tenant %s not written",
				  n, tenant);
			return;
		}
		writer_sleep_ms(pool_backoff_ms(attempt++));
	}
}

static int writer_evs_push(struct writer_evs *a, const struct writer_ev *e)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		struct writer_ev *ne = realloc(a->e, ncap * sizeof(*ne));

		if (!ne)
			return -1;
		a->e = ne;
		a->cap = ncap;
	}
	a->e[a->n++] = *e;
	return 0;
}

static bool writer_has_rule(const struct writer_evs *a, const char *rule_id)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->e[i].ev.rule_id, rule_id) == 0)
			return true;
	return false;
}

static void writer_add(struct writer_thread *t, const struct writer_ev *e);

/*
 * Write `now`, then let the deferred firings in, in their order: a rule's
 * next firing is claimed only after its previous one committed.
 */
static void writer_flush(struct writer_thread *t, struct writer_batch *b)
{
	struct writer_evs later;

	if (b->now.n == 0)
		return;
	writer_write(t, b->tenant, b->now.e, b->now.n);
	b->now.n = 0;
	later = b->later;
	memset(&b->later, 0, sizeof(b->later));
	for (size_t i = 0; i < later.n; i++)
		writer_add(t, &later.e[i]);
	free(later.e);
}

/*
 * Write every pending batch once, one transaction per tenant: the schema
 * refuses a daemon transaction that writes rows of two tenants
 * (70_rls.sql, leo_one_tenant_per_txn).
 */
static void writer_flush_all(struct writer_thread *t)
{
	size_t nb = t->nbatches;

	for (size_t i = 0; i < nb; i++)
		if (t->batches[i].now.n)
			writer_flush(t, &t->batches[i]);
}

static struct writer_batch *writer_batch_for(struct writer_thread *t, const char *tenant)
{
	struct writer_batch *nb;

	for (size_t i = 0; i < t->nbatches; i++)
		if (strcmp(t->batches[i].tenant, tenant) == 0)
			return &t->batches[i];
	nb = realloc(t->batches, (t->nbatches + 1) * sizeof(*nb));
	if (!nb)
		return NULL;
	t->batches = nb;
	nb = &t->batches[t->nbatches++];
	memset(nb, 0, sizeof(*nb));
	snprintf(nb->tenant, sizeof(nb->tenant), "%s", tenant);
	return nb;
}

/*
 * Add one event to its tenant's batch: into `now`, or — when `now` already
 * claims that rule (one UPDATE claims a row once) — behind it into `later`.
 * A full batch is written at once.
 */
static void writer_add(struct writer_thread *t, const struct writer_ev *e)
{
	struct writer_batch *b = writer_batch_for(t, e->ev.tenant_id);
	int rows = atomic_load(&t->w->rows);

	if (!b) {
		/* out of memory: write it alone rather than lose it */
		writer_write(t, e->ev.tenant_id, e, 1);
		return;
	}
	if (writer_has_rule(&b->now, e->ev.rule_id) ||
	    (b->later.n && writer_has_rule(&b->later, e->ev.rule_id))) {
		/* behind its earlier deferred firings too: each rule stays in order */
		if (writer_evs_push(&b->later, e)) {
			writer_flush(t, b);
			writer_write(t, e->ev.tenant_id, e, 1);
		}
		if (b->later.n >= (size_t)rows)
			writer_flush(t, b);
		return;
	}
	if (b->now.n == 0)
		b->first_ms = clock_mono_ms();
	if (writer_evs_push(&b->now, e)) {
		writer_flush(t, b);
		writer_write(t, e->ev.tenant_id, e, 1);
		return;
	}
	if ((int)b->now.n >= rows)
		writer_flush(t, b);
}

static bool writer_pending(const struct writer_thread *t)
{
	for (size_t i = 0; i < t->nbatches; i++)
		if (t->batches[i].now.n)
			return true;
	return false;
}

static void *writer_main(void *arg)
{
	struct writer_thread *t = arg;
	struct writer *w = t->w;
	size_t lcap = t->lcap;
	struct writer_ev *local = t->local;
	char name[32];

	snprintf(name, sizeof(name), "writer-%d", t->index);
	log_thread_name(name);
	for (;;) {
		size_t n;
		bool stopping, idle, due;
		int64_t deadline = -1, now = clock_mono_ms();
		int delay = atomic_load(&w->delay_ms), timeout = -1;

		for (size_t i = 0; i < t->nbatches; i++) {
			struct writer_batch *b = &t->batches[i];

			if (b->now.n && (deadline < 0 || b->first_ms + delay < deadline))
				deadline = b->first_ms + delay;
		}
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
		}
		n = bq_pop(&t->q, local, lcap, timeout);
		atomic_store(&t->idle_wait, false);
		stopping = bq_drained(&t->q);
		metrics_set(METRIC_QUEUE_WRITER, (double)(atomic_fetch_sub(&w->waiting, n) - n));

		for (size_t i = 0; i < n; i++)
			writer_add(t, &local[i]);
		if (!writer_pending(t) && !stopping)
			continue;
		/*
		 * inflight before the queue: at zero, every firing of the ticks
		 * evaluated so far has been pushed, so an empty queue then means
		 * nothing more is coming for these batches.
		 */
		idle = atomic_load(&w->inflight) <= 0 && bq_len(&t->q) == 0;
		now = clock_mono_ms();
		due = stopping || (idle && now >= t->last_ms + delay);
		for (size_t i = 0; i < t->nbatches && !due; i++)
			due = t->batches[i].now.n && now >= t->batches[i].first_ms + delay;
		/* at shutdown, until `later` is empty too */
		while (due && writer_pending(t)) {
			writer_flush_all(t);
			t->last_ms = clock_mono_ms();
			due = stopping;
		}
		if (stopping)
			break;
	}
	if (t->conn)
		pool_put(w->pool, t->conn, false);
	t->conn = NULL;
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

	struct writer_ev e = { *ev, recv_us };

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
	for (size_t i = 0; i < t->nbatches; i++) {
		free(t->batches[i].now.e);
		free(t->batches[i].later.e);
	}
	free(t->batches);
	free(t->local);
	if (t->q_ok)
		bq_destroy(&t->q);
}

struct writer *writer_start(struct pool *pool, int nthreads, int queue_capacity,
			    int batch_max_rows, int batch_max_delay_ms,
			    writer_refetch_fn refetch, void *refetch_arg)
{
	struct writer *w = calloc(1, sizeof(*w));
	int started = 0;

	if (!w)
		return NULL;
	w->pool = pool;
	w->n = nthreads > 0 ? nthreads : 1;
	w->refetch = refetch;
	w->refetch_arg = refetch_arg;
	writer_set_limits(w, batch_max_rows, batch_max_delay_ms);
	w->t = calloc((size_t)w->n, sizeof(*w->t));
	if (!w->t)
		goto fail;
	for (int i = 0; i < w->n; i++) {
		struct writer_thread *t = &w->t[i];

		t->w = w;
		t->index = i;
		size_t cap = queue_capacity > 0 ? (size_t)queue_capacity : 1024;

		t->q_ok = bq_init(&t->q, cap, sizeof(struct writer_ev)) == 0;
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
