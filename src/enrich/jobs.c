/*
 * jobs.c — the rounds of leo-enrich, as jobs.h says.  Loop thread only.
 *
 * A round: claim up to batch_size due jobs (leo_enrich_claim: every active
 * tenant, leased to this worker); build each job's document from the
 * fields the claim returned; embed the batch; record it (estore_finish: one
 * transaction; done, or failed with backoff or for good).  A recorded batch
 * starts the next round at once; one that claims nothing, with enrich.news,
 * turns to the news
 * without an embedding get the same treatment, a batch at a time, after a
 * cursor that goes back to the start at each poll tick (so a row that
 * keeps failing is tried once per tick, not in a loop).
 *
 * Nothing is lost when this process dies: a claimed job not recorded comes
 * back when its lease runs out.  A database error ends the round; the
 * next poll tick (or NOTIFY, once the LISTEN connection is back) starts
 * another on a new connection.
 *
 * Backoff after a transient error: backoff_initial_s doubled per attempt
 * made, at most backoff_max_s, times a jitter of 0.75 to 1.25.
 */
#include "jobs.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "document.h"
#include "embed_hashing.h"
#include "embed_openai.h"
#include "enrich_metrics.h"
#include "estore.h"
#include "log.h"
#include "pool.h"

struct jobs {
	struct event_base *base;
	struct pool *pool;
	struct embed_openai *openai;	/* NULL: hashing */
	struct enrich_cfg_enrich c;
	char owner[128];
	jobs_ready_fn *ready_fn;
	void *ready_arg;
	bool ready;

	struct estore *store;
	PGconn *listen;			/* LISTEN leo_enrich; NULL: reconnect at the tick */
	struct event *ev_listen, *ev_poll, *ev_run;

	/* the batch in flight */
	bool busy, draining;
	bool news_batch;		/* the batch is news, not jobs */
	int n;
	struct estore_job *jobs;
	struct estore_news *news;
	char **texts;
	float *vecs;
	const char **in;		/* openai: the texts sent, m of them */
	int *at;			/* ... in[k] is texts[at[k]] */
	float *tmp;			/* ... their answers, in that order */
	int m;
	struct timespec t0;		/* the embedding's start */
	struct timespec tc;		/* the claim's start */
	double claim_s, embed_s;	/* for the debug line of the batch */
	long long news_after;		/* the news cursor */
};

static void jobs_set_ready(struct jobs *j, bool ready)
{
	if (ready == j->ready)
		return;
	j->ready = ready;
	if (j->ready_fn)
		j->ready_fn(j->ready_arg, ready);
}

static void jobs_kick(struct jobs *j)
{
	if (!j->draining)
		event_active(j->ev_run, EV_TIMEOUT, 0);
}

static double jobs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static double jobs_backoff(const struct jobs *j, int attempt)
{
	double b = j->c.backoff_initial_s * pow(2.0, attempt > 1 ? attempt - 1 : 0);

	if (b > j->c.backoff_max_s)
		b = j->c.backoff_max_s;
	return b * (0.75 + 0.5 * ((double)rand() / RAND_MAX));
}

static void jobs_batch_free(struct jobs *j)
{
	for (int i = 0; i < j->n && j->texts; i++)
		free(j->texts[i]);
	free(j->texts);
	free(j->vecs);
	free(j->in);
	free(j->at);
	free(j->tmp);
	j->in = NULL;
	j->at = NULL;
	j->tmp = NULL;
	j->m = 0;
	estore_jobs_free(j->jobs, j->n);
	estore_news_free(j->news, j->n);
	j->texts = NULL;
	j->vecs = NULL;
	j->jobs = NULL;
	j->news = NULL;
	j->n = 0;
	j->busy = false;
}

/* The batch is over: next round, or the drain's end. */
static void jobs_round_over(struct jobs *j, bool more)
{
	jobs_batch_free(j);
	if (j->draining)
		event_base_loopbreak(j->base);
	else if (more)
		jobs_kick(j);
}

