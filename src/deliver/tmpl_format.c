/*
 * tmpl_format.c — the format filter and the "%" of a string (one
 * argument): Python's "fmt" % (args...) for the
 * conversions %s %d %i %f %.Nf and %%; any other is an error, as are too
 * few or too many arguments (Python's messages).  Pure; any thread (runs
 * in tmpl_render).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

/* Python's "fmt" % (args...), for %s %d %i %f %.Nf %% */
int tmpl_format(struct tmpl_rs *rs, const struct tmpl_x *x, const char *f, size_t n,
		const struct tmpl_v *args, int nargs, struct tmpl_v *out)
{
	struct tmpl_sb b = { 0 };
	int used = 0;

	for (size_t i = 0; i < n; i++) {
		const struct tmpl_v *a;
		char buf[720];
		const char *s;
		size_t len;
		int prec = 6;

		if (f[i] != '%') {
			if (tmpl_filter_sb_add(rs, x, &b, f + i, 1) < 0)
				goto fail;
			continue;
		}
		if (++i < n && f[i] == '%') {
			if (tmpl_filter_sb_add(rs, x, &b, "%", 1) < 0)
				goto fail;
			continue;
		}
		if (i < n && f[i] == '.') {
			prec = 0;
			while (++i < n && isdigit((unsigned char)f[i]) && prec < 100)
				prec = prec * 10 + (f[i] - '0');
			if (i >= n || f[i] != 'f' || prec > 99)
				goto unsupported;
		}
		if (i >= n || !strchr("sdif", f[i]) || !f[i])
			goto unsupported;
		if (used >= nargs) {
			tmpl_render_fail(rs, x, "not enough arguments for format string");
			goto fail;
		}
		a = &args[used++];
		if (f[i] == 's') {
			if (tmpl_render_str(rs, x->op == X_FILTER ? x->args[used - 1] : x->b, a, &s, &len) < 0)
				goto fail;
		} else {
			if (a->k == V_UNDEF || !tmpl_value_numeric(a)) {
				if (a->k == V_UNDEF)
					(void)tmpl_render_str(rs, x, a, &s, &len);
				else
					tmpl_render_fail(rs, x, "%%%c format: a number is required, not %s", f[i],
						     tmpl_value_kind(a));
				goto fail;
			}
			if (f[i] == 'f') {
				snprintf(buf, sizeof(buf), "%.*f", prec,
					 a->k == V_FLOAT ? a->f : (double)a->i);
			} else if (a->k == V_FLOAT) {
				if (!(fabs(a->f) < 9223372036854775808.0)) {
					tmpl_render_fail(rs, x, "integer overflow");
					goto fail;
				}
				snprintf(buf, sizeof(buf), "%lld", (long long)a->f);
			} else {
				snprintf(buf, sizeof(buf), "%lld", a->i);
			}
			s = buf;
			len = strlen(buf);
			if (len >= sizeof(buf) - 1) {
				tmpl_render_fail(rs, x, "value over %d bytes", TMPL_OUT_MAX);
				goto fail;
			}
		}
		if (tmpl_filter_sb_add(rs, x, &b, s, len) < 0)
			goto fail;
	}
	if (used < nargs) {
		tmpl_render_fail(rs, x, "not all arguments converted during string formatting");
		goto fail;
	}
	return tmpl_filter_sb_done(rs, x, &b, out);
unsupported:
	tmpl_render_fail(rs, x, "'format' supports only %%s %%d %%i %%f %%.Nf %%%%");
fail:
	free(b.p);
	return -1;
}
