/*
 * tmpl_render.c — tmpl_render: a compiled template walked over a cJSON
 * context, with Jinja2's semantics under StrictUndefined (an undefined
 * value fails wherever it is used except by "is defined" and "default").
 * Pure; any thread; the template is only read, so one may render in
 * several threads at once.  The filters are in tmpl_filter.c.
 *
 * Values point into the context, the template or the render's arena; the
 * arena is released after each statement, so a loop of 1000 iterations
 * holds the strings of one statement at a time.  Bounds: TMPL_OUT_MAX
 * bytes of output, and of any one value; TMPL_LOOP_MAX loop iterations in
 * all; recursion bounded by the compiler's TMPL_DEPTH_MAX.  The values
 * themselves (printing, comparing, arithmetic) are in tmpl_value.c.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

struct tmpl_loop {
	long long index0, length;
	const char *var;
	size_t varlen;
	struct tmpl_v item;
	const struct tmpl_loop *up;
};

struct tmpl_rs {
	const struct tmpl *t;
	const cJSON *ctx;
	struct tmpl_arena a;
	char *out;
	size_t len, cap;
	unsigned iters;
	const struct tmpl_loop *loop;
	struct tmpl_err *err;
};

int tmpl_render_fail(struct tmpl_rs *rs, const struct tmpl_x *x, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(rs->err->msg)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tmpl_parse_err(rs->err, rs->t->src, x->op == X_FILTER ? x->fpos : x->pos, "%s", msg);
	return -1;
}

static int fail_at(struct tmpl_rs *rs, size_t pos, const char *msg)
{
	tmpl_parse_err(rs->err, rs->t->src, pos, "%s", msg);
	return -1;
}

void *tmpl_render_alloc(struct tmpl_rs *rs, const struct tmpl_x *x, size_t n)
{
	void *p;

	if (n > TMPL_OUT_MAX + 1) {
		tmpl_render_fail(rs, x, "value over %d bytes", TMPL_OUT_MAX);
		return NULL;
	}
	p = tmpl_arena_alloc(&rs->a, n);
	if (!p)
		tmpl_render_fail(rs, x, "out of memory");
	return p;
}

/* the source text of x, at most 60 bytes, for messages */
static int span_len(const struct tmpl_rs *rs, const struct tmpl_x *x)
{
	size_t n = x->end > x->pos ? x->end - x->pos : 0;

	(void)rs;
	return (int)(n > 60 ? 60 : n);
}

#define SPAN(rs, x) span_len(rs, x), (rs)->t->src + (x)->pos

static int fail_undef(struct tmpl_rs *rs, const struct tmpl_v *v)
{
	return tmpl_render_fail(rs, v->why, "undefined name '%.*s'", SPAN(rs, v->why));
}

int tmpl_render_str(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		const char **s, size_t *len)
{
	char buf[40], *m;
	size_t n;

	switch (v->k) {
	case V_STR:
		*s = v->s;
		*len = v->len;
		return 0;
	case V_UNDEF:
		return fail_undef(rs, v);
	case V_NONE:
		*s = "None";
		*len = 4;
		return 0;
	case V_BOOL:
		*s = v->i ? "True" : "False";
		*len = strlen(*s);
		return 0;
	case V_INT:
		n = (size_t)snprintf(buf, sizeof(buf), "%lld", v->i);
		break;
	case V_FLOAT:
		n = tmpl_value_repr(v->f, buf);
		break;
	case V_LOOP:
		return tmpl_render_fail(rs, x, "'%.*s' is the loop; print loop.index or the like",
				    SPAN(rs, x));
	default:
		return tmpl_render_fail(rs, x, "'%.*s' is %s %s; print its items or use join", SPAN(rs, x),
				    v->k == V_LIST ? "a" : "an", tmpl_value_kind(v));
	}
	m = tmpl_render_alloc(rs, x, n + 1);
	if (!m)
		return -1;
	memcpy(m, buf, n + 1);
	*s = m;
	*len = n;
	return 0;
}

