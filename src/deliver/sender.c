/*
 * sender.c — claim, check, render, send, record (sender.h).  Loop thread.
 *
 * A pass: write the records kept from before (the database was away), then
 * for each active tenant and each channel with a transport claim as many
 * due deliveries as the channel has free slots and rate tokens for.  Each
 * claim becomes a job: consent withdrawn, no address or a template that
 * fails end it at once as `failed` (no attempt: nothing was sent);
 * otherwise its message goes to the channel's transport and the result,
 * through outcome_decide, becomes one attempt row and one status move.
 *
 * Wake-ups: sender_wake (a notification, the poll backstop), a job's end
 * (the records of one turn of the loop are written in one transaction per
 * tenant, then the freed slots claimed), a rate token or a retry coming due
 * (ev_wake, set to the earliest).  The active tenants are read again on a
 * wake-up from outside (sender_wake) and after a database error; a job's
 * end and the timers use the list of the pass before, which saves a round
 * trip in each of the passes that keep a busy sender going.
 */
#include "sender.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "clock.h"
#include "curlev.h"
#include "deliver_cfg.h"
#include "deliver_metrics.h"
#include "dstore.h"
#include "log.h"
#include "outcome.h"
#include "pool.h"
#include "render.h"
#include "utf8.h"

/* Records written in one transaction at most. */
#define SENDER_WRITE_MAX 256

struct sjob {
	struct sender *s;
	struct dclaim *c;
	struct rendered msg;
	struct tr_msg m;
	char tenant[TENANT_ID_SIZE];
	int64_t started_us;		/* wall clock, for the attempt row */
	int64_t mono_us;
	struct drecord rec;
	char *error, *response, *provider_response;
	struct sjob *next;		/* s->pending */
};

struct sender {
	const struct deliver_cfg *cfg;
	struct event_base *base;
	struct dstore *db;
	struct curlev *cv;
	struct render *render;
	struct channel ch[DC_COUNT];
	char owner[128];
	struct event *ev_pass;		/* one-shot, zero delay: sender_wake */
	struct event *ev_wake;		/* one-shot at wake_us */
	struct event *ev_poll;		/* the backstop: deliver.poll_interval_s */
	bool warned[DC_COUNT];		/* "queued with no transport" said */
	unsigned rotate;		/* the tenant a pass starts with */
	char (*tenants)[TENANT_ID_SIZE];	/* the active tenants, as last read */
	int ntenants;
	bool tenants_stale;		/* read them again at the next pass */
	int64_t wake_us;		/* monotonic; 0: none set */
	struct sjob *pending, **pending_tail;
	int db_failures;		/* passes in a row that failed: the backoff */
	int waiting_said;		/* flushes in a row that found the database away */
	struct drecord rec[SENDER_WRITE_MAX];	/* sender_write's batch */
	bool kept[SENDER_WRITE_MAX];
	bool stopping;
	uint32_t rnd;
};

static uint32_t sender_rand(struct sender *s)
{
	/* xorshift32: jitter only, never a secret */
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 17;
	s->rnd ^= s->rnd << 5;
	return s->rnd;
}

/* Run ev_wake at mono time at_us unless it runs earlier already. */
static void sender_wake_at(struct sender *s, int64_t at_us)
{
	int64_t now = clock_mono_us(), d;
	struct timeval tv;

	if (s->wake_us && s->wake_us <= at_us)
		return;
	d = at_us > now ? at_us - now : 0;
	tv.tv_sec = (time_t)(d / 1000000);
	tv.tv_usec = (suseconds_t)(d % 1000000);
	s->wake_us = at_us;
	event_add(s->ev_wake, &tv);
}

/* A pass soon, with the tenants of the last one. */
static void sender_wake_job(struct sender *s)
{
	if (!s->stopping)
		event_active(s->ev_pass, 0, 0);
}

void sender_wake(struct sender *s)
{
	s->tenants_stale = true;
	sender_wake_job(s);
}

bool sender_db_up(const struct sender *s)
{
	return s->db_failures == 0;
}

static void sender_job_free(struct sjob *j)
{
	rendered_free(&j->msg);
	dstore_claims_free(j->c, 1);
	free(j->error);
	free(j->response);
	free(j->provider_response);
	free(j);
}

