/*
 * dec.h — exact decimal keys for prices, percentages and rule thresholds.
 *
 * A dec_t is the value times 2 * 10^8, as a 128-bit integer.  Rule operands
 * have at most 8 fractional digits and |v| < 10^12, so they are exact and
 * always even.  A price read from PostgreSQL may carry more digits: it is
 * floored to 10^-8 and, when anything was cut off, the lowest bit is set (the
 * "sticky" bit).  Comparing a price key with an operand key with the ordinary
 * integer operators is then exact: 150.100000001 > 150.1 still holds.
 * Magnitudes beyond DEC_MAX saturate, which keeps every comparison with an
 * operand (always far below DEC_MAX) right.
 *
 * Pure functions; any thread.
 */
#ifndef LEO_DEC_H
#define LEO_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

__extension__ typedef __int128 dec_t;

#define DEC_FRAC_DIGITS 8
#define DEC_ONE ((dec_t)200000000)	/* 1.0 */
/* Saturation bound of observed values: 10^18 (operands stay below 10^12). */
#define DEC_MAX (DEC_ONE * (dec_t)1000000000 * (dec_t)1000000000)
/* Longest text dec_format writes, NUL included. */
#define DEC_FMT_MAX 48

enum dec_mode {
	DEC_OPERAND,	/* rule operand: <= 8 fraction digits, |v| < 10^12 */
	DEC_PRICE	/* observed value: any digits, sticky bit, saturating */
};

/*
 * Parse plain decimal text ("-12.5", "0.00000001"; no exponent, no leading
 * '+', no spaces).  Returns 0, or -1 with a reason in *why (static string).
 */
int dec_parse(const char *s, size_t len, enum dec_mode mode, dec_t *out,
	      const char **why) __attribute__((warn_unused_result));

/*
 * Format as plain decimal text with trailing zeros trimmed; returns the
 * length (at most DEC_FMT_MAX - 1).  Even keys print exactly; a key with the
 * sticky bit prints the digits that were kept (the value truncated toward
 * zero at 10^-8), since the cut-off digits are gone.
 */
size_t dec_format(dec_t v, char *buf, size_t buflen);

#endif
