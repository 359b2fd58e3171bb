/*
 * test_cond.c — the condition compiler accepts exactly SPEC section 3 and
 * names the path and the problem of every rejection.  Also replays the
 * shared vectors in $LEO_TEST_DATA/cond/{ok,bad,bad-text} when present.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cond.h"
#include "vectors.h"

static void ok_len(const char *json, size_t len)
{
	char err[256];
	struct cond *c = cond_compile(json, len, err, sizeof(err));

	if (!c)
		fail_msg("rejected %s: %s", json, err);
	cond_free(c);
}

static void ok(const char *json)
{
	ok_len(json, strlen(json));
}

/* Rejected, with exactly the message `want` (NULL: any message). */
static void bad_len(const char *json, size_t len, const char *want)
{
	char err[256];
	struct cond *c = cond_compile(json, len, err, sizeof(err));

	if (c) {
		cond_free(c);
		fail_msg("accepted %.*s", (int)(len > 200 ? 200 : len), json);
	}
	if (want && strcmp(err, want) != 0)
		fail_msg("for %.*s: message \"%s\", expected \"%s\"",
			 (int)(len > 200 ? 200 : len), json, err, want);
}

static void bad(const char *json, const char *want)
{
	bad_len(json, strlen(json), want);
}

static void test_operators(void **state)
{
	static const char *const ops[] = {
		">", ">=", "<", "<=", "==", "!=", "crosses_above", "crosses_below", "crosses"
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"operator\": \"%s\", \"value\": 150.1}", ops[i]);
		ok(buf);
		snprintf(buf, sizeof(buf),
			 "{\"field\":\"change_percent\",\"operator\":\"%s\",\"value\":-2.5}", ops[i]);
		ok(buf);
		snprintf(buf, sizeof(buf),
			 "{\"operator\":\"%s\",\"field\":\"price\",\"value\":0}", ops[i]);
		ok(buf);
	}
	ok("{\"operator\":\"between\",\"low\":1,\"high\":2}");
	ok("{\"operator\":\"outside\",\"low\":-1.5,\"high\":-1.5}");
	ok("{\"operator\":\"enters\",\"high\":2,\"low\":1,\"field\":\"change_percent\"}");
	ok("{\"operator\":\"exits\",\"low\":1,\"high\":2}");
	ok("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":60}");
	ok("{\"operator\":\"moves_down_pct\",\"value\":0.00000001,\"window_seconds\":86400,\"field\":\"price\"}");
	ok("{\"operator\":\"moves_down_pct\",\"value\":250,\"window_seconds\":1}");
	ok(" \t\r\n{ \"operator\" : \">\" , \"value\" : 1 } \n");
	ok("{\"oper\\u0061tor\":\">\",\"value\":1}");	/* escapes decode */
	ok("{\"operator\":\">\",\"value\":999999999999.99999999}");
	ok("{\"operator\":\">\",\"value\":-999999999999.99999999}");
	ok("{\"operator\":\">\",\"value\":1.50000000}");
	ok("{\"operator\":\">\",\"value\":-0}");
}

static void test_edge_level(void **state)
{
	static const struct {
		const char *json;
		bool edge;
	} v[] = {
		{ "{\"operator\":\">\",\"value\":1}", false },
		{ "{\"operator\":\"between\",\"low\":1,\"high\":2}", false },
		{ "{\"operator\":\"crosses\",\"value\":1}", true },
		{ "{\"operator\":\"enters\",\"low\":1,\"high\":2}", true },
		{ "{\"operator\":\"exits\",\"low\":1,\"high\":2}", true },
		{ "{\"operator\":\"moves_up_pct\",\"value\":1,\"window_seconds\":5}", true },
		{ "{\"all\":[{\"operator\":\">\",\"value\":1},{\"not\":{\"operator\":\"crosses_below\",\"value\":3}}]}", true },
		{ "{\"any\":[{\"operator\":\">\",\"value\":1},{\"not\":{\"operator\":\"!=\",\"value\":3}}]}", false },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct cond *c = cond_compile(v[i].json, strlen(v[i].json), err, sizeof(err));

		assert_non_null(c);
		assert_int_equal(cond_is_edge(c), v[i].edge);
		cond_free(c);
	}
}

