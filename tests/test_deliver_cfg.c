/*
 * test_deliver_cfg.c — leo-deliver's config (deliver_cfg.c) and what it
 * needs of the core loader: sections nested under deliver.channels, name:
 * value maps, a program's own default of a shared key, the checks by kind.
 * Files in tests/data/deliver_cfg/: good-*.yaml load, bad-*.yaml fail with
 * exactly the lines of bad-*.err.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver_cfg.h"
#include "slurp.h"

static char data_dir[PATH_MAX];

static struct deliver_cfg *load(const char *name, char **errs)
{
	char cwd[PATH_MAX];
	size_t len;
	struct deliver_cfg *c;
	FILE *m = open_memstream(errs, &len);

	assert_non_null(m);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(data_dir), 0);
	c = deliver_cfg_load(name, 0, m);
	assert_int_equal(chdir(cwd), 0);
	fclose(m);
	return c;
}

static void test_defaults(void **state)
{
	struct deliver_cfg *c = deliver_cfg_load(NULL, 0, stderr);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->stats.listen, "127.0.0.1:9465");	/* the program's own default */
	assert_int_equal(c->deliver.poll_interval_s, 5);
	assert_int_equal(c->deliver.claim_lease_s, 60);
	assert_int_equal(c->deliver.max_attempts, 8);
	for (int i = 0; i < DC_COUNT; i++) {
		assert_int_equal(c->channel[i].kind, DK_NONE);
		assert_string_equal(c->channel[i].headers, "");
	}
	assert_int_equal(deliver_channel_id("web_push"), DC_WEB_PUSH);
	assert_int_equal(deliver_channel_id("fax"), -1);
	deliver_cfg_free(c);
}

static void test_channels(void **state)
{
	char *errs = NULL;
	struct deliver_cfg *c = load("good-channels.yaml", &errs);
	const struct deliver_channel *push;
	const char *p, *name, *value;
	int n = 0;

	(void)state;
	if (!c)
		fail_msg("good-channels.yaml: %s", errs);
	assert_int_equal(c->deliver.poll_interval_s, 2);
	assert_int_equal(c->channel[DC_EMAIL].kind, DK_SMTP);
	assert_int_equal(c->channel[DC_EMAIL].starttls, DS_NONE);
	assert_string_equal(c->channel[DC_EMAIL].from, "alerts@example.com");
	assert_int_equal(c->channel[DC_SMS].kind, DK_FILE);
	assert_int_equal(c->channel[DC_WHATSAPP].kind, DK_NONE);
	push = &c->channel[DC_WEB_PUSH];
	assert_int_equal(push->kind, DK_HTTP);
	assert_int_equal(push->accept_means_delivered, 1);
	assert_int_equal(push->concurrency, 32);
	p = push->headers;
	while (cfg_map_next(&p, &name, &value)) {
		if (n == 0) {
			assert_string_equal(name, "X-Api-Version");
			assert_string_equal(value, "2");
		} else {
			assert_string_equal(name, "Accept");
			assert_string_equal(value, "application/json");
		}
		n++;
	}
	assert_int_equal(n, 2);
	p = push->header_files;
	assert_true(cfg_map_next(&p, &name, &value));
	assert_string_equal(name, "Authorization");
	assert_string_equal(value, "/run/secrets/push");
	assert_false(cfg_map_next(&p, &name, &value));
	deliver_cfg_free(c);
	free(errs);
}

static void expect_errors(const char *name)
{
	char errfile[PATH_MAX + 64], *errs = NULL, *want;
	struct deliver_cfg *c = load(name, &errs);

	snprintf(errfile, sizeof(errfile), "%s/%.*s.err", data_dir, (int)strlen(name) - 5, name);
	want = slurp(errfile);
	assert_non_null(want);
	assert_null(c);
	if (strcmp(errs, want) != 0)
		fail_msg("%s: got\n%s\nexpected\n%s", name, errs, want);
	free(errs);
	free(want);
}

static void test_bad_kinds(void **state)
{
	(void)state;
	expect_errors("bad-kinds.yaml");
}

static void test_bad_maps(void **state)
{
	(void)state;
	expect_errors("bad-maps.yaml");
}

/* A CR or LF in a header value would start a header of its own. */
static void test_bad_header_value(void **state)
{
	(void)state;
	expect_errors("bad-header-value.yaml");
}

/* The written defaults nest the channel sections and load back to the defaults. */
static void test_defaults_round_trip(void **state)
{
	char path[] = "/tmp/leo-deliver-cfg-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct deliver_cfg *c, *d;
	char *text;

	(void)state;
	assert_non_null(f);
	cfg_write_defaults(&deliver_cfg_schema, f);
	fclose(f);
	text = slurp(path);
	assert_non_null(strstr(text, "\ndeliver:\n  # "));
	assert_non_null(strstr(text, "\n  channels:\n\n    email:\n      # "));
	assert_non_null(strstr(text, "\n      headers: {}\n"));
	assert_non_null(strstr(text, "\n  listen: \"127.0.0.1:9465\"\n"));
	c = deliver_cfg_load(path, 0, stderr);
	d = deliver_cfg_load(NULL, 0, stderr);
	assert_non_null(c);
	assert_non_null(d);
	assert_string_equal(c->stats.listen, d->stats.listen);
	assert_int_equal(c->channel[DC_WHATSAPP].timeout_ms, d->channel[DC_WHATSAPP].timeout_ms);
	deliver_cfg_free(c);
	deliver_cfg_free(d);
	unlink(path);
	free(text);
}

static char *generated(void (*write)(const struct cfg_schema *, FILE *))
{
	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	write(&deliver_cfg_schema, m);
	fclose(m);
	return buf;
}

/* config/leo-deliver.yaml is exactly what the key table writes, and it loads. */
static void test_shipped_config(void **state)
{
	char path[PATH_MAX + 64], *want = generated(cfg_write_defaults), *have;
	struct deliver_cfg *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/../../../config/leo-deliver.yaml", data_dir);
	have = slurp(path);
	assert_non_null(have);
	if (strcmp(want, have) != 0)
		fail_msg("config/leo-deliver.yaml differs from cfg_write_defaults():\n%s", want);
	c = deliver_cfg_load(path, 0, stderr);
	assert_non_null(c);
	deliver_cfg_free(c);
	free(want);
	free(have);
}

/* The README's table of leo-deliver's keys is exactly what the key table writes. */
static void test_readme_table(void **state)
{
	char path[PATH_MAX + 64], *want = generated(cfg_write_markdown), *have;

	(void)state;
	snprintf(path, sizeof(path), "%s/../../../README.md", data_dir);
	have = slurp(path);
	assert_non_null(have);
	if (!strstr(have, want))
		fail_msg("README.md lacks the key table cfg_write_markdown() writes:\n%s", want);
	free(want);
	free(have);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_bad_kinds),
		cmocka_unit_test(test_bad_maps),
		cmocka_unit_test(test_bad_header_value),
		cmocka_unit_test(test_defaults_round_trip),
		cmocka_unit_test(test_shipped_config),
		cmocka_unit_test(test_readme_table),
	};
	const char *d = getenv("LEO_TEST_DATA");

	snprintf(data_dir, sizeof(data_dir), "%s/deliver_cfg", d ? d : "tests/data");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