/* Record a job batch: r NULL or ok: every job with a text is done. */
static void jobs_record(struct jobs *j, const struct embed_result *r)
{
	struct estore_outcome *o = calloc((size_t)j->n, sizeof(*o));
	struct timespec t;
	bool ok = true;

	if (!o) {
		log_error("out of memory recording a batch; its leases bring it back");
		jobs_round_over(j, false);
		return;
	}
	for (int i = 0; i < j->n; i++) {
		if (!j->texts[i]) {
			o[i].error = "profile not found";
			o[i].permanent = true;
		} else if (r && !r->ok) {
			o[i].error = r->error;
			o[i].permanent = !r->transient;
			o[i].backoff_s = jobs_backoff(j, j->jobs[i].attempt);
		} else {
			o[i].vec = j->vecs + (size_t)i * EMBED_DIM;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (estore_finish(j->store, j->owner, j->jobs, o, j->n, j->c.max_attempts)) {
		jobs_set_ready(j, false);
		ok = false;
	} else {
		for (int i = 0; i < j->n; i++) {
			enrich_metrics_job(o[i].result);
			if (o[i].result == ER_FAILED || o[i].result == ER_RETRY)
				log_warn("job %lld of tenant %s (profile %s): %s", j->jobs[i].job_id,
					 j->jobs[i].tenant, j->jobs[i].profile_id,
					 o[i].error ? o[i].error : "attempts used up");
		}
		log_debug("batch of %d jobs recorded (claim %.1f ms, embed %.1f ms, record %.1f ms)",
			  j->n, j->claim_s * 1e3, j->embed_s * 1e3, jobs_since(&t) * 1e3);
	}
	free(o);
	jobs_round_over(j, ok);	/* more jobs, or else the news */
}

static void jobs_record_news(struct jobs *j, const struct embed_result *r)
{
	bool ok = true;

	if (r && !r->ok) {
		log_warn("news %lld..%lld: %s", j->news[0].news_id, j->news[j->n - 1].news_id,
			 r->error);
		for (int i = 0; i < j->n; i++)
			enrich_metrics_news(0);
	} else if (estore_news_done(j->store, j->news, j->vecs, j->n)) {
		jobs_set_ready(j, false);
		ok = false;
	}
	if (ok)
		j->news_after = j->news[j->n - 1].news_id;
	jobs_round_over(j, ok);
}

/* Loop: the openai embedder's answer to the batch in flight. */
static void jobs_on_embedded(const struct embed_result *r, void *arg)
{
	struct jobs *j = arg;

	j->embed_s = jobs_since(&j->t0);
	enrich_metrics_embed_seconds(j->embed_s);
	if (r && r->ok)
		for (int k = 0; k < j->m; k++)
			memcpy(j->vecs + (size_t)j->at[k] * EMBED_DIM, j->tmp + (size_t)k * EMBED_DIM,
			       EMBED_DIM * sizeof(*j->vecs));
	if (j->news_batch)
		jobs_record_news(j, r);
	else
		jobs_record(j, r);
}

/* Embed the texts of the batch (NULL texts skipped) and record it. */
static void jobs_embed(struct jobs *j)
{
	int m = 0;

	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	if (!j->openai) {
		for (int i = 0; i < j->n; i++) {
			if (j->texts[i] && embed_hashing(j->texts[i], strlen(j->texts[i]),
							 j->vecs + (size_t)i * EMBED_DIM)) {
				free(j->texts[i]);	/* out of memory: fail this one */
				j->texts[i] = NULL;
			}
		}
		jobs_on_embedded(NULL, j);
		return;
	}
	/* openai: the texts there are, in a row (j->in), each answer then
	 * moved to its job's place (j->at) */
	j->in = calloc((size_t)j->n, sizeof(*j->in));
	j->at = calloc((size_t)j->n, sizeof(*j->at));
	j->tmp = calloc((size_t)j->n * EMBED_DIM, sizeof(*j->tmp));
	if (!j->in || !j->at || !j->tmp) {
		jobs_on_embedded(&(struct embed_result){ .transient = true,
							 .error = "out of memory" }, j);
		return;
	}
	for (int i = 0; i < j->n; i++)
		if (j->texts[i]) {
			j->at[m] = i;
			j->in[m++] = j->texts[i];
		}
	j->m = m;
	if (m == 0) {
		jobs_on_embedded(NULL, j);
		return;
	}
	embed_openai_send(j->openai, j->in, (size_t)m, j->tmp, jobs_on_embedded, j);
}

/* Documents of the claimed jobs; a job without fields gets no text. */
static int jobs_documents(struct jobs *j)
{
	j->texts = calloc((size_t)j->n, sizeof(*j->texts));
	j->vecs = calloc((size_t)j->n * EMBED_DIM, sizeof(*j->vecs));
	if (!j->texts || !j->vecs)
		return -1;
	for (int i = 0; i < j->n; i++) {
		cJSON *f;

		if (j->news_batch) {
			j->texts[i] = document_news(j->news[i].headline, j->news[i].body);
			if (!j->texts[i])
				return -1;
			continue;
		}
		if (!j->jobs[i].fields)
			continue;
		f = cJSON_Parse(j->jobs[i].fields);
		if (!f)
			continue;	/* cannot happen (the database wrote it); fails the job */
		j->texts[i] = document_profile(f, j->c.events_per_profile);
		cJSON_Delete(f);
		if (!j->texts[i])
			return -1;
	}
	return 0;
}

/* A round of news; false when there was none to do. */
static bool jobs_news_round(struct jobs *j)
{
	int n = estore_news_pick(j->store, j->news_after, j->c.batch_size, &j->news);

	if (n <= 0) {
		estore_news_free(j->news, 0);
		j->news = NULL;
		if (n < 0)
			jobs_set_ready(j, false);
		return false;
	}
	j->n = n;
	j->news_batch = true;
	j->busy = true;
	if (jobs_documents(j)) {
		log_error("out of memory building news documents");
		jobs_batch_free(j);
		return false;
	}
	jobs_embed(j);
	return true;
}

static void jobs_round(struct jobs *j)
{
	int n;

	if (j->busy || j->draining)
		return;
	clock_gettime(CLOCK_MONOTONIC, &j->tc);
	n = estore_claim(j->store, j->owner, j->c.lease_s, j->c.batch_size, j->c.events_per_profile,
			 j->c.max_attempts, &j->jobs);
	if (n < 0) {
		jobs_set_ready(j, false);
		return;
	}
	jobs_set_ready(j, true);
	j->claim_s = jobs_since(&j->tc);
	if (n == 0) {
		estore_jobs_free(j->jobs, 0);
		j->jobs = NULL;
		if (j->c.news)
			jobs_news_round(j);
		return;
	}
	j->n = n;
	j->news_batch = false;
	j->busy = true;
	if (jobs_documents(j)) {
		/* out of memory: leave the jobs to their leases */
		log_error("out of memory building documents; the leases bring the jobs back");
		jobs_batch_free(j);
		return;
	}
	jobs_embed(j);
}

static void jobs_on_run(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	jobs_round(arg);
}

static void jobs_listen_drop(struct jobs *j)
{
	if (j->ev_listen) {
		event_free(j->ev_listen);
		j->ev_listen = NULL;
	}
	if (j->listen) {
		PQfinish(j->listen);
		j->listen = NULL;
	}
}

static void jobs_on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct jobs *j = arg;
	PGnotify *nt;
	bool any = false;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(j->listen)) {
		log_warn("LISTEN connection lost: %s", estore_errmsg(j->listen, NULL));
		jobs_listen_drop(j);
		return;
	}
	while ((nt = PQnotifies(j->listen)) != NULL) {
		any = true;
		PQfreemem(nt);
	}
	if (any)
		jobs_kick(j);
}

