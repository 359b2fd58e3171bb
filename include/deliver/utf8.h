/*
 * utf8.h — make bytes from outside (a provider's answer) safe to store as
 * PostgreSQL text: valid UTF-8 without NUL.  Pure.
 */
#ifndef LEO_UTF8_H
#define LEO_UTF8_H

#include <stddef.h>

/* Replace each NUL and each byte that does not start or continue a valid
 * UTF-8 sequence of s[0..len) with '?', in place; s[len] is set to NUL. */
void utf8_scrub(char *s, size_t len);

#endif
