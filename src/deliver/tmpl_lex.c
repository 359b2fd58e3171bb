/*
 * tmpl_lex.c — the template source as tokens: text between tags (already
 * trimmed by "-" whitespace control), tag openers and closers, and the
 * tokens of the expressions inside tags.  Comments are dropped here.
 * One pass, linear in the source.  Pure; any thread (runs in
 * tmpl_compile).
 *
 * As Jinja2's lexer: "{{-", "{%-", "{#-" strip all whitespace before the
 * tag, "-}}", "-%}", "-#}" all whitespace after it; the "-" must touch the
 * braces.  A comment ends at the first "#}".
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

struct lex {
	const char *s;
	size_t len, pos;
	struct tmpl_arena *a;
	struct tmpl_tok *toks;
	size_t n, cap;
	struct tmpl_err *err;
};

static struct tmpl_tok *lex_push(struct lex *l, enum tmpl_tk type, size_t pos, size_t len)
{
	struct tmpl_tok *t;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct tmpl_tok *n = realloc(l->toks, cap * sizeof(*n));

		if (!n) {
			tmpl_parse_err(l->err, l->s, pos, "out of memory");
			return NULL;
		}
		l->toks = n;
		l->cap = cap;
	}
	t = &l->toks[l->n++];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->pos = pos;
	t->len = len;
	return t;
}

static bool lex_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The next "{{", "{%" or "{#" at or after from; len when there is none. */
static size_t lex_opener(const struct lex *l, size_t from)
{
	while (from + 1 < l->len) {
		const char *p = memchr(l->s + from, '{', l->len - from - 1);

		if (!p)
			break;
		from = (size_t)(p - l->s);
		if (p[1] == '{' || p[1] == '%' || p[1] == '#')
			return from;
		from++;
	}
	return l->len;
}

/* A string literal at l->pos (its quote); decoded into the arena. */
static int lex_string(struct lex *l)
{
	char q = l->s[l->pos];
	size_t start = l->pos, i = l->pos + 1, n = 0;
	struct tmpl_tok *t;
	char *out;

	while (i < l->len && l->s[i] != q)
		i += (l->s[i] == '\\' && i + 1 < l->len) ? 2 : 1;
	if (i >= l->len) {
		tmpl_parse_err(l->err, l->s, start, "unterminated string");
		return -1;
	}
	out = tmpl_arena_alloc(l->a, i - start + 1);
	if (!out) {
		tmpl_parse_err(l->err, l->s, start, "out of memory");
		return -1;
	}
	for (size_t j = start + 1; j < i; j++) {
		char c = l->s[j];

		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		c = l->s[++j];
		switch (c) {
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'a': out[n++] = '\a'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'v': out[n++] = '\v'; break;
		case '\\': case '\'': case '"': out[n++] = c; break;
		case '\n': break;	/* a backslash-newline joins lines, as in Python */
		case 'x': case 'u': case 'U': case 'N':
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			tmpl_parse_err(l->err, l->s, j - 1, "unsupported escape '\\%c' in a string", c);
			return -1;
		default:		/* Python keeps unknown escapes as they are */
			out[n++] = '\\';
			out[n++] = c;
		}
	}
	t = lex_push(l, TK_STR, start, i + 1 - start);
	if (!t)
		return -1;
	t->s = out;
	t->slen = n;
	l->pos = i + 1;
	return 0;
}

static bool lex_digit(const struct lex *l, size_t i)
{
	return i < l->len && isdigit((unsigned char)l->s[i]);
}

/* An integer, or a float (digits "." digits, an exponent) unless after a ".". */
static int lex_number(struct lex *l, bool after_dot)
{
	size_t start = l->pos, i = l->pos;
	bool flt = false;
	struct tmpl_tok *t;
	char buf[64];

	while (lex_digit(l, i))
		i++;
	if (!after_dot && i + 1 < l->len && l->s[i] == '.' && lex_digit(l, i + 1)) {
		flt = true;
		for (i++; lex_digit(l, i); i++)
			;
	}
	if (!after_dot && i < l->len && (l->s[i] == 'e' || l->s[i] == 'E')) {
		size_t j = i + 1;

		if (j < l->len && (l->s[j] == '+' || l->s[j] == '-'))
			j++;
		if (lex_digit(l, j)) {
			flt = true;
			for (i = j; lex_digit(l, i); i++)
				;
		}
	}
	if (i < l->len && (isalnum((unsigned char)l->s[i]) || l->s[i] == '_'))
		goto bad;
	if (i - start >= sizeof(buf))
		goto bad;
	memcpy(buf, l->s + start, i - start);
	buf[i - start] = '\0';
	t = lex_push(l, flt ? TK_FLOAT : TK_INT, start, i - start);
	if (!t)
		return -1;
	errno = 0;
	if (flt)
		t->f = strtod(buf, NULL);
	else
		t->i = strtoll(buf, NULL, 10);
	if (errno == ERANGE && !flt)	/* a float out of range is inf or 0, as in Python */
		goto bad;
	l->pos = i;
	return 0;
bad:
	while (i < l->len && (isalnum((unsigned char)l->s[i]) || l->s[i] == '_' || l->s[i] == '.'))
		i++;
	tmpl_parse_err(l->err, l->s, start, "bad number '%.*s'", (int)(i - start > 40 ? 40 : i - start),
		    l->s + start);
	return -1;
}

