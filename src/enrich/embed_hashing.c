/*
 * embed_hashing.c — signed feature hashing as embed_hashing.h describes it.
 * A text is lower-cased into one buffer of words, every unigram and bigram
 * hashed into an array, the array sorted so equal terms sit together (tf is
 * a run's length), and each distinct term adds its signed weight.  Pure;
 * any thread.
 */
#include "embed_hashing.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t eh_fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

uint64_t embed_hashing_term(const char *term, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)term[i]) * 1099511628211ULL;
	return eh_fmix64(h);
}

/* Length of the UTF-8 sequence at s (1 for a stray byte), and its code
 * point in *cp (-1 when not a well-formed sequence). */
static size_t eh_utf8(const unsigned char *s, size_t left, long *cp)
{
	size_t n;
	long c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	if (n > left) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return n;
}

/* The lower case of the letters the recipe names; others unchanged. */
static long eh_lower(long c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;
	if (c == 0x178)		/* Y with diaeresis pairs with U+00FF */
		return 0xff;
	if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
	    c != 0x17f) {
		/* Pairs start even up to U+0137 and from U+014A, odd between. */
		bool odd_first = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);

		if (odd_first ? (c & 1) : !(c & 1))
			return c + 1;
		return c;
	}
	if (c >= 0x1e00 && c <= 0x1eff && !(c & 1) && !(c >= 0x1e96 && c <= 0x1e9f))
		return c + 1;
	return c;
}

static size_t eh_put_utf8(char *o, long c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static int eh_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Words of text, lower-cased, each NUL-terminated in *words (n of them). */
static char *eh_words(const char *text, size_t len, size_t *n)
{
	/* Lower-casing never lengthens a character here (same UTF-8 length). */
	char *w = malloc(len * 2 + 2), *o = w;
	const unsigned char *s = (const unsigned char *)text;
	bool in = false;

	if (!w)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < len;) {
		long cp;
		size_t k = eh_utf8(s + i, len - i, &cp);
		bool word = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
			    (cp >= 'A' && cp <= 'Z') || s[i] >= 0x80;

		if (word) {
			if (!in)
				(*n)++;
			in = true;
			if (cp >= 0)
				o += eh_put_utf8(o, eh_lower(cp));
			else
				*o++ = (char)s[i];
		} else if (in) {
			*o++ = '\0';
			in = false;
		}
		i += k;
	}
	if (in)
		*o++ = '\0';
	return w;
}

int embed_hashing(const char *text, size_t len, float out[EMBED_DIM])
{
	double v[EMBED_DIM] = { 0 }, norm = 0;
	size_t nw = 0, nt = 0;
	char *words = eh_words(text, len, &nw), *w, *prev = NULL;
	uint64_t *h;

	if (!words)
		return -1;
	h = malloc((2 * nw + 1) * sizeof(*h));
	if (!h) {
		free(words);
		return -1;
	}
	w = words;
	for (size_t i = 0; i < nw; i++) {
		size_t wl = strlen(w);

		h[nt++] = embed_hashing_term(w, wl);
		if (prev) {
			/* prev and w are neighbours in the buffer: "prev\0w" */
			w[-1] = ' ';
			h[nt++] = embed_hashing_term(prev, (size_t)(w - prev) + wl);
			w[-1] = '\0';
		}
		prev = w;
		w += wl + 1;
	}
	if (nt == 0)
		h[nt++] = embed_hashing_term("\x01", 1);
	qsort(h, nt, sizeof(*h), eh_cmp);
	for (size_t i = 0; i < nt;) {
		size_t j = i;

		while (j < nt && h[j] == h[i])
			j++;
		v[(h[i] & 0x7fffffffffffffffULL) % EMBED_DIM] +=
			(h[i] >> 63 ? -1.0 : 1.0) * (1.0 + log((double)(j - i)));
		i = j;
	}
	free(h);
	free(words);
	for (size_t i = 0; i < EMBED_DIM; i++)
		norm += v[i] * v[i];
	norm = sqrt(norm);
	for (size_t i = 0; i < EMBED_DIM; i++)
		out[i] = norm > 0 ? (float)(v[i] / norm) : 0.0f;
	if (norm == 0)	/* terms that cancelled exactly: fall back to the empty text's */
		out[(embed_hashing_term("\x01", 1) & 0x7fffffffffffffffULL) % EMBED_DIM] =
			embed_hashing_term("\x01", 1) >> 63 ? -1.0f : 1.0f;
	return 0;
}
