/*
 * tmpl_int.h — inside the template engine: the arena (tmpl_arena.c), the
 * tokens of the lexer (tmpl_lex.c), the tree of the parser (tmpl_parse.c,
 * tmpl_expr.c) that the renderer (tmpl_render.c, tmpl_value.c) and the
 * filters (tmpl_filter.c, tmpl_format.c, tmpl_utf8.c) walk.  Private to
 * those files.
 *
 * Ownership: a compiled template owns one arena holding its normalised
 * source, its string literals and its tree; nothing in the tree is
 * freed on its own.  A render owns a second arena for the strings its
 * expressions make, released after each statement.
 */
#ifndef LEO_TMPL_INT_H
#define LEO_TMPL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tmpl.h"

/* ---- arena (tmpl_arena.c) ---- */

struct tmpl_chunk;
struct tmpl_arena { struct tmpl_chunk *head; };
struct tmpl_mark { struct tmpl_chunk *chunk; size_t used; };

/* NULL when out of memory; zeroed. */
void *tmpl_arena_alloc(struct tmpl_arena *a, size_t n);
struct tmpl_mark tmpl_arena_mark(const struct tmpl_arena *a);
void tmpl_arena_release(struct tmpl_arena *a, struct tmpl_mark m);
void tmpl_arena_free(struct tmpl_arena *a);

/* ---- tokens (tmpl_lex.c) ---- */

enum tmpl_tk {
	TK_EOF, TK_TEXT,		/* text: [pos, pos+len) of the source */
	TK_PRINT, TK_BLOCK,		/* "{{" and "{%" (strip: "-" before) */
	TK_PRINT_END, TK_BLOCK_END,	/* "}}" and "%}" (strip: "-" after) */
	TK_NAME, TK_INT, TK_FLOAT, TK_STR,
	TK_OP				/* op: one of the OP_ codes below */
};

/* two-character operators; one-character ones are their own char */
enum { OP_EQ = 256, OP_NE, OP_LE, OP_GE, OP_FDIV };

struct tmpl_tok {
	enum tmpl_tk type;
	int op;
	size_t pos, len;	/* span in the source */
	long long i;		/* TK_INT */
	double f;		/* TK_FLOAT */
	const char *s;		/* TK_STR: decoded; TK_NAME: in the source */
	size_t slen;
};

/*
 * Tokens of src (normalised, see tmpl_compile): *toks malloc'd (the caller
 * frees it), decoded strings in the arena; the last token is TK_EOF.
 */
int tmpl_lex(const char *src, size_t len, struct tmpl_arena *a, struct tmpl_tok **toks,
	     size_t *ntoks, struct tmpl_err *err);

/* ---- errors (tmpl_parse.c) ---- */

