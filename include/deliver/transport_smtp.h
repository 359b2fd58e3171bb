/*
 * transport_smtp.h — the `smtp` transport: one mail per message, over
 * curlev (SPEC section 7): smtp:// with STARTTLS or smtps://, AUTH with a
 * password, UTF-8 text/plain, an RFC 2047 subject and a Message-ID derived
 * from the idempotency key.  Loop thread.
 */
#ifndef LEO_TRANSPORT_SMTP_H
#define LEO_TRANSPORT_SMTP_H

#include <stdbool.h>

#include "transport.h"

struct curlev;
struct tsmtp;

struct tsmtp_cfg {
	const char *url;		/* smtp://host:port (STARTTLS per starttls) or smtps://host:port */
	bool starttls_required;		/* smtp://: true: CURLUSESSL_ALL; false: no TLS (loopback only) */
	const char *username;		/* NULL/"": no AUTH */
	const char *password;		/* already read from password_file */
	const char *from;		/* envelope and From: address */
	const char *ca_file;		/* NULL/"": the system's */
	int timeout_ms;
};

/* A channel's transport; copies c.  NULL when out of memory. */
struct tsmtp *tsmtp_new(const struct tsmtp_cfg *c, struct curlev *cv) __attribute__((warn_unused_result));

/* Send m to m->to; done(result, arg) runs once on the loop (possibly before
 * this returns: a CR or LF in the subject, an address that is not one, out
 * of memory — TR_FAIL or TR_RETRY without any connection). */
void tsmtp_send(struct tsmtp *s, const struct tr_msg *m, tr_done_fn *done, void *arg);

/* After curlev_free (which ends the mails in flight, their done run). */
void tsmtp_free(struct tsmtp *s);

/* The RFC 5322 message for m (pure, tested by unit tests): malloc'd, NULL on
 * OOM, and NULL when from, m->to or m->subject holds a CR or LF (tsmtp_send
 * refuses those first, saying which).  now: unix seconds for the Date header. */
char *tsmtp_message(const char *from, const struct tr_msg *m, long long now);

/* SPEC 7 classification from libcurl's code and the SMTP reply code (0: none). */
enum tr_class tsmtp_classify(int curl_code, long smtp_code);

#endif
