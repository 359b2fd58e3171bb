/*
 * lanes.c — several jobs.h workers in one process, as lanes.h says.  Lane 0
 * runs on the caller's loop (the main thread); lane i > 0 owns a thread,
 * its event base, its curlev and openai embedder, its jobs.  The main
 * thread reaches another lane only through events on that lane's base
 * (libevent's pthread locking makes event_active safe across threads):
 * ev_reload (the new enrich section is copied into the lane first, under
 * the lane's lock) and ev_drain.  Each lane's thread ends when its jobs
 * break its loop after draining.  News rows are not claimed, so only lane 0
 * embeds them (enrich.news): two lanes would embed each row twice.
 */
#include "lanes.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlev.h"
#include "embed_openai.h"
#include "log.h"

#define LANES_MAX 16

struct lane {
	int id;
	struct event_base *base;	/* lane 0: the caller's */
	struct curlev *cv;
	struct embed_openai *openai;
	struct jobs *jobs;
	struct event *ev_reload, *ev_drain;
	pthread_mutex_t lock;		/* guards next */
	struct enrich_cfg_enrich next;
	pthread_t thread;
	bool running;			/* thread started, not joined */
};

struct lanes {
	int n;
	struct lane lane[LANES_MAX];
};

static void lanes_on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct lane *ln = arg;
	struct enrich_cfg_enrich c;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&ln->lock);
	c = ln->next;
	pthread_mutex_unlock(&ln->lock);
	jobs_reload(ln->jobs, &c);
	log_debug("lane %d: configuration reloaded", ln->id);
}

static void lanes_on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct lane *ln = arg;

	(void)fd;
	(void)what;
	jobs_drain(ln->jobs);
}

static void *lanes_thread(void *arg)
{
	struct lane *ln = arg;
	char name[16];

	snprintf(name, sizeof(name), "lane-%d", ln->id);
	log_thread_name(name);
	if (event_base_dispatch(ln->base) < 0)
		log_error("lane %d: event loop failed", ln->id);
	return NULL;
}

/* A lane's embedder, jobs and events; 0 or -1. */
static int lanes_make(struct lane *ln, struct pool *pool, const struct enrich_cfg *c,
		      const char *api_key, const char *owner, jobs_ready_fn *ready, void *arg)
{
	char who[160];
	struct enrich_cfg_enrich e;

	if (c->embedder.kind == EK_OPENAI) {
		struct embed_openai_cfg oc = { .base_url = c->embedder.base_url,
					       .model = c->embedder.model, .api_key = api_key,
					       .timeout_ms = c->embedder.timeout_ms };

		ln->cv = curlev_new(ln->base);
		if (!ln->cv || !(ln->openai = embed_openai_new(&oc, ln->cv)))
			return -1;
	}
	snprintf(who, sizeof(who), "%s:%d", owner, ln->id);
	e = c->enrich;
	e.news = ln->id == 0 ? e.news : 0;
	ln->jobs = jobs_new(ln->base, pool, ln->openai, &e, who, ready, arg);
	ln->ev_reload = event_new(ln->base, -1, 0, lanes_on_reload, ln);
	ln->ev_drain = event_new(ln->base, -1, 0, lanes_on_drain, ln);
	return ln->jobs && ln->ev_reload && ln->ev_drain ? 0 : -1;
}

struct lanes *lanes_start(struct event_base *base, struct pool *pool, const struct enrich_cfg *c,
			  const char *api_key, const char *owner, jobs_ready_fn *ready, void *arg)
{
	struct lanes *l = calloc(1, sizeof(*l));
	int n = c->enrich.workers;

	if (!l) {
		log_error("out of memory");
		return NULL;
	}
	if (n < 1 || n > LANES_MAX)
		n = 1;
	for (int i = 0; i < n; i++) {
		struct lane *ln = &l->lane[i];

		pthread_mutex_init(&ln->lock, NULL);
		ln->id = i;
		l->n = i + 1;
		ln->base = i == 0 ? base : event_base_new();
		if (!ln->base || lanes_make(ln, pool, c, api_key, owner, i == 0 ? ready : NULL,
					    arg) || jobs_start(ln->jobs)) {
			log_error("cannot set up worker lane %d", i);
			goto fail;
		}
		if (i > 0) {
			if (pthread_create(&ln->thread, NULL, lanes_thread, ln)) {
				log_error("cannot start the thread of worker lane %d", i);
				goto fail;
			}
			ln->running = true;
		}
	}
	return l;
fail:
	lanes_free(l);
	return NULL;
}

void lanes_reload(struct lanes *l, const struct enrich_cfg_enrich *c)
{
	jobs_reload(l->lane[0].jobs, c);
	for (int i = 1; i < l->n; i++) {
		pthread_mutex_lock(&l->lane[i].lock);
		l->lane[i].next = *c;
		l->lane[i].next.news = 0;	/* lane 0's */
		pthread_mutex_unlock(&l->lane[i].lock);
		event_active(l->lane[i].ev_reload, EV_TIMEOUT, 0);
	}
}

void lanes_drain(struct lanes *l)
{
	for (int i = 1; i < l->n; i++)
		if (l->lane[i].ev_drain)
			event_active(l->lane[i].ev_drain, EV_TIMEOUT, 0);
	jobs_drain(l->lane[0].jobs);
}

void lanes_free(struct lanes *l)
{
	if (!l)
		return;
	for (int i = 1; i < l->n; i++) {
		struct lane *ln = &l->lane[i];

		if (ln->running) {
			event_active(ln->ev_drain, EV_TIMEOUT, 0);
			pthread_join(ln->thread, NULL);
			ln->running = false;
		}
	}
	for (int i = l->n - 1; i >= 0; i--) {
		struct lane *ln = &l->lane[i];

		curlev_free(ln->cv);	/* a request still in flight ends transient */
		jobs_free(ln->jobs);
		embed_openai_free(ln->openai);
		if (ln->ev_reload)
			event_free(ln->ev_reload);
		if (ln->ev_drain)
			event_free(ln->ev_drain);
		if (i > 0 && ln->base)
			event_base_free(ln->base);
		pthread_mutex_destroy(&ln->lock);
	}
	free(l);
}
