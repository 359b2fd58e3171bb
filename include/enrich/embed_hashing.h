/*
 * embed_hashing.h — the built-in embedder (enrich.embedder.kind: hashing):
 * signed feature hashing of a text's lower-cased word unigrams and bigrams
 * into EMBED_DIM dimensions, sublinear term weights, L2-normalised.  No
 * network, no state: the same text gives the same vector on every run and
 * machine.  Pure; any thread.
 *
 * The recipe, so that anyone can reproduce a vector:
 *   words    maximal runs of ASCII letters and digits and of non-ASCII
 *            UTF-8 characters; everything else separates.  Lower-cased:
 *            ASCII, Latin-1 (U+00C0..U+00DE), Latin Extended-A
 *            (U+0100..U+017F, pairs) and Latin Extended Additional
 *            (U+1E00..U+1EFF, pairs: Vietnamese); other bytes kept as they are.
 *   terms    every word, and every two neighbouring words joined by one
 *            space ("portfolio manager").
 *   hash     h = fmix64(FNV-1a-64(term bytes)), fmix64 being MurmurHash3's
 *            64-bit finaliser; index = (h & 0x7fffffffffffffff) mod EMBED_DIM,
 *            sign = bit 63 (1: negative).
 *   weight   1 + ln(tf) for a term seen tf times, added with its sign at its
 *            index; then the vector is divided by its L2 norm (computed in
 *            double, stored as float).
 * A text with no word at all embeds as the term "\x01" alone, so every
 * vector has norm 1.
 */
#ifndef LEO_EMBED_HASHING_H
#define LEO_EMBED_HASHING_H

#include <stddef.h>
#include <stdint.h>

#define EMBED_DIM 1536

/* The term hash of the recipe (exposed for the tests and the README). */
uint64_t embed_hashing_term(const char *term, size_t len);

/* Embed text[0..len) into out; 0, or -1 when out of memory. */
int embed_hashing(const char *text, size_t len, float out[EMBED_DIM])
	__attribute__((warn_unused_result));

#endif
