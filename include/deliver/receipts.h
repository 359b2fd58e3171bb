/*
 * receipts.h — POST /v1/receipts (SPEC section 7): a provider's word that a
 * `sent` delivery was delivered or failed.  The body is JSON
 *
 *	{"tenant_id": "<uuid>", "delivery_id": 42, "status": "delivered",
 *	 "provider_response": {...}}
 *
 * signed with X-Leo-Signature (sign.h) by deliver.receipts_secret_file.
 * Answers: 200 moved, 400 malformed, 401 bad or missing signature, 403
 * receipts not configured, 404 unknown delivery, 409 a move the schema
 * forbids (nothing changed), 503 database unavailable.  Runs on the stats
 * thread with a database connection of its own.
 */
#ifndef LEO_RECEIPTS_H
#define LEO_RECEIPTS_H

#include <stddef.h>

#include "ids.h"

struct httpd;
struct pool;
struct receipts;

struct receipt {
	char tenant[TENANT_ID_SIZE];
	long long delivery_id;
	char status[16];		/* delivered | failed */
	char *provider_response;	/* JSON text, malloc'd; NULL: none */
};

/* Parse body into r; 0, or -1 with why (r->provider_response NULL). Pure. */
int receipt_parse(const char *body, size_t len, struct receipt *r, char *why, size_t cap)
	__attribute__((warn_unused_result));

/* secret: NULL or "": every receipt is refused (403).  Copied. */
struct receipts *receipts_new(struct pool *pool, const char *secret, int tolerance_s)
	__attribute__((warn_unused_result));

/* Serve /v1/receipts on h; 0 or -1. */
int receipts_route(struct receipts *rc, struct httpd *h) __attribute__((warn_unused_result));

void receipts_free(struct receipts *rc);

#endif
