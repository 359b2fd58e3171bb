/*
 * sign.c — X-Leo-Signature: HMAC-SHA256 over "t.body" (SPEC section 7).
 * Pure; any thread.
 */
#include "sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hex of HMAC-SHA256(secret, "t." body) into hex (65 bytes). */
static bool sign_mac(const char *secret, long long t, const char *body, size_t len, char *hex)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *msg = malloc(len + 32);
	int tn;
	bool ok;

	if (!msg)
		return false;
	tn = snprintf(msg, 32, "%lld.", t);
	memcpy(msg + tn, body, len);
	ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
		  (size_t)tn + len, mac, &maclen) != NULL && maclen == 32;
	free(msg);
	for (unsigned int i = 0; ok && i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return ok;
}

void sign_header(const char *secret, long long t, const char *body, size_t len, char *out)
{
	char hex[65] = "";

	if (!sign_mac(secret, t, body, len, hex))
		hex[0] = '\0';	/* an unverifiable header rather than none */
	snprintf(out, SIGN_HEADER_MAX, "t=%lld,v1=%s", t, hex);
}

bool sign_verify(const char *secret, const char *header, const char *body, size_t len,
		 long long now, int tolerance_s)
{
	char want[65], *end;
	const char *v;
	long long t;

	if (strncmp(header, "t=", 2) != 0)
		return false;
	t = strtoll(header + 2, &end, 10);
	if (end == header + 2 || strncmp(end, ",v1=", 4) != 0)
		return false;
	v = end + 4;
	if (strlen(v) != 64 || t < now - tolerance_s || t > now + tolerance_s ||
	    !sign_mac(secret, t, body, len, want))
		return false;
	return CRYPTO_memcmp(v, want, 64) == 0;
}
