/*
 * load.c — the load: one REPEATABLE READ READ ONLY transaction on the
 * loop's query connection reads pg_current_snapshot(), market_snapshot,
 * leo_notify_key, leo_active_tenants() and, per tenant, its ACTIVE rules
 * (streamed through a cursor), and applies them as they arrive.  What it
 * loads and why, at start-up, reconnect and resync: listen.c's DESIGN
 * ("Load").  Loop thread only.
 *
 * Checkpoints (schema/44_checkpoint.sql, ckpt.c).  At start-up a symbol
 * whose checkpoint differs from its current price is seeded with the
 * checkpoint, and once the rules are queued the current price follows as
 * one replayed change (workers_replay): what fired, or would have, between
 * the checkpoint and a crash is evaluated once, and a rule that fired after
 * the checkpoint does not fire again on it.  A reconnect needs none of
 * this: the loop still knows the last price it passed on.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "listen_int.h"
#include "log.h"
#include "alertd_metrics.h"
#include "payload.h"
#include "registry.h"

/* Column 11 of row i (LOAD_RULE_RECENT): newest first in, oldest first out. */
static size_t load_recent(PGresult *r, int i, int64_t *out)
{
	const char *p = PQgetvalue(r, i, 11);
	size_t n = 0;

	if (PQnfields(r) < 12 || PQgetisnull(r, i, 11))
		return 0;
	while (*p && n < LOAD_RECENT_MAX) {
		char *end;
		long long v = strtoll(p, &end, 10);

		if (end == p)
			break;
		out[n++] = v;
		p = *end == ',' ? end + 1 : end;
	}
	for (size_t a = 0, b = n; a + 1 < b; a++, b--) {
		int64_t t = out[a];

		out[a] = out[b - 1];
		out[b - 1] = t;
	}
	return n;
}

/* Row i of r, read with LOAD_RULE_COLS (load.h), by column position. */
void load_apply_row(struct listen *l, PGresult *r, int i, int64_t recv_us, bool load)
{
	static int64_t recent[LOAD_RECENT_MAX];	/* loop thread only */
	const char *id = PQgetvalue(r, i, 0), *symbol = PQgetvalue(r, i, 2);
	const char *why = NULL;
	char was[RULES_SYMBOL_CAP];
	struct rules_def def = {
		.rule_id = id,
		.tenant_id = PQgetvalue(r, i, 1),
		.symbol = symbol,
		.condition = PQgetvalue(r, i, 3),
		.condition_len = (size_t)PQgetlength(r, i, 3),
		.rearm = PQgetvalue(r, i, 5)[0] == 't',
		.cooldown_s = strtoll(PQgetvalue(r, i, 6), NULL, 10),
		.expires_at_us = strtoll(PQgetvalue(r, i, 8), NULL, 10),
		.trigger_count = strtoll(PQgetvalue(r, i, 9), NULL, 10),
		.last_triggered_at_us = strtoll(PQgetvalue(r, i, 10), NULL, 10),
		.recent_us = recent,
	};

	def.nrecent = load_recent(r, i, recent);

	if (strcmp(PQgetvalue(r, i, 4), "ACTIVE") != 0 ||
	    !listen_map_get(&l->tenants, def.tenant_id)) {
		listen_remove_rule(l, id, symbol);
		return;
	}
	if (dec_parse(PQgetvalue(r, i, 7), (size_t)PQgetlength(r, i, 7), DEC_OPERAND,
		      &def.rearm_hysteresis, &why)) {
		metrics_add(METRIC_RULES_REJECTED_INVALID, 1);
		log_warn("rule %s: rearm_hysteresis: %s", id, why ? why : "invalid");
		listen_remove_rule(l, id, symbol);
		return;
	}
	if (!registry_id_ok(id)) {
		/* the schema's CHECK allows no other; the engine would refuse it */
		metrics_add(METRIC_RULES_REJECTED_INVALID, 1);
		log_warn("rule %s: not loaded: rule_id is not 64 lower-case hex digits", id);
		return;
	}
	/* a rule new to the table takes the row's counters in the upsert */
	load = load && def.trigger_count > 0 && registry_symbol(l->reg, id);
	if (registry_put(l->reg, id, symbol, def.tenant_id, l->gen, was, sizeof(was))) {
		log_error("rule %s: out of memory, not loaded", id);
		return;
	}
	if (was[0]) {
		/* the rule moved to another symbol: drop it where it was */
		workers_remove(l->workers, was, id);
	}
	if (workers_upsert(l->workers, &def, recv_us))
		log_error("rule %s: out of memory, not loaded", id);
	else if (load)
		workers_catch_up(l->workers, symbol, id, def.trigger_count,
				 def.last_triggered_at_us);
}

