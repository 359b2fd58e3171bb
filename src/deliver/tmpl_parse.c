/*
 * tmpl_parse.c — tmpl_compile: the source normalised as Jinja2 does
 * (newlines to "\n", one trailing newline dropped), its tokens
 * (tmpl_lex.c) parsed by recursive descent into the tree of tmpl_int.h;
 * and tmpl_free.  Pure; any thread.
 *
 * Precedence, loosest first, as Jinja2's parser: or; and; not; comparisons
 * (chained as Python's); + -; ~; * / // %; unary - +; then a primary with
 * its ".name" and "[...]" and then its "| filter" and "is test".  Filter
 * names, argument counts and keyword names are checked here, so a template
 * that compiles fails at render only on values.  Nesting (blocks, and the
 * depth of an expression tree) is bounded by TMPL_DEPTH_MAX so that
 * neither the parser nor the renderer recurses without bound.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

struct parse {
	struct tmpl *t;
	const struct tmpl_tok *tok;
	size_t i, n;
	int rec;		/* recursion of the expression parser */
	int blocks;		/* open blocks */
	struct tmpl_err *err;
};

/* an open block, for "unclosed" and "unexpected" messages */
struct open { const char *tag; size_t pos; const char *const *ends; };

void tmpl_err_at(struct tmpl_err *err, const char *src, size_t pos, const char *fmt, ...)
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

static const struct tmpl_tok *cur(const struct parse *p)
{
	return &p->tok[p->i];
}

static bool is_op(const struct parse *p, int op)
{
	return cur(p)->type == TK_OP && cur(p)->op == op;
}

static bool is_name_tok(const struct tmpl_tok *t, const char *name)
{
	return t->type == TK_NAME && t->slen == strlen(name) && !memcmp(t->s, name, t->slen);
}

static bool is_name(const struct parse *p, const char *name)
{
	return is_name_tok(cur(p), name);
}

static int fail_got(struct parse *p, const char *want)
{
	const struct tmpl_tok *t = cur(p);
	const char *s = p->t->src;

	if (t->type == TK_EOF)
		tmpl_err_at(p->err, s, t->pos, "expected %s, got end of template", want);
	else if (t->type == TK_TEXT)
		tmpl_err_at(p->err, s, t->pos, "expected %s, got text", want);
	else
		tmpl_err_at(p->err, s, t->pos, "expected %s, got '%.*s'", want,
			    (int)(t->len > 40 ? 40 : t->len), s + t->pos);
	return -1;
}

static int expect_end(struct parse *p, enum tmpl_tk end)
{
	if (cur(p)->type != end)
		return fail_got(p, end == TK_PRINT_END ? "'}}'" : "'%}'");
	p->i++;
	return 0;
}

static struct tmpl_x *node(struct parse *p, enum tmpl_xop op, size_t pos, struct tmpl_x *a,
			   struct tmpl_x *b)
{
	struct tmpl_x *x = tmpl_arena_alloc(&p->t->arena, sizeof(*x));

	if (!x) {
		tmpl_err_at(p->err, p->t->src, pos, "out of memory");
		return NULL;
	}
	x->op = op;
	x->pos = pos;
	x->end = p->i > 0 ? p->tok[p->i - 1].pos + p->tok[p->i - 1].len : pos;
	x->depth = 1;
	if (a && a->depth >= x->depth)
		x->depth = a->depth + 1;
	if (b && b->depth >= x->depth)
		x->depth = b->depth + 1;
	if (x->depth > TMPL_DEPTH_MAX) {
		tmpl_err_at(p->err, p->t->src, pos, "expression nested deeper than %d", TMPL_DEPTH_MAX);
		return NULL;
	}
	x->a = a;
	x->b = b;
	return x;
}

static struct tmpl_x *parse_expr(struct parse *p);
static struct tmpl_x *parse_not(struct parse *p);
static struct tmpl_x *parse_unary(struct parse *p, bool filters);

static bool reserved(const struct parse *p)
{
	static const char *const kw[] = { "and", "or", "not", "in", "is", "if", "else", "elif",
					  "endif", "for", "endfor" };

	for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
		if (is_name(p, kw[k]))
			return true;
	return false;
}

static struct tmpl_x *parse_primary(struct parse *p)
{
	const struct tmpl_tok *t = cur(p);
	struct tmpl_x *x;

