/*
 * cond.c — condition_logic JSON text -> compiled condition (cond_int.h).
 *
 * Pure; any thread.  Called by the workers on rule load and by tests.
 *
 * DESIGN
 * A small strict JSON reader for exactly the grammar of SPEC section 3.  It
 * does not go through cJSON because cJSON turns numbers into doubles: here a
 * number's text goes straight to dec_parse, so 150.1 is 150.1.  The reader
 * recurses once per object and array, and refuses a composite before
 * descending past the 8-composite limit, so hostile nesting costs at most
 * 2 * 9 stack frames.  It never needs to skip an arbitrary JSON value: an
 * unknown key is an error the moment its name has been read.
 *
 * Every error names the path of the part that is wrong and the problem, as in
 * "all[1].value: more than 8 fractional digits"; "$" is the whole condition,
 * and a key that is not an identifier is quoted ($["a b"]).  The wording
 * follows the database's leo_condition_check() (schema/20_condition.sql),
 * which accepts the same language on the jsonb form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "cond_int.h"
#include "dec.h"

/* Composites are at most 8 per path and each has a leaf below it. */
#define COND_MAX_NODES (COND_MAX_LEAVES * (COND_MAX_DEPTH + 1) + COND_MAX_DEPTH)
#define COND_PATH_MAX 192

enum {
	K_OPERATOR = 1 << 0, K_FIELD = 1 << 1, K_VALUE = 1 << 2, K_LOW = 1 << 3,
	K_HIGH = 1 << 4, K_WINDOW = 1 << 5, K_ALL = 1 << 6, K_ANY = 1 << 7,
	K_NOT = 1 << 8
};

static const struct {
	const char *name;
	unsigned bit;
} cond_keys[] = {
	{ "operator", K_OPERATOR }, { "field", K_FIELD }, { "value", K_VALUE },
	{ "low", K_LOW }, { "high", K_HIGH }, { "window_seconds", K_WINDOW },
	{ "all", K_ALL }, { "any", K_ANY }, { "not", K_NOT },
};

static const struct {
	const char *name;
	enum cond_op op;
	unsigned operands;	/* keys it requires (and the only ones it allows) */
} cond_ops[] = {
	{ ">", COND_GT, K_VALUE }, { ">=", COND_GE, K_VALUE },
	{ "<", COND_LT, K_VALUE }, { "<=", COND_LE, K_VALUE },
	{ "==", COND_EQ, K_VALUE }, { "!=", COND_NE, K_VALUE },
	{ "crosses_above", COND_CROSSES_ABOVE, K_VALUE },
	{ "crosses_below", COND_CROSSES_BELOW, K_VALUE },
	{ "crosses", COND_CROSSES, K_VALUE },
	{ "between", COND_BETWEEN, K_LOW | K_HIGH },
	{ "outside", COND_OUTSIDE, K_LOW | K_HIGH },
	{ "enters", COND_ENTERS, K_LOW | K_HIGH },
	{ "exits", COND_EXITS, K_LOW | K_HIGH },
	{ "moves_up_pct", COND_MOVES_UP_PCT, K_VALUE | K_WINDOW },
	{ "moves_down_pct", COND_MOVES_DOWN_PCT, K_VALUE | K_WINDOW },
};

struct cond_reader {
	/* cond_read() zeroes everything before `small`. */
	const char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
	struct cond_node *node;	/* cap nodes: `small` or the heap */
	size_t n, cap;
	int leaves;
	size_t plen;
	char path[COND_PATH_MAX];
	struct cond_node small[8];
};

/* Report "PATH[.KEY]: message"; always returns -1. */
static int __attribute__((format(printf, 3, 4)))
cond_fail(struct cond_reader *r, const char *key, const char *fmt, ...)
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

static void cond_ws(struct cond_reader *r)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		r->pos++;
	}
}