static void load_drop_stale(void *arg, const char *rule_id, const char *symbol)
{
	struct listen *l = arg;

	workers_remove(l->workers, symbol, rule_id);
}

/* The checkpoint of market row i (columns 3..5), when it has a usable one. */
static bool load_checkpoint(PGresult *r, int i, dec_t *price, bool *has_chg, dec_t *chg)
{
	const char *why = NULL;

	*has_chg = !PQgetisnull(r, i, 4);
	*chg = 0;
	if (PQgetisnull(r, i, 3) || PQgetisnull(r, i, 5))
		return false;
	if (dec_parse(PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3), DEC_PRICE, price,
		      &why) ||
	    (*has_chg && dec_parse(PQgetvalue(r, i, 4), (size_t)PQgetlength(r, i, 4),
				   DEC_PRICE, chg, &why))) {
		log_warn("leo_checkpoint %s: unusable: %s", PQgetvalue(r, i, 0),
			 why ? why : "null");
		return false;
	}
	return true;
}

/*
 * Apply the market rows of a load: seed (start-up) or catch up (reconnect).
 * At start-up, the rows to replay from their checkpoints go to replay[]
 * (PQntuples(r) long), their count to *nreplay.
 */
static int load_apply_market(struct listen *l, PGresult *r, enum load_mode mode,
			     int *replay, size_t *nreplay)
{
	int64_t now = clock_wall_us();

	for (int i = 0; i < PQntuples(r); i++) {
		const char *sym = PQgetvalue(r, i, 0), *why = NULL;
		struct listen_ent *e;
		dec_t price, chg = 0, cp_price, cp_chg;
		bool has_chg = !PQgetisnull(r, i, 2), added, cp_has_chg;

		if (PQgetisnull(r, i, 1) ||
		    dec_parse(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), DEC_PRICE,
			      &price, &why) ||
		    (has_chg && dec_parse(PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2),
					  DEC_PRICE, &chg, &why))) {
			log_warn("market_snapshot %s: unusable price: %s", sym,
				 why ? why : "null");
			continue;
		}
		e = listen_map_put(&l->prices, sym, &added);
		if (!e)
			return -1;
		if (mode == LOAD_RESTART && load_checkpoint(r, i, &cp_price, &cp_has_chg, &cp_chg) &&
		    (cp_price != price || cp_has_chg != has_chg || cp_chg != chg)) {
			workers_seed(l->workers, sym, cp_price, cp_has_chg, cp_chg);
			replay[(*nreplay)++] = i;
		} else if (mode == LOAD_RESTART) {
			workers_seed(l->workers, sym, price, has_chg, chg);
		} else if (added || e->v.px.price != price || e->v.px.has_chg != has_chg ||
			   e->v.px.chg != chg) {
			metrics_add(METRIC_TICKS_RECEIVED, 1);
			workers_tick(l->workers, sym, price, has_chg, chg, now);
		}
		e->v.px.price = price;
		e->v.px.chg = chg;
		e->v.px.has_chg = has_chg;
	}
	return 0;
}

/*
 * The rules of a load, streamed.  Each tenant's ACTIVE rules are read
 * through a cursor, LOAD_FETCH_ROWS at a time, and applied as they come,
 * so a load holds one batch of rows, never all of them (a million rows of
 * PGresult are ~400 MB, which glibc then keeps).  It is pipelined: two
 * FETCHes are in flight, and while a batch is applied the loop drains the
 * socket now and then (PQconsumeInput), so the server produces the next
 * batch meanwhile instead of waiting for the loop.
 *
 * A tenant's set_config is sent only after the last FETCH of the previous
 * tenant's cursor, and the server runs a pipeline in order, so every FETCH
 * runs under its own tenant's setting.
 */
#define LOAD_FETCH_ROWS 8192
#define LOAD_PIPE_MAX 8

struct load_pipe {
	int what[LOAD_PIPE_MAX];	/* in flight, in order: cursor of a FETCH, or -1 */
	size_t head, n;
};

