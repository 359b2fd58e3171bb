/*
 * test_decode.c — notifications into burst items (decode.c): routing by
 * channel, signatures and key rotation, the snapshot filter, fences, and
 * every kind of rejection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "decode.h"

#define MARKET "leo_market"
#define FENCE "leo_fence_0123456789abcdef"
#define TENANT "0b7f3c6e-2b1a-4c55-9a7e-1d2c3b4a5f60"
#define RULE "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const uint8_t K1[PAYLOAD_KEY_LEN] = { 1 }, K2[PAYLOAD_KEY_LEN] = { 2 },
		     K3[PAYLOAD_KEY_LEN] = { 3 };

/* "<hex HMAC-SHA256 of body under key> <body>", as leo_notify sends it. */
static char *sign(const uint8_t key[PAYLOAD_KEY_LEN], const char *body)
{
	uint8_t mac[32];
	unsigned len = 0;
	char *s = malloc(65 + strlen(body) + 1);

	assert_non_null(s);
	assert_non_null(HMAC(EVP_sha256(), key, PAYLOAD_KEY_LEN, (const uint8_t *)body,
			     strlen(body), mac, &len));
	assert_int_equal(len, 32);
	for (int i = 0; i < 32; i++)
		sprintf(s + 2 * i, "%02x", mac[i]);
	s[64] = ' ';
	strcpy(s + 65, body);
	return s;
}

static void setup_decode(struct decode *d)
{
	memset(d, 0, sizeof(*d));
	d->market_channel = MARKET;
	d->fence_chan = FENCE;
	decode_key(d, K1);
}

/* decode_notify of a payload signed under key; the burst keeps growing. */
static int notify(const struct decode *d, const char *channel, const uint8_t *key,
		  const char *body, struct decode_burst *b)
{
	char *s = sign(key, body);
	int rc = decode_notify(d, channel, s, b);

	free(s);
	return rc;
}

static void test_market(void **state)
{
	struct decode d;
	struct decode_burst b = { 0 };

	(void)state;
	setup_decode(&d);
	assert_int_equal(notify(&d, MARKET, K1, "M1 7 1\nAAPL\t1\t2\t\t0.5\nMSFT\t\t3\t\t", &b), 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.items[0].kind, DECODE_TICK);
	assert_string_equal(b.items[0].tick.symbol, "AAPL");
	assert_true(b.items[0].tick.has_chg);
	assert_string_equal(b.items[1].tick.symbol, "MSFT");
	assert_false(b.items[1].tick.has_chg);
	free(b.items);
	decode_free(&d);
}

static void test_control(void **state)
{
	struct decode d;
	struct decode_burst b = { 0 };

	(void)state;
	setup_decode(&d);
	assert_int_equal(notify(&d, DECODE_CONTROL, K1,
				"{\"k\":\"rule\",\"x\":\"9\",\"op\":\"U\",\"tenant\":\"" TENANT
				"\",\"rule\":\"" RULE "\",\"symbol\":\"AAPL\",\"old_symbol\":\"MSFT\"}",
				&b), 0);
	assert_int_equal(notify(&d, DECODE_CONTROL, K1,
				"{\"k\":\"tenant\",\"x\":\"10\",\"op\":\"U\",\"tenant\":\"" TENANT
				"\",\"status\":\"active\"}", &b), 0);
	assert_int_equal(notify(&d, DECODE_CONTROL, K1,
				"{\"k\":\"tenant\",\"x\":\"11\",\"op\":\"U\",\"tenant\":\"" TENANT
				"\",\"status\":\"suspended\"}", &b), 0);
	assert_int_equal(notify(&d, DECODE_CONTROL, K1,
				"{\"k\":\"tenant\",\"x\":\"12\",\"op\":\"D\",\"tenant\":\"" TENANT
				"\",\"status\":\"active\"}", &b), 0);
	/* consent: counted, nothing to carry */
	assert_int_equal(notify(&d, DECODE_CONTROL, K1,
				"{\"k\":\"consent\",\"x\":\"13\",\"op\":\"D\",\"tenant\":\"" TENANT
				"\",\"profile\":\"p-1\",\"channel\":\"sms\"}", &b), 0);
	assert_int_equal(b.n, 4);
	assert_int_equal(b.items[0].kind, DECODE_RULE);
	assert_string_equal(b.items[0].tenant, TENANT);
	assert_string_equal(b.items[0].rule, RULE);
	assert_string_equal(b.items[0].symbol, "AAPL");
	assert_string_equal(b.items[0].old_symbol, "MSFT");
	assert_int_equal(b.items[1].kind, DECODE_TENANT_ON);
	assert_string_equal(b.items[1].tenant, TENANT);
	assert_int_equal(b.items[2].kind, DECODE_TENANT_OFF);
	assert_int_equal(b.items[3].kind, DECODE_TENANT_OFF);	/* deleted */
	free(b.items);
	decode_free(&d);
}

