/*
 * wsql.c — a batch of one tenant's firings written on one connection: the
 * schema's leo_write_firings() and leo_expire_rules() (schema/45_writer.sql)
 * with the firings bound as arrays, in one pipelined transaction under the
 * tenant (one round trip, one commit), and the outcome of each firing
 * counted.  Writer threads; a struct wsql_conn belongs to one.
 *
 * The transaction:
 *
 *	BEGIN
 *	SELECT set_config('app.current_tenant_id', tenant, true),
 *	       set_config('leo.writer', 'on', true),
 *	       set_config('plan_cache_mode', 'force_generic_plan', true)
 *	SELECT ord, claimed, reason, delivered, tasked, delivery_id
 *	  FROM leo_write_firings(...)
 *	SELECT leo_expire_rules(...)			(when the batch has expiries)
 *	SELECT leo_write_checkpoints(...)		(when some advanced: ckpt.c)
 *	COMMIT
 *
 * and once it committed, in a transaction of its own, the announcement of
 * its deliveries (SPEC 5: after commit, NOTIFY leo_delivery "tenant id"):
 *
 *	SELECT set_config('synchronous_commit', 'off', true),
 *	       (SELECT count(pg_notify('leo_delivery', p)) FROM unnest(...) p)
 *
 * Why apart: PostgreSQL serializes every notifying commit on one lock held
 * through the commit's WAL flush.  A batch that notified waited there behind
 * the notifying price changes of the feed and held them back for its own
 * flush; the firings now commit (and flush, grouped with the feed's) without
 * it, and only the announcement, which waits for no flush, takes the lock.
 * An announcement that fails (a full notification queue, a lost connection)
 * is kept and retried by the writer; a daemon killed in between leaves the
 * deliveries to the senders' poll (SPEC 7), committed and queued.
 *
 * The checkpoints ride in whatever transaction comes next; a failed one
 * gives them back (ckpt_untake).  Test builds and tests only: with
 * LEO_FAULT_BEFORE_COMMIT=1 in the environment the process ends with
 * status 137 (as after kill -9) right before sending the COMMIT of a batch
 * that has firings; without it the point does nothing.
 *
 * The batch statement is prepared once per connection; the function's
 * statement runs with a generic plan (planning it took longer than running
 * it for a few firings), cached by PL/pgSQL per connection.
 *
 * Failures are classified for batch_write (batch.h): a lost connection, a
 * serialization failure, an admin shutdown or a COMMIT refused because
 * PostgreSQL's notification queue is full is transient; any other error
 * means some firing can never be written.
 */
#include "wsql.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertd_metrics.h"
#include "ckpt.h"
#include "clock.h"
#include "dec.h"
#include "log.h"
#include "sbuf.h"

/*
 * The statements of a batch: the schema's functions (schema/45_writer.sql).
 * $1 tenant, $2.. the firings as arrays; one outcome row per firing.
 */
static const char wsql_batch[] =
	"SELECT ord, claimed, reason, delivered, tasked, delivery_id FROM leo_write_firings($1::uuid,"
	" $2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::numeric[],"
	" $8::numeric[], $9::numeric[], $10::numeric[])";

static const char wsql_announce_sql[] =
	"SELECT set_config('synchronous_commit', 'off', true),"
	" (SELECT count(pg_notify('leo_delivery', p)) FROM unnest($1::text[]) AS p)";

static const char wsql_expire[] = "SELECT leo_expire_rules($1::text[])";

static const char wsql_ckpt[] = "SELECT leo_write_checkpoints($1::text[], $2::numeric[],"
	" $3::numeric[], $4::bigint[])";

/* The fault point of the DESIGN comment: read once. */
static bool wsql_fault_before_commit(void)
{
	static int on = -1;
	const char *v;

	if (on < 0) {
		v = getenv("LEO_FAULT_BEFORE_COMMIT");
		on = v && strcmp(v, "1") == 0;
	}
	return on == 1;
}

