/*
 * transport.h — what every transport of leo-deliver is given and answers.
 *
 * A message is rendered and addressed before it reaches a transport; the
 * transport puts it on the wire (SMTP, HTTP, a file) and classifies the
 * answer.  The classification is the transport's, the status move that
 * follows (sent, retry later, failed) is outcome's.  Transports run on the
 * sender's loop thread; none blocks it (libcurl's multi interface, curlev.h).
 */
#ifndef LEO_TRANSPORT_H
#define LEO_TRANSPORT_H

#include <stddef.h>

/* A message as the transports see it; every string NUL-terminated UTF-8,
 * owned by the caller until the transport's result is delivered. */
struct tr_msg {
	const char *tenant_id;
	long long delivery_id;
	const char *channel;		/* leo_channel: email, sms, web_push, ... */
	const char *to;			/* the address, per SPEC section 7 */
	const char *subject;		/* NULL but for email */
	const char *body;
	const char *idempotency_key;	/* Idempotency-Key, Message-ID */
	const char *rule_id;		/* NULL when none */
	const char *profile_id;
	const char *created_at;		/* delivery_log.created_at, ISO 8601 */
	const char *payload;		/* http, body: template: the rendered request body; else NULL */
};


enum tr_class {
	TR_OK,		/* accepted: 2xx */
	TR_RETRY,	/* worth another attempt: 408/425/429/5xx, SMTP 4xx, connect/TLS/timeout */
	TR_FAIL,	/* any other answer: final */
};

/* The first this many bytes of an answer are kept (delivery_attempt.response). */
#define TR_RESPONSE_MAX 8192

struct tr_result {
	enum tr_class cls;
	long status;			/* HTTP or SMTP code; 0 when none came */
	int retry_after_s;		/* Retry-After in seconds, -1 when absent */
	char error[256];		/* "" on success: why, for delivery_attempt.error */
	char response[TR_RESPONSE_MAX + 1];	/* NUL-terminated, truncated */
	size_t response_len;
};

/* Called once per message on the loop thread with its result; res is valid
 * only during the call. */
typedef void tr_done_fn(const struct tr_result *res, void *arg);

#endif
