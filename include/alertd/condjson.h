/*
 * condjson.h — the strict JSON text reader under cond.c: one token at a
 * time over a condition_logic text, and error messages that name the path
 * of the part that is wrong ("all[1].value: ...").
 *
 * Numbers go from their text straight to dec_parse, never through double.
 * Pure; any thread (a reader belongs to the caller that holds it).
 */
#ifndef LEO_CONDJSON_H
#define LEO_CONDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "dec.h"

#define CONDJSON_PATH_MAX 192

/* The text, where the reader is in it, and the path there. */
struct condjson {
	const char *s;
	size_t len, pos;
	char *err;		/* the caller's message buffer (may be NULL) */
	size_t errlen;
	size_t plen;
	char path[CONDJSON_PATH_MAX];	/* "" is the whole condition, "$" in messages */
};

/* Report "PATH[.KEY]: message" into err; always returns -1.  A key that
 * starts with '[' is a quoted one (condjson_printable): PATH["k"]. */
int condjson_fail(struct condjson *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Skip white space; the next byte, or -1 at the end of the text. */
static inline void condjson_ws(struct condjson *r)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		r->pos++;
	}
}

static inline int condjson_peek(struct condjson *r)
{
	condjson_ws(r);
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

/* The whole text: valid UTF-8 (no overlongs, no surrogates), no NUL byte. */
int condjson_check_utf8(struct condjson *r) __attribute__((warn_unused_result));

/*
 * The JSON string at r->pos (its opening quote), decoded into out[cap];
 * *outlen is the decoded length, which may exceed cap - 1 (only the first
 * bytes are kept then).  Errors are reported at key (NULL: the path).
 */
int condjson_string(struct condjson *r, const char *key, char *out, size_t cap,
		    size_t *outlen) __attribute__((warn_unused_result));

/*
 * The JSON number at r->pos into *out (dec_parse, DEC_OPERAND), and its
 * text; exponents and non-JSON forms are refused.
 */
int condjson_number(struct condjson *r, const char *key, dec_t *out,
		    const char **tok, size_t *toklen) __attribute__((warn_unused_result));

/* The next byte must be ch (what names it in the message). */
int condjson_expect(struct condjson *r, const char *key, char ch, const char *what)
	__attribute__((warn_unused_result));

/* The JSON type that starts with byte c, named as jsonb_typeof() names it. */
const char *condjson_kind_of(int c);

/* Path steps: ".key" (saving the length to restore), "[i]", and back. */
void condjson_path_key(struct condjson *r, const char *key, size_t *saved);
void condjson_path_index(struct condjson *r, size_t i);
void condjson_path_restore(struct condjson *r, size_t saved);

/*
 * A (possibly hostile) string for a message: a JSON string with quotes,
 * backslashes and control bytes escaped; as a key, an identifier stays bare
 * and anything else becomes ["..."].
 */
void condjson_printable(char *dst, size_t cap, const char *src, size_t len, bool key);

#endif
