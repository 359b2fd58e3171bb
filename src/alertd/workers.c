/*
 * workers.c — worker threads and their queues.
 *
 * DESIGN
 *
 * The loop thread decodes notifications and pushes messages; worker i owns
 * every symbol whose hash modulo N is i, and with it that symbol's snapshot
 * and rules (its own struct rules: nothing in the table is shared, nothing
 * locks).  Because a rule and the ticks of its symbol travel through the
 * same FIFO, the worker sees them in the order the loop saw the commits.
 *
 * Each queue is a bounded queue (core's bq.h).  The loop never waits on
 * one: a message that finds its queue full (or finds older messages of that
 * worker still waiting beside it) goes to the worker's spill, a list the
 * loop alone owns, in order.  While any spill holds messages the loop stops
 * reading the LISTEN socket (workers_backlog; listen.c's throttle) and
 * PostgreSQL queues the notifications — back-pressure, never a drop — and
 * moves spilled messages on as room appears (workers_flush).  A spill thus
 * holds at most what one burst or one load produced, and never more than
 * WORKERS_SPILL_MAX messages: past that the push waits for room after all
 * (NB: only a load of a very large rule set gets there — it streams rows
 * faster than the workers take them, and waiting then bounds its memory
 * as the blocking queue did; a burst is far smaller).  The worker pops
 * everything waiting in one go, then works without the lock.
 *
 * Events the rule table emits go to the emit callback synchronously on the
 * worker thread (the writer queue, which blocks in turn when full).  The
 * flight callback counts ticks in flight: +1 before a tick is queued, -1
 * after its evaluation emitted its events.  At zero, every firing of every
 * tick received so far is in a writer queue, which lets the writers commit
 * at once instead of waiting for more (writer.c).
 *
 * Ownership: an UPSERT message owns a heap copy of its rule definition; the
 * worker frees it.  workers_stop queues STOP behind everything else, so
 * every change pushed before it is processed before the thread exits.
 */
#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alertd_metrics.h"
#include "bq.h"
#include "ckpt.h"
#include "clock.h"
#include "fnv.h"
#include "ids.h"
#include "log.h"

/* Messages taken off a queue per wake-up, at most. */
#define WORKERS_POP_MAX 4096

/* Messages a worker's spill holds before a push waits (about 26 MB). */
#define WORKERS_SPILL_MAX 65536

enum workers_kind {
	WORKERS_SEED,
	WORKERS_TICK,
	WORKERS_REPLAY,
	WORKERS_UPSERT,
	WORKERS_REMOVE,
	WORKERS_CATCH_UP,
	WORKERS_REMOVE_TENANT,
	WORKERS_SWEEP,
	WORKERS_LIMITS,
	WORKERS_STOP
};

/* A rule definition and its strings in one allocation. */
struct workers_rule {
	struct rules_def def;
	_Alignas(int64_t) char buf[];	/* recent_us, then the strings */
};

struct workers_msg {
	enum workers_kind kind;
	bool has_chg;
	int64_t recv_us;
	dec_t price, chg;
	char symbol[RULES_SYMBOL_CAP];
	char id[RULE_ID_SIZE];		/* rule id or tenant id */
	struct workers_rule *rule;	/* UPSERT: owned */
	int64_t count, last_us;		/* CATCH_UP; REPLAY: last_us is since */
	struct rules_limits lim;
};

struct workers_one {
	struct workers *w;
	int index;
	pthread_t thread;
	struct rules *rules;		/* worker thread only */
	int64_t cur_recv_us;		/* worker thread only: for emit */
	atomic_size_t nrules;		/* for leo_rules_active */

	struct bq q;			/* of struct workers_msg */
	bool q_ok;			/* q initialised */
	struct workers_msg *spill;	/* loop thread only: waits for room in q */
	size_t spill_head, spill_n, spill_cap;	/* spill[head .. n) waits */
	struct workers_msg *local;	/* worker thread only: popped batch */
	size_t lcap;
};

struct workers {
	int n;
	workers_emit_fn emit;
	workers_flight_fn flight;
	void *emit_arg;
	struct ckpt *ckpt;		/* may be NULL; not owned */
	atomic_uint_fast64_t processed;
	atomic_uint_fast64_t waiting;
	struct workers_one *one;
};

int workers_owner(const struct workers *w, const char *symbol)
{
	return (int)(fnv_str(symbol) % (uint32_t)w->n);
}

static void workers_emit(void *arg, const struct rules_event *ev)
{
	struct workers_one *o = arg;

	if (ev->kind == RULES_FIRE || ev->kind == RULES_FLOOD_PAUSE)
		metrics_add(METRIC_ALERTS_FIRED, 1);
	else
		metrics_add(METRIC_RULES_REJECTED_EXPIRED, 1);
	if (o->w->ckpt)
		ckpt_fired(o->w->ckpt, ev->symbol);
	o->w->emit(o->w->emit_arg, ev, o->cur_recv_us);
}

