/*
 * sign.h — the signature of the sender's requests and of the receipts it
 * accepts (SPEC section 7):
 *
 *	X-Leo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">
 *
 * Pure (OpenSSL's HMAC); any thread.
 */
#ifndef LEO_SIGN_H
#define LEO_SIGN_H

#include <stdbool.h>
#include <stddef.h>

/* "t=...,v1=..." for body at time t into out (at least SIGN_HEADER_MAX bytes). */
#define SIGN_HEADER_MAX 96
void sign_header(const char *secret, long long t, const char *body, size_t len, char *out);

/*
 * Whether header is a valid signature of body: its t within tolerance_s of
 * now and its v1 the HMAC (compared in constant time).  Malformed: false.
 */
bool sign_verify(const char *secret, const char *header, const char *body, size_t len,
		 long long now, int tolerance_s);

#endif
