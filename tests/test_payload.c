/*
 * test_payload.c — notification signatures, market and control notification
 * decoding, and xid8 snapshot visibility (payload.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "payload.h"

static dec_t d(const char *s)
{
	dec_t v = 0;
	const char *why = NULL;

	assert_int_equal(dec_parse(s, strlen(s), DEC_PRICE, &v, &why), 0);
	return v;
}

static int market(const char *s, struct payload_market *m, char *err)
{
	return payload_market_decode(s, strlen(s), m, err, 256);
}

/* HMAC-SHA256 vectors from Python's hmac module, not from payload.c. */
#define SIG_BODY "M1 5 1\nACME\t1\t2\t\t"
#define SIG_K0 "2eb443b6ea58d08f212154d3a31b1f67d6c4b1ae74205d984a8474131bbcc4eb"	/* key 00..1f */
#define SIG_KA5 "7b53f8dcd43065c4b4f6c62b813b38c5ab38adeb1bc21637823be553bc466b30"	/* key a5 x 32 */

static int verify(const uint8_t (*keys)[PAYLOAD_KEY_LEN], size_t nkeys, const char *s,
		  const char **body, char *err)
{
	size_t blen = 0;
	int rc = payload_verify(keys, nkeys, s, strlen(s), body, &blen, err, 256);

	if (rc == 0)
		assert_int_equal(blen, strlen(*body));
	return rc;
}

static void test_verify(void **state)
{
	uint8_t keys[2][PAYLOAD_KEY_LEN];
	const char *body = NULL;
	char err[256];

	(void)state;
	for (int i = 0; i < PAYLOAD_KEY_LEN; i++)
		keys[0][i] = (uint8_t)i;
	memset(keys[1], 0xa5, PAYLOAD_KEY_LEN);

	assert_int_equal(verify(keys, 1, SIG_K0 " " SIG_BODY, &body, err), 0);
	assert_string_equal(body, SIG_BODY);
	/* the key before a rotation is accepted too, and only when asked for */
	assert_int_equal(verify(keys, 2, SIG_KA5 " " SIG_BODY, &body, err), 0);
	assert_int_equal(verify(keys, 1, SIG_KA5 " " SIG_BODY, &body, err), -1);
	assert_string_equal(err, "bad signature");
	assert_int_equal(verify(keys, 0, SIG_K0 " " SIG_BODY, &body, err), -1);

	/* one byte of the body or of the signature changed */
	assert_int_equal(verify(keys, 2, SIG_K0 " M1 5 1\nACME\t1\t3\t\t", &body, err), -1);
	assert_string_equal(err, "bad signature");
	{
		char s[] = SIG_K0 " " SIG_BODY;

		s[63] = s[63] == '0' ? '1' : '0';
		assert_int_equal(verify(keys, 2, s, &body, err), -1);
		assert_string_equal(err, "bad signature");
	}

	/* not a signature: the body alone, upper-case hex, no space, too short */
	assert_int_equal(verify(keys, 2, SIG_BODY, &body, err), -1);
	assert_string_equal(err, "not signed");
	assert_int_equal(verify(keys, 2, "2EB443B6EA58D08F212154D3A31B1F67D6C4B1AE74205D984A8474131BBCC4EB "
			 SIG_BODY, &body, err), -1);
	assert_string_equal(err, "not signed");
	assert_int_equal(verify(keys, 2, SIG_K0 SIG_BODY, &body, err), -1);
	assert_int_equal(verify(keys, 2, SIG_K0, &body, err), -1);
	assert_int_equal(verify(keys, 2, "", &body, err), -1);
	assert_int_equal(verify(keys, 2, SIG_K0 " ", &body, err), -1);
	assert_string_equal(err, "bad signature");
}

