/*
 * payload.c — decoding of market and control notifications, and xid8
 * snapshot visibility.
 *
 * Pure; any thread (the loop thread calls it).  Everything a notification
 * carries is untrusted text: every field is bounded and checked here, and a
 * payload that does not follow the format is rejected whole with a reason, so
 * the caller can count it (leo_notify_errors_total) and go on.
 *
 * Market payload (schema trigger on market_snapshot):
 *
 *	M1 <xid> <stmt>\n<symbol>\t<old_price>\t<new_price>\t<old_chg>\t<new_chg>[\n...]
 *
 * <stmt> numbers the notifying statements of one transaction; it only keeps
 * equal changes in one transaction distinct (PostgreSQL folds identical
 * payloads of a transaction into one), and may be absent.
 *
 * Control payload (leo_control): one JSON object, see payload.h.
 *
 * Both arrive signed (payload_verify); the decoders see the body only.
 */
#include "payload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void payload_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void payload_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Decimal uint64 in [s, s+len): no sign, no spaces, no overflow. */
static int payload_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * A symbol as the schema's CHECK allows: 1..64 characters (the server has
 * checked the UTF-8, so characters are the bytes that do not continue one),
 * no controls.
 */
static bool payload_symbol_ok(const char *s, size_t len)
{
	size_t chars = 0;

	if (len == 0 || len >= PAYLOAD_SYMBOL_CAP)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	}
	return chars <= 64;
}

/* One optional numeric field: empty means NULL. */
static int payload_field(const char *s, size_t len, bool *has, dec_t *out,
			 const char **why)
{
	if (len == 0) {
		*has = false;
		*out = 0;
		return 0;
	}
	if (len > 40) {
		*why = "longer than 40 characters";
		return -1;
	}
	*has = true;
	return dec_parse(s, len, DEC_PRICE, out, why);
}

static int payload_row(const char *s, size_t len, struct payload_tick *t,
		       char *err, size_t errlen, size_t rowno)
{
	static const char *const names[5] = { "symbol", "old_price", "new_price",
					      "old_change_percent",
					      "new_change_percent" };
	const char *f[5];
	size_t flen[5];
	const char *p = s, *end = s + len, *why = NULL;
	bool has_price;
	int n = 0;

	while (n < 5) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		const char *stop = tab ? tab : end;

		f[n] = p;
		flen[n] = (size_t)(stop - p);
		n++;
		if (!tab)
			break;
		p = tab + 1;
	}
	if (n != 5 || f[4] + flen[4] != end) {
		payload_err(err, errlen, "row %zu: expected 5 tab-separated fields",
			    rowno);
		return -1;
	}
	if (!payload_symbol_ok(f[0], flen[0])) {
		payload_err(err, errlen, "row %zu: symbol: empty, too long or has control characters",
			    rowno);
		return -1;
	}
	memcpy(t->symbol, f[0], flen[0]);
	t->symbol[flen[0]] = '\0';
	{
		bool *has[5] = { NULL, &t->has_old_price, &has_price, &t->has_old_chg,
				 &t->has_chg };
		dec_t *val[5] = { NULL, &t->old_price, &t->price, &t->old_chg, &t->chg };

		for (int i = 1; i < 5; i++) {
			if (payload_field(f[i], flen[i], has[i], val[i], &why)) {
				payload_err(err, errlen, "row %zu: %s: %s", rowno, names[i],
					    why ? why : "invalid");
				return -1;
			}
		}
	}
	if (!has_price) {
		payload_err(err, errlen, "row %zu: new_price: empty", rowno);
		return -1;
	}
	return 0;
}

