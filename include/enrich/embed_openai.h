/*
 * embed_openai.h — the embedder of any server speaking the OpenAI
 * embeddings API (enrich.embedder.kind: openai): one POST
 * {base_url}/embeddings per batch, {"model", "input": [texts],
 * "dimensions": EMBED_DIM}, "Authorization: Bearer KEY" when there is a key.
 * Loop thread: requests run on curlev, the program's libcurl multi.
 *
 * An answer is taken only whole: data[] must hold one embedding of exactly
 * EMBED_DIM finite numbers for every input (by "index", else by position),
 * not all zero; each is L2-normalised.  Anything else fails the batch:
 * transient (the job is retried after a backoff) for 408, 425, 429, 5xx,
 * timeouts and connection errors; permanent for every other status and for
 * a malformed or incomplete answer, a wrong dimension, NaN or infinity.
 */
#ifndef LEO_EMBED_OPENAI_H
#define LEO_EMBED_OPENAI_H

#include <stdbool.h>
#include <stddef.h>

#include "embed_hashing.h"

struct curlev;
struct embed_openai;

struct embed_openai_cfg {
	const char *base_url;		/* "http://127.0.0.1:8080/v1" */
	const char *model;
	const char *api_key;		/* NULL or "": no Authorization header */
	int timeout_ms;
};

struct embed_result {
	bool ok;
	bool transient;			/* !ok: worth another attempt */
	long status;			/* HTTP status, 0 when none */
	char error[256];		/* !ok: why, for last_error */
};

/* Called once per batch on the loop; out is filled when r->ok. */
typedef void embed_done_fn(const struct embed_result *r, void *arg);

/* Copies what it needs from c; NULL when out of memory. */
struct embed_openai *embed_openai_new(const struct embed_openai_cfg *c, struct curlev *cv)
	__attribute__((warn_unused_result));
void embed_openai_free(struct embed_openai *o);

/* Embed texts[0..n) into out (n * EMBED_DIM floats; texts and out stay the
 * caller's and must live until done).  done is called exactly once, maybe
 * before this returns (out of memory). */
void embed_openai_send(struct embed_openai *o, const char *const *texts, size_t n, float *out,
		       embed_done_fn *done, void *arg);

/* An answer's body: 0 with out filled, or -1 with why in err (errlen bytes).
 * Pure; what the fuzz target drives. */
int embed_openai_parse(const char *body, size_t len, size_t n, float *out, char *err,
		       size_t errlen) __attribute__((warn_unused_result));

#endif