static void test_key_parse(void **state)
{
	uint8_t key[PAYLOAD_KEY_LEN];

	(void)state;
	assert_int_equal(payload_key_parse("\\x000102030405060708090a0b0c0d0e0f"
					   "101112131415161718191a1b1c1d1e1f", key), 0);
	for (int i = 0; i < PAYLOAD_KEY_LEN; i++)
		assert_int_equal(key[i], i);
	assert_int_equal(payload_key_parse("000102030405060708090a0b0c0d0e0f"
					   "101112131415161718191a1b1c1d1e1f", key), -1);
	assert_int_equal(payload_key_parse("\\x000102", key), -1);
	assert_int_equal(payload_key_parse("\\x000102030405060708090a0b0c0d0e0f"
					   "101112131415161718191a1b1c1d1e1f00", key), -1);
	assert_int_equal(payload_key_parse("\\x000102030405060708090a0b0c0d0e0f"
					   "101112131415161718191a1b1c1d1e1g", key), -1);
	assert_int_equal(payload_key_parse("", key), -1);
}

static void test_market_one_row(void **state)
{
	struct payload_market m;
	char err[256];

	(void)state;
	assert_int_equal(market("M1 742\nAAPL\t150.1\t151.25\t-0.5\t0.33", &m, err), 0);
	assert_true(m.xid == 742);
	assert_true(m.stmt == 0);
	assert_int_equal(m.nticks, 1);
	payload_market_free(&m);
	assert_int_equal(market("M1 742 3\nAAPL\t150.1\t151.25\t-0.5\t0.33", &m, err), 0);
	assert_true(m.xid == 742);
	assert_true(m.stmt == 3);
	assert_int_equal(m.nticks, 1);
	assert_string_equal(m.ticks[0].symbol, "AAPL");
	assert_true(m.ticks[0].has_old_price);
	assert_true(m.ticks[0].old_price == d("150.1"));
	assert_true(m.ticks[0].price == d("151.25"));
	assert_true(m.ticks[0].has_old_chg && m.ticks[0].old_chg == d("-0.5"));
	assert_true(m.ticks[0].has_chg && m.ticks[0].chg == d("0.33"));
	payload_market_free(&m);
}

static void test_market_insert_and_nulls(void **state)
{
	struct payload_market m;
	char err[256];

	(void)state;
	/* INSERT: old fields empty; change_percent NULL on both sides */
	assert_int_equal(market("M1 18446744073709551615\nBRK.B\t\t412.5\t\t\n"
				"VNM 1\t9\t10\t\t2", &m, err), 0);
	assert_true(m.xid == UINT64_MAX);
	assert_int_equal(m.nticks, 2);
	assert_string_equal(m.ticks[0].symbol, "BRK.B");
	assert_false(m.ticks[0].has_old_price);
	assert_false(m.ticks[0].has_old_chg);
	assert_false(m.ticks[0].has_chg);
	assert_true(m.ticks[0].price == d("412.5"));
	assert_string_equal(m.ticks[1].symbol, "VNM 1");	/* spaces are allowed */
	assert_false(m.ticks[1].has_old_chg);
	assert_true(m.ticks[1].has_chg && m.ticks[1].chg == d("2"));
	payload_market_free(&m);
}

static void test_market_many_digits(void **state)
{
	struct payload_market m;
	char err[256];

	(void)state;
	/* more than 8 fraction digits: kept with the sticky bit, above 150.1 */
	assert_int_equal(market("M1 5\nX\t150.1\t150.100000001\t\t", &m, err), 0);
	assert_true(m.ticks[0].price > d("150.1"));
	payload_market_free(&m);
}

