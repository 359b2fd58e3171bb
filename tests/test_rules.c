/*
 * test_rules.c — the rule table: every trigger policy transition (ONCE,
 * REARM level with hysteresis, REARM edge, cooldown, flood guard, expiry,
 * rebuild after a restart), upsert/remove semantics, and the threshold index
 * agreeing with an independent brute-force model on randomized rule sets and
 * price paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec.h"
#include "rules.h"

#define US 1000000LL
#define T0 (1700000000LL * US)
#define TEN_A "00000000-0000-0000-0000-00000000000a"
#define TEN_B "00000000-0000-0000-0000-00000000000b"

/* ------------------------------------------------------------------ */
/* captured events */

#define MAXEV 16384
static struct rules_event evs[MAXEV];
static size_t nev;

static void capture(void *arg, const struct rules_event *ev)
{
	(void)arg;
	assert_true(nev < MAXEV);
	evs[nev++] = *ev;
}

static dec_t P(const char *s)
{
	dec_t v;
	const char *why;

	if (dec_parse(s, strlen(s), DEC_PRICE, &v, &why))
		fail_msg("bad number %s: %s", s, why);
	return v;
}

static void idstr(char out[65], unsigned n)
{
	snprintf(out, 65, "%064x", n);
}

struct def_opts {
	bool rearm;
	int64_t cooldown_s;
	const char *hyst;
	int64_t expires_at_us;
	int64_t count;
	int64_t last_us;
	const char *tenant;
	const char *symbol;
};

static int upsert(struct rules *t, unsigned id, const char *json,
		  const struct def_opts *o, int64_t now)
{
	struct rules_def d;
	char ids[65], err[256];
	int rc;

	idstr(ids, id);
	memset(&d, 0, sizeof(d));
	d.rule_id = ids;
	d.tenant_id = o && o->tenant ? o->tenant : TEN_A;
	d.symbol = o && o->symbol ? o->symbol : "AAPL";
	d.condition = json;
	d.condition_len = strlen(json);
	if (o) {
		d.rearm = o->rearm;
		d.cooldown_s = o->cooldown_s;
		d.rearm_hysteresis = o->hyst ? P(o->hyst) : 0;
		d.expires_at_us = o->expires_at_us;
		d.trigger_count = o->count;
		d.last_triggered_at_us = o->last_us;
	}
	rc = rules_upsert(t, &d, now, err, sizeof(err));
	return rc;
}

static size_t tick(struct rules *t, const char *price, const char *chg, int64_t now)
{
	return rules_tick(t, "AAPL", P(price), chg != NULL, chg ? P(chg) : 0, now);
}

static struct rules *mk(int flood_max, int64_t flood_window)
{
	struct rules_limits lim = { flood_max, flood_window };
	struct rules *t = rules_new(&lim, capture, NULL);

	assert_non_null(t);
	nev = 0;
	return t;
}

/* Exactly one event of `kind` with `seq` since the last clear, then clear. */
static void expect1(enum rules_event_kind kind, unsigned id, int64_t seq)
{
	char ids[65];

	idstr(ids, id);
	if (nev != 1)
		fail_msg("expected 1 event, got %zu", nev);
	assert_int_equal(evs[0].kind, kind);
	assert_string_equal(evs[0].rule_id, ids);
	assert_int_equal(evs[0].seq, seq);
	nev = 0;
}

static void expect0(void)
{
	if (nev != 0)
		fail_msg("expected no event, got %zu (kind %d seq %" PRId64 ")", nev,
			 evs[0].kind, evs[0].seq);
}

/* ------------------------------------------------------------------ */
/* policies */

static void test_once(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts o = { .count = 0 };

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("100"), true, P("0.5")), 0);
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":150.1}", NULL, T0), 0);
	expect0();
	assert_int_equal(rules_count(t), 1);
	tick(t, "150.1", "1", T0 + US);
	expect0();
	tick(t, "150.10000000", "1", T0 + 2 * US);
	expect0();
	tick(t, "150.100000001", NULL, T0 + 3 * US);	/* 9th digit */
	expect1(RULES_FIRE, 1, 1);
	assert_true(evs[0].has_prev);
	assert_int_equal(rules_count(t), 0);	/* ONCE: gone */
	tick(t, "100", NULL, T0 + 4 * US);
	tick(t, "200", NULL, T0 + 5 * US);
	expect0();

	/* seq continues from the row's trigger_count; event carries the data */
	o.count = 4;
	assert_int_equal(upsert(t, 2, "{\"operator\":\"crosses_below\",\"value\":199.99999999}", &o, T0), 0);
	tick(t, "199.99999999", "-0.25", T0 + 6 * US);
	expect1(RULES_FIRE, 2, 5);
	nev = 1;
	assert_string_equal(evs[0].tenant_id, TEN_A);
	assert_string_equal(evs[0].symbol, "AAPL");
	assert_true(evs[0].prev_price == P("200") && evs[0].cur_price == P("199.99999999"));
	assert_false(evs[0].has_prev_chg);
	assert_true(evs[0].has_cur_chg && evs[0].cur_chg == P("-0.25"));
	assert_int_equal(evs[0].at_us, T0 + 6 * US);
	nev = 0;
	rules_free(t);
}