	switch (t->type) {
	case TK_NAME:
		if (reserved(p))
			break;
		p->i++;
		if (is_name_tok(t, "true") || is_name_tok(t, "True") ||
		    is_name_tok(t, "false") || is_name_tok(t, "False")) {
			x = node(p, X_BOOL, t->pos, NULL, NULL);
			if (x)
				x->i = t->s[0] == 't' || t->s[0] == 'T';
			return x;
		}
		if (is_name_tok(t, "none") || is_name_tok(t, "None"))
			return node(p, X_NONE, t->pos, NULL, NULL);
		x = node(p, X_NAME, t->pos, NULL, NULL);
		if (x) {
			x->s = t->s;
			x->slen = t->slen;
		}
		return x;
	case TK_STR: {
		/* adjacent literals are one string, as in Python */
		size_t n = 0, k = p->i;
		char *s;

		for (; p->tok[k].type == TK_STR; k++)
			n += p->tok[k].slen;
		s = tmpl_arena_alloc(&p->t->arena, n + 1);
		if (!s) {
			tmpl_err_at(p->err, p->t->src, t->pos, "out of memory");
			return NULL;
		}
		n = 0;
		for (; p->tok[p->i].type == TK_STR; p->i++) {
			memcpy(s + n, p->tok[p->i].s, p->tok[p->i].slen);
			n += p->tok[p->i].slen;
		}
		x = node(p, X_STR, t->pos, NULL, NULL);
		if (x) {
			x->s = s;
			x->slen = n;
		}
		return x;
	}
	case TK_INT:
		p->i++;
		x = node(p, X_INT, t->pos, NULL, NULL);
		if (x)
			x->i = t->i;
		return x;
	case TK_FLOAT:
		p->i++;
		x = node(p, X_FLOAT, t->pos, NULL, NULL);
		if (x)
			x->f = t->f;
		return x;
	case TK_OP:
		if (t->op != '(')
			break;
		p->i++;
		x = parse_expr(p);
		if (!x)
			return NULL;
		if (!is_op(p, ')')) {
			fail_got(p, "')'");
			return NULL;
		}
		p->i++;
		x->pos = t->pos;	/* the span includes the parentheses */
		x->end = p->tok[p->i - 1].pos + 1;
		return x;
	default:
		break;
	}
	fail_got(p, "an expression");
	return NULL;
}

static struct tmpl_x *parse_postfix(struct parse *p, struct tmpl_x *x)
{
	while (x) {
		size_t pos = x->pos;

		if (is_op(p, '.')) {
			const struct tmpl_tok *t;

			p->i++;
			t = cur(p);
			if (t->type == TK_NAME) {
				p->i++;
				x = node(p, X_ATTR, pos, x, NULL);
				if (x) {
					x->s = t->s;
					x->slen = t->slen;
				}
			} else if (t->type == TK_INT) {
				struct tmpl_x *k;

				p->i++;
				k = node(p, X_INT, t->pos, NULL, NULL);
				if (!k)
					return NULL;
				k->i = t->i;
				x = node(p, X_INDEX, pos, x, k);
			} else {
				fail_got(p, "a name after '.'");
				return NULL;
			}
		} else if (is_op(p, '[')) {
			struct tmpl_x *k;

			p->i++;
			k = parse_expr(p);
			if (!k)
				return NULL;
			if (!is_op(p, ']')) {
				fail_got(p, "']'");
				return NULL;
			}
			p->i++;
			x = node(p, X_INDEX, pos, x, k);
		} else {
			break;
		}
	}
	return x;
}

