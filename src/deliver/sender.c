/*
 * sender.c — from a claimed delivery to a recorded outcome.  Loop thread
 * only: claims and records are short database calls on the loop's
 * connection (dstore.c), transfers run on libcurl's multi interface on the
 * same loop (transport.c), so nothing here locks.
 *
 * DESIGN
 *
 * Work is found per (tenant, channel): a tenant has a bit per channel that
 * says "may have due deliveries".  A leo_delivery NOTIFY (pickup.c) sets
 * the tenant's bits, the poll timer sets every active tenant's, a retry
 * sets its tenant's bit when it falls due.  The pump claims, for each
 * channel with a transport, at most as many deliveries as the channel has
 * free slots (concurrency minus in flight) and rate tokens, so nothing
 * claimed waits in memory while its lease runs: a claim is sent at once.
 * A claim that returns fewer rows than asked clears the bit.
 *
 * A claimed delivery is checked before anything is sent: consent withdrawn
 * since it was queued, no address, a template that fails: each ends the
 * delivery failed with its reason, no attempt row.  Otherwise it goes to the
 * transport; its result becomes a status move (outcome.c) written together
 * with the attempt row.  A record the database refuses (connection lost)
 * is kept and written again when the database is back; the claim's lease
 * bounds how long another sender waits, and the idempotency key makes the
 * worst case a duplicate the provider drops.
 */
#include "sender.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "deliver_cfg.h"
#include "deliver_metrics.h"
#include "dstore.h"
#include "log.h"
#include "outcome.h"
#include "pool.h"
#include "render.h"
#include "transport.h"
#include "transport_any.h"

struct sender_tenant {
	char id[TENANT_ID_SIZE];
	unsigned want;		/* bit ch: may have due deliveries on channel ch */
};

/* A message in flight; owned by the sender until its result is recorded. */
struct sender_job {
	struct sender *s;
	int ch;
	char tenant[TENANT_ID_SIZE];
	long long delivery_id;
	int attempt;
	double age_s;
	int64_t started_us;
	struct render_out msg;
	struct tr_msg m;
	char *key, *to, *rule_id, *profile_id, *created_at;
};

/* A record the database did not take yet. */
struct sender_pending {
	struct sender_pending *next;
	char tenant[TENANT_ID_SIZE];
	struct drecord r;
	char *error, *response, *provider_response;
};

struct sender {
	struct event_base *base;
	const struct deliver_cfg *cfg;
	struct dstore *db;
	struct render *render;
	struct curlev *cv;
	struct transport_any *tr[DC_COUNT];	/* NULL: no transport */
	int inflight[DC_COUNT];
	int64_t next_token_us[DC_COUNT];	/* rate_per_second: next start allowed */
	struct sender_tenant *tenants;
	int ntenants, captenants;
	struct sender_pending *pending, **pending_tail;
	struct event *ev_pump;		/* one-shot: run the pump */
	struct event *ev_poll;		/* persistent: scan every poll_interval_s */
	struct event *ev_wake;		/* one-shot: the earliest retry falls due */
	int64_t wake_us;		/* when ev_wake fires, 0: not armed */
	int db_failures;		/* consecutive; paces reconnects */
	int64_t db_retry_us;
	char owner[128];
	bool draining;
	void (*drained)(void *arg);
	void *drained_arg;
	bool said_unconfigured[DC_COUNT];
};

static void sender_pump_at(struct sender *s, int64_t when_us);

static uint32_t sender_random(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)clock_mono_us();
	return r;
}

static struct sender_tenant *sender_tenant(struct sender *s, const char *id)
{
	struct sender_tenant *t;

	for (int i = 0; i < s->ntenants; i++)
		if (strcmp(s->tenants[i].id, id) == 0)
			return &s->tenants[i];
	if (s->ntenants == s->captenants) {
		int cap = s->captenants ? 2 * s->captenants : 16;
		void *p = realloc(s->tenants, (size_t)cap * sizeof(*s->tenants));

		if (!p)
			return NULL;
		s->tenants = p;
		s->captenants = cap;
	}
	t = &s->tenants[s->ntenants++];
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->want = 0;
	return t;
}