static void workers_update_gauges(struct workers *w)
{
	size_t total = 0;

	for (int i = 0; i < w->n; i++)
		total += atomic_load_explicit(&w->one[i].nrules, memory_order_relaxed);
	metrics_set(METRIC_RULES_ACTIVE, (double)total);
	metrics_set(METRIC_QUEUE_WORKER, (double)atomic_load(&w->waiting));
}

/* Worker thread: apply one message to the table.  Returns false on STOP. */
static bool workers_apply(struct workers_one *o, struct workers_msg *m)
{
	char err[256];
	int64_t now = clock_wall_us();

	o->cur_recv_us = m->recv_us ? m->recv_us : now;
	switch (m->kind) {
	case WORKERS_SEED:
		if (rules_seed(o->rules, m->symbol, m->price, m->has_chg, m->chg))
			log_error("worker: out of memory seeding %s", m->symbol);
		break;
	case WORKERS_TICK:
	case WORKERS_REPLAY:
		/* the tick's observation is its time: a firing's at_us names it */
		metrics_add(METRIC_RULE_EVALUATIONS,
			    m->kind == WORKERS_TICK ?
			    rules_tick(o->rules, m->symbol, m->price, m->has_chg, m->chg,
				       o->cur_recv_us) :
			    rules_replay(o->rules, m->symbol, m->price, m->has_chg, m->chg,
					 o->cur_recv_us, m->last_us));
		if (o->w->ckpt)
			ckpt_ticked(o->w->ckpt, m->symbol, m->price, m->has_chg, m->chg,
				    o->cur_recv_us);
		o->w->flight(o->w->emit_arg, -1);
		break;
	case WORKERS_UPSERT:
		if (rules_upsert(o->rules, &m->rule->def, now, err, sizeof(err))) {
			metrics_add(METRIC_RULES_REJECTED_INVALID, 1);
			log_warn("rule %s (tenant %s): not loaded: %s", m->rule->def.rule_id,
				 m->rule->def.tenant_id, err);
		}
		free(m->rule);
		m->rule = NULL;
		break;
	case WORKERS_REMOVE:
		(void)rules_remove(o->rules, m->id);
		break;
	case WORKERS_CATCH_UP:
		if (rules_catch_up(o->rules, m->id, m->count, m->last_us) == 1)
			log_info("rule %s: trigger_count %lld taken from the database"
				 " (firings another daemon claimed)", m->id, (long long)m->count);
		break;
	case WORKERS_REMOVE_TENANT:
		rules_remove_tenant(o->rules, m->id);
		break;
	case WORKERS_SWEEP:
		rules_sweep(o->rules, now);
		break;
	case WORKERS_LIMITS:
		rules_set_limits(o->rules, &m->lim);
		break;
	case WORKERS_STOP:
		return false;
	}
	atomic_store_explicit(&o->nrules, rules_count(o->rules), memory_order_relaxed);
	return true;
}

static void *workers_main(void *arg)
{
	struct workers_one *o = arg;
	char name[32];
	bool running = true;

	snprintf(name, sizeof(name), "worker-%d", o->index);
	log_thread_name(name);
	while (running) {
		size_t n = bq_pop(&o->q, o->local, o->lcap, -1);

		/* counted up before the push, so the gauge never goes below zero */
		atomic_fetch_sub(&o->w->waiting, n);

		for (size_t i = 0; i < n; i++) {
			if (running)
				running = workers_apply(o, &o->local[i]);
			else if (o->local[i].kind == WORKERS_TICK ||
				 o->local[i].kind == WORKERS_REPLAY)	/* after STOP */
				o->w->flight(o->w->emit_arg, -1);
			else	/* nothing follows STOP; free what would leak */
				free(o->local[i].rule);
		}
		atomic_fetch_add(&o->w->processed, n);
		workers_update_gauges(o->w);
	}
	return NULL;
}

/* Loop thread: keep m, in order, for when worker i's queue has room. */
static int workers_spill(struct workers_one *o, const struct workers_msg *m)
{
	if (o->spill_head && o->spill_head == o->spill_n)
		o->spill_head = o->spill_n = 0;
	if (o->spill_n == o->spill_cap) {
		size_t live = o->spill_n - o->spill_head;
		size_t ncap = o->spill_cap ? o->spill_cap * 2 : 256;
		struct workers_msg *ns;

		if (o->spill_head) {	/* slide the live part down first */
			memmove(o->spill, o->spill + o->spill_head, live * sizeof(*o->spill));
			o->spill_head = 0;
			o->spill_n = live;
		}
		if (o->spill_n == o->spill_cap) {
			ns = realloc(o->spill, ncap * sizeof(*ns));
			if (!ns)
				return -1;
			o->spill = ns;
			o->spill_cap = ncap;
		}
	}
	o->spill[o->spill_n++] = *m;
	return 0;
}

