/*
 * test_transport_file.c — the file transport (transport_file.c) and the
 * delivery document (msgdoc.c): lines in order, each a JSON object with
 * every field of SPEC section 7 (null subject but for email), strings that
 * need escaping intact, an unwritable path refused with a reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport_file.h"

static void test_lines(void **state)
{
	char dir[] = "/tmp/leo-tfile-XXXXXX", path[64], why[256], line[4096];
	struct tr_msg m = { .tenant_id = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", .delivery_id = 42,
			    .channel = "email", .to = "p1@example.com", .subject = "AAPL \"up\"",
			    .body = "Giá tăng\nline 2\t\x01", .idempotency_key = "r1:1",
			    .rule_id = "r1", .profile_id = "P1",
			    .created_at = "2026-12-07T09:00:00+00:00" };
	struct tr_result res;
	struct tfile *f;
	FILE *in;
	int n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.jsonl", dir);
	f = tfile_new(path, why, sizeof(why));
	assert_non_null(f);
	tfile_send(f, &m, &res);
	assert_int_equal(res.cls, TR_OK);
	m.delivery_id = 43;
	m.channel = "sms";
	m.subject = NULL;
	m.rule_id = NULL;
	tfile_send(f, &m, &res);
	assert_int_equal(res.cls, TR_OK);
	tfile_free(f);

	in = fopen(path, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		cJSON *o = cJSON_Parse(line);

		assert_non_null(o);
		assert_int_equal(cJSON_GetObjectItem(o, "delivery_id")->valuedouble, 42 + n);
		assert_string_equal(cJSON_GetObjectItem(o, "body")->valuestring, "Giá tăng\nline 2\t\x01");
		assert_string_equal(cJSON_GetObjectItem(o, "idempotency_key")->valuestring, "r1:1");
		assert_string_equal(cJSON_GetObjectItem(o, "created_at")->valuestring,
				    "2026-12-07T09:00:00+00:00");
		if (n == 0) {
			assert_string_equal(cJSON_GetObjectItem(o, "subject")->valuestring, "AAPL \"up\"");
			assert_string_equal(cJSON_GetObjectItem(o, "rule_id")->valuestring, "r1");
		} else {
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "subject")));
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "rule_id")));
		}
		assert_int_equal(cJSON_GetArraySize(o), 10);
		cJSON_Delete(o);
		n++;
	}
	fclose(in);
	assert_int_equal(n, 2);
	unlink(path);
	rmdir(dir);
}

static void test_unwritable(void **state)
{
	char why[256] = "";

	(void)state;
	assert_null(tfile_new("/nonexistent-dir/out.jsonl", why, sizeof(why)));
	assert_non_null(strstr(why, "/nonexistent-dir/out.jsonl: cannot open for appending"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_unwritable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
