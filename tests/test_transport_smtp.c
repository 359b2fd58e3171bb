/*
 * test_transport_smtp.c — the smtp transport (transport_smtp.c).  Pure
 * first: the message text (headers, RFC 2047 subject decoded back, folding,
 * the base64 body decoded back, CRLF, the Message-ID), header injection
 * refused before any connection, the classification table.  Then over
 * curlev on a real event_base against tests/servers/smtp_receiver.py
 * (started by tests/integration/tr_smtp.sh, which passes LEO_SMTP_PORT,
 * LEO_SMTPS_PORT, LEO_PLAIN_PORT, LEO_SMTP_CA, LEO_OTHER_CA, LEO_SMTP_DIR):
 * every answer's class, code and error, all mails in flight at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curlev.h"
#include "slurp.h"
#include "transport_smtp.h"

/* ---- a small reader of what tsmtp_message wrote ---- */

static int b64val(int c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(t, c) : NULL;

	return p ? (int)(p - t) : -1;
}

/* Base64 of s[0..n) decoded, appended to out (NUL-terminated); -1 when malformed. */
static int b64dec(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = strlen(out);
	unsigned v = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int d = b64val(s[i]);

		if (s[i] == '=')
			break;
		if (d < 0)
			return -1;
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)(v >> bits & 0xff);
		}
	}
	out[o] = '\0';
	return 0;
}

/* The value of header name in msg, unfolded (CRLF before a space removed). */
static char *header(const char *msg, const char *name)
{
	static char buf[4096];
	size_t nl = strlen(name), o = 0;
	const char *p = msg;

	for (;;) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':')
			break;
		p = strstr(p, "\r\n");
		if (!p || p[2] == '\r')
			return NULL;	/* end of the header */
		p += 2;
	}
	p += nl + 1;
	while (*p == ' ')
		p++;
	while (*p && !(p[0] == '\r' && p[1] == '\n' && p[2] != ' ')) {
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (o + 1 < sizeof(buf))
			buf[o++] = *p++;
		else
			p++;
	}
	buf[o] = '\0';
	return buf;
}

/* An unfolded Subject value decoded: encoded-words (each a whole UTF-8
 * text on its own) joined, the space between two words dropped. */
static char *decode_subject(const char *v)
{
	static char out[4096];

	out[0] = '\0';
	if (strncmp(v, "=?UTF-8?B?", 10) != 0) {
		snprintf(out, sizeof(out), "%s", v);
		return out;
	}
	while (*v) {
		const char *end;

		assert_memory_equal(v, "=?UTF-8?B?", 10);
		end = strstr(v + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - v <= 75);	/* RFC 2047: an encoded-word is at most 75 */
		/* a word decodes to whole characters: no continuation byte first */
		{
			char one[128] = "";

			assert_int_equal(b64dec(v + 10, (size_t)(end - v - 10), one, sizeof(one)), 0);
			assert_true(((unsigned char)one[0] & 0xc0) != 0x80);
		}
		assert_int_equal(b64dec(v + 10, (size_t)(end - v - 10), out, sizeof(out)), 0);
		v = end + 2;
		if (*v == ' ')
			v++;
	}
	return out;
}

/* The body: base64 lines after the blank line, decoded. */
static char *decode_body(const char *msg)
{
	static char out[8192];
	const char *p = strstr(msg, "\r\n\r\n");

	assert_non_null(p);
	out[0] = '\0';
	for (p += 4; *p;) {
		const char *e = strstr(p, "\r\n");

		assert_non_null(e);
		assert_true(e - p <= 76);
		assert_int_equal(b64dec(p, (size_t)(e - p), out, sizeof(out)), 0);
		p = e + 2;
	}
	return out;
}