/* "(" args ")" of filter x (already named); positional first, then name=value. */
static int parse_args(struct parse *p, struct tmpl_x *x, const struct tmpl_tok *name)
{
	const char *fname = tmpl_filter_name(x->sub);
	bool keyword = false;
	int min, max, given = 0;

	tmpl_filter_nargs(x->sub, &min, &max);
	if (is_op(p, '(')) {
		p->i++;
		while (!is_op(p, ')')) {
			const struct tmpl_tok *t = cur(p);
			struct tmpl_x *v;
			int k = given;

			if (t->type == TK_NAME && p->tok[p->i + 1].type == TK_OP &&
			    p->tok[p->i + 1].op == '=') {
				k = tmpl_filter_argpos(x->sub, t->s, t->slen);
				if (k < 0) {
					tmpl_err_at(p->err, p->t->src, t->pos, "'%s' has no argument '%.*s'",
						    fname, (int)t->slen, t->s);
					return -1;
				}
				keyword = true;
				p->i += 2;
			} else if (keyword) {
				tmpl_err_at(p->err, p->t->src, t->pos,
					    "a positional argument after a keyword argument");
				return -1;
			}
			if (k >= max) {
				tmpl_err_at(p->err, p->t->src, t->pos,
					    max ? "'%s' takes at most %d arguments" : "'%s' takes no arguments",
					    fname, max);
				return -1;
			}
			if (x->args[k]) {
				tmpl_err_at(p->err, p->t->src, t->pos, "'%s' argument %d given twice",
					    fname, k + 1);
				return -1;
			}
			v = parse_expr(p);
			if (!v)
				return -1;
			if (v->depth >= x->depth)
				x->depth = v->depth + 1;
			x->args[k] = v;
			if (k + 1 > x->nargs)
				x->nargs = k + 1;
			if (!keyword)
				given++;
			if (is_op(p, ','))
				p->i++;
			else if (!is_op(p, ')'))
				return fail_got(p, "',' or ')'");
		}
		p->i++;
	}
	for (int k = 0; k < min; k++) {
		if (!x->args[k]) {
			tmpl_err_at(p->err, p->t->src, name->pos, "'%s' wants %d argument%s", fname, min,
				    min > 1 ? "s" : "");
			return -1;
		}
	}
	if (x->depth > TMPL_DEPTH_MAX) {
		tmpl_err_at(p->err, p->t->src, x->pos, "expression nested deeper than %d", TMPL_DEPTH_MAX);
		return -1;
	}
	x->end = p->tok[p->i - 1].pos + p->tok[p->i - 1].len;
	return 0;
}

static struct tmpl_x *parse_filters(struct parse *p, struct tmpl_x *x)
{
	while (x) {
		size_t pos = x->pos;
		const struct tmpl_tok *t;

		if (is_op(p, '|')) {
			int id;

			p->i++;
			t = cur(p);
			if (t->type != TK_NAME) {
				fail_got(p, "a filter name");
				return NULL;
			}
			id = tmpl_filter_find(t->s, t->slen);
			if (id < 0) {
				tmpl_err_at(p->err, p->t->src, t->pos, "unknown filter '%.*s'",
					    (int)(t->slen > 40 ? 40 : t->slen), t->s);
				return NULL;
			}
			p->i++;
			x = node(p, X_FILTER, pos, x, NULL);
			if (!x)
				return NULL;
			x->sub = id;
			x->fpos = t->pos;
			if (parse_args(p, x, t) < 0)
				return NULL;
		} else if (is_name(p, "is")) {
			bool neg = false;

			p->i++;
			if (is_name(p, "not")) {
				neg = true;
				p->i++;
			}
			t = cur(p);
			if (t->type != TK_NAME) {
				fail_got(p, "a test name");
				return NULL;
			}
			p->i++;
			x = node(p, X_TEST, pos, x, NULL);
			if (!x)
				return NULL;
			x->neg = neg;
			if (is_name_tok(t, "defined"))
				x->sub = TEST_DEFINED;
			else if (is_name_tok(t, "undefined"))
				x->sub = TEST_UNDEFINED;
			else if (is_name_tok(t, "none"))
				x->sub = TEST_NONE;
			else {
				tmpl_err_at(p->err, p->t->src, t->pos, "unknown test '%.*s'",
					    (int)(t->slen > 40 ? 40 : t->slen), t->s);
				return NULL;
			}
		} else {
			break;
		}
	}
	return x;
}

static int enter(struct parse *p)
{
	if (++p->rec > TMPL_DEPTH_MAX) {
		tmpl_err_at(p->err, p->t->src, cur(p)->pos, "expression nested deeper than %d",
			    TMPL_DEPTH_MAX);
		return -1;
	}
	return 0;
}

static struct tmpl_x *parse_unary(struct parse *p, bool filters)
{
	size_t pos = cur(p)->pos;
	struct tmpl_x *x;

	if (is_op(p, '-') || is_op(p, '+')) {
		enum tmpl_xop op = is_op(p, '-') ? X_NEG : X_POS;
		struct tmpl_x *a;

		if (enter(p) < 0)
			return NULL;
		p->i++;
		a = parse_unary(p, false);
		x = a ? node(p, op, pos, a, NULL) : NULL;
		p->rec--;
	} else {
		x = parse_primary(p);
	}
	x = parse_postfix(p, x);
	if (filters)
		x = parse_filters(p, x);
	return x;
}

