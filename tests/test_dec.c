/* test_dec.c — exact decimal keys: parse, sticky bit, saturation, format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec.h"

static dec_t parse_ok(const char *s, enum dec_mode m)
{
	dec_t v = 0;
	const char *why = NULL;

	if (dec_parse(s, strlen(s), m, &v, &why) != 0)
		fail_msg("dec_parse(%s) failed: %s", s, why);
	return v;
}

static const char *parse_bad(const char *s, enum dec_mode m)
{
	dec_t v = 0;
	const char *why = NULL;

	if (dec_parse(s, strlen(s), m, &v, &why) == 0)
		fail_msg("dec_parse(%s) accepted", s);
	assert_non_null(why);
	return why;
}

static void test_operand(void **state)
{
	(void)state;
	assert_true(parse_ok("150.1", DEC_OPERAND) == (dec_t)30020000000LL);
	assert_true(parse_ok("0", DEC_OPERAND) == 0);
	assert_true(parse_ok("-0", DEC_OPERAND) == 0);
	assert_true(parse_ok("0.00000001", DEC_OPERAND) == 2);
	assert_true(parse_ok("-0.00000001", DEC_OPERAND) == -2);
	assert_true(parse_ok("1.50000000", DEC_OPERAND) == 300000000);
	assert_true(parse_ok("999999999999.99999999", DEC_OPERAND) ==
		    ((dec_t)999999999999LL * 100000000 + 99999999) * 2);
	assert_true(parse_ok("-999999999999.99999999", DEC_OPERAND) ==
		    -((dec_t)999999999999LL * 100000000 + 99999999) * 2);
	assert_string_equal(parse_bad("1.000000001", DEC_OPERAND),
			    "more than 8 fractional digits");
	assert_string_equal(parse_bad("1.000000000", DEC_OPERAND),
			    "more than 8 fractional digits");
	assert_string_equal(parse_bad("1000000000000", DEC_OPERAND),
			    "magnitude must be below 10^12");
	assert_string_equal(parse_bad("-1000000000000.5", DEC_OPERAND),
			    "magnitude must be below 10^12");
	assert_string_equal(parse_bad("1e5", DEC_OPERAND),
			    "exponent notation not allowed");
	parse_bad("", DEC_OPERAND);
	parse_bad("-", DEC_OPERAND);
	parse_bad("1.", DEC_OPERAND);
	parse_bad(".5", DEC_OPERAND);
	parse_bad("+1", DEC_OPERAND);
	parse_bad(" 1", DEC_OPERAND);
	parse_bad("1 ", DEC_OPERAND);
	parse_bad("NaN", DEC_PRICE);
	parse_bad("Infinity", DEC_PRICE);
	parse_bad("1.2.3", DEC_PRICE);
	parse_bad("--1", DEC_PRICE);
}

static void test_sticky(void **state)
{
	dec_t op = parse_ok("150.1", DEC_OPERAND);
	dec_t op_up = parse_ok("150.10000001", DEC_OPERAND);
	dec_t op_dn = parse_ok("150.09999999", DEC_OPERAND);
	dec_t p;

	(void)state;
	p = parse_ok("150.100000001", DEC_PRICE);
	assert_true(p > op && p < op_up);
	assert_true(p == op + 1);
	p = parse_ok("150.099999999", DEC_PRICE);
	assert_true(p < op && p > op_dn);
	p = parse_ok("150.1000000000000", DEC_PRICE);	/* zeros cut: exact */
	assert_true(p == op);
	p = parse_ok("150.10000000000001", DEC_PRICE);
	assert_true(p == op + 1);
	/* Negative: -1.000000001 lies between -1.00000001 and -1. */
	p = parse_ok("-1.000000001", DEC_PRICE);
	assert_true(p < parse_ok("-1", DEC_OPERAND));
	assert_true(p > parse_ok("-1.00000001", DEC_OPERAND));
	p = parse_ok("-0.000000001", DEC_PRICE);
	assert_true(p < 0 && p > -2);
}

static void test_saturation(void **state)
{
	char big[80];

	(void)state;
	memset(big, '9', 39);
	big[39] = '\0';
	assert_true(parse_ok(big, DEC_PRICE) == DEC_MAX);
	big[0] = '-';
	assert_true(parse_ok(big, DEC_PRICE) == -DEC_MAX);
	assert_true(parse_ok("1000000000000000000", DEC_PRICE) == DEC_MAX);
	assert_true(parse_ok("999999999999999999.99999999", DEC_PRICE) == DEC_MAX - 2);
	/* Saturated prices still order right against any operand. */
	assert_true(DEC_MAX > parse_ok("999999999999.99999999", DEC_OPERAND));
}

static void fmt_is(dec_t v, const char *want)
{
	char buf[DEC_FMT_MAX];
	size_t n = dec_format(v, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_format(void **state)
{
	char small[4];

	(void)state;
	fmt_is(0, "0");
	fmt_is(parse_ok("150.1", DEC_OPERAND), "150.1");
	fmt_is(parse_ok("-0.5", DEC_OPERAND), "-0.5");
	fmt_is(parse_ok("-0", DEC_OPERAND), "0");
	fmt_is(parse_ok("0.00000001", DEC_OPERAND), "0.00000001");
	fmt_is(parse_ok("-12.34000000", DEC_OPERAND), "-12.34");
	fmt_is(parse_ok("1000000", DEC_OPERAND), "1000000");
	fmt_is(parse_ok("1.000000001", DEC_PRICE), "1");
	fmt_is(parse_ok("-1.000000001", DEC_PRICE), "-1");
	fmt_is(parse_ok("-0.000000001", DEC_PRICE), "0");
	fmt_is(DEC_MAX, "1000000000000000000");
	fmt_is(-DEC_MAX, "-1000000000000000000");
	/* Truncates into a short buffer, still returns the full length. */
	assert_int_equal(dec_format(parse_ok("123.25", DEC_OPERAND), small,
				    sizeof(small)), 6);
	assert_string_equal(small, "123");
}

/* Random values with up to 8 fractional digits survive format -> parse. */
static void test_roundtrip(void **state)
{
	char buf[DEC_FMT_MAX];

	(void)state;
	srandom(7);
	for (int i = 0; i < 20000; i++) {
		int64_t units = ((int64_t)random() << 20 ^ random()) %
				99999999999999999LL;
		dec_t v, back = 0;
		const char *why;

		if (i & 1)
			units = -units;
		v = (dec_t)units * 2;
		dec_format(v, buf, sizeof(buf));
		assert_int_equal(dec_parse(buf, strlen(buf), DEC_OPERAND, &back, &why), 0);
		assert_true(back == v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operand),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_saturation),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
