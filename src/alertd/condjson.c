/*
 * condjson.c — the strict JSON text reader of condjson.h, under cond.c's
 * condition grammar.  Pure; any thread.
 *
 * DESIGN
 * Just enough JSON for SPEC section 3, read token by token by cond.c: white
 * space, strings (every escape, surrogate pairs, no NUL), numbers and the
 * punctuation.  It does not go through cJSON because cJSON turns numbers
 * into doubles: here a number's text goes straight to dec_parse, so 150.1
 * is 150.1.  The whole text is checked to be UTF-8 before any token.
 *
 * Errors carry the path of the part that is wrong, kept here as the grammar
 * descends ("$" is the whole condition; a key that is not an identifier is
 * quoted, $["a b"]), in the wording of the database's leo_condition_check()
 * (schema/20_condition.sql).
 */
#include "condjson.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Report "PATH[.KEY]: message"; always returns -1. */
int condjson_fail(struct condjson *r, const char *key, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!r->err || !r->errlen)
		return -1;
	if (r->plen == 0 && !key)
		snprintf(r->err, r->errlen, "$: %s", msg);
	else if (!key)
		snprintf(r->err, r->errlen, "%s: %s", r->path, msg);
	else if (key[0] == '[')		/* a quoted key: path["k"] */
		snprintf(r->err, r->errlen, "%s%s: %s", r->plen ? r->path : "$", key, msg);
	else
		snprintf(r->err, r->errlen, "%s%s%s: %s", r->path,
			 r->plen ? "." : "", key, msg);
	return -1;
}

/* Whole text: valid UTF-8 (no overlongs, no surrogates), no NUL byte. */
int condjson_check_utf8(struct condjson *r)
{
	const unsigned char *p = (const unsigned char *)r->s;
	size_t i = 0, n = r->len;

	while (i < n) {
		unsigned c = p[i];
		size_t k;
		unsigned cp, min;

		if (c == 0)
			return condjson_fail(r, NULL, "NUL character in the text");
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return condjson_fail(r, NULL, "invalid UTF-8");
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
				return condjson_fail(r, NULL, "invalid UTF-8");
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return condjson_fail(r, NULL, "invalid UTF-8");
		i += k + 1;
	}
	return 0;
}

static int condjson_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int condjson_u4(struct condjson *r, unsigned *out)
{
	unsigned v = 0;

	if (r->pos + 4 > r->len)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = condjson_hex((unsigned char)r->s[r->pos + i]);

		if (h < 0)
			return -1;
		v = v << 4 | (unsigned)h;
	}
	r->pos += 4;
	*out = v;
	return 0;
}

/*
 * Read a JSON string at r->pos (the opening quote) and decode it into
 * out[cap]; *outlen is the decoded length, which may exceed cap - 1 (then only
 * the first bytes are kept, and the string matches no name we know).
 */
