/*
 * fence.c — fences: a notification this daemon sends on its own channel
 * (fence_chan), carrying only a number, so that where it arrives on lc
 * everything committed before it has arrived too.  Two uses (listen.c's
 * DESIGN, "Counters" and "Load"): a refetch's counters are taken at their
 * fence, after the ticks they may count; a resync loads at its fence, never
 * over an unread backlog.  Loop thread only.
 *
 * `l->fences` lists what waits for its fence, in the order sent; a lost
 * connection drops them all (fence_drop_all): their fences will not come.
 */
#include "fence.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen_int.h"
#include "log.h"
#include "registry.h"
#include "workers.h"

/*
 * Counters read by a refetch, one result per tenant, taken at the fence; or
 * a resync, which loads at its fence.
 */
struct fence {
	struct fence *next;
	uint64_t id;
	bool resync;
	size_t n;
	PGresult *res[];
};

static void fence_wait(struct listen *l, struct fence *f)
{
	struct fence **tail;

	for (tail = &l->fences; *tail; tail = &(*tail)->next)
		;
	*tail = f;
}

/*
 * Resync, step one: the fence (see Load in listen.c).  0, also when it is
 * postponed (logged); -1 when qc was lost.
 */
int fence_resync(struct listen *l)
{
	struct fence *f;
	char idbuf[24];
	const char *fp[2] = { l->fence_chan, idbuf };
	PGresult *r;

	for (f = l->fences; f; f = f->next)
		if (f->resync)
			return 0;	/* one is on its way */
	f = calloc(1, sizeof(*f));
	if (!f) {
		log_error("out of memory: resync postponed");
		return 0;
	}
	f->id = ++l->fence_seq;
	f->resync = true;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)f->id);
	r = PQexecParams(l->qc, "SELECT pg_notify($1, $2)", 2, NULL, fp, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (PQstatus(l->qc) == CONNECTION_OK)
			log_warn("resync postponed: %s", listen_errmsg(l->qc, r));
		PQclear(r);
		free(f);
		return PQstatus(l->qc) == CONNECTION_OK ? 0 : -1;
	}
	PQclear(r);
	fence_wait(l, f);
	return 0;
}

/* A fence arrived: take the counters read before it (see Counters). */
void fence_reached(struct listen *l, uint64_t id)
{
	struct fence **pp = &l->fences, *f;

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	f = *pp;
	if (!f)
		return;		/* not ours, or read on a connection since lost */
	*pp = f->next;
	if (f->resync)
		event_active(l->ev_resync_go, EV_READ, 0);
	for (size_t i = 0; i < f->n; i++) {
		for (int j = 0; f->res[i] && j < PQntuples(f->res[i]); j++) {
			const char *id_s = PQgetvalue(f->res[i], j, 0);
			const char *sym = registry_symbol(l->reg, id_s);

			if (sym)
				workers_catch_up(l->workers, sym, id_s,
						 strtoll(PQgetvalue(f->res[i], j, 1), NULL, 10),
						 strtoll(PQgetvalue(f->res[i], j, 2), NULL, 10));
		}
	}
	listen_clear_results(f->res, f->n);
	free(f);
}

static int fence_req_cmp(const void *a, const void *b)
{
	const struct listen_req *x = a, *y = b;
	int c = strcmp(x->tenant, y->tenant);

	return c ? c : strcmp(x->rule, y->rule);
}

/*
 * Read the counters of the rules whose claims failed, per tenant, in one
 * transaction ending with a fence (see Counters).  0, or -1 when qc failed.
 */
int fence_counters(struct listen *l, struct listen_req *rq, size_t n)
{
	char **tenants = calloc(n, sizeof(*tenants)), **arrays = calloc(n, sizeof(*arrays));
	char idbuf[24];
	const char *fp[2] = { l->fence_chan, idbuf };
	struct fence *f = NULL;
	PGresult *r;
	size_t nt = 0, len = 0;
	int rc = -1;

	if (!tenants || !arrays)
		goto out;
	/* sorted, each tenant's distinct rule ids become one text[] literal */
	qsort(rq, n, sizeof(*rq), fence_req_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(rq[i].tenant, rq[i - 1].tenant) == 0) {
			if (strcmp(rq[i].rule, rq[i - 1].rule) == 0)
				continue;
		} else {
			size_t k = i;

			while (k < n && strcmp(rq[k].tenant, rq[i].tenant) == 0)
				k++;
			arrays[nt] = malloc(2 + 65 * (k - i));
			if (!arrays[nt])
				goto out;
			tenants[nt++] = rq[i].tenant;
			len = 0;
		}
		len += (size_t)sprintf(arrays[nt - 1] + len, "%c%s}", len ? ',' : '{',
				       rq[i].rule) - 1;
	}
	f = calloc(1, sizeof(*f) + nt * sizeof(f->res[0]));
	if (!f)
		goto out;
	f->id = ++l->fence_seq;
	f->n = nt;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)f->id);
	PQclear(listen_exec(l, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL,
			    PGRES_COMMAND_OK));
	if (PQtransactionStatus(l->qc) != PQTRANS_INTRANS ||
	    listen_per_tenant(l, tenants, nt,
			      "SELECT rule_id, trigger_count, coalesce((extract(epoch FROM"
			      " last_triggered_at) * 1000000)::bigint, 0) FROM alert_rules"
			      " WHERE rule_id = ANY($1::text[])",
			      (const char *const *)arrays, f->res))
		goto out;
	/*
	 * A full notification queue refuses the fence at COMMIT, which then
	 * leaves the connection idle as a commit would: only two results that
	 * say so mean the fence is on its way.
	 */
	r = listen_exec(l, "SELECT pg_notify($1, $2)", 2, fp, PGRES_TUPLES_OK);
	if (!r)
		goto out;
	PQclear(r);
	r = listen_exec(l, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
	if (!r)
		goto out;
	PQclear(r);
	if (PQtransactionStatus(l->qc) != PQTRANS_IDLE)
		goto out;
	fence_wait(l, f);
	f = NULL;
	rc = 0;
out:
	if (rc && PQstatus(l->qc) == CONNECTION_OK &&
	    PQtransactionStatus(l->qc) != PQTRANS_IDLE)
		PQclear(PQexec(l->qc, "ROLLBACK"));
	if (f) {
		listen_clear_results(f->res, f->n);
		free(f);
	}
	for (size_t i = 0; arrays && i < nt; i++)
		free(arrays[i]);
	free(arrays);
	free(tenants);
	return rc;
}


void fence_drop_all(struct listen *l)
{
	while (l->fences) {	/* their fences will not come */
		struct fence *f = l->fences;

		l->fences = f->next;
		listen_clear_results(f->res, f->n);
		free(f);
	}
}