static unsigned sender_all_channels(const struct sender *s)
{
	unsigned m = 0;

	for (int ch = 0; ch < DC_COUNT; ch++)
		if (s->tr[ch])
			m |= 1u << ch;
	return m;
}

/* The database failed: pace the next try. */
static void sender_db_failed(struct sender *s)
{
	s->db_retry_us = clock_mono_us() + (int64_t)pool_backoff_ms(s->db_failures) * 1000;
	s->db_failures++;
	sender_pump_at(s, s->db_retry_us);
}

static void sender_db_ok(struct sender *s)
{
	if (s->db_failures)
		log_info("database reachable again");
	s->db_failures = 0;
	s->db_retry_us = 0;
}

static char *sender_strdup(const char *v)
{
	return v ? strdup(v) : NULL;
}

static void sender_pending_free(struct sender_pending *p)
{
	free(p->error);
	free(p->response);
	free(p->provider_response);
	free(p);
}

/* Write r (or keep it for later when the database is away). */
static void sender_record(struct sender *s, const char *tenant, const struct drecord *r)
{
	struct sender_pending *p;
	bool kept;

	if (!s->pending && dstore_record(s->db, tenant, s->owner, r, &kept) == 0) {
		sender_db_ok(s);
		if (!kept)
			log_warn("delivery %lld of tenant %s: claim lost before its outcome was recorded (another sender took it over)",
				 r->delivery_id, tenant);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		log_error("delivery %lld: out of memory keeping its outcome; it will be sent again after its lease",
			  r->delivery_id);
		return;
	}
	snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
	p->r = *r;
	p->error = sender_strdup(r->error);
	p->response = sender_strdup(r->response);
	p->provider_response = sender_strdup(r->provider_response);
	p->r.error = p->error;
	p->r.response = p->response;
	p->r.provider_response = p->provider_response;
	p->r.outcome = r->outcome;	/* static strings */
	*s->pending_tail = p;
	s->pending_tail = &p->next;
	if (!s->db_retry_us)
		sender_db_failed(s);
}

/* Write the records kept while the database was away; false while it still is. */
static bool sender_flush_pending(struct sender *s)
{
	while (s->pending) {
		struct sender_pending *p = s->pending;
		bool kept;

		if (dstore_record(s->db, p->tenant, s->owner, &p->r, &kept) != 0) {
			sender_db_failed(s);
			return false;
		}
		sender_db_ok(s);
		if (!kept)
			log_warn("delivery %lld of tenant %s: claim lost while the database was away; another sender has it",
				 p->r.delivery_id, p->tenant);
		s->pending = p->next;
		if (!s->pending)
			s->pending_tail = &s->pending;
		sender_pending_free(p);
	}
	return true;
}

static void sender_check_drained(struct sender *s)
{
	if (!s->draining || !s->drained)
		return;
	for (int ch = 0; ch < DC_COUNT; ch++)
		if (s->inflight[ch])
			return;
	if (s->pending)
		sender_flush_pending(s);	/* one last try; what stays is re-sent after the lease */
	s->drained(s->drained_arg);
	s->drained = NULL;
}

