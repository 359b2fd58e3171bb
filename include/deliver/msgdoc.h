/*
 * msgdoc.h — the delivery document of SPEC section 7: one JSON object per
 * message (delivery_id, tenant_id, channel, to, subject, body,
 * idempotency_key, rule_id, profile_id, created_at), the `json` body of an
 * http channel and each line of a `file` channel.  Pure; any thread.
 */
#ifndef LEO_MSGDOC_H
#define LEO_MSGDOC_H

#include "transport.h"

/* The document as compact JSON text, malloc'd; NULL when out of memory. */
char *msgdoc_json(const struct tr_msg *m) __attribute__((warn_unused_result));

#endif