static void test_level_on_load(void **state)
{
	struct rules *t = mk(15, 180);

	(void)state;
	/* No snapshot yet: nothing to check. */
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":10}", NULL, T0), 0);
	expect0();
	assert_int_equal(rules_seed(t, "AAPL", P("50"), false, 0), 0);
	/* A level rule set while the price already satisfies it fires at load. */
	assert_int_equal(upsert(t, 2, "{\"operator\":\"<\",\"value\":60}", NULL, T0), 0);
	expect1(RULES_FIRE, 2, 1);
	nev = 1;
	assert_false(evs[0].has_prev);
	assert_true(evs[0].cur_price == P("50"));
	nev = 0;
	/* Edge conditions fire only on an observed change. */
	assert_int_equal(upsert(t, 3, "{\"operator\":\"crosses_above\",\"value\":40}", NULL, T0), 0);
	assert_int_equal(upsert(t, 4, "{\"operator\":\"enters\",\"low\":40,\"high\":60}", NULL, T0), 0);
	expect0();
	/* Level on change_percent NULL: does not hold. */
	assert_int_equal(upsert(t, 5, "{\"field\":\"change_percent\",\"operator\":\"<\",\"value\":60}", NULL, T0), 0);
	expect0();
	/* Rule 1 (> 10, not checked at upsert without snapshot) fires on the
	 * first observed change; rule 5 once change_percent appears. */
	tick(t, "50.5", "1", T0 + US);
	assert_int_equal(nev, 2);
	nev = 0;
	assert_int_equal(rules_count(t), 2);	/* 3 and 4 */
	rules_free(t);
}

static void test_rearm_hysteresis(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts o = { .rearm = true, .hyst = "5" };
	int64_t now = T0;

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("90"), false, 0), 0);
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100}", &o, now), 0);
	expect0();
	tick(t, "101", NULL, now += US);
	expect1(RULES_FIRE, 1, 1);
	tick(t, "102", NULL, now += US);
	expect0();		/* disarmed */
	tick(t, "99", NULL, now += US);
	tick(t, "101", NULL, now += US);
	expect0();		/* 99 is not 5 below 100: not re-armed */
	tick(t, "95.00000001", NULL, now += US);
	tick(t, "101", NULL, now += US);
	expect0();
	tick(t, "95", NULL, now += US);	/* exactly 5 away: re-arms */
	expect0();
	tick(t, "100", NULL, now += US);
	expect0();
	tick(t, "100.000000001", NULL, now += US);
	expect1(RULES_FIRE, 1, 2);
	assert_int_equal(rules_count(t), 1);

	/* "<" on change_percent: re-arm at threshold + hysteresis. */
	o.hyst = "0.5";
	assert_int_equal(upsert(t, 2, "{\"field\":\"change_percent\",\"operator\":\"<\",\"value\":-2}", &o, now), 0);
	tick(t, "100", "-2.1", now += US);
	expect1(RULES_FIRE, 2, 1);
	tick(t, "100", "-1.6", now += US);
	tick(t, "100", "-2.2", now += US);
	expect0();
	tick(t, "100", "-1.5", now += US);
	tick(t, "100", "-2.00000001", now += US);
	expect1(RULES_FIRE, 2, 2);
	/* NULL change_percent is not "5 away": no re-arm */
	tick(t, "100", NULL, now += US);
	tick(t, "100", "-3", now += US);
	expect0();

	/* Without hysteresis a composite re-arms as soon as it stops holding. */
	o.hyst = "3";	/* ignored: not a single comparison leaf */
	assert_int_equal(upsert(t, 3, "{\"operator\":\"between\",\"low\":200,\"high\":210}", &o, now), 0);
	tick(t, "205", "1", now += US);
	expect1(RULES_FIRE, 3, 1);
	tick(t, "210.000000001", "1", now += US);
	tick(t, "210", "1", now += US);
	expect1(RULES_FIRE, 3, 2);
	rules_free(t);
}

static void test_rearm_edge(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts o = { .rearm = true, .hyst = "10" };
	int64_t now = T0;

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("90"), false, 0), 0);
	assert_int_equal(upsert(t, 1, "{\"operator\":\"crosses\",\"value\":100}", &o, now), 0);
	tick(t, "100", NULL, now += US);
	expect1(RULES_FIRE, 1, 1);
	tick(t, "100.5", NULL, now += US);
	expect0();
	tick(t, "99.5", NULL, now += US);
	expect1(RULES_FIRE, 1, 2);
	tick(t, "101", NULL, now += US);
	expect1(RULES_FIRE, 1, 3);
	/* windowed move: every change on which it holds fires */
	assert_int_equal(upsert(t, 2, "{\"operator\":\"moves_up_pct\",\"value\":10,\"window_seconds\":60}", &o, now), 0);
	tick(t, "100", NULL, now += US);	/* window: {} -> no */
	expect1(RULES_FIRE, 1, 4);		/* crosses 100 down */
	tick(t, "110", NULL, now += US);	/* window {100} */
	expect1(RULES_FIRE, 2, 1);
	tick(t, "111", NULL, now += US);
	expect1(RULES_FIRE, 2, 2);
	tick(t, "109.99999999", NULL, now += US);
	expect0();
	tick(t, "110.5", NULL, now += 100 * US);	/* window emptied: 100 is too old */
	expect0();
	assert_int_equal(rules_count(t), 2);
	rules_free(t);
}

