/*
 * embed_openai.c — batches of texts to an OpenAI-compatible /embeddings
 * endpoint and their answers back, as embed_openai.h says.  Loop thread:
 * requests run on curlev; embed_openai_parse is pure and any thread's.
 *
 * The answer is read into memory up to EO_MAX_READ(n) bytes (1536 numbers
 * of some 20 characters per input, and room for the rest); past that the
 * transfer is stopped and the batch fails, so a runaway server costs one
 * batch, never the process's memory.  TLS is verified; no redirects (a
 * POST with a key is not sent on to another host); no proxy from the
 * environment.
 */
#include "embed_openai.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlev.h"

#define EO_MAX_READ(n) ((size_t)(n) * EMBED_DIM * 32 + 65536)

struct embed_openai {
	struct curlev *cv;
	char *url, *model, *auth;
	int timeout_ms;
};

struct eo_req {
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;			/* the request */
	char *ans;			/* the answer so far */
	size_t len, cap, max;
	bool cut;
	size_t n;
	float *out;
	embed_done_fn *done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
};

/* One item's embedding into v: EMBED_DIM finite numbers, not all zero,
 * normalised.  0 or -1 with err set. */
static int eo_vector(const cJSON *emb, size_t i, float *v, char *err, size_t errlen)
{
	const cJSON *x;
	size_t k = 0;
	double norm = 0;

	if (!cJSON_IsArray(emb)) {
		snprintf(err, errlen, "malformed answer: data[%zu].embedding is not an array", i);
		return -1;
	}
	cJSON_ArrayForEach(x, emb) {
		float f;

		if (k >= EMBED_DIM) {
			k++;
			continue;
		}
		if (!cJSON_IsNumber(x)) {
			snprintf(err, errlen, "malformed answer: data[%zu].embedding has a non-number", i);
			return -1;
		}
		f = (float)x->valuedouble;
		if (!isfinite(x->valuedouble) || !isfinite(f)) {
			snprintf(err, errlen, "data[%zu].embedding has NaN or infinite values", i);
			return -1;
		}
		v[k++] = f;
		norm += (double)f * f;
	}
	if (k != EMBED_DIM) {
		snprintf(err, errlen, "wrong dimension: data[%zu].embedding has %zu values, not %d", i,
			 k, EMBED_DIM);
		return -1;
	}
	if (norm <= 0) {
		snprintf(err, errlen, "data[%zu].embedding is all zero", i);
		return -1;
	}
	norm = sqrt(norm);
	for (k = 0; k < EMBED_DIM; k++)
		v[k] = (float)(v[k] / norm);
	return 0;
}

int embed_openai_parse(const char *body, size_t len, size_t n, float *out, char *err,
		       size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *data, *it;
	unsigned char *seen = calloc(n ? n : 1, 1);
	size_t pos = 0, got = 0;
	int rc = -1;

	if (!seen) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!root) {
		snprintf(err, errlen, "malformed answer: not JSON");
		goto out;
	}
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (!cJSON_IsArray(data)) {
		snprintf(err, errlen, "malformed answer: no data array");
		goto out;
	}
	cJSON_ArrayForEach(it, data) {
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(it, "index");
		size_t i = pos++;

		if (ix) {
			if (!cJSON_IsNumber(ix) || ix->valuedouble < 0 ||
			    ix->valuedouble >= (double)n || ix->valuedouble != floor(ix->valuedouble)) {
				snprintf(err, errlen, "malformed answer: data[%zu].index out of range", i);
				goto out;
			}
			i = (size_t)ix->valuedouble;
		}
		if (i >= n) {
			snprintf(err, errlen, "malformed answer: more items than inputs (%zu)", n);
			goto out;
		}
		if (seen[i]) {
			snprintf(err, errlen, "malformed answer: index %zu twice", i);
			goto out;
		}
		if (eo_vector(cJSON_GetObjectItemCaseSensitive(it, "embedding"), i,
			      out + i * EMBED_DIM, err, errlen))
			goto out;
		seen[i] = 1;
		got++;
	}
	if (got != n) {
		snprintf(err, errlen, "missing items: %zu embeddings for %zu inputs", got, n);
		goto out;
	}
	rc = 0;
out:
	free(seen);
	cJSON_Delete(root);
	return rc;
}

static size_t eo_on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct eo_req *r = arg;
	size_t n = size * nmemb;

	if (r->len + n > r->max) {
		r->cut = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 65536;
		char *q;

		while (r->len + n + 1 > cap)
			cap *= 2;
		q = realloc(r->ans, cap);
		if (!q)
			return 0;
		r->ans = q;
		r->cap = cap;
	}
	memcpy(r->ans + r->len, p, n);
	r->len += n;
	return n;
}

static void eo_req_free(struct eo_req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r->ans);
	free(r);
}

