/*
 * ceiling.c — the sender benchmark's ceiling: the http transport and
 * libcurl's multi interface on a libevent loop (exactly the sender's
 * transport code), CONCURRENCY requests in flight, N messages, no
 * database.  Prints one line: requests, seconds, requests per second and
 * the CPU (user+sys) the requests took.
 *
 *	leo_bench_ceiling URL N CONCURRENCY
 */
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "curlev.h"
#include "transport_http.h"

struct ceiling {
	struct event_base *base;
	struct thttp *h;
	struct tr_msg *msgs;
	char (*keys)[32];
	int n, conc, sent, done, inflight, failed;
	int sending;		/* in ceiling_fill: a done() inside it only counts */
};

static void ceiling_fill(struct ceiling *c);

static double ceiling_cpu_s(const struct rusage *r)
{
	return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) +
	       (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1e6;
}

static void ceiling_done(const struct tr_result *res, void *arg)
{
	struct ceiling *c = arg;

	c->done++;
	c->inflight--;
	if (res->cls != TR_OK && c->failed++ == 0)
		fprintf(stderr, "ceiling: %s\n", res->error);
	if (c->done == c->n)
		event_base_loopbreak(c->base);
	else if (!c->sending)
		ceiling_fill(c);
}

static void ceiling_fill(struct ceiling *c)
{
	c->sending = 1;
	while (c->inflight < c->conc && c->sent < c->n) {
		int i = c->sent++;

		c->inflight++;
		thttp_send(c->h, &c->msgs[i], ceiling_done, c);
	}
	c->sending = 0;
}

int main(int argc, char **argv)
{
	static const char *const no_headers[] = { NULL };
	struct ceiling c = { 0 };
	struct curlev *cv;
	int64_t t0, t1;
	struct rusage ru0, ru1;

	if (argc != 4) {
		fprintf(stderr, "usage: leo_bench_ceiling URL N CONCURRENCY\n");
		return 64;
	}
	c.n = atoi(argv[2]);
	c.conc = atoi(argv[3]);
	c.msgs = calloc((size_t)c.n, sizeof(*c.msgs));
	c.keys = calloc((size_t)c.n, sizeof(*c.keys));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c.base = event_base_new();
	cv = c.base ? curlev_new(c.base) : NULL;
	c.h = cv ? thttp_new(&(struct thttp_cfg){ .url = argv[1], .method = "POST",
						  .headers = no_headers, .body = THTTP_JSON,
						  .timeout_ms = 10000 }, cv) : NULL;
	if (!c.msgs || !c.keys || !c.h || c.n < 1 || c.conc < 1)
		return 1;
	for (int i = 0; i < c.n; i++) {
		snprintf(c.keys[i], sizeof(c.keys[i]), "ceiling-%d", i);
		c.msgs[i] = (struct tr_msg){ .tenant_id = "11111111-1111-4111-8111-111111111111",
					     .delivery_id = i + 1, .channel = "web_push",
					     .to = "sub-1", .body = "ACME 21: price crosses above 20",
					     .idempotency_key = c.keys[i], .rule_id = "r1",
					     .profile_id = "p1", .created_at = "2026-12-07T12:00:00Z" };
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = clock_mono_us();
	ceiling_fill(&c);
	event_base_dispatch(c.base);
	t1 = clock_mono_us();
	getrusage(RUSAGE_SELF, &ru1);
	printf("requests=%d failed=%d seconds=%.3f per_s=%.0f cpu_s=%.3f\n", c.done, c.failed,
	       (double)(t1 - t0) / 1e6, c.done / ((double)(t1 - t0) / 1e6),
	       ceiling_cpu_s(&ru1) - ceiling_cpu_s(&ru0));
	curlev_free(cv);
	thttp_free(c.h);
	event_base_free(c.base);
	curl_global_cleanup();
	free(c.msgs);
	free(c.keys);
	return c.failed ? 1 : 0;
}
