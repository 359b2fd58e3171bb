/*
 * jobs.h — leo-enrich's work: the embedding_job queue and the news without
 * an embedding, on the loop thread.  Woken by NOTIFY leo_enrich, by a poll
 * timer (the backstop) and at start-up; each round claims a batch, builds
 * the documents (document.h), embeds them (embed_hashing.h on the loop, or
 * embed_openai.h over curlev) and records the batch in one transaction
 * (estore.h).  One batch in flight at a time.  Loop thread only.
 */
#ifndef LEO_JOBS_H
#define LEO_JOBS_H

#include <stdbool.h>

#include "enrich_cfg.h"

struct event_base;
struct pool;
struct embed_openai;
struct jobs;

/* The database became reachable (true) or was lost (false); on the loop. */
typedef void jobs_ready_fn(void *arg, bool ready);

/* openai NULL: the hashing embedder.  c is copied.  NULL when out of memory. */
struct jobs *jobs_new(struct event_base *base, struct pool *pool, struct embed_openai *openai,
		      const struct enrich_cfg_enrich *c, const char *owner, jobs_ready_fn *ready,
		      void *arg) __attribute__((warn_unused_result));

/* LISTEN, the poll timer, the first round.  0 or -1. */
int jobs_start(struct jobs *j) __attribute__((warn_unused_result));

/* SIGHUP: the enrich section's new values (all reloadable). */
void jobs_reload(struct jobs *j, const struct enrich_cfg_enrich *c);

/* Stop taking work; once the batch in flight (if any) is recorded,
 * event_base_loopbreak. */
void jobs_drain(struct jobs *j);

void jobs_free(struct jobs *j);

#endif
