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

#include "deliver_cfg.h"
#include "deliver_metrics.h"
#include "log.h"
#include "pool.h"

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

/* A unix microsecond time as a timestamptz literal. */
static void dstore_ts(char *buf, size_t cap, int64_t us)
{
	snprintf(buf, cap, "%" PRId64 ".%06" PRId64, us / 1000000, us % 1000000);
}

int dstore_record(struct dstore *d, const char *tenant, const char *owner,
		  const struct drecord *rec, int n, bool *kept)
{
	enum { NP = 11, W = 40 };
	const char **p = calloc((size_t)n * NP, sizeof(*p));
	char (*buf)[6][W] = calloc((size_t)n, sizeof(*buf));
	PGresult **res = calloc((size_t)n, sizeof(*res));
	int rc = -1;

	for (int k = 0; k < n; k++)
		kept[k] = false;
	if (!p || !buf || !res)
		goto out;
	for (int k = 0; k < n; k++) {
		const struct drecord *r = &rec[k];
		char *id = buf[k][0], *att = buf[k][1], *st = buf[k][2], *en = buf[k][3],
		     *code = buf[k][4], *next = buf[k][5];
		const char *row[NP] = { owner, id, r->attempt ? att : NULL, st, en, r->outcome,
					r->status_code ? code : NULL, r->error, r->response,
					r->next_us ? next : NULL, r->provider_response };

		snprintf(id, W, "%lld", r->delivery_id);
		snprintf(att, W, "%d", r->attempt);
		dstore_ts(st, W, r->started_us);
		dstore_ts(en, W, r->ended_us);
		snprintf(code, W, "%ld", r->status_code);
		dstore_ts(next, W, r->next_us);
		memcpy(p + k * NP, row, sizeof(row));
	}
	if (dstore_tx_many(d, tenant,
			   "SELECT leo_deliver_record($1, $2, $3, to_timestamp($4::float8),"
			   " to_timestamp($5::float8), $6, $7, $8, $9, to_timestamp($10::float8), $11::jsonb)",
			   NP, p, n, res))
		goto out;
	for (int k = 0; k < n; k++) {
		kept[k] = res[k] && PQntuples(res[k]) == 1 && PQgetvalue(res[k], 0, 0)[0] == 't';
		PQclear(res[k]);
	}
	rc = 0;
out:
	free(p);
	free(buf);
	free(res);
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