static void test_invalid(void **state)
{
	(void)state;
	/* Numbers. */
	bad("{\"operator\":\">\",\"value\":1.000000001}", "value: more than 8 fractional digits");
	bad("{\"all\":[{\"operator\":\">\",\"value\":1},{\"operator\":\"<\",\"value\":1.123456789}]}",
	    "all[1].value: more than 8 fractional digits");
	bad("{\"operator\":\">\",\"value\":1.000000000}", "value: more than 8 fractional digits");
	bad("{\"operator\":\">\",\"value\":1e3}", "value: exponent notation not allowed");
	bad("{\"operator\":\">\",\"value\":1E-3}", "value: exponent notation not allowed");
	bad("{\"operator\":\">\",\"value\":1000000000000}", "value: magnitude must be below 10^12");
	bad("{\"operator\":\">\",\"value\":-1000000000000}", "value: magnitude must be below 10^12");
	bad("{\"operator\":\">\",\"value\":01}", "value: not a valid JSON number");
	bad("{\"operator\":\">\",\"value\":+1}", "value: not a valid JSON number");
	bad("{\"operator\":\">\",\"value\":.5}", "value: not a valid JSON number");
	bad("{\"operator\":\">\",\"value\":1.}", "value: not a valid JSON number");
	bad("{\"operator\":\">\",\"value\":-}", "value: not a valid JSON number");
	bad("{\"operator\":\">\",\"value\":\"150\"}", "value: must be a JSON number, not string");
	bad("{\"operator\":\">\",\"value\":null}", "value: must be a JSON number, not null");
	bad("{\"operator\":\">\",\"value\":true}", "value: must be a JSON number, not boolean");
	bad("{\"operator\":\">\",\"value\":[1]}", "value: must be a JSON number, not array");
	bad("{\"operator\":\">\",\"value\":{}}", "value: must be a JSON number, not object");
	bad("{\"operator\":\">\",\"value\":NaN}", "value: not a valid JSON number");
	/* Operators, fields, keys. */
	bad("{\"operator\":\">>\",\"value\":1}", "operator: unknown operator \">>\"");
	bad("{\"operator\":\"GT\",\"value\":1}", "operator: unknown operator \"GT\"");
	bad("{\"operator\":\"a\\\"b\",\"value\":1}", "operator: unknown operator \"a\\\"b\"");
	bad("{\"operator\":5,\"value\":1}", "operator: must be a JSON string, not number");
	bad("{\"value\":1}",
	    "operator: missing (expected a leaf with \"operator\" or one of \"all\", \"any\", \"not\")");
	bad("{\"operator\":\">\"}", "value: missing (operator \">\" needs it)");
	bad("{\"operator\":\"between\",\"low\":1}", "high: missing (operator \"between\" needs it)");
	bad("{\"operator\":\">\",\"value\":1,\"low\":0}", "low: unknown key for operator \">\"");
	bad("{\"operator\":\"between\",\"low\":1,\"high\":2,\"value\":1}",
	    "value: unknown key for operator \"between\"");
	bad("{\"operator\":\">\",\"value\":1,\"window_seconds\":5}",
	    "window_seconds: unknown key for operator \">\"");
	bad("{\"operator\":\">\",\"value\":1,\"extra\":0}", "extra: unknown key");
	bad("{\"operator\":\">\",\"value\":1,\"Value\":0}", "Value: unknown key");
	bad("{\"operator\":\">\",\"value\":1,\"a b\":0}", "$[\"a b\"]: unknown key");
	bad("{\"any\":[{\"operator\":\">\",\"value\":1,\"\\\"\":0}]}", "any[0][\"\\\"\"]: unknown key");
	bad("{\"operator\":\">\",\"value\":1,\"field\":\"volume\"}",
	    "field: must be \"price\" or \"change_percent\"");
	bad("{\"operator\":\">\",\"value\":1,\"field\":\"Price\"}",
	    "field: must be \"price\" or \"change_percent\"");
	bad("{\"operator\":\">\",\"value\":1,\"field\":null}",
	    "field: must be \"price\" or \"change_percent\"");
	bad("{\"operator\":\">\",\"value\":1,\"value\":2}", "value: duplicate key");
	bad("{\"operator\":\">\",\"operator\":\"<\",\"value\":1}", "operator: duplicate key");
	bad("{\"operator\":\"between\",\"low\":2,\"high\":1}", "low: greater than high");
	bad("{\"any\":[{\"operator\":\"enters\",\"low\":2.00000001,\"high\":2}]}",
	    "any[0].low: greater than high");
	/* Windowed moves. */
	bad("{\"operator\":\"moves_up_pct\",\"value\":5}",
	    "window_seconds: missing (operator \"moves_up_pct\" needs it)");
	bad("{\"operator\":\"moves_up_pct\",\"window_seconds\":5}",
	    "value: missing (operator \"moves_up_pct\" needs it)");
	bad("{\"operator\":\"moves_up_pct\",\"value\":0,\"window_seconds\":5}",
	    "value: must be greater than 0");
	bad("{\"operator\":\"moves_down_pct\",\"value\":-1,\"window_seconds\":5}",
	    "value: must be greater than 0");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":0}",
	    "window_seconds: must be between 1 and 86400");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":86401}",
	    "window_seconds: must be between 1 and 86400");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":1.5}",
	    "window_seconds: must be an integer");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":60.0}",
	    "window_seconds: must be an integer");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":-5}",
	    "window_seconds: must be between 1 and 86400");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":\"60\"}",
	    "window_seconds: must be a JSON number, not string");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":6e1}",
	    "window_seconds: exponent notation not allowed");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":99999999999999999999}",
	    "window_seconds: magnitude must be below 10^12");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":60,\"field\":\"change_percent\"}",
	    "field: must be \"price\" for operator \"moves_up_pct\"");
	bad("{\"operator\":\"moves_up_pct\",\"value\":5.123456789,\"window_seconds\":60}",
	    "value: more than 8 fractional digits");
	/* Composites. */
	bad("{\"all\":[]}", "all: must not be empty");
	bad("{\"any\":{}}", "any: must be a JSON array, not object");
	bad("{\"not\":[{\"operator\":\">\",\"value\":1}]}", "not: must be a JSON object, not array");
	bad("{\"all\":[{\"operator\":\">\",\"value\":1}],\"operator\":\">\"}",
	    "operator: unknown key (a composite has exactly one key, here \"all\")");
	bad("{\"operator\":\">\",\"value\":1,\"all\":[{\"operator\":\">\",\"value\":1}]}",
	    "all: unknown key for operator \">\"");
	bad("{\"value\":1,\"not\":{\"operator\":\">\",\"value\":1}}",
	    "not: unknown key (a composite has exactly one key)");
	bad("{\"all\":[{\"operator\":\">\",\"value\":1}],\"any\":[{\"operator\":\">\",\"value\":1}]}",
	    "any: unknown key (a composite has exactly one key, here \"all\")");
	bad("{\"all\":[{\"operator\":\">\",\"value\":1},5]}", "all[1]: must be a JSON object, not number");
	bad("{\"all\":[{\"operator\":\">\",\"value\":1},]}", "all[1]: must be a JSON object, not JSON");
	bad("{\"not\":{\"all\":[{\"any\":[{\"operator\":\"~\",\"value\":1}]}]}}",
	    "not.all[0].any[0].operator: unknown operator \"~\"");
	bad("{}", "operator: missing (expected a leaf with \"operator\" or one of \"all\", \"any\", \"not\")");
	bad("{\"not\":{}}",
	    "not.operator: missing (expected a leaf with \"operator\" or one of \"all\", \"any\", \"not\")");
	/* Text. */
	bad("", "$: must be a JSON object, not end of text");
	bad("[]", "$: must be a JSON object, not array");
	bad("\"x\"", "$: must be a JSON object, not string");
	bad("{\"operator\":\">\",\"value\":1} x", "$: unexpected text after the object");
	bad("{\"operator\":\">\",\"value\":1}{}", "$: unexpected text after the object");
	bad("{\"operator\":\">\",\"value\":1", "$: expected ',' or '}' after value");
	bad("{\"operator\":\">\" \"value\":1}", "$: expected ',' or '}' after operator");
	bad("{\"operator\":\">\",,\"value\":1}", "$: expected a key (a JSON string)");
	bad("{'operator':'>','value':1}", "$: expected a key (a JSON string)");
	bad("{\"operator\":\">\",\"value\"", "value: expected ':', found end of text");
	bad("{\"operator\":\">\",\"value\"1}", "value: expected ':', found number");
	bad("{\"operator\":\"\\x\",\"value\":1}", "operator: bad escape in a string");
	bad("{\"operator\":\"\\ud800\",\"value\":1}", "operator: unpaired surrogate escape");
	bad("{\"operator\":\"\\u0000\",\"value\":1}", "operator: NUL character in a string");
	bad("{\"operator\":\"a\tb\",\"value\":1}", "operator: control character in a string");
	bad("{\"operator\":\"\xff\",\"value\":1}", "$: invalid UTF-8");
	bad("{\"operator\":\"\xc0\xbe\",\"value\":1}", "$: invalid UTF-8");	/* overlong */
	bad("{\"operator\":\"\xed\xa0\x80\",\"value\":1}", "$: invalid UTF-8");	/* surrogate */
	bad("{\"operator\":\"\xe2\x82\",\"value\":1}", "$: invalid UTF-8");	/* truncated */
	bad_len("{\"operator\":\">\",\"value\":1}\0", 28, "$: NUL character in the text");
	bad_len("{\"operator\":\">\0\",\"value\":1}", 27, "$: NUL character in the text");
	ok("{\"operator\":\">\",\"value\":1,\"field\":\"price\"}");
	ok("{\"operator\":\">\",\"value\":1,\"field\":\"pr\\u0069ce\"}");
	bad("{\"operator\":\">\",\"value\":1,\"field\":\"pr\xc3\xa9\"}",
	    "field: must be \"price\" or \"change_percent\"");
	bad("{\"operator\":\">\",\"value\":1,\"\xe2\x82\xac\":1}", "$[\"\xe2\x82\xac\"]: unknown key");
}

