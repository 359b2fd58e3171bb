/*
 * test_tmpl.c — the template engine (tmpl.h) on the vectors of
 * tests/data/tmpl/: every ok/NAME.tmpl rendered over context.json gives
 * exactly ok/NAME.out; every bad/NAME.tmpl fails to compile or to render
 * with the "line:col: message" of bad/NAME.err (a prefix of it).  Beside
 * them: sources that are not NUL-terminated, one template rendered in
 * several threads, the limits at their edges, a context without news,
 * how cJSON numbers print.
 *
 * `test_tmpl --render FILE [CONTEXT]` prints FILE rendered (or its error).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurp.h"
#include "tmpl.h"

static cJSON *ctx;

static const char *data_dir(void)
{
	const char *d = getenv("LEO_TEST_DATA");

	return d ? d : "tests/data";
}

/* the whole file and its length; NULL when it cannot be read */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* 0 and the output, or -1 and "line:col: msg" in out */
static int run(const char *src, size_t len, const cJSON *c, char **out, size_t *out_len)
{
	struct tmpl_err err;
	struct tmpl *t = tmpl_compile(src, len, &err);
	int rc = -1;

	if (t) {
		rc = tmpl_render(t, c, out, out_len, &err);
		tmpl_free(t);
	}
	if (rc < 0) {
		*out = malloc(sizeof(err.msg) + 32);
		assert_non_null(*out);
		*out_len = (size_t)sprintf(*out, "%d:%d: %s", err.line, err.col, err.msg);
	}
	return rc;
}

typedef void (*each_fn)(const char *dir, const char *name);

static int each_tmpl(const char *sub, each_fn fn)
{
	char dir[1024];
	struct dirent **list;
	int n, count = 0;

	snprintf(dir, sizeof(dir), "%s/tmpl/%s", data_dir(), sub);
	n = scandir(dir, &list, NULL, alphasort);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(list[i]->d_name);

		if (l > 5 && !strcmp(list[i]->d_name + l - 5, ".tmpl")) {
			list[i]->d_name[l - 5] = '\0';
			fn(dir, list[i]->d_name);
			count++;
		}
		free(list[i]);
	}
	free(list);
	return count;
}

static int failures;

/*
 * One vector: NAME.tmpl with NAME.out (ok: the exact output) or NAME.err
 * (bad: an error whose message starts with it, trailing newlines aside).
 */
static void check(const char *dir, const char *name, bool bad)
{
	char path[1200];
	char *src, *want, *got;
	size_t slen, wlen, glen;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.tmpl", dir, name);
	src = read_all(path, &slen);
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, bad ? "err" : "out");
	want = read_all(path, &wlen);
	if (!want) {
		print_error("%s: no .%s file\n", name, bad ? "err" : "out");
		failures++;
		free(src);
		return;
	}
	while (bad && wlen > 0 && want[wlen - 1] == '\n')
		want[--wlen] = '\0';
	rc = run(src, slen, ctx, &got, &glen);
	if (!bad && (rc < 0 || glen != wlen || memcmp(got, want, wlen))) {
		print_error("ok/%s: got %s\n[%.*s]\nwant\n[%s]\n", name, rc < 0 ? "error" : "",
			    (int)glen, got, want);
		failures++;
	}
	if (bad && (rc == 0 || glen < wlen || memcmp(got, want, wlen))) {
		print_error("bad/%s: got %s[%.*s], want [%s]\n", name, rc == 0 ? "output " : "",
			    (int)(glen > 200 ? 200 : glen), got, want);
		failures++;
	}
	free(got);
	free(want);
	free(src);
}

static void check_ok(const char *dir, const char *name)
{
	check(dir, name, false);
}

static void check_bad(const char *dir, const char *name)
{
	check(dir, name, true);
}

static void test_ok_vectors(void **state)
{
	(void)state;
	failures = 0;
	assert_true(each_tmpl("ok", check_ok) >= 30);
	assert_int_equal(failures, 0);
}

static void test_bad_vectors(void **state)
{
	(void)state;
	failures = 0;
	assert_true(each_tmpl("bad", check_bad) >= 30);
	assert_int_equal(failures, 0);
}

static void expect_n(const char *src, size_t len, const char *want, size_t wlen)
{
	char *got;
	size_t n;
	int rc = run(src, len, ctx, &got, &n);

	if (n != wlen || memcmp(got, want, n))
		print_error("[%.*s]: got [%.*s] (rc %d), want [%.*s]\n", (int)(len > 80 ? 80 : len), src,
			    (int)(n > 80 ? 80 : n), got, rc, (int)(wlen > 80 ? 80 : wlen), want);
	assert_int_equal(n, wlen);
	assert_memory_equal(got, want, n);
	assert_int_equal(got[n], '\0');
	free(got);
}

static void expect(const char *src, size_t len, const char *want)
{
	expect_n(src, len, want, strlen(want));
}

static void test_not_nul_terminated(void **state)
{
	const char src[] = "{{ rule.symbol }}XYZ";

	(void)state;
	expect(src, 17, "VNM");
	expect("{{ 'a' }}", 5, "1:4: unterminated string");
	expect("{{", 2, "1:3: expected an expression, got end of template");
	expect("", 0, "");
	expect("\n", 1, "");
	expect("a\r\nb\r\n", 6, "a\nb");
	expect_n("{{ 1 }}\0{{ 2 }}", 15, "1\0002", 3);
}

