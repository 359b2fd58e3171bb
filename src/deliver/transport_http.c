/*
 * transport_http.c — a message as one HTTP request (SPEC section 7).  Loop
 * thread: requests run on curlev, the program's libcurl multi.
 *
 * The request: the channel's method and URL; its body the delivery
 * document as JSON (msgdoc.h), the same fields as a form, or the message's
 * rendered body template; headers Content-Type, Idempotency-Key (the
 * delivery's key, so a provider drops a resend), the channel's own, and
 * with a signing secret X-Leo-Signature (sign.h).  TLS is always verified;
 * redirects are followed at most THTTP_MAX_REDIRS times, over http(s) only;
 * no proxy from the environment.  Of the answer the first TR_RESPONSE_MAX
 * bytes are kept and reading stops after THTTP_MAX_READ: a huge answer
 * costs its delivery one failed or sent record, never the process's memory.
 */
#include "transport_http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curlev.h"
#include "msgdoc.h"
#include "sign.h"

#define THTTP_MAX_REDIRS 3
#define THTTP_MAX_READ (64 * 1024)

struct thttp {
	struct curlev *cv;
	char *url, *method, *secret, *ca_file;
	char **headers;
	enum thttp_body body;
	int timeout_ms;
};

struct thttp_req {
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	size_t read;			/* bytes of the answer seen */
	bool cut;			/* stopped reading at THTTP_MAX_READ */
	int retry_after_s;
	tr_done_fn *done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct tr_result res;
};

enum tr_class thttp_classify(int curl_code, long status)
{
	switch (curl_code) {
	case CURLE_OK:
	case CURLE_WRITE_ERROR:	/* we stopped reading a long answer: its status counts */
		if (status >= 200 && status < 300)
			return TR_OK;
		if (status == 408 || status == 425 || status == 429 || status >= 500)
			return TR_RETRY;
		return status ? TR_FAIL : TR_RETRY;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_ABORTED_BY_CALLBACK:
		return TR_RETRY;
	default:
		return TR_FAIL;	/* a redirect loop, a malformed URL, ... */
	}
}

int thttp_retry_after(const char *v, long long now)
{
	char *end;
	long n;
	struct tm tm = { 0 };

	while (*v == ' ')
		v++;
	if (isdigit((unsigned char)*v)) {
		n = strtol(v, &end, 10);
		while (*end == ' ' || *end == '\r' || *end == '\n')
			end++;
		return *end || n < 0 || n > 86400 * 30 ? -1 : (int)n;
	}
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end)
		return -1;
	n = (long)(timegm(&tm) - now);
	return n < 0 ? 0 : n > 86400 * 30 ? -1 : (int)n;
}

static size_t thttp_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct thttp_req *r = arg;
	size_t len = size * n, keep;

	if (r->res.response_len < TR_RESPONSE_MAX) {
		keep = TR_RESPONSE_MAX - r->res.response_len;
		if (keep > len)
			keep = len;
		memcpy(r->res.response + r->res.response_len, p, keep);
		r->res.response_len += keep;
		r->res.response[r->res.response_len] = '\0';
	}
	r->read += len;
	if (r->read > THTTP_MAX_READ) {
		r->cut = true;
		return 0;	/* CURLE_WRITE_ERROR: enough */
	}
	return len;
}

static size_t thttp_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct thttp_req *r = arg;
	size_t len = size * n;
	char line[256];

	if (len > 12 && len < sizeof(line) && strncasecmp(p, "Retry-After:", 12) == 0) {
		memcpy(line, p + 12, len - 12);
		line[len - 12] = '\0';
		r->retry_after_s = thttp_retry_after(line, (long long)time(NULL));
	}
	return len;
}

static void thttp_req_free(struct thttp_req *r)
{
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r);
}

/* curlev's callback: the request ended; its result to the caller. */
static void thttp_on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct thttp_req *r = arg;
	const char *errbuf = r->errbuf;
	long status = 0;

	(void)easy;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	r->res.status = status;
	r->res.retry_after_s = r->retry_after_s;
	r->res.cls = thttp_classify(rc == CURLE_WRITE_ERROR && !r->cut ? CURLE_RECV_ERROR : rc,
				    status);
	if (rc == CURLE_TOO_MANY_REDIRECTS)
		snprintf(r->res.error, sizeof(r->res.error), "more than %d redirects", THTTP_MAX_REDIRS);
	else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r->cut))
		snprintf(r->res.error, sizeof(r->res.error), "%s%s%.200s", curl_easy_strerror(rc),
			 *errbuf ? ": " : "", errbuf);
	else if (r->res.cls != TR_OK)
		snprintf(r->res.error, sizeof(r->res.error), "HTTP %ld", status);
	r->done(&r->res, r->arg);
	curl_easy_cleanup(r->easy);
	thttp_req_free(r);
}

