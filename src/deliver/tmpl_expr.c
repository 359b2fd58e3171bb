/*
 * tmpl_expr.c — the expressions of the template subset, parsed by
 * recursive descent into the tree of tmpl_int.h.  Pure; any thread (runs
 * in tmpl_compile).
 *
 * Precedence, loosest first, as Jinja2's parser: or; and; not; comparisons
 * (chained as Python's); + -; ~; * / // %; unary - +; then a primary with
 * its ".name" and "[...]" and then its "| filter" and "is test".  Filter
 * names, argument counts and keyword names are checked here, so a template
 * that compiles fails at render only on values.  The depth of a tree and
 * the parser's own recursion are bounded by TMPL_DEPTH_MAX.
 */
#include <string.h>

#include "tmpl_int.h"

static struct tmpl_x *node(struct tmpl_parser *p, enum tmpl_xop op, size_t pos, struct tmpl_x *a,
			   struct tmpl_x *b)
{
	struct tmpl_x *x = tmpl_arena_alloc(&p->t->arena, sizeof(*x));

	if (!x) {
		tmpl_parse_err(p->err, p->t->src, pos, "out of memory");
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
		tmpl_parse_err(p->err, p->t->src, pos, "expression nested deeper than %d", TMPL_DEPTH_MAX);
		return NULL;
	}
	x->a = a;
	x->b = b;
	return x;
}

static struct tmpl_x *parse_not(struct tmpl_parser *p);
static struct tmpl_x *parse_unary(struct tmpl_parser *p, bool filters);

static struct tmpl_x *parse_primary(struct tmpl_parser *p)
{
	const struct tmpl_tok *t = tmpl_parser_cur(p);
	struct tmpl_x *x;

	switch (t->type) {
	case TK_NAME:
		if (tmpl_parse_reserved(p))
			break;
		p->i++;
		if (tmpl_tok_is_name(t, "true") || tmpl_tok_is_name(t, "True") ||
		    tmpl_tok_is_name(t, "false") || tmpl_tok_is_name(t, "False")) {
			x = node(p, X_BOOL, t->pos, NULL, NULL);
			if (x)
				x->i = t->s[0] == 't' || t->s[0] == 'T';
			return x;
		}
		if (tmpl_tok_is_name(t, "none") || tmpl_tok_is_name(t, "None"))
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
			tmpl_parse_err(p->err, p->t->src, t->pos, "out of memory");
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
		x = tmpl_expr_parse(p);
		if (!x)
			return NULL;
		if (!tmpl_parser_is_op(p, ')')) {
			tmpl_parse_fail_got(p, "')'");
			return NULL;
		}
		p->i++;
		x->pos = t->pos;	/* the span includes the parentheses */
		x->end = p->tok[p->i - 1].pos + 1;
		return x;
	default:
		break;
	}
	tmpl_parse_fail_got(p, "an expression");
	return NULL;
}

