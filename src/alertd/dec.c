/*
 * dec.c — exact decimal keys: text <-> value * 2 * 10^8 (see dec.h).
 *
 * Pure functions, any thread.
 *
 * A key k is 2 * floor(v * 10^8) for a value with at most 8 fractional
 * digits, and 2 * floor(v * 10^8) + 1 when digits were cut off (the sticky
 * bit).  For negative values the same rule reads k = -(2 * m + sticky) where m
 * is |v| truncated at 10^-8: floor(-(m + r)) = -(m + 1) for 0 < r < 1, and
 * 2 * -(m + 1) + 1 = -(2m + 1).  So an observed value lies strictly between
 * two adjacent operand keys exactly when its key is odd, and comparing keys
 * with < <= == orders observed values against operands exactly.
 */
#include <string.h>

#include "dec.h"

/* 10^18: the magnitude where observed values saturate (DEC_MAX / DEC_ONE). */
#define DEC_SAT_UNITS ((dec_t)1000000000 * (dec_t)1000000000)
/* 10^12: operands must stay below. */
#define DEC_OPERAND_LIMIT ((dec_t)1000000000000LL)

int dec_parse(const char *s, size_t len, enum dec_mode mode, dec_t *out,
	      const char **why)
{
	size_t i = 0, nint = 0, nfrac = 0;
	dec_t ip = 0, frac = 0, mag;
	bool neg = false, sticky = false, sat = false;

	if (i < len && s[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nint++) {
		if (sat)
			continue;
		ip = ip * 10 + (s[i] - '0');
		if (ip >= DEC_SAT_UNITS)
			sat = true;
	}
	if (nint == 0) {
		*why = "not a plain decimal number";
		return -1;
	}
	if (i < len && s[i] == '.') {
		i++;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nfrac++) {
			if (nfrac < DEC_FRAC_DIGITS)
				frac = frac * 10 + (s[i] - '0');
			else if (s[i] != '0')
				sticky = true;
		}
		if (nfrac == 0) {
			*why = "not a plain decimal number";
			return -1;
		}
	}
	if (i != len) {
		*why = (s[i] == 'e' || s[i] == 'E') ? "exponent notation not allowed"
						     : "not a plain decimal number";
		return -1;
	}
	for (size_t k = nfrac; k < DEC_FRAC_DIGITS; k++)
		frac *= 10;

	if (mode == DEC_OPERAND) {
		if (nfrac > DEC_FRAC_DIGITS) {
			*why = "more than 8 fractional digits";
			return -1;
		}
		if (sat || ip >= DEC_OPERAND_LIMIT) {
			*why = "magnitude must be below 10^12";
			return -1;
		}
	}
	if (sat) {
		mag = DEC_MAX;
	} else {
		/* ip < 10^18, so ip * 2 * 10^8 < 2 * 10^26: no overflow. */
		mag = (ip * 100000000 + frac) * 2 + (sticky ? 1 : 0);
		if (mag > DEC_MAX)
			mag = DEC_MAX;
	}
	*out = neg ? -mag : mag;
	return 0;
}

size_t dec_format(dec_t v, char *buf, size_t buflen)
{
	char tmp[DEC_FMT_MAX];
	char *p = tmp + sizeof(tmp);
	unsigned __int128 m;
	bool neg = v < 0;
	int nd = 0;
	size_t n;

	/* Magnitude of the kept digits: |k| >> 1 truncates toward zero. */
	m = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
	m >>= 1;
	*--p = '\0';
	/* Fraction: 8 digits, trailing zeros dropped. */
	{
		unsigned __int128 f = m % 100000000;
		char fd[DEC_FRAC_DIGITS];
		int last = -1;

		for (int k = DEC_FRAC_DIGITS - 1; k >= 0; k--) {
			fd[k] = (char)('0' + (int)(f % 10));
			f /= 10;
		}
		for (int k = 0; k < DEC_FRAC_DIGITS; k++)
			if (fd[k] != '0')
				last = k;
		if (last >= 0) {
			for (int k = last; k >= 0; k--)
				*--p = fd[k];
			*--p = '.';
			nd = 1;
		}
	}
	m /= 100000000;
	do {
		*--p = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m);
	if (neg && (nd || p[0] != '0' || p[1] != '\0'))
		*--p = '-';
	n = strlen(p);
	if (buflen) {
		size_t c = n < buflen - 1 ? n : buflen - 1;

		memcpy(buf, p, c);
		buf[c] = '\0';
	}
	return n;
}
