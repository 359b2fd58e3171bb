/*
 * transport_smtp.c — a message as one mail (SPEC section 7).  Loop thread:
 * mails go out on curlev, the program's libcurl multi.
 *
 * The mail: the message text is built here (tsmtp_message, pure) and
 * uploaded as it is: Date, From, To, Subject (plain when it is short
 * printable ASCII, else RFC 2047 "=?UTF-8?B?...?=" words of whole
 * characters, each at most 75 characters, folded so no line passes 78),
 * Message-ID <KEY@leo-deliver> with the idempotency key made a dot-atom
 * (so a resend after a crash carries the same id), MIME-Version, UTF-8
 * text/plain, and the body with CRLF line ends in base64 lines of 76.
 * A CR or LF in a header value, or an address with a space or angle
 * bracket (it would add an SMTP parameter), fails the message before any
 * connection: no value ever becomes a header or a command of its own.
 *
 * The session: one envelope recipient (m->to), STARTTLS required on
 * smtp:// unless configured off (the config allows that on loopback only),
 * implicit TLS on smtps://, the peer always verified, AUTH when a username
 * is set, smtp(s) only, no proxy from the environment.  The server's last
 * reply (CURLOPT_DEBUGFUNCTION, replies only: what we send, credentials
 * included, is never looked at) is kept as the response, bounded by
 * TR_RESPONSE_MAX.
 */
#include "transport_smtp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curlev.h"

/* Bytes of UTF-8 per encoded-word: 42 -> 56 base64 characters, so the
 * first "Subject: =?UTF-8?B?...?=" is 77; later lines " =?...?=" 74. */
#define TSMTP_WORD_BYTES 42
/* Longest plain ASCII subject word that may stay unencoded. */
#define TSMTP_PLAIN_WORD 60
#define TSMTP_LINE 78
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets. */
#define TSMTP_ADDRESS_MAX 254

struct tsmtp {
	struct curlev *cv;
	char *url, *username, *password, *from, *ca_file;
	bool starttls;
	int timeout_ms;
};

struct tsmtp_req {
	CURL *easy;
	struct curl_slist *rcpt;
	char *text;			/* the message, uploaded from off */
	size_t len, off;
	bool reply_open;		/* the kept reply has more lines coming ("250-") */
	bool quit;			/* QUIT went out: replies no longer kept */
	tr_done_fn *done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct tr_result res;
};

/* ---- the message ---- */

static const char tsmtp_b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void tsmtp_b64(FILE *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fputc(tsmtp_b64chars[v >> 18 & 63], f);
		fputc(tsmtp_b64chars[v >> 12 & 63], f);
		fputc(i + 1 < n ? tsmtp_b64chars[v >> 6 & 63] : '=', f);
		fputc(i + 2 < n ? tsmtp_b64chars[v & 63] : '=', f);
	}
}

static bool tsmtp_has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* Whether s can stand in the Subject as it is: printable ASCII, nothing
 * that reads as an encoded-word, no word too long to fold, single spaces
 * and none at either end (a folded line must be short and not blank). */
static bool tsmtp_plain(const char *s)
{
	size_t word = 0, n = strlen(s);

	if (n && (s[0] == ' ' || s[n - 1] == ' '))
		return false;
	if (strstr(s, "=?") || strstr(s, "  "))
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c > 0x7e)
			return false;
		word = *p == ' ' ? 0 : word + 1;
		if (word > TSMTP_PLAIN_WORD)
			return false;
	}
	return true;
}

/* "Subject: s", folded at spaces before a line would pass TSMTP_LINE. */
static void tsmtp_subject_plain(FILE *f, const char *s)
{
	size_t col = strlen("Subject: ");

	fputs("Subject: ", f);
	while (*s) {
		/* a token: its leading spaces and the word after them */
		size_t sp = strspn(s, " "), w = strcspn(s + sp, " ");

		if (col > strlen("Subject: ") && sp && col + sp + w > TSMTP_LINE) {
			fputs("\r\n", f);
			col = 0;
		}
		fwrite(s, 1, sp + w, f);
		col += sp + w;
		s += sp + w;
	}
	fputs("\r\n", f);
}