static int load_pipe_send(struct listen *l, struct load_pipe *p, int what,
			    const char *sql, const char *param)
{
	const char *pv[1] = { param };

	if (p->n == LOAD_PIPE_MAX ||
	    !PQsendQueryParams(l->qc, sql, param ? 1 : 0, NULL, pv, NULL, NULL, 0))
		return -1;
	p->what[(p->head + p->n++) % LOAD_PIPE_MAX] = what;
	return 0;
}

/* Have the server send what it has, and send ours. */
static int load_pipe_flush(struct listen *l)
{
	return PQsendFlushRequest(l->qc) && PQflush(l->qc) == 0 ? 0 : -1;
}

static int load_pipe_fetch(struct listen *l, struct load_pipe *p, int k)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "FETCH %d FROM leo_load_%d", LOAD_FETCH_ROWS, k);
	return load_pipe_send(l, p, k, sql, NULL);
}

/* Tenant k's set_config, cursor and first two FETCHes, flushed. */
static int load_pipe_open(struct listen *l, struct load_pipe *p, int k,
			    const char *tenant)
{
	char sql[sizeof(LOAD_RULE_COLS) + 96];

	snprintf(sql, sizeof(sql), "DECLARE leo_load_%d NO SCROLL CURSOR FOR "
		 LOAD_RULE_COLS_WITH("'ACTIVE'") " WHERE status = 'ACTIVE'", k);
	if (load_pipe_send(l, p, -1, "SELECT set_config('app.current_tenant_id', $1, true)",
			     tenant) ||
	    load_pipe_send(l, p, -1, sql, NULL) || load_pipe_fetch(l, p, k) ||
	    load_pipe_fetch(l, p, k))
		return -1;
	return load_pipe_flush(l);
}

/* Read and apply every tenant's ACTIVE rules; 0, or -1 (logged). */
static int load_rules(struct listen *l, char *const *tenants, size_t nt,
			     int64_t now, size_t *nrules)
{
	struct load_pipe p = { .n = 0 };
	int cur = 0, rc = 0;

	if (!nt)
		return 0;
	if (!PQenterPipelineMode(l->qc))
		return -1;
	if (load_pipe_open(l, &p, 0, tenants[0]))
		rc = -1;
	while (rc == 0 && p.n) {
		int what = p.what[p.head], n;
		PGresult *r = PQgetResult(l->qc);
		ExecStatusType st = PQresultStatus(r);

		p.head = (p.head + 1) % LOAD_PIPE_MAX;
		p.n--;
		if (st != PGRES_TUPLES_OK && (what >= 0 || st != PGRES_COMMAND_OK)) {
			if (st != PGRES_PIPELINE_ABORTED)
				log_warn("database: %s", listen_errmsg(l->qc, r));
			PQclear(r);
			rc = -1;
			break;
		}
		PQclear(PQgetResult(l->qc));	/* the NULL that ends each result */
		if (what < 0) {
			PQclear(r);
			continue;
		}
		n = PQntuples(r);
		if (what == cur && n == LOAD_FETCH_ROWS) {
			/* a full batch: there may be more */
			if (load_pipe_fetch(l, &p, cur) || load_pipe_flush(l))
				rc = -1;
		} else if (what == cur && (size_t)++cur < nt) {
			/* a short one: this tenant is done, on to the next */
			if (load_pipe_open(l, &p, cur, tenants[cur]))
				rc = -1;
		}
		for (int j = 0; j < n; j++) {
			load_apply_row(l, r, j, now, true);
			if ((j & 1023) == 1023)
				(void)PQconsumeInput(l->qc);
		}
		*nrules += (size_t)n;
		PQclear(r);
	}
	if (!PQpipelineSync(l->qc))
		rc = -1;
	return listen_pipe_end(l, rc);
}

/*
 * Read the key that signs notifications; after a rotation keep the one
 * before, for what is still queued under it.  In the load's transaction.
 */
static int load_key(struct listen *l)
{
	uint8_t key[PAYLOAD_KEY_LEN];
	PGresult *r = listen_exec(l, "SELECT key FROM leo_notify_key", 0, NULL, PGRES_TUPLES_OK);
	int rc = -1;

	if (!r)
		return -1;
	if (PQntuples(r) != 1 || payload_key_parse(PQgetvalue(r, 0, 0), key)) {
		log_error("leo_notify_key holds no key of %d bytes: apply the schema",
			  PAYLOAD_KEY_LEN);
		goto out;
	}
	decode_key(&l->dec, key);
	rc = 0;
out:
	PQclear(r);
	return rc;
}