/* Every line ends CRLF, none passes max (78 in the header, 76 after). */
static void assert_lines(const char *msg)
{
	bool body = false;

	for (const char *p = msg; *p;) {
		const char *e = strstr(p, "\r\n");

		assert_non_null(e);
		for (const char *q = p; q < e; q++)
			assert_true(*q != '\r' && *q != '\n');
		if (e == p)
			body = true;
		assert_true(e - p <= (body ? 76 : 78));
		p = e + 2;
	}
}

/* ---- pure ---- */

static const struct tr_msg msg = {
	.tenant_id = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", .delivery_id = 42, .channel = "email",
	.to = "ok@example.test", .subject = "AAPL crossed 150", .body = "Hello,\nAAPL is at 151.\n",
	.idempotency_key = "r1:42", .rule_id = "r1", .profile_id = "P1",
	.created_at = "2026-12-07T09:00:00Z", .payload = NULL,
};

#define NOW 1796634000LL	/* Mon, 07 Dec 2026 09:00:00 UTC */

static void test_message_ascii(void **state)
{
	char *t = tsmtp_message("alerts@leo.test", &msg, NOW);

	(void)state;
	assert_non_null(t);
	assert_lines(t);
	assert_string_equal(header(t, "Date"), "Mon, 07 Dec 2026 09:00:00 +0000");
	assert_string_equal(header(t, "From"), "alerts@leo.test");
	assert_string_equal(header(t, "To"), "ok@example.test");
	assert_string_equal(header(t, "Subject"), "AAPL crossed 150");
	assert_string_equal(header(t, "Message-ID"), "<r1=3A42@leo-deliver>");
	assert_string_equal(header(t, "MIME-Version"), "1.0");
	assert_string_equal(header(t, "Content-Type"), "text/plain; charset=UTF-8");
	assert_string_equal(header(t, "Content-Transfer-Encoding"), "base64");
	assert_string_equal(decode_body(t), "Hello,\r\nAAPL is at 151.\r\n");
	free(t);
}

static void test_message_vietnamese(void **state)
{
	struct tr_msg m = msg;
	const char *subj = "Cảnh báo: VNM vượt 80.000 ₫";
	char *t;

	(void)state;
	m.subject = subj;
	m.body = "Giá VNM vừa vượt ngưỡng.\r\nLine two\rline three";
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_non_null(t);
	assert_lines(t);
	assert_memory_equal(header(t, "Subject"), "=?UTF-8?B?", 10);
	assert_string_equal(decode_subject(header(t, "Subject")), subj);
	assert_string_equal(decode_body(t), "Giá VNM vừa vượt ngưỡng.\r\nLine two\r\nline three");
	free(t);
}

static void test_long_subjects_fold(void **state)
{
	struct tr_msg m = msg;
	char vi[1024] = "", ascii[1024] = "", *t;

	(void)state;
	for (int i = 0; i < 12; i++)
		strcat(vi, "Cảnh báo giá cổ phiếu Việt Nam ");
	strcat(vi, "₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫₫");
	m.subject = vi;
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_non_null(t);
	assert_lines(t);
	assert_string_equal(decode_subject(header(t, "Subject")), vi);
	assert_true(strstr(t, "?=\r\n =?UTF-8?B?") != NULL);	/* several words, folded */
	free(t);

	for (int i = 0; i < 20; i++)
		strcat(ascii, "AAPL crossed 150 ");
	strcat(ascii, "end");
	m.subject = ascii;
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_non_null(t);
	assert_lines(t);
	assert_string_equal(header(t, "Subject"), ascii);	/* folded at spaces, plain */
	assert_null(strstr(t, "=?UTF-8"));
	free(t);

	/* a word too long to fold, and text that reads as an encoded-word: encoded */
	memset(ascii, 'x', 200);
	ascii[200] = '\0';
	m.subject = ascii;
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_lines(t);
	assert_string_equal(decode_subject(header(t, "Subject")), ascii);
	free(t);
	memset(ascii, ' ', 200);
	ascii[0] = 'a';
	ascii[199] = 'b';
	m.subject = ascii;	/* a run of spaces cannot be folded: encoded */
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_lines(t);
	assert_string_equal(decode_subject(header(t, "Subject")), ascii);
	free(t);
	m.subject = "=?UTF-8?B?aGk=?=";
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_string_equal(decode_subject(header(t, "Subject")), "=?UTF-8?B?aGk=?=");
	assert_string_not_equal(header(t, "Subject"), "=?UTF-8?B?aGk=?=");
	free(t);
}

