/*
 * fuzz_embed.c — the embeddings-answer parser (embed_openai_parse) on
 * arbitrary bytes, for 1 to 3 inputs (the first byte says how many).
 *
 * Beside the sanitizers it checks what jobs.c relies on: an accepted answer
 * filled every vector with finite numbers of norm 1, and a rejection says
 * why in a NUL-terminated message.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed_openai.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float out[3 * EMBED_DIM];
	char err[256];
	size_t n;

	if (size < 1)
		return 0;
	n = (size_t)(data[0] % 3) + 1;
	err[0] = '\0';
	if (embed_openai_parse((const char *)data + 1, size - 1, n, out, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || !memchr(err, '\0', sizeof(err)))
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		double norm = 0;

		for (size_t k = 0; k < EMBED_DIM; k++) {
			if (!isfinite(out[i * EMBED_DIM + k]))
				abort();
			norm += (double)out[i * EMBED_DIM + k] * out[i * EMBED_DIM + k];
		}
		if (fabs(norm - 1) > 1e-3)
			abort();
	}
	return 0;
}
