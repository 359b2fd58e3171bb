/*
 * estore.c — leo-enrich's calls of schema/47_enrich.sql.  One connection of
 * the loop thread, opened at the first call and again after a loss (counted
 * as a reconnect).  A batch's results go as one pipelined transaction:
 *
 *	BEGIN
 *	SELECT leo_enrich_done(owner, tenant, job, embedding)   -- or _fail
 *	...
 *	COMMIT
 *
 * sent in one go and read back in one round trip; should any statement fail
 * (the transaction then is aborted), each job is recorded again on its own,
 * so one bad row costs its own job only.
 */
#include "estore.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_hashing.h"
#include "log.h"
#include "pool.h"

struct estore {
	struct pool *pool;
	PGconn *conn;		/* NULL: connect at the next call */
	bool ever;		/* connected once: the next connection is a reconnect */
};

struct estore *estore_new(struct pool *p)
{
	struct estore *s = calloc(1, sizeof(*s));

	if (s)
		s->pool = p;
	return s;
}

void estore_free(struct estore *s)
{
	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	free(s);
}

bool estore_up(const struct estore *s)
{
	return s->conn != NULL;
}

const char *estore_errmsg(PGconn *c, const PGresult *r)
{
	static __thread char buf[512];
	const char *m = r ? PQresultErrorMessage(r) : "";
	char *o = buf;
	bool gap = false;

	if (!m[0])
		m = c ? PQerrorMessage(c) : "";
	/* DETAIL and HINT lines, libpq's explanations: one log line */
	for (; *m && o < buf + sizeof(buf) - 1; m++) {
		if (*m == '\n' || *m == '\t' || *m == ' ') {
			gap = o > buf;
			continue;
		}
		if (gap && o < buf + sizeof(buf) - 2)
			*o++ = ' ';
		gap = false;
		*o++ = *m;
	}
	*o = '\0';
	return buf;
}

static void estore_drop(struct estore *s)
{
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
}

static int estore_conn(struct estore *s)
{
	if (s->conn)
		return 0;
	s->conn = pool_connect(s->pool);
	if (!s->conn)
		return -1;
	if (s->ever)
		enrich_metrics_db_reconnect();
	s->ever = true;
	return 0;
}

/* One statement, its rows in *res (PQclear it).  0 or -1 (logged). */
static int estore_exec(struct estore *s, const char *sql, int n, const char *const *params,
		       PGresult **res)
{
	PGresult *r;

	*res = NULL;
	if (estore_conn(s))
		return -1;
	r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("database: %s", estore_errmsg(s->conn, r));
		PQclear(r);
		if (PQstatus(s->conn) != CONNECTION_OK)
			estore_drop(s);
		return -1;
	}
	*res = r;
	return 0;
}

static char *estore_dup(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

void estore_jobs_free(struct estore_job *j, int n)
{
	if (!j)
		return;
	for (int i = 0; i < n; i++) {
		free(j[i].profile_id);
		free(j[i].fields);
	}
	free(j);
}

int estore_claim(struct estore *s, const char *owner, int lease_s, int limit, int events,
		 int max_attempts, struct estore_job **jobs)
{
	char ls[16], li[16], ev[16], ma[16];
	const char *p[] = { owner, ls, li, ev, ma };
	PGresult *r;
	struct estore_job *j;
	int n;

	*jobs = NULL;
	snprintf(ls, sizeof(ls), "%d", lease_s);
	snprintf(li, sizeof(li), "%d", limit);
	snprintf(ev, sizeof(ev), "%d", events);
	snprintf(ma, sizeof(ma), "%d", max_attempts);
	if (estore_exec(s, "SELECT tenant_id, job_id, profile_id, attempt, fields "
			"FROM leo_enrich_claim($1, $2, $3, $4, $5)", 5, p, &r))
		return -1;
	n = PQntuples(r);
	j = calloc(n ? (size_t)n : 1, sizeof(*j));
	if (!j) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(j[i].tenant, sizeof(j[i].tenant), "%s", PQgetvalue(r, i, 0));
		j[i].job_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		j[i].profile_id = estore_dup(r, i, 2);
		j[i].attempt = atoi(PQgetvalue(r, i, 3));
		j[i].fields = estore_dup(r, i, 4);
		if (!j[i].profile_id || (!PQgetisnull(r, i, 4) && !j[i].fields)) {
			/* out of memory: the leases bring these jobs back */
			PQclear(r);
			estore_jobs_free(j, n);
			return -1;
		}
	}
	PQclear(r);
	*jobs = j;
	return n;
}

