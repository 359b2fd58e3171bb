/*
 * fnv.h — FNV-1a over a C string: stable across runs and cheap for the short
 * keys it hashes (symbols, rule ids).  Pure; any thread.
 */
#ifndef LEO_FNV_H
#define LEO_FNV_H

#include <stdint.h>

static inline uint32_t fnv_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

#endif