/* Loop thread: move worker i's spilled messages into its queue while it has
 * room.  True when nothing is left spilled. */
static bool workers_flush_one(struct workers_one *o)
{
	while (o->spill_head < o->spill_n &&
	       bq_try_push(&o->q, &o->spill[o->spill_head]) == 0)
		o->spill_head++;
	if (o->spill_head < o->spill_n)
		return false;
	o->spill_head = o->spill_n = 0;
	return true;
}

/* Loop thread: append to worker i's queue, or to its spill when the queue
 * is full; never waits.  Counted in `waiting` from here on either way. */
static void workers_push(struct workers *w, int i, const struct workers_msg *m)
{
	struct workers_one *o = &w->one[i];

	metrics_set(METRIC_QUEUE_WORKER, (double)(atomic_fetch_add(&w->waiting, 1) + 1));
	if (o->spill_head == o->spill_n && bq_try_push(&o->q, m) == 0)
		return;
	if (o->spill_n - o->spill_head < WORKERS_SPILL_MAX && workers_spill(o, m) == 0)
		return;
	/* spill full or out of memory: wait for room rather than lose it */
	if (o->spill_n - o->spill_head < WORKERS_SPILL_MAX)
		log_warn("worker %d: out of memory spilling; waiting for queue room", i);
	while (!workers_flush_one(o))
		(void)bq_push(&o->q, &o->spill[o->spill_head++]);
	(void)bq_push(&o->q, m);
}

bool workers_flush(struct workers *w)
{
	bool empty = true;

	for (int i = 0; i < w->n; i++)
		if (!workers_flush_one(&w->one[i]))
			empty = false;
	return empty;
}

bool workers_backlog(const struct workers *w)
{
	for (int i = 0; i < w->n; i++)
		if (w->one[i].spill_head < w->one[i].spill_n)
			return true;
	return false;
}

static void workers_broadcast(struct workers *w, const struct workers_msg *m)
{
	for (int i = 0; i < w->n; i++)
		workers_push(w, i, m);
}

struct workers *workers_start(int nthreads, int queue_capacity,
			      const struct rules_limits *lim, workers_emit_fn emit,
			      workers_flight_fn flight, void *emit_arg, struct ckpt *ckpt)
{
	struct workers *w = calloc(1, sizeof(*w));
	int started = 0;

	if (!w)
		return NULL;
	w->n = nthreads > 0 ? nthreads : 1;
	w->emit = emit;
	w->flight = flight;
	w->emit_arg = emit_arg;
	w->ckpt = ckpt;
	w->one = calloc((size_t)w->n, sizeof(*w->one));
	if (!w->one)
		goto fail;
	for (int i = 0; i < w->n; i++) {
		struct workers_one *o = &w->one[i];

		size_t cap = queue_capacity > 0 ? (size_t)queue_capacity : 1024;

		o->w = w;
		o->index = i;
		o->q_ok = bq_init(&o->q, cap, sizeof(struct workers_msg)) == 0;
		o->lcap = cap < WORKERS_POP_MAX ? cap : WORKERS_POP_MAX;
		o->local = calloc(o->lcap, sizeof(*o->local));
		o->rules = rules_new(lim, workers_emit, o);
		if (!o->q_ok || !o->local || !o->rules)
			goto fail;
	}
	for (; started < w->n; started++) {
		if (pthread_create(&w->one[started].thread, NULL, workers_main,
				   &w->one[started])) {
			log_error("workers: cannot start thread %d", started);
			goto fail;
		}
	}
	return w;
fail:
	if (w->one) {
		struct workers_msg stop = { .kind = WORKERS_STOP };

		for (int i = 0; i < started; i++) {
			(void)bq_push(&w->one[i].q, &stop);
			pthread_join(w->one[i].thread, NULL);
		}
		for (int i = 0; i < w->n; i++) {
			rules_free(w->one[i].rules);
			if (w->one[i].q_ok)
				bq_destroy(&w->one[i].q);
			free(w->one[i].local);
		}
		free(w->one);
	}
	free(w);
	return NULL;
}

void workers_stop(struct workers *w)
{
	struct workers_msg stop = { .kind = WORKERS_STOP };

	if (!w)
		return;
	/* shut-down may wait: what is spilled goes first, then STOP */
	for (int i = 0; i < w->n; i++) {
		struct workers_one *o = &w->one[i];

		while (o->spill_head < o->spill_n)
			(void)bq_push(&o->q, &o->spill[o->spill_head++]);
		(void)bq_push(&o->q, &stop);
	}
	atomic_fetch_add(&w->waiting, (uint_fast64_t)w->n);
	for (int i = 0; i < w->n; i++) {
		struct workers_one *o = &w->one[i];

		pthread_join(o->thread, NULL);
		rules_free(o->rules);
		bq_destroy(&o->q);
		free(o->local);
		free(o->spill);
	}
	free(w->one);
	w->one = NULL;
	w->n = 0;
}

