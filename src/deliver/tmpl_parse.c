/*
 * tmpl_parse.c — tmpl_compile: the source normalised as Jinja2 does
 * (newlines to "\n", one trailing newline dropped), its tokens
 * (tmpl_lex.c), its statements parsed here (text, {{ }}, if/elif/else,
 * for) and its expressions by tmpl_expr.c; tmpl_free; the errors of both
 * with their line and column.  Pure; any thread.
 *
 * Blocks nest at most TMPL_DEPTH_MAX deep, so neither the parser nor the
 * renderer recurses without bound; an elif chain is a loop, not nesting.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* an open block, for "unclosed" and "unexpected" messages */
struct open { const char *tag; size_t pos; const char *const *ends; };

void tmpl_parse_err(struct tmpl_err *err, const char *src, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 1;

	for (size_t i = 0; i < pos; i++) {
		if (src[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)src[i] & 0xc0) != 0x80) {
			col++;
		}
	}
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int tmpl_parse_fail_got(struct tmpl_parser *p, const char *want)
{
	const struct tmpl_tok *t = tmpl_parser_cur(p);
	const char *s = p->t->src;

	if (t->type == TK_EOF)
		tmpl_parse_err(p->err, s, t->pos, "expected %s, got end of template", want);
	else if (t->type == TK_TEXT)
		tmpl_parse_err(p->err, s, t->pos, "expected %s, got text", want);
	else
		tmpl_parse_err(p->err, s, t->pos, "expected %s, got '%.*s'", want,
			    (int)(t->len > 40 ? 40 : t->len), s + t->pos);
	return -1;
}

static int expect_end(struct tmpl_parser *p, enum tmpl_tk end)
{
	if (tmpl_parser_cur(p)->type != end)
		return tmpl_parse_fail_got(p, end == TK_PRINT_END ? "'}}'" : "'%}'");
	p->i++;
	return 0;
}

bool tmpl_parse_reserved(const struct tmpl_parser *p)
{
	static const char *const kw[] = { "and", "or", "not", "in", "is", "if", "else", "elif",
					  "endif", "for", "endfor" };

	for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
		if (tmpl_parser_is_name(p, kw[k]))
			return true;
	return false;
}


/* ---- statements ---- */

static const char *const ends_if[] = { "elif", "else", "endif", NULL };
static const char *const ends_else[] = { "endif", NULL };
static const char *const ends_for[] = { "endfor", NULL };

static struct tmpl_n *stmt(struct tmpl_parser *p, enum tmpl_nk kind, size_t pos)
{
	struct tmpl_n *n = tmpl_arena_alloc(&p->t->arena, sizeof(*n));

	if (!n)
		tmpl_parse_err(p->err, p->t->src, pos, "out of memory");
	else {
		n->kind = kind;
		n->pos = pos;
	}
	return n;
}

static int parse_body(struct tmpl_parser *p, const struct open *o, struct tmpl_n **out, const char **end);

static int parse_if(struct tmpl_parser *p, size_t pos, struct tmpl_n **out)
{
	struct open o = { "if", pos, ends_if };
	struct tmpl_n *n = stmt(p, N_IF, pos), *c = n;
	const char *end;

	*out = n;
	while (c) {
		c->x = tmpl_expr_parse(p);
		if (!c->x || expect_end(p, TK_BLOCK_END) < 0 || parse_body(p, &o, &c->body, &end) < 0)
			return -1;
		if (!strcmp(end, "elif")) {
			c->els = stmt(p, N_IF, p->tok[p->i - 2].pos);
			c->elif = true;
			c = c->els;
			continue;
		}
		if (!strcmp(end, "else")) {
			o.ends = ends_else;
			if (expect_end(p, TK_BLOCK_END) < 0 || parse_body(p, &o, &c->els, &end) < 0)
				return -1;
		}
		return expect_end(p, TK_BLOCK_END);
	}
	return -1;
}

static int parse_for(struct tmpl_parser *p, size_t pos, struct tmpl_n **out)
{
	struct open o = { "for", pos, ends_for };
	struct tmpl_n *n = stmt(p, N_FOR, pos);
	const struct tmpl_tok *t = tmpl_parser_cur(p);
	const char *end;

	*out = n;
	if (!n)
		return -1;
	if (t->type != TK_NAME || tmpl_parse_reserved(p))
		return tmpl_parse_fail_got(p, "a loop variable");
	if (tmpl_parser_is_name(p, "loop")) {
		tmpl_parse_err(p->err, p->t->src, t->pos, "'loop' is the loop's own variable");
		return -1;
	}
	n->var = t->s;
	n->varlen = t->slen;
	p->i++;
	if (!tmpl_parser_is_name(p, "in"))
		return tmpl_parse_fail_got(p, "'in'");
	p->i++;
	n->x = tmpl_expr_parse(p);
	if (!n->x || expect_end(p, TK_BLOCK_END) < 0 || parse_body(p, &o, &n->body, &end) < 0)
		return -1;
	return expect_end(p, TK_BLOCK_END);
}

