/*
 * dstore.c — the sender's calls of the schema's delivery functions
 * (schema/46_deliver.sql), each one pipelined transaction under a tenant:
 *
 *	BEGIN
 *	SELECT set_config('app.current_tenant_id', tenant, true)
 *	SELECT ... FROM leo_deliver_...(...)
 *	COMMIT
 *
 * sent in one go and read back in one round trip.  A struct dstore is one
 * connection of the thread that made it (the loop's; the stats thread has
 * its own for receipts).  NB: calls block that thread for the round trip.
 */
#include "dstore.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver_cfg.h"
#include "deliver_metrics.h"
#include "log.h"
#include "pool.h"
#include "sbuf.h"

struct dstore {
	struct pool *pool;
	PGconn *conn;		/* NULL: connect at the next call */
	bool ever;		/* connected once: the next connection is a reconnect */
};

struct dstore *dstore_new(struct pool *p)
{
	struct dstore *d = calloc(1, sizeof(*d));

	if (d)
		d->pool = p;
	return d;
}

void dstore_free(struct dstore *d)
{
	if (!d)
		return;
	if (d->conn)
		PQfinish(d->conn);
	free(d);
}

bool dstore_up(const struct dstore *d)
{
	return d->conn != NULL;
}

static void dstore_drop(struct dstore *d)
{
	if (d->conn)
		PQfinish(d->conn);
	d->conn = NULL;
}

/*
 * Run sql `times` times in one transaction under tenant, the k-th time with
 * params[k * n .. k * n + n - 1] as $1..$n.  res[k]: the k-th statement's
 * result (PQclear it), NULL when it had none.  0, or -1 (logged; res all
 * NULL): one failed statement rolls the whole transaction back.
 */
static int dstore_tx_many(struct dstore *d, const char *tenant, const char *sql, int n,
			  const char *const *params, int times, PGresult **res)
{
	const char *tp[1] = { tenant };
	PGresult *r;
	int rc = 0, sent = 1;

	for (int k = 0; k < times; k++)
		res[k] = NULL;
	if (!d->conn) {
		d->conn = pool_connect(d->pool);
		if (!d->conn)
			return -1;
		if (d->ever)
			deliver_metrics_db_reconnect();
		d->ever = true;
	}
	sent = PQenterPipelineMode(d->conn) &&
	       PQsendQueryParams(d->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
	       PQsendQueryParams(d->conn, "SELECT set_config('app.current_tenant_id', $1, true)", 1,
				 NULL, tp, NULL, NULL, 0);
	for (int k = 0; sent && k < times; k++)
		sent = PQsendQueryParams(d->conn, sql, n, NULL, params ? params + k * n : NULL, NULL,
					 NULL, 0);
	if (!sent || !PQsendQueryParams(d->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQpipelineSync(d->conn)) {
		log_warn("database: %s", PQerrorMessage(d->conn));
		dstore_drop(d);
		return -1;
	}
	/* BEGIN, set_config, the statements, COMMIT, each ending with NULL, then the sync */
	for (int q = 0; q < times + 3; q++) {
		while ((r = PQgetResult(d->conn)) != NULL) {
			ExecStatusType st = PQresultStatus(r);

			if (st == PGRES_FATAL_ERROR && rc == 0)
				log_warn("database: %s", PQresultErrorMessage(r));
			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
				rc = -1;
			if (q >= 2 && q < times + 2 && st == PGRES_TUPLES_OK && !res[q - 2])
				res[q - 2] = r;
			else
				PQclear(r);
		}
	}
	r = PQgetResult(d->conn);
	if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC || !PQexitPipelineMode(d->conn)) {
		log_warn("database connection lost: %s", PQerrorMessage(d->conn));
		dstore_drop(d);
		rc = -1;
	}
	PQclear(r);
	if (rc && d->conn) {
		/* an error inside BEGIN leaves the block open and aborted */
		r = PQexec(d->conn, "ROLLBACK");
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			dstore_drop(d);
		PQclear(r);
	}
	for (int k = 0; rc && k < times; k++) {
		PQclear(res[k]);
		res[k] = NULL;
	}
	return rc;
}

/* One statement in a transaction under tenant (dstore_tx_many, once). */
static int dstore_tx(struct dstore *d, const char *tenant, const char *sql, int n,
		     const char *const *params, PGresult **res)
{
	return dstore_tx_many(d, tenant, sql, n, params, 1, res);
}

int dstore_tenants(struct dstore *d, char (**ids)[TENANT_ID_SIZE], int *n)
{
	PGresult *r;

	*ids = NULL;
	*n = 0;
	/* no tenant yet: app.current_tenant_id '' sees nothing, as it should */
	if (dstore_tx(d, "", "SELECT t FROM leo_active_tenants() AS t", 0, NULL, &r))
		return -1;
	*ids = calloc((size_t)PQntuples(r) + 1, sizeof(**ids));
	if (!*ids) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++)
		snprintf((*ids)[i], TENANT_ID_SIZE, "%s", PQgetvalue(r, i, 0));
	*n = PQntuples(r);
	PQclear(r);
	return 0;
}