/* Nest `depth` composites around one leaf, cycling all/any/not. */
static char *nest(int depth)
{
	size_t cap = (size_t)depth * 16 + 64, n = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s",
				      i % 3 == 0 ? "{\"all\":[" : i % 3 == 1 ? "{\"not\":" : "{\"any\":[");
	n += (size_t)snprintf(s + n, cap - n, "{\"operator\":\">\",\"value\":1}");
	for (int i = depth - 1; i >= 0; i--)
		n += (size_t)snprintf(s + n, cap - n, "%s", i % 3 == 1 ? "}" : "]}");
	return s;
}

/* n leaves spread over a tree of depth <= 2. */
static char *leaves(int n)
{
	size_t cap = (size_t)n * 40 + 64, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	len += (size_t)snprintf(s + len, cap - len, "{\"any\":[{\"all\":[");
	for (int i = 0; i < n; i++) {
		if (i == n / 2)
			len += (size_t)snprintf(s + len, cap - len, "]},{\"all\":[");
		else if (i)
			len += (size_t)snprintf(s + len, cap - len, ",");
		len += (size_t)snprintf(s + len, cap - len,
					"{\"operator\":\">\",\"value\":%d}", i);
	}
	snprintf(s + len, cap - len, "]}]}");
	return s;
}

