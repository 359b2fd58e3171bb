/*
 * tmpl_filter.c — the filters of the template subset, each as Jinja2's
 * (docs/templates.md): default, upper, lower, title, trim, round, int,
 * abs, truncate, replace, join, length, and format (in tmpl_format.c).
 * Lengths and positions count characters (UTF-8 code points) as Python's
 * str does (tmpl_utf8.c).  Filter names, argument counts and keyword
 * names are looked up here for the parser.  Pure; any thread (runs in
 * tmpl_render).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

enum { F_DEFAULT, F_UPPER, F_LOWER, F_TITLE, F_TRIM, F_ROUND, F_INT, F_ABS, F_TRUNCATE,
       F_REPLACE, F_JOIN, F_LENGTH, F_FORMAT, F_N };

static const struct {
	const char *name;
	int min, max;
	const char *args[4];	/* keyword names, by position */
} filters[F_N] = {
	[F_DEFAULT] = { "default", 0, 2, { "default_value", "boolean" } },
	[F_UPPER] = { "upper", 0, 0, { NULL } },
	[F_LOWER] = { "lower", 0, 0, { NULL } },
	[F_TITLE] = { "title", 0, 0, { NULL } },
	[F_TRIM] = { "trim", 0, 1, { "chars" } },
	[F_ROUND] = { "round", 0, 2, { "precision", "method" } },
	[F_INT] = { "int", 0, 2, { "default", "base" } },
	[F_ABS] = { "abs", 0, 0, { NULL } },
	[F_TRUNCATE] = { "truncate", 0, 4, { "length", "killwords", "end", "leeway" } },
	[F_REPLACE] = { "replace", 2, 3, { "old", "new", "count" } },
	[F_JOIN] = { "join", 0, 1, { "d" } },
	[F_LENGTH] = { "length", 0, 0, { NULL } },
	[F_FORMAT] = { "format", 0, TMPL_ARGS_MAX, { NULL } },
};

int tmpl_filter_find(const char *name, size_t len)
{
	for (int k = 0; k < F_N; k++)
		if (strlen(filters[k].name) == len && !memcmp(filters[k].name, name, len))
			return k;
	return -1;
}

int tmpl_filter_nargs(int id, int *min, int *max)
{
	*min = filters[id].min;
	*max = filters[id].max;
	return 0;
}

int tmpl_filter_argpos(int id, const char *name, size_t len)
{
	for (int k = 0; k < 4 && k < filters[id].max && filters[id].args[k]; k++)
		if (strlen(filters[id].args[k]) == len && !memcmp(filters[id].args[k], name, len))
			return k;
	return -1;
}

const char *tmpl_filter_name(int id)
{
	return filters[id].name;
}

/* ---- a growing string of at most TMPL_OUT_MAX bytes ---- */