static void test_cooldown(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts o = { .rearm = true, .cooldown_s = 60 };
	int64_t now = T0;

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("90"), false, 0), 0);
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100}", &o, now), 0);
	tick(t, "101", NULL, now);
	expect1(RULES_FIRE, 1, 1);
	tick(t, "99", NULL, now + 5 * US);	/* re-arm */
	tick(t, "101", NULL, now + 10 * US);	/* holds, armed, in cooldown */
	expect0();
	tick(t, "102", NULL, now + 59 * US);
	expect0();
	/* 60 s after the firing: fires on a change that does not cross 100 */
	tick(t, "103", NULL, now + 60 * US);
	expect1(RULES_FIRE, 1, 2);
	tick(t, "104", NULL, now + 200 * US);
	expect0();		/* disarmed */

	/* Held back, then stops holding: stays armed, fires on the next crossing. */
	now += 300 * US;
	tick(t, "99", NULL, now);		/* re-arm (cooldown long over) */
	tick(t, "101", NULL, now + US);
	expect1(RULES_FIRE, 1, 3);
	tick(t, "99", NULL, now + 2 * US);
	tick(t, "101", NULL, now + 3 * US);	/* held */
	tick(t, "99", NULL, now + 4 * US);	/* no longer holding */
	tick(t, "99.5", NULL, now + 100 * US);
	expect0();
	tick(t, "100.5", NULL, now + 101 * US);
	expect1(RULES_FIRE, 1, 4);

	/* Edge rule: a held-back crossing is simply not a firing. */
	assert_int_equal(upsert(t, 2, "{\"operator\":\"crosses_above\",\"value\":200}", &o, now), 0);
	now += 1000 * US;
	tick(t, "201", NULL, now);
	expect1(RULES_FIRE, 2, 1);
	tick(t, "199", NULL, now + US);
	tick(t, "201", NULL, now + 2 * US);	/* held */
	tick(t, "202", NULL, now + 100 * US);	/* no crossing */
	expect0();
	tick(t, "199", NULL, now + 101 * US);
	tick(t, "200", NULL, now + 102 * US);
	expect1(RULES_FIRE, 2, 2);

	/* ONCE ignores cooldown. */
	o.rearm = false;
	o.last_us = now + 102 * US;
	assert_int_equal(upsert(t, 3, "{\"operator\":\"<\",\"value\":150}", &o, now + 103 * US), 0);
	tick(t, "149", NULL, now + 104 * US);
	expect1(RULES_FIRE, 3, 1);
	rules_free(t);
}

static void test_flood(void **state)
{
	struct rules *t = mk(3, 180);
	struct def_opts o = { .rearm = true, .count = 10 };
	int64_t now = T0;

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("90"), false, 0), 0);
	assert_int_equal(upsert(t, 1, "{\"operator\":\"crosses_above\",\"value\":100}", &o, now), 0);
	for (int i = 0; i < 3; i++) {
		tick(t, "101", NULL, now += 10 * US);
		expect1(RULES_FIRE, 1, 11 + i);
		tick(t, "99", NULL, now += 10 * US);
	}
	/* 4th firing within 180 s: paused instead; it is a firing (seq 14). */
	tick(t, "101", NULL, now += 10 * US);
	expect1(RULES_FLOOD_PAUSE, 1, 14);
	assert_int_equal(rules_count(t), 0);
	tick(t, "99", NULL, now += 10 * US);
	tick(t, "101", NULL, now += 10 * US);
	expect0();

	/* Spread out, the same rule never trips the guard. */
	assert_int_equal(upsert(t, 2, "{\"operator\":\"crosses_above\",\"value\":100}", &o, now), 0);
	for (int i = 0; i < 10; i++) {
		tick(t, "99", NULL, now += 30 * US);
		tick(t, "101", NULL, now += 31 * US);
		expect1(RULES_FIRE, 2, 11 + i);
	}
	/* Cooldown-held attempts are not firings. */
	o.cooldown_s = 5;
	o.count = 0;
	assert_int_equal(upsert(t, 3, "{\"operator\":\"crosses_below\",\"value\":50}", &o, now), 0);
	tick(t, "49", NULL, now += 100 * US);
	expect1(RULES_FIRE, 3, 1);
	for (int i = 0; i < 8; i++) {	/* 4 s, inside the 5 s cooldown */
		tick(t, "51", NULL, now += US / 4);
		tick(t, "49", NULL, now += US / 4);
	}
	expect0();
	tick(t, "51", NULL, now += 10 * US);
	tick(t, "49", NULL, now += US);
	expect1(RULES_FIRE, 3, 2);

	/* Limits can change at run time. */
	struct rules_limits lim = { 1, 1000 };
	rules_set_limits(t, &lim);
	tick(t, "51", NULL, now += 10 * US);
	tick(t, "49", NULL, now += 10 * US);
	expect1(RULES_FIRE, 3, 3);
	tick(t, "51", NULL, now += 10 * US);
	tick(t, "49", NULL, now += 10 * US);
	expect1(RULES_FLOOD_PAUSE, 3, 4);
	rules_free(t);

	/* The largest limit: the ring grows up to it and trips exactly there. */
	t = mk(65535, 100000);
	o = (struct def_opts){ .rearm = true };
	assert_int_equal(rules_seed(t, "AAPL", P("90"), false, 0), 0);
	assert_int_equal(upsert(t, 4, "{\"operator\":\"crosses_above\",\"value\":100}", &o, now), 0);
	for (int i = 1; i <= 65535; i++) {
		tick(t, "101", NULL, now += 1000);
		expect1(RULES_FIRE, 4, i);
		tick(t, "99", NULL, now += 1000);
	}
	tick(t, "101", NULL, now += 1000);
	expect1(RULES_FLOOD_PAUSE, 4, 65536);
	rules_free(t);
}