/* Append sep ("{" or ",") and a dec as an array element, NULL when absent. */
static void wsql_arr_dec(struct sbuf *b, const char *sep, bool has, dec_t v)
{
	char num[DEC_FMT_MAX];

	if (!has) {
		sbuf_add(b, "%sNULL", sep);
		return;
	}
	dec_format(v, num, sizeof(num));
	sbuf_add(b, "%s%s", sep, num);
}

/* Checkpoint rows as the four arrays of wsql_ckpt.  -1 when out of memory. */
static int wsql_ckpt_build(const struct ckpt_rows *rows, struct sbuf a[4])
{
	for (size_t i = 0; i < rows->n; i++) {
		const struct ckpt_row *r = &rows->r[i];
		const char *sep = i == 0 ? "{" : ",";

		/* symbols are quoted: they may hold commas, quotes or braces */
		sbuf_add(&a[0], "%s\"", sep);
		for (const char *p = r->symbol; *p; p++)
			sbuf_add(&a[0], "%s%c", (*p == '"' || *p == '\\') ? "\\" : "", *p);
		sbuf_add(&a[0], "\"");
		wsql_arr_dec(&a[1], sep, true, r->price);
		wsql_arr_dec(&a[2], sep, r->has_chg, r->chg);
		sbuf_add(&a[3], "%s%lld", sep, (long long)r->observed_us);
	}
	for (int k = 0; k < 4; k++) {
		sbuf_add(&a[k], "}");
		if (a[k].oom)
			return -1;
	}
	return 0;
}

/* A server message as one log line (it may carry DETAIL/HINT lines). */
static char *wsql_oneline(const char *msg)
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
static enum batch_result wsql_classify(PGconn *c, const PGresult *r, bool at_commit)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(c) != CONNECTION_OK || !st)
		return BATCH_RETRY;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "40", 2) == 0 ||
	    strncmp(st, "57", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	    strcmp(st, "55P03") == 0 || (at_commit && strcmp(st, "54000") == 0))
		return BATCH_RETRY;
	return BATCH_BAD;
}

/*
 * The reason codes of schema table leo_reason, as the metric each counts
 * in (label reason="<code>"; tests/integration/it_prometheus.sh compares
 * the two lists).
 */
static const struct {
	const char *code;
	enum alertd_metrics_counter metric;
} wsql_reasons[] = {
	{ "consent_missing", METRIC_SUPPRESSED_NO_CONSENT },
	{ "consent_revoked", METRIC_SUPPRESSED_REVOKED },
	{ "consent_expired", METRIC_SUPPRESSED_EXPIRED },
	{ "flood_guard", METRIC_SUPPRESSED_FLOOD },
	{ "rule_deleted", METRIC_SUPPRESSED_DELETED },
	{ "already_claimed", METRIC_SUPPRESSED_CLAIMED },
};

/* Count a suppression by its reason code; an unknown code is logged. */
static void wsql_count_reason(const char *code)
{
	for (size_t i = 0; i < sizeof(wsql_reasons) / sizeof(wsql_reasons[0]); i++)
		if (strcmp(wsql_reasons[i].code, code) == 0) {
			metrics_add(wsql_reasons[i].metric, 1);
			return;
		}
	log_warn("leo_write_firings() gave reason code '%s', which this daemon does not"
		 " know: is the schema newer than the daemon?", code);
}

/* Account the outcome of one committed batch, whose statements were sent at
 * sent_us (wall clock). */