void estore_vec_text(const float *v, char *buf)
{
	char *o = buf;

	*o++ = '{';
	for (int i = 0; i < EMBED_DIM; i++)
		o += sprintf(o, i ? ",%.9g" : "%.9g", (double)v[i]);
	*o++ = '}';
	*o = '\0';
}

static const char estore_done_sql[] = "SELECT leo_enrich_done($1, $2, $3, $4::real[])";
static const char estore_many_sql[] =
	"SELECT job_id, result FROM leo_enrich_done_many($1, $2, $3::bigint[], $4)";
static const char estore_fail_sql[] =
	"SELECT leo_enrich_fail($1, $2, $3, $4, $5, $6, $7)";

/* 'done' 'queued' 'failed' 'gone' 'lost' -> the metric's result. */
static enum enrich_result estore_result(const char *v)
{
	if (strcmp(v, "done") == 0)
		return ER_DONE;
	if (strcmp(v, "queued") == 0)
		return ER_RETRY;
	if (strcmp(v, "failed") == 0)
		return ER_FAILED;
	if (strcmp(v, "gone") == 0)
		return ER_GONE;
	return ER_LOST;
}

/* One statement of a pipeline and whose result it carries. */
struct estore_stmt {
	int job;		/* its job's index; -1: none (BEGIN, COMMIT) */
	bool many;		/* leo_enrich_done_many of job's tenant: a row per job */
};

/* A job's fail statement (or its done, alone). */
static int estore_send_one(struct estore *s, const char *owner, const struct estore_job *j,
			   const struct estore_outcome *o, int max_attempts, char *vbuf)
{
	char id[24], bo[32], ma[16];

	snprintf(id, sizeof(id), "%lld", j->job_id);
	if (o->vec) {
		const char *p[] = { owner, j->tenant, id, vbuf };

		estore_vec_text(o->vec, vbuf);
		return PQsendQueryParams(s->conn, estore_done_sql, 4, NULL, p, NULL, NULL, 0) ? 0 : -1;
	}
	snprintf(bo, sizeof(bo), "%.3f", o->backoff_s);
	snprintf(ma, sizeof(ma), "%d", max_attempts);
	{
		const char *p[] = { owner, j->tenant, id, o->error ? o->error : "error",
				    o->permanent ? "true" : "false", bo, ma };

		return PQsendQueryParams(s->conn, estore_fail_sql, 7, NULL, p, NULL, NULL, 0) ? 0 : -1;
	}
}

/* Append a big-endian 32-bit word. */
static unsigned char *estore_be32(unsigned char *o, uint32_t v)
{
	o[0] = (unsigned char)(v >> 24);
	o[1] = (unsigned char)(v >> 16);
	o[2] = (unsigned char)(v >> 8);
	o[3] = (unsigned char)v;
	return o + 4;
}

/* leo_enrich_done_many for the done jobs of jobs[t]'s tenant: the job ids
 * as text, the embeddings one after the other as one float4[] in binary
 * (array_send's format: ndim, no nulls, element type, dimension, lower
 * bound, then each element's length and bits), so neither side prints or
 * parses 1536 numbers per job.  0 or -1. */
static int estore_send_many(struct estore *s, const char *owner, const struct estore_job *jobs,
			    const struct estore_outcome *o, int n, int t)
{
	char *ids = malloc((size_t)n * 24 + 3), *io;
	unsigned char *bin, *bo;
	int nd = 0, rc;

	for (int i = 0; i < n; i++)
		nd += o[i].vec && strcmp(jobs[i].tenant, jobs[t].tenant) == 0;
	bin = malloc(20 + (size_t)nd * EMBED_DIM * 8);
	if (!ids || !bin) {
		free(ids);
		free(bin);
		return -1;
	}
	io = ids;
	*io++ = '{';
	bo = estore_be32(bin, 1);		/* ndim */
	bo = estore_be32(bo, 0);		/* no nulls */
	bo = estore_be32(bo, 700);		/* float4 */
	bo = estore_be32(bo, (uint32_t)(nd * EMBED_DIM));
	bo = estore_be32(bo, 1);		/* lower bound */
	for (int i = 0; i < n; i++) {
		if (!o[i].vec || strcmp(jobs[i].tenant, jobs[t].tenant) != 0)
			continue;
		if (io[-1] != '{')
			*io++ = ',';
		io += sprintf(io, "%lld", jobs[i].job_id);
		for (int k = 0; k < EMBED_DIM; k++) {
			uint32_t bits;

			memcpy(&bits, &o[i].vec[k], sizeof(bits));
			bo = estore_be32(bo, 4);
			bo = estore_be32(bo, bits);
		}
	}
	*io++ = '}';
	*io = '\0';
	{
		const char *p[] = { owner, jobs[t].tenant, ids, (const char *)bin };
		const Oid types[] = { 0, 0, 0, 1021 };	/* _float4 */
		const int lens[] = { 0, 0, 0, (int)(bo - bin) };
		const int fmts[] = { 0, 0, 0, 1 };

		rc = PQsendQueryParams(s->conn, estore_many_sql, 4, types, p, lens, fmts, 0) ? 0 : -1;
	}
	free(ids);
	free(bin);
	return rc;
}