static int jobs_listen_open(struct jobs *j)
{
	PGresult *r;

	j->listen = pool_connect(j->pool);
	if (!j->listen)
		return -1;
	r = PQexec(j->listen, "LISTEN leo_enrich");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("LISTEN leo_enrich: %s", estore_errmsg(j->listen, r));
		PQclear(r);
		jobs_listen_drop(j);
		return -1;
	}
	PQclear(r);
	if (PQsetnonblocking(j->listen, 1) ||
	    !(j->ev_listen = event_new(j->base, PQsocket(j->listen), EV_READ | EV_PERSIST,
				       jobs_on_notify, j)) ||
	    event_add(j->ev_listen, NULL)) {
		jobs_listen_drop(j);
		return -1;
	}
	return 0;
}

/* The poll tick: LISTEN back if lost, the queue's gauges, a round, and
 * the news cursor back to the start. */
static void jobs_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct jobs *j = arg;
	double waiting, oldest;

	(void)fd;
	(void)what;
	if (j->draining)
		return;
	if (!j->listen && jobs_listen_open(j) == 0)
		log_info("listening on leo_enrich again");
	if (!j->busy && estore_backlog(j->store, &waiting, &oldest) == 0)
		enrich_metrics_backlog(waiting, oldest);
	if (!j->busy)
		j->news_after = 0;
	jobs_kick(j);
}

static int jobs_poll_arm(struct jobs *j)
{
	struct timeval tv = { j->c.poll_interval_s, 0 };

	return event_add(j->ev_poll, &tv);
}

struct jobs *jobs_new(struct event_base *base, struct pool *pool, struct embed_openai *openai,
		      const struct enrich_cfg_enrich *c, const char *owner, jobs_ready_fn *ready,
		      void *arg)
{
	struct jobs *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base = base;
	j->pool = pool;
	j->openai = openai;
	j->c = *c;
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	j->ready_fn = ready;
	j->ready_arg = arg;
	j->store = estore_new(pool);
	j->ev_poll = event_new(base, -1, EV_PERSIST, jobs_on_poll, j);
	j->ev_run = event_new(base, -1, 0, jobs_on_run, j);
	if (!j->store || !j->ev_poll || !j->ev_run) {
		jobs_free(j);
		return NULL;
	}
	return j;
}

int jobs_start(struct jobs *j)
{
	if (jobs_listen_open(j))
		log_warn("cannot LISTEN leo_enrich yet; polling every %d s until it can",
			 j->c.poll_interval_s);
	if (jobs_poll_arm(j))
		return -1;
	jobs_kick(j);
	return 0;
}

void jobs_reload(struct jobs *j, const struct enrich_cfg_enrich *c)
{
	bool poll = c->poll_interval_s != j->c.poll_interval_s;

	j->c = *c;
	if (poll && jobs_poll_arm(j))
		log_error("cannot re-arm the poll timer");
	jobs_kick(j);
}

void jobs_drain(struct jobs *j)
{
	j->draining = true;
	event_del(j->ev_poll);
	if (!j->busy)
		event_base_loopbreak(j->base);
}

void jobs_free(struct jobs *j)
{
	if (!j)
		return;
	jobs_batch_free(j);
	jobs_listen_drop(j);
	if (j->ev_poll)
		event_free(j->ev_poll);
	if (j->ev_run)
		event_free(j->ev_run);
	estore_free(j->store);
	free(j);
}
