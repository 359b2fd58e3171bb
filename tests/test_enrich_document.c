/*
 * test_enrich_document.c — the text of a profile (document.c): the layout
 * document.h shows, the same fields giving the same text, events in the
 * order given (newest first) and none past the limit, the strings taken
 * from fields of every shape (malformed ones too), the symbols of a
 * portfolio, values kept on their line, news.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "document.h"

static const char fields_json[] =
	"{\"job_titles\": [\"Portfolio manager\", \"Analyst\"], \"segments\": [\"high value\"],"
	" \"location\": \"Hanoi\", \"portfolio\": {\"cash\": 5, \"positions\": [{\"symbol\": \"VNM\"},"
	" {\"symbol\": \"AAPL\", \"qty\": 2}, {\"symbol\": \"VNM\"}]},"
	" \"events\": [{\"type\": \"CONVERT\", \"entity\": \"CAMPAIGN\", \"text\": \"Summer savers\"},"
	" {\"type\": \"CLICK\", \"entity\": \"ALERT\", \"text\": \"AAPL\"},"
	" {\"type\": \"VIEW\", \"entity\": \"NEWS\", \"text\": null},"
	" {\"type\": \"VIEW\", \"entity\": \"NEWS\", \"text\": \"Oldest headline\"}]}";

static char *doc_of(const char *json, int max_events)
{
	cJSON *f = cJSON_Parse(json);
	char *d;

	assert_non_null(f);
	d = document_profile(f, max_events);
	cJSON_Delete(f);
	assert_non_null(d);
	return d;
}

static void test_layout(void **state)
{
	char *d = doc_of(fields_json, 50);

	(void)state;
	assert_string_equal(d,
		"job titles: Portfolio manager; Analyst\n"
		"segments: high value\n"
		"location: Hanoi\n"
		"symbols: AAPL, VNM\n"
		"events:\n"
		"convert campaign: Summer savers\n"
		"click alert: AAPL\n"
		"view news\n"
		"view news: Oldest headline\n");
	free(d);
}

static void test_same_fields_same_text(void **state)
{
	char *a = doc_of(fields_json, 50), *b = doc_of(fields_json, 50);

	(void)state;
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_limit_keeps_newest(void **state)
{
	char *d = doc_of(fields_json, 2);

	(void)state;
	assert_non_null(strstr(d, "convert campaign: Summer savers\nclick alert: AAPL\n"));
	assert_null(strstr(d, "view news"));
	assert_null(strstr(d, "Oldest headline"));
	free(d);
	d = doc_of(fields_json, 0);
	assert_null(strstr(d, "events:"));
	free(d);
}

static void test_malformed_fields(void **state)
{
	char *d;

	(void)state;
	d = doc_of("{\"job_titles\": {\"not\": \"a list\"}, \"segments\": [1, {}, \" \", \"vip\", [\"x\"]],"
		   " \"location\": 7, \"portfolio\": [\"AAPL\"], \"events\": [{}, 3]}", 50);
	assert_string_equal(d, "segments: 1; vip\nevents:\nevent entity\nevent entity\n");
	free(d);
	d = doc_of("{\"job_titles\": \"Trader\", \"segments\": [{\"name\": \"vip\"}, {\"title\": \"new\"}],"
		   " \"portfolio\": {\"positions\": {\"VIC\": 1, \"FPT\": 3}}}", 50);
	assert_string_equal(d, "job titles: Trader\nsegments: vip; new\nsymbols: FPT, VIC\n");
	free(d);
	d = doc_of("{\"portfolio\": {\"holdings\": [\"BTC\", \"ETH\", \"BTC\"]}}", 50);
	assert_string_equal(d, "symbols: BTC, ETH\n");
	free(d);
	d = doc_of("[]", 50);
	assert_string_equal(d, "");
	free(d);
}

static void test_values_stay_on_their_line(void **state)
{
	char *d;

	(void)state;
	d = doc_of("{\"job_titles\": [\"  line\\nbreak\\t\\u0001 here  \", \"Gi\\u00e1m \\u0111\\u1ed1c\"]}", 50);
	assert_string_equal(d, "job titles: line break here; Gi\xc3\xa1m \xc4\x91\xe1\xbb\x91""c\n");
	free(d);
}

static void test_news(void **state)
{
	char *d;

	(void)state;
	d = document_news("Apple up", "Shares rose\n3%.");
	assert_string_equal(d, "Apple up\n\nShares rose 3%.\n");
	free(d);
	d = document_news("Apple up", NULL);
	assert_string_equal(d, "Apple up\n");
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_same_fields_same_text),
		cmocka_unit_test(test_limit_keeps_newest),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_values_stay_on_their_line),
		cmocka_unit_test(test_news),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