static int lex_op(struct lex *l)
{
	static const struct { const char *s; int op; } two[] = {
		{ "==", OP_EQ }, { "!=", OP_NE }, { "<=", OP_LE }, { ">=", OP_GE }, { "//", OP_FDIV },
	};
	const char *p = l->s + l->pos;
	struct tmpl_tok *t;

	for (size_t k = 0; k < sizeof(two) / sizeof(two[0]); k++) {
		if (l->pos + 1 < l->len && p[0] == two[k].s[0] && p[1] == two[k].s[1]) {
			t = lex_push(l, TK_OP, l->pos, 2);
			if (!t)
				return -1;
			t->op = two[k].op;
			l->pos += 2;
			return 0;
		}
	}
	if (!strchr("<>+-*/%~|.,()[]=", *p) || !*p) {
		size_t n;
		unsigned cp = tmpl_utf8_get(p, l->len - l->pos, &n);

		if (cp < 0x20 || cp == 0x7f || (n == 1 && cp >= 0x80))
			tmpl_parse_err(l->err, l->s, l->pos, "unexpected byte 0x%02x", cp);
		else
			tmpl_parse_err(l->err, l->s, l->pos, "unexpected character '%.*s'", (int)n, p);
		return -1;
	}
	t = lex_push(l, TK_OP, l->pos, 1);
	if (!t)
		return -1;
	t->op = (unsigned char)*p;
	l->pos++;
	return 0;
}

/* The inside of a tag after its opener, through its closer; *strip: "-" closer. */
static int lex_tag(struct lex *l, char close, bool *strip)
{
	enum tmpl_tk end = close == '}' ? TK_PRINT_END : TK_BLOCK_END;

	for (;;) {
		const char *p;

		while (l->pos < l->len && lex_space(l->s[l->pos]))
			l->pos++;
		if (l->pos >= l->len)
			return 0;	/* the parser says what it expected */
		p = l->s + l->pos;
		if (p[0] == '-' && l->pos + 2 < l->len && p[1] == close && p[2] == '}') {
			if (!lex_push(l, end, l->pos, 3))
				return -1;
			l->pos += 3;
			*strip = true;
			return 0;
		}
		if (p[0] == close && l->pos + 1 < l->len && p[1] == '}') {
			if (!lex_push(l, end, l->pos, 2))
				return -1;
			l->pos += 2;
			*strip = false;
			return 0;
		}
		if (isalpha((unsigned char)p[0]) || p[0] == '_') {
			size_t start = l->pos;
			struct tmpl_tok *t;

			while (l->pos < l->len && (isalnum((unsigned char)l->s[l->pos]) || l->s[l->pos] == '_'))
				l->pos++;
			t = lex_push(l, TK_NAME, start, l->pos - start);
			if (!t)
				return -1;
			t->s = l->s + start;
			t->slen = l->pos - start;
		} else if (isdigit((unsigned char)p[0])) {
			bool after_dot = l->n > 0 && l->toks[l->n - 1].type == TK_OP &&
					 l->toks[l->n - 1].op == '.';

			if (lex_number(l, after_dot) < 0)
				return -1;
		} else if (p[0] == '\'' || p[0] == '"') {
			if (lex_string(l) < 0)
				return -1;
		} else if (lex_op(l) < 0) {
			return -1;
		}
	}
}

int tmpl_lex(const char *src, size_t len, struct tmpl_arena *a, struct tmpl_tok **toks,
	     size_t *ntoks, struct tmpl_err *err)
{
	struct lex l = { .s = src, .len = len, .a = a, .err = err };
	bool strip = false;	/* the last tag ended with "-" */

	while (l.pos < l.len) {
		size_t o = lex_opener(&l, l.pos), from = l.pos, to = o;

		if (strip)
			while (from < to && lex_space(src[from]))
				from++;
		if (o < len && o + 2 < len && src[o + 2] == '-')
			while (to > from && lex_space(src[to - 1]))
				to--;
		if (to > from && !lex_push(&l, TK_TEXT, from, to - from))
			goto fail;
		if (o >= len)
			break;
		if (src[o + 1] == '#') {
			size_t e = o + 2;

			for (; e + 1 < len; e++)
				if (src[e] == '#' && src[e + 1] == '}')
					break;
			if (e + 1 >= len) {
				tmpl_parse_err(err, src, o, "unclosed comment");
				goto fail;
			}
			strip = e > o + 2 && src[e - 1] == '-';
			l.pos = e + 2;
			continue;
		}
		{
			bool lstrip = o + 2 < len && src[o + 2] == '-';
			struct tmpl_tok *t = lex_push(&l, src[o + 1] == '{' ? TK_PRINT : TK_BLOCK, o,
						      lstrip ? 3 : 2);

			if (!t)
				goto fail;
			l.pos = o + (lstrip ? 3 : 2);
			strip = false;
			if (lex_tag(&l, src[o + 1] == '{' ? '}' : '%', &strip) < 0)
				goto fail;
		}
	}
	if (!lex_push(&l, TK_EOF, len, 0))
		goto fail;
	*toks = l.toks;
	*ntoks = l.n;
	return 0;
fail:
	free(l.toks);
	return -1;
}
