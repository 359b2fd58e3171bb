/*
 * test_pool.c — the connection pool against a real PostgreSQL (label pg;
 * libpq's PG* environment, as scripts/pgtmp.sh exports it): check-out
 * reuses what was checked in, a broken or mid-transaction connection is
 * closed instead, at most database.pool_size are kept idle, one the server
 * closed is replaced once found broken; the password file; and the
 * reconnect backoff's range and jitter.
 *
 * Linked with leo_core alone.  A connection is told apart by its backend's
 * process id, which a new connection never shares with a live one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_section.h"
#include "log.h"
#include "pool.h"

static char conninfo[] = "dbname=postgres";
static char no_password[] = "";

static struct pool *new_pool(int size)
{
	struct cfg_database db = { conninfo, no_password, size, 10 };
	struct pool *p = pool_new(&db, "leo-test-pool");

	assert_non_null(p);
	return p;
}

/* One value of a query on c. */
static void query1(PGconn *c, const char *sql, char *out, size_t cap)
{
	PGresult *r = PQexec(c, sql);

	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
}

/* A connection checked in is the next one checked out. */
static void test_reuse(void **state)
{
	struct pool *p = new_pool(2);
	PGconn *c;
	char v[64];
	int pid;
	(void)state;

	c = pool_get(p);
	assert_non_null(c);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	query1(c, "SELECT current_setting('application_name')", v, sizeof(v));
	assert_string_equal(v, "leo-test-pool");
	query1(c, "SELECT current_setting('client_encoding')", v, sizeof(v));
	assert_string_equal(v, "UTF8");
	pid = PQbackendPID(c);
	pool_put(p, c, false);
	c = pool_get(p);
	assert_int_equal(PQbackendPID(c), pid);
	pool_put(p, c, false);
	pool_free(p);	/* closes the idle one */
}

/* Broken, or left inside a transaction: closed, never handed out again. */
static void test_broken_and_in_transaction(void **state)
{
	struct pool *p = new_pool(2);
	PGconn *c, *d;
	int pid;
	(void)state;

	c = pool_get(p);
	pid = PQbackendPID(c);
	pool_put(p, c, true);
	c = pool_get(p);
	assert_non_null(c);
	assert_true(PQbackendPID(c) != pid);

	pid = PQbackendPID(c);
	exec_ok(c, "BEGIN");
	pool_put(p, c, false);	/* not idle: closed */
	d = pool_get(p);
	assert_true(PQbackendPID(d) != pid);
	pool_put(p, d, false);
	pool_put(p, NULL, false);	/* nothing to check in: fine */
	pool_free(p);
}

/*
 * A server that closed an idle connection: libpq learns it only when the
 * socket is read, so check-out hands it out (PQstatus still says OK); the
 * caller's statement fails, it checks the connection in as broken, and the
 * next check-out connects anew, which is how writer.c retries.
 */
static void test_idle_closed_by_server(void **state)
{
	struct pool *p = new_pool(1);
	PGconn *c, *killer;
	PGresult *r;
	char sql[96], v[16];
	int pid;
	(void)state;

	c = pool_get(p);
	pid = PQbackendPID(c);
	pool_put(p, c, false);
	killer = pool_connect(p);
	assert_non_null(killer);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid);
	query1(killer, sql, v, sizeof(v));
	assert_string_equal(v, "t");
	PQfinish(killer);

	c = pool_get(p);
	assert_non_null(c);
	assert_int_equal(PQbackendPID(c), pid);
	r = PQexec(c, "SELECT 1");
	assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	pool_put(p, c, true);
	c = pool_get(p);
	assert_non_null(c);
	assert_true(PQbackendPID(c) != pid);
	pool_put(p, c, false);
	pool_free(p);
}

/* At most size idle: the rest are closed on check-in. */
static void test_size_bound(void **state)
{
	struct pool *p = new_pool(2);
	PGconn *c[3];
	int pid[3], again[3], reused = 0;
	(void)state;

	for (int i = 0; i < 3; i++) {
		c[i] = pool_get(p);
		assert_non_null(c[i]);
		pid[i] = PQbackendPID(c[i]);
	}
	for (int i = 0; i < 3; i++)
		pool_put(p, c[i], false);
	for (int i = 0; i < 3; i++) {
		c[i] = pool_get(p);
		again[i] = PQbackendPID(c[i]);
		for (int j = 0; j < 3; j++)
			reused += again[i] == pid[j];
	}
	assert_int_equal(reused, 2);
	/* The two idle ones come back last in, first out. */
	assert_int_equal(again[0], pid[1]);
	assert_int_equal(again[1], pid[0]);
	for (int i = 0; i < 3; i++)
		pool_put(p, c[i], false);
	pool_free(p);
}

/* A server that is not there: NULL, logged, for pool_get and pool_connect. */
static void test_cannot_connect(void **state)
{
	char bad[] = "host=/nonexistent-leo-test port=1";
	struct cfg_database db = { bad, no_password, 1, 1 };
	struct pool *p = pool_new(&db, "leo-test-pool");
	(void)state;

	assert_non_null(p);
	assert_null(pool_get(p));
	assert_null(pool_connect(p));
	pool_free(p);
}

static void test_password_file(void **state)
{
	char path[] = "/tmp/leo-test-pool-XXXXXX", missing[] = "/nonexistent/leo-password";
	struct cfg_database db = { conninfo, path, 1, 10 };
	struct pool *p;
	PGconn *c;
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	/* Empty: refused. */
	assert_null(pool_new(&db, "leo-test-pool"));
	/* The first line is the password (the test server trusts anyway). */
	assert_int_equal(write(fd, "secret\nsecond line\n", 19), 19);
	close(fd);
	p = pool_new(&db, "leo-test-pool");
	assert_non_null(p);
	c = pool_get(p);
	assert_non_null(c);
	assert_string_equal(PQpass(c), "secret");
	pool_put(p, c, false);
	pool_free(p);
	unlink(path);
	/* Not there: refused. */
	db.password_file = missing;
	assert_null(pool_new(&db, "leo-test-pool"));
}

/* 100 ms doubling to 5 s, each +-25 %, and spread rather than in step. */
static void test_backoff(void **state)
{
	static const int base[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };
	(void)state;

	srand(1);
	for (int a = 0; a < (int)(sizeof(base) / sizeof(base[0])); a++) {
		int lo = 1 << 30, hi = 0;

		for (int i = 0; i < 1000; i++) {
			int ms = pool_backoff_ms(a);

			lo = ms < lo ? ms : lo;
			hi = ms > hi ? ms : hi;
		}
		assert_true(lo >= base[a] - base[a] / 4);
		assert_true(hi <= base[a] + base[a] / 4);
		/* 1000 draws cover most of the +-25 % band. */
		assert_true(lo < base[a] - base[a] / 8);
		assert_true(hi > base[a] + base[a] / 8);
	}
	assert_true(pool_backoff_ms(1000) <= 6250);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_broken_and_in_transaction),
		cmocka_unit_test(test_idle_closed_by_server),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_cannot_connect),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_backoff),
	};

	log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);	/* the refusals log by design */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
