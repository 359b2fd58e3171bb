/*
 * test_dstore.c — the sender's database calls (dstore.c) against the real
 * schema functions, as the sender's login role: claim, record, receipt,
 * backlog, and a refused statement that leaves the connection usable.
 * Runs in its own database made by tests/newdb.sh (ctest does it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_section.h"
#include "clock.h"
#include "dstore.h"
#include "pool.h"

#define A "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"

static PGconn *su;		/* the superuser, for set-up and checks */
static struct pool *pool;
static struct dstore *db;

static char *su_value(const char *sql)
{
	PGresult *r = PQexec(su, sql);
	char *v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static void su_exec(const char *sql)
{
	PGresult *r = PQexec(su, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static int setup(void **state)
{
	static char conninfo[] = "dbname=leo_t_dstore user=leo_sender";
	static char none[] = "";
	struct cfg_database c = { conninfo, none, 2, 10 };

	(void)state;
	su = PQconnectdb("dbname=leo_t_dstore");
	if (PQstatus(su) != CONNECTION_OK)
		return -1;
	su_exec("INSERT INTO tenant (tenant_id, tenant_name) VALUES ('" A "', 'Acme')");
	su_exec("INSERT INTO cdp_profiles (tenant_id, profile_id, primary_email)"
		" VALUES ('" A "', 'P1', 'p1@example.com')");
	su_exec("INSERT INTO consent_management (tenant_id, profile_id, channel, legal_basis, source)"
		" VALUES ('" A "', 'P1', 'email', 'consent', 'web')");
	su_exec("INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)"
		" VALUES ('" A "', 'P1', 'AAPL', '{\"operator\": \">\", \"value\": 150}')");
	su_exec("INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id, reasoning_trace,"
		" reasoning_summary) SELECT rule_id || ':1', tenant_id, profile_id, rule_id,"
		" '[{\"step\": \"match\", \"observed\": {\"price\": 151}}]', 'AAPL at 151' FROM alert_rules");
	su_exec("INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel, idempotency_key)"
		" SELECT tenant_id, rule_id, profile_id, channel, rule_id || ':1' FROM alert_rules");
	pool = pool_new(&c, "test_dstore");
	db = pool ? dstore_new(pool) : NULL;
	return db ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dstore_free(db);
	pool_free(pool);
	PQfinish(su);
	return 0;
}

static void test_round(void **state)
{
	char (*ids)[TENANT_ID_SIZE];
	struct dclaim *c;
	double queued[5] = { 0 }, oldest;
	const char *res;
	char *v;
	int n;
	bool kept;
	struct drecord rec = { 0 };

	(void)state;
	assert_int_equal(dstore_tenants(db, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], A);
	free(ids);

	assert_int_equal(dstore_backlog(db, A, queued, 5, &oldest), 0);
	assert_true(queued[0] == 1);	/* email */

	assert_int_equal(dstore_claim(db, A, "t1", 60, 10, "sms", &c, &n), 0);
	assert_int_equal(n, 0);
	dstore_claims_free(c, n);
	assert_int_equal(dstore_claim(db, A, "t1", 60, 10, "email", &c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].attempt, 1);
	assert_true(c[0].consent_ok);
	assert_string_equal(c[0].address, "p1@example.com");
	assert_null(c[0].template_id);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c[0].context, "tenant"),
						"tenant_name")->valuestring, "Acme");
	assert_string_equal(cJSON_GetObjectItem(c[0].context, "summary")->valuestring, "AAPL at 151");

	/* a statement the schema refuses: an error, and the connection still works */
	rec = (struct drecord){ .delivery_id = c[0].delivery_id, .attempt = 1,
				.started_us = clock_wall_us(), .ended_us = clock_wall_us(),
				.outcome = "bogus" };
	assert_int_equal(dstore_record(db, A, "t1", &rec, 1, &kept), -1);
	assert_true(dstore_up(db));

	rec.outcome = "sent";
	rec.status_code = 250;
	rec.response = "250 OK queued";
	rec.provider_response = "{\"status\": 250}";
	assert_int_equal(dstore_record(db, A, "t2", &rec, 1, &kept), 0);
	assert_false(kept);	/* t2 holds no claim */
	assert_int_equal(dstore_record(db, A, "t1", &rec, 1, &kept), 0);
	assert_true(kept);
	v = su_value("SELECT delivery_status || ' ' || (provider_response ->> 'status') FROM delivery_log");
	assert_string_equal(v, "sent 250");
	free(v);
	v = su_value("SELECT attempt || ' ' || outcome || ' ' || status_code || ' ' || response FROM delivery_attempt");
	assert_string_equal(v, "1 sent 250 250 OK queued");
	free(v);

	assert_int_equal(dstore_receipt(db, A, c[0].delivery_id, "delivered", NULL, &res), 0);
	assert_string_equal(res, "ok");
	assert_int_equal(dstore_receipt(db, A, c[0].delivery_id, "failed", NULL, &res), 0);
	assert_string_equal(res, "conflict");
	assert_int_equal(dstore_receipt(db, A, 987654, "delivered", NULL, &res), 0);
	assert_string_equal(res, "unknown");
	assert_int_equal(dstore_release(db, A, "t1", &c[0].delivery_id, 1), 0);
	dstore_claims_free(c, n);

	queued[0] = 0;
	assert_int_equal(dstore_backlog(db, A, queued, 5, &oldest), 0);
	assert_true(queued[0] == 0);
	assert_int_equal(dstore_claim(db, A, "t1", 60, 10, NULL, &c, &n), 0);
	assert_int_equal(n, 0);
	dstore_claims_free(c, n);
}

