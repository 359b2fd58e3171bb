/*
 * sbuf.h — the one growing string: SQL array literals, an announcement's
 * list, an embedding's document, built by appending.
 *
 * Out of memory sticks: the first failed growth sets `oom`, later appends
 * do nothing, and the owner checks `oom` once when it is done (what is in
 * `s` then is a prefix of what was asked for).  `s` is NULL until the first
 * append, then always NUL-terminated.  Not thread-safe: a buffer belongs to
 * the thread of its owner.
 */
#ifndef LEO_SBUF_H
#define LEO_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

/* Append printf(fmt, ...). */
void sbuf_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append the n bytes at p (n may be 0: s is then "" if it was NULL). */
void sbuf_put(struct sbuf *b, const char *p, size_t n);

/* Free the string and start again empty, `oom` cleared. */
void sbuf_free(struct sbuf *b);

#endif