/* The form body: the document's fields, url-encoded. */
static char *thttp_form(CURL *e, const struct tr_msg *m)
{
	const char *k[] = { "tenant_id", "channel", "to", "subject", "body", "idempotency_key",
			    "rule_id", "profile_id", "created_at" };
	const char *v[] = { m->tenant_id, m->channel, m->to, m->subject, m->body,
			    m->idempotency_key, m->rule_id, m->profile_id, m->created_at };
	char *out = NULL, id[32];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	snprintf(id, sizeof(id), "%lld", m->delivery_id);
	fprintf(f, "delivery_id=%s", id);
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		char *enc;

		if (!v[i])
			continue;
		enc = curl_easy_escape(e, v[i], 0);
		if (!enc) {
			fclose(f);
			free(out);
			return NULL;
		}
		fprintf(f, "&%s=%s", k[i], enc);
		curl_free(enc);
	}
	fclose(f);
	return out;
}

static int thttp_header(struct thttp_req *r, const char *line)
{
	struct curl_slist *n = curl_slist_append(r->hdrs, line);

	if (!n)
		return -1;
	r->hdrs = n;
	return 0;
}

void thttp_send(struct thttp *h, const struct tr_msg *m, tr_done_fn *done, void *arg)
{
	struct thttp_req *r = calloc(1, sizeof(*r));
	char line[512];
	char sig[SIGN_HEADER_MAX];
	struct tr_result fail = { .cls = TR_RETRY, .retry_after_s = -1 };
	bool ok;

	if (!r || !(r->easy = curlev_easy(h->url, "http,https", h->timeout_ms, h->ca_file, r->errbuf)))
		goto oom;
	r->done = done;
	r->arg = arg;
	r->retry_after_s = -1;
	r->res.retry_after_s = -1;
	switch (h->body) {
	case THTTP_JSON:
		r->body = msgdoc_json(m);
		ok = r->body && !thttp_header(r, "Content-Type: application/json");
		break;
	case THTTP_FORM:
		r->body = thttp_form(r->easy, m);
		ok = r->body && !thttp_header(r, "Content-Type: application/x-www-form-urlencoded");
		break;
	default:
		r->body = strdup(m->payload ? m->payload : "");
		ok = r->body != NULL;
		break;
	}
	snprintf(line, sizeof(line), "Idempotency-Key: %s", m->idempotency_key);
	ok = ok && !thttp_header(r, line) && !thttp_header(r, "Expect:");
	for (char **p = h->headers; ok && *p; p++)
		ok = !thttp_header(r, *p);
	if (ok && h->secret) {
		char hl[SIGN_HEADER_MAX + 20];

		sign_header(h->secret, (long long)time(NULL), r->body, strlen(r->body), sig);
		snprintf(hl, sizeof(hl), "X-Leo-Signature: %s", sig);
		ok = !thttp_header(r, hl);
	}
	if (!ok)
		goto oom;
	curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, h->method);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "leo-deliver/" LEO_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(r->easy, CURLOPT_MAXREDIRS, (long)THTTP_MAX_REDIRS);
	curl_easy_setopt(r->easy, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
	curl_easy_setopt(r->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, thttp_on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, thttp_on_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	if (curlev_add(h->cv, r->easy, thttp_on_done, r))
		goto oom;
	return;
oom:
	snprintf(fail.error, sizeof(fail.error), "out of memory preparing the request");
	if (r) {
		if (r->easy)
			curl_easy_cleanup(r->easy);
		thttp_req_free(r);
	}
	done(&fail, arg);
}

static char *thttp_dup(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

struct thttp *thttp_new(const struct thttp_cfg *c, struct curlev *cv)
{
	struct thttp *h = calloc(1, sizeof(*h));
	size_t n = 0;

	if (!h)
		return NULL;
	while (c->headers && c->headers[n])
		n++;
	h->cv = cv;
	h->url = strdup(c->url);
	h->method = strdup(c->method ? c->method : "POST");
	h->secret = thttp_dup(c->signing_secret);
	h->ca_file = thttp_dup(c->ca_file);
	h->headers = calloc(n + 1, sizeof(*h->headers));
	h->body = c->body;
	h->timeout_ms = c->timeout_ms;
	if (!h->url || !h->method || (c->signing_secret && *c->signing_secret && !h->secret) ||
	    !h->headers) {
		thttp_free(h);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		h->headers[i] = strdup(c->headers[i]);
		if (!h->headers[i]) {
			thttp_free(h);
			return NULL;
		}
	}
	return h;
}

void thttp_free(struct thttp *h)
{
	if (!h)
		return;
	free(h->url);
	free(h->method);
	free(h->secret);
	free(h->ca_file);
	for (char **p = h->headers; p && *p; p++)
		free(*p);
	free(h->headers);
	free(h);
}
