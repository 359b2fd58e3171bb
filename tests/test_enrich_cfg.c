/*
 * test_enrich_cfg.c — leo-enrich's config (enrich_cfg.c): the defaults of
 * SPEC section 8, its own stats port, a file setting every enrich key,
 * refusals by kind and bound, and config/leo-enrich.yaml being exactly what
 * the key table writes (regenerate it with `test_enrich_cfg --defaults`;
 * `--markdown` prints the table whose enrich rows the README has).
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

#include "enrich_cfg.h"
#include "slurp.h"

static char top_dir[PATH_MAX];

static void assert_defaults(const struct enrich_cfg *c)
{
	assert_int_equal(c->enrich.poll_interval_s, 5);
	assert_int_equal(c->enrich.lease_s, 120);
	assert_int_equal(c->enrich.batch_size, 64);
	assert_int_equal(c->enrich.max_attempts, 5);
	assert_int_equal(c->enrich.events_per_profile, 50);
	assert_int_equal(c->enrich.news, 1);
	assert_int_equal(c->embedder.kind, EK_HASHING);
	assert_string_equal(c->embedder.base_url, "http://127.0.0.1:8080/v1");
	assert_string_equal(c->embedder.model, "text-embedding-3-small");
	assert_string_equal(c->embedder.api_key_file, "");
	assert_int_equal(c->embedder.timeout_ms, 30000);
	assert_string_equal(c->stats.listen, "127.0.0.1:9466");
}

static void test_defaults(void **state)
{
	struct enrich_cfg *c = enrich_cfg_load(NULL, 0, stderr);

	(void)state;
	assert_non_null(c);
	assert_defaults(c);
	enrich_cfg_free(c);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/leo-enrich-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_file(void **state)
{
	char *p = write_tmp("enrich:\n  poll_interval_s: 2\n  lease_s: 30\n  batch_size: 8\n"
			    "  max_attempts: 3\n  events_per_profile: 10\n  news: false\n"
			    "  embedder:\n    kind: openai\n    base_url: \"https://emb.example/v1\"\n"
			    "    model: m\n    api_key_file: /run/key\n    timeout_ms: 500\n");
	struct enrich_cfg *c = enrich_cfg_load(p, 0, stderr);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->enrich.poll_interval_s, 2);
	assert_int_equal(c->enrich.batch_size, 8);
	assert_int_equal(c->enrich.news, 0);
	assert_int_equal(c->embedder.kind, EK_OPENAI);
	assert_string_equal(c->embedder.base_url, "https://emb.example/v1");
	assert_string_equal(c->embedder.api_key_file, "/run/key");
	assert_int_equal(c->embedder.timeout_ms, 500);
	enrich_cfg_free(c);
	unlink(p);
}

static void expect_refused(const char *text, const char *why)
{
	char *p = write_tmp(text), *out = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&out, &len);
	struct enrich_cfg *c;

	assert_non_null(errs);
	c = enrich_cfg_load(p, 0, errs);
	fclose(errs);
	assert_null(c);
	if (!strstr(out, why))
		fail_msg("errors \"%s\" do not say \"%s\"", out, why);
	free(out);
	unlink(p);
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("enrich:\n  embedder:\n    kind: word2vec\n", "kind");
	expect_refused("enrich:\n  batch_size: 0\n", "batch_size");
	expect_refused("enrich:\n  embedder:\n    base_url: \"ftp://x\"\n", "http:// or https://");
	expect_refused("enrich:\n  embedder:\n    kind: openai\n    base_url: \"\"\n",
		       "required with kind openai");
	expect_refused("enrich:\n  colour: blue\n", "colour");
}

static char *generated(int markdown)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	if (markdown)
		cfg_write_markdown(&enrich_cfg_schema, m);
	else
		cfg_write_defaults(&enrich_cfg_schema, m);
	fclose(m);
	return buf;
}

/* config/leo-enrich.yaml is exactly what the key table writes, and loads to the defaults. */
static void test_shipped_config(void **state)
{
	char path[PATH_MAX + 32], *want = generated(0), *have;
	struct enrich_cfg *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/config/leo-enrich.yaml", top_dir);
	have = slurp(path);
	assert_non_null(have);
	if (strcmp(want, have) != 0)
		fail_msg("config/leo-enrich.yaml differs from what the key table writes:\n%s", want);
	c = enrich_cfg_load(path, 0, stderr);
	assert_non_null(c);
	assert_defaults(c);
	enrich_cfg_free(c);
	free(want);
	free(have);
}

/* The README has every enrich row of the key table, as the table writes it. */
static void test_readme_table(void **state)
{
	char path[PATH_MAX + 32], *want = generated(1), *have, *line, *save = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/README.md", top_dir);
	have = slurp(path);
	assert_non_null(have);
	for (line = strtok_r(want, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "| `enrich.", 10) == 0 && !strstr(have, line))
			fail_msg("README.md lacks the key table's row:\n%s", line);
	free(want);
	free(have);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_shipped_config),
		cmocka_unit_test(test_readme_table),
	};
	const char *data = getenv("LEO_TEST_DATA");

	if (argc > 1 && (strcmp(argv[1], "--defaults") == 0 || strcmp(argv[1], "--markdown") == 0)) {
		char *s = generated(strcmp(argv[1], "--markdown") == 0);

		fputs(s, stdout);
		free(s);
		return 0;
	}
	snprintf(top_dir, sizeof(top_dir), "%s/../..", data ? data : "tests/data");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