/* A failure without a send: the status move, no attempt row. */
static void sender_fail_unsent(struct sender *s, const struct dclaim *c, enum deliver_reason why,
			       const char *detail)
{
	int64_t now = clock_wall_us();
	cJSON *pr = cJSON_CreateObject();
	char *prs;
	struct drecord r = { .delivery_id = c->delivery_id, .attempt = 0, .started_us = now,
			     .ended_us = now, .outcome = "failed" };

	cJSON_AddStringToObject(pr, "reason", deliver_reason_names[why]);
	if (detail)
		cJSON_AddStringToObject(pr, "error", detail);
	prs = cJSON_PrintUnformatted(pr);
	cJSON_Delete(pr);
	r.error = detail ? detail : deliver_reason_names[why];
	r.provider_response = prs;
	log_info("delivery %lld of tenant %s: failed, %s%s%s", c->delivery_id, c->tenant,
		 deliver_reason_names[why], detail ? ": " : "", detail ? detail : "");
	sender_record(s, c->tenant, &r);
	deliver_metrics_failed(c->channel, why);
	free(prs);
}

static void sender_job_free(struct sender_job *j)
{
	render_out_free(&j->msg);
	free(j->key);
	free(j->to);
	free(j->rule_id);
	free(j->profile_id);
	free(j->created_at);
	free(j);
}

/* provider_response for a move: the answer as far as it is worth keeping. */
static char *sender_provider_response(const struct tr_result *res, const struct outcome *o)
{
	cJSON *pr = cJSON_CreateObject();
	char *s;

	if (o->move == OM_FAILED)
		cJSON_AddStringToObject(pr, "reason", deliver_reason_names[o->reason]);
	if (res->status)
		cJSON_AddNumberToObject(pr, "status", (double)res->status);
	if (res->error[0])
		cJSON_AddStringToObject(pr, "error", res->error);
	if (res->response_len)
		cJSON_AddStringToObject(pr, "response", res->response);
	s = cJSON_PrintUnformatted(pr);
	cJSON_Delete(pr);
	return s;
}

/* Transport's callback: the attempt's result -> its record. */
static void sender_done(const struct tr_result *res, void *arg)
{
	struct sender_job *j = arg;
	struct sender *s = j->s;
	const struct deliver_channel *ch = &s->cfg->channel[j->ch];
	struct outcome_policy pol = { s->cfg->deliver.retry_initial_ms, s->cfg->deliver.retry_max_ms,
				      s->cfg->deliver.max_attempts, s->cfg->deliver.max_age_s,
				      ch->accept_means_delivered == 1 };
	int64_t now = clock_wall_us();
	struct outcome o;
	char *prs = NULL;
	struct drecord r = { .delivery_id = j->delivery_id, .attempt = j->attempt,
			     .started_us = j->started_us, .ended_us = now,
			     .status_code = res->status,
			     .error = res->error[0] ? res->error : NULL,
			     .response = res->response_len ? res->response : NULL };

	outcome_decide(&pol, res, j->attempt, j->age_s + (double)(now - j->started_us) / 1e6, now,
		       sender_random(), &o);
	r.outcome = outcome_move_names[o.move];
	if (o.move == OM_RETRY) {
		r.next_us = o.next_us;
	} else {
		prs = sender_provider_response(res, &o);
		r.provider_response = prs;
	}
	deliver_metrics_attempt_seconds(j->ch, (double)(now - j->started_us) / 1e6);
	switch (o.move) {
	case OM_SENT:
	case OM_DELIVERED:
		deliver_metrics_sent(j->ch);
		log_debug("delivery %lld: %s (attempt %d)", j->delivery_id, r.outcome, j->attempt);
		break;
	case OM_RETRY:
		deliver_metrics_retry(j->ch);
		log_info("delivery %lld: attempt %d failed (%s%s%ld), retrying in %.1f s",
			 j->delivery_id, j->attempt, res->error, res->error[0] ? ", status " : "status ",
			 res->status, (double)(o.next_us - now) / 1e6);
		break;
	case OM_FAILED:
		deliver_metrics_failed(j->ch, o.reason);
		log_info("delivery %lld: failed after attempt %d, %s (%s%s%ld)", j->delivery_id,
			 j->attempt, deliver_reason_names[o.reason], res->error,
			 res->error[0] ? ", status " : "status ", res->status);
		break;
	}
	sender_record(s, j->tenant, &r);
	free(prs);
	if (o.move == OM_RETRY) {
		struct sender_tenant *t = sender_tenant(s, j->tenant);
		int64_t due = clock_mono_us() + (o.next_us - now);

		if (t)
			t->want |= 1u << j->ch;
		if (!s->wake_us || due < s->wake_us) {
			struct timeval tv = { (time_t)((due - clock_mono_us()) / 1000000),
					      (suseconds_t)((due - clock_mono_us()) % 1000000) };

			if (tv.tv_sec < 0 || tv.tv_usec < 0)
				tv = (struct timeval){ 0, 0 };
			s->wake_us = due;
			event_add(s->ev_wake, &tv);
		}
	}
	s->inflight[j->ch]--;
	deliver_metrics_inflight(j->ch, s->inflight[j->ch]);
	sender_job_free(j);
	sender_check_drained(s);
	if (!s->draining)
		sender_pump_at(s, 0);
}