int condjson_string(struct condjson *r, const char *key, char *out,
		       size_t cap, size_t *outlen)
{
	size_t n = 0;

	r->pos++;	/* '"' */
	for (;;) {
		unsigned char c;
		unsigned cp;
		char enc[4];
		size_t el;

		if (r->pos >= r->len)
			return condjson_fail(r, key, "unterminated string");
		c = (unsigned char)r->s[r->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return condjson_fail(r, key, "control character in a string");
		if (c != '\\') {
			if (n + 1 < cap)
				out[n] = (char)c;
			n++;
			continue;
		}
		if (r->pos >= r->len)
			return condjson_fail(r, key, "unterminated string");
		c = (unsigned char)r->s[r->pos++];
		switch (c) {
		case '"': case '\\': case '/':
			cp = c; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (condjson_u4(r, &cp))
				return condjson_fail(r, key, "bad \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;

				if (r->pos + 2 > r->len || r->s[r->pos] != '\\' ||
				    r->s[r->pos + 1] != 'u')
					return condjson_fail(r, key, "unpaired surrogate escape");
				r->pos += 2;
				if (condjson_u4(r, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return condjson_fail(r, key, "unpaired surrogate escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return condjson_fail(r, key, "unpaired surrogate escape");
			}
			if (cp == 0)
				return condjson_fail(r, key, "NUL character in a string");
			break;
		default:
			return condjson_fail(r, key, "bad escape in a string");
		}
		if (cp < 0x80) {
			enc[0] = (char)cp; el = 1;
		} else if (cp < 0x800) {
			enc[0] = (char)(0xc0 | cp >> 6);
			enc[1] = (char)(0x80 | (cp & 0x3f)); el = 2;
		} else if (cp < 0x10000) {
			enc[0] = (char)(0xe0 | cp >> 12);
			enc[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			enc[2] = (char)(0x80 | (cp & 0x3f)); el = 3;
		} else {
			enc[0] = (char)(0xf0 | cp >> 18);
			enc[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			enc[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			enc[3] = (char)(0x80 | (cp & 0x3f)); el = 4;
		}
		for (size_t i = 0; i < el; i++, n++)
			if (n + 1 < cap)
				out[n] = enc[i];
	}
	out[n < cap ? n : cap - 1] = '\0';
	*outlen = n;
	return 0;
}

/* The JSON type that starts with c, named as jsonb_typeof() names it. */
const char *condjson_kind_of(int c)
{
	switch (c) {
	case '"': return "string";
	case '{': return "object";
	case '[': return "array";
	case 't': case 'f': return "boolean";
	case 'n': return "null";
	case -1: return "end of text";
	default: return (c == '-' || (c >= '0' && c <= '9')) ? "number" : "JSON";
	}
}

/*
 * A JSON number token at r->pos.  Exponents and non-JSON forms (leading
 * zeros, '+', a bare '.') are refused; the text goes to dec_parse.
 */
int condjson_number(struct condjson *r, const char *key, dec_t *out,
		       const char **tok, size_t *toklen)
{
	const char *why;
	int c = condjson_peek(r);
	size_t st = r->pos, i = r->pos;

	if (c != '-' && !(c >= '0' && c <= '9')) {
		if (c == -1 || strchr("\"{[tfn", c))
			return condjson_fail(r, key, "must be a JSON number, not %s",
					 condjson_kind_of(c));
		return condjson_fail(r, key, "not a valid JSON number");
	}
	if (r->s[i] == '-')
		i++;
	if (i < r->len && r->s[i] == '0') {
		i++;
	} else if (i < r->len && r->s[i] >= '1' && r->s[i] <= '9') {
		while (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
			i++;
	} else {
		return condjson_fail(r, key, "not a valid JSON number");
	}
	if (i < r->len && r->s[i] == '.') {
		i++;
		if (i >= r->len || r->s[i] < '0' || r->s[i] > '9')
			return condjson_fail(r, key, "not a valid JSON number");
		while (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
			i++;
	}
	if (i < r->len && (r->s[i] == 'e' || r->s[i] == 'E'))
		return condjson_fail(r, key, "exponent notation not allowed");
	if (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
		return condjson_fail(r, key, "not a valid JSON number");
	r->pos = i;
	*tok = r->s + st;
	*toklen = i - st;
	if (dec_parse(r->s + st, i - st, DEC_OPERAND, out, &why))
		return condjson_fail(r, key, "%s", why);
	return 0;
}

int condjson_expect(struct condjson *r, const char *key, char ch,
		       const char *what)
{
	int c = condjson_peek(r);

	if (c != ch)
		return condjson_fail(r, key, "expected %s, found %s", what,
				 c == -1 ? "end of text" : c == '}' ? "'}'" :
				 c == ']' ? "']'" : c == ',' ? "','" :
				 c == ':' ? "':'" : condjson_kind_of(c));
	r->pos++;
	return 0;
}

void condjson_path_key(struct condjson *r, const char *key, size_t *saved)
{
	*saved = r->plen;
	r->plen += (size_t)snprintf(r->path + r->plen, sizeof(r->path) - r->plen,
				    "%s%s", r->plen ? "." : "", key);
	if (r->plen >= sizeof(r->path))
		r->plen = sizeof(r->path) - 1;
}

void condjson_path_index(struct condjson *r, size_t i)
{
	r->plen += (size_t)snprintf(r->path + r->plen, sizeof(r->path) - r->plen,
				    "[%zu]", i);
	if (r->plen >= sizeof(r->path))
		r->plen = sizeof(r->path) - 1;
}

void condjson_path_restore(struct condjson *r, size_t saved)
{
	r->plen = saved;
	r->path[saved] = '\0';
}

/*
 * A (possibly hostile) string for an error message, as a JSON string with
 * quotes, backslashes and control bytes escaped; as a key (`key` true) an
 * identifier stays bare and anything else becomes ["..."] (as
 * leo_condition_path does).  src holds at most the string's first bytes.
 */
void condjson_printable(char *dst, size_t cap, const char *src, size_t len,
			   bool key)
{
	bool ident = key && len > 0 && !(src[0] >= '0' && src[0] <= '9');
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			ident = false;
	}
	if (ident) {
		snprintf(dst, cap, "%.*s", (int)len, src);
		return;
	}
	n += (size_t)snprintf(dst, cap, "%s\"", key ? "[" : "");
	for (size_t i = 0; i < len && n + 8 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '"' || c == '\\')
			n += (size_t)snprintf(dst + n, cap - n, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
		else
			dst[n++] = (char)c;
	}
	snprintf(dst + n, cap - n, "\"%s", key ? "]" : "");
}

