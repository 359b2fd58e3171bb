/*
 * tmpl_value.c — the values of the template engine as Python has them:
 * from cJSON, printed (Python's repr of a float), compared (==, <, in)
 * and added, subtracted, multiplied and divided (int64 with overflow
 * checked, floor division and modulo as Python's).  Pure; any thread
 * (runs in tmpl_render).
 *
 * A cJSON number is an integer when it is integral and below 2^53 in
 * magnitude (it prints "3"), otherwise a float (Python's repr: "3.5",
 * "1e+20").
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

const char *tmpl_value_kind(const struct tmpl_v *v)
{
	static const char *const names[] = { "undefined", "none", "boolean", "number", "number",
					     "string", "list", "object", "loop" };

	return names[v->k];
}

void tmpl_value_json(const cJSON *j, struct tmpl_v *v)
{
	memset(v, 0, sizeof(*v));
	if (cJSON_IsString(j)) {
		v->k = V_STR;
		v->s = j->valuestring;
		v->len = strlen(j->valuestring);
	} else if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		if (d == trunc(d) && fabs(d) < 9007199254740992.0) {
			v->k = V_INT;
			v->i = (long long)d;
		} else {
			v->k = V_FLOAT;
			v->f = d;
		}
	} else if (cJSON_IsBool(j)) {
		v->k = V_BOOL;
		v->i = cJSON_IsTrue(j);
	} else if (cJSON_IsArray(j)) {
		v->k = V_LIST;
		v->j = j;
	} else if (cJSON_IsObject(j)) {
		v->k = V_OBJ;
		v->j = j;
	} else {
		v->k = V_NONE;
	}
}

const cJSON *tmpl_value_key(const cJSON *o, const char *k, size_t len)
{
	for (const cJSON *c = o->child; c; c = c->next)
		if (c->string && strlen(c->string) == len && !memcmp(c->string, k, len))
			return c;
	return NULL;
}

size_t tmpl_value_repr(double f, char *buf)
{
	char d[32];
	int prec, exp, nd = 0, decpt, n = 0;
	const char *p;

	if (isnan(f))
		return (size_t)sprintf(buf, "nan");
	if (isinf(f))
		return (size_t)sprintf(buf, f < 0 ? "-inf" : "inf");
	/* the shortest digits that read back as f */
	for (prec = 0; prec < 17; prec++) {
		snprintf(d, sizeof(d), "%.*e", prec, f);
		if (strtod(d, NULL) == f)
			break;
	}
	snprintf(d, sizeof(d), "%.*e", prec, f);
	p = d;
	if (*p == '-') {
		buf[n++] = '-';
		p++;
	}
	{
		char digits[24];
		const char *e = strchr(p, 'e');

		for (; p < e; p++)
			if (*p != '.')
				digits[nd++] = *p;
		exp = atoi(e + 1);
		while (nd > 1 && digits[nd - 1] == '0')
			nd--;
		decpt = exp + 1;
		if (decpt > -4 && decpt <= 16) {
			if (decpt <= 0) {
				n += sprintf(buf + n, "0.");
				for (int k = 0; k < -decpt; k++)
					buf[n++] = '0';
				memcpy(buf + n, digits, (size_t)nd);
				n += nd;
			} else if (decpt >= nd) {
				memcpy(buf + n, digits, (size_t)nd);
				n += nd;
				for (int k = nd; k < decpt; k++)
					buf[n++] = '0';
				n += sprintf(buf + n, ".0");
			} else {
				memcpy(buf + n, digits, (size_t)decpt);
				n += decpt;
				buf[n++] = '.';
				memcpy(buf + n, digits + decpt, (size_t)(nd - decpt));
				n += nd - decpt;
			}
		} else {
			buf[n++] = digits[0];
			if (nd > 1) {
				buf[n++] = '.';
				memcpy(buf + n, digits + 1, (size_t)(nd - 1));
				n += nd - 1;
			}
			n += sprintf(buf + n, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		}
	}
	buf[n] = '\0';
	return (size_t)n;
}