static struct tmpl_x *parse_postfix(struct tmpl_parser *p, struct tmpl_x *x)
{
	while (x) {
		size_t pos = x->pos;

		if (tmpl_parser_is_op(p, '.')) {
			const struct tmpl_tok *t;

			p->i++;
			t = tmpl_parser_cur(p);
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
				tmpl_parse_fail_got(p, "a name after '.'");
				return NULL;
			}
		} else if (tmpl_parser_is_op(p, '[')) {
			struct tmpl_x *k;

			p->i++;
			k = tmpl_expr_parse(p);
			if (!k)
				return NULL;
			if (!tmpl_parser_is_op(p, ']')) {
				tmpl_parse_fail_got(p, "']'");
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
static int parse_args(struct tmpl_parser *p, struct tmpl_x *x, const struct tmpl_tok *name)
{
	const char *fname = tmpl_filter_name(x->sub);
	bool keyword = false;
	int min, max, given = 0;

	tmpl_filter_nargs(x->sub, &min, &max);
	if (tmpl_parser_is_op(p, '(')) {
		p->i++;
		while (!tmpl_parser_is_op(p, ')')) {
			const struct tmpl_tok *t = tmpl_parser_cur(p);
			struct tmpl_x *v;
			int k = given;

			if (t->type == TK_NAME && p->tok[p->i + 1].type == TK_OP &&
			    p->tok[p->i + 1].op == '=') {
				k = tmpl_filter_argpos(x->sub, t->s, t->slen);
				if (k < 0) {
					tmpl_parse_err(p->err, p->t->src, t->pos, "'%s' has no argument '%.*s'",
						    fname, (int)t->slen, t->s);
					return -1;
				}
				keyword = true;
				p->i += 2;
			} else if (keyword) {
				tmpl_parse_err(p->err, p->t->src, t->pos,
					    "a positional argument after a keyword argument");
				return -1;
			}
			if (k >= max) {
				tmpl_parse_err(p->err, p->t->src, t->pos,
					    max ? "'%s' takes at most %d arguments" : "'%s' takes no arguments",
					    fname, max);
				return -1;
			}
			if (x->args[k]) {
				tmpl_parse_err(p->err, p->t->src, t->pos, "'%s' argument %d given twice",
					    fname, k + 1);
				return -1;
			}
			v = tmpl_expr_parse(p);
			if (!v)
				return -1;
			if (v->depth >= x->depth)
				x->depth = v->depth + 1;
			x->args[k] = v;
			if (k + 1 > x->nargs)
				x->nargs = k + 1;
			if (!keyword)
				given++;
			if (tmpl_parser_is_op(p, ','))
				p->i++;
			else if (!tmpl_parser_is_op(p, ')'))
				return tmpl_parse_fail_got(p, "',' or ')'");
		}
		p->i++;
	}
	for (int k = 0; k < min; k++) {
		if (!x->args[k]) {
			tmpl_parse_err(p->err, p->t->src, name->pos, "'%s' wants %d argument%s", fname, min,
				    min > 1 ? "s" : "");
			return -1;
		}
	}
	if (x->depth > TMPL_DEPTH_MAX) {
		tmpl_parse_err(p->err, p->t->src, x->pos, "expression nested deeper than %d", TMPL_DEPTH_MAX);
		return -1;
	}
	x->end = p->tok[p->i - 1].pos + p->tok[p->i - 1].len;
	return 0;
}

static struct tmpl_x *parse_filters(struct tmpl_parser *p, struct tmpl_x *x)
{
	while (x) {
		size_t pos = x->pos;
		const struct tmpl_tok *t;

		if (tmpl_parser_is_op(p, '|')) {
			int id;

			p->i++;
			t = tmpl_parser_cur(p);
			if (t->type != TK_NAME) {
				tmpl_parse_fail_got(p, "a filter name");
				return NULL;
			}
			id = tmpl_filter_find(t->s, t->slen);
			if (id < 0) {
				tmpl_parse_err(p->err, p->t->src, t->pos, "unknown filter '%.*s'",
					    (int)(t->slen > 40 ? 40 : t->slen), t->s);
				return NULL;
			}
			p->i++;
			x = node(p, X_FILTER, pos, x, NULL);
			if (!x)
				return NULL;
			x->sub = id;
			x->fpos = t->pos;
			x->args = tmpl_arena_alloc(&p->t->arena, TMPL_ARGS_MAX * sizeof(*x->args));
			if (!x->args) {
				tmpl_parse_err(p->err, p->t->src, t->pos, "out of memory");
				return NULL;
			}
			if (parse_args(p, x, t) < 0)
				return NULL;
		} else if (tmpl_parser_is_name(p, "is")) {
			bool neg = false;

			p->i++;
			if (tmpl_parser_is_name(p, "not")) {
				neg = true;
				p->i++;
			}
			t = tmpl_parser_cur(p);
			if (t->type != TK_NAME) {
				tmpl_parse_fail_got(p, "a test name");
				return NULL;
			}
			p->i++;
			x = node(p, X_TEST, pos, x, NULL);
			if (!x)
				return NULL;
			x->neg = neg;
			if (tmpl_tok_is_name(t, "defined"))
				x->sub = TEST_DEFINED;
			else if (tmpl_tok_is_name(t, "undefined"))
				x->sub = TEST_UNDEFINED;
			else if (tmpl_tok_is_name(t, "none"))
				x->sub = TEST_NONE;
			else {
				tmpl_parse_err(p->err, p->t->src, t->pos, "unknown test '%.*s'",
					    (int)(t->slen > 40 ? 40 : t->slen), t->s);
				return NULL;
			}
			if (tmpl_parser_is_name(p, "is")) {
				tmpl_parse_err(p->err, p->t->src, tmpl_parser_cur(p)->pos,
					       "tests cannot be chained with 'is'");
				return NULL;
			}
		} else {
			break;
		}
	}
	return x;
}

static int enter(struct tmpl_parser *p)
{
	if (++p->rec > TMPL_DEPTH_MAX) {
		tmpl_parse_err(p->err, p->t->src, tmpl_parser_cur(p)->pos, "expression nested deeper than %d",
			    TMPL_DEPTH_MAX);
		return -1;
	}
	return 0;
}

static struct tmpl_x *parse_unary(struct tmpl_parser *p, bool filters)
{
	size_t pos = tmpl_parser_cur(p)->pos;
	struct tmpl_x *x;

	if (tmpl_parser_is_op(p, '-') || tmpl_parser_is_op(p, '+')) {
		enum tmpl_xop op = tmpl_parser_is_op(p, '-') ? X_NEG : X_POS;
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
static struct tmpl_x *parse_binary(struct tmpl_parser *p, struct tmpl_x *(*next)(struct tmpl_parser *),
				   const int *ops, const enum tmpl_xop *xops, size_t nops)
{
	struct tmpl_x *x = next(p);

	while (x) {
		size_t k;

		for (k = 0; k < nops; k++)
			if (tmpl_parser_is_op(p, ops[k]))
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

static struct tmpl_x *parse_unary_f(struct tmpl_parser *p)
{
	return parse_unary(p, true);
}

static struct tmpl_x *parse_math2(struct tmpl_parser *p)
{
	static const int ops[] = { '*', '/', OP_FDIV, '%' };
	static const enum tmpl_xop xops[] = { X_MUL, X_DIV, X_FDIV, X_MOD };

	return parse_binary(p, parse_unary_f, ops, xops, 4);
}

static struct tmpl_x *parse_concat(struct tmpl_parser *p)
{
	static const int ops[] = { '~' };
	static const enum tmpl_xop xops[] = { X_CAT };

	return parse_binary(p, parse_math2, ops, xops, 1);
}

static struct tmpl_x *parse_math1(struct tmpl_parser *p)
{
	static const int ops[] = { '+', '-' };
	static const enum tmpl_xop xops[] = { X_ADD, X_SUB };

	return parse_binary(p, parse_concat, ops, xops, 2);
}

/* a < b < c is (a < b) and (b < c), b evaluated twice (it has no effects) */
static struct tmpl_x *parse_compare(struct tmpl_parser *p)
{
	static const int ops[] = { OP_EQ, OP_NE, '<', OP_LE, '>', OP_GE };
	static const enum tmpl_xop xops[] = { X_EQ, X_NE, X_LT, X_LE, X_GT, X_GE };
	struct tmpl_x *left = parse_math1(p), *all = NULL;

	while (left) {
		enum tmpl_xop op;
		struct tmpl_x *right, *c;
		size_t k;

		for (k = 0; k < 6; k++)
			if (tmpl_parser_is_op(p, ops[k]))
				break;
		if (k < 6) {
			op = xops[k];
			p->i++;
		} else if (tmpl_parser_is_name(p, "in")) {
			op = X_IN;
			p->i++;
		} else if (tmpl_parser_is_name(p, "not") && p->tok[p->i + 1].type == TK_NAME &&
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

static struct tmpl_x *parse_not(struct tmpl_parser *p)
{
	size_t pos = tmpl_parser_cur(p)->pos;
	struct tmpl_x *a, *x;

	if (!tmpl_parser_is_name(p, "not"))
		return parse_compare(p);
	if (enter(p) < 0)
		return NULL;
	p->i++;
	a = parse_not(p);
	x = a ? node(p, X_NOT, pos, a, NULL) : NULL;
	p->rec--;
	return x;
}

static struct tmpl_x *parse_and(struct tmpl_parser *p)
{
	struct tmpl_x *x = parse_not(p);

	while (x && tmpl_parser_is_name(p, "and")) {
		struct tmpl_x *b;

		p->i++;
		b = parse_not(p);
		x = b ? node(p, X_AND, x->pos, x, b) : NULL;
	}
	return x;
}

struct tmpl_x *tmpl_expr_parse(struct tmpl_parser *p)
{
	struct tmpl_x *x;

	if (enter(p) < 0)
		return NULL;
	x = parse_and(p);
	while (x && tmpl_parser_is_name(p, "or")) {
		struct tmpl_x *b;

		p->i++;
		b = parse_and(p);
		x = b ? node(p, X_OR, x->pos, x, b) : NULL;
	}
	p->rec--;
	return x;
}