int tmpl_render_truth(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v, bool *t)
{
	(void)x;
	switch (v->k) {
	case V_UNDEF: return fail_undef(rs, v);
	case V_NONE: *t = false; break;
	case V_BOOL: case V_INT: *t = v->i != 0; break;
	case V_FLOAT: *t = v->f != 0; break;
	case V_STR: *t = v->len > 0; break;
	case V_LIST: case V_OBJ: *t = v->j->child != NULL; break;
	case V_LOOP: *t = true; break;
	}
	return 0;
}

static int eval(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_v *v);

static int lookup(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_v *v)
{
	memset(v, 0, sizeof(*v));
	for (const struct tmpl_loop *l = rs->loop; l; l = l->up) {
		if (l->varlen == x->slen && !memcmp(l->var, x->s, x->slen)) {
			*v = l->item;
			return 0;
		}
	}
	if (rs->loop && x->slen == 4 && !memcmp(x->s, "loop", 4)) {
		v->k = V_LOOP;
		v->loop = rs->loop;
		return 0;
	}
	{
		const cJSON *j = cJSON_IsObject(rs->ctx) ? tmpl_value_key(rs->ctx, x->s, x->slen) : NULL;

		if (j) {
			tmpl_value_json(j, v);
			return 0;
		}
	}
	v->k = V_UNDEF;
	v->why = x;
	return 0;
}

static int loop_attr(const struct tmpl_loop *l, const char *s, size_t n, struct tmpl_v *v)
{
	static const char *const names[] = { "index", "index0", "first", "last", "length",
					     "revindex", "revindex0" };
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k]) == n && !memcmp(names[k], s, n))
			break;
	v->k = V_INT;
	switch (k) {
	case 0: v->i = l->index0 + 1; break;
	case 1: v->i = l->index0; break;
	case 2: v->k = V_BOOL; v->i = l->index0 == 0; break;
	case 3: v->k = V_BOOL; v->i = l->index0 == l->length - 1; break;
	case 4: v->i = l->length; break;
	case 5: v->i = l->length - l->index0; break;
	case 6: v->i = l->length - l->index0 - 1; break;
	default: return -1;
	}
	return 0;
}

static int eval_attr(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_v *v)
{
	struct tmpl_v a, k;

	if (eval(rs, x->a, &a) < 0)
		return -1;
	if (a.k == V_UNDEF)
		return fail_undef(rs, &a);
	memset(&k, 0, sizeof(k));
	if (x->op == X_ATTR) {
		k.k = V_STR;
		k.s = x->s;
		k.len = x->slen;
	} else {
		if (eval(rs, x->b, &k) < 0)
			return -1;
		if (k.k == V_UNDEF)
			return fail_undef(rs, &k);
	}
	memset(v, 0, sizeof(*v));
	if (a.k == V_OBJ && k.k == V_STR) {
		const cJSON *j = tmpl_value_key(a.j, k.s, k.len);

		if (j) {
			tmpl_value_json(j, v);
			return 0;
		}
	} else if (a.k == V_LIST && (k.k == V_INT || k.k == V_BOOL)) {
		int n = cJSON_GetArraySize(a.j);
		long long i = k.i < 0 ? k.i + n : k.i;

		if (i >= 0 && i < n) {
			tmpl_value_json(cJSON_GetArrayItem(a.j, (int)i), v);
			return 0;
		}
	} else if (a.k == V_LOOP && x->op == X_ATTR) {
		if (loop_attr(a.loop, x->s, x->slen, v) == 0)
			return 0;
	}
	v->k = V_UNDEF;
	v->why = x;
	return 0;
}