bool tmpl_value_numeric(const struct tmpl_v *v)
{
	return v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL;
}

static double num(const struct tmpl_v *v)
{
	return v->k == V_FLOAT ? v->f : (double)v->i;
}

static bool equal(const struct tmpl_v *a, const struct tmpl_v *b)
{
	if (tmpl_value_numeric(a) && tmpl_value_numeric(b)) {
		if (a->k != V_FLOAT && b->k != V_FLOAT)
			return a->i == b->i;
		return num(a) == num(b);
	}
	if (a->k != b->k)
		return false;
	switch (a->k) {
	case V_NONE: return true;
	case V_STR: return a->len == b->len && !memcmp(a->s, b->s, a->len);
	case V_LIST: case V_OBJ: return cJSON_Compare(a->j, b->j, 1);
	case V_LOOP: return a->loop == b->loop;
	default: return false;
	}
}

int tmpl_value_compare(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *a,
		   const struct tmpl_v *b, bool *r)
{
	static const char *const opname[] = { "<", "<=", ">", ">=" };
	int c;

	if (x->op == X_EQ || x->op == X_NE) {
		*r = equal(a, b) == (x->op == X_EQ);
		return 0;
	}
	if (x->op == X_IN || x->op == X_NOTIN) {
		bool in = false;

		if (b->k == V_STR) {
			if (a->k != V_STR)
				return tmpl_render_fail(rs, x, "'in' a string wants a string, got %s",
						    tmpl_value_kind(a));
			in = a->len == 0 || (b->len >= a->len && memmem(b->s, b->len, a->s, a->len));
		} else if (b->k == V_LIST) {
			for (const cJSON *c2 = b->j->child; c2 && !in; c2 = c2->next) {
				struct tmpl_v e;

				tmpl_value_json(c2, &e);
				in = equal(a, &e);
			}
		} else if (b->k == V_OBJ) {
			in = a->k == V_STR && tmpl_value_key(b->j, a->s, a->len);
		} else {
			return tmpl_render_fail(rs, x, "'in' wants a list, an object or a string, got %s",
					    tmpl_value_kind(b));
		}
		*r = in == (x->op == X_IN);
		return 0;
	}
	if (tmpl_value_numeric(a) && tmpl_value_numeric(b)) {
		if (a->k != V_FLOAT && b->k != V_FLOAT)
			c = a->i < b->i ? -1 : a->i > b->i;
		else
			c = num(a) < num(b) ? -1 : num(a) > num(b);
		if (a->k == V_FLOAT || b->k == V_FLOAT) {
			if (isnan(num(a)) || isnan(num(b))) {
				*r = false;
				return 0;
			}
		}
	} else if (a->k == V_STR && b->k == V_STR) {
		size_t n = a->len < b->len ? a->len : b->len;

		c = memcmp(a->s, b->s, n);
		if (c == 0)
			c = a->len < b->len ? -1 : a->len > b->len;
	} else {
		return tmpl_render_fail(rs, x, "'%s' between %s and %s", opname[x->op - X_LT],
				    tmpl_value_kind(a), tmpl_value_kind(b));
	}
	switch (x->op) {
	case X_LT: *r = c < 0; break;
	case X_LE: *r = c <= 0; break;
	case X_GT: *r = c > 0; break;
	default: *r = c >= 0; break;
	}
	return 0;
}

/* Python's floor division and modulo */
static int arith_int(struct tmpl_rs *rs, const struct tmpl_x *x, long long a, long long b,
		     struct tmpl_v *v)
{
	long long r = 0;
	bool over = false;