static void wsql_account(struct wsql_conn *wc, const char *tenant,
			 const struct batch_ev *evs, size_t n, PGresult *out, int64_t sent_us)
{
	int64_t now = clock_wall_us();
	size_t nfire = 0;
	int c_ord = PQfnumber(out, "ord"), c_claimed = PQfnumber(out, "claimed"),
	    c_reason = PQfnumber(out, "reason"), c_delivered = PQfnumber(out, "delivered"),
	    c_tasked = PQfnumber(out, "tasked"), c_id = PQfnumber(out, "delivery_id");

	if (out && (c_ord < 0 || c_claimed < 0 || c_reason < 0 || c_delivered < 0 ||
		    c_tasked < 0 || c_id < 0)) {
		log_error("leo_write_firings() returned no ord/claimed/reason/delivered/tasked/"
			  "delivery_id columns: is the schema older than the daemon?");
		return;
	}
	for (int i = 0; out && i < PQntuples(out); i++) {
		size_t ord = (size_t)strtoul(PQgetvalue(out, i, c_ord), NULL, 10);
		bool claimed = PQgetvalue(out, i, c_claimed)[0] == 't';
		const char *reason = PQgetisnull(out, i, c_reason) ? NULL
								   : PQgetvalue(out, i, c_reason);
		bool delivered = PQgetvalue(out, i, c_delivered)[0] == 't';
		bool tasked = PQgetvalue(out, i, c_tasked)[0] == 't';
		const struct batch_ev *e;

		if (ord >= n)
			continue;
		e = &evs[ord];
		nfire++;
		if (!claimed) {
			metrics_add(METRIC_SUPPRESSED_CLAIMED, 1);
			log_debug("rule %s firing %lld: already claimed, reading its counter",
				  e->ev.rule_id, (long long)e->ev.seq);
			if (wc->refetch)
				wc->refetch(wc->refetch_arg, tenant, e->ev.rule_id);
			continue;
		}
		if (tasked)
			metrics_add(METRIC_AGENT_TASKS_WRITTEN, 1);
		if (!PQgetisnull(out, i, c_id) && wc->unannounced >= WSQL_ANNOUNCE_MAX) {
			log_error("writer: %zu committed deliveries were never announced on"
				  " leo_delivery; giving them up: senders find them by their poll",
				  wc->unannounced);
			wsql_conn_free(wc);
		}
		if (!PQgetisnull(out, i, c_id))
			sbuf_add(&wc->announce, "%s\"%s %s\"", wc->unannounced++ ? "," : "",
				      tenant, PQgetvalue(out, i, c_id));
		if (!reason)
			metrics_add(delivered ? METRIC_DELIVERIES_WRITTEN
					      : METRIC_SUPPRESSED_CLAIMED, 1);
		else
			wsql_count_reason(reason);
		if (reason && strcmp(reason, "rule_deleted") == 0)
			log_info("rule %s firing %lld: the rule was deleted before the firing was"
				 " written; its agent_task says so, nothing was sent",
				 e->ev.rule_id, (long long)e->ev.seq);
		metrics_observe(METRIC_TICK_TO_COMMIT, (double)(now - e->recv_us) / 1e6);
		metrics_observe(METRIC_STAGE_EVALUATE, (double)(e->decided_us - e->recv_us) / 1e6);
		metrics_observe(METRIC_STAGE_WRITER_QUEUE,
				(double)(e->taken_us - e->decided_us) / 1e6);
		metrics_observe(METRIC_STAGE_BATCH, (double)(sent_us - e->taken_us) / 1e6);
		metrics_observe(METRIC_STAGE_COMMIT, (double)(now - sent_us) / 1e6);
	}
	if (nfire)
		metrics_observe(METRIC_BATCH_ROWS, (double)nfire);
}

/* One tenant's share of a transaction: its firings as the statements' arrays. */
struct wsql_part {
	const char *tenant;
	const struct batch_ev *evs;
	size_t n, nfire, nexp;
	struct sbuf a[9], ex;
	const char *params[10];
	int q_out;			/* pipeline index of its batch statement */
	PGresult *out;
};