/* provider_response: the final answer as JSON, or why nothing was sent. */
static char *sender_provider_response(const struct tr_result *r, const char *reason,
				      const char *why)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		return NULL;
	if (reason)
		cJSON_AddStringToObject(o, "reason", reason);
	if (r && r->status)
		cJSON_AddNumberToObject(o, "status", (double)r->status);
	if (why && why[0])
		cJSON_AddStringToObject(o, "error", why);
	if (r && r->response_len)
		cJSON_AddStringToObject(o, "response", r->response);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* The verdict on record j (written, or lost to another sender). */
static void sender_written(struct sjob *j, bool kept)
{
	if (!kept)
		log_warn("delivery %s/%lld: the claim ran out before its %s was recorded;"
			 " another sender has taken it over", j->tenant, j->rec.delivery_id,
			 j->rec.outcome);
}

/*
 * Write the records of the first n pending jobs (one tenant's) in one
 * transaction.  A batch the database refuses is written one by one, so that
 * the one it refuses alone is dropped (its claim runs out and the delivery
 * is tried again) and the others are not.  False while the database is away.
 */
static bool sender_write(struct sender *s, struct sjob **jobs, int n)
{
	for (int k = 0; k < n; k++)
		s->rec[k] = jobs[k]->rec;
	if (!dstore_record(s->db, jobs[0]->tenant, s->owner, s->rec, n, s->kept)) {
		for (int k = 0; k < n; k++)
			sender_written(jobs[k], s->kept[k]);
		return true;
	}
	if (!dstore_up(s->db))
		return false;
	if (n == 1) {
		log_error("delivery %s/%lld: its record was refused; it is retried after the lease",
			  jobs[0]->tenant, jobs[0]->rec.delivery_id);
		return true;
	}
	for (int k = 0; k < n; k++)
		if (!sender_write(s, &jobs[k], 1))
			return false;
	return true;
}

/* The outcome of j is known: it is written with the others of this turn of
 * the loop, in the pass that follows (one commit for them all). */
static void sender_finish(struct sender *s, struct sjob *j)
{
	j->next = NULL;
	*s->pending_tail = j;
	s->pending_tail = &j->next;
	sender_wake_job(s);
}

/* Write what is pending, a transaction per run of one tenant's records;
 * false (the rest kept) while the database is away. */
static bool sender_flush(struct sender *s)
{
	struct sjob *batch[SENDER_WRITE_MAX], *j;
	int n;

	while (s->pending) {
		n = 0;
		for (j = s->pending; j && n < SENDER_WRITE_MAX && !strcmp(j->tenant, s->pending->tenant);
		     j = j->next)
			batch[n++] = j;
		if (!sender_write(s, batch, n)) {
			if (!s->waiting_said++)
				log_warn("%d or more records wait for the database", n);
			return false;
		}
		s->waiting_said = 0;
		s->pending = j;
		if (!s->pending)
			s->pending_tail = &s->pending;
		for (int k = 0; k < n; k++)
			sender_job_free(batch[k]);
	}
	return true;
}

/* A failure without a send: consent withdrawn, no address, a bad template. */
static void sender_fail_unsent(struct sender *s, struct sjob *j, enum deliver_reason why,
			       const char *detail)
{
	int64_t now = clock_wall_us();

	j->provider_response = sender_provider_response(NULL, deliver_reason_names[why], detail);
	j->error = detail && detail[0] ? strdup(detail) : NULL;	/* written later: a copy */
	j->rec = (struct drecord){ .delivery_id = j->c->delivery_id, .attempt = 0,
				   .started_us = now, .ended_us = now, .outcome = "failed",
				   .error = j->error,
				   .provider_response = j->provider_response };
	deliver_metrics_failed(j->c->channel, why);
	log_info("delivery %s/%lld: failed (%s%s%s), nothing sent", j->tenant, j->c->delivery_id,
		 deliver_reason_names[why], detail && detail[0] ? ": " : "", detail ? detail : "");
	sender_finish(s, j);
}