	v->k = V_INT;
	switch (x->op) {
	case X_ADD: over = __builtin_add_overflow(a, b, &r); break;
	case X_SUB: over = __builtin_sub_overflow(a, b, &r); break;
	case X_MUL: over = __builtin_mul_overflow(a, b, &r); break;
	case X_FDIV: case X_MOD:
		if (b == 0)
			return tmpl_render_fail(rs, x, "division by zero");
		if (b == -1 && a == LLONG_MIN) {
			over = x->op == X_FDIV;
			break;
		}
		if (x->op == X_FDIV) {
			r = a / b;
			if (a % b != 0 && ((a < 0) != (b < 0)))
				r--;
		} else {
			r = a % b;
			if (r != 0 && ((r < 0) != (b < 0)))
				r += b;
		}
		break;
	default: break;
	}
	if (over)
		return tmpl_render_fail(rs, x, "integer overflow");
	v->i = r;
	return 0;
}

int tmpl_value_arith(struct tmpl_rs *rs, const struct tmpl_x *x, const struct tmpl_v *a,
		 const struct tmpl_v *b, struct tmpl_v *v)
{
	static const char *const opname[] = { "+", "-", "*", "/", "//", "%" };
	double p, q, r = 0;

	memset(v, 0, sizeof(*v));
	if (x->op == X_ADD && a->k == V_STR && b->k == V_STR) {
		char *s = tmpl_render_alloc(rs, x, a->len + b->len + 1);

		if (!s)
			return -1;
		memcpy(s, a->s, a->len);
		memcpy(s + a->len, b->s, b->len);
		v->k = V_STR;
		v->s = s;
		v->len = a->len + b->len;
		return 0;
	}
	if (x->op == X_MOD && a->k == V_STR)
		return tmpl_format(rs, x, a->s, a->len, b, 1, v);	/* Python's "%s" % x */
	if (x->op == X_MUL && ((a->k == V_STR && (b->k == V_INT || b->k == V_BOOL)) ||
			       (b->k == V_STR && (a->k == V_INT || a->k == V_BOOL)))) {
		/* Python's repetition: "ab" * 3 */
		const struct tmpl_v *str = a->k == V_STR ? a : b;
		long long times = a->k == V_STR ? b->i : a->i;
		char *s;

		if (times < 0)
			times = 0;
		if (str->len && times > (long long)(TMPL_OUT_MAX / str->len))
			return tmpl_render_fail(rs, x, "value over %d bytes", TMPL_OUT_MAX);
		s = tmpl_render_alloc(rs, x, str->len * (size_t)times + 1);
		if (!s)
			return -1;
		for (long long k = 0; k < times; k++)
			memcpy(s + (size_t)k * str->len, str->s, str->len);
		v->k = V_STR;
		v->s = s;
		v->len = str->len * (size_t)times;
		return 0;
	}
	if (!tmpl_value_numeric(a) || !tmpl_value_numeric(b))
		return tmpl_render_fail(rs, x, "'%s' between %s and %s", opname[x->op - X_ADD],
				    tmpl_value_kind(a), tmpl_value_kind(b));
	if (a->k != V_FLOAT && b->k != V_FLOAT && x->op != X_DIV)
		return arith_int(rs, x, a->i, b->i, v);
	p = num(a);
	q = num(b);
	if (q == 0 && (x->op == X_DIV || x->op == X_FDIV || x->op == X_MOD))
		return tmpl_render_fail(rs, x, "division by zero");
	switch (x->op) {
	case X_ADD: r = p + q; break;
	case X_SUB: r = p - q; break;
	case X_MUL: r = p * q; break;
	case X_DIV: r = p / q; break;
	default: {
		/* as CPython's float divmod */
		double mod = fmod(p, q), div = (p - mod) / q, fl;

		if (mod != 0) {
			if ((q < 0) != (mod < 0)) {
				mod += q;
				div -= 1.0;
			}
		} else {
			mod = copysign(0.0, q);
		}
		if (div != 0) {
			fl = floor(div);
			if (div - fl > 0.5)
				fl += 1.0;
		} else {
			fl = copysign(0.0, p / q);
		}
		r = x->op == X_MOD ? mod : fl;
	}
	}
	v->k = V_FLOAT;
	v->f = r;
	return 0;
}
