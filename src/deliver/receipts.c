/*
 * receipts.c — POST /v1/receipts (SPEC section 7).  Stats thread: the
 * handler runs there, with its own database connection (dstore.c).
 *
 * The body is JSON: {"tenant_id": "...", "delivery_id": 123, "status":
 * "delivered" | "failed", "provider_response": any JSON (optional)}, signed
 * like the sender's own requests: X-Leo-Signature: t=<unix>,v1=<hex
 * HMAC-SHA256 of "t.body"> with deliver.receipts_secret_file's secret, t
 * within deliver.receipts_tolerance_s of now.  Answers: 200 moved, 400
 * malformed, 401 bad or missing signature, 403 receipts disabled, 404 no
 * such delivery of that tenant, 409 a move the schema forbids (nothing
 * changed), 503 database unavailable.
 */
#include "receipts.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver_metrics.h"
#include "dstore.h"
#include "httpd.h"
#include "ids.h"
#include "log.h"
#include "secret.h"
#include "sign.h"

struct receipts {
	struct dstore *db;
	char *secret;		/* NULL: disabled */
	int tolerance_s;
};

static int receipts_answer(char *reply, size_t cap, enum deliver_receipt_result res, int code,
			   const char *msg)
{
	deliver_metrics_receipt(res);
	snprintf(reply, cap, "{\"error\":\"%s\"}", msg);
	if (code == 200)
		snprintf(reply, cap, "{\"result\":\"ok\"}");
	return code;
}

static bool receipts_uuid(const char *s)
{
	if (strlen(s) != TENANT_ID_SIZE - 1)
		return false;
	for (int i = 0; s[i]; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdefABCDEF", s[i])) {
			return false;
		}
	}
	return true;
}

static int receipts_handle(void *arg, const struct httpd_req *req, char *reply, size_t cap)
{
	struct receipts *r = arg;
	const char *sig = httpd_req_header(req, "X-Leo-Signature"), *result;
	const cJSON *tenant, *id, *status, *pr;
	char *prs = NULL;
	long long delivery_id;
	size_t len;
	const char *body = httpd_req_body(req, &len);
	cJSON *doc;
	int rc;

	if (!r->secret)
		return receipts_answer(reply, cap, DRR_DISABLED, 403,
				       "receipts are disabled (deliver.receipts_secret_file)");
	if (!sig || !sign_verify(r->secret, sig, body, len, (long long)time(NULL), r->tolerance_s))
		return receipts_answer(reply, cap, DRR_BAD_SIGNATURE, 401, "bad or missing X-Leo-Signature");
	doc = cJSON_ParseWithLength(body, len);
	tenant = cJSON_GetObjectItemCaseSensitive(doc, "tenant_id");
	id = cJSON_GetObjectItemCaseSensitive(doc, "delivery_id");
	status = cJSON_GetObjectItemCaseSensitive(doc, "status");
	pr = cJSON_GetObjectItemCaseSensitive(doc, "provider_response");
	if (!cJSON_IsObject(doc) || !cJSON_IsString(tenant) || !receipts_uuid(tenant->valuestring) ||
	    !cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9e15 ||
	    id->valuedouble != (double)(long long)id->valuedouble || !cJSON_IsString(status) ||
	    (strcmp(status->valuestring, "delivered") != 0 &&
	     strcmp(status->valuestring, "failed") != 0)) {
		cJSON_Delete(doc);
		return receipts_answer(reply, cap, DRR_BAD_REQUEST, 400,
				       "expected {tenant_id: uuid, delivery_id: integer, status: delivered|failed, provider_response?}");
	}
	delivery_id = (long long)id->valuedouble;
	if (pr && !cJSON_IsNull(pr))
		prs = cJSON_PrintUnformatted(pr);
	rc = dstore_receipt(r->db, tenant->valuestring, delivery_id, status->valuestring, prs,
			    &result);
	if (rc == 0 && strcmp(result, "ok") == 0)
		log_info("receipt: delivery %lld of tenant %s is %s", delivery_id,
			 tenant->valuestring, status->valuestring);
	free(prs);
	cJSON_Delete(doc);
	if (rc)
		return receipts_answer(reply, cap, DRR_ERROR, 503, "database unavailable");
	if (strcmp(result, "unknown") == 0)
		return receipts_answer(reply, cap, DRR_UNKNOWN, 404, "no such delivery");
	if (strcmp(result, "conflict") == 0)
		return receipts_answer(reply, cap, DRR_CONFLICT, 409,
				       "the delivery is not sent: this move is not allowed");
	return receipts_answer(reply, cap, DRR_OK, 200, "");
}

struct receipts *receipts_new(struct httpd *h, struct pool *pool, const char *secret_file,
			      int tolerance_s)
{
	struct receipts *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->tolerance_s = tolerance_s;
	if (secret_file[0]) {
		r->secret = secret_read("deliver.receipts_secret_file", secret_file);
		if (!r->secret) {
			free(r);
			return NULL;
		}
	}
	r->db = dstore_new(pool);
	if (!r->db || httpd_route_post(h, "/v1/receipts", receipts_handle, r)) {
		receipts_free(r);
		return NULL;
	}
	return r;
}

void receipts_free(struct receipts *r)
{
	if (!r)
		return;
	dstore_free(r->db);
	free(r->secret);
	free(r);
}
