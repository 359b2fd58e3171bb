/*
 * receipts.h — POST /v1/receipts: a provider (or its relay) reports that a
 * sent message was delivered or failed.  Served on the stats thread, with a
 * database connection of its own.
 */
#ifndef LEO_RECEIPTS_H
#define LEO_RECEIPTS_H

struct httpd;
struct pool;
struct receipts;

/*
 * Route /v1/receipts on h.  secret_file "" refuses every receipt (403).
 * NULL (logged) when the secret file cannot be read or is empty.
 */
struct receipts *receipts_new(struct httpd *h, struct pool *pool, const char *secret_file,
			      int tolerance_s) __attribute__((warn_unused_result));
/* After the stats thread has stopped. */
void receipts_free(struct receipts *r);

#endif