static void test_limits(void **state)
{
	char *s;
	clock_t t0;

	(void)state;
	s = nest(8);
	ok(s);
	free(s);
	s = nest(9);
	bad(s, "all[0].not.any[0].all[0].not.any[0].all[0].not.any: more than 8 nested composites");
	free(s);
	s = leaves(64);
	ok(s);
	free(s);
	s = leaves(65);
	bad(s, "any[1].all[32]: more than 64 leaves");
	free(s);

	/* Hostile nesting is refused early, without deep recursion. */
	{
		size_t n = 1 << 20;
		char *h = malloc(n + 1);

		assert_non_null(h);
		for (size_t i = 0; i + 8 <= n; i += 8)
			memcpy(h + i, "{\"not\": ", 8);
		t0 = clock();
		bad_len(h, n, "not.not.not.not.not.not.not.not.not: more than 8 nested composites");
		for (size_t i = 0; i < n; i++)
			h[i] = '[';
		bad_len(h, n, "$: must be a JSON object, not array");
		memset(h, '{', n);
		bad_len(h, n, "$: expected a key (a JSON string)");
		assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
		free(h);
	}
}

/*
 * Random byte mutations of valid conditions: never a crash or a leak (the
 * ASan build runs this too), every rejection has a "path: problem" message,
 * and an accepted mutation is accepted again (no hidden state).
 */