static void test_fence(void **state)
{
	static const char *const bad[] = { "", "x", "4x", "42 ", "1.5" };
	struct decode d;
	struct decode_burst b = { 0 };

	(void)state;
	setup_decode(&d);
	/* unsigned: a fence carries a position only */
	assert_int_equal(decode_notify(&d, FENCE, "42", &b), 0);
	assert_int_equal(decode_notify(&d, FENCE, "18446744073709551615", &b), 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.items[0].kind, DECODE_FENCE);
	assert_true(b.items[0].fence == 42);
	assert_true(b.items[1].fence == UINT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode_notify(&d, FENCE, bad[i], &b), -1);
	/* signed or not, it is no fence on another channel */
	assert_int_equal(decode_notify(&d, MARKET, "42", &b), -1);
	assert_int_equal(b.n, 2);
	free(b.items);
	decode_free(&d);
}

static void test_rejected(void **state)
{
	struct decode d;
	struct decode_burst b = { 0 };
	char *s;

	(void)state;
	setup_decode(&d);
	/* a channel nobody LISTENs on for this purpose */
	assert_int_equal(notify(&d, "leo_other", K1, "M1 7\nAAPL\t1\t2\t\t", &b), -1);
	/* unsigned, signed under another key, signature altered */
	assert_int_equal(decode_notify(&d, MARKET, "M1 7\nAAPL\t1\t2\t\t", &b), -1);
	assert_int_equal(notify(&d, MARKET, K2, "M1 7\nAAPL\t1\t2\t\t", &b), -1);
	s = sign(K1, "M1 7\nAAPL\t1\t2\t\t");
	s[0] = s[0] == '0' ? '1' : '0';
	assert_int_equal(decode_notify(&d, MARKET, s, &b), -1);
	free(s);
	/* signed but malformed: market text on leo_control and back, bad rows */
	assert_int_equal(notify(&d, DECODE_CONTROL, K1, "M1 7\nAAPL\t1\t2\t\t", &b), -1);
	assert_int_equal(notify(&d, MARKET, K1, "{\"k\":\"rule\"}", &b), -1);
	assert_int_equal(notify(&d, MARKET, K1, "M1 7\nAAPL\t1\tnope\t\t", &b), -1);
	assert_int_equal(notify(&d, MARKET, K1, "M1 7\nAAPL\t1\t2\t\t\nBAD", &b), -1);
	assert_int_equal(notify(&d, DECODE_CONTROL, K1, "{\"k\":\"rule\",\"x\":\"9\"}", &b), -1);
	/* control characters in what is logged: still only a rejection */
	assert_int_equal(decode_notify(&d, MARKET, "\x01\x1b[2J\x7f", &b), -1);
	assert_int_equal(b.n, 0);
	free(b.items);
	decode_free(&d);
}