/* Transport: the answer to j's message. */
static void sender_done(const struct tr_result *res, void *arg)
{
	struct sjob *j = arg;
	struct sender *s = j->s;
	struct channel *ch = &s->ch[j->c->channel];
	struct outcome_policy pol = {
		.retry_initial_ms = s->cfg->deliver.retry_initial_ms,
		.retry_max_ms = s->cfg->deliver.retry_max_ms,
		.max_attempts = s->cfg->deliver.max_attempts,
		.max_age_s = s->cfg->deliver.max_age_s,
		.accept_means_delivered = s->cfg->channel[ch->id].accept_means_delivered == 1,
	};
	struct tr_result r = *res;
	int64_t now = clock_wall_us();
	double took = (double)(clock_mono_us() - j->mono_us) / 1e6;
	struct outcome o;

	utf8_scrub(r.response, r.response_len);
	utf8_scrub(r.error, strnlen(r.error, sizeof(r.error) - 1));
	outcome_decide(&pol, &r, j->c->attempt, j->c->age_s + took, now, sender_rand(s), &o);
	j->error = r.error[0] ? strdup(r.error) : NULL;
	j->response = r.response_len ? strdup(r.response) : NULL;
	if (o.move != OM_RETRY)
		j->provider_response = sender_provider_response(&r,
			o.move == OM_FAILED ? deliver_reason_names[o.reason] : NULL, r.error);
	j->rec = (struct drecord){ .delivery_id = j->c->delivery_id, .attempt = j->c->attempt,
				   .started_us = j->started_us, .ended_us = now,
				   .outcome = outcome_move_names[o.move], .status_code = r.status,
				   .error = j->error, .response = j->response,
				   .next_us = o.move == OM_RETRY ? o.next_us : 0,
				   .provider_response = j->provider_response };
	deliver_metrics_attempt_seconds(ch->id, took);
	switch (o.move) {
	case OM_SENT:
	case OM_DELIVERED:
		deliver_metrics_sent(ch->id);
		break;
	case OM_RETRY:
		deliver_metrics_retry(ch->id);
		log_info("delivery %s/%lld: attempt %d: %s; again in %.1f s", j->tenant,
			 j->c->delivery_id, j->c->attempt, r.error[0] ? r.error : "retry",
			 (double)(o.next_us - now) / 1e6);
		/* due then: wake a little after, when the claim will return it */
		sender_wake_at(s, clock_mono_us() + (o.next_us - now) + 50000);
		break;
	case OM_FAILED:
		deliver_metrics_failed(ch->id, o.reason);
		log_info("delivery %s/%lld: attempt %d: failed (%s): %s", j->tenant,
			 j->c->delivery_id, j->c->attempt, deliver_reason_names[o.reason],
			 r.error[0] ? r.error : "rejected");
		break;
	}
	ch->inflight--;
	deliver_metrics_inflight(ch->id, ch->inflight);
	sender_finish(s, j);
}

/* One claimed delivery: check, render, send (or fail it at once). */
static void sender_start(struct sender *s, const char *tenant, struct dclaim *c)
{
	struct sjob *j = calloc(1, sizeof(*j));
	struct channel *ch = &s->ch[c->channel];
	enum deliver_reason reason;
	char why[320];

	if (!j) {
		dstore_claims_free(c, 1);	/* the lease runs out; the delivery comes back */
		log_error("out of memory: a claimed delivery waits for its lease to run out");
		return;
	}
	j->s = s;
	j->c = c;
	snprintf(j->tenant, sizeof(j->tenant), "%s", tenant);
	if (!c->consent_ok) {
		sender_fail_unsent(s, j, DR_CONSENT_WITHDRAWN, NULL);
		return;
	}
	if (!c->address || !c->address[0]) {
		sender_fail_unsent(s, j, DR_NO_ADDRESS, NULL);
		return;
	}
	if (render_message(s->render, c, c->address, &j->msg, &reason, why, sizeof(why))) {
		sender_fail_unsent(s, j, reason, why);
		return;
	}
	j->m = (struct tr_msg){
		.tenant_id = j->tenant, .delivery_id = c->delivery_id,
		.channel = deliver_channel_names[c->channel], .to = c->address,
		.subject = j->msg.subject, .body = j->msg.body,
		.idempotency_key = c->idempotency_key,
		.rule_id = cJSON_GetStringValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(c->context, "rule"), "rule_id")),
		.profile_id = cJSON_GetStringValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(c->context, "profile"), "profile_id")),
		.created_at = cJSON_GetStringValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(c->context, "delivery"), "created_at")),
		.payload = j->msg.payload,
	};
	j->started_us = clock_wall_us();
	j->mono_us = clock_mono_us();
	ch->inflight++;
	deliver_metrics_inflight(ch->id, ch->inflight);
	channel_send(ch, &j->m, sender_done, j);
}