static void test_expiry(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts o = { .expires_at_us = T0 + 100 * US, .count = 2 };

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("90"), false, 0), 0);
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100}", &o, T0), 0);
	assert_int_equal(upsert(t, 2, "{\"operator\":\">\",\"value\":200}", NULL, T0), 0);
	rules_sweep(t, T0 + 99 * US);
	expect0();
	/* Past expires_at: never fires again, even before the sweep. */
	tick(t, "101", NULL, T0 + 100 * US);
	expect0();
	rules_sweep(t, T0 + 100 * US);
	expect1(RULES_EXPIRE, 1, 2);
	assert_int_equal(rules_count(t), 1);
	rules_sweep(t, T0 + 1000 * US);
	expect0();
	/* Upsert of an already expired rule: EXPIRE, not kept. */
	assert_int_equal(upsert(t, 3, "{\"operator\":\"<\",\"value\":500}", &o, T0 + 100 * US), 0);
	expect1(RULES_EXPIRE, 3, 2);
	assert_int_equal(rules_count(t), 1);
	/* ... also when it was in the table with another expiry. */
	o.expires_at_us = T0 + 10000 * US;
	o.count = 0;
	assert_int_equal(upsert(t, 4, "{\"operator\":\"<\",\"value\":50}", &o, T0), 0);
	o.expires_at_us = T0 + 50 * US;
	assert_int_equal(upsert(t, 4, "{\"operator\":\"<\",\"value\":50}", &o, T0 + 200 * US), 0);
	expect1(RULES_EXPIRE, 4, 0);
	assert_int_equal(rules_count(t), 1);
	rules_free(t);
}

static void test_restart(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts o = { .rearm = true, .count = 3, .last_us = T0 - 3600 * US };
	int64_t now = T0;

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("120"), false, 0), 0);
	/* Fired before and holds at load: disarmed (same episode). */
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100}", &o, now), 0);
	/* Fired before, does not hold: armed. */
	assert_int_equal(upsert(t, 2, "{\"operator\":\">\",\"value\":130}", &o, now), 0);
	/* Never fired and holds: fires at load. */
	o.count = 0;
	o.last_us = 0;
	assert_int_equal(upsert(t, 3, "{\"operator\":\">\",\"value\":110}", &o, now), 0);
	expect1(RULES_FIRE, 3, 1);
	tick(t, "131", NULL, now += US);
	expect1(RULES_FIRE, 2, 4);
	tick(t, "99", NULL, now += US);
	tick(t, "101", NULL, now += US);
	expect1(RULES_FIRE, 1, 4);

	/* Cooldown counts from last_triggered_at of the row. */
	o.count = 7;
	o.cooldown_s = 60;
	o.last_us = now - 10 * US;
	assert_int_equal(upsert(t, 4, "{\"operator\":\"<\",\"value\":50}", &o, now), 0);
	tick(t, "49", NULL, now += US);		/* 11 s after: held */
	expect0();
	tick(t, "48", NULL, now += 49 * US);	/* 60 s after */
	expect1(RULES_FIRE, 4, 8);
	rules_free(t);
}

static void test_upsert_semantics(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts o = { .rearm = true };
	int64_t now = T0;
	char err[256], ids[65];
	struct rules_def d;

	(void)state;
	assert_int_equal(rules_seed(t, "AAPL", P("120"), false, 0), 0);
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100}", &o, now), 0);
	expect1(RULES_FIRE, 1, 1);
	/* Unchanged: keeps its state (disarmed), takes nothing older. */
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100}", &o, now), 0);
	expect0();
	/* Same definition, different JSON layout: still unchanged. */
	assert_int_equal(upsert(t, 1, "{ \"value\": 100.0, \"field\": \"price\", \"operator\": \">\" }", &o, now), 0);
	expect0();
	/* The row's counters are not taken (they may count changes this
	 * table has not seen); rules_catch_up takes them, when ahead. */
	o.count = 9;
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100}", &o, now), 0);
	expect0();
	tick(t, "99", NULL, now += US);
	tick(t, "101", NULL, now += US);
	expect1(RULES_FIRE, 1, 2);
	idstr(ids, 1);
	assert_int_equal(rules_catch_up(t, ids, 9, now), 1);
	assert_int_equal(rules_catch_up(t, ids, 3, now), 0);	/* behind: kept */
	assert_int_equal(rules_catch_up(t, "nope", 9, now), -1);
	idstr(ids, 7);
	assert_int_equal(rules_catch_up(t, ids, 9, now), -1);	/* not there */
	tick(t, "99", NULL, now += US);
	tick(t, "101", NULL, now += US);
	expect1(RULES_FIRE, 1, 10);
	/* Changed definition: checked again (not a restart), the table's
	 * counter kept over the row's. */
	o.count = 0;
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100.5}", &o, now), 0);
	expect1(RULES_FIRE, 1, 11);
	assert_int_equal(rules_count(t), 1);
	/* Changing the policy is a change too. */
	o.rearm = false;
	assert_int_equal(upsert(t, 1, "{\"operator\":\">\",\"value\":100.5}", &o, now), 0);
	expect1(RULES_FIRE, 1, 12);
	assert_int_equal(rules_count(t), 0);

	/* Invalid condition or id: -1 with a message, nothing added. */
	assert_int_equal(upsert(t, 2, "{\"operator\":\">\",\"value\":1e2}", NULL, now), -1);
	/* A rule whose row turns invalid leaves the table. */
	assert_int_equal(upsert(t, 5, "{\"operator\":\">\",\"value\":1000}", NULL, now), 0);
	assert_int_equal(rules_count(t), 1);
	assert_int_equal(upsert(t, 5, "{\"operator\":\">\",\"value\":}", NULL, now), -1);
	memset(&d, 0, sizeof(d));
	d.rule_id = "ABC";
	d.tenant_id = TEN_A;
	d.symbol = "AAPL";
	d.condition = "{\"operator\":\">\",\"value\":1}";
	d.condition_len = strlen(d.condition);
	assert_int_equal(rules_upsert(t, &d, now, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "rule_id"));
	{
		static const char *const badids[] = {
			"000000000000000000000000000000000000000000000000000000000000000A",
			"000000000000000000000000000000000000000000000000000000000000000",
			"00000000000000000000000000000000000000000000000000000000000000000",
			"000000000000000000000000000000000000000000000000000000000000000g",
			"",
		};

		for (size_t i = 0; i < sizeof(badids) / sizeof(badids[0]); i++) {
			d.rule_id = badids[i];
			assert_int_equal(rules_upsert(t, &d, now, err, sizeof(err)), -1);
			assert_int_equal(rules_remove(t, badids[i]), -1);
		}
	}
	d.rule_id = "0000000000000000000000000000000000000000000000000000000000000002";
	d.condition = "{\"operator\":\">\",\"value\":1.123456789}";
	d.condition_len = strlen(d.condition);
	assert_int_equal(rules_upsert(t, &d, now, err, sizeof(err)), -1);
	assert_string_equal(err, "value: more than 8 fractional digits");
	assert_int_equal(rules_count(t), 0);
	expect0();
	rules_free(t);
}

