/*
 * tmpl_utf8.c — characters of UTF-8 strings for the filters: decode and
 * encode one, count them, Python's whitespace, case mapping.  Pure; any
 * thread (the locale for case mapping is made once, under pthread_once).
 *
 * Case mapping is the C library's towupper/towlower in the C.UTF-8
 * locale (one character to one, so "ß" stays "ß" where Python makes
 * "SS"); without that locale only ASCII letters change case.  A byte that
 * does not start a valid sequence is a character of its own.
 */
#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <wctype.h>

#include "tmpl_int.h"

/* the code point at s (n bytes left) and its length; a bad byte is itself */
unsigned tmpl_utf8_get(const char *s, size_t n, size_t *len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned cp;
	size_t need;

	if (u[0] < 0x80 || (u[0] & 0xe0) == 0x80 || u[0] >= 0xf8) {
		*len = 1;
		return u[0];
	}
	need = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : 2;
	if (need > n)
		goto bad;
	cp = u[0] & (0x7f >> need);
	for (size_t k = 1; k < need; k++) {
		if ((u[k] & 0xc0) != 0x80)
			goto bad;
		cp = cp << 6 | (u[k] & 0x3f);
	}
	*len = need;
	return cp;
bad:
	*len = 1;
	return u[0];
}

size_t tmpl_utf8_put(unsigned cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* bytes of the first n code points of s */
size_t tmpl_utf8_prefix(const char *s, size_t len, size_t n)
{
	size_t i = 0, l;

	while (i < len && n-- > 0) {
		(void)tmpl_utf8_get(s + i, len - i, &l);
		i += l;
	}
	return i;
}

size_t tmpl_utf8_count(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Python's str.isspace */
bool tmpl_utf8_space(unsigned cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 ||
	       cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

unsigned tmpl_utf8_case(unsigned cp, bool up)
{
	pthread_once(&utf8_once, utf8_init);
	if (utf8_locale)
		return up ? (unsigned)towupper_l((wint_t)cp, utf8_locale) :
			    (unsigned)towlower_l((wint_t)cp, utf8_locale);
	if (cp < 0x80)
		return (unsigned)(up ? toupper((int)cp) : tolower((int)cp));
	return cp;
}