/* Read the results of nq statements and the sync; each statement's result
 * to its job (a done_many's rows by job id).  0, -1 when a statement
 * failed, -2 when the connection is gone. */
static int estore_read(struct estore *s, const struct estore_stmt *st, int nq,
		       const struct estore_job *jobs, struct estore_outcome *o, int n)
{
	PGresult *r;
	int rc = 0;

	for (int q = 0; q < nq; q++) {
		while ((r = PQgetResult(s->conn)) != NULL) {
			ExecStatusType x = PQresultStatus(r);

			if (x == PGRES_FATAL_ERROR && rc == 0)
				log_warn("database: %s", estore_errmsg(s->conn, r));
			if (x != PGRES_COMMAND_OK && x != PGRES_TUPLES_OK)
				rc = -1;
			if (x == PGRES_TUPLES_OK && st[q].many) {
				for (int row = 0; row < PQntuples(r); row++) {
					long long id = strtoll(PQgetvalue(r, row, 0), NULL, 10);

					for (int i = 0; i < n; i++)
						if (o[i].vec && jobs[i].job_id == id &&
						    strcmp(jobs[i].tenant, jobs[st[q].job].tenant) == 0)
							o[i].result = estore_result(PQgetvalue(r, row, 1));
				}
			} else if (x == PGRES_TUPLES_OK && st[q].job >= 0 && PQntuples(r) == 1) {
				o[st[q].job].result = estore_result(PQgetvalue(r, 0, 0));
			}
			PQclear(r);
		}
	}
	r = PQgetResult(s->conn);
	if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		PQclear(r);
		return -2;
	}
	PQclear(r);
	return rc;
}

/* Send the statements of jobs[0..n) (tx: in one transaction, the done ones
 * by tenant in done_many; else each alone) and read them.  0, -1, -2 as
 * estore_read. */
static int estore_pipe(struct estore *s, const char *owner, const struct estore_job *jobs,
		       struct estore_outcome *o, int n, int max_attempts, bool tx, char *vbuf)
{
	struct estore_stmt *st = calloc((size_t)n + 2, sizeof(*st));
	int nq = 0, rc;