static int cond_peek(struct cond_reader *r)
{
	cond_ws(r);
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

/* Whole text: valid UTF-8 (no overlongs, no surrogates), no NUL byte. */
static int cond_check_utf8(struct cond_reader *r)
{
	const unsigned char *p = (const unsigned char *)r->s;
	size_t i = 0, n = r->len;

	while (i < n) {
		unsigned c = p[i];
		size_t k;
		unsigned cp, min;

		if (c == 0)
			return cond_fail(r, NULL, "NUL character in the text");
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
			return cond_fail(r, NULL, "invalid UTF-8");
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
				return cond_fail(r, NULL, "invalid UTF-8");
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return cond_fail(r, NULL, "invalid UTF-8");
		i += k + 1;
	}
	return 0;
}

static int cond_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int cond_u4(struct cond_reader *r, unsigned *out)
{
	unsigned v = 0;

	if (r->pos + 4 > r->len)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = cond_hex((unsigned char)r->s[r->pos + i]);

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
static int cond_string(struct cond_reader *r, const char *key, char *out,
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
			return cond_fail(r, key, "unterminated string");
		c = (unsigned char)r->s[r->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return cond_fail(r, key, "control character in a string");
		if (c != '\\') {
			if (n + 1 < cap)
				out[n] = (char)c;
			n++;
			continue;
		}
		if (r->pos >= r->len)
			return cond_fail(r, key, "unterminated string");
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
			if (cond_u4(r, &cp))
				return cond_fail(r, key, "bad \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;

				if (r->pos + 2 > r->len || r->s[r->pos] != '\\' ||
				    r->s[r->pos + 1] != 'u')
					return cond_fail(r, key, "unpaired surrogate escape");
				r->pos += 2;
				if (cond_u4(r, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return cond_fail(r, key, "unpaired surrogate escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return cond_fail(r, key, "unpaired surrogate escape");
			}
			if (cp == 0)
				return cond_fail(r, key, "NUL character in a string");
			break;
		default:
			return cond_fail(r, key, "bad escape in a string");
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
static const char *cond_kind_of(int c)
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
static int cond_number(struct cond_reader *r, const char *key, dec_t *out,
		       const char **tok, size_t *toklen)
{
	const char *why;
	int c = cond_peek(r);
	size_t st = r->pos, i = r->pos;

	if (c != '-' && !(c >= '0' && c <= '9')) {
		if (c == -1 || strchr("\"{[tfn", c))
			return cond_fail(r, key, "must be a JSON number, not %s",
					 cond_kind_of(c));
		return cond_fail(r, key, "not a valid JSON number");
	}
	if (r->s[i] == '-')
		i++;
	if (i < r->len && r->s[i] == '0') {
		i++;
	} else if (i < r->len && r->s[i] >= '1' && r->s[i] <= '9') {
		while (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
			i++;
	} else {
		return cond_fail(r, key, "not a valid JSON number");
	}
	if (i < r->len && r->s[i] == '.') {
		i++;
		if (i >= r->len || r->s[i] < '0' || r->s[i] > '9')
			return cond_fail(r, key, "not a valid JSON number");
		while (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
			i++;
	}
	if (i < r->len && (r->s[i] == 'e' || r->s[i] == 'E'))
		return cond_fail(r, key, "exponent notation not allowed");
	if (i < r->len && r->s[i] >= '0' && r->s[i] <= '9')
		return cond_fail(r, key, "not a valid JSON number");
	r->pos = i;
	*tok = r->s + st;
	*toklen = i - st;
	if (dec_parse(r->s + st, i - st, DEC_OPERAND, out, &why))
		return cond_fail(r, key, "%s", why);
	return 0;
}

static int cond_expect(struct cond_reader *r, const char *key, char ch,
		       const char *what)
{
	int c = cond_peek(r);

	if (c != ch)
		return cond_fail(r, key, "expected %s, found %s", what,
				 c == -1 ? "end of text" : c == '}' ? "'}'" :
				 c == ']' ? "']'" : c == ',' ? "','" :
				 c == ':' ? "':'" : cond_kind_of(c));
	r->pos++;
	return 0;
}

static void cond_path_key(struct cond_reader *r, const char *key, size_t *saved)
{
	*saved = r->plen;
	r->plen += (size_t)snprintf(r->path + r->plen, sizeof(r->path) - r->plen,
				    "%s%s", r->plen ? "." : "", key);
	if (r->plen >= sizeof(r->path))
		r->plen = sizeof(r->path) - 1;
}

static void cond_path_index(struct cond_reader *r, size_t i)
{
	r->plen += (size_t)snprintf(r->path + r->plen, sizeof(r->path) - r->plen,
				    "[%zu]", i);
	if (r->plen >= sizeof(r->path))
		r->plen = sizeof(r->path) - 1;
}

static void cond_path_restore(struct cond_reader *r, size_t saved)
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
static void cond_printable(char *dst, size_t cap, const char *src, size_t len,
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

static int cond_object(struct cond_reader *r, int depth);

/* The array of all/any at r->pos; path already ends in the key. */
static int cond_array(struct cond_reader *r, int depth)
{
	size_t i = 0;

	if (cond_peek(r) != '[')
		return cond_fail(r, NULL, "must be a JSON array, not %s",
				 cond_kind_of(cond_peek(r)));
	r->pos++;
	if (cond_peek(r) == ']')
		return cond_fail(r, NULL, "must not be empty");
	for (;; i++) {
		size_t saved = r->plen;
		int c;

		cond_path_index(r, i);
		if (cond_object(r, depth))
			return -1;
		cond_path_restore(r, saved);
		c = cond_peek(r);
		if (c == ',') {
			r->pos++;
			continue;
		}
		if (c == ']') {
			r->pos++;
			return 0;
		}
		return cond_fail(r, NULL, "expected ',' or ']' after element %zu", i);
	}
}

static int cond_window(struct cond_reader *r, uint32_t *out)
{
	const char *tok;
	size_t tl;
	dec_t v;

	if (cond_number(r, "window_seconds", &v, &tok, &tl))
		return -1;
	if (memchr(tok, '.', tl))
		return cond_fail(r, "window_seconds", "must be an integer");
	if (v < DEC_ONE || v > (dec_t)COND_MAX_WINDOW_S * DEC_ONE)
		return cond_fail(r, "window_seconds", "must be between 1 and 86400");
	*out = (uint32_t)(v / DEC_ONE);
	return 0;
}

/*
 * One condition object at r->pos.  `depth` counts the composites above it.
 * Appends its node (and its children's) to r->node.
 */
static int cond_object(struct cond_reader *r, int depth)
{
	struct cond_node nd;
	size_t me, saved;
	unsigned seen = 0;
	char kbuf[24], sbuf[24];
	size_t klen, slen;
	const char *opname = NULL;
	int c;

	memset(&nd, 0, sizeof(nd));
	c = cond_peek(r);
	if (c != '{')
		return cond_fail(r, NULL, "must be a JSON object, not %s", cond_kind_of(c));
	r->pos++;
	if (r->n >= r->cap) {
		size_t ncap = r->cap * 4 < COND_MAX_NODES ? r->cap * 4 : COND_MAX_NODES;
		struct cond_node *nn;

		if (r->n >= COND_MAX_NODES)
			return cond_fail(r, NULL, "too many nodes");
		nn = malloc(ncap * sizeof(*nn));
		if (!nn)
			return cond_fail(r, NULL, "out of memory");
		memcpy(nn, r->node, r->n * sizeof(*nn));
		if (r->node != r->small)
			free(r->node);
		r->node = nn;
		r->cap = ncap;
	}
	me = r->n++;
	memset(&r->node[me], 0, sizeof(r->node[me]));

	c = cond_peek(r);
	if (c == '}') {
		r->pos++;
		return cond_fail(r, "operator", "missing (expected a leaf with \"operator\" "
				 "or one of \"all\", \"any\", \"not\")");
	}
	for (;;) {
		unsigned bit = 0;
		const char *kname = NULL;

		c = cond_peek(r);
		if (c != '"')
			return cond_fail(r, NULL, c == -1 ? "expected a key, found end of text"
						  : "expected a key (a JSON string)");
		if (cond_string(r, NULL, kbuf, sizeof(kbuf), &klen))
			return -1;
		for (size_t k = 0; k < sizeof(cond_keys) / sizeof(cond_keys[0]); k++)
			if (klen == strlen(cond_keys[k].name) &&
			    memcmp(kbuf, cond_keys[k].name, klen) == 0) {
				bit = cond_keys[k].bit;
				kname = cond_keys[k].name;
			}
		if (!bit) {
			char pk[80];

			cond_printable(pk, sizeof(pk), kbuf, klen < sizeof(kbuf) - 1 ?
				       klen : sizeof(kbuf) - 1, true);
			return cond_fail(r, pk, "unknown key");
		}
		if (seen & bit)
			return cond_fail(r, kname, "duplicate key");
		if (seen & (K_ALL | K_ANY | K_NOT))
			return cond_fail(r, kname, "unknown key (a composite has exactly one "
					 "key, here \"%s\")", seen & K_ALL ? "all" :
					 seen & K_ANY ? "any" : "not");
		if ((bit & (K_ALL | K_ANY | K_NOT)) && opname)
			return cond_fail(r, kname, "unknown key for operator \"%s\"", opname);
		if ((bit & (K_ALL | K_ANY | K_NOT)) && seen)
			return cond_fail(r, kname, "unknown key (a composite has exactly one key)");
		seen |= bit;
		if (cond_expect(r, kname, ':', "':'"))
			return -1;

		switch (bit) {
		case K_ALL:
		case K_ANY:
		case K_NOT:
			cond_path_key(r, kname, &saved);
			if (depth + 1 > COND_MAX_DEPTH) {
				cond_path_restore(r, saved);
				return cond_fail(r, kname, "more than 8 nested composites");
			}
			if (bit == K_NOT) {
				if (cond_object(r, depth + 1))
					return -1;
			} else if (cond_array(r, depth + 1)) {
				return -1;
			}
			cond_path_restore(r, saved);
			nd.op = bit == K_ALL ? COND_ALL : bit == K_ANY ? COND_ANY : COND_NOT;
			break;
		case K_OPERATOR:
		case K_FIELD:
			c = cond_peek(r);
			if (c != '"' && bit == K_FIELD)
				return cond_fail(r, kname, "must be \"price\" or \"change_percent\"");
			if (c != '"')
				return cond_fail(r, kname, "must be a JSON string, not %s",
						 cond_kind_of(c));
			if (cond_string(r, kname, sbuf, sizeof(sbuf), &slen))
				return -1;
			if (bit == K_FIELD) {
				if (slen == 5 && memcmp(sbuf, "price", 5) == 0)
					nd.field = COND_FIELD_PRICE;
				else if (slen == 14 && memcmp(sbuf, "change_percent", 14) == 0)
					nd.field = COND_FIELD_CHG;
				else
					return cond_fail(r, kname, "must be \"price\" or \"change_percent\"");
				break;
			}
			for (size_t k = 0; k < sizeof(cond_ops) / sizeof(cond_ops[0]); k++)
				if (slen == strlen(cond_ops[k].name) &&
				    memcmp(sbuf, cond_ops[k].name, slen) == 0) {
					nd.op = (uint8_t)cond_ops[k].op;
					opname = cond_ops[k].name;
				}
			if (!opname) {
				char pv[80];

				cond_printable(pv, sizeof(pv), sbuf, slen < sizeof(sbuf) - 1 ?
					       slen : sizeof(sbuf) - 1, false);
				return cond_fail(r, kname, "unknown operator %s", pv);
			}
			break;
		case K_VALUE:
		case K_LOW:
		case K_HIGH: {
			dec_t v;
			const char *tok;
			size_t tl;

			if (cond_number(r, kname, &v, &tok, &tl))
				return -1;
			if (bit == K_HIGH)
				nd.b = v;
			else
				nd.a = v;
			break;
		}
		case K_WINDOW:
			if (cond_window(r, &nd.window_s))
				return -1;
			break;
		}

		c = cond_peek(r);
		if (c == ',') {
			r->pos++;
			continue;
		}
		if (c == '}') {
			r->pos++;
			break;
		}
		return cond_fail(r, NULL, "expected ',' or '}' after %s", kname);
	}

	if (seen & (K_ALL | K_ANY | K_NOT)) {
		nd.size = (uint16_t)(r->n - me);
		r->node[me] = nd;
		return 0;
	}

	/* A leaf: the operator decides which operands it needs and allows. */
	if (!(seen & K_OPERATOR))
		return cond_fail(r, "operator", "missing (expected a leaf with \"operator\" "
				 "or one of \"all\", \"any\", \"not\")");
	{
		unsigned want = 0;
		static const unsigned operands = K_VALUE | K_LOW | K_HIGH | K_WINDOW;

		for (size_t k = 0; k < sizeof(cond_ops) / sizeof(cond_ops[0]); k++)
			if (cond_ops[k].op == nd.op)
				want = cond_ops[k].operands;
		for (size_t k = 0; k < sizeof(cond_keys) / sizeof(cond_keys[0]); k++) {
			unsigned b = cond_keys[k].bit;

			if (!(b & operands))
				continue;
			if ((seen & b) && !(want & b))
				return cond_fail(r, cond_keys[k].name,
						 "unknown key for operator \"%s\"", opname);
			if (!(seen & b) && (want & b))
				return cond_fail(r, cond_keys[k].name,
						 "missing (operator \"%s\" needs it)", opname);
		}
	}
	if (cond_op_has_range(nd.op) && nd.a > nd.b)
		return cond_fail(r, "low", "greater than high");
	if (cond_op_is_moves(nd.op)) {
		if (nd.field != COND_FIELD_PRICE)
			return cond_fail(r, "field", "must be \"price\" for operator \"%s\"", opname);
		if (nd.a <= 0)
			return cond_fail(r, "value", "must be greater than 0");
	}
	if (++r->leaves > COND_MAX_LEAVES)
		return cond_fail(r, NULL, "more than 64 leaves");
	nd.size = 1;
	r->node[me] = nd;
	return 0;
}

/* Parse the whole text into r->node; 0 or -1 (message in r->err). */
static int cond_read(struct cond_reader *r, const char *json, size_t len,
		     char *err, size_t errlen)
{
	memset(r, 0, offsetof(struct cond_reader, small));
	r->s = json;
	r->len = len;
	r->err = err;
	r->errlen = errlen;
	r->node = r->small;
	r->cap = sizeof(r->small) / sizeof(r->small[0]);
	r->path[0] = '\0';
	if (err && errlen)
		err[0] = '\0';
	if (!json)
		return cond_fail(r, NULL, "no text");
	if (cond_check_utf8(r) || cond_object(r, 0))
		return -1;
	if (cond_peek(r) != -1) {
		r->plen = 0;
		r->path[0] = '\0';
		return cond_fail(r, NULL, "unexpected text after the object");
	}
	return 0;
}

static uint32_t cond_flags_of(const struct cond_node *node, size_t n)
{
	uint32_t flags = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned op = node[i].op;

		if ((op >= COND_CROSSES_ABOVE && op <= COND_CROSSES) ||
		    op == COND_ENTERS || op == COND_EXITS)
			flags |= COND_F_EDGE;
		if (cond_op_is_moves(op))
			flags |= COND_F_EDGE | COND_F_MOVES;
	}
	return flags;
}

static struct cond *cond_alloc(struct cond_reader *r)
{
	struct cond *c = malloc(sizeof(*c) + r->n * sizeof(c->node[0]));

	if (!c) {
		cond_fail(r, NULL, "out of memory");
		return NULL;
	}
	c->n = (uint32_t)r->n;
	c->flags = cond_flags_of(r->node, r->n);
	memcpy(c->node, r->node, r->n * sizeof(c->node[0]));
	return c;
}

struct cond *cond_compile(const char *json, size_t len, char *err, size_t errlen)
{
	struct cond_reader r;
	struct cond *c = NULL;

	if (cond_read(&r, json, len, err, errlen) == 0)
		c = cond_alloc(&r);
	if (r.node != r.small)
		free(r.node);
	return c;
}

int cond_compile_leaf(const char *json, size_t len, struct cond_node *leaf,
		      uint32_t *flags, struct cond **out, char *err, size_t errlen)
{
	struct cond_reader r;
	int rc = -1;

	*out = NULL;
	if (cond_read(&r, json, len, err, errlen) == 0) {
		if (r.n == 1) {
			*leaf = r.node[0];
			*flags = cond_flags_of(r.node, 1);
			rc = 1;
		} else if ((*out = cond_alloc(&r))) {
			rc = 0;
		}
	}
	if (r.node != r.small)
		free(r.node);
	return rc;
}

void cond_free(struct cond *c)
{
	free(c);
}

bool cond_is_edge(const struct cond *c)
{
	return (c->flags & COND_F_EDGE) != 0;
}