/* "Subject: " and encoded-words of at most TSMTP_WORD_BYTES bytes each,
 * never splitting a UTF-8 sequence, one per line. */
static void tsmtp_subject_encoded(FILE *f, const char *s)
{
	size_t n = strlen(s);

	fputs("Subject:", f);
	while (n) {
		size_t take = n < TSMTP_WORD_BYTES ? n : TSMTP_WORD_BYTES;

		/* end before a character's continuation bytes (at most 3: past
		 * that it is not UTF-8 and any cut will do) */
		for (size_t back = 0; take < n && back < 3 && take > 1 &&
				      ((unsigned char)s[take] & 0xc0) == 0x80; back++)
			take--;
		fputs(" =?UTF-8?B?", f);
		tsmtp_b64(f, (const unsigned char *)s, take);
		fputs("?=\r\n", f);
		s += take;
		n -= take;
	}
}

/* <key@leo-deliver> with key a dot-atom: atext stays, '=' and every other
 * byte become =XX, as does a dot that would start, end or double one.
 * Different keys give different ids. */
static void tsmtp_message_id(FILE *f, const char *key)
{
	static const char atext[] = "!#$%&'*+-/?^_`{|}~";
	size_t n = strlen(key);

	fputs("Message-ID: <", f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || (c && strchr(atext, c));

		if (c == '.')
			keep = i > 0 && i + 1 < n && key[i - 1] != '.';
		if (keep)
			fputc(c, f);
		else
			fprintf(f, "=%02X", c);
	}
	if (!n)
		fputc('=', f);
	fputs("@leo-deliver>\r\n", f);
}

static void tsmtp_date(FILE *f, long long now)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)now;
	struct tm tm;

	gmtime_r(&t, &tm);
	fprintf(f, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", wd[tm.tm_wday], tm.tm_mday,
		mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The body with every line end CRLF, then base64 in lines of 76. */
static int tsmtp_body(FILE *f, const char *body)
{
	size_t n = strlen(body), len = 0;
	unsigned char *crlf = malloc(2 * n + 1);

	if (!crlf)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (body[i] == '\r' || body[i] == '\n') {
			crlf[len++] = '\r';
			crlf[len++] = '\n';
			if (body[i] == '\r' && body[i + 1] == '\n')
				i++;
		} else {
			crlf[len++] = (unsigned char)body[i];
		}
	}
	for (size_t i = 0; i < len; i += 57) {
		tsmtp_b64(f, crlf + i, len - i < 57 ? len - i : 57);
		fputs("\r\n", f);
	}
	free(crlf);
	return 0;
}

char *tsmtp_message(const char *from, const struct tr_msg *m, long long now)
{
	const char *subject = m->subject ? m->subject : "";
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int bad;

	if (tsmtp_has_crlf(from) || tsmtp_has_crlf(m->to) || tsmtp_has_crlf(subject))
		return NULL;
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	tsmtp_date(f, now);
	fprintf(f, "From: %s\r\nTo: %s\r\n", from, m->to);
	if (*subject && tsmtp_plain(subject))
		tsmtp_subject_plain(f, subject);
	else if (*subject)
		tsmtp_subject_encoded(f, subject);
	tsmtp_message_id(f, m->idempotency_key ? m->idempotency_key : "");
	fputs("Auto-Submitted: auto-generated\r\n"
	      "MIME-Version: 1.0\r\n"
	      "Content-Type: text/plain; charset=UTF-8\r\n"
	      "Content-Transfer-Encoding: base64\r\n"
	      "\r\n", f);
	bad = tsmtp_body(f, m->body ? m->body : "");
	bad |= ferror(f);
	if (fclose(f) || bad) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- the classification ---- */

enum tr_class tsmtp_classify(int curl_code, long smtp_code)
{
	if (curl_code == CURLE_OK)
		return smtp_code >= 400 ? (smtp_code < 500 ? TR_RETRY : TR_FAIL) : TR_OK;
	/* the server said no: its code decides (a 2xx here is an earlier step's) */
	if (smtp_code >= 400 && smtp_code < 500)
		return TR_RETRY;
	if (smtp_code >= 500 && smtp_code < 600)
		return TR_FAIL;
	switch (curl_code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:	/* no STARTTLS offered: the server's state */
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_ABORTED_BY_CALLBACK:	/* curlev_free: the program is stopping */
		return TR_RETRY;
	default:
		return TR_FAIL;	/* login denied, a malformed URL, a weird server, ... */
	}
}

/* ---- the session ---- */

static size_t tsmtp_on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct tsmtp_req *r = arg;
	size_t room = size * n, left = r->len - r->off;

	if (room > left)
		room = left;
	memcpy(buf, r->text + r->off, room);
	r->off += room;
	return room;
}

