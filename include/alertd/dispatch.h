/*
 * dispatch.h — a decoded burst (decode.h) to the workers, in commit order.
 * Loop thread only.
 */
#ifndef LEO_DISPATCH_H
#define LEO_DISPATCH_H

#include "decode.h"

struct listen;

/*
 * Fetch the rules the burst names (and all rules of tenants that became
 * active), then push the burst to the workers in order.  0, or -1 when qc
 * failed (the caller reconnects; the reload then covers the burst).
 */
int dispatch_burst(struct listen *l, struct decode_burst *b)
	__attribute__((warn_unused_result));

#endif
