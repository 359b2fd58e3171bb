/*
 * test_sign.c — X-Leo-Signature (sign.c): a value computed independently
 * (Python's hmac module), round trips, the time window, tampering,
 * malformed headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sign.h"

static const char known[] = "t=1700000000,v1=";

static void test_round_trip(void **state)
{
	char h[SIGN_HEADER_MAX];
	const char *body = "{\"delivery_id\":1}";

	(void)state;
	sign_header("s3cret", 1700000000, body, strlen(body), h);
	assert_int_equal(strncmp(h, known, strlen(known)), 0);
	assert_int_equal(strlen(h), strlen(known) + 64);
	assert_true(sign_verify("s3cret", h, body, strlen(body), 1700000000, 300));
	assert_true(sign_verify("s3cret", h, body, strlen(body), 1700000300, 300));
	assert_false(sign_verify("s3cret", h, body, strlen(body), 1700000301, 300));
	assert_false(sign_verify("s3cret", h, body, strlen(body), 1699999699, 300));
	assert_false(sign_verify("other", h, body, strlen(body), 1700000000, 300));
	assert_false(sign_verify("s3cret", h, "{\"delivery_id\":2}", strlen(body), 1700000000, 300));
	h[strlen(h) - 1] ^= 1;
	assert_false(sign_verify("s3cret", h, body, strlen(body), 1700000000, 300));
}

static void test_known_value(void **state)
{
	char h[SIGN_HEADER_MAX];

	(void)state;
	/* python3 -c 'import hmac,hashlib; print(hmac.new(b"Jefe", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest())' */
	sign_header("Jefe", 1700000000, "{\"a\":1}", 7, h);
	assert_string_equal(h, "t=1700000000,v1=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a");
}

static void test_malformed(void **state)
{
	(void)state;
	assert_false(sign_verify("s", "", "", 0, 0, 300));
	assert_false(sign_verify("s", "t=,v1=00", "", 0, 0, 300));
	assert_false(sign_verify("s", "t=1", "", 0, 1, 300));
	assert_false(sign_verify("s", "v1=00,t=1", "", 0, 1, 300));
	assert_false(sign_verify("s", "t=1,v1=zz", "", 0, 1, 300));
	assert_false(sign_verify("s", "t=99999999999999999999999,v1=", "", 0, 1, 300));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_known_value),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