/* left-associative binary levels: ops[k] makes xops[k] */
static struct tmpl_x *parse_binary(struct parse *p, struct tmpl_x *(*next)(struct parse *),
				   const int *ops, const enum tmpl_xop *xops, size_t nops)
{
	struct tmpl_x *x = next(p);

	while (x) {
		size_t k;

		for (k = 0; k < nops; k++)
			if (is_op(p, ops[k]))
				break;
		if (k == nops)
			break;
		p->i++;
		{
			struct tmpl_x *b = next(p);

			x = b ? node(p, xops[k], x->pos, x, b) : NULL;
		}
	}
	return x;
}

static struct tmpl_x *parse_unary_f(struct parse *p)
{
	return parse_unary(p, true);
}

static struct tmpl_x *parse_math2(struct parse *p)
{
	static const int ops[] = { '*', '/', OP_FDIV, '%' };
	static const enum tmpl_xop xops[] = { X_MUL, X_DIV, X_FDIV, X_MOD };

	return parse_binary(p, parse_unary_f, ops, xops, 4);
}

static struct tmpl_x *parse_concat(struct parse *p)
{
	static const int ops[] = { '~' };
	static const enum tmpl_xop xops[] = { X_CAT };

	return parse_binary(p, parse_math2, ops, xops, 1);
}

static struct tmpl_x *parse_math1(struct parse *p)
{
	static const int ops[] = { '+', '-' };
	static const enum tmpl_xop xops[] = { X_ADD, X_SUB };

	return parse_binary(p, parse_concat, ops, xops, 2);
}

/* a < b < c is (a < b) and (b < c), b evaluated twice (it has no effects) */
static struct tmpl_x *parse_compare(struct parse *p)
{
	static const int ops[] = { OP_EQ, OP_NE, '<', OP_LE, '>', OP_GE };
	static const enum tmpl_xop xops[] = { X_EQ, X_NE, X_LT, X_LE, X_GT, X_GE };
	struct tmpl_x *left = parse_math1(p), *all = NULL;

	while (left) {
		enum tmpl_xop op;
		struct tmpl_x *right, *c;
		size_t k;

		for (k = 0; k < 6; k++)
			if (is_op(p, ops[k]))
				break;
		if (k < 6) {
			op = xops[k];
			p->i++;
		} else if (is_name(p, "in")) {
			op = X_IN;
			p->i++;
		} else if (is_name(p, "not") && p->tok[p->i + 1].type == TK_NAME &&
			   p->tok[p->i + 1].slen == 2 && !memcmp(p->tok[p->i + 1].s, "in", 2)) {
			op = X_NOTIN;
			p->i += 2;
		} else {
			break;
		}
		right = parse_math1(p);
		if (!right)
			return NULL;
		c = node(p, op, left->pos, left, right);
		if (!c)
			return NULL;
		all = all ? node(p, X_AND, all->pos, all, c) : c;
		if (!all)
			return NULL;
		left = right;
	}
	return left ? (all ? all : left) : NULL;
}

static struct tmpl_x *parse_not(struct parse *p)
{
	size_t pos = cur(p)->pos;
	struct tmpl_x *a, *x;

	if (!is_name(p, "not"))
		return parse_compare(p);
	if (enter(p) < 0)
		return NULL;
	p->i++;
	a = parse_not(p);
	x = a ? node(p, X_NOT, pos, a, NULL) : NULL;
	p->rec--;
	return x;
}

static struct tmpl_x *parse_and(struct parse *p)
{
	struct tmpl_x *x = parse_not(p);

	while (x && is_name(p, "and")) {
		struct tmpl_x *b;

		p->i++;
		b = parse_not(p);
		x = b ? node(p, X_AND, x->pos, x, b) : NULL;
	}
	return x;
}

static struct tmpl_x *parse_expr(struct parse *p)
{
	struct tmpl_x *x;

	if (enter(p) < 0)
		return NULL;
	x = parse_and(p);
	while (x && is_name(p, "or")) {
		struct tmpl_x *b;

		p->i++;
		b = parse_and(p);
		x = b ? node(p, X_OR, x->pos, x, b) : NULL;
	}
	p->rec--;
	return x;
}

/* ---- statements ---- */

static const char *const ends_if[] = { "elif", "else", "endif", NULL };
static const char *const ends_else[] = { "endif", NULL };
static const char *const ends_for[] = { "endfor", NULL };

