/*
 * fuzz_receipt.c — the receipt body parser (receipt_parse) on arbitrary
 * bytes.  Invariants beside the sanitizers: it either fills a receipt whose
 * tenant is a UUID, whose delivery id is positive and whose status is
 * delivered or failed, or says why in a NUL-terminated message and holds
 * nothing to free.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "receipts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receipt r;
	char why[128];

	memset(why, 'x', sizeof(why));
	if (receipt_parse((const char *)data, size, &r, why, sizeof(why))) {
		if (!memchr(why, '\0', sizeof(why)) || !why[0] || r.provider_response)
			abort();
		return 0;
	}
	if (strlen(r.tenant) != 36 || r.delivery_id < 1 ||
	    (strcmp(r.status, "delivered") && strcmp(r.status, "failed")))
		abort();
	free(r.provider_response);
	return 0;
}