static void test_remove(void **state)
{
	struct rules *t = mk(15, 180);
	struct def_opts a = { .tenant = TEN_A }, b = { .tenant = TEN_B };
	char ids[65];

	(void)state;
	for (unsigned i = 0; i < 100; i++) {
		char j[96];

		snprintf(j, sizeof(j), "{\"operator\":\"crosses\",\"value\":%u}", 100 + i % 10);
		assert_int_equal(upsert(t, i, j, i % 2 ? &b : &a, T0), 0);
	}
	assert_int_equal(rules_count(t), 100);
	idstr(ids, 3);
	assert_int_equal(rules_remove(t, ids), 0);
	assert_int_equal(rules_remove(t, ids), -1);
	assert_int_equal(rules_remove(t, "nope"), -1);
	assert_int_equal(rules_count(t), 99);
	assert_int_equal(rules_remove_tenant(t, TEN_B), 49);
	assert_int_equal(rules_remove_tenant(t, "00000000-0000-0000-0000-0000000000ff"), 0);
	assert_int_equal(rules_count(t), 50);
	tick(t, "90", NULL, T0);
	tick(t, "120", NULL, T0 + US);
	/* ONCE crossings: the 50 of tenant A fire and leave. */
	assert_int_equal(nev, 50);
	for (size_t i = 0; i < nev; i++)
		assert_string_equal(evs[i].tenant_id, TEN_A);
	nev = 0;
	assert_int_equal(rules_count(t), 0);
	/* Slots are reused. */
	assert_int_equal(upsert(t, 3, "{\"operator\":\"<\",\"value\":1}", NULL, T0), 0);
	assert_int_equal(rules_count(t), 1);
	rules_free(t);
}

/* ------------------------------------------------------------------ */
/* the index against an independent brute-force model */

/*
 * The model knows nothing of the table: rules are plain structs, values are
 * integers (operands in 1e-8, observed prices in 1e-9 so a 9th digit is
 * possible), and every tick evaluates every rule with the SPEC's words.
 */
enum m_op { M_GT, M_GE, M_LT, M_LE, M_EQ, M_NE, M_CA, M_CB, M_CX, M_BT, M_OS,
	    M_EN, M_EX, M_UP, M_DN, M_NOPS };
static const char *const m_opname[] = {
	">", ">=", "<", "<=", "==", "!=", "crosses_above", "crosses_below",
	"crosses", "between", "outside", "enters", "exits", "moves_up_pct",
	"moves_down_pct"
};

struct m_leaf {
	int op, field;
	int64_t a, b;		/* 1e-8 */
	int window_s;
};

struct m_rule {
	int comp;		/* 0 leaf, 1 all, 2 any, 3 not (of leaf[0]) */
	int nleaf;
	struct m_leaf leaf[3];
	int sym;
	bool rearm, armed, gone, live;
	int64_t cooldown_s, hyst, count, last_us;
	int64_t fires[64];
	int nfires;
};

struct m_snap {
	bool hp, hc;
	int64_t p, c;		/* 1e-9 */
};

struct m_hist {
	int64_t t, p;
};

#define M_MAXR 5000
#define M_SYMS 3
static struct m_rule mr[M_MAXR];
static int nmr;
static struct m_hist mh[M_SYMS][4096];
static int nmh[M_SYMS];

static int64_t m_rand(int64_t n)
{
	return (int64_t)(((uint64_t)random() << 31 ^ (uint64_t)random()) % (uint64_t)n);
}

