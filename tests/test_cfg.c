/*
 * test_cfg.c — the config loader against the files in tests/data/cfg/.
 *
 * good-*.yaml load; every bad-*.yaml fails with exactly the lines of its
 * bad-*.err.  The shipped config/leo-alertd.yaml and the README table are
 * compared with what the key table generates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertd_cfg.h"
#include "slurp.h"

static char data_dir[PATH_MAX];	/* tests/data/cfg */
static char top_dir[PATH_MAX];	/* the source tree */

/* Load path (relative to tests/data/cfg), collecting the problems in *errs. */
static struct alertd_cfg *load(const char *path, int is_default, char **errs)
{
	char cwd[PATH_MAX];
	size_t len;
	struct alertd_cfg *c;
	FILE *m = open_memstream(errs, &len);

	assert_non_null(m);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(data_dir), 0);
	c = alertd_cfg_load(path, is_default, m);
	assert_int_equal(chdir(cwd), 0);
	fclose(m);
	return c;
}

static void assert_defaults(const struct alertd_cfg *c)
{
	assert_string_equal(c->database.conninfo, "");
	assert_string_equal(c->database.password_file, "");
	assert_int_equal(c->database.pool_size, 4);
	assert_int_equal(c->database.connect_timeout_s, 10);
	assert_string_equal(c->listen.market_channel, "leo_market");
	assert_int_equal(c->engine.worker_threads, 2);
	assert_int_equal(c->engine.queue_capacity, 65536);
	assert_int_equal(c->engine.resync_interval_s, 60);
	assert_int_equal(c->engine.flood_max_fires, 15);
	assert_int_equal(c->engine.flood_window_seconds, 180);
	assert_int_equal(c->writer.batch_max_rows, 500);
	assert_int_equal(c->writer.batch_max_delay_ms, 0);
	assert_string_equal(c->stats.listen, "127.0.0.1:9464");
	assert_string_equal(c->stats.tls_cert, "");
	assert_string_equal(c->stats.tls_key, "");
	assert_int_equal(c->stats.max_connections, 256);
	assert_int_equal(c->stats.timeout_s, 10);
	assert_int_equal(c->log.level, LOG_LEVEL_INFO);
	assert_int_equal(c->log.format, LOG_FORMAT_TEXT);
}

static void test_defaults(void **state)
{
	struct alertd_cfg *c = alertd_cfg_load(NULL, 0, stderr);
	(void)state;
	assert_non_null(c);
	assert_defaults(c);
	alertd_cfg_free(c);
}

static void test_missing_file(void **state)
{
	char *errs = NULL;
	struct alertd_cfg *c;
	(void)state;

	/* At the default path: defaults, silently. */
	c = load("no-such-file.yaml", 1, &errs);
	assert_non_null(c);
	assert_defaults(c);
	assert_string_equal(errs, "");
	alertd_cfg_free(c);
	free(errs);

	/* Named on the command line: an error. */
	c = load("no-such-file.yaml", 0, &errs);
	assert_null(c);
	assert_string_equal(errs,
			    "no-such-file.yaml:0: (file): cannot open: No such file or directory\n");
	free(errs);
}

static void test_good_full(void **state)
{
	char *errs = NULL;
	struct alertd_cfg *c = load("good-full.yaml", 0, &errs);
	(void)state;
	assert_string_equal(errs, "");
	assert_non_null(c);
	assert_string_equal(c->database.conninfo,
			    "host=db.example port=5433 dbname=leo user=leo_daemon");
	assert_string_equal(c->database.password_file, "/run/secrets/leo-db-password");
	assert_int_equal(c->database.pool_size, 8);
	assert_int_equal(c->database.connect_timeout_s, 5);
	assert_string_equal(c->listen.market_channel, "leo_market_eu");
	assert_int_equal(c->engine.worker_threads, 4);
	assert_int_equal(c->engine.queue_capacity, 1024);
	assert_int_equal(c->engine.resync_interval_s, 300);
	assert_int_equal(c->engine.flood_max_fires, 3);
	assert_int_equal(c->engine.flood_window_seconds, 60);
	assert_int_equal(c->writer.batch_max_rows, 100);
	assert_int_equal(c->writer.batch_max_delay_ms, 25);
	assert_string_equal(c->stats.listen, "[::1]:9000");
	assert_string_equal(c->stats.tls_cert, "/etc/leo-alertd/tls.crt");
	assert_string_equal(c->stats.tls_key, "/etc/leo-alertd/tls.key");
	assert_int_equal(c->stats.max_connections, 32);
	assert_int_equal(c->stats.timeout_s, 3);
	assert_int_equal(c->log.level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->log.format, LOG_FORMAT_JSON);
	alertd_cfg_free(c);
	free(errs);
}

static void test_good_partial(void **state)
{
	char *errs = NULL;
	struct alertd_cfg *c = load("good-partial.yaml", 0, &errs);
	(void)state;
	assert_string_equal(errs, "");
	assert_non_null(c);
	assert_int_equal(c->engine.worker_threads, 64);
	assert_string_equal(c->stats.listen, "");
	assert_int_equal(c->log.level, LOG_LEVEL_WARN);
	assert_int_equal(c->engine.queue_capacity, 65536);
	assert_int_equal(c->writer.batch_max_rows, 500);
	alertd_cfg_free(c);
	free(errs);

	c = load("good-empty.yaml", 0, &errs);
	assert_string_equal(errs, "");
	assert_non_null(c);
	assert_defaults(c);
	alertd_cfg_free(c);
	free(errs);
}

