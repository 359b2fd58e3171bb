/*
 * test_transport_http.c — the http transport (transport_http.c) over curlev
 * on a real event_base, against tests/servers/https_receiver.py (started by
 * tests/integration/tr_http.sh, which passes LEO_RECV_URL, LEO_RECV_CA,
 * LEO_OTHER_CA, LEO_RECV_LOG).  Every answer's class, status, Retry-After
 * and kept response; all requests in flight at once; a certificate of
 * another CA refused; what arrived (document, form, Idempotency-Key, a
 * signature sign_verify accepts).  The pure classification first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curlev.h"
#include "sign.h"
#include "transport_http.h"

struct outcome {
	const char *path;
	bool done;
	struct tr_result res;
};

static int pending;
static struct event_base *base;

static void on_done(const struct tr_result *res, void *arg)
{
	struct outcome *o = arg;

	assert_false(o->done);
	o->done = true;
	o->res = *res;
	if (--pending == 0)
		event_base_loopbreak(base);
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(thttp_classify(CURLE_OK, 200), TR_OK);
	assert_int_equal(thttp_classify(CURLE_OK, 204), TR_OK);
	assert_int_equal(thttp_classify(CURLE_OK, 400), TR_FAIL);
	assert_int_equal(thttp_classify(CURLE_OK, 404), TR_FAIL);
	assert_int_equal(thttp_classify(CURLE_OK, 408), TR_RETRY);
	assert_int_equal(thttp_classify(CURLE_OK, 425), TR_RETRY);
	assert_int_equal(thttp_classify(CURLE_OK, 429), TR_RETRY);
	assert_int_equal(thttp_classify(CURLE_OK, 503), TR_RETRY);
	assert_int_equal(thttp_classify(CURLE_OK, 302), TR_FAIL);
	assert_int_equal(thttp_classify(CURLE_COULDNT_CONNECT, 0), TR_RETRY);
	assert_int_equal(thttp_classify(CURLE_OPERATION_TIMEDOUT, 0), TR_RETRY);
	assert_int_equal(thttp_classify(CURLE_PEER_FAILED_VERIFICATION, 0), TR_RETRY);
	assert_int_equal(thttp_classify(CURLE_TOO_MANY_REDIRECTS, 302), TR_FAIL);
	assert_int_equal(thttp_classify(CURLE_URL_MALFORMAT, 0), TR_FAIL);
	assert_int_equal(thttp_retry_after("2", 0), 2);
	assert_int_equal(thttp_retry_after(" 120\r\n", 0), 120);
	assert_int_equal(thttp_retry_after("soon", 0), -1);
	assert_int_equal(thttp_retry_after("-5", 0), -1);
	assert_int_equal(thttp_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30), 30);
	assert_int_equal(thttp_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30), 0);
}

static const struct tr_msg msg = {
	.tenant_id = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", .delivery_id = 7, .channel = "web_push",
	.to = "webpush:1", .subject = NULL, .body = "AAPL crossed 150 & more", .idempotency_key = "r1:7",
	.rule_id = "r1", .profile_id = "P1", .created_at = "2026-12-07T09:00:00Z", .payload = NULL,
};

static struct thttp *channel(struct curlev *cv, const char *path, enum thttp_body body,
			     const char *ca, int timeout_ms)
{
	static const char *const headers[] = { "X-Api-Version: 2", NULL };
	char url[256];
	struct thttp_cfg c = { url, "POST", headers, body, "sekrit", ca, timeout_ms };

	snprintf(url, sizeof(url), "%s%s", getenv("LEO_RECV_URL"), path);
	return thttp_new(&c, cv);
}

/* The request the receiver logged for path, parsed; NULL when none. */
static cJSON *logged(const char *path)
{
	FILE *f = fopen(getenv("LEO_RECV_LOG"), "r");
	char *line = NULL;
	size_t cap = 0;
	cJSON *found = NULL;

	assert_non_null(f);
	while (!found && getline(&line, &cap, f) > 0) {
		cJSON *o = cJSON_Parse(line);

		if (o && strcmp(cJSON_GetObjectItem(o, "path")->valuestring, path) == 0)
			found = o;
		else
			cJSON_Delete(o);
	}
	free(line);
	fclose(f);
	return found;
}

