/*
 * sbuf.c — appending to the growing string of sbuf.h.  Its owner's thread.
 */
#include "sbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a buffer's first allocation. */
#define SBUF_MIN_CAP 256u

/* Room for len + n bytes and the NUL; -1 (and oom) when there is none. */
static int sbuf_grow(struct sbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : SBUF_MIN_CAP;
	char *s;

	if (b->oom || n >= SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	while (cap < b->len + n + 1)
		cap *= 2;
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

void sbuf_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s ? b->s + b->len : NULL, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;	/* an encoding error: as final as no memory */
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (sbuf_grow(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void sbuf_put(struct sbuf *b, const char *p, size_t n)
{
	if (sbuf_grow(b, n))
		return;
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	*b = (struct sbuf){ 0 };
}