static void test_body_long_lines(void **state)
{
	struct tr_msg m = msg;
	char body[3000], *t;

	(void)state;
	memset(body, 'a', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	body[1000] = '\n';
	m.body = body;
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_lines(t);
	body[1000] = '\0';
	assert_memory_equal(decode_body(t), body, 1000);
	assert_memory_equal(decode_body(t) + 1000, "\r\naaa", 5);
	assert_int_equal(strlen(decode_body(t)), sizeof(body));	/* one LF became CRLF */
	free(t);
	m.body = "";
	t = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_string_equal(decode_body(t), "");
	free(t);
}

static void test_message_id(void **state)
{
	struct tr_msg m = msg;
	char *a, *b, id[256];

	(void)state;
	a = tsmtp_message("alerts@leo.test", &m, NOW);
	b = tsmtp_message("alerts@leo.test", &m, NOW + 3600);	/* a resend, later */
	snprintf(id, sizeof(id), "%s", header(a, "Message-ID"));
	assert_string_equal(header(b, "Message-ID"), id);
	assert_string_equal(header(b, "Date"), "Mon, 07 Dec 2026 10:00:00 +0000");
	free(a);
	free(b);
	m.idempotency_key = "r1_42";	/* not the same id as r1:42 */
	a = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_string_equal(header(a, "Message-ID"), "<r1_42@leo-deliver>");
	free(a);
	m.idempotency_key = ".a..b <c>@d=e.";
	a = tsmtp_message("alerts@leo.test", &m, NOW);
	assert_string_equal(header(a, "Message-ID"), "<=2Ea.=2Eb=20=3Cc=3E=40d=3De=2E@leo-deliver>");
	free(a);
}

static void test_injection_refused(void **state)
{
	struct tr_msg m = msg;

	(void)state;
	m.subject = "hi\r\nBcc: victim@example.test";
	assert_null(tsmtp_message("alerts@leo.test", &m, NOW));
	m.subject = "hi\nBcc: victim@example.test";
	assert_null(tsmtp_message("alerts@leo.test", &m, NOW));
	m.subject = "ok";
	m.to = "ok@example.test\r\nBcc: victim@example.test";
	assert_null(tsmtp_message("alerts@leo.test", &m, NOW));
	m.to = "ok@example.test";
	assert_null(tsmtp_message("alerts@leo.test\r\nBcc: x@y", &m, NOW));
	assert_non_null(m.subject);
}

struct outcome {
	const char *to;
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
	if (--pending == 0 && base)
		event_base_loopbreak(base);
}

/* Refused at once, before any connection: done ran inside tsmtp_send. */
static void test_send_refuses_before_connecting(void **state)
{
	const char *bad[][2] = {
		{ "ok@example.test", "x\r\nBcc: victim@example.test" },
		{ "ok@example.test\nBcc: victim@example.test", "x" },
		{ "ok@example.test> NOTIFY=NEVER", "x" },
		{ "", "x" },
		{ NULL, NULL },		/* too long, below */
	};
	struct event_base *b = event_base_new();
	struct curlev *cv = curlev_new(b);
	struct tsmtp_cfg c = { "smtp://127.0.0.1:1", false, NULL, NULL, "alerts@leo.test", NULL, 1000 };
	struct tsmtp *s = tsmtp_new(&c, cv);
	char longest[300];

	(void)state;
	assert_non_null(s);
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memcpy(longest + sizeof(longest) - 14, "@example.test", 13);	/* 299: cut, it would go elsewhere */
	bad[4][0] = longest;
	bad[4][1] = "x";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct outcome o = { 0 };
		struct tr_msg m = msg;

		m.to = bad[i][0];
		m.subject = bad[i][1];
		pending = 1;
		tsmtp_send(s, &m, on_done, &o);
		assert_true(o.done);
		assert_int_equal(o.res.cls, TR_FAIL);
		assert_int_equal(o.res.status, 0);
		assert_true(o.res.error[0] != '\0');
		assert_int_equal(curlev_inflight(cv), 0);
	}
	curlev_free(cv);
	tsmtp_free(s);
	event_base_free(b);
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(tsmtp_classify(CURLE_OK, 250), TR_OK);
	assert_int_equal(tsmtp_classify(CURLE_OK, 0), TR_OK);
	assert_int_equal(tsmtp_classify(CURLE_SEND_ERROR, 450), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_SEND_ERROR, 451), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_WEIRD_SERVER_REPLY, 452), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_SEND_ERROR, 550), TR_FAIL);
	assert_int_equal(tsmtp_classify(CURLE_LOGIN_DENIED, 535), TR_FAIL);
	assert_int_equal(tsmtp_classify(CURLE_LOGIN_DENIED, 0), TR_FAIL);
	assert_int_equal(tsmtp_classify(CURLE_SEND_ERROR, 530), TR_FAIL);
	assert_int_equal(tsmtp_classify(CURLE_COULDNT_CONNECT, 0), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_COULDNT_RESOLVE_HOST, 0), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_OPERATION_TIMEDOUT, 250), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_RECV_ERROR, 250), TR_RETRY);	/* dropped after RCPT */
	assert_int_equal(tsmtp_classify(CURLE_SEND_ERROR, 0), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_SSL_CONNECT_ERROR, 220), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_PEER_FAILED_VERIFICATION, 220), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_USE_SSL_FAILED, 250), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_ABORTED_BY_CALLBACK, 0), TR_RETRY);
	assert_int_equal(tsmtp_classify(CURLE_URL_MALFORMAT, 0), TR_FAIL);
	assert_int_equal(tsmtp_classify(CURLE_UNSUPPORTED_PROTOCOL, 0), TR_FAIL);
	assert_int_equal(tsmtp_classify(CURLE_WEIRD_SERVER_REPLY, 0), TR_FAIL);
}