/* Claim and start what channel ch of tenant has room for; -1 on a database error. */
static int sender_claim(struct sender *s, const char *tenant, struct channel *ch)
{
	int64_t now = clock_mono_us();
	int want = ch->concurrency - ch->inflight, got = 0, n = 0;
	struct dclaim *c = NULL;

	if (want > s->cfg->deliver.claim_batch)
		want = s->cfg->deliver.claim_batch;
	if (want <= 0)
		return 0;	/* a freed slot wakes a pass */
	got = ratelimit_take(&ch->rate, want, now);
	if (got < want)
		sender_wake_at(s, now + ratelimit_wait_us(&ch->rate, now));
	if (!got)
		return 0;
	if (dstore_claim(s->db, tenant, s->owner, s->cfg->deliver.claim_lease_s, got,
			 deliver_channel_names[ch->id], &c, &n)) {
		ratelimit_give(&ch->rate, got);
		return -1;
	}
	ratelimit_give(&ch->rate, got - n);
	for (int i = 0; i < n; i++) {
		struct dclaim *one = malloc(sizeof(*one));

		if (!one) {
			log_error("out of memory: a claimed delivery waits for its lease to run out");
			continue;
		}
		*one = c[i];
		memset(&c[i], 0, sizeof(c[i]));
		one->channel = ch->id;
		sender_start(s, tenant, one);
	}
	dstore_claims_free(c, n);
	return 0;
}

/* The active tenants: those read last unless stale; 0 or -1. */
static int sender_tenants(struct sender *s)
{
	char (*ids)[TENANT_ID_SIZE] = NULL;
	int n = 0;

	if (s->tenants && !s->tenants_stale)
		return 0;
	if (dstore_tenants(s->db, &ids, &n))
		return -1;
	free(s->tenants);
	s->tenants = ids;
	s->ntenants = n;
	s->tenants_stale = false;
	return 0;
}

static void sender_pass(struct sender *s)
{
	char (*tenants)[TENANT_ID_SIZE];
	int n, rc = 0;

	if (s->stopping)
		return;
	if (!sender_flush(s) || sender_tenants(s)) {
		rc = -1;
		goto out;
	}
	tenants = s->tenants;
	n = s->ntenants;
	/* each pass starts with the next tenant, so that none waits behind another's backlog */
	s->rotate++;
	for (int i = 0; i < n && !rc; i++)
		for (int c = 0; c < DC_COUNT && !rc; c++)
			if (s->ch[c].kind != DK_NONE)
				rc = sender_claim(s, tenants[(s->rotate + (unsigned)i) % (unsigned)n],
						  &s->ch[c]);
out:
	if (rc) {
		s->tenants_stale = true;
		if (!s->db_failures++)
			log_warn("database unavailable: deliveries wait (retrying)");
		deliver_metrics_db_reconnect();
		sender_wake_at(s, clock_mono_us() + (int64_t)pool_backoff_ms(s->db_failures) * 1000);
	} else if (s->db_failures) {
		log_info("database back after %d failed passes", s->db_failures);
		s->db_failures = 0;
	}
}

static void sender_on_pass(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sender_pass(arg);
}

/* The poll backstop: the backlog's metrics, then a pass. */
static void sender_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct sender *s = arg;
	char (*tenants)[TENANT_ID_SIZE] = NULL;
	double queued[DC_COUNT] = { 0 }, q[DC_COUNT], oldest = 0, o;
	int n = 0, t;

	(void)fd;
	(void)what;
	if (!s->stopping && s->db_failures == 0 && !dstore_tenants(s->db, &tenants, &n)) {
		for (t = 0; t < n; t++) {
			memset(q, 0, sizeof(q));
			o = 0;
			if (dstore_backlog(s->db, tenants[t], q, DC_COUNT, &o))
				break;
			for (int c = 0; c < DC_COUNT; c++)
				queued[c] += q[c];
			if (o > oldest)
				oldest = o;
		}
		if (t == n) {
			for (int c = 0; c < DC_COUNT; c++) {
				deliver_metrics_queued(c, queued[c]);
				if (queued[c] > 0 && s->ch[c].kind == DK_NONE && !s->warned[c]) {
					s->warned[c] = true;
					log_warn("channel %s: %.0f deliveries queued and no transport"
						 " configured (deliver.channels.%s); they stay queued",
						 deliver_channel_names[c], queued[c],
						 deliver_channel_names[c]);
				}
			}
			deliver_metrics_oldest_queued(oldest);
		}
		free(tenants);
	}
	s->tenants_stale = true;
	sender_pass(s);
}