static char *sender_ctx_str(const cJSON *ctx, const char *obj, const char *key)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(ctx, obj);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* One claimed delivery: check, render, send (or fail it). */
static void sender_start(struct sender *s, const struct dclaim *c)
{
	struct sender_job *j;
	char why[256];
	enum deliver_reason reason;

	if (!c->consent_ok) {
		sender_fail_unsent(s, c, DR_CONSENT_WITHDRAWN, NULL);
		return;
	}
	if (!c->address || !*c->address) {
		sender_fail_unsent(s, c, DR_NO_ADDRESS, NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		log_error("delivery %lld: out of memory; released to be tried again", c->delivery_id);
		if (dstore_release(s->db, c->tenant, s->owner, &c->delivery_id, 1))
			sender_db_failed(s);
		return;
	}
	if (render_message(s->render, c, &s->cfg->channel[c->channel], &j->msg, &reason, why,
			   sizeof(why))) {
		free(j);
		sender_fail_unsent(s, c, reason, why);
		return;
	}
	j->s = s;
	j->ch = c->channel;
	snprintf(j->tenant, sizeof(j->tenant), "%s", c->tenant);
	j->delivery_id = c->delivery_id;
	j->attempt = c->attempt;
	j->age_s = c->age_s;
	j->key = strdup(c->idempotency_key);
	j->to = strdup(c->address);
	j->rule_id = sender_ctx_str(c->context, "rule", "rule_id");
	j->profile_id = sender_ctx_str(c->context, "profile", "profile_id");
	j->created_at = sender_ctx_str(c->context, "delivery", "created_at");
	j->m = (struct tr_msg){ .tenant_id = j->tenant, .delivery_id = j->delivery_id,
				.channel = deliver_channel_names[j->ch], .to = j->to,
				.subject = j->msg.subject, .body = j->msg.body,
				.idempotency_key = j->key, .rule_id = j->rule_id,
				.profile_id = j->profile_id ? j->profile_id : "",
				.created_at = j->created_at ? j->created_at : "",
				.payload = j->msg.payload };
	if (!j->key || !j->to) {
		sender_job_free(j);
		log_error("delivery %lld: out of memory; released to be tried again", c->delivery_id);
		if (dstore_release(s->db, c->tenant, s->owner, &c->delivery_id, 1))
			sender_db_failed(s);
		return;
	}
	j->started_us = clock_wall_us();
	s->inflight[j->ch]++;
	deliver_metrics_inflight(j->ch, s->inflight[j->ch]);
	transport_any_send(s->tr[j->ch], &j->m, sender_done, j);	/* the callback may come at once */
}

/* Rate tokens of channel ch free now (at most want); the time of the next one when none. */
static int sender_tokens(struct sender *s, int ch, int want, int64_t now, int64_t *next_us)
{
	int rate = s->cfg->channel[ch].rate_per_second, n = 0;
	int64_t step;

	if (rate <= 0)
		return want;
	step = 1000000 / rate > 0 ? 1000000 / rate : 1;
	if (s->next_token_us[ch] < now - 1000000)
		s->next_token_us[ch] = now - 1000000;	/* a burst of at most one second's worth */
	while (n < want && s->next_token_us[ch] <= now) {
		s->next_token_us[ch] += step;
		n++;
	}
	*next_us = s->next_token_us[ch];
	return n;
}

static void sender_pump(struct sender *s)
{
	int64_t now = clock_mono_us(), wait_until = 0;

	if (s->draining)
		return;
	if (s->db_retry_us && now < s->db_retry_us) {
		sender_pump_at(s, s->db_retry_us);
		return;
	}
	if (!sender_flush_pending(s))
		return;
	for (int ch = 0; ch < DC_COUNT; ch++) {
		if (!s->tr[ch])
			continue;
		for (int t = 0; t < s->ntenants; t++) {
			struct sender_tenant *st = &s->tenants[t];
			int free_slots = s->cfg->channel[ch].concurrency - s->inflight[ch], n, got;
			struct dclaim *c;
			int64_t next = 0;

			if (!(st->want & (1u << ch)))
				continue;
			if (free_slots <= 0)
				break;	/* sender_done pumps again */
			n = free_slots < s->cfg->deliver.claim_batch ? free_slots
								      : s->cfg->deliver.claim_batch;
			n = sender_tokens(s, ch, n, now, &next);
			if (n == 0) {
				if (!wait_until || next < wait_until)
					wait_until = next;
				break;
			}
			if (dstore_claim(s->db, st->id, s->owner, s->cfg->deliver.claim_lease_s, n,
					 deliver_channel_names[ch], &c, &got)) {
				/* give back the unused tokens: nothing was started */
				s->next_token_us[ch] -= s->cfg->channel[ch].rate_per_second > 0 ?
					(int64_t)n * (1000000 / s->cfg->channel[ch].rate_per_second) : 0;
				sender_db_failed(s);
				return;
			}
			sender_db_ok(s);
			if (s->cfg->channel[ch].rate_per_second > 0 && got < n)
				s->next_token_us[ch] -= (int64_t)(n - got) *
					(1000000 / s->cfg->channel[ch].rate_per_second);
			if (got < n)
				st->want &= ~(1u << ch);
			for (int i = 0; i < got; i++)
				sender_start(s, &c[i]);
			dstore_claims_free(c, got);
			if (got == n)
				t--;	/* more may be due: this tenant again */
		}
	}
	if (wait_until)
		sender_pump_at(s, wait_until);
}

static void sender_on_pump(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sender_pump(arg);
}

/* Run the pump at when_us (monotonic; 0: as soon as the loop comes round). */
static void sender_pump_at(struct sender *s, int64_t when_us)
{
	int64_t d = when_us ? when_us - clock_mono_us() : 0;
	struct timeval tv = { 0, 0 };

	if (d > 0)
		tv = (struct timeval){ (time_t)(d / 1000000), (suseconds_t)(d % 1000000) };
	if (evtimer_pending(s->ev_pump, NULL) && d > 0)
		return;	/* an earlier run is armed; it re-arms what it still needs */
	evtimer_add(s->ev_pump, &tv);
}

static void sender_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct sender *s = arg;

	(void)fd;
	(void)what;
	s->wake_us = 0;
	/* retries fall due for some tenants: look at every tenant with a retry bit */
	for (int t = 0; t < s->ntenants; t++)
		s->tenants[t].want |= sender_all_channels(s);
	sender_pump(s);
}