static struct tmpl_n *stmt(struct parse *p, enum tmpl_nk kind, size_t pos)
{
	struct tmpl_n *n = tmpl_arena_alloc(&p->t->arena, sizeof(*n));

	if (!n)
		tmpl_err_at(p->err, p->t->src, pos, "out of memory");
	else {
		n->kind = kind;
		n->pos = pos;
	}
	return n;
}

static int parse_body(struct parse *p, const struct open *o, struct tmpl_n **out, const char **end);

static int parse_if(struct parse *p, size_t pos, struct tmpl_n **out)
{
	struct open o = { "if", pos, ends_if };
	struct tmpl_n *n = stmt(p, N_IF, pos), *c = n;
	const char *end;

	*out = n;
	while (c) {
		c->x = parse_expr(p);
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

static int parse_for(struct parse *p, size_t pos, struct tmpl_n **out)
{
	struct open o = { "for", pos, ends_for };
	struct tmpl_n *n = stmt(p, N_FOR, pos);
	const struct tmpl_tok *t = cur(p);
	const char *end;

	*out = n;
	if (!n)
		return -1;
	if (t->type != TK_NAME || reserved(p))
		return fail_got(p, "a loop variable");
	if (is_name(p, "loop")) {
		tmpl_err_at(p->err, p->t->src, t->pos, "'loop' is the loop's own variable");
		return -1;
	}
	n->var = t->s;
	n->varlen = t->slen;
	p->i++;
	if (!is_name(p, "in"))
		return fail_got(p, "'in'");
	p->i++;
	n->x = parse_expr(p);
	if (!n->x || expect_end(p, TK_BLOCK_END) < 0 || parse_body(p, &o, &n->body, &end) < 0)
		return -1;
	return expect_end(p, TK_BLOCK_END);
}

/*
 * Statements until one of o's end tags (its name returned in *end, the
 * parser after the name) or, at the top (o NULL), the end of the template.
 */
static int parse_body(struct parse *p, const struct open *o, struct tmpl_n **out, const char **end)
{
	struct tmpl_n **tail = out;
	const char *src = p->t->src;

	*out = NULL;
	if (o && ++p->blocks > TMPL_DEPTH_MAX) {
		tmpl_err_at(p->err, src, o->pos, "blocks nested deeper than %d", TMPL_DEPTH_MAX);
		return -1;
	}
	for (;;) {
		const struct tmpl_tok *t = cur(p);
		struct tmpl_n *n = NULL;

		if (t->type == TK_EOF) {
			if (!o)
				return 0;
			{
				struct tmpl_err at;

				tmpl_err_at(&at, src, o->pos, "%s", "");
				tmpl_err_at(p->err, src, t->pos, "unclosed '{%% %s %%}' opened at %d:%d",
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
			if (!n || !(n->x = parse_expr(p)) || expect_end(p, TK_PRINT_END) < 0)
				return -1;
		} else if (t->type == TK_BLOCK) {
			const struct tmpl_tok *name = cur(p);

			if (name->type != TK_NAME)
				return fail_got(p, "a tag name");
			p->i++;
			if (is_name_tok(name, "if")) {
				if (parse_if(p, t->pos, &n) < 0)
					return -1;
			} else if (is_name_tok(name, "for")) {
				if (parse_for(p, t->pos, &n) < 0)
					return -1;
			} else {
				static const char *const all[] = { "elif", "else", "endif", "endfor" };

				for (size_t k = 0; o && o->ends[k]; k++) {
					if (is_name_tok(name, o->ends[k])) {
						*end = o->ends[k];
						p->blocks--;
						return 0;
					}
				}
				for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
					if (!is_name_tok(name, all[k]))
						continue;
					if (o) {
						struct tmpl_err at;

						tmpl_err_at(&at, src, o->pos, "%s", "");
						tmpl_err_at(p->err, src, t->pos,
							    "unexpected '{%% %s %%}' in the '{%% %s %%}' opened at %d:%d",
							    all[k], o->tag, at.line, at.col);
					} else {
						tmpl_err_at(p->err, src, t->pos, "unexpected '{%% %s %%}'", all[k]);
					}
					return -1;
				}
				tmpl_err_at(p->err, src, name->pos, "unknown tag '%.*s'",
					    (int)(name->slen > 40 ? 40 : name->slen), name->s);
				return -1;
			}
		} else {
			p->i--;
			return fail_got(p, "text or a tag");
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
	struct parse p = { .err = err };
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
