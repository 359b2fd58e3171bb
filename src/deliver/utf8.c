/*
 * utf8.c — utf8_scrub (utf8.h).  Pure.
 *
 * Valid means what PostgreSQL's UTF8 encoding accepts: shortest forms only,
 * no surrogates, nothing above U+10FFFF.
 */
#include "utf8.h"

/* The length of the valid sequence at s (of n bytes), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned lo = 0x80, hi = 0xBF;

	if (s[0] >= 0x01 && s[0] <= 0x7F)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		if (s[0] == 0xE0)
			lo = 0xA0;	/* overlong */
		else if (s[0] == 0xED)
			hi = 0x9F;	/* surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;	/* above U+10FFFF */
	} else
		return 0;
	if (len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

void utf8_scrub(char *s, size_t len)
{
	unsigned char *u = (unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		k = utf8_seq(u + i, len - i);
		if (!k) {
			u[i++] = '?';
			continue;
		}
		i += k;
	}
	s[len] = '\0';
}