static void test_against_receiver(void **state)
{
	struct outcome o[] = {
		{ "/200", false, { 0 } }, { "/201", false, { 0 } }, { "/400", false, { 0 } }, { "/429", false, { 0 } }, { "/500", false, { 0 } }, { "/hang", false, { 0 } },
		{ "/slam", false, { 0 } }, { "/big", false, { 0 } }, { "/loop", false, { 0 } }, { "/404", false, { 0 } }, { "/form", false, { 0 } }, { "/other-ca", false, { 0 } },
	};
	enum { N = sizeof(o) / sizeof(o[0]) };
	struct thttp *h[N];
	struct curlev *cv;
	const char *ca = getenv("LEO_RECV_CA");
	cJSON *req, *hdrs, *doc;
	const char *sig, *body;

	(void)state;
	if (!getenv("LEO_RECV_URL"))
		skip();
	base = event_base_new();
	cv = curlev_new(base);
	assert_non_null(cv);
	for (int i = 0; i < N; i++) {
		const char *path = o[i].path;

		if (strcmp(path, "/form") == 0)
			h[i] = channel(cv, "/slow?ms=1", THTTP_FORM, ca, 3000);
		else if (strcmp(path, "/other-ca") == 0)
			h[i] = channel(cv, "/200", THTTP_JSON, getenv("LEO_OTHER_CA"), 3000);
		else
			h[i] = channel(cv, path, THTTP_JSON, ca, strcmp(path, "/hang") == 0 ? 1500 : 5000);
		assert_non_null(h[i]);
	}
	pending = N;
	for (int i = 0; i < N; i++)
		thttp_send(h[i], &msg, on_done, &o[i]);
	assert_int_equal(curlev_inflight(cv), N);	/* all at once, on one thread */
	event_base_dispatch(base);
	assert_int_equal(pending, 0);

	assert_int_equal(o[0].res.cls, TR_OK);
	assert_int_equal(o[0].res.status, 200);
	assert_string_equal(o[0].res.response, "answer 200");
	assert_int_equal(o[1].res.cls, TR_OK);
	assert_int_equal(o[2].res.cls, TR_FAIL);
	assert_int_equal(o[2].res.status, 400);
	assert_string_equal(o[2].res.error, "HTTP 400");
	assert_int_equal(o[3].res.cls, TR_RETRY);
	assert_int_equal(o[3].res.retry_after_s, 2);
	assert_int_equal(o[4].res.cls, TR_RETRY);
	assert_int_equal(o[4].res.status, 500);
	assert_int_equal(o[5].res.cls, TR_RETRY);	/* hang: timeout */
	assert_non_null(strstr(o[5].res.error, "imeout"));
	assert_int_equal(o[6].res.cls, TR_RETRY);	/* slam */
	assert_int_equal(o[7].res.cls, TR_OK);		/* big: status 200, reading stopped */
	assert_int_equal(o[7].res.response_len, TR_RESPONSE_MAX);
	assert_int_equal(o[8].res.cls, TR_FAIL);	/* redirect loop */
	assert_non_null(strstr(o[8].res.error, "redirects"));
	assert_int_equal(o[9].res.cls, TR_FAIL);
	assert_int_equal(o[9].res.status, 404);
	assert_int_equal(o[10].res.cls, TR_OK);
	assert_int_equal(o[11].res.cls, TR_RETRY);	/* not our CA */
	assert_int_equal(o[11].res.status, 0);
	assert_true(o[11].res.error[0] != '\0');

	/* what arrived: the document, its key, the signature */
	req = logged("/200");
	assert_non_null(req);
	hdrs = cJSON_GetObjectItem(req, "headers");
	body = cJSON_GetObjectItem(req, "body")->valuestring;
	assert_string_equal(cJSON_GetObjectItem(hdrs, "Idempotency-Key")->valuestring, "r1:7");
	assert_string_equal(cJSON_GetObjectItem(hdrs, "Content-Type")->valuestring, "application/json");
	assert_string_equal(cJSON_GetObjectItem(hdrs, "X-Api-Version")->valuestring, "2");
	sig = cJSON_GetObjectItem(hdrs, "X-Leo-Signature")->valuestring;
	assert_true(sign_verify("sekrit", sig, body, strlen(body), (long long)time(NULL), 300));
	assert_false(sign_verify("wrong", sig, body, strlen(body), (long long)time(NULL), 300));
	doc = cJSON_Parse(body);
	assert_non_null(doc);
	assert_int_equal(cJSON_GetObjectItem(doc, "delivery_id")->valuedouble, 7);
	assert_string_equal(cJSON_GetObjectItem(doc, "body")->valuestring, "AAPL crossed 150 & more");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "subject")));
	cJSON_Delete(doc);
	cJSON_Delete(req);
	req = logged("/slow");	/* the form channel's */
	assert_non_null(req);
	body = cJSON_GetObjectItem(req, "body")->valuestring;
	assert_non_null(strstr(body, "delivery_id=7&"));
	assert_non_null(strstr(body, "&body=AAPL%20crossed%20150%20%26%20more"));
	assert_null(strstr(body, "subject="));	/* null fields are left out */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "headers"), "Content-Type")->valuestring,
			    "application/x-www-form-urlencoded");
	cJSON_Delete(req);

	curlev_free(cv);
	for (int i = 0; i < N; i++)
		thttp_free(h[i]);
	event_base_free(base);
}

/* Transfers in flight when curlev_free comes end through their callbacks. */
static void test_free_in_flight(void **state)
{
	struct outcome o = { "/hang", false, { 0 } };
	struct curlev *cv;
	struct thttp *h;

	(void)state;
	if (!getenv("LEO_RECV_URL"))
		skip();
	base = event_base_new();
	cv = curlev_new(base);
	h = channel(cv, "/hang", THTTP_JSON, getenv("LEO_RECV_CA"), 5000);
	pending = 1;
	thttp_send(h, &msg, on_done, &o);
	event_base_loop(base, EVLOOP_NONBLOCK);
	curlev_free(cv);
	assert_true(o.done);
	assert_int_equal(o.res.cls, TR_RETRY);
	thttp_free(h);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_against_receiver),
		cmocka_unit_test(test_free_in_flight),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