/* ---- against the receiver ---- */

enum server { STARTTLS, SMTPS, PLAIN, CLOSED };

struct live {
	const char *to;
	enum server server;
	bool starttls;
	const char *user, *password;
	bool other_ca;
	int timeout_ms;
};

static const char vi_subject[] = "Cảnh báo giá: VNM vượt ngưỡng 80.000 ₫ — "
				 "Công ty Cổ phần Sữa Việt Nam, phiên chiều thứ Hai";
static const char vi_body[] = "Xin chào,\nVNM vừa vượt 80.000 ₫.\r\n.\n..dòng bắt đầu bằng dấu chấm\n";

static struct tsmtp *live_channel(struct curlev *cv, const struct live *l)
{
	static const char *const scheme[] = { "smtp", "smtps", "smtp", "smtp" };
	const char *port[] = { getenv("LEO_SMTP_PORT"), getenv("LEO_SMTPS_PORT"),
			       getenv("LEO_PLAIN_PORT"), "1" };
	char url[128];
	struct tsmtp_cfg c = { url, l->starttls, l->user, l->password, "alerts@leo.test",
			       getenv(l->other_ca ? "LEO_OTHER_CA" : "LEO_SMTP_CA"), l->timeout_ms };

	snprintf(url, sizeof(url), "%s://127.0.0.1:%s", scheme[l->server], port[l->server]);
	return tsmtp_new(&c, cv);
}

