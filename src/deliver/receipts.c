/*
 * receipts.c — POST /v1/receipts (receipts.h).  Stats thread.
 *
 * The signature is checked before the body is parsed, so an unsigned
 * sender learns nothing but 401.  The move itself is the schema's
 * (leo_deliver_receipt, under the receipt's tenant): sent -> delivered or
 * failed, a repeat of the same final status is ok, anything else a
 * conflict.
 */
#include "receipts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver_metrics.h"
#include "dstore.h"
#include "httpd.h"
#include "log.h"
#include "sign.h"

struct receipts {
	struct dstore *db;
	char *secret;
	int tolerance_s;
};

static bool receipt_is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	for (size_t i = 0; i < sizeof(shape); i++) {
		if (shape[i] == '\0')
			return s[i] == '\0';
		if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	}
	return false;
}

int receipt_parse(const char *body, size_t len, struct receipt *r, char *why, size_t cap)
{
	cJSON *doc = cJSON_ParseWithLength(body, len), *t, *d, *s, *p;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(doc)) {
		snprintf(why, cap, "the body is not a JSON object");
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(doc, "tenant_id");
	d = cJSON_GetObjectItemCaseSensitive(doc, "delivery_id");
	s = cJSON_GetObjectItemCaseSensitive(doc, "status");
	p = cJSON_GetObjectItemCaseSensitive(doc, "provider_response");
	if (!cJSON_IsString(t) || !receipt_is_uuid(t->valuestring)) {
		snprintf(why, cap, "tenant_id: a UUID string is required");
		goto out;
	}
	if (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > 9007199254740991.0 ||
	    d->valuedouble != floor(d->valuedouble)) {
		snprintf(why, cap, "delivery_id: a positive integer is required");
		goto out;
	}
	if (!cJSON_IsString(s) ||
	    (strcmp(s->valuestring, "delivered") && strcmp(s->valuestring, "failed"))) {
		snprintf(why, cap, "status: \"delivered\" or \"failed\" is required");
		goto out;
	}
	if (p && !cJSON_IsNull(p) && !(r->provider_response = cJSON_PrintUnformatted(p))) {
		snprintf(why, cap, "out of memory");
		goto out;
	}
	snprintf(r->tenant, sizeof(r->tenant), "%s", t->valuestring);
	r->delivery_id = (long long)d->valuedouble;
	snprintf(r->status, sizeof(r->status), "%s", s->valuestring);
	rc = 0;
out:
	cJSON_Delete(doc);
	return rc;
}

/* The answer: status and a JSON object {"result": ..., "error": ...}. */
static int receipts_answer(char *reply, size_t cap, enum deliver_receipt_result res, int status,
			   const char *result, const char *error)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	deliver_metrics_receipt(res);
	if (o && cJSON_AddStringToObject(o, "result", result) &&
	    (!error || cJSON_AddStringToObject(o, "error", error)) &&
	    (text = cJSON_PrintUnformatted(o))) {
		snprintf(reply, cap, "%s", text);
		free(text);
	} else {
		snprintf(reply, cap, "{\"result\":\"%s\"}", result);
	}
	cJSON_Delete(o);
	return status;
}

static int receipts_post(void *arg, const struct httpd_req *req, char *reply, size_t cap)
{
	struct receipts *rc = arg;
	const char *sig = httpd_req_header(req, "X-Leo-Signature"), *result = NULL;
	size_t len = 0;
	const char *body = httpd_req_body(req, &len);
	struct receipt r;
	char why[128];

	if (!rc->secret[0])
		return receipts_answer(reply, cap, DRR_DISABLED, 403, "disabled",
				       "receipts are not configured (deliver.receipts_secret_file)");
	if (!sig || !sign_verify(rc->secret, sig, body ? body : "", len, (long long)time(NULL),
				 rc->tolerance_s))
		return receipts_answer(reply, cap, DRR_BAD_SIGNATURE, 401, "bad_signature",
				       sig ? "the signature does not match" :
					     "X-Leo-Signature is required");
	if (receipt_parse(body ? body : "", len, &r, why, sizeof(why)))
		return receipts_answer(reply, cap, DRR_BAD_REQUEST, 400, "bad_request", why);
	if (dstore_receipt(rc->db, r.tenant, r.delivery_id, r.status, r.provider_response,
			   &result)) {
		free(r.provider_response);
		return receipts_answer(reply, cap, DRR_ERROR, 503, "unavailable",
				       "the database is unavailable; send it again");
	}
	free(r.provider_response);
	if (!strcmp(result, "ok")) {
		log_info("receipt: delivery %s/%lld %s", r.tenant, r.delivery_id, r.status);
		return receipts_answer(reply, cap, DRR_OK, 200, "ok", NULL);
	}
	if (!strcmp(result, "unknown"))
		return receipts_answer(reply, cap, DRR_UNKNOWN, 404, "unknown",
				       "no such delivery of this tenant");
	return receipts_answer(reply, cap, DRR_CONFLICT, 409, "conflict",
			       "the delivery is not in a state this receipt may move");
}

struct receipts *receipts_new(struct pool *pool, const char *secret, int tolerance_s)
{
	struct receipts *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->tolerance_s = tolerance_s;
	rc->secret = strdup(secret ? secret : "");
	rc->db = dstore_new(pool);
	if (!rc->secret || !rc->db) {
		receipts_free(rc);
		return NULL;
	}
	return rc;
}

int receipts_route(struct receipts *rc, struct httpd *h)
{
	return httpd_route_post(h, "/v1/receipts", receipts_post, rc);
}

void receipts_free(struct receipts *rc)
{
	if (!rc)
		return;
	if (rc->secret) {
		memset(rc->secret, 0, strlen(rc->secret));
		free(rc->secret);
	}
	dstore_free(rc->db);
	free(rc);
}
