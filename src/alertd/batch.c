/*
 * batch.c — per-tenant batches of a writer thread, and the retry and
 * bisection of one batch's write (batch.h).  Writer thread only.
 */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_metrics.h"
#include "clock.h"
#include "log.h"

void batch_write(const struct batch_ops *ops, const char *tenant, const struct batch_ev *evs,
		 size_t n)
{
	int attempt = 0;

	while (n > 0) {
		char *err = NULL;
		enum batch_result r = ops->exec(ops->arg, tenant, evs, n, &err);

		if (r == BATCH_OK) {
			free(err);
			if (ops->done)
				ops->done(ops->arg, evs, n);
			return;
		}
		metrics_add(METRIC_BATCHES_FAILED, 1);
		if (r == BATCH_BAD) {
			if (n == 1) {
				log_error("rule %s firing %lld (tenant %s): dropped, cannot be written: %s",
					  evs[0].ev.rule_id, (long long)evs[0].ev.seq, tenant,
					  err ? err : "unknown error");
				free(err);
				if (ops->done)
					ops->done(ops->arg, evs, 1);
				return;
			}
			free(err);
			batch_write(ops, tenant, evs, n / 2);
			batch_write(ops, tenant, evs + n / 2, n - n / 2);
			return;
		}
		log_warn("writer: batch of %zu for tenant %s failed, retrying: %s", n, tenant,
			 err ? err : "no connection");
		free(err);
		if (!ops->retry(ops->arg, attempt++)) {
			log_error("writer: database unreachable at shutdown, %zu firings of tenant %s not written",
				  n, tenant);
			return;
		}
	}
}

static int batch_evs_push(struct batch_evs *a, const struct batch_ev *e)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		struct batch_ev *ne = realloc(a->e, ncap * sizeof(*ne));

		if (!ne)
			return -1;
		a->e = ne;
		a->cap = ncap;
	}
	a->e[a->n++] = *e;
	return 0;
}

static bool batch_has_rule(const struct batch_evs *a, const char *rule_id)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->e[i].ev.rule_id, rule_id) == 0)
			return true;
	return false;
}

/*
 * Write `now`, then let the deferred firings in, in their order: a rule's
 * next firing is claimed only after its previous one committed.
 */
static void batch_flush(struct batch_set *s, struct batch_tenant *b)
{
	struct batch_evs later;

	if (b->now.n == 0)
		return;
	batch_write(s->ops, b->tenant, b->now.e, b->now.n);
	b->now.n = 0;
	later = b->later;
	memset(&b->later, 0, sizeof(b->later));
	for (size_t i = 0; i < later.n; i++)
		batch_add(s, &later.e[i]);
	free(later.e);
}

/*
 * One transaction per tenant: the schema refuses a daemon transaction that
 * writes rows of two tenants (70_rls.sql, leo_one_tenant_per_txn).
 */
void batch_flush_all(struct batch_set *s)
{
	size_t nb = s->n;

	for (size_t i = 0; i < nb; i++)
		if (s->b[i].now.n)
			batch_flush(s, &s->b[i]);
}

static struct batch_tenant *batch_for(struct batch_set *s, const char *tenant)
{
	struct batch_tenant *nb;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->b[i].tenant, tenant) == 0)
			return &s->b[i];
	nb = realloc(s->b, (s->n + 1) * sizeof(*nb));
	if (!nb)
		return NULL;
	s->b = nb;
	nb = &s->b[s->n++];
	memset(nb, 0, sizeof(*nb));
	snprintf(nb->tenant, sizeof(nb->tenant), "%s", tenant);
	return nb;
}

void batch_add(struct batch_set *s, const struct batch_ev *e)
{
	int rows = s->rows > 0 ? s->rows : 1;
	struct batch_tenant *b = batch_for(s, e->ev.tenant_id);

	if (!b) {
		/* out of memory: write it alone rather than lose it */
		batch_write(s->ops, e->ev.tenant_id, e, 1);
		return;
	}
	if (batch_has_rule(&b->now, e->ev.rule_id) ||
	    (b->later.n && batch_has_rule(&b->later, e->ev.rule_id))) {
		/* behind its earlier deferred firings too: each rule stays in order */
		if (batch_evs_push(&b->later, e)) {
			batch_flush(s, b);
			batch_write(s->ops, e->ev.tenant_id, e, 1);
		}
		if (b->later.n >= (size_t)rows)
			batch_flush(s, b);
		return;
	}
	if (b->now.n == 0)
		b->first_ms = clock_mono_ms();
	if (batch_evs_push(&b->now, e)) {
		batch_flush(s, b);
		batch_write(s->ops, e->ev.tenant_id, e, 1);
		return;
	}
	if ((int)b->now.n >= rows)
		batch_flush(s, b);
}

bool batch_pending(const struct batch_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->b[i].now.n)
			return true;
	return false;
}

int64_t batch_deadline(const struct batch_set *s, int delay_ms)
{
	int64_t deadline = -1;

	for (size_t i = 0; i < s->n; i++) {
		const struct batch_tenant *b = &s->b[i];

		if (b->now.n && (deadline < 0 || b->first_ms + delay_ms < deadline))
			deadline = b->first_ms + delay_ms;
	}
	return deadline;
}

void batch_free(struct batch_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->b[i].now.e);
		free(s->b[i].later.e);
	}
	free(s->b);
	s->b = NULL;
	s->n = 0;
}
