/*
 * transport_http.h — the `http` transport: one request per message to a
 * provider API or webhook (SPEC section 7), over curlev.  Loop thread.
 */
#ifndef LEO_TRANSPORT_HTTP_H
#define LEO_TRANSPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "transport.h"

struct curlev;
struct thttp;

enum thttp_body { THTTP_JSON, THTTP_FORM, THTTP_TEMPLATE };

struct thttp_cfg {
	const char *url;
	const char *method;			/* "POST" or "PUT" */
	const char *const *headers;		/* "Name: value", NULL-ended; secrets already read */
	enum thttp_body body;
	const char *signing_secret;		/* NULL or "": unsigned */
	const char *ca_file;			/* NULL or "": the system's */
	int timeout_ms;
};

/* A channel's transport; copies c.  NULL when out of memory. */
struct thttp *thttp_new(const struct thttp_cfg *c, struct curlev *cv) __attribute__((warn_unused_result));

/* Send m; done(result, arg) runs once on the loop (possibly before this
 * returns, when the request cannot even start). */
void thttp_send(struct thttp *h, const struct tr_msg *m, tr_done_fn *done, void *arg);

/* After curlev_free (which ends the requests in flight, their done run). */
void thttp_free(struct thttp *h);

/* The classification of SPEC 7, for a finished request: libcurl's code and
 * the status received (0: none). */
enum tr_class thttp_classify(int curl_code, long status);

/* Retry-After's value (seconds, or an HTTP-date) as seconds from now; -1 when unusable. */
int thttp_retry_after(const char *value, long long now);

#endif