static void test_market_malformed(void **state)
{
	static const char *const bad[] = {
		"junk",
		"",
		"M1",
		"M1 12",			/* no rows */
		"M1 12\n",			/* empty row */
		"M1 12 \nA\t1\t2\t\t",		/* empty statement number */
		"M1 12 x\nA\t1\t2\t\t",	/* statement not a number */
		"M1 12 3 4\nA\t1\t2\t\t",	/* a third header field */
		"M1 x\nA\t1\t2\t\t",		/* xid not a number */
		"M1 -3\nA\t1\t2\t\t",
		"M1 99999999999999999999\nA\t1\t2\t\t",	/* xid overflows */
		"M2 12\nA\t1\t2\t\t",		/* unknown version */
		"M1 12\nA\t1\t2\t\t\t",		/* six fields */
		"M1 12\nA\t1\t2\t",		/* four fields */
		"M1 12\n\t1\t2\t\t",		/* empty symbol */
		"M1 12\nA\x01\t1\t2\t\t",	/* control character in symbol */
		"M1 12\nA\t1\t\t\t",		/* NULL new price */
		"M1 12\nA\t1\tabc\t\t",		/* not a number */
		"M1 12\nA\t1\t1e5\t\t",		/* exponent */
		"M1 12\nA\t1\t2\t\t3\nB\tx\t2\t\t",	/* second row bad */
		"M1 12\nA\t1\t2\t\t3\n",	/* trailing newline: empty row */
		"M1 12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\t1\t2\t\t",
		"M1 12\nA\t1\t11111111111111111111111111111111111111111\t\t", /* > 40 chars */
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct payload_market m;

		err[0] = '\0';
		if (market(bad[i], &m, err) == 0)
			fail_msg("accepted bad payload #%zu", i);
		assert_true(err[0] != '\0');
		assert_null(m.ticks);
		payload_market_free(&m);
	}
}

static void test_market_error_names_field(void **state)
{
	struct payload_market m;
	char err[256];

	(void)state;
	assert_int_equal(market("M1 12\nA\t1\t2\t\t3\nB\t1\tx\t\t", &m, err), -1);
	assert_non_null(strstr(err, "row 2"));
	assert_non_null(strstr(err, "new_price"));
}

static int control(const char *s, struct payload_control *c, char *err)
{
	return payload_control_decode(s, strlen(s), c, err, 256);
}

#define TENANT "0b7f3c6e-2b1a-4c55-9a7e-1d2c3b4a5f60"
#define RULE "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void test_control_rule(void **state)
{
	struct payload_control c;
	char err[256];

	(void)state;
	assert_int_equal(control("{\"k\":\"rule\",\"x\":\"901\",\"op\":\"U\",\"tenant\":\"" TENANT
				 "\",\"rule\":\"" RULE "\",\"symbol\":\"AAPL\",\"old_symbol\":\"MSFT\"}",
				 &c, err), 0);
	assert_int_equal(c.kind, PAYLOAD_RULE);
	assert_true(c.xid == 901);
	assert_int_equal(c.op, 'U');
	assert_string_equal(c.tenant, TENANT);
	assert_string_equal(c.rule, RULE);
	assert_string_equal(c.symbol, "AAPL");
	assert_string_equal(c.old_symbol, "MSFT");

	assert_int_equal(control("{\"k\":\"rule\",\"x\":\"3\",\"op\":\"I\",\"tenant\":\"" TENANT
				 "\",\"rule\":\"" RULE "\",\"symbol\":\"AAPL\",\"old_symbol\":null}",
				 &c, err), 0);
	assert_string_equal(c.old_symbol, "");
	assert_int_equal(c.op, 'I');
}

static void test_control_consent_tenant(void **state)
{
	struct payload_control c;
	char err[256];

	(void)state;
	assert_int_equal(control("{\"k\":\"consent\",\"x\":\"4\",\"op\":\"D\",\"tenant\":\"" TENANT
				 "\",\"profile\":\"p-1\",\"channel\":\"sms\"}", &c, err), 0);
	assert_int_equal(c.kind, PAYLOAD_CONSENT);
	assert_int_equal(c.op, 'D');
	assert_string_equal(c.profile, "p-1");
	assert_string_equal(c.channel, "sms");

	assert_int_equal(control("{\"k\":\"tenant\",\"x\":\"5\",\"op\":\"U\",\"tenant\":\"" TENANT
				 "\",\"status\":\"suspended\"}", &c, err), 0);
	assert_int_equal(c.kind, PAYLOAD_TENANT);
	assert_string_equal(c.status, "suspended");
}