static char *dstore_dup(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

void dstore_claims_free(struct dclaim *c, int n)
{
	for (int i = 0; c && i < n; i++) {
		free(c[i].idempotency_key);
		free(c[i].address);
		free(c[i].template_id);
		free(c[i].template_engine);
		free(c[i].subject_template);
		free(c[i].body_template);
		cJSON_Delete(c[i].context);
	}
	free(c);
}

int dstore_claim(struct dstore *d, const char *tenant, const char *owner, int lease_s, int limit,
		 const char *channel, struct dclaim **out, int *n)
{
	char ls[16], lim[16];
	const char *p[4] = { owner, ls, lim, channel };
	struct dclaim *c;
	PGresult *r;

	*out = NULL;
	*n = 0;
	snprintf(ls, sizeof(ls), "%d", lease_s);
	snprintf(lim, sizeof(lim), "%d", limit);
	if (dstore_tx(d, tenant,
		      "SELECT delivery_id, channel, idempotency_key, attempt, age_s, consent_ok,"
		      " address, template_id, template_version, template_engine, subject_template,"
		      " body_template, context"
		      " FROM leo_deliver_claim($1, $2, $3, p_channel => $4::leo_channel)",
		      4, p, &r))
		return -1;
	c = calloc((size_t)PQntuples(r) + 1, sizeof(*c));
	if (!c) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		struct dclaim *x = &c[i];

		snprintf(x->tenant, sizeof(x->tenant), "%s", tenant);
		x->delivery_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		x->channel = deliver_channel_id(PQgetvalue(r, i, 1));
		x->idempotency_key = dstore_dup(r, i, 2);
		x->attempt = atoi(PQgetvalue(r, i, 3));
		x->age_s = strtod(PQgetvalue(r, i, 4), NULL);
		x->consent_ok = PQgetvalue(r, i, 5)[0] == 't';
		x->address = dstore_dup(r, i, 6);
		x->template_id = dstore_dup(r, i, 7);
		x->template_version = PQgetisnull(r, i, 8) ? 0 : atoi(PQgetvalue(r, i, 8));
		x->template_engine = dstore_dup(r, i, 9);
		x->subject_template = dstore_dup(r, i, 10);
		x->body_template = dstore_dup(r, i, 11);
		x->context = cJSON_Parse(PQgetvalue(r, i, 12));
		(*n)++;
		if (!x->idempotency_key || !x->context || x->channel < 0) {
			log_error("delivery %lld: claim row unreadable (out of memory?)",
				  x->delivery_id);
			dstore_claims_free(c, *n);
			PQclear(r);
			*n = 0;
			return -1;
		}
	}
	PQclear(r);
	*out = c;
	return 0;
}

/*
 * A PostgreSQL array literal built element by element (dstore_record's
 * parameters): "{e1,e2,...}".  Out of memory sticks: ab_done says so.
 */

/* Element k unquoted (numbers, NULL). */
static void ab_raw(struct sbuf *b, int k, const char *s)
{
	sbuf_add(b, "%c%s", k ? ',' : '{', s);
}

/* Element k as a quoted string ("\" and "\\" escaped), or NULL. */
static void ab_str(struct sbuf *b, int k, const char *s)
{
	const char *run;

	if (!s) {
		ab_raw(b, k, "NULL");
		return;
	}
	sbuf_add(b, "%c\"", k ? ',' : '{');
	for (run = s; *s; s++) {
		if (*s != '"' && *s != '\\')
			continue;
		sbuf_put(b, run, (size_t)(s - run));
		sbuf_put(b, "\\", 1);
		run = s;
	}
	sbuf_put(b, run, (size_t)(s - run));
	sbuf_put(b, "\"", 1);
}

/* Element k as a timestamptz in UTC from unix microseconds. */
static void ab_ts(struct sbuf *b, int k, int64_t us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	sbuf_add(b, "%c\"%04d-%02d-%02d %02d:%02d:%02d.%06d+00\"", k ? ',' : '{',
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(us % 1000000));
}

/* The literal, "{}" when empty; NULL when out of memory. */
static const char *ab_done(struct sbuf *b, int n)
{
	sbuf_add(b, "%s", n ? "}" : "{}");
	return b->oom ? NULL : b->s;
}