/* The server's replies, one line a call: the last reply before QUIT is
 * kept, all its lines ("250-..." continue, "250 ..." ends), bounded.  Of
 * what we send only "QUIT" is looked for (libcurl says it after a failure,
 * before the transfer ends, and its "221 Bye" answers nothing). */
static int tsmtp_on_debug(CURL *e, curl_infotype type, char *p, size_t len, void *arg)
{
	struct tsmtp_req *r = arg;
	size_t keep;

	(void)e;
	if (type == CURLINFO_HEADER_OUT && len >= 4 && strncmp(p, "QUIT", 4) == 0)
		r->quit = true;
	if (type != CURLINFO_HEADER_IN || r->quit)
		return 0;
	if (!r->reply_open)
		r->res.response_len = 0;
	r->reply_open = len > 3 && p[3] == '-';
	keep = TR_RESPONSE_MAX - r->res.response_len;
	if (keep > len)
		keep = len;
	memcpy(r->res.response + r->res.response_len, p, keep);
	r->res.response_len += keep;
	r->res.response[r->res.response_len] = '\0';
	return 0;
}

static void tsmtp_req_free(struct tsmtp_req *r)
{
	curl_slist_free_all(r->rcpt);
	free(r->text);
	free(r);
}

/* The kept reply's last line without its code and line end, for the
 * error text. */
static void tsmtp_last_line(const struct tsmtp_req *r, char *out, size_t cap)
{
	const char *s = r->res.response, *end = s + r->res.response_len;
	const char *line = s;

	while (end > s && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	for (const char *p = s; p < end; p++)
		if (*p == '\n')
			line = p + 1;
	if (end - line >= 4 && strspn(line, "0123456789") == 3 && (line[3] == ' ' || line[3] == '-'))
		line += 4;
	snprintf(out, cap, "%.*s", (int)(end - line), line);
}

/* curlev's callback: the session ended; its result to the caller. */
static void tsmtp_on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct tsmtp_req *r = arg;
	const char *errbuf = r->errbuf;
	long code = 0;
	char last[200];

	(void)easy;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	r->res.cls = tsmtp_classify(rc, code);
	/* an earlier step's 2xx or 3xx (the greeting, MAIL) answers nothing:
	 * the session broke after it; the reply stays in response */
	r->res.status = rc != CURLE_OK && code < 400 ? 0 : code;
	tsmtp_last_line(r, last, sizeof(last));
	if (r->res.cls == TR_OK)
		r->res.error[0] = '\0';
	else if (code >= 400 && *last)
		snprintf(r->res.error, sizeof(r->res.error), "smtp %ld: %s", code, last);
	else
		snprintf(r->res.error, sizeof(r->res.error), "%s%s%.200s", curl_easy_strerror(rc),
			 *errbuf ? ": " : "", errbuf);
	r->done(&r->res, r->arg);
	curl_easy_cleanup(r->easy);
	tsmtp_req_free(r);
}

/* Why address a cannot go into the envelope or a header, or NULL. */
static const char *tsmtp_bad_address(const char *a)
{
	if (!a || !*a)
		return "is empty";
	if (strlen(a) > TSMTP_ADDRESS_MAX)
		return "is longer than RFC 5321 allows";
	for (const char *p = a; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\r' || c == '\n')
			return "holds a CR or LF (header injection refused)";
		if (c < 0x20 || c == 0x7f || c == ' ' || c == '<' || c == '>')
			return "holds a space, control character or angle bracket";
	}
	return NULL;
}

