/*
 * bench_enrich_write.c — the ceiling of leo-enrich's throughput: write
 * ready-made 1536-float embeddings to N profiles of one tenant, in batches
 * of B, each batch one pipelined transaction of B UPDATEs, each embedding
 * sent as a binary float4[] as the worker sends its batch (estore.c), and
 * nothing else: no claim, no document, no embedding computed, no job.  The
 * vectors are made before the clock starts.
 *
 *   bench_enrich_write CONNINFO TENANT N B
 *
 * Profiles are "p1".."pN".  Prints "profiles N seconds S per_second R".
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed_hashing.h"

static double bew_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char *bew_be32(unsigned char *o, uint32_t v)
{
	o[0] = (unsigned char)(v >> 24);
	o[1] = (unsigned char)(v >> 16);
	o[2] = (unsigned char)(v >> 8);
	o[3] = (unsigned char)v;
	return o + 4;
}

/* v as array_send's float4[] into buf; its length. */
static int bew_bin(const float *v, unsigned char *buf)
{
	unsigned char *o = bew_be32(buf, 1);

	o = bew_be32(o, 0);
	o = bew_be32(o, 700);
	o = bew_be32(o, EMBED_DIM);
	o = bew_be32(o, 1);
	for (int k = 0; k < EMBED_DIM; k++) {
		uint32_t bits;

		memcpy(&bits, &v[k], sizeof(bits));
		o = bew_be32(o, 4);
		o = bew_be32(o, bits);
	}
	return (int)(o - buf);
}

static int bew_batch(PGconn *c, const char *tenant, const float *vecs, int first, int n,
		     unsigned char *vbuf)
{
	PGresult *r;
	int rc = 0;
	const char *tp[] = { tenant };

	if (!PQenterPipelineMode(c) ||
	    !PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsendQueryParams(c, "SELECT set_config('app.current_tenant_id', $1, true)", 1, NULL,
			       tp, NULL, NULL, 0))
		return -1;
	for (int i = first; i < first + n; i++) {
		char id[32];
		const char *p[] = { tenant, id, (const char *)vbuf };
		const Oid types[] = { 0, 0, 1021 };
		int lens[] = { 0, 0, 0 };
		const int fmts[] = { 0, 0, 1 };

		snprintf(id, sizeof(id), "p%d", i + 1);
		lens[2] = bew_bin(vecs + (size_t)i * EMBED_DIM, vbuf);
		if (!PQsendQueryParams(c, "UPDATE cdp_profiles SET interest_embedding = $3 "
				       "WHERE tenant_id = $1 AND profile_id = $2", 3, types, p, lens,
				       fmts, 0))
			return -1;
	}
	if (!PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(c))
		return -1;
	for (int q = 0; q < n + 3; q++) {
		while ((r = PQgetResult(c)) != NULL) {
			ExecStatusType st = PQresultStatus(r);

			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
				fprintf(stderr, "%s", PQresultErrorMessage(r));
				rc = -1;
			}
			PQclear(r);
		}
	}
	r = PQgetResult(c);
	if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC)
		rc = -1;
	PQclear(r);
	return PQexitPipelineMode(c) && rc == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	PGconn *c;
	float *vecs;
	unsigned char *vbuf = malloc(20 + EMBED_DIM * 8);
	int n, b;
	double t0, t;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_enrich_write CONNINFO TENANT N B\n");
		return 64;
	}
	n = atoi(argv[3]);
	b = atoi(argv[4]);
	vecs = malloc((size_t)n * EMBED_DIM * sizeof(*vecs));
	if (!vecs || !vbuf || n < 1 || b < 1)
		return 1;
	for (int i = 0; i < n; i++) {
		char text[64];

		snprintf(text, sizeof(text), "profile p%d of the ceiling run", i + 1);
		if (embed_hashing(text, strlen(text), vecs + (size_t)i * EMBED_DIM))
			return 1;
	}
	c = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "%s", PQerrorMessage(c));
		return 1;
	}
	t0 = bew_now();
	for (int i = 0; i < n; i += b)
		if (bew_batch(c, argv[2], vecs, i, i + b > n ? n - i : b, vbuf)) {
			fprintf(stderr, "batch at %d failed: %s", i, PQerrorMessage(c));
			return 1;
		}
	t = bew_now() - t0;
	printf("profiles %d seconds %.3f per_second %.0f\n", n, t, n / t);
	PQfinish(c);
	free(vecs);
	free(vbuf);
	return 0;
}