static int eval_filter(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_v *v)
{
	struct tmpl_v a, args[TMPL_ARGS_MAX];

	if (eval(rs, x->a, &a) < 0)
		return -1;
	for (int k = 0; k < TMPL_ARGS_MAX; k++) {
		memset(&args[k], 0, sizeof(args[k]));
		args[k].k = V_UNDEF;
		args[k].why = NULL;	/* not given */
		if (k < x->nargs && x->args[k] && eval(rs, x->args[k], &args[k]) < 0)
			return -1;
	}
	return tmpl_filter_apply(rs, x, &a, args, v);
}

static int eval(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_v *v)
{
	struct tmpl_v a, b;
	bool t;

	memset(v, 0, sizeof(*v));
	switch (x->op) {
	case X_NAME: return lookup(rs, x, v);
	case X_STR: v->k = V_STR; v->s = x->s; v->len = x->slen; return 0;
	case X_INT: v->k = V_INT; v->i = x->i; return 0;
	case X_FLOAT: v->k = V_FLOAT; v->f = x->f; return 0;
	case X_BOOL: v->k = V_BOOL; v->i = x->i; return 0;
	case X_NONE: v->k = V_NONE; return 0;
	case X_ATTR: case X_INDEX: return eval_attr(rs, x, v);
	case X_FILTER: return eval_filter(rs, x, v);
	case X_TEST:
		if (eval(rs, x->a, &a) < 0)
			return -1;
		v->k = V_BOOL;
		v->i = x->sub == TEST_DEFINED ? a.k != V_UNDEF :
		       x->sub == TEST_UNDEFINED ? a.k == V_UNDEF : a.k == V_NONE;
		v->i ^= x->neg;
		return 0;
	case X_NOT:
		if (eval(rs, x->a, &a) < 0 || tmpl_render_truth(rs, x->a, &a, &t) < 0)
			return -1;
		v->k = V_BOOL;
		v->i = !t;
		return 0;
	case X_NEG: case X_POS:
		if (eval(rs, x->a, &a) < 0)
			return -1;
		if (a.k == V_UNDEF)
			return fail_undef(rs, &a);
		if (!tmpl_value_numeric(&a))
			return tmpl_render_fail(rs, x, "'%c' wants a number, got %s",
					    x->op == X_NEG ? '-' : '+', tmpl_value_kind(&a));
		*v = a;
		if (v->k == V_BOOL)
			v->k = V_INT;
		if (x->op == X_NEG && v->k == V_FLOAT)
			v->f = -v->f;
		else if (x->op == X_NEG && __builtin_sub_overflow(0LL, v->i, &v->i))
			return tmpl_render_fail(rs, x, "integer overflow");
		return 0;
	case X_AND: case X_OR:
		if (eval(rs, x->a, &a) < 0 || tmpl_render_truth(rs, x->a, &a, &t) < 0)
			return -1;
		if (t == (x->op == X_OR)) {
			*v = a;
			return 0;
		}
		return eval(rs, x->b, v);
	default:
		break;
	}
	if (eval(rs, x->a, &a) < 0 || eval(rs, x->b, &b) < 0)
		return -1;
	if (a.k == V_UNDEF)
		return fail_undef(rs, &a);
	if (b.k == V_UNDEF)
		return fail_undef(rs, &b);
	if (x->op == X_CAT) {
		const char *s1, *s2;
		size_t n1, n2;
		char *s;

		if (tmpl_render_str(rs, x->a, &a, &s1, &n1) < 0 || tmpl_render_str(rs, x->b, &b, &s2, &n2) < 0)
			return -1;
		s = tmpl_render_alloc(rs, x, n1 + n2 + 1);
		if (!s)
			return -1;
		memcpy(s, s1, n1);
		memcpy(s + n1, s2, n2);
		v->k = V_STR;
		v->s = s;
		v->len = n1 + n2;
		return 0;
	}
	if (x->op >= X_EQ && x->op <= X_NOTIN) {
		if (tmpl_value_compare(rs, x, &a, &b, &t) < 0)
			return -1;
		v->k = V_BOOL;
		v->i = t;
		return 0;
	}
	return tmpl_value_arith(rs, x, &a, &b, v);
}

/* ---- statements ---- */

