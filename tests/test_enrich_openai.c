/*
 * test_enrich_openai.c — the embeddings-answer parser (embed_openai.c):
 * items placed by index and normalised, and every way an answer is refused
 * (malformed JSON, no data, a wrong dimension, NaN or infinity, missing or
 * repeated items, an all-zero vector, a non-number), each saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_openai.h"

static float out[3 * EMBED_DIM];

/* {"data": [ITEMS]} where each "%v" in items is a vector of dim values
 * starting with first, then 1s. */
static char *answer(const char *items, int dim, const char *first)
{
	size_t cap = strlen(items) + 16 + 4 * (size_t)(dim * 2 + 16) + 64;
	char *vec = malloc((size_t)dim * 2 + 64), *s, *o;
	size_t vl;

	assert_non_null(vec);
	o = vec + sprintf(vec, "[%s", dim > 0 ? first : "");
	for (int i = 1; i < dim; i++)
		o += sprintf(o, ",1");
	strcpy(o, "]");
	vl = strlen(vec);
	s = malloc(cap + 4 * vl);
	assert_non_null(s);
	o = s + sprintf(s, "{\"data\": [");
	for (const char *p = items; *p; p++) {
		if (p[0] == '%' && p[1] == 'v') {
			memcpy(o, vec, vl);
			o += vl;
			p++;
		} else {
			*o++ = *p;
		}
	}
	strcpy(o, "]}");
	free(vec);
	return s;
}

static void expect_error(const char *body, size_t n, const char *why)
{
	char err[256] = "";

	assert_int_equal(embed_openai_parse(body, strlen(body), n, out, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("error \"%s\" does not say \"%s\"", err, why);
}

static void test_ok_by_index(void **state)
{
	char err[256];
	char *one = answer("%v", EMBED_DIM, "9"), *two = answer("%v", EMBED_DIM, "1"), *a;
	double norm = 0;

	(void)state;
	/* answer("%v") is {"data": [VECTOR]}: take the vectors out of it */
	one[strlen(one) - 2] = '\0';
	two[strlen(two) - 2] = '\0';
	a = malloc(strlen(one) + strlen(two) + 128);
	assert_non_null(a);
	sprintf(a, "{\"data\": [{\"index\": 1, \"embedding\": %s}, {\"index\": 0, \"embedding\": %s}]}",
		one + 10, two + 10);
	assert_int_equal(embed_openai_parse(a, strlen(a), 2, out, err, sizeof(err)), 0);
	for (int k = 0; k < EMBED_DIM; k++)
		norm += (double)out[k] * out[k];
	assert_true(fabs(norm - 1) < 1e-5);
	assert_float_equal(out[0], out[1], 1e-9);		/* index 0: all ones */
	assert_true(out[EMBED_DIM] > 8 * out[EMBED_DIM + 1]);	/* index 1: the 9 first */
	free(a);
	free(one);
	free(two);
}

static void test_position_when_no_index(void **state)
{
	char err[256];
	char *a = answer("{\"embedding\": %v}", EMBED_DIM, "5");

	(void)state;
	assert_int_equal(embed_openai_parse(a, strlen(a), 1, out, err, sizeof(err)), 0);
	assert_true(out[0] > out[1]);
	free(a);
}

static void test_refused(void **state)
{
	char *a;

	(void)state;
	expect_error("{\"data\": [{\"index\": 0, \"embedding\": [0.1,", 1, "malformed answer: not JSON");
	expect_error("{\"error\": {\"message\": \"x\"}}", 1, "no data array");
	expect_error("[]", 1, "no data array");
	a = answer("{\"index\": 0, \"embedding\": %v}", 3, "1");
	expect_error(a, 1, "wrong dimension: data[0].embedding has 3 values, not 1536");
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}", EMBED_DIM + 1, "1");
	expect_error(a, 1, "has 1537 values");
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}", EMBED_DIM, "1e999");
	expect_error(a, 1, "NaN or infinite");
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}", EMBED_DIM, "1e300");
	expect_error(a, 1, "NaN or infinite");	/* finite double, infinite float */
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}", EMBED_DIM, "NaN");
	expect_error(a, 1, "not JSON");
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}", EMBED_DIM, "\"x\"");
	expect_error(a, 1, "non-number");
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}", EMBED_DIM, "1");
	expect_error(a, 2, "missing items: 1 embeddings for 2 inputs");
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}, {\"index\": 0, \"embedding\": %v}", EMBED_DIM, "1");
	expect_error(a, 2, "index 0 twice");
	free(a);
	a = answer("{\"index\": 5, \"embedding\": %v}", EMBED_DIM, "1");
	expect_error(a, 1, "index out of range");
	free(a);
	a = answer("{\"index\": 0, \"embedding\": %v}, {\"embedding\": %v}", EMBED_DIM, "1");
	expect_error(a, 1, "more items than inputs");
	free(a);
	expect_error("{\"data\": [{\"index\": 0, \"embedding\": {}}]}", 1, "is not an array");
}

static void test_all_zero(void **state)
{
	char *a = malloc(EMBED_DIM * 2 + 64), *o;

	(void)state;
	assert_non_null(a);
	o = a + sprintf(a, "{\"data\": [{\"embedding\": [0");
	for (int i = 1; i < EMBED_DIM; i++)
		o += sprintf(o, ",0");
	strcpy(o, "]}]}");
	expect_error(a, 1, "all zero");
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_by_index),
		cmocka_unit_test(test_position_when_no_index),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_all_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