	if (!st)
		return -1;
	if (!PQenterPipelineMode(s->conn))
		goto lost;
	if (tx) {
		if (!PQsendQueryParams(s->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
			goto lost;
		st[nq++] = (struct estore_stmt){ .job = -1 };
	}
	for (int i = 0; i < n; i++) {
		bool first_of_tenant = true;

		if (tx && o[i].vec) {
			for (int k = 0; k < i && first_of_tenant; k++)
				if (o[k].vec && strcmp(jobs[k].tenant, jobs[i].tenant) == 0)
					first_of_tenant = false;
			if (!first_of_tenant)
				continue;
			if (estore_send_many(s, owner, jobs, o, n, i))
				goto lost;
			st[nq++] = (struct estore_stmt){ .job = i, .many = true };
			continue;
		}
		if (estore_send_one(s, owner, &jobs[i], &o[i], max_attempts, vbuf))
			goto lost;
		st[nq++] = (struct estore_stmt){ .job = i };
	}
	if (tx) {
		if (!PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
			goto lost;
		st[nq++] = (struct estore_stmt){ .job = -1 };
	}
	if (!PQpipelineSync(s->conn))
		goto lost;
	rc = estore_read(s, st, nq, jobs, o, n);
	free(st);
	if (rc == -2 || !PQexitPipelineMode(s->conn))
		return -2;
	if (rc && tx) {
		/* an error inside BEGIN leaves the block open and aborted */
		PGresult *r = PQexec(s->conn, "ROLLBACK");

		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = -2;
		PQclear(r);
	}
	return rc;
lost:
	free(st);
	return -2;
}

int estore_finish(struct estore *s, const char *owner, const struct estore_job *jobs,
		  struct estore_outcome *o, int n, int max_attempts)
{
	char *vbuf = malloc(ESTORE_VEC_TEXT);
	int rc;

	if (!vbuf)
		return -1;
	if (estore_conn(s)) {
		free(vbuf);
		return -1;
	}
	for (int i = 0; i < n; i++)
		o[i].result = ER_LOST;
	rc = estore_pipe(s, owner, jobs, o, n, max_attempts, true, vbuf);
	if (rc == -1) {
		/* one statement failed and took the batch with it: one by one */
		for (int i = 0; i < n && rc != -2; i++) {
			o[i].result = ER_LOST;
			rc = estore_pipe(s, owner, &jobs[i], &o[i], 1, max_attempts, false, vbuf);
			if (rc == -1 && o[i].vec) {
				/* the write itself is refused: record why instead */
				struct estore_outcome f = { .error = "the database refused the embedding",
							    .permanent = true };

				rc = estore_pipe(s, owner, &jobs[i], &f, 1, max_attempts, false, vbuf);
				o[i].result = f.result;
			}
		}
	}
	free(vbuf);
	if (rc == -2) {
		log_warn("database connection lost: %s", estore_errmsg(s->conn, NULL));
		estore_drop(s);
		return -1;
	}
	return 0;
}

void estore_news_free(struct estore_news *n, int count)
{
	if (!n)
		return;
	for (int i = 0; i < count; i++) {
		free(n[i].headline);
		free(n[i].body);
	}
	free(n);
}

int estore_news_pick(struct estore *s, long long after, int limit, struct estore_news **news)
{
	char a[24], l[16];
	const char *p[] = { a, l };
	PGresult *r;
	struct estore_news *v;
	int n;

	*news = NULL;
	snprintf(a, sizeof(a), "%lld", after);
	snprintf(l, sizeof(l), "%d", limit);
	if (estore_exec(s, "SELECT news_id, headline, body FROM leo_enrich_news_pick($1, $2)", 2, p,
			&r))
		return -1;
	n = PQntuples(r);
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		v[i].news_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		v[i].headline = estore_dup(r, i, 1);
		v[i].body = estore_dup(r, i, 2);
		if (!v[i].headline) {
			PQclear(r);
			estore_news_free(v, n);
			return -1;
		}
	}
	PQclear(r);
	*news = v;
	return n;
}

int estore_news_done(struct estore *s, const struct estore_news *news, const float *vecs, int n)
{
	char *vbuf = malloc(ESTORE_VEC_TEXT);
	PGresult *r;
	int rc = 0;

	if (!vbuf || estore_conn(s)) {
		free(vbuf);
		return -1;
	}
	/* each row its own statement: one refused embedding costs only its row */
	for (int i = 0; i < n && rc == 0; i++) {
		char id[24];
		const char *p[] = { id, vbuf };

		snprintf(id, sizeof(id), "%lld", news[i].news_id);
		estore_vec_text(vecs + (size_t)i * EMBED_DIM, vbuf);
		r = PQexecParams(s->conn, "SELECT leo_enrich_news_done($1, $2::real[])", 2, NULL, p,
				 NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_warn("database: news %lld: %s", news[i].news_id, estore_errmsg(s->conn, r));
			if (PQstatus(s->conn) != CONNECTION_OK) {
				estore_drop(s);
				rc = -1;
			}
			enrich_metrics_news(0);
		} else if (PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't') {
			enrich_metrics_news(1);	/* not when another worker's came first */
		}
		PQclear(r);
	}
	free(vbuf);
	return rc;
}

int estore_backlog(struct estore *s, double *waiting, double *oldest_s)
{
	PGresult *r;

	if (estore_exec(s, "SELECT waiting, oldest_s FROM leo_enrich_backlog()", 0, NULL, &r))
		return -1;
	*waiting = PQntuples(r) ? atof(PQgetvalue(r, 0, 0)) : 0;
	*oldest_s = PQntuples(r) ? atof(PQgetvalue(r, 0, 1)) : 0;
	PQclear(r);
	return 0;
}