/* Several records in one transaction: all or nothing, a lost claim each its own. */
static void test_batch(void **state)
{
	struct dclaim *c;
	struct drecord rec[3];
	bool kept[3];
	int64_t now = clock_wall_us();
	char *v;
	int n;

	(void)state;
	su_exec("INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key)"
		" SELECT '" A "', 'P1', 'email', 'b' || g FROM generate_series(1, 3) g");
	assert_int_equal(dstore_claim(db, A, "t1", 60, 10, "email", &c, &n), 0);
	assert_int_equal(n, 3);
	for (int k = 0; k < 3; k++)
		rec[k] = (struct drecord){ .delivery_id = c[k].delivery_id, .attempt = 1,
					   .started_us = now, .ended_us = now, .outcome = "sent" };
	rec[1].outcome = "retry";
	rec[1].next_us = now + 60000000;
	rec[2].outcome = "bogus";
	assert_int_equal(dstore_record(db, A, "t1", rec, 3, kept), -1);
	v = su_value("SELECT count(*) || ' ' || (SELECT count(*) FROM delivery_attempt a"
		     " JOIN delivery_log d USING (tenant_id, delivery_id) WHERE idempotency_key LIKE 'b%')"
		     " FROM delivery_log WHERE idempotency_key LIKE 'b%' AND delivery_status = 'queued'");
	assert_string_equal(v, "3 0");	/* one refused: none written */
	free(v);

	rec[2].outcome = "failed";
	rec[2].provider_response = "{\"reason\": \"rejected\"}";
	assert_int_equal(dstore_release(db, A, "t1", &c[0].delivery_id, 1), 0);	/* lose one */
	assert_int_equal(dstore_record(db, A, "t1", rec, 3, kept), 0);
	assert_false(kept[0]);
	assert_true(kept[1]);
	assert_true(kept[2]);
	v = su_value("SELECT string_agg(delivery_status::text, ',' ORDER BY idempotency_key)"
		     " FROM delivery_log WHERE idempotency_key LIKE 'b%'");
	assert_string_equal(v, "queued,queued,failed");
	free(v);
	v = su_value("SELECT string_agg(outcome, ',' ORDER BY delivery_id) FROM delivery_attempt a"
		     " JOIN delivery_log d USING (tenant_id, delivery_id) WHERE idempotency_key LIKE 'b%'");
	assert_string_equal(v, "retry,failed");
	free(v);
	dstore_claims_free(c, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