/*
 * Statements until one of o's end tags (its name returned in *end, the
 * parser after the name) or, at the top (o NULL), the end of the template.
 */
static int parse_body(struct tmpl_parser *p, const struct open *o, struct tmpl_n **out, const char **end)
{
	struct tmpl_n **tail = out;
	const char *src = p->t->src;

	*out = NULL;
	if (o && ++p->blocks > TMPL_DEPTH_MAX) {
		tmpl_parse_err(p->err, src, o->pos, "blocks nested deeper than %d", TMPL_DEPTH_MAX);
		return -1;
	}
	for (;;) {
		const struct tmpl_tok *t = tmpl_parser_cur(p);
		struct tmpl_n *n = NULL;

		if (t->type == TK_EOF) {
			if (!o)
				return 0;
			{
				struct tmpl_err at;

				tmpl_parse_err(&at, src, o->pos, "%s", "");
				tmpl_parse_err(p->err, src, t->pos, "unclosed '{%% %s %%}' opened at %d:%d",
					    o->tag, at.line, at.col);
			}
			return -1;
		}
		p->i++;
		if (t->type == TK_TEXT) {
			n = stmt(p, N_TEXT, t->pos);
			if (!n)
				return -1;
			n->tpos = t->pos;
			n->tlen = t->len;
		} else if (t->type == TK_PRINT) {
			n = stmt(p, N_OUT, t->pos);
			if (!n || !(n->x = tmpl_expr_parse(p)) || expect_end(p, TK_PRINT_END) < 0)
				return -1;
		} else if (t->type == TK_BLOCK) {
			const struct tmpl_tok *name = tmpl_parser_cur(p);

			if (name->type != TK_NAME)
				return tmpl_parse_fail_got(p, "a tag name");
			p->i++;
			if (tmpl_tok_is_name(name, "if")) {
				if (parse_if(p, t->pos, &n) < 0)
					return -1;
			} else if (tmpl_tok_is_name(name, "for")) {
				if (parse_for(p, t->pos, &n) < 0)
					return -1;
			} else {
				static const char *const all[] = { "elif", "else", "endif", "endfor" };

				for (size_t k = 0; o && o->ends[k]; k++) {
					if (tmpl_tok_is_name(name, o->ends[k])) {
						*end = o->ends[k];
						p->blocks--;
						return 0;
					}
				}
				for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
					if (!tmpl_tok_is_name(name, all[k]))
						continue;
					if (o) {
						struct tmpl_err at;

						tmpl_parse_err(&at, src, o->pos, "%s", "");
						tmpl_parse_err(p->err, src, t->pos,
							    "unexpected '{%% %s %%}' in the '{%% %s %%}' opened at %d:%d",
							    all[k], o->tag, at.line, at.col);
					} else {
						tmpl_parse_err(p->err, src, t->pos, "unexpected '{%% %s %%}'", all[k]);
					}
					return -1;
				}
				tmpl_parse_err(p->err, src, name->pos, "unknown tag '%.*s'",
					    (int)(name->slen > 40 ? 40 : name->slen), name->s);
				return -1;
			}
		} else {
			p->i--;
			return tmpl_parse_fail_got(p, "text or a tag");
		}
		*tail = n;
		tail = &n->next;
	}
}

/* Newlines as "\n" and one trailing newline dropped, as Jinja2's lexer does. */
static char *normalise(struct tmpl_arena *a, const char *src, size_t len, size_t *out_len)
{
	char *s = tmpl_arena_alloc(a, len + 1);
	size_t n = 0;

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '\r') {
			s[n++] = '\n';
			if (i + 1 < len && src[i + 1] == '\n')
				i++;
		} else {
			s[n++] = src[i];
		}
	}
	if (n > 0 && s[n - 1] == '\n')
		n--;
	s[n] = '\0';
	*out_len = n;
	return s;
}

struct tmpl *tmpl_compile(const char *src, size_t len, struct tmpl_err *err)
{
	struct tmpl_arena a = { NULL };
	struct tmpl_tok *toks = NULL;
	struct tmpl_parser p = { .err = err };
	struct tmpl *t = tmpl_arena_alloc(&a, sizeof(*t));
	char *s;

	memset(err, 0, sizeof(*err));
	if (!t || !(s = normalise(&a, src, len, &t->len))) {
		err->line = err->col = 1;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto fail;
	}
	t->src = s;
	if (tmpl_lex(s, t->len, &a, &toks, &p.n, err) < 0)
		goto fail;
	t->arena = a;		/* the arena grows on: keep its head in t from now */
	p.t = t;
	p.tok = toks;
	if (parse_body(&p, NULL, &t->body, NULL) < 0) {
		a = t->arena;
		goto fail;
	}
	free(toks);
	return t;
fail:
	free(toks);
	tmpl_arena_free(&a);
	return NULL;
}

void tmpl_free(struct tmpl *t)
{
	struct tmpl_arena a;

	if (!t)
		return;
	a = t->arena;		/* t itself lives in its arena */
	tmpl_arena_free(&a);
}
