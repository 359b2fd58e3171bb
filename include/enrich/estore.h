/*
 * estore.h — leo-enrich's calls of the schema's enrichment functions
 * (schema/47_enrich.sql) over one connection of the loop thread.  The
 * functions set the tenant themselves (RLS applies to every row), so each
 * call here is one statement or one pipelined transaction.  NB: calls block
 * the loop thread for their round trip.
 */
#ifndef LEO_ESTORE_H
#define LEO_ESTORE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "enrich_metrics.h"

struct pool;
struct estore;

#define ESTORE_TENANT_SIZE 37

/* A claimed job, and what the document is made of (leo_enrich_fields). */
struct estore_job {
	char tenant[ESTORE_TENANT_SIZE];
	long long job_id;
	char *profile_id;
	int attempt;			/* the attempt being made, from 1 */
	char *fields;			/* json text; NULL: the profile is gone */
};

/* What became of a job: vec (EMBED_DIM floats) for done, else error. */
struct estore_outcome {
	const float *vec;
	const char *error;
	bool permanent;
	double backoff_s;
	enum enrich_result result;	/* out: as the database recorded it */
};

struct estore_news {
	long long news_id;
	char *headline, *body;
};

/* A libpq error (r's, else c's) on one line, for the log; the calling
 * thread's buffer, valid until its next call. */
const char *estore_errmsg(PGconn *c, const PGresult *r);

struct estore *estore_new(struct pool *p) __attribute__((warn_unused_result));
void estore_free(struct estore *s);
/* Connected now (the last call did not lose the connection). */
bool estore_up(const struct estore *s);

/* Claim up to limit jobs over every active tenant: the number in *jobs
 * (malloc'd, estore_jobs_free), or -1 (logged). */
int estore_claim(struct estore *s, const char *owner, int lease_s, int limit, int events,
		 int max_attempts, struct estore_job **jobs) __attribute__((warn_unused_result));
void estore_jobs_free(struct estore_job *j, int n);

/* Record n outcomes in one transaction (done: leo_enrich_done; else
 * leo_enrich_fail), each o[i].result set.  Should the transaction fail,
 * each job is recorded alone instead.  0, or -1 (logged: connection lost;
 * the leases bring the jobs back). */
int estore_finish(struct estore *s, const char *owner, const struct estore_job *jobs,
		  struct estore_outcome *o, int n, int max_attempts)
	__attribute__((warn_unused_result));

/* News rows without an embedding after news_id after: the number in *news
 * (estore_news_free), or -1. */
int estore_news_pick(struct estore *s, long long after, int limit, struct estore_news **news)
	__attribute__((warn_unused_result));
void estore_news_free(struct estore_news *n, int count);
/* Write n news embeddings (vecs: n * EMBED_DIM) in one transaction; 0 or -1. */
int estore_news_done(struct estore *s, const struct estore_news *news, const float *vecs, int n)
	__attribute__((warn_unused_result));

/* The queue: jobs waiting and the oldest one's age; 0 or -1. */
int estore_backlog(struct estore *s, double *waiting, double *oldest_s)
	__attribute__((warn_unused_result));

/* The embedding as PostgreSQL's real[] text "{v,v,...}" into buf (at
 * least ESTORE_VEC_TEXT bytes); exact (%.9g round-trips a float). */
#define ESTORE_VEC_TEXT (1536 * 17 + 3)
void estore_vec_text(const float *v, char *buf);

#endif