/* Build a part's arrays.  Returns -1 when out of memory. */
static int wsql_part_build(struct wsql_part *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct rules_event *e = &p->evs[i].ev;

		if (e->kind == RULES_EXPIRE) {
			sbuf_add(&p->ex, "%s%s", p->nexp++ ? "," : "{", e->rule_id);
			continue;
		}
		const char *sep = p->nfire++ == 0 ? "{" : ",";

		sbuf_add(&p->a[0], "%s%zu", sep, i);
		sbuf_add(&p->a[1], "%s%s", sep, e->rule_id);
		sbuf_add(&p->a[2], "%s%lld", sep, (long long)e->seq);
		sbuf_add(&p->a[3], "%s%lld", sep, (long long)e->at_us);
		sbuf_add(&p->a[4], "%s%s", sep, e->kind == RULES_FLOOD_PAUSE ? "P" : "F");
		wsql_arr_dec(&p->a[5], sep, e->has_prev, e->prev_price);
		wsql_arr_dec(&p->a[6], sep, true, e->cur_price);
		wsql_arr_dec(&p->a[7], sep, e->has_prev_chg, e->prev_chg);
		wsql_arr_dec(&p->a[8], sep, e->has_cur_chg, e->cur_chg);
	}
	sbuf_add(&p->ex, "}");
	for (int k = 0; k < 9; k++) {
		sbuf_add(&p->a[k], "%s}", p->nfire ? "" : "{");
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

static void wsql_part_free(struct wsql_part *p)
{
	PQclear(p->out);
	p->out = NULL;
	for (int k = 0; k < 9; k++)
		sbuf_free(&p->a[k]);
	sbuf_free(&p->ex);
}

/*
 * Send parts as one pipelined transaction on the connection (one
 * round trip, one commit), each under its tenant.  On success every
 * part's outcome has been accounted.  On failure nothing committed and
 * *errmsg gets the first error (malloc'd).
 */
static enum batch_result wsql_exec_parts(struct wsql_conn *wc, struct wsql_part *parts,
					size_t nparts, char **errmsg)
{
	PGconn *c = wc->conn;
	int nsent = 0;
	bool anyfire = false;
	enum batch_result res = BATCH_OK;
	bool sync_seen = false;
	struct ckpt_rows ck = { 0 };
	struct sbuf ca[4] = { { 0 } };
	const char *cparams[4];
	int q_ckpt = -1;
	bool ck_failed = false;
	int64_t sent_us = 0;

	for (size_t k = 0; k < nparts; k++) {
		if (wsql_part_build(&parts[k])) {
			res = BATCH_RETRY;
			goto out;
		}
		anyfire |= parts[k].nfire > 0;
	}
	if (wc->ckpt && ckpt_take(wc->ckpt, &ck) == 0 && ck.n) {
		if (wsql_ckpt_build(&ck, ca)) {
			res = BATCH_RETRY;
			goto out;
		}
		for (int k = 0; k < 4; k++)
			cparams[k] = ca[k].s;
	}

	/* planned once per connection: the batch statement is long */
	if (anyfire && !wc->prepared) {
		PGresult *r = PQprepare(c, "leo_batch", wsql_batch, 10, NULL);
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		if (PQresultStatus(r) == PGRES_COMMAND_OK || (st && !strcmp(st, "42P05"))) {
			wc->prepared = true;
		} else {
			res = wsql_classify(c, r, false);
			*errmsg = wsql_oneline(PQresultErrorMessage(r));
		}
		PQclear(r);
		if (!wc->prepared)
			goto out;
	}
	if (!PQenterPipelineMode(c)) {
		res = BATCH_RETRY;
		goto out;
	}
	sent_us = clock_wall_us();
	if (!PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
		goto send_fail;
	nsent++;
	for (size_t k = 0; k < nparts; k++) {
		struct wsql_part *p = &parts[k];
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
			if (!PQsendQueryParams(c, wsql_expire, 1, NULL, exparams, NULL,
					       NULL, 0))
				goto send_fail;
			nsent++;
		}
	}
	if (ck.n) {
		if (!PQsendQueryParams(c, wsql_ckpt, 4, NULL, cparams, NULL, NULL, 0))
			goto send_fail;
		q_ckpt = nsent++;
	}
	if (anyfire && wsql_fault_before_commit()) {
		(void)PQflush(c);
		log_warn("LEO_FAULT_BEFORE_COMMIT: exiting before the COMMIT");
		_exit(137);
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
			struct wsql_part *p = NULL;

			for (size_t m = 0; m < nparts; m++)
				if (parts[m].q_out == q)
					p = &parts[m];
			if (st == PGRES_FATAL_ERROR && res == BATCH_OK) {
				res = wsql_classify(c, r, q == nsent - 1);
				*errmsg = wsql_oneline(PQresultErrorMessage(r));
				if (q == q_ckpt && res == BATCH_BAD) {
					/* not the firings' fault: retry them without */
					ck_failed = true;
					res = BATCH_RETRY;
				}
			} else if (st == PGRES_PIPELINE_ABORTED && res == BATCH_OK) {
				res = BATCH_RETRY;
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
	if (!sync_seen && res == BATCH_OK)
		res = BATCH_RETRY;
	if (PQstatus(c) != CONNECTION_OK)
		res = BATCH_RETRY;
	else
		PQexitPipelineMode(c);
	if (res == BATCH_OK) {
		for (size_t k = 0; k < nparts; k++)
			wsql_account(wc, parts[k].tenant, parts[k].evs, parts[k].n,
				       parts[k].out, sent_us);
	} else if (PQstatus(c) == CONNECTION_OK &&
		   PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQclear(PQexec(c, "ROLLBACK"));
	}
	goto out;

send_fail:
	res = BATCH_RETRY;
	if (!*errmsg)
		*errmsg = wsql_oneline(PQerrorMessage(c));
out:
	if (ck_failed)
		log_error("leo_write_checkpoints() failed: %zu checkpoints not written: %s",
			  ck.n, *errmsg ? *errmsg : "unknown error");
	else if (res != BATCH_OK && ck.n)
		ckpt_untake(wc->ckpt, &ck);
	ckpt_rows_free(&ck);
	for (int k = 0; k < 4; k++)
		sbuf_free(&ca[k]);
	for (size_t k = 0; k < nparts; k++)
		wsql_part_free(&parts[k]);
	return res;
}

enum batch_result wsql_write(struct wsql_conn *wc, const char *tenant, const struct batch_ev *evs,
			     size_t n, char **errmsg)
{
	struct wsql_part part = { .tenant = tenant, .evs = evs, .n = n };
	enum batch_result r = wsql_exec_parts(wc, &part, 1, errmsg);
	char *aerr = NULL;

	/* committed: whether announced now or later, the batch is done */
	if (r == BATCH_OK && wsql_announce(wc, &aerr) != BATCH_OK)
		log_warn("writer: %zu deliveries committed, not yet announced on leo_delivery;"
			 " retrying: %s", wc->unannounced, aerr ? aerr : "no connection");
	free(aerr);
	return r;
}

enum batch_result wsql_announce(struct wsql_conn *wc, char **errmsg)
{
	struct sbuf lit = { 0 };
	const char *params[1];
	PGresult *r;
	bool ok;

	if (!wc->unannounced)
		return BATCH_OK;
	if (wc->announce.oom) {
		log_error("writer: out of memory: %zu deliveries committed are not announced on"
			  " leo_delivery; senders find them by their poll", wc->unannounced);
		goto done;
	}
	if (!wc->conn || PQstatus(wc->conn) != CONNECTION_OK)
		return BATCH_RETRY;
	sbuf_add(&lit, "{%s}", wc->announce.s);
	if (lit.oom) {
		sbuf_free(&lit);
		return BATCH_RETRY;
	}
	params[0] = lit.s;
	r = PQexecParams(wc->conn, wsql_announce_sql, 1, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		*errmsg = wsql_oneline(PQresultErrorMessage(r));
	PQclear(r);
	sbuf_free(&lit);
	if (!ok)
		return BATCH_RETRY;
done:
	sbuf_free(&wc->announce);
	wc->unannounced = 0;
	return BATCH_OK;
}

void wsql_conn_free(struct wsql_conn *wc)
{
	sbuf_free(&wc->announce);
	wc->unannounced = 0;
}

enum batch_result wsql_checkpoint(struct wsql_conn *wc, char **errmsg)
{
	if (!wc->ckpt || !ckpt_dirty(wc->ckpt))
		return BATCH_OK;
	return wsql_exec_parts(wc, NULL, 0, errmsg);
}