void sender_scan(struct sender *s)
{
	char (*ids)[TENANT_ID_SIZE];
	double queued[DC_COUNT] = { 0 }, oldest = 0;
	int n;

	if (s->draining)
		return;
	if (dstore_tenants(s->db, &ids, &n)) {
		sender_db_failed(s);
		return;
	}
	sender_db_ok(s);
	for (int i = 0; i < n; i++) {
		struct sender_tenant *t = sender_tenant(s, ids[i]);
		double age;

		if (t)
			t->want |= sender_all_channels(s);
		if (dstore_backlog(s->db, ids[i], queued, DC_COUNT, &age) == 0 && age > oldest)
			oldest = age;
	}
	free(ids);
	for (int ch = 0; ch < DC_COUNT; ch++) {
		deliver_metrics_queued(ch, queued[ch]);
		if (!s->tr[ch] && queued[ch] > 0 && !s->said_unconfigured[ch]) {
			log_warn("channel %s has no transport: its %.0f queued deliveries stay queued (configure deliver.channels.%s)",
				 deliver_channel_names[ch], queued[ch], deliver_channel_names[ch]);
			s->said_unconfigured[ch] = true;
		}
	}
	deliver_metrics_oldest_queued(oldest);
	sender_pump(s);
}

static void sender_on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sender_scan(arg);
}