int payload_market_decode(const char *s, size_t len, struct payload_market *m,
			  char *err, size_t errlen)
{
	const char *nl, *sp, *p, *end = s + len;
	size_t rows = 0, cap;

	memset(m, 0, sizeof(*m));
	if (len < 3 || memcmp(s, "M1 ", 3) != 0) {
		payload_err(err, errlen, "not a market payload (no \"M1 \" header)");
		return -1;
	}
	nl = memchr(s, '\n', len);
	if (!nl) {
		payload_err(err, errlen, "no rows");
		return -1;
	}
	sp = memchr(s + 3, ' ', (size_t)(nl - s - 3));
	if (payload_u64(s + 3, (size_t)((sp ? sp : nl) - s - 3), &m->xid)) {
		payload_err(err, errlen, "header: xid is not a decimal number");
		return -1;
	}
	if (sp && payload_u64(sp + 1, (size_t)(nl - sp - 1), &m->stmt)) {
		payload_err(err, errlen, "header: statement is not a decimal number");
		return -1;
	}
	/* rows = newlines after the header + 1 */
	cap = 1;
	for (p = nl + 1; p < end; p++)
		if (*p == '\n')
			cap++;
	m->ticks = calloc(cap, sizeof(*m->ticks));
	if (!m->ticks) {
		payload_err(err, errlen, "out of memory");
		return -1;
	}
	for (p = nl + 1; rows < cap; rows++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;

		if (payload_row(p, (size_t)(stop - p), &m->ticks[rows], err, errlen,
				rows + 1))
			goto fail;
		p = stop + 1;
	}
	m->nticks = rows;
	return 0;
fail:
	payload_market_free(m);
	return -1;
}

void payload_market_free(struct payload_market *m)
{
	free(m->ticks);
	m->ticks = NULL;
	m->nticks = 0;
}

/* --- signatures ------------------------------------------------------------ */

static int payload_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n bytes from 2n lower-case hex digits. */
static int payload_unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = payload_hexval(s[2 * i]), lo = payload_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int payload_key_parse(const char *s, uint8_t key[PAYLOAD_KEY_LEN])
{
	if (strncmp(s, "\\x", 2) != 0 || strlen(s) != 2 + 2 * PAYLOAD_KEY_LEN)
		return -1;
	return payload_unhex(s + 2, key, PAYLOAD_KEY_LEN);
}

int payload_verify(const uint8_t (*keys)[PAYLOAD_KEY_LEN], size_t nkeys, const char *s,
		   size_t len, const char **body, size_t *blen, char *err, size_t errlen)
{
	enum { SIG = 32 };
	uint8_t sig[SIG], mac[EVP_MAX_MD_SIZE];
	unsigned maclen;

	if (len < 2 * SIG + 1 || s[2 * SIG] != ' ' || payload_unhex(s, sig, SIG)) {
		payload_err(err, errlen, "not signed");
		return -1;
	}
	*body = s + 2 * SIG + 1;
	*blen = len - 2 * SIG - 1;
	for (size_t k = 0; k < nkeys; k++) {
		if (!HMAC(EVP_sha256(), keys[k], PAYLOAD_KEY_LEN, (const unsigned char *)*body,
			  *blen, mac, &maclen) || maclen != SIG)
			break;
		if (CRYPTO_memcmp(mac, sig, SIG) == 0)
			return 0;
	}
	payload_err(err, errlen, "bad signature");
	return -1;
}

/*
 * Copy a JSON string member into dst (size dstlen, max chars maxlen).
 * required: a missing member is an error; a null is "" when nullable.
 */