/* The mail the receiver wrote for rcpt; NULL when none came. */
static char *received(const char *rcpt)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.eml", getenv("LEO_SMTP_DIR"), rcpt);
	return slurp(path);
}

static void test_against_receiver(void **state)
{
	static const struct live l[] = {
		{ "ok@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 },
		{ "smtps@example.test", SMTPS, false, "leo", "s3cret", false, 5000 },
		{ "plain@example.test", PLAIN, false, NULL, NULL, false, 5000 },
		{ "plainreq@example.test", PLAIN, true, NULL, NULL, false, 5000 },
		{ "badpass@example.test", STARTTLS, true, "leo", "wrong", false, 5000 },
		{ "noauth@example.test", STARTTLS, true, NULL, NULL, false, 5000 },
		{ "tempfail@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 },
		{ "busy@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 },
		{ "reject@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 },
		{ "datafail@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 },
		{ "hang@example.test", STARTTLS, true, "leo", "s3cret", false, 1500 },
		{ "slam@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 },
		{ "otherca@example.test", STARTTLS, true, "leo", "s3cret", true, 5000 },
		{ "closed@example.test", CLOSED, false, NULL, NULL, false, 5000 },
		{ "huge@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 },
	};
	enum { N = sizeof(l) / sizeof(l[0]), MANY = 5 };
	static const char *const many[MANY] = { "many1@example.test", "many2@example.test",
						"many3@example.test", "many4@example.test",
						"many5@example.test" };
	struct outcome o[N + MANY] = { 0 };
	struct tr_msg m[N + MANY];
	struct tsmtp *h[N];
	struct curlev *cv;
	char *got, *want;

	(void)state;
	if (!getenv("LEO_SMTP_PORT"))
		skip();
	base = event_base_new();
	cv = curlev_new(base);
	assert_non_null(cv);
	for (int i = 0; i < N + MANY; i++) {
		m[i] = msg;
		m[i].to = i < N ? l[i].to : many[i - N];
		m[i].subject = "plain ASCII subject";
		if (i < N)
			assert_non_null(h[i] = live_channel(cv, &l[i]));
	}
	m[0].subject = vi_subject;
	m[0].body = vi_body;
	pending = N + MANY;
	for (int i = 0; i < N + MANY; i++)
		tsmtp_send(i < N ? h[i] : h[0], &m[i], on_done, &o[i]);
	assert_int_equal(curlev_inflight(cv), N + MANY);	/* all at once, on one thread */
	event_base_dispatch(base);
	assert_int_equal(pending, 0);

	for (int i = 0; i < N + MANY; i++)
		printf("# %-24s cls %d status %ld error \"%s\" response \"%.60s\"\n", m[i].to,
		       o[i].res.cls, o[i].res.status, o[i].res.error, o[i].res.response);
	assert_int_equal(o[0].res.cls, TR_OK);
	assert_int_equal(o[0].res.status, 250);
	assert_string_equal(o[0].res.error, "");
	assert_non_null(strstr(o[0].res.response, "250 2.0.0 queued as ok@example.test"));
	assert_int_equal(o[1].res.cls, TR_OK);		/* smtps: implicit TLS */
	assert_int_equal(o[2].res.cls, TR_OK);		/* no TLS, as configured */
	assert_int_equal(o[3].res.cls, TR_RETRY);	/* TLS required, none offered */
	assert_non_null(strstr(o[3].res.error, "STARTTLS"));
	assert_int_equal(o[3].res.status, 0);
	assert_int_equal(o[4].res.cls, TR_FAIL);	/* wrong password */
	assert_int_equal(o[4].res.status, 535);
	assert_int_equal(o[5].res.cls, TR_FAIL);	/* no login where one is required */
	assert_int_equal(o[5].res.status, 530);
	assert_int_equal(o[6].res.cls, TR_RETRY);
	assert_int_equal(o[6].res.status, 451);
	assert_string_equal(o[6].res.error, "smtp 451: 4.3.0 try again later");
	assert_int_equal(o[7].res.cls, TR_RETRY);
	assert_int_equal(o[7].res.status, 450);
	assert_int_equal(o[8].res.cls, TR_FAIL);
	assert_int_equal(o[8].res.status, 550);
	assert_string_equal(o[8].res.error, "smtp 550: 5.1.1 no such user here");
	assert_int_equal(o[9].res.cls, TR_RETRY);	/* 452 after the data */
	assert_int_equal(o[9].res.status, 452);
	assert_int_equal(o[10].res.cls, TR_RETRY);	/* hang: timeout */
	assert_non_null(strstr(o[10].res.error, "imeout"));
	assert_int_equal(o[10].res.status, 0);		/* MAIL's 250 answers nothing */
	assert_string_equal(o[10].res.response, "250 OK\r\n");	/* where it stopped */
	assert_int_equal(o[11].res.cls, TR_RETRY);	/* slam */
	assert_true(o[11].res.error[0] != '\0');
	assert_int_equal(o[11].res.status, 0);
	assert_int_equal(o[12].res.cls, TR_RETRY);	/* not our CA */
	assert_true(o[12].res.error[0] != '\0');
	assert_int_equal(o[12].res.status, 0);
	assert_int_equal(o[13].res.cls, TR_RETRY);	/* nothing listens */
	assert_int_equal(o[13].res.status, 0);
	assert_int_equal(o[14].res.cls, TR_FAIL);	/* a 140 KB reply, kept bounded */
	assert_int_equal(o[14].res.status, 550);
	assert_int_equal(o[14].res.response_len, TR_RESPONSE_MAX);
	assert_memory_equal(o[14].res.error, "smtp 550: xxx", 13);
	for (int i = N; i < N + MANY; i++)
		assert_int_equal(o[i].res.cls, TR_OK);

	/* what arrived is the text built, byte for byte after the Date */
	got = received("ok@example.test");
	assert_non_null(got);
	want = tsmtp_message("alerts@leo.test", &m[0], NOW);
	assert_string_equal(strstr(got, "\r\nFrom: "), strstr(want, "\r\nFrom: "));
	free(want);
	free(got);
	for (int i = N; i < N + MANY; i++) {
		got = received(many[i - N]);
		assert_non_null(got);
		free(got);
	}
	for (int i = 3; i < N; i++)
		assert_null(received(l[i].to));	/* nothing failed arrived anyway */

	curlev_free(cv);
	for (int i = 0; i < N; i++)
		tsmtp_free(h[i]);
	event_base_free(base);
	base = NULL;
}

/* Mails in flight when curlev_free comes end through their callbacks. */
static void test_free_in_flight(void **state)
{
	static const struct live l = { "hang@example.test", STARTTLS, true, "leo", "s3cret", false, 5000 };
	struct outcome o = { 0 };
	struct tr_msg m = msg;
	struct curlev *cv;
	struct tsmtp *h;

	(void)state;
	if (!getenv("LEO_SMTP_PORT"))
		skip();
	base = event_base_new();
	cv = curlev_new(base);
	h = live_channel(cv, &l);
	m.to = l.to;
	pending = 1;
	tsmtp_send(h, &m, on_done, &o);
	for (int i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	assert_false(o.done);
	curlev_free(cv);
	assert_true(o.done);
	assert_int_equal(o.res.cls, TR_RETRY);
	tsmtp_free(h);
	event_base_free(base);
	base = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_ascii),
		cmocka_unit_test(test_message_vietnamese),
		cmocka_unit_test(test_long_subjects_fold),
		cmocka_unit_test(test_body_long_lines),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_injection_refused),
		cmocka_unit_test(test_send_refuses_before_connecting),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_against_receiver),
		cmocka_unit_test(test_free_in_flight),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