void sender_kick(struct sender *s, const char *tenant)
{
	struct sender_tenant *t;

	if (!tenant) {
		for (int i = 0; i < s->ntenants; i++)
			s->tenants[i].want |= sender_all_channels(s);
	} else if ((t = sender_tenant(s, tenant)) != NULL) {
		t->want |= sender_all_channels(s);
	}
	sender_pump_at(s, 0);
}

struct sender *sender_new(struct event_base *base, const struct deliver_cfg *cfg,
			  struct dstore *db, const char *owner)
{
	struct sender *s = calloc(1, sizeof(*s));
	struct timeval poll = { cfg->deliver.poll_interval_s, 0 };

	if (!s)
		return NULL;
	s->base = base;
	s->cfg = cfg;
	s->db = db;
	s->pending_tail = &s->pending;
	snprintf(s->owner, sizeof(s->owner), "%s", owner);
	s->render = render_new();
	s->cv = curlev_new(base);
	s->ev_pump = evtimer_new(base, sender_on_pump, s);
	s->ev_wake = evtimer_new(base, sender_on_wake, s);
	s->ev_poll = event_new(base, -1, EV_PERSIST, sender_on_poll, s);
	if (!s->render || !s->cv || !s->ev_pump || !s->ev_wake || !s->ev_poll ||
	    event_add(s->ev_poll, &poll))
		goto fail;
	for (int ch = 0; ch < DC_COUNT; ch++) {
		char why[256];

		deliver_metrics_configured(ch, cfg->channel[ch].kind != DK_NONE);
		if (cfg->channel[ch].kind == DK_NONE)
			continue;
		s->tr[ch] = transport_any_new(&cfg->channel[ch], s->cv, why, sizeof(why));
		if (!s->tr[ch]) {
			log_error("deliver.channels.%s: %s", deliver_channel_names[ch], why);
			goto fail;
		}
	}
	return s;
fail:
	sender_free(s);
	return NULL;
}

void sender_drain(struct sender *s, void (*done)(void *arg), void *arg)
{
	s->draining = true;
	s->drained = done;
	s->drained_arg = arg;
	sender_check_drained(s);
}

bool sender_ready(const struct sender *s)
{
	return s->db_failures == 0;
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	/* transfers still in flight end now (their callbacks run: kept as pending) */
	for (int ch = 0; ch < DC_COUNT; ch++)
		transport_any_free(s->tr[ch]);
	curlev_free(s->cv);
	while (s->pending) {
		struct sender_pending *p = s->pending;

		s->pending = p->next;
		log_warn("delivery %lld: outcome not recorded (database away at exit); it will be sent again after its lease",
			 p->r.delivery_id);
		sender_pending_free(p);
	}
	if (s->ev_pump)
		event_free(s->ev_pump);
	if (s->ev_wake)
		event_free(s->ev_wake);
	if (s->ev_poll)
		event_free(s->ev_poll);
	render_free(s->render);
	free(s->tenants);
	free(s);
}
