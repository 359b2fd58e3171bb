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

#include <dirent.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Check every vector of one directory; returns how many. */
static int agree_dir(PGconn *db, const char *dir, bool want_ok)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[1024], err[256];
		const char *params[1];
		size_t len;
		char *text;
		PGresult *res;
		bool sql_ok, c_ok;
		struct cond *c = NULL;

		size_t nl = strlen(e->d_name);

		if (e->d_name[0] == '.' || nl < 5 || strcmp(e->d_name + nl - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = slurp(path, &len);
		params[0] = text;
		res = PQexecParams(db, "SELECT leo_condition_check($1::jsonb), ($1::jsonb)::text",
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
		if (sql_ok != want_ok)
			fail_msg("%s: database %s a vector of %s", path,
				 sql_ok ? "accepts" : "rejects", want_ok ? "ok/" : "bad/");
		cond_free(c);
		PQclear(res);
		free(text);
		n++;
	}
	closedir(d);
	return n;
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
