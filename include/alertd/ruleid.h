/*
 * ruleid.h — rule ids as 32 binary bytes.  The schema makes every rule_id
 * 64 lower-case hex digits (a SHA-256); the engine and the registry keep
 * them in half the space and compare them with memcmp.  Pure; any thread.
 */
#ifndef LEO_RULEID_H
#define LEO_RULEID_H

#include <stdint.h>
#include <string.h>

#include "ids.h"

/* Lower-case hex digit value + 1; 0 for anything else (NUL included). */
static const uint8_t ruleid_hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* 64 lower-case hex digits and a NUL -> 32 bytes; -1 for anything else. */
static inline int ruleid_parse(const char *s, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		uint8_t hi = ruleid_hexval[(unsigned char)s[2 * i]], lo;

		if (!hi)	/* stops at a NUL before s[64] too */
			return -1;
		lo = ruleid_hexval[(unsigned char)s[2 * i + 1]];
		if (!lo)
			return -1;
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return s[64] == '\0' ? 0 : -1;
}

static inline void ruleid_format(const uint8_t id[32], char out[RULE_ID_SIZE])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[id[i] >> 4];
		out[2 * i + 1] = hx[id[i] & 15];
	}
	out[64] = '\0';
}

/* The hash of an id for idmap.h: every byte counts, all 32 bits mixed. */
static inline uint32_t ruleid_hash(const uint8_t id[32])
{
	uint64_t w[4], h;

	memcpy(w, id, sizeof(w));
	h = w[0] ^ w[1] * 0x9e3779b97f4a7c15ULL ^ w[2] * 0xbf58476d1ce4e5b9ULL ^
	    w[3] * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h ^ h >> 29);
}

#endif