/* "{{ (((1))) }}" with k parentheses */
static size_t parens(char *buf, int k)
{
	size_t n = (size_t)sprintf(buf, "{{ ");

	for (int i = 0; i < k; i++)
		buf[n++] = '(';
	buf[n++] = '1';
	for (int i = 0; i < k; i++)
		buf[n++] = ')';
	return n + (size_t)sprintf(buf + n, " }}");
}

static void test_limits(void **state)
{
	char *src = malloc(TMPL_OUT_MAX + 16);
	char *deep = malloc(4096);
	size_t n = 0;

	(void)state;
	assert_non_null(src);
	assert_non_null(deep);
	/* exactly TMPL_OUT_MAX bytes of text pass, one more fails */
	memset(src, 'x', TMPL_OUT_MAX);
	src[TMPL_OUT_MAX] = '\0';
	expect(src, TMPL_OUT_MAX, src);
	src[TMPL_OUT_MAX] = 'y';
	expect(src, TMPL_OUT_MAX + 1, "1:1: output over 65536 bytes");
	/* 63 nested parentheses compile (64 levels with the tag's), 64 do not */
	n = parens(deep, 63);
	expect(deep, n, "1");
	n = parens(deep, 64);
	expect(deep, n, "1:68: expression nested deeper than 64");
	n = 0;
	n += (size_t)sprintf(deep + n, "{{ ");
	for (int k = 0; k < 3000; k++)
		deep[n++] = '(';
	expect(deep, n, "1:68: expression nested deeper than 64");
	free(deep);
	free(src);
}

/* the context without news, as for a price change no news relates to */
static void test_no_news(void **state)
{
	const char *src = "{% if news is defined %}{{ news.headline }}{% else %}no news{% endif %}";
	cJSON *c = cJSON_Duplicate(ctx, 1);
	char *out;
	size_t n;

	(void)state;
	assert_non_null(c);
	cJSON_DeleteItemFromObjectCaseSensitive(c, "news");
	assert_int_equal(run(src, strlen(src), c, &out, &n), 0);
	assert_string_equal(out, "no news");
	free(out);
	src = "{{ news.headline | default('none') }}";
	assert_int_equal(run(src, strlen(src), c, &out, &n), -1);
	assert_string_equal(out, "1:4: undefined name 'news'");
	free(out);
	cJSON_Delete(c);
}

/* a cJSON number is an integer when integral and below 2^53, else a float */
static void test_json_numbers(void **state)
{
	const char *src = "{{ a }} {{ b }} {{ c }} {{ d }} {{ e }} {{ f }} {{ a / 2 }} {{ a // 2 }}";
	cJSON *c = cJSON_Parse("{\"a\": 71000.0, \"b\": -3, \"c\": 0.1, \"d\": 1e20,"
			       "\"e\": 9007199254740991, \"f\": 9007199254740992}");
	char *out;
	size_t n;

	(void)state;
	assert_non_null(c);
	assert_int_equal(run(src, strlen(src), c, &out, &n), 0);
	assert_string_equal(out, "71000 -3 0.1 1e+20 9007199254740991 9007199254740992.0 35500.0 35500");
	free(out);
	cJSON_Delete(c);
}

struct job { const struct tmpl *t; int ok; };

static void *render_many(void *arg)
{
	struct job *j = arg;

	for (int k = 0; k < 200; k++) {
		struct tmpl_err err;
		char *out;
		size_t n;

		if (tmpl_render(j->t, ctx, &out, &n, &err) == 0 &&
		    !strcmp(out, "VNM:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32"))
			j->ok++;
		free(out);
	}
	return NULL;
}

static void test_threads(void **state)
{
	const char *src = "{{ rule.symbol | upper }}:{{ thirty_two | join(',') }}";
	struct tmpl_err err;
	struct tmpl *t = tmpl_compile(src, strlen(src), &err);
	pthread_t th[4];
	struct job jobs[4];

	(void)state;
	assert_non_null(t);
	for (int k = 0; k < 4; k++) {
		jobs[k] = (struct job){ t, 0 };
		assert_int_equal(pthread_create(&th[k], NULL, render_many, &jobs[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		assert_int_equal(jobs[k].ok, 200);
	}
	tmpl_free(t);
}

static cJSON *load_ctx(const char *path)
{
	char *s = slurp(path);
	cJSON *c;

	if (!s)
		return NULL;
	c = cJSON_Parse(s);
	free(s);
	return c;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_vectors),
		cmocka_unit_test(test_bad_vectors),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_no_news),
		cmocka_unit_test(test_json_numbers),
	};
	char path[1024];
	int rc;

	snprintf(path, sizeof(path), "%s/tmpl/context.json", data_dir());
	ctx = load_ctx(argc > 3 ? argv[3] : path);
	if (!ctx) {
		fprintf(stderr, "cannot read the context %s\n", path);
		return 1;
	}
	if (argc > 2 && !strcmp(argv[1], "--render")) {
		size_t len, n;
		char *src = read_all(argv[2], &len), *out;

		if (!src)
			return 1;
		rc = run(src, len, ctx, &out, &n);
		fwrite(out, 1, n, stdout);
		if (rc < 0)
			fputc('\n', stdout);
		free(out);
		free(src);
		cJSON_Delete(ctx);
		return rc < 0 ? 2 : 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cJSON_Delete(ctx);
	return rc;
}