static void test_mutations(void **state)
{
	static const char *const seeds[] = {
		"{\"all\":[{\"operator\":\">\",\"value\":150.1},{\"not\":{\"field\":\"change_percent\","
		"\"operator\":\"between\",\"low\":-1.5,\"high\":2}}]}",
		"{\"any\":[{\"operator\":\"moves_up_pct\",\"value\":5,\"window_seconds\":60},"
		"{\"operator\":\"crosses_below\",\"value\":0.00000001}]}",
		"{\"operator\":\"exits\",\"low\":1,\"high\":2,\"field\":\"price\"}",
	};
	static const char alphabet[] = "{}[]\":,.-+0123456789eE \\ualnotpr\xc3\xa9\xff";
	char buf[512], err[256];
	int accepted = 0, rejected = 0;

	(void)state;
	srandom(3);
	for (int it = 0; it < 100000; it++) {
		const char *sd = seeds[it % 3];
		size_t n = strlen(sd);
		int edits = 1 + (int)(random() % 3);
		struct cond *c;

		memcpy(buf, sd, n);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)random() % (n + 1);
			/* a NUL byte now and then, else a byte of the alphabet */
			char ch = random() % 50 ? alphabet[random() % (sizeof(alphabet) - 1)] : '\0';

			switch (random() % 3) {
			case 0:		/* replace */
				if (at < n)
					buf[at] = ch;
				break;
			case 1:		/* insert */
				if (n + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = ch;
					n++;
				}
				break;
			default:	/* delete */
				if (at < n) {
					memmove(buf + at, buf + at + 1, n - at - 1);
					n--;
				}
			}
		}
		c = cond_compile(buf, n, err, sizeof(err));
		if (c) {
			struct cond *d = cond_compile(buf, n, err, sizeof(err));

			assert_non_null(d);
			assert_int_equal(cond_is_edge(c), cond_is_edge(d));
			cond_free(d);
			cond_free(c);
			accepted++;
		} else {
			if (!strstr(err, ": "))
				fail_msg("message without a path for %.*s: %s", (int)n, buf, err);
			rejected++;
		}
	}
	print_message("mutations: %d accepted, %d rejected\n", accepted, rejected);
	assert_true(accepted > 100 && rejected > 10000);
}

/* One vector: compiles exactly when it is meant to. */
static void replay_one(const char *path, const char *text, size_t len, void *arg)
{
	bool want_ok = *(bool *)arg;
	char err[256];
	struct cond *c = cond_compile(text, len, err, sizeof(err));

	if (want_ok && !c)
		fail_msg("%s rejected: %s", path, err);
	if (!want_ok && c)
		fail_msg("%s accepted", path);
	if (!want_ok && !strchr(err, ':'))
		fail_msg("%s: message without a path: %s", path, err);
	cond_free(c);
}

static int replay(const char *dir, bool want_ok)
{
	return vectors_each(dir, replay_one, &want_ok);
}

static void test_vectors(void **state)
{
	const char *root = getenv("LEO_TEST_DATA");
	char dir[1024];
	int n = 0;

	(void)state;
	if (!root)
		skip();
	snprintf(dir, sizeof(dir), "%s/cond/ok", root);
	n += replay(dir, true);
	snprintf(dir, sizeof(dir), "%s/cond/bad", root);
	n += replay(dir, false);
	snprintf(dir, sizeof(dir), "%s/cond/bad-text", root);
	n += replay(dir, false);
	if (n == 0)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_edge_level),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