static void test_key_rotation(void **state)
{
	struct decode d;
	struct decode_burst b = { 0 };

	(void)state;
	setup_decode(&d);
	decode_key(&d, K1);		/* the same key again: no rotation */
	assert_int_equal(d.nkeys, 1);
	decode_key(&d, K2);
	assert_int_equal(d.nkeys, 2);
	/* queued under the key before, or signed under the new one */
	assert_int_equal(notify(&d, MARKET, K1, "M1 7\nAAPL\t1\t2\t\t", &b), 0);
	assert_int_equal(notify(&d, MARKET, K2, "M1 8\nAAPL\t2\t3\t\t", &b), 0);
	decode_key(&d, K3);		/* K1 is two keys ago: gone */
	assert_int_equal(d.nkeys, 2);
	assert_int_equal(notify(&d, MARKET, K1, "M1 9\nAAPL\t3\t4\t\t", &b), -1);
	assert_int_equal(notify(&d, MARKET, K2, "M1 9\nAAPL\t3\t4\t\t", &b), 0);
	assert_int_equal(notify(&d, MARKET, K3, "M1 9\nAAPL\t3\t4\t\t", &b), 0);
	assert_int_equal(b.n, 4);
	free(b.items);
	decode_free(&d);
}

/* What the last load's snapshot holds was loaded: skipped, not rejected. */
static void test_snapshot_filter(void **state)
{
	struct decode d;
	struct decode_burst b = { 0 };

	(void)state;
	setup_decode(&d);
	assert_int_equal(payload_snapshot_parse("100:105:102", &d.snap), 0);
	d.have_snap = true;
	assert_int_equal(notify(&d, MARKET, K1, "M1 99\nAAPL\t1\t2\t\t", &b), 0);
	assert_int_equal(notify(&d, MARKET, K1, "M1 101\nAAPL\t1\t2\t\t", &b), 0);
	assert_int_equal(notify(&d, DECODE_CONTROL, K1,
				"{\"k\":\"tenant\",\"x\":\"104\",\"op\":\"U\",\"tenant\":\"" TENANT
				"\",\"status\":\"active\"}", &b), 0);
	assert_int_equal(b.n, 0);
	/* in progress at the snapshot, or after it: carried */
	assert_int_equal(notify(&d, MARKET, K1, "M1 102\nAAPL\t1\t2\t\t", &b), 0);
	assert_int_equal(notify(&d, MARKET, K1, "M1 105\nMSFT\t1\t2\t\t", &b), 0);
	assert_int_equal(notify(&d, DECODE_CONTROL, K1,
				"{\"k\":\"tenant\",\"x\":\"106\",\"op\":\"U\",\"tenant\":\"" TENANT
				"\",\"status\":\"active\"}", &b), 0);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.items[0].tick.symbol, "AAPL");
	assert_string_equal(b.items[1].tick.symbol, "MSFT");
	assert_int_equal(b.items[2].kind, DECODE_TENANT_ON);
	free(b.items);
	decode_free(&d);
	assert_false(d.have_snap);
}

/* A burst grows past its first allocation, in notification order. */
static void test_many(void **state)
{
	struct decode d;
	struct decode_burst b = { 0 };
	char body[64 * 1024], *p = body;

	(void)state;
	setup_decode(&d);
	p += sprintf(p, "M1 7 1");
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "\nS%d\t\t%d\t\t", i, i + 1);
	assert_int_equal(notify(&d, MARKET, K1, body, &b), 0);
	assert_int_equal(decode_notify(&d, FENCE, "3", &b), 0);
	assert_int_equal(b.n, 1001);
	for (int i = 0; i < 1000; i++) {
		char want[16];

		snprintf(want, sizeof(want), "S%d", i);
		assert_int_equal(b.items[i].kind, DECODE_TICK);
		assert_string_equal(b.items[i].tick.symbol, want);
	}
	assert_int_equal(b.items[1000].kind, DECODE_FENCE);
	free(b.items);
	decode_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_market),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_fence),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_snapshot_filter),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