static bool m_leaf_holds(const struct m_leaf *l, const struct m_snap *pv,
			 const struct m_snap *cu, int sym, int64_t now)
{
	bool hp = pv && (l->field ? pv->hc : pv->hp), hc = l->field ? cu->hc : cu->hp;
	int64_t p = hp ? (l->field ? pv->c : pv->p) : 0, v = l->field ? cu->c : cu->p;
	int64_t a = l->a * 10, b = l->b * 10;

	if (!hc)
		return false;
	switch (l->op) {
	case M_GT: return v > a;
	case M_GE: return v >= a;
	case M_LT: return v < a;
	case M_LE: return v <= a;
	case M_EQ: return v == a;
	case M_NE: return v != a;
	case M_CA: return hp && p < a && a <= v;
	case M_CB: return hp && p > a && a >= v;
	case M_CX: return hp && ((p < a && a <= v) || (p > a && a >= v));
	case M_BT: return a <= v && v <= b;
	case M_OS: return !(a <= v && v <= b);
	case M_EN: return hp && !(a <= p && p <= b) && (a <= v && v <= b);
	case M_EX: return hp && (a <= p && p <= b) && !(a <= v && v <= b);
	case M_UP:
	case M_DN: {
		/* lowest / highest price of the last window_s seconds, by scan */
		bool any = false;
		int64_t lo = 0, hi = 0;

		for (int i = 0; i < nmh[sym]; i++)
			if (mh[sym][i].t >= now - l->window_s * US) {
				if (!any || mh[sym][i].p < lo)
					lo = mh[sym][i].p;
				if (!any || mh[sym][i].p > hi)
					hi = mh[sym][i].p;
				any = true;
			}
		if (!any)
			return false;
		/* cur - lo >= |lo| * pct / 100, in 1e-9 and pct in 1e-8 */
		if (l->op == M_UP)
			return (__int128)(v - lo) * 10000000000LL >= (__int128)(lo < 0 ? -lo : lo) * l->a;
		return (__int128)(hi - v) * 10000000000LL >= (__int128)(hi < 0 ? -hi : hi) * l->a;
	}
	}
	return false;
}

static bool m_holds(const struct m_rule *r, const struct m_snap *pv,
		    const struct m_snap *cu, int64_t now)
{
	bool acc;

	switch (r->comp) {
	case 0: return m_leaf_holds(&r->leaf[0], pv, cu, r->sym, now);
	case 3: return !m_leaf_holds(&r->leaf[0], pv, cu, r->sym, now);
	case 1:
		acc = true;
		for (int i = 0; i < r->nleaf; i++)
			acc = acc && m_leaf_holds(&r->leaf[i], pv, cu, r->sym, now);
		return acc;
	default:
		acc = false;
		for (int i = 0; i < r->nleaf; i++)
			acc = acc || m_leaf_holds(&r->leaf[i], pv, cu, r->sym, now);
		return acc;
	}
}

static bool m_edge(const struct m_rule *r)
{
	for (int i = 0; i < r->nleaf; i++)
		if (r->leaf[i].op >= M_CA && r->leaf[i].op != M_BT && r->leaf[i].op != M_OS)
			return true;
	return false;
}

struct m_ev {
	int kind;
	unsigned id;
	int64_t seq;
};

static struct m_ev mev[M_MAXR * 2];
static int nmev;

static void m_fire(int i, int64_t now, int flood_max, int64_t flood_win_s)
{
	struct m_rule *r = &mr[i];
	int recent = 0;

	if (r->rearm && r->cooldown_s > 0 && r->last_us != 0 &&
	    now < r->last_us + r->cooldown_s * US)
		return;		/* held back: not a firing */
	if (r->rearm) {
		for (int k = 0; k < r->nfires; k++)
			if (r->fires[k] > now - flood_win_s * US)
				recent++;
		if (recent >= flood_max) {
			mev[nmev++] = (struct m_ev){ RULES_FLOOD_PAUSE, (unsigned)i, r->count + 1 };
			r->gone = true;
			return;
		}
		if (r->nfires < 64)
			r->fires[r->nfires++] = now;
		else {
			memmove(r->fires, r->fires + 1, 63 * sizeof(r->fires[0]));
			r->fires[63] = now;
		}
	}
	mev[nmev++] = (struct m_ev){ RULES_FIRE, (unsigned)i, r->count + 1 };
	if (!r->rearm) {
		r->gone = true;
		return;
	}
	r->count++;
	r->last_us = now;
	if (!m_edge(r))
		r->armed = false;
}

static bool m_rearm_ok(const struct m_rule *r, const struct m_snap *cu)
{
	const struct m_leaf *l = &r->leaf[0];
	int64_t v;

	if (r->hyst == 0 || r->comp != 0 || l->op > M_LE)
		return true;
	if (l->field ? !cu->hc : !cu->hp)
		return false;
	v = l->field ? cu->c : cu->p;
	if (l->op <= M_GE)
		return v <= (l->a - r->hyst) * 10;
	return v >= (l->a + r->hyst) * 10;
}

static void fmt8(char *out, size_t cap, int64_t u, int scale)
{
	int64_t m = u < 0 ? -u : u, div = scale == 9 ? 1000000000 : 100000000;

	snprintf(out, cap, "%s%" PRId64 ".%0*" PRId64, u < 0 ? "-" : "", m / div,
		 scale, m % div);
}

static void m_leaf_json(char *out, size_t cap, const struct m_leaf *l)
{
	char a[40], b[40];

	fmt8(a, sizeof(a), l->a, 8);
	fmt8(b, sizeof(b), l->b, 8);
	if (l->op >= M_BT && l->op <= M_EX)
		snprintf(out, cap, "{\"operator\":\"%s\",\"field\":\"%s\",\"low\":%s,\"high\":%s}",
			 m_opname[l->op], l->field ? "change_percent" : "price", a, b);
	else if (l->op >= M_UP)
		snprintf(out, cap, "{\"operator\":\"%s\",\"value\":%s,\"window_seconds\":%d}",
			 m_opname[l->op], a, l->window_s);
	else
		snprintf(out, cap, "{\"operator\":\"%s\",\"field\":\"%s\",\"value\":%s}",
			 m_opname[l->op], l->field ? "change_percent" : "price", a);
}

static const char *m_symname(int s)
{
	static const char *const n[M_SYMS] = { "S0", "S1", "S2" };

	return n[s];
}