/* Whether id is an element of the bigint[] literal a ("{1,2,3}"). */
static bool dstore_in_array(const char *a, long long id)
{
	char *end;

	for (a += *a == '{'; *a && *a != '}'; a = end + (*end == ',')) {
		long long v = strtoll(a, &end, 10);

		if (end == a)
			return false;
		if (v == id)
			return true;
	}
	return false;
}

int dstore_record(struct dstore *d, const char *tenant, const char *owner,
		  const struct drecord *rec, int n, bool *kept)
{
	enum { ID, ATT, ST, EN, OUT, CODE, ERR, RESP, NEXT, PROV, NA };
	struct sbuf a[NA] = { 0 };
	const char *p[NA + 1] = { owner };
	char num[24];
	PGresult *res = NULL;
	int rc = -1;

	for (int k = 0; k < n; k++) {
		const struct drecord *r = &rec[k];

		kept[k] = false;
		snprintf(num, sizeof(num), "%lld", r->delivery_id);
		ab_raw(&a[ID], k, num);
		snprintf(num, sizeof(num), "%d", r->attempt);
		ab_raw(&a[ATT], k, r->attempt ? num : "NULL");
		ab_ts(&a[ST], k, r->started_us);
		ab_ts(&a[EN], k, r->ended_us);
		ab_str(&a[OUT], k, r->outcome);
		snprintf(num, sizeof(num), "%ld", r->status_code);
		ab_raw(&a[CODE], k, r->status_code ? num : "NULL");
		ab_str(&a[ERR], k, r->error);
		ab_str(&a[RESP], k, r->response);
		if (r->next_us)
			ab_ts(&a[NEXT], k, r->next_us);
		else
			ab_raw(&a[NEXT], k, "NULL");
		ab_str(&a[PROV], k, r->provider_response);
	}
	for (int i = 0; i < NA; i++)
		if (!(p[i + 1] = ab_done(&a[i], n)))
			goto out;
	if (dstore_tx(d, tenant,
		      "SELECT leo_deliver_record_many($1, $2::bigint[], $3::integer[],"
		      " $4::timestamptz[], $5::timestamptz[], $6::text[], $7::integer[], $8::text[],"
		      " $9::text[], $10::timestamptz[], $11::jsonb[])",
		      NA + 1, p, &res))
		goto out;
	if (PQntuples(res) == 1)
		for (int k = 0; k < n; k++)
			kept[k] = dstore_in_array(PQgetvalue(res, 0, 0), rec[k].delivery_id);
	PQclear(res);
	rc = 0;
out:
	for (int i = 0; i < NA; i++)
		sbuf_free(&a[i]);
	return rc;
}

int dstore_release(struct dstore *d, const char *tenant, const char *owner, const long long *ids,
		   int n)
{
	char *arr = malloc((size_t)n * 22 + 3);
	const char *p[2] = { owner, arr };
	size_t k = 0;
	PGresult *r;
	int rc;

	if (!arr)
		return -1;
	arr[k++] = '{';
	for (int i = 0; i < n; i++)
		k += (size_t)sprintf(arr + k, "%s%lld", i ? "," : "", ids[i]);
	arr[k++] = '}';
	arr[k] = '\0';
	rc = dstore_tx(d, tenant, "SELECT leo_deliver_release($1, $2::bigint[])", 2, p, &r);
	PQclear(r);
	free(arr);
	return rc;
}

int dstore_backlog(struct dstore *d, const char *tenant, double queued[], int nchannels,
		   double *oldest_s)
{
	PGresult *r;

	*oldest_s = 0;
	if (dstore_tx(d, tenant, "SELECT channel, queued, oldest_s FROM leo_deliver_backlog()", 0,
		      NULL, &r))
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		int ch = deliver_channel_id(PQgetvalue(r, i, 0));
		double age = strtod(PQgetvalue(r, i, 2), NULL);

		if (ch >= 0 && ch < nchannels)
			queued[ch] += strtod(PQgetvalue(r, i, 1), NULL);
		if (age > *oldest_s)
			*oldest_s = age;
	}
	PQclear(r);
	return 0;
}

int dstore_receipt(struct dstore *d, const char *tenant, long long delivery_id,
		   const char *status, const char *provider_response, const char **result)
{
	static const char *const results[] = { "ok", "unknown", "conflict" };
	char id[24];
	const char *p[3] = { id, status, provider_response };
	PGresult *r;

	*result = NULL;
	snprintf(id, sizeof(id), "%lld", delivery_id);
	if (dstore_tx(d, tenant,
		      "SELECT leo_deliver_receipt($1, $2::delivery_status, $3::jsonb)", 3, p, &r))
		return -1;
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
		if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), results[i]) == 0)
			*result = results[i];
	PQclear(r);
	return *result ? 0 : -1;
}