int tmpl_filter_sb_add(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_sb *b, const char *s, size_t n)
{
	if (n > TMPL_OUT_MAX - b->len)
		return tmpl_render_fail(rs, x, "value over %d bytes", TMPL_OUT_MAX);
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return tmpl_render_fail(rs, x, "out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* the string into the render's arena as v; frees b */
int tmpl_filter_sb_done(struct tmpl_rs *rs, const struct tmpl_x *x, struct tmpl_sb *b, struct tmpl_v *v)
{
	char *s = tmpl_render_alloc(rs, x, b->len + 1);

	if (s && b->len)
		memcpy(s, b->p, b->len);
	free(b->p);
	if (!s)
		return -1;
	memset(v, 0, sizeof(*v));
	v->k = V_STR;
	v->s = s;
	v->len = b->len;
	return 0;
}

/* ---- the filters ---- */

static bool given(const struct tmpl_v *a)
{
	return a->k != V_UNDEF || a->why;
}

static int want_int(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *a,
		    const char *what, long long *out)
{
	if (a->k == V_UNDEF)
		return tmpl_render_str(rs, x, a, &(const char *){ NULL }, &(size_t){ 0 });
	if (a->k != V_INT && a->k != V_BOOL)
		return tmpl_render_fail(rs, x, "'%s' %s must be an integer, got %s", tmpl_filter_name(x->sub),
				    what, tmpl_value_kind(a));
	*out = a->i;
	return 0;
}

static int want_num(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v)
{
	if (v->k == V_UNDEF)
		return tmpl_render_str(rs, x, v, &(const char *){ NULL }, &(size_t){ 0 });
	if (!tmpl_value_numeric(v))
		return tmpl_render_fail(rs, x, "'%s' wants a number, got %s", tmpl_filter_name(x->sub),
				    tmpl_value_kind(v));
	return 0;
}

static int f_case(struct tmpl_rs *rs, const struct tmpl_x *x, const char *s, size_t n,
		  struct tmpl_v *out)
{
	struct tmpl_sb b = { 0 };
	bool word = false;

	for (size_t i = 0, l; i < n; i += l) {
		unsigned cp = tmpl_utf8_get(s + i, n - i, &l);
		char enc[4];
		bool sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || tmpl_utf8_space(cp);

		if (x->sub == F_UPPER || (x->sub == F_TITLE && !sep && !word))
			cp = tmpl_utf8_case(cp, true);
		else if (x->sub == F_LOWER || (x->sub == F_TITLE && !sep))
			cp = tmpl_utf8_case(cp, false);
		word = !sep;
		if (l == 1 && (unsigned char)s[i] >= 0x80) {
			if (tmpl_filter_sb_add(rs, x, &b, s + i, 1) < 0)	/* not UTF-8: as it is */
				goto fail;
		} else if (tmpl_filter_sb_add(rs, x, &b, enc, tmpl_utf8_put(cp, enc)) < 0) {
			goto fail;
		}
	}
	return tmpl_filter_sb_done(rs, x, &b, out);
fail:
	free(b.p);
	return -1;
}

static bool in_set(unsigned cp, const struct tmpl_v *chars)
{
	if (!chars)
		return tmpl_utf8_space(cp);
	for (size_t i = 0, l; i < chars->len; i += l)
		if (tmpl_utf8_get(chars->s + i, chars->len - i, &l) == cp)
			return true;
	return false;
}

static int f_trim(struct tmpl_rs *rs, const struct tmpl_x *x, const char *s, size_t n,
		  const struct tmpl_v *chars, struct tmpl_v *out)
{
	size_t i = 0, j = n, l;

	while (i < j && in_set(tmpl_utf8_get(s + i, j - i, &l), chars))
		i += l;
	while (j > i) {
		size_t k = j - 1;

		while (k > i && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		if (!in_set(tmpl_utf8_get(s + k, j - k, &l), chars))
			break;
		j = k;
	}
	(void)rs;
	(void)x;
	memset(out, 0, sizeof(*out));
	out->k = V_STR;
	out->s = s + i;
	out->len = j - i;
	return 0;
}

static int f_round(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		   const struct tmpl_v *args, struct tmpl_v *out)
{
	long long prec = 0;
	const char *method = "common";
	size_t mlen = 6;
	double f;

	if (want_num(rs, x, v) < 0)
		return -1;
	if (given(&args[0]) && want_int(rs, x, &args[0], "precision", &prec) < 0)
		return -1;
	if (given(&args[1])) {
		if (tmpl_render_str(rs, x, &args[1], &method, &mlen) < 0)
			return -1;
		if (!((mlen == 6 && !memcmp(method, "common", 6)) || (mlen == 4 && !memcmp(method, "ceil", 4)) ||
		      (mlen == 5 && !memcmp(method, "floor", 5))))
			return tmpl_render_fail(rs, x, "'round' method must be common, ceil or floor");
	}
	memset(out, 0, sizeof(*out));
	out->k = V_FLOAT;
	f = v->k == V_FLOAT ? v->f : (double)v->i;
	if (method[0] == 'c' && method[1] == 'o') {
		if (v->k != V_FLOAT) {
			/* Python's round of an int stays an int */
			out->k = V_INT;
			out->i = v->i;
			if (prec < 0) {
				long long m = 1, q, r;

				for (long long k = 0; k < -prec && m <= LLONG_MAX / 10; k++)
					m *= 10;
				q = v->i / m;
				r = v->i % m;
				if (r < 0) {
					r += m;
					q--;
				}
				if (r > m - r || (r == m - r && (q & 1)))
					q++;
				if (__builtin_mul_overflow(q, m, &out->i))
					return tmpl_render_fail(rs, x, "integer overflow");
			}
			return 0;
		}
		if (!isfinite(f) || prec > 330) {
			out->f = f;
		} else if (prec >= 0) {
			/* printf rounds the exact binary value half to even, as CPython's round */
			char buf[720];

			snprintf(buf, sizeof(buf), "%.*f", (int)prec, f);
			out->f = strtod(buf, NULL);
		} else {
			char buf[64];
			int e10;
			long long sig;

			snprintf(buf, sizeof(buf), "%.16e", f);
			e10 = atoi(strchr(buf, 'e') + 1);
			sig = e10 + 1 + prec;
			if (f == 0 || sig < 0 || prec < -330) {
				out->f = copysign(0.0, f);
			} else if (sig == 0) {
				double m = pow(10, (double)-prec);

				out->f = fabs(f) > m / 2 ? copysign(m, f) : copysign(0.0, f);
			} else {
				snprintf(buf, sizeof(buf), "%.*e", (int)(sig - 1), f);
				out->f = strtod(buf, NULL);
			}
		}
		return 0;
	}
	{
		double p10 = pow(10, (double)prec);

		out->f = (method[0] == 'f' ? floor(f * p10) : ceil(f * p10)) / p10;
	}
	return 0;
}

/* Python's int(s, base), then int(float(s)); false when neither reads s */
static bool int_of_string(const char *s, size_t n, long long base, long long *out, bool *over)
{
	char buf[128], *end;
	size_t i = 0, j = n;
	double f;

	while (i < j && tmpl_utf8_space((unsigned char)s[i]))
		i++;
	while (j > i && tmpl_utf8_space((unsigned char)s[j - 1]))
		j--;
	if (j == i || j - i >= sizeof(buf) || isspace((unsigned char)s[i]))
		return false;
	memcpy(buf, s + i, j - i);
	buf[j - i] = '\0';
	if ((buf[0] == '+' || buf[0] == '-') && isspace((unsigned char)buf[1]))
		return false;
	errno = 0;
	*out = strtoll(buf, &end, (int)base);
	if (*end == '\0' && end != buf) {
		*over = errno == ERANGE;
		return true;
	}
	f = strtod(buf, &end);
	if (*end != '\0' || end == buf || isnan(f) || strchr(buf, 'x') || strchr(buf, 'X'))
		return false;
	*over = !(fabs(f) < 9223372036854775808.0);
	*out = *over ? 0 : (long long)f;
	return true;
}

static int f_int(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		 const struct tmpl_v *args, struct tmpl_v *out)
{
	long long base = 10, r = 0;
	bool ok = true, over = false;

	if (given(&args[1]) && want_int(rs, x, &args[1], "base", &base) < 0)
		return -1;
	if (base != 0 && (base < 2 || base > 36))
		return tmpl_render_fail(rs, x, "'int' base must be 0 or 2 to 36");
	memset(out, 0, sizeof(*out));
	switch (v->k) {
	case V_UNDEF:
		return want_num(rs, x, v);
	case V_INT: case V_BOOL:
		r = v->i;
		break;
	case V_FLOAT:
		ok = !isnan(v->f);
		over = ok && !(fabs(v->f) < 9223372036854775808.0);
		r = ok && !over ? (long long)v->f : 0;
		break;
	case V_STR:
		ok = int_of_string(v->s, v->len, base, &r, &over);
		break;
	default:
		ok = false;
	}
	if (over)
		return tmpl_render_fail(rs, x, "integer overflow");
	if (!ok) {
		if (given(&args[0])) {
			*out = args[0];
		} else {
			out->k = V_INT;
			out->i = 0;
		}
		return 0;
	}
	out->k = V_INT;
	out->i = r;
	return 0;
}

static int f_truncate(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		      const struct tmpl_v *args, struct tmpl_v *out)
{
	long long length = 255, leeway = 5;
	bool kill = false;
	const char *end = "...";
	size_t endlen = 3, endn, n, cut;
	struct tmpl_sb b = { 0 };

	if (v->k == V_UNDEF)
		return want_num(rs, x, v);
	if (v->k != V_STR)
		return tmpl_render_fail(rs, x, "'truncate' wants a string, got %s", tmpl_value_kind(v));
	if ((given(&args[0]) && want_int(rs, x, &args[0], "length", &length) < 0) ||
	    (given(&args[1]) && tmpl_render_truth(rs, x, &args[1], &kill) < 0) ||
	    (given(&args[3]) && want_int(rs, x, &args[3], "leeway", &leeway) < 0))
		return -1;
	if (given(&args[2])) {
		if (args[2].k != V_STR)
			return tmpl_render_fail(rs, x, "'truncate' end must be a string, got %s",
					    tmpl_value_kind(&args[2]));
		end = args[2].s;
		endlen = args[2].len;
	}
	endn = tmpl_utf8_count(end, endlen);
	if (length < (long long)endn)
		return tmpl_render_fail(rs, x, "'truncate' length must be at least %zu, got %lld", endn, length);
	if (leeway < 0)
		return tmpl_render_fail(rs, x, "'truncate' leeway must be at least 0, got %lld", leeway);
	n = tmpl_utf8_count(v->s, v->len);
	if ((long long)n <= length + leeway) {
		*out = *v;
		return 0;
	}
	cut = tmpl_utf8_prefix(v->s, v->len, (size_t)length - endn);
	if (!kill) {
		const char *sp = NULL;

		for (size_t i = cut; i > 0; i--)
			if (v->s[i - 1] == ' ') {
				sp = v->s + i - 1;
				break;
			}
		if (sp)
			cut = (size_t)(sp - v->s);
	}
	if (tmpl_filter_sb_add(rs, x, &b, v->s, cut) < 0 || tmpl_filter_sb_add(rs, x, &b, end, endlen) < 0) {
		free(b.p);
		return -1;
	}
	return tmpl_filter_sb_done(rs, x, &b, out);
}

static int f_replace(struct tmpl_rs *rs, const struct tmpl_x *x, const char *s, size_t n,
		     const struct tmpl_v *args, struct tmpl_v *out)
{
	const char *old, *new;
	size_t olen, nlen, i = 0, l;
	long long count = -1;
	struct tmpl_sb b = { 0 };

	if (tmpl_render_str(rs, x, &args[0], &old, &olen) < 0 || tmpl_render_str(rs, x, &args[1], &new, &nlen) < 0 ||
	    (given(&args[2]) && want_int(rs, x, &args[2], "count", &count) < 0))
		return -1;
	if (olen == 0) {
		/* Python inserts new before every character and at the end */
		for (; count != 0; count--) {
			if (tmpl_filter_sb_add(rs, x, &b, new, nlen) < 0)
				goto fail;
			if (i >= n)
				break;
			(void)tmpl_utf8_get(s + i, n - i, &l);
			if (tmpl_filter_sb_add(rs, x, &b, s + i, l) < 0)
				goto fail;
			i += l;
		}
	} else {
		for (; count != 0; count--) {
			const char *p = memmem(s + i, n - i, old, olen);

			if (!p)
				break;
			if (tmpl_filter_sb_add(rs, x, &b, s + i, (size_t)(p - s) - i) < 0 ||
			    tmpl_filter_sb_add(rs, x, &b, new, nlen) < 0)
				goto fail;
			i = (size_t)(p - s) + olen;
		}
	}
	if (tmpl_filter_sb_add(rs, x, &b, s + i, n - i) < 0)
		goto fail;
	return tmpl_filter_sb_done(rs, x, &b, out);
fail:
	free(b.p);
	return -1;
}

static int f_join(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		  const struct tmpl_v *args, struct tmpl_v *out)
{
	const char *d = "", *s;
	size_t dlen = 0, len;
	struct tmpl_sb b = { 0 };
	bool first = true;

	if (given(&args[0]) && tmpl_render_str(rs, x, &args[0], &d, &dlen) < 0)
		return -1;
	if (v->k == V_STR) {
		for (size_t i = 0, l; i < v->len; i += l, first = false) {
			(void)tmpl_utf8_get(v->s + i, v->len - i, &l);
			if ((!first && tmpl_filter_sb_add(rs, x, &b, d, dlen) < 0) || tmpl_filter_sb_add(rs, x, &b, v->s + i, l) < 0)
				goto fail;
		}
		return tmpl_filter_sb_done(rs, x, &b, out);
	}
	if (v->k == V_UNDEF)
		return want_num(rs, x, v);
	if (v->k != V_LIST && v->k != V_OBJ)
		return tmpl_render_fail(rs, x, "'join' wants a list, got %s", tmpl_value_kind(v));
	for (const cJSON *c = v->j->child; c; c = c->next, first = false) {
		struct tmpl_v e;

		if (v->k == V_OBJ) {
			memset(&e, 0, sizeof(e));
			e.k = V_STR;
			e.s = c->string;
			e.len = strlen(c->string);
		} else {
			tmpl_value_json(c, &e);
		}
		if ((!first && tmpl_filter_sb_add(rs, x, &b, d, dlen) < 0) || tmpl_render_str(rs, x->a, &e, &s, &len) < 0 ||
		    tmpl_filter_sb_add(rs, x, &b, s, len) < 0)
			goto fail;
	}
	return tmpl_filter_sb_done(rs, x, &b, out);
fail:
	free(b.p);
	return -1;
}

static int f_length(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		    struct tmpl_v *out)
{
	memset(out, 0, sizeof(*out));
	out->k = V_INT;
	if (v->k == V_STR)
		out->i = (long long)tmpl_utf8_count(v->s, v->len);
	else if (v->k == V_LIST || v->k == V_OBJ)
		out->i = cJSON_GetArraySize(v->j);
	else if (v->k == V_UNDEF)
		return want_num(rs, x, v);
	else
		return tmpl_render_fail(rs, x, "'length' wants a string, a list or an object, got %s",
				    tmpl_value_kind(v));
	return 0;
}

int tmpl_filter_apply(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *v,
		      const struct tmpl_v *args, struct tmpl_v *out)
{
	const char *s = NULL;
	size_t n = 0;
	bool t = false;

	switch (x->sub) {
	case F_DEFAULT:
		t = v->k == V_UNDEF;
		if (!t && given(&args[1])) {
			bool boolean = false, truth = true;

			if (tmpl_render_truth(rs, x, &args[1], &boolean) < 0 ||
			    (boolean && tmpl_render_truth(rs, x, v, &truth) < 0))
				return -1;
			t = boolean && !truth;
		}
		if (!t) {
			*out = *v;
			return 0;
		}
		if (given(&args[0])) {
			*out = args[0];
		} else {
			memset(out, 0, sizeof(*out));
			out->k = V_STR;
			out->s = "";
		}
		return 0;
	case F_ROUND: return f_round(rs, x, v, args, out);
	case F_INT: return f_int(rs, x, v, args, out);
	case F_TRUNCATE: return f_truncate(rs, x, v, args, out);
	case F_JOIN: return f_join(rs, x, v, args, out);
	case F_LENGTH: return f_length(rs, x, v, out);
	case F_ABS:
		if (want_num(rs, x, v) < 0)
			return -1;
		*out = *v;
		if (v->k == V_FLOAT) {
			out->f = fabs(v->f);
			return 0;
		}
		out->k = V_INT;
		if (v->i < 0 && __builtin_sub_overflow(0LL, v->i, &out->i))
			return tmpl_render_fail(rs, x, "integer overflow");
		return 0;
	default:
		break;
	}
	/* the rest work on str(value), as Jinja2's soft_str */
	if (tmpl_render_str(rs, x->a, v, &s, &n) < 0)
		return -1;
	switch (x->sub) {
	case F_UPPER: case F_LOWER: case F_TITLE: return f_case(rs, x, s, n, out);
	case F_TRIM:
		if (given(&args[0])) {
			struct tmpl_v c = { .k = V_STR };

			if (tmpl_render_str(rs, x, &args[0], &c.s, &c.len) < 0)
				return -1;
			return f_trim(rs, x, s, n, &c, out);
		}
		return f_trim(rs, x, s, n, NULL, out);
	case F_REPLACE: return f_replace(rs, x, s, n, args, out);
	case F_FORMAT: return tmpl_format(rs, x, s, n, args, x->nargs, out);
	default: return tmpl_render_fail(rs, x, "unknown filter");
	}
}