int load_run(struct listen *l, enum load_mode mode)
{
	PGresult *snap = NULL, *market = NULL, *ten = NULL;
	char **ids = NULL;
	int *replay = NULL;
	size_t nt = 0, nrules = 0, nreplay = 0;
	int rc = -1;
	int64_t now = clock_wall_us();

	PQclear(listen_exec(l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
			    PGRES_COMMAND_OK));
	if (PQtransactionStatus(l->qc) != PQTRANS_INTRANS)
		goto out;
	snap = listen_exec(l, "SELECT pg_current_snapshot()::text", 0, NULL,
			   PGRES_TUPLES_OK);
	market = listen_exec(l, "SELECT m.symbol, m.price::text, m.change_percent::text,"
			     " c.price::text, c.change_percent::text, c.observed_us"
			     " FROM market_snapshot m LEFT JOIN leo_checkpoint c USING (symbol)"
			     " WHERE m.price IS NOT NULL",
			     0, NULL, PGRES_TUPLES_OK);
	if (!snap || !market || PQntuples(snap) != 1 || load_key(l))
		goto out;
	replay = calloc((size_t)PQntuples(market) + 1, sizeof(*replay));
	if (!replay)
		goto out;
	ten = listen_exec(l, "SELECT t::text FROM leo_active_tenants() t", 0, NULL,
			  PGRES_TUPLES_OK);
	if (!ten)
		goto out;
	nt = (size_t)PQntuples(ten);
	ids = calloc(nt + 1, sizeof(*ids));
	if (!ids)
		goto out;
	for (size_t i = 0; i < nt; i++)
		ids[i] = PQgetvalue(ten, (int)i, 0);

	/*
	 * Apply, in the order the DESIGN comment gives, while the transaction
	 * streams the rules.  Should it fail half-way, the reconnect that
	 * follows loads everything again.
	 */
	{
		struct payload_snapshot s;

		if (payload_snapshot_parse(PQgetvalue(snap, 0, 0), &s)) {
			log_error("pg_current_snapshot(): cannot parse %s",
				  PQgetvalue(snap, 0, 0));
			goto out;
		}
		payload_snapshot_free(&l->dec.snap);
		l->dec.snap = s;
		l->dec.have_snap = true;
		if (load_apply_market(l, market, mode, replay, &nreplay))
			goto out;
	}
	/* tenants: the set is exactly what the database says now */
	{
		struct listen_map old = l->tenants;

		memset(&l->tenants, 0, sizeof(l->tenants));
		for (size_t i = 0; i < nt; i++) {
			bool added;

			if (!listen_map_put(&l->tenants, ids[i], &added))
				goto out;
			listen_map_del(&old, ids[i]);
		}
		for (uint32_t i = 0; i < old.n; i++)
			workers_remove_tenant(l->workers, old.ent[i].key);
		listen_map_clear(&old);
	}
	l->gen++;
	if (load_rules(l, ids, nt, now, &nrules))
		goto out;
	/* after the rules, so that they see the change */
	for (size_t k = 0; k < nreplay; k++) {
		int i = replay[k];
		const char *sym = PQgetvalue(market, i, 0);
		struct listen_ent *e = listen_map_get(&l->prices, sym);

		if (e)
			workers_replay(l->workers, sym, e->v.px.price, e->v.px.has_chg,
				       e->v.px.chg, listen_observed_us(l, clock_wall_us()),
				       strtoll(PQgetvalue(market, i, 5), NULL, 10));
	}
	if (nreplay)
		log_info("checkpoints: %zu symbols moved since their checkpoint, replayed"
			 " as one change each", nreplay);
	PQclear(listen_exec(l, "COMMIT", 0, NULL, PGRES_COMMAND_OK));
	if (PQtransactionStatus(l->qc) != PQTRANS_IDLE)
		goto out;
	registry_drop_stale(l->reg, l->gen, load_drop_stale, l);
	log_info("%s: %zu tenants, %zu active rules%s",
		 mode == LOAD_RESTART ? "loaded" :
		 mode == LOAD_RECONNECT ? "reloaded after reconnect" : "resynced",
		 nt, nrules, mode == LOAD_RESTART ? ", snapshots seeded" : ", prices caught up");
	rc = 0;
out:
	free(replay);
	free(ids);
	PQclear(ten);
	PQclear(market);
	PQclear(snap);
	if (rc && PQstatus(l->qc) == CONNECTION_OK &&
	    PQtransactionStatus(l->qc) != PQTRANS_IDLE)
		PQclear(PQexec(l->qc, "ROLLBACK"));
	return rc;
}