static void sender_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct sender *s = arg;

	(void)fd;
	(void)what;
	s->wake_us = 0;
	sender_pass(s);
}

struct sender *sender_new(struct event_base *base, struct pool *pool,
			  const struct deliver_cfg *cfg)
{
	struct sender *s = calloc(1, sizeof(*s));
	char host[64] = "", why[256] = "out of memory";
	int64_t now = clock_mono_us();

	if (!s)
		goto fail;
	s->cfg = cfg;
	s->base = base;
	s->pending_tail = &s->pending;
	gethostname(host, sizeof(host) - 1);
	s->rnd = (uint32_t)(now ^ ((int64_t)getpid() << 16)) | 1;
	snprintf(s->owner, sizeof(s->owner), "%s/%d/%08x", host, (int)getpid(), sender_rand(s));
	s->db = dstore_new(pool);
	s->cv = curlev_new(base);
	s->ev_pass = event_new(base, -1, 0, sender_on_pass, s);
	s->ev_wake = event_new(base, -1, 0, sender_on_wake, s);
	s->ev_poll = event_new(base, -1, EV_PERSIST, sender_on_poll, s);
	if (!s->db || !s->cv || !s->ev_pass || !s->ev_wake || !s->ev_poll ||
	    event_add(s->ev_poll, &(struct timeval){ cfg->deliver.poll_interval_s, 0 }))
		goto fail;
	s->render = render_new(cfg, why, sizeof(why));
	if (!s->render)
		goto fail;
	for (int c = 0; c < DC_COUNT; c++) {
		if (channel_open(&s->ch[c], c, &cfg->channel[c], s->cv, now, why, sizeof(why))) {
			log_error("channel %s: %s", deliver_channel_names[c], why);
			why[0] = '\0';
			goto fail;
		}
		deliver_metrics_configured(c, s->ch[c].kind != DK_NONE);
		if (s->ch[c].kind == DK_NONE)
			log_info("channel %s has no transport: its deliveries stay queued",
				 deliver_channel_names[c]);
	}
	log_info("sender %s", s->owner);
	return s;
fail:
	if (why[0])
		log_error("cannot start the sender: %s", why);
	sender_free(s);
	return NULL;
}

void sender_set_cfg(struct sender *s, const struct deliver_cfg *cfg)
{
	s->cfg = cfg;
	event_add(s->ev_poll, &(struct timeval){ cfg->deliver.poll_interval_s, 0 });
}

bool sender_quiesce(struct sender *s)
{
	int inflight = 0;

	s->stopping = true;
	for (int c = 0; c < DC_COUNT; c++)
		inflight += s->ch[c].inflight;
	return !inflight && sender_flush(s);
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	s->stopping = true;
	if (s->cv)
		curlev_free(s->cv);	/* in-flight requests end, recorded as retries */
	sender_flush(s);
	for (struct sjob *j = s->pending, *next; j; j = next) {
		next = j->next;
		log_warn("delivery %s/%lld: its %s could not be recorded; it is retried after"
			 " the lease", j->tenant, j->rec.delivery_id, j->rec.outcome);
		sender_job_free(j);
	}
	for (int c = 0; c < DC_COUNT; c++)
		channel_close(&s->ch[c]);
	render_free(s->render);
	if (s->ev_pass)
		event_free(s->ev_pass);
	if (s->ev_wake)
		event_free(s->ev_wake);
	if (s->ev_poll)
		event_free(s->ev_poll);
	dstore_free(s->db);
	free(s->tenants);
	free(s);
}