/* A random rule; thresholds on a coarse grid near 100 (price) or 0 (chg). */
static void m_gen(struct m_rule *r, bool moves)
{
	memset(r, 0, sizeof(*r));
	r->sym = (int)m_rand(M_SYMS);
	r->comp = m_rand(4) == 0 ? 1 + (int)m_rand(3) : 0;
	r->nleaf = r->comp == 0 || r->comp == 3 ? 1 : 2 + (int)m_rand(2);
	for (int i = 0; i < r->nleaf; i++) {
		struct m_leaf *l = &r->leaf[i];

		l->op = (int)m_rand(moves ? M_NOPS : M_UP);
		l->field = l->op >= M_UP ? 0 : m_rand(4) == 0;
		if (l->op >= M_UP) {
			/* 0.05% .. 3% in steps of 0.05%: on the price grid from round lows */
			l->a = (1 + m_rand(60)) * 5000000;
			l->window_s = 1 + (int)m_rand(60);
			continue;
		}
		/* grid of 0.1 (so prices hit thresholds), a few odd ones */
		l->a = (l->field ? -30 + m_rand(60) : 970 + m_rand(60)) * 10000000;
		if (m_rand(8) == 0)
			l->a += m_rand(10000000);
		l->b = l->a + m_rand(4) * 10000000;
	}
	r->rearm = m_rand(2) == 0;
	r->cooldown_s = m_rand(4) == 0 ? 1 + m_rand(30) : 0;
	r->hyst = m_rand(3) == 0 ? m_rand(4) * 5000000 : 0;
	r->count = m_rand(5) == 0 ? 1 + m_rand(3) : 0;
	r->armed = true;
	r->live = true;
}

static int m_upsert(struct rules *t, int i, const struct m_snap *snaps, int64_t now)
{
	struct m_rule *r = &mr[i];
	char json[1024], leaf[256], ids[65], err[256], hy[40];
	size_t n = 0;
	struct rules_def d;

	if (r->comp == 0) {
		m_leaf_json(json, sizeof(json), &r->leaf[0]);
	} else if (r->comp == 3) {
		m_leaf_json(leaf, sizeof(leaf), &r->leaf[0]);
		snprintf(json, sizeof(json), "{\"not\":%s}", leaf);
	} else {
		n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"%s\":[",
				      r->comp == 1 ? "all" : "any");
		for (int k = 0; k < r->nleaf; k++) {
			m_leaf_json(leaf, sizeof(leaf), &r->leaf[k]);
			n += (size_t)snprintf(json + n, sizeof(json) - n, "%s%s",
					      k ? "," : "", leaf);
		}
		snprintf(json + n, sizeof(json) - n, "]}");
	}
	idstr(ids, (unsigned)i);
	fmt8(hy, sizeof(hy), r->hyst, 8);
	memset(&d, 0, sizeof(d));
	d.rule_id = ids;
	d.tenant_id = TEN_A;
	d.symbol = m_symname(r->sym);
	d.condition = json;
	d.condition_len = strlen(json);
	d.rearm = r->rearm;
	d.cooldown_s = r->cooldown_s;
	d.rearm_hysteresis = P(hy);
	d.trigger_count = r->count;
	d.last_triggered_at_us = r->last_us;
	if (rules_upsert(t, &d, now, err, sizeof(err)))
		fail_msg("upsert %s: %s", json, err);


	/* Model: a level rule is checked against the current snapshot. */
	if (!m_edge(r) && snaps[r->sym].hp && m_holds(r, NULL, &snaps[r->sym], now)) {
		if (r->count > 0)
			r->armed = false;
		else
			return 1;	/* caller fires it */
	} else if (!m_edge(r) && snaps[r->sym].hp && r->count > 0 && r->rearm &&
		   !m_rearm_ok(r, &snaps[r->sym])) {
		r->armed = false;	/* fired, not past its hysteresis since */
	}
	return 0;
}