static int emit(struct tmpl_rs *rs, size_t pos, const char *s, size_t n)
{
	if (n > TMPL_OUT_MAX - rs->len) {
		char msg[64];

		snprintf(msg, sizeof(msg), "output over %d bytes", TMPL_OUT_MAX);
		return fail_at(rs, pos, msg);
	}
	if (rs->len + n + 1 > rs->cap) {
		size_t cap = rs->cap ? rs->cap : 256;
		char *o;

		while (cap < rs->len + n + 1)
			cap *= 2;
		o = realloc(rs->out, cap);
		if (!o)
			return fail_at(rs, pos, "out of memory");
		rs->out = o;
		rs->cap = cap;
	}
	memcpy(rs->out + rs->len, s, n);
	rs->len += n;
	rs->out[rs->len] = '\0';
	return 0;
}

static int render_list(struct tmpl_rs *rs, const struct tmpl_n *n);

static int render_for(struct tmpl_rs *rs, const struct tmpl_n *n)
{
	struct tmpl_loop l = { .var = n->var, .varlen = n->varlen, .up = rs->loop };
	struct tmpl_v list;
	int rc = 0;

	if (eval(rs, n->x, &list) < 0)
		return -1;
	if (list.k == V_UNDEF)
		return fail_undef(rs, &list);
	if (list.k != V_LIST)
		return tmpl_render_fail(rs, n->x, "cannot loop over %s '%.*s', only a list",
				    tmpl_value_kind(&list), SPAN(rs, n->x));
	l.length = cJSON_GetArraySize(list.j);
	rs->loop = &l;
	for (const cJSON *c = list.j->child; c && rc == 0; c = c->next, l.index0++) {
		if (++rs->iters > TMPL_LOOP_MAX) {
			char msg[64];

			snprintf(msg, sizeof(msg), "more than %d loop iterations", TMPL_LOOP_MAX);
			rc = fail_at(rs, n->pos, msg);
			break;
		}
		tmpl_value_json(c, &l.item);
		rc = render_list(rs, n->body);
	}
	rs->loop = l.up;
	return rc;
}

static int render_one(struct tmpl_rs *rs, const struct tmpl_n *n)
{
	struct tmpl_v v;
	const char *s;
	size_t len;
	bool t;

	switch (n->kind) {
	case N_TEXT:
		return emit(rs, n->tpos, rs->t->src + n->tpos, n->tlen);
	case N_OUT:
		if (eval(rs, n->x, &v) < 0 || tmpl_render_str(rs, n->x, &v, &s, &len) < 0)
			return -1;
		return emit(rs, n->x->pos, s, len);
	case N_IF:
		for (; n; n = n->els) {
			if (eval(rs, n->x, &v) < 0 || tmpl_render_truth(rs, n->x, &v, &t) < 0)
				return -1;
			if (t)
				return render_list(rs, n->body);
			if (!n->elif)
				return render_list(rs, n->els);
		}
		return 0;
	case N_FOR:
		return render_for(rs, n);
	}
	return 0;
}

static int render_list(struct tmpl_rs *rs, const struct tmpl_n *n)
{
	for (; n; n = n->next) {
		struct tmpl_mark m = tmpl_arena_mark(&rs->a);
		int rc = render_one(rs, n);

		tmpl_arena_release(&rs->a, m);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int tmpl_render(const struct tmpl *t, const cJSON *ctx, char **out, size_t *out_len,
		struct tmpl_err *err)
{
	struct tmpl_rs rs = { .t = t, .ctx = ctx, .err = err };

	memset(err, 0, sizeof(*err));
	*out = NULL;
	*out_len = 0;
	if (render_list(&rs, t->body) < 0 || emit(&rs, t->len, "", 0) < 0) {
		free(rs.out);
		tmpl_arena_free(&rs.a);
		return -1;
	}
	tmpl_arena_free(&rs.a);
	*out = rs.out;
	*out_len = rs.len;
	return 0;
}
