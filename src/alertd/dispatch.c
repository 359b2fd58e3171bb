/*
 * dispatch.c — a decoded burst to the workers: the rules it names (and all
 * rules of tenants that became active) are fetched first, in one
 * transaction, one pipeline per query kind; then every item is pushed in
 * notification order, i.e. commit order (listen.c's DESIGN, "Ordering").
 * Loop thread only.  Which worker gets what is workers.c's (workers_owner).
 */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fence.h"
#include "listen_int.h"
#include "load.h"
#include "log.h"
#include "alertd_metrics.h"
#include "registry.h"
#include "workers.h"

static void dispatch_tenant_off(struct listen *l, const char *tenant)
{
	listen_map_del(&l->tenants, tenant);
	workers_remove_tenant(l->workers, tenant);
	registry_drop_tenant(l->reg, tenant);
}

int dispatch_burst(struct listen *l, struct decode_burst *b)
{
	char **tenants = NULL, **arrays = NULL;
	PGresult **res = NULL;
	struct listen_map rows = { 0 }, tix = { 0 };
	size_t nt = 0, nq = 0;
	int rc = -1;

	/* distinct tenants with rule look-ups or activations */
	for (size_t i = 0; i < b->n; i++) {
		struct decode_item *it = &b->items[i];
		struct listen_ent *e;
		bool added;

		if (it->kind != DECODE_RULE && it->kind != DECODE_TENANT_ON)
			continue;
		e = listen_map_put(&tix, it->tenant, &added);
		if (!e)
			goto out;
		if (added) {
			e->v.row.all = -1;
			nt++;
		}
		if (it->kind == DECODE_TENANT_ON && e->v.row.all < 0)
			e->v.row.all = 0;	/* numbered below */
	}
	if (nt) {
		size_t k = 0, na = 0;

		/* queries 0..nt-1: each tenant's named rules; then one query of
		 * all ACTIVE rules per tenant that became active */
		tenants = calloc(2 * nt, sizeof(*tenants));
		arrays = calloc(nt, sizeof(*arrays));
		res = calloc(2 * nt, sizeof(*res));
		if (!tenants || !arrays || !res)
			goto out;
		for (uint32_t i = 0; i < tix.n; i++) {
			struct listen_ent *e = &tix.ent[i];
			size_t len = 1, cap = 3;
			char *a;

			for (size_t j = 0; j < b->n; j++)
				if (b->items[j].kind == DECODE_RULE &&
				    strcmp(b->items[j].tenant, e->key) == 0)
					cap += 66;
			a = malloc(cap);
			if (!a)
				goto out;
			a[0] = '{';
			for (size_t j = 0; j < b->n; j++) {
				if (b->items[j].kind != DECODE_RULE ||
				    strcmp(b->items[j].tenant, e->key) != 0)
					continue;
				len += (size_t)sprintf(a + len, "%s%s", len > 1 ? "," : "",
						       b->items[j].rule);
			}
			strcpy(a + len, "}");
			tenants[k] = e->key;
			arrays[k] = a;
			e->v.row.row = (int)k++;
			if (e->v.row.all >= 0) {
				tenants[nt + na] = e->key;
				e->v.row.all = (int)(nt + na++);
			}
		}
		nq = nt + na;
		PQclear(listen_exec(l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
				    NULL, PGRES_COMMAND_OK));
		if (PQtransactionStatus(l->qc) != PQTRANS_INTRANS ||
		    listen_per_tenant(l, tenants, nt, LOAD_RULE_COLS
				      " WHERE rule_id = ANY($1::text[])",
				      (const char *const *)arrays, res))
			goto out;
		if (na && listen_per_tenant(l, tenants + nt, na,
					    LOAD_RULE_COLS " WHERE status = 'ACTIVE'",
					    NULL, res + nt))
			goto out;
		PQclear(listen_exec(l, "COMMIT", 0, NULL, PGRES_COMMAND_OK));
		if (PQtransactionStatus(l->qc) != PQTRANS_IDLE)
			goto out;
		for (size_t i = 0; i < nt; i++) {
			for (int j = 0; j < PQntuples(res[i]); j++) {
				bool added;
				struct listen_ent *e = listen_map_put(&rows, PQgetvalue(res[i], j, 0),
								      &added);

				if (!e)
					goto out;
				e->v.row.res = res[i];
				e->v.row.row = j;
			}
		}
	}

	for (size_t i = 0; i < b->n; i++) {
		struct decode_item *it = &b->items[i];
		struct listen_ent *e;
		bool added;

		switch (it->kind) {
		case DECODE_TICK: {
			struct payload_tick *t = &it->tick;

			e = listen_map_put(&l->prices, t->symbol, &added);
			if (e) {
				e->v.px.price = t->price;
				e->v.px.chg = t->chg;
				e->v.px.has_chg = t->has_chg;
			}
			workers_tick(l->workers, t->symbol, t->price, t->has_chg, t->chg,
				     listen_observed_us(l, b->recv_us));
			metrics_touch(METRIC_LAST_TICK);
			break;
		}
		case DECODE_RULE:
			e = listen_map_get(&rows, it->rule);
			if (it->old_symbol[0] && strcmp(it->old_symbol, it->symbol) != 0 &&
			    !registry_symbol(l->reg, it->rule))
				workers_remove(l->workers, it->old_symbol, it->rule);
			if (e)
				load_apply_row(l, e->v.row.res, e->v.row.row, b->recv_us, false);
			else
				listen_remove_rule(l, it->rule, it->symbol);
			break;
		case DECODE_TENANT_ON:
			if (listen_map_get(&l->tenants, it->tenant))
				break;
			if (!listen_map_put(&l->tenants, it->tenant, &added))
				goto out;
			e = listen_map_get(&tix, it->tenant);
			if (e && e->v.row.all >= 0) {
				PGresult *r = res[e->v.row.all];

				for (int j = 0; j < PQntuples(r); j++)
					load_apply_row(l, r, j, b->recv_us, false);
			}
			log_info("tenant %s active: its rules loaded", it->tenant);
			break;
		case DECODE_TENANT_OFF:
			if (listen_map_get(&l->tenants, it->tenant)) {
				dispatch_tenant_off(l, it->tenant);
				log_info("tenant %s not active: its rules dropped", it->tenant);
			}
			break;
		case DECODE_FENCE:
			fence_reached(l, it->fence);
			break;
		}
	}
	rc = 0;
out:
	if (rc && PQstatus(l->qc) == CONNECTION_OK &&
	    PQtransactionStatus(l->qc) != PQTRANS_IDLE)
		PQclear(PQexec(l->qc, "ROLLBACK"));
	if (res)
		listen_clear_results(res, nq);
	if (arrays)
		for (size_t i = 0; i < nt; i++)
			free(arrays[i]);
	free(arrays);
	free(tenants);
	free(res);
	listen_map_clear(&rows);
	listen_map_clear(&tix);
	return rc;
}