static void test_control_malformed(void **state)
{
	static const char *const bad[] = {
		"junk",
		"[]",
		"{}",
		"{\"k\":\"rule\"}",
		"{\"k\":\"what\",\"x\":\"1\",\"op\":\"I\",\"tenant\":\"" TENANT "\"}",
		"{\"k\":\"tenant\",\"x\":\"1\",\"op\":\"X\",\"tenant\":\"" TENANT "\",\"status\":\"active\"}",
		"{\"k\":\"tenant\",\"x\":1,\"op\":\"I\",\"tenant\":\"" TENANT "\",\"status\":\"active\"}",
		"{\"k\":\"tenant\",\"x\":\"1\",\"op\":\"I\",\"tenant\":\"nope\",\"status\":\"active\"}",
		"{\"k\":\"tenant\",\"x\":\"1\",\"op\":\"I\",\"tenant\":\"" TENANT "\"}",
		"{\"k\":\"rule\",\"x\":\"1\",\"op\":\"I\",\"tenant\":\"" TENANT
		"\",\"rule\":\"ABC\",\"symbol\":\"A\",\"old_symbol\":null}",
		"{\"k\":\"rule\",\"x\":\"1\",\"op\":\"I\",\"tenant\":\"" TENANT
		"\",\"rule\":\"" RULE "\",\"symbol\":\"\",\"old_symbol\":null}",
		"{\"k\":\"rule\",\"x\":\"1\",\"op\":\"I\",\"tenant\":\"" TENANT
		"\",\"rule\":\"" RULE "\",\"symbol\":\"A\"}",
		"{\"k\":\"consent\",\"x\":\"1\",\"op\":\"I\",\"tenant\":\"" TENANT
		"\",\"profile\":\"p\",\"channel\":\"a-channel-name-far-too-long\"}",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct payload_control c;

		err[0] = '\0';
		if (control(bad[i], &c, err) == 0)
			fail_msg("accepted bad control payload #%zu", i);
		assert_true(err[0] != '\0');
	}
}

static void test_snapshot_visibility(void **state)
{
	struct payload_snapshot s;

	(void)state;
	assert_int_equal(payload_snapshot_parse("100:105:100,102", &s), 0);
	assert_true(s.xmin == 100 && s.xmax == 105 && s.nxip == 2);
	assert_true(payload_snapshot_visible(&s, 1));
	assert_true(payload_snapshot_visible(&s, 99));
	assert_false(payload_snapshot_visible(&s, 100));	/* in progress */
	assert_true(payload_snapshot_visible(&s, 101));		/* committed */
	assert_false(payload_snapshot_visible(&s, 102));
	assert_true(payload_snapshot_visible(&s, 104));
	assert_false(payload_snapshot_visible(&s, 105));	/* >= xmax */
	assert_false(payload_snapshot_visible(&s, 1000));
	payload_snapshot_free(&s);

	assert_int_equal(payload_snapshot_parse("7:7:", &s), 0);
	assert_int_equal(s.nxip, 0);
	assert_true(payload_snapshot_visible(&s, 6));
	assert_false(payload_snapshot_visible(&s, 7));
	payload_snapshot_free(&s);

	assert_int_equal(payload_snapshot_parse("x:7:", &s), -1);
	assert_int_equal(payload_snapshot_parse("7:6:", &s), -1);	/* xmin > xmax */
	assert_int_equal(payload_snapshot_parse("5:9:10", &s), -1);	/* xip >= xmax */
	assert_int_equal(payload_snapshot_parse("5:9:4", &s), -1);	/* xip < xmin */
	assert_int_equal(payload_snapshot_parse("5:9:6,,7", &s), -1);
	assert_int_equal(payload_snapshot_parse("5:9", &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_market_one_row),
		cmocka_unit_test(test_market_insert_and_nulls),
		cmocka_unit_test(test_market_many_digits),
		cmocka_unit_test(test_market_malformed),
		cmocka_unit_test(test_market_error_names_field),
		cmocka_unit_test(test_control_rule),
		cmocka_unit_test(test_control_consent_tenant),
		cmocka_unit_test(test_control_malformed),
		cmocka_unit_test(test_snapshot_visibility),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