static int payload_jstr(const cJSON *o, const char *key, char *dst, size_t dstlen,
			bool nullable, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t n;

	if (!v) {
		payload_err(err, errlen, "%s: missing", key);
		return -1;
	}
	if (nullable && cJSON_IsNull(v)) {
		dst[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring) {
		payload_err(err, errlen, "%s: not a string", key);
		return -1;
	}
	n = strlen(v->valuestring);
	if (n == 0 || n >= dstlen) {
		payload_err(err, errlen, "%s: empty or longer than %zu", key, dstlen - 1);
		return -1;
	}
	memcpy(dst, v->valuestring, n + 1);
	return 0;
}

static bool payload_uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

static bool payload_rule_id_ok(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

int payload_control_decode(const char *s, size_t len, struct payload_control *c,
			   char *err, size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(s, len);
	char kind[16], op[4], xid[24];
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (!o || !cJSON_IsObject(o)) {
		payload_err(err, errlen, "not a JSON object");
		goto out;
	}
	if (payload_jstr(o, "k", kind, sizeof(kind), false, err, errlen) ||
	    payload_jstr(o, "x", xid, sizeof(xid), false, err, errlen) ||
	    payload_jstr(o, "op", op, sizeof(op), false, err, errlen) ||
	    payload_jstr(o, "tenant", c->tenant, sizeof(c->tenant), false, err, errlen))
		goto out;
	if (payload_u64(xid, strlen(xid), &c->xid)) {
		payload_err(err, errlen, "x: not a decimal xid");
		goto out;
	}
	if (strlen(op) != 1 || !strchr("IUD", op[0])) {
		payload_err(err, errlen, "op: not I, U or D");
		goto out;
	}
	c->op = op[0];
	if (!payload_uuid_ok(c->tenant)) {
		payload_err(err, errlen, "tenant: not a uuid");
		goto out;
	}
	if (strcmp(kind, "rule") == 0) {
		c->kind = PAYLOAD_RULE;
		if (payload_jstr(o, "rule", c->rule, sizeof(c->rule), false, err, errlen) ||
		    payload_jstr(o, "symbol", c->symbol, sizeof(c->symbol), false, err,
				 errlen) ||
		    payload_jstr(o, "old_symbol", c->old_symbol, sizeof(c->old_symbol),
				 true, err, errlen))
			goto out;
		if (!payload_rule_id_ok(c->rule)) {
			payload_err(err, errlen, "rule: not 64 lower-case hex digits");
			goto out;
		}
		if (!payload_symbol_ok(c->symbol, strlen(c->symbol)) ||
		    (c->old_symbol[0] &&
		     !payload_symbol_ok(c->old_symbol, strlen(c->old_symbol)))) {
			payload_err(err, errlen, "symbol: has control characters");
			goto out;
		}
	} else if (strcmp(kind, "consent") == 0) {
		c->kind = PAYLOAD_CONSENT;
		if (payload_jstr(o, "profile", c->profile, sizeof(c->profile), false, err,
				 errlen) ||
		    payload_jstr(o, "channel", c->channel, sizeof(c->channel), false, err,
				 errlen))
			goto out;
	} else if (strcmp(kind, "tenant") == 0) {
		c->kind = PAYLOAD_TENANT;
		if (payload_jstr(o, "status", c->status, sizeof(c->status), false, err,
				 errlen))
			goto out;
	} else {
		payload_err(err, errlen, "k: unknown kind");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int payload_snapshot_parse(const char *s, struct payload_snapshot *snap)
{
	const char *c1, *c2, *p;
	size_t n = 0;

	memset(snap, 0, sizeof(*snap));
	c1 = strchr(s, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || payload_u64(s, (size_t)(c1 - s), &snap->xmin) ||
	    payload_u64(c1 + 1, (size_t)(c2 - c1 - 1), &snap->xmax) ||
	    snap->xmin > snap->xmax)
		return -1;
	p = c2 + 1;
	if (*p) {
		size_t cap = 1;

		for (const char *q = p; *q; q++)
			if (*q == ',')
				cap++;
		snap->xip = calloc(cap, sizeof(*snap->xip));
		if (!snap->xip)
			return -1;
		while (n < cap) {
			const char *comma = strchr(p, ',');
			size_t l = comma ? (size_t)(comma - p) : strlen(p);

			if (payload_u64(p, l, &snap->xip[n]) ||
			    snap->xip[n] < snap->xmin || snap->xip[n] >= snap->xmax)
				goto fail;
			n++;
			p += l + (comma ? 1 : 0);
		}
	}
	snap->nxip = n;
	return 0;
fail:
	payload_snapshot_free(snap);
	return -1;
}

void payload_snapshot_free(struct payload_snapshot *snap)
{
	free(snap->xip);
	memset(snap, 0, sizeof(*snap));
}

bool payload_snapshot_visible(const struct payload_snapshot *snap, uint64_t xid)
{
	if (xid < snap->xmin)
		return true;
	if (xid >= snap->xmax)
		return false;
	for (size_t i = 0; i < snap->nxip; i++)
		if (snap->xip[i] == xid)
			return false;
	return true;
}