/* err at byte offset pos of src: line and column (characters), message. */
void tmpl_parse_err(struct tmpl_err *err, const char *src, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define TMPL_DEPTH_MAX 64

/* ---- the parser (tmpl_parse.c: statements, tmpl_expr.c: expressions) ---- */

struct tmpl_parser {
	struct tmpl *t;
	const struct tmpl_tok *tok;
	size_t i, n;
	int rec;		/* recursion of the expression parser */
	int blocks;		/* open blocks */
	struct tmpl_err *err;
};

static inline const struct tmpl_tok *tmpl_parser_cur(const struct tmpl_parser *p)
{
	return &p->tok[p->i];
}

static inline bool tmpl_parser_is_op(const struct tmpl_parser *p, int op)
{
	return p->tok[p->i].type == TK_OP && p->tok[p->i].op == op;
}

static inline bool tmpl_tok_is_name(const struct tmpl_tok *t, const char *name)
{
	return t->type == TK_NAME && t->slen == strlen(name) && !memcmp(t->s, name, t->slen);
}

static inline bool tmpl_parser_is_name(const struct tmpl_parser *p, const char *name)
{
	return tmpl_tok_is_name(&p->tok[p->i], name);
}

/* "expected WANT, got ..." at the current token; -1 */
int tmpl_parse_fail_got(struct tmpl_parser *p, const char *want);
/* the current token is a keyword, not a name */
bool tmpl_parse_reserved(const struct tmpl_parser *p);
/* an expression at the current token; NULL with p->err filled */
struct tmpl_x *tmpl_expr_parse(struct tmpl_parser *p);

/* ---- tree (tmpl_parse.c) ---- */

enum tmpl_xop {
	X_NAME, X_STR, X_INT, X_FLOAT, X_BOOL, X_NONE,
	X_ATTR,		/* a.s */
	X_INDEX,	/* a[b] */
	X_FILTER,	/* a | filter(args) */
	X_TEST,		/* a is [not] test */
	X_NOT, X_NEG, X_POS,
	X_AND, X_OR,
	X_EQ, X_NE, X_LT, X_LE, X_GT, X_GE, X_IN, X_NOTIN,
	X_ADD, X_SUB, X_MUL, X_DIV, X_FDIV, X_MOD, X_CAT
};

enum tmpl_test { TEST_DEFINED, TEST_UNDEFINED, TEST_NONE };

#define TMPL_ARGS_MAX 8

struct tmpl_x {
	enum tmpl_xop op;
	int depth;			/* 1 + the deepest operand's */
	int sub;			/* X_FILTER: filter id; X_TEST: test id */
	bool neg;			/* X_TEST: "is not" */
	size_t pos, end;		/* span in the source, for errors */
	size_t fpos;			/* X_FILTER: its name, where its errors are */
	struct tmpl_x *a, *b;
	struct tmpl_x **args;		/* X_FILTER: TMPL_ARGS_MAX by position; NULL: not given */
	int nargs;
	const char *s;			/* X_NAME, X_ATTR, X_STR */
	size_t slen;
	long long i;			/* X_INT, X_BOOL */
	double f;			/* X_FLOAT */
};

enum tmpl_nk { N_TEXT, N_OUT, N_IF, N_FOR };

struct tmpl_n {
	enum tmpl_nk kind;
	size_t pos;			/* the tag, for errors */
	struct tmpl_n *next;
	size_t tpos, tlen;		/* N_TEXT: span in the source */
	struct tmpl_x *x;		/* N_OUT: value; N_IF: condition; N_FOR: list */
	struct tmpl_n *body;		/* N_IF: then; N_FOR: body */
	struct tmpl_n *els;		/* N_IF: the else statements, or the elif */
	bool elif;			/* N_IF: els is one N_IF, the next elif */
	const char *var;		/* N_FOR: the loop variable */
	size_t varlen;
};

struct tmpl {
	struct tmpl_arena arena;
	const char *src;		/* normalised source (in the arena) */
	size_t len;
	struct tmpl_n *body;
};

/* ---- values and filters (tmpl_render.c, tmpl_filter.c) ---- */

enum tmpl_vk { V_UNDEF, V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_OBJ, V_LOOP };

struct tmpl_loop;

struct tmpl_v {
	enum tmpl_vk k;
	long long i;			/* V_BOOL, V_INT */
	double f;			/* V_FLOAT */
	const char *s;			/* V_STR (not NUL-terminated) */
	size_t len;
	const struct cJSON *j;		/* V_LIST, V_OBJ */
	const struct tmpl_loop *loop;	/* V_LOOP */
	const struct tmpl_x *why;	/* V_UNDEF: the expression that is undefined */
};

struct tmpl_rs;			/* one render (tmpl_render.c) */

/* Filters by name: id, or -1; how many arguments and their names. */
int tmpl_filter_find(const char *name, size_t len);
int tmpl_filter_nargs(int id, int *min, int *max);
int tmpl_filter_argpos(int id, const char *name, size_t len);
const char *tmpl_filter_name(int id);

/* Apply filter id of node x to v with args (NULL: not given). */
int tmpl_filter_apply(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		      const struct tmpl_v *args, struct tmpl_v *out);

/* a growing string of at most TMPL_OUT_MAX bytes (tmpl_filter.c) */
struct tmpl_sb { char *p; size_t len, cap; };
int tmpl_filter_sb_add(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_sb *b,
		       const char *s, size_t n);
/* b's string into the render's arena as v; frees b */
int tmpl_filter_sb_done(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_sb *b,
			struct tmpl_v *v);
/* f (n bytes) % args, for the format filter or the "%" operator x (tmpl_format.c) */
int tmpl_format(struct tmpl_rs *rs, const struct tmpl_x *x, const char *f, size_t n,
		const struct tmpl_v *args, int nargs, struct tmpl_v *out);

/* tmpl_render.c, for the values and the filters */
/* n bytes for a value of node x; fails (value over TMPL_OUT_MAX) or NULL. */
void *tmpl_render_alloc(struct tmpl_rs *rs, const struct tmpl_x *x, size_t n);
/* err at x (a filter: at its name) with the message; -1 */
int tmpl_render_fail(struct tmpl_rs *rs, const struct tmpl_x *x, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* str(v) as Python prints it; the string lives in the render's arena. */
int tmpl_render_str(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		    const char **s, size_t *len);
/* bool(v) as Python; fails on an undefined value */
int tmpl_render_truth(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v, bool *t);

/* tmpl_utf8.c: the code point at s (n bytes left) and its length in *len */
unsigned tmpl_utf8_get(const char *s, size_t n, size_t *len);
size_t tmpl_utf8_put(unsigned cp, char *out);		/* out: 4 bytes */
size_t tmpl_utf8_prefix(const char *s, size_t len, size_t n);	/* bytes of n characters */
size_t tmpl_utf8_count(const char *s, size_t len);
bool tmpl_utf8_space(unsigned cp);			/* Python's str.isspace */
unsigned tmpl_utf8_case(unsigned cp, bool up);

/* tmpl_value.c */
const char *tmpl_value_kind(const struct tmpl_v *v);
/* a cJSON value as a template value (numbers: see tmpl_value.c) */
void tmpl_value_json(const cJSON *j, struct tmpl_v *v);
/* member k (len bytes) of object o, or NULL */
const cJSON *tmpl_value_key(const cJSON *o, const char *k, size_t len);
/* Python's repr of a float into buf (at least 32 bytes); its length. */
size_t tmpl_value_repr(double f, char *buf);
bool tmpl_value_numeric(const struct tmpl_v *v);
/* x's comparison (== != < <= > >= in, not in) of a and b into *r */
int tmpl_value_compare(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *a,
		       const struct tmpl_v *b, bool *r);
/* x's arithmetic (+ - * / // %) of a and b into *v */
int tmpl_value_arith(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *a,
		     const struct tmpl_v *b, struct tmpl_v *v);

#endif
