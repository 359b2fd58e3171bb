/*
 * fuzz_control.c — the leo_control notification decoder
 * (payload_control_decode) on arbitrary bytes.
 *
 * Beside the sanitizers it checks what listen.c relies on: an accepted
 * notification has a known kind, op I, U or D, a tenant, and every string
 * field terminated inside its array; a rejection says why.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "payload.h"

#define FUZZ_TERMINATED(f) (memchr((f), '\0', sizeof(f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct payload_control c;
	char err[128];

	memset(&c, 0xa5, sizeof(c));
	err[0] = '\0';
	if (payload_control_decode((const char *)data, size, &c, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || !memchr(err, '\0', sizeof(err)))
			abort();
		return 0;
	}
	if (c.kind != PAYLOAD_RULE && c.kind != PAYLOAD_CONSENT && c.kind != PAYLOAD_TENANT)
		abort();
	if (c.op != 'I' && c.op != 'U' && c.op != 'D')
		abort();
	if (!FUZZ_TERMINATED(c.tenant) || !FUZZ_TERMINATED(c.rule) ||
	    !FUZZ_TERMINATED(c.symbol) || !FUZZ_TERMINATED(c.old_symbol) ||
	    !FUZZ_TERMINATED(c.profile) || !FUZZ_TERMINATED(c.channel) ||
	    !FUZZ_TERMINATED(c.status))
		abort();
	if (c.tenant[0] == '\0')
		abort();
	return 0;
}
