/*
 * fuzz_cond.c — the condition compiler (cond_compile) on arbitrary bytes.
 *
 * Whatever compiles is also evaluated on a few snapshots, with and without
 * a price window, so the evaluator walks every tree the compiler can build.
 * Invariants checked beside the sanitizers: a rejection always says why,
 * and the error text fits its buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "dec.h"
#include "eval.h"
#include "fuzz.h"

static dec_t fuzz_cond_dec(const char *s)
{
	dec_t v = 0;
	const char *why = NULL;

	if (dec_parse(s, strlen(s), DEC_PRICE, &v, &why) < 0)
		abort();
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *prices[] = { "0", "1", "99.99999999", "100", "150.1",
					"-3.5", "999999999999.99999999" };
	static const uint32_t windows[] = { 1, 60, 300, 3600, 86400 };
	char err[128];
	struct cond *c;
	struct eval_window *w;
	size_t i, j;

	memset(err, 'x', sizeof(err));
	c = cond_compile((const char *)data, size, err, sizeof(err));
	if (!c) {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			abort();	/* a rejection must say why */
		return 0;
	}
	(void)cond_is_edge(c);
	w = eval_window_new();
	if (!w)
		abort();
	for (i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
		for (j = 0; j < sizeof(prices) / sizeof(prices[0]); j++) {
			struct eval_snap prev = { .has_price = true, .has_chg = j % 2,
				.price = fuzz_cond_dec(prices[i]), .chg = fuzz_cond_dec(prices[j]) };
			struct eval_snap cur = { .has_price = true, .has_chg = i % 2,
				.price = fuzz_cond_dec(prices[j]), .chg = fuzz_cond_dec(prices[i]) };
			struct eval_snap none = { 0 };

			(void)eval_cond(c, &prev, &cur, NULL);
			(void)eval_cond(c, &none, &cur, w);
			(void)eval_cond(c, &prev, &none, w);
		}
	}
	/* the same with windows that hold prices, at the usual lengths */
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		if (eval_window_ref(w, windows[i]) < 0)
			abort();
	}
	eval_window_advance(w, 1000000);
	if (eval_window_push(w, 1000000, fuzz_cond_dec("100")) < 0 ||
	    eval_window_push(w, 2000000, fuzz_cond_dec("90")) < 0 ||
	    eval_window_push(w, 3000000, fuzz_cond_dec("130")) < 0)
		abort();
	for (i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
		struct eval_snap cur = { .has_price = true, .price = fuzz_cond_dec(prices[i]) };

		(void)eval_cond(c, &cur, &cur, w);
	}
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		eval_window_unref(w, windows[i]);
	eval_window_free(w);
	cond_free(c);
	return 0;
}