static int m_evcmp(const void *a, const void *b)
{
	const struct m_ev *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void m_compare(const char *what, int seed, int step)
{
	static struct m_ev got[MAXEV];

	if ((int)nev != nmev) {
		for (size_t i = 0; i < nev; i++)
			print_message("table: %s kind %d seq %" PRId64 "\n", evs[i].rule_id + 56, evs[i].kind, evs[i].seq);
		for (int i = 0; i < nmev; i++)
			print_message("model: %u kind %d seq %" PRId64 "\n", mev[i].id, mev[i].kind, mev[i].seq);
	}
	if ((int)nev != nmev)
		fail_msg("seed %d step %d (%s): table %zu events, model %d", seed,
			 step, what, nev, nmev);
	for (size_t i = 0; i < nev; i++) {
		got[i].kind = (int)evs[i].kind;
		got[i].id = (unsigned)strtoul(evs[i].rule_id + 48, NULL, 16);
		got[i].seq = evs[i].seq;
	}
	qsort(got, nev, sizeof(got[0]), m_evcmp);
	qsort(mev, (size_t)nmev, sizeof(mev[0]), m_evcmp);
	for (int i = 0; i < nmev; i++)
		if (m_evcmp(&got[i], &mev[i]) != 0)
			fail_msg("seed %d step %d (%s): table rule %u kind %d seq %" PRId64
				 ", model rule %u kind %d seq %" PRId64, seed, step, what,
				 got[i].id, got[i].kind, got[i].seq, mev[i].id,
				 mev[i].kind, mev[i].seq);
	nev = 0;
	nmev = 0;
}

static size_t m_run(int seed, bool moves, int nrules, int nticks)
{
	struct rules_limits lim = { 3, 60 };
	struct rules *t = rules_new(&lim, capture, NULL);
	struct m_snap snaps[M_SYMS];
	int64_t now = T0;
	size_t fired = 0;

	assert_non_null(t);
	srandom((unsigned)seed);
	memset(snaps, 0, sizeof(snaps));
	memset(nmh, 0, sizeof(nmh));
	nev = 0;
	nmev = 0;
	nmr = 0;
	/* S0 seeded with both fields, S1 not at all, S2 without chg. */
	snaps[0] = (struct m_snap){ true, true, 100000000000LL, 500000000LL };
	snaps[2] = (struct m_snap){ true, false, 99000000000LL, 0 };
	assert_int_equal(rules_seed(t, "S0", P("100"), true, P("0.5")), 0);
	assert_int_equal(rules_seed(t, "S2", P("99"), false, 0), 0);

	for (int i = 0; i < nrules; i++) {
		m_gen(&mr[nmr], moves);
		if (m_upsert(t, nmr, snaps, now))
			m_fire(nmr, now, lim.flood_max_fires, lim.flood_window_s);
		nmr++;
	}
	m_compare("load", seed, -1);

	for (int step = 0; step < nticks; step++) {
		int s = (int)m_rand(M_SYMS);
		struct m_snap pv = snaps[s], cu;

		now += m_rand(4) * US + m_rand(1000);
		/* Sometimes churn: drop a rule, add a new one. */
		if (!moves && m_rand(10) == 0 && nmr < M_MAXR) {
			int v = (int)m_rand(nmr);
			char ids[65];

			if (!mr[v].gone) {
				idstr(ids, (unsigned)v);
				assert_int_equal(rules_remove(t, ids), 0);
				mr[v].gone = true;
			}
			m_gen(&mr[nmr], moves);
			if (m_upsert(t, nmr, snaps, now))
				m_fire(nmr, now, lim.flood_max_fires, lim.flood_window_s);
			nmr++;
			fired += nev;
			m_compare("churn", seed, step);
		}
		/* Price: random walk on a 0.05 grid, sometimes a 9th digit. */
		cu.hp = true;
		cu.p = (pv.hp ? pv.p : 100000000000LL) + (m_rand(41) - 20) * 50000000LL;
		if (cu.p < 96000000000LL)
			cu.p = 96000000000LL + m_rand(4) * 50000000LL;
		if (cu.p > 104000000000LL)
			cu.p = 104000000000LL - m_rand(4) * 50000000LL;
		if (!moves && m_rand(6) == 0)
			cu.p += m_rand(3) - 1;
		cu.hc = m_rand(12) != 0;
		cu.c = cu.hc ? (-30 + m_rand(61)) * 10000000LL + (!moves && m_rand(6) == 0 ? m_rand(3) - 1 : 0) : 0;
		if (m_rand(8) == 0) {	/* change_percent moves alone */
			cu.p = pv.hp ? pv.p : cu.p;
		}

		/* Model: every live rule of the symbol, in order. */
		for (int i = 0; i < nmr; i++) {
			struct m_rule *r = &mr[i];
			bool h;

			if (r->gone || r->sym != s)
				continue;
			h = m_holds(r, &pv, &cu, now);
			if (m_edge(r)) {
				if (h)
					m_fire(i, now, lim.flood_max_fires, lim.flood_window_s);
			} else if (r->armed) {
				if (h)
					m_fire(i, now, lim.flood_max_fires, lim.flood_window_s);
			} else if (!h && m_rearm_ok(r, &cu)) {
				r->armed = true;
			}
		}
		if (nmh[s] < 4096)
			mh[s][nmh[s]++] = (struct m_hist){ now, cu.p / 10 * 10 };
		snaps[s] = cu;
		{
			char pt[40], ct[40];

			fmt8(pt, sizeof(pt), cu.p, 9);
			fmt8(ct, sizeof(ct), cu.c, 9);
			rules_tick(t, m_symname(s), P(pt), cu.hc, cu.hc ? P(ct) : 0, now);
		}
		fired += nev;
		m_compare("tick", seed, step);
	}
	{
		size_t live = 0;

		for (int i = 0; i < nmr; i++)
			live += !mr[i].gone;
		assert_int_equal(rules_count(t), live);
	}
	rules_free(t);
	return fired;
}

static void test_index_vs_model(void **state)
{
	size_t fired = 0;

	(void)state;
	for (int seed = 1; seed <= 40; seed++)
		fired += m_run(seed, false, 300, 400);
	print_message("index vs model: %zu events agreed\n", fired);
	/* The paths must actually exercise the policies. */
	assert_true(fired > 1000);
}

/* Thousands of rules per symbol: big sorted arrays, pending merges, cursors. */
static void test_index_big_vs_model(void **state)
{
	size_t fired = 0;

	(void)state;
	for (int seed = 200; seed < 203; seed++)
		fired += m_run(seed, false, 4000, 300);
	print_message("big index vs model: %zu events agreed\n", fired);
	assert_true(fired > 1000);
}

static void test_moves_vs_model(void **state)
{
	size_t fired = 0;

	(void)state;
	for (int seed = 100; seed < 120; seed++)
		fired += m_run(seed, true, 200, 400);
	print_message("moves vs model: %zu events agreed\n", fired);
	assert_true(fired > 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_level_on_load),
		cmocka_unit_test(test_rearm_hysteresis),
		cmocka_unit_test(test_rearm_edge),
		cmocka_unit_test(test_cooldown),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_upsert_semantics),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_index_vs_model),
		cmocka_unit_test(test_index_big_vs_model),
		cmocka_unit_test(test_moves_vs_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
