/*
 * tmpl.h — message templates: the Jinja2 subset of SPEC section 7
 * (docs/templates.md), compiled once and rendered over a cJSON context.
 *
 * Compile and render are pure; any thread.  A compiled template is
 * read-only during render, so one template may render in several threads
 * at once.  Errors carry the line and column (1-based, columns counted in
 * characters) where the problem is and the cause in msg.
 */
#ifndef LEO_TMPL_H
#define LEO_TMPL_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct tmpl;
struct tmpl_err { int line, col; char msg[200]; };   /* line/col 1-based; msg: the cause */

#define TMPL_OUT_MAX (64 * 1024)
#define TMPL_LOOP_MAX 1000

/* Compile src (len bytes, need not be NUL-terminated). NULL with *err filled on a syntax error
 * or out of memory. */
struct tmpl *tmpl_compile(const char *src, size_t len, struct tmpl_err *err)
	__attribute__((warn_unused_result));

/* Render over ctx (a cJSON object). 0 and *out (malloc'd, NUL-terminated, *out_len bytes), or
 * -1 with *err (undefined name, bad filter argument, output over TMPL_OUT_MAX, more than
 * TMPL_LOOP_MAX iterations in total, nesting too deep, type error). Pure; any thread; t is
 * read-only during render so one compiled template may render in several threads. */
int tmpl_render(const struct tmpl *t, const cJSON *ctx, char **out, size_t *out_len, struct tmpl_err *err)
	__attribute__((warn_unused_result));

void tmpl_free(struct tmpl *t);

#endif