/* Every bad-*.yaml fails with exactly the lines of its .err file. */
static void test_bad_files(void **state)
{
	DIR *d = opendir(data_dir);
	struct dirent *e;
	int n = 0;
	(void)state;

	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char errpath[PATH_MAX + 512], *want, *got = NULL;
		struct alertd_cfg *c;

		if (strncmp(e->d_name, "bad-", 4) != 0 || len < 5 ||
		    strcmp(e->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(errpath, sizeof(errpath), "%s/%.*s.err", data_dir, (int)(len - 5),
			 e->d_name);
		want = slurp(errpath);
		if (!want)
			fail_msg("%s has no .err file", e->d_name);
		c = load(e->d_name, 0, &got);
		if (c)
			fail_msg("%s loaded", e->d_name);
		if (strcmp(got, want) != 0)
			fail_msg("%s:\n--- want\n%s--- got\n%s", e->d_name, want, got);
		free(want);
		free(got);
		n++;
	}
	closedir(d);
	assert_true(n >= 10);
}

static void test_keep_static(void **state)
{
	char *errs = NULL;
	struct alertd_cfg *old = alertd_cfg_load(NULL, 0, stderr);
	struct alertd_cfg *next = load("good-full.yaml", 0, &errs);
	size_t len;
	FILE *m;
	(void)state;

	assert_non_null(old);
	assert_non_null(next);
	free(errs);
	m = open_memstream(&errs, &len);
	assert_non_null(m);
	cfg_keep_static(&alertd_cfg_schema, old, next, m);
	fclose(m);
	/* Restart-only keys keep the running value ... */
	assert_string_equal(next->database.conninfo, "");
	assert_int_equal(next->database.pool_size, 4);
	assert_int_equal(next->engine.worker_threads, 2);
	assert_string_equal(next->stats.listen, "127.0.0.1:9464");
	assert_string_equal(next->stats.tls_cert, "");
	/* ... reloadable ones take the new one. */
	assert_int_equal(next->engine.flood_max_fires, 3);
	assert_int_equal(next->writer.batch_max_rows, 100);
	assert_int_equal(next->log.level, LOG_LEVEL_DEBUG);
	assert_non_null(strstr(errs, "database.pool_size: cannot change without a restart"));
	/* The message never shows values: conninfo may hold a password. */
	assert_null(strstr(errs, "db.example"));
	assert_null(strstr(errs, "log.level"));
	alertd_cfg_free(old);
	alertd_cfg_free(next);
	free(errs);
}

/* errs NULL (SIGHUP): every problem is a log line, JSON when the log is JSON. */
static void test_problems_as_log_lines(void **state)
{
	int fds[2], saved = dup(STDERR_FILENO), lines = 0;
	char cwd[PATH_MAX], buf[8192];
	struct alertd_cfg *c, *old, *next;
	ssize_t n;
	(void)state;

	assert_int_equal(pipe(fds), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	dup2(fds[1], STDERR_FILENO);
	assert_int_equal(chdir(data_dir), 0);
	c = alertd_cfg_load("bad-enum.yaml", 0, NULL);
	old = alertd_cfg_load(NULL, 0, NULL);
	next = alertd_cfg_load("good-partial.yaml", 0, NULL);
	assert_int_equal(chdir(cwd), 0);
	cfg_keep_static(&alertd_cfg_schema, old, next, NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	assert_null(c);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"level\":\"error\""));
	assert_non_null(strstr(buf, "bad-enum.yaml:2: log.level: \\\"verbose\\\" is not one of"));
	assert_non_null(strstr(buf, "\"level\":\"warn\""));
	assert_non_null(strstr(buf, "stats.listen: cannot change without a restart"));
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		assert_memory_equal(line, "{\"ts\":", 6);
		lines++;
	}
	/* two problems in bad-enum.yaml, two restart-only keys changed */
	assert_int_equal(lines, 4);
	alertd_cfg_free(old);
	alertd_cfg_free(next);
}

static char *generated(void (*write)(FILE *))
{
	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	write(m);
	fclose(m);
	return buf;
}

/* config/leo-alertd.yaml is exactly what the key table writes, and loads to the defaults. */
static void test_shipped_config(void **state)
{
	char path[PATH_MAX + 32], *want = generated(alertd_cfg_write_defaults), *have;
	struct alertd_cfg *c;
	(void)state;

	snprintf(path, sizeof(path), "%s/config/leo-alertd.yaml", top_dir);
	have = slurp(path);
	assert_non_null(have);
	if (strcmp(want, have) != 0)
		fail_msg("config/leo-alertd.yaml differs from alertd_cfg_write_defaults():\n%s", want);
	c = alertd_cfg_load(path, 0, stderr);
	assert_non_null(c);
	assert_defaults(c);
	alertd_cfg_free(c);
	free(want);
	free(have);
}

/* The README's key table is exactly what the key table writes. */
static void test_readme_table(void **state)
{
	char path[PATH_MAX + 32], *want = generated(alertd_cfg_write_markdown), *have;
	(void)state;

	snprintf(path, sizeof(path), "%s/README.md", top_dir);
	have = slurp(path);
	assert_non_null(have);
	if (!strstr(have, want))
		fail_msg("README.md lacks the key table alertd_cfg_write_markdown() writes:\n%s", want);
	free(want);
	free(have);
}

int main(void)
{
	const char *data = getenv("LEO_TEST_DATA");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_good_full),
		cmocka_unit_test(test_good_partial),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_keep_static),
		cmocka_unit_test(test_problems_as_log_lines),
		cmocka_unit_test(test_shipped_config),
		cmocka_unit_test(test_readme_table),
	};

	if (!data) {
		fprintf(stderr, "LEO_TEST_DATA is not set\n");
		return 1;
	}
	snprintf(data_dir, sizeof(data_dir), "%s/cfg", data);
	snprintf(top_dir, sizeof(top_dir), "%s/../..", data);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
