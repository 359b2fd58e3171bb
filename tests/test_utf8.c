/*
 * test_utf8.c — utf8_scrub (utf8.c): valid text kept byte for byte, each
 * NUL and each invalid byte one '?', nothing read past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

static void check(const char *in, size_t len, const char *want)
{
	char buf[64];

	memcpy(buf, in, len);
	buf[len] = 'X';
	utf8_scrub(buf, len);
	assert_int_equal(buf[len], '\0');
	assert_string_equal(buf, want);
}

/* in as a literal: its length is its size, embedded NULs included */
#define CHECK(in, want) check(in, sizeof(in) - 1, want)

static void test_valid(void **state)
{
	(void)state;
	CHECK("", "");
	CHECK("plain ascii", "plain ascii");
	CHECK("Gi\xc3\xa1 v\xc3\xa0ng t\xe1\xba\xa1i H\xc3\xa0 N\xe1\xbb\x99i",
	      "Gi\xc3\xa1 v\xc3\xa0ng t\xe1\xba\xa1i H\xc3\xa0 N\xe1\xbb\x99i");
	CHECK("\xf0\x9f\x93\x88 \xf4\x8f\xbf\xbf", "\xf0\x9f\x93\x88 \xf4\x8f\xbf\xbf");
}

static void test_invalid(void **state)
{
	(void)state;
	CHECK("a\0b", "a?b");				/* NUL */
	CHECK("\x80x", "?x");				/* stray continuation */
	CHECK("\xc0\xaf", "??");				/* overlong '/' */
	CHECK("\xe0\x80\xaf", "???");			/* overlong, 3 bytes */
	CHECK("\xed\xa0\x80", "???");			/* surrogate */
	CHECK("\xf4\x90\x80\x80", "????");			/* above U+10FFFF */
	CHECK("\xff\xfe", "??");
	CHECK("ok\xc3", "ok?");				/* cut at the end */
	CHECK("\xe1\xba" "a", "??a");			/* cut in the middle */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
