/*
 * cond_agree.c — the C condition compiler and the database's
 * leo_condition_check() agree on every shared vector.
 *
 * For each file in $LEO_TEST_DATA/cond/ok and cond/bad, asks PostgreSQL
 * (database leo_template, libpq's PG* environment) for
 * `leo_condition_check($1::jsonb)` and the canonical `($1::jsonb)::text`,
 * compiles the canonical text with cond_compile(), and checks both accept or
 * both reject.  Needs the schema (ctest fixture pg_schema).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "vectors.h"

struct agree {
	PGconn *db;
	bool want_ok;
};

/* One vector: the database and the C compiler accept or reject it alike. */
static void agree_one(const char *path, const char *text, size_t len, void *arg)
{
	const struct agree *a = arg;
	const char *params[1] = { text };
	char err[256];
	PGresult *res;
	bool sql_ok, c_ok;
	struct cond *c = NULL;

	res = PQexecParams(a->db, "SELECT leo_condition_check($1::jsonb), ($1::jsonb)::text",
			   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		const char *canon = PQgetvalue(res, 0, 1);

		sql_ok = PQgetisnull(res, 0, 0);
		c = cond_compile(canon, strlen(canon), err, sizeof(err));
		c_ok = c != NULL;
		if (sql_ok != c_ok)
			fail_msg("%s: database %s (%s), C %s (%s) on %s", path,
				 sql_ok ? "accepts" : "rejects",
				 sql_ok ? "-" : PQgetvalue(res, 0, 0),
				 c_ok ? "accepts" : "rejects", c_ok ? "-" : err, canon);
	} else {
		/* Not even jsonb: the database rejects; so must C. */
		sql_ok = false;
		c = cond_compile(text, len, err, sizeof(err));
		if (c)
			fail_msg("%s: not jsonb (%s) but C accepts it", path,
				 PQresultErrorMessage(res));
	}
	if (sql_ok != a->want_ok)
		fail_msg("%s: database %s a vector of %s", path,
			 sql_ok ? "accepts" : "rejects", a->want_ok ? "ok/" : "bad/");
	cond_free(c);
	PQclear(res);
}

/* Check every vector of one directory; returns how many. */
static int agree_dir(PGconn *db, const char *dir, bool want_ok)
{
	struct agree a = { db, want_ok };

	return vectors_each(dir, agree_one, &a);
}

static void test_agree(void **state)
{
	const char *root = getenv("LEO_TEST_DATA");
	char dir[1024];
	PGconn *db;
	int n = 0;

	(void)state;
	assert_non_null(root);
	db = PQconnectdb("dbname=leo_template");
	if (PQstatus(db) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(db));
	snprintf(dir, sizeof(dir), "%s/cond/ok", root);
	n += agree_dir(db, dir, true);
	snprintf(dir, sizeof(dir), "%s/cond/bad", root);
	n += agree_dir(db, dir, false);
	PQfinish(db);
	if (n == 0)
		fail_msg("no vectors in %s/cond/{ok,bad}", root);
	print_message("%d vectors agree\n", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