void workers_free(struct workers *w)
{
	free(w);
}

static void workers_copy(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src);
}

void workers_seed(struct workers *w, const char *symbol, dec_t price, bool has_chg,
		  dec_t chg)
{
	struct workers_msg m = { .kind = WORKERS_SEED, .price = price,
				 .has_chg = has_chg, .chg = chg };

	workers_copy(m.symbol, sizeof(m.symbol), symbol);
	workers_push(w, workers_owner(w, symbol), &m);
}

void workers_tick(struct workers *w, const char *symbol, dec_t price, bool has_chg,
		  dec_t chg, int64_t recv_us)
{
	struct workers_msg m = { .kind = WORKERS_TICK, .price = price,
				 .has_chg = has_chg, .chg = chg, .recv_us = recv_us };

	workers_copy(m.symbol, sizeof(m.symbol), symbol);
	w->flight(w->emit_arg, 1);
	workers_push(w, workers_owner(w, symbol), &m);
}

void workers_replay(struct workers *w, const char *symbol, dec_t price, bool has_chg,
		    dec_t chg, int64_t recv_us, int64_t since_us)
{
	struct workers_msg m = { .kind = WORKERS_REPLAY, .price = price, .has_chg = has_chg,
				 .chg = chg, .recv_us = recv_us, .last_us = since_us };

	workers_copy(m.symbol, sizeof(m.symbol), symbol);
	w->flight(w->emit_arg, 1);
	workers_push(w, workers_owner(w, symbol), &m);
}

int workers_upsert(struct workers *w, const struct rules_def *def, int64_t recv_us)
{
	size_t lid = strlen(def->rule_id) + 1, lt = strlen(def->tenant_id) + 1;
	size_t ls = strlen(def->symbol) + 1, lc = def->condition_len + 1;
	size_t lr = def->nrecent * sizeof(int64_t);
	struct workers_rule *r = malloc(sizeof(*r) + lr + lid + lt + ls + lc);
	struct workers_msg m = { .kind = WORKERS_UPSERT, .recv_us = recv_us };
	char *p;

	if (!r)
		return -1;
	r->def = *def;
	p = r->buf;
	/* the times first: buf is aligned for them (a flexible array after the def) */
	if (lr) {
		memcpy(p, def->recent_us, lr);
		r->def.recent_us = (const int64_t *)(void *)p;
		p += lr;
	} else {
		r->def.recent_us = NULL;
	}
	memcpy(p, def->rule_id, lid);
	r->def.rule_id = p;
	p += lid;
	memcpy(p, def->tenant_id, lt);
	r->def.tenant_id = p;
	p += lt;
	memcpy(p, def->symbol, ls);
	r->def.symbol = p;
	p += ls;
	memcpy(p, def->condition, lc - 1);
	p[lc - 1] = '\0';
	r->def.condition = p;
	m.rule = r;
	workers_copy(m.symbol, sizeof(m.symbol), def->symbol);
	workers_push(w, workers_owner(w, def->symbol), &m);
	return 0;
}

void workers_remove(struct workers *w, const char *symbol, const char *rule_id)
{
	struct workers_msg m = { .kind = WORKERS_REMOVE };

	workers_copy(m.id, sizeof(m.id), rule_id);
	workers_push(w, workers_owner(w, symbol), &m);
}

void workers_catch_up(struct workers *w, const char *symbol, const char *rule_id,
		      int64_t trigger_count, int64_t last_triggered_at_us)
{
	struct workers_msg m = { .kind = WORKERS_CATCH_UP, .count = trigger_count,
				 .last_us = last_triggered_at_us };

	workers_copy(m.id, sizeof(m.id), rule_id);
	workers_push(w, workers_owner(w, symbol), &m);
}

void workers_remove_tenant(struct workers *w, const char *tenant_id)
{
	struct workers_msg m = { .kind = WORKERS_REMOVE_TENANT };

	workers_copy(m.id, sizeof(m.id), tenant_id);
	workers_broadcast(w, &m);
}

void workers_sweep(struct workers *w)
{
	struct workers_msg m = { .kind = WORKERS_SWEEP };

	workers_broadcast(w, &m);
}

void workers_set_limits(struct workers *w, const struct rules_limits *lim)
{
	struct workers_msg m = { .kind = WORKERS_LIMITS, .lim = *lim };

	workers_broadcast(w, &m);
}

void workers_progress(struct workers *w, uint64_t *processed, uint64_t *waiting)
{
	*processed = atomic_load(&w->processed);
	*waiting = atomic_load(&w->waiting);
}