/* What a status or a transfer error means for the batch. */
static void eo_classify(struct embed_result *res, CURLcode rc, long status, const char *errbuf)
{
	if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
	    rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE || rc == CURLE_ABORTED_BY_CALLBACK) {
		res->transient = true;
		snprintf(res->error, sizeof(res->error), "embeddings request: %s%s%.150s",
			 curl_easy_strerror(rc), *errbuf ? ": " : "", errbuf);
		return;
	}
	if (rc != CURLE_OK) {
		res->transient = rc != CURLE_WRITE_ERROR;
		snprintf(res->error, sizeof(res->error), "embeddings request: %s%s%.150s",
			 rc == CURLE_WRITE_ERROR ? "answer too large or out of memory" :
			 curl_easy_strerror(rc), *errbuf ? ": " : "", errbuf);
		return;
	}
	res->transient = status == 408 || status == 425 || status == 429 || status >= 500;
	snprintf(res->error, sizeof(res->error), "embeddings request: HTTP %ld", status);
}

static void eo_on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct eo_req *r = arg;
	struct embed_result res = { 0 };

	(void)easy;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
	if (rc == CURLE_OK && res.status >= 200 && res.status < 300) {
		if (embed_openai_parse(r->ans ? r->ans : "", r->len, r->n, r->out, res.error,
				       sizeof(res.error)) == 0)
			res.ok = true;
	} else {
		eo_classify(&res, r->cut ? CURLE_WRITE_ERROR : rc, res.status, r->errbuf);
	}
	r->done(&res, r->arg);
	eo_req_free(r);
}

/* {"model": .., "input": [..], "dimensions": 1536} */
static char *eo_request_body(const struct embed_openai *o, const char *const *texts, size_t n)
{
	cJSON *root = cJSON_CreateObject(), *in;
	char *s = NULL;

	if (!root)
		return NULL;
	if (!cJSON_AddStringToObject(root, "model", o->model) ||
	    !(in = cJSON_AddArrayToObject(root, "input")) ||
	    !cJSON_AddNumberToObject(root, "dimensions", EMBED_DIM) ||
	    !cJSON_AddStringToObject(root, "encoding_format", "float"))
		goto out;
	for (size_t i = 0; i < n; i++) {
		cJSON *t = cJSON_CreateString(texts[i]);

		if (!t || !cJSON_AddItemToArray(in, t)) {
			cJSON_Delete(t);
			goto out;
		}
	}
	s = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return s;
}

void embed_openai_send(struct embed_openai *o, const char *const *texts, size_t n, float *out,
		       embed_done_fn *done, void *arg)
{
	struct eo_req *r = calloc(1, sizeof(*r));
	struct embed_result fail = { .transient = true };
	struct curl_slist *h;

	if (!r || !(r->easy = curlev_easy(o->url, "http,https", o->timeout_ms, NULL, r->errbuf)) ||
	    !(r->body = eo_request_body(o, texts, n)))
		goto oom;
	r->n = n;
	r->out = out;
	r->done = done;
	r->arg = arg;
	r->max = EO_MAX_READ(n);
	if (!(h = curl_slist_append(NULL, "Content-Type: application/json")))
		goto oom;
	r->hdrs = h;
	if (!(h = curl_slist_append(r->hdrs, "Expect:")))
		goto oom;
	if (o->auth && !(h = curl_slist_append(r->hdrs, o->auth)))
		goto oom;
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "leo-enrich/" LEO_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, eo_on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	if (curlev_add(o->cv, r->easy, eo_on_done, r))
		goto oom;
	return;
oom:
	snprintf(fail.error, sizeof(fail.error), "out of memory preparing the embeddings request");
	if (r)
		eo_req_free(r);
	done(&fail, arg);
}

struct embed_openai *embed_openai_new(const struct embed_openai_cfg *c, struct curlev *cv)
{
	struct embed_openai *o = calloc(1, sizeof(*o));
	size_t ul = strlen(c->base_url);

	if (!o)
		return NULL;
	o->cv = cv;
	o->timeout_ms = c->timeout_ms;
	while (ul > 0 && c->base_url[ul - 1] == '/')
		ul--;
	o->url = malloc(ul + sizeof("/embeddings"));
	o->model = strdup(c->model);
	if (c->api_key && *c->api_key) {
		o->auth = malloc(strlen(c->api_key) + sizeof("Authorization: Bearer "));
		if (o->auth)
			sprintf(o->auth, "Authorization: Bearer %s", c->api_key);
	}
	if (!o->url || !o->model || (c->api_key && *c->api_key && !o->auth)) {
		embed_openai_free(o);
		return NULL;
	}
	memcpy(o->url, c->base_url, ul);
	strcpy(o->url + ul, "/embeddings");
	return o;
}

void embed_openai_free(struct embed_openai *o)
{
	if (!o)
		return;
	free(o->url);
	free(o->model);
	if (o->auth) {
		explicit_bzero(o->auth, strlen(o->auth));
		free(o->auth);
	}
	free(o);
}