/* Why m cannot be sent at all, written into res->error; 0 when it can. */
static int tsmtp_refuse(const struct tsmtp *s, const struct tr_msg *m, struct tr_result *res)
{
	const char *why;

	if ((why = tsmtp_bad_address(m->to)))
		snprintf(res->error, sizeof(res->error), "recipient address %s", why);
	else if ((why = tsmtp_bad_address(s->from)))
		snprintf(res->error, sizeof(res->error), "from address %s", why);
	else if (tsmtp_has_crlf(m->subject))
		snprintf(res->error, sizeof(res->error),
			 "subject holds a CR or LF (header injection refused)");
	else
		return 0;
	return -1;
}

void tsmtp_send(struct tsmtp *s, const struct tr_msg *m, tr_done_fn *done, void *arg)
{
	struct tsmtp_req *r = NULL;
	struct tr_result fail = { .cls = TR_FAIL, .retry_after_s = -1 };
	char rcpt[TSMTP_ADDRESS_MAX + 3];

	if (tsmtp_refuse(s, m, &fail)) {
		done(&fail, arg);
		return;
	}
	fail.cls = TR_RETRY;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->easy = curlev_easy(s->url, "smtp,smtps", s->timeout_ms, s->ca_file, r->errbuf)))
		goto oom;
	r->done = done;
	r->arg = arg;
	r->res.retry_after_s = -1;
	r->text = tsmtp_message(s->from, m, (long long)time(NULL));
	snprintf(rcpt, sizeof(rcpt), "<%s>", m->to);
	if (!r->text || !(r->rcpt = curl_slist_append(NULL, rcpt)))
		goto oom;
	r->len = strlen(r->text);
	curl_easy_setopt(r->easy, CURLOPT_USE_SSL, (long)(s->starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	if (s->username) {
		curl_easy_setopt(r->easy, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(r->easy, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	curl_easy_setopt(r->easy, CURLOPT_MAIL_FROM, s->from);
	curl_easy_setopt(r->easy, CURLOPT_MAIL_RCPT, r->rcpt);
	curl_easy_setopt(r->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(r->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(r->easy, CURLOPT_READFUNCTION, tsmtp_on_read);
	curl_easy_setopt(r->easy, CURLOPT_READDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_VERBOSE, 1L);	/* for the replies only */
	curl_easy_setopt(r->easy, CURLOPT_DEBUGFUNCTION, tsmtp_on_debug);
	curl_easy_setopt(r->easy, CURLOPT_DEBUGDATA, r);
	if (curlev_add(s->cv, r->easy, tsmtp_on_done, r))
		goto oom;
	return;
oom:
	snprintf(fail.error, sizeof(fail.error), "out of memory preparing the mail");
	if (r) {
		if (r->easy)
			curl_easy_cleanup(r->easy);
		tsmtp_req_free(r);
	}
	done(&fail, arg);
}

static char *tsmtp_dup(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

struct tsmtp *tsmtp_new(const struct tsmtp_cfg *c, struct curlev *cv)
{
	struct tsmtp *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cv = cv;
	s->url = strdup(c->url);
	s->from = strdup(c->from ? c->from : "");
	s->username = tsmtp_dup(c->username);
	s->password = tsmtp_dup(c->password);
	s->ca_file = tsmtp_dup(c->ca_file);
	s->starttls = c->starttls_required;
	s->timeout_ms = c->timeout_ms;
	if (!s->url || !s->from || (c->username && *c->username && !s->username) ||
	    (c->password && *c->password && !s->password) ||
	    (c->ca_file && *c->ca_file && !s->ca_file)) {
		tsmtp_free(s);
		return NULL;
	}
	return s;
}

void tsmtp_free(struct tsmtp *s)
{
	if (!s)
		return;
	free(s->url);
	free(s->username);
	if (s->password)
		memset(s->password, 0, strlen(s->password));
	free(s->password);
	free(s->from);
	free(s->ca_file);
	free(s);
}
