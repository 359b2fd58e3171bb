/*
 * fuzz_market.c — the signature check (payload_verify) and the market
 * notification decoder (payload_market_decode) on arbitrary bytes.
 *
 * Beside the sanitizers it checks what listen.c relies on: a signature check
 * reads nothing outside the input and an accepted body is its tail; an
 * accepted payload has at least one tick, every symbol is 1..64 bytes with
 * no tab, newline or NUL inside, and a rejection says why.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t keys[2][PAYLOAD_KEY_LEN] = { { 0 }, { 1 } };
	struct payload_market m;
	const char *body;
	char err[128];
	size_t i, n, blen;

	if (payload_verify(keys, 2, (const char *)data, size, &body, &blen, err,
			   sizeof(err)) == 0 &&
	    (body < (const char *)data || body + blen != (const char *)data + size))
		abort();
	memset(&m, 0xa5, sizeof(m));
	err[0] = '\0';
	if (payload_market_decode((const char *)data, size, &m, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || !memchr(err, '\0', sizeof(err)))
			abort();
		payload_market_free(&m);
		return 0;
	}
	if (m.nticks == 0 || !m.ticks)
		abort();
	for (i = 0; i < m.nticks; i++) {
		const char *sym = m.ticks[i].symbol;

		n = strnlen(sym, sizeof(m.ticks[i].symbol));
		if (n == 0 || n >= sizeof(m.ticks[i].symbol) || strpbrk(sym, "\t\n"))
			abort();
	}
	payload_market_free(&m);
	return 0;
}
