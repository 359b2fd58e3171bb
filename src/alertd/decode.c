/*
 * decode.c — a notification (channel, payload) into the items of a burst.
 * Loop thread (listen.c calls it for each notification of a read).
 *
 * Three channels: the market channel and leo_control carry signed payloads
 * (payload_verify; the text itself is payload.c's), the fence channel an
 * unsigned number (fence.c's protocol: a position, no data).  Anything
 * else, or anything that does not verify and decode, is rejected: counted in
 * leo_notify_errors_total and logged with a bounded, one-line excerpt, since
 * the payload is untrusted.  A notification whose transaction is visible in
 * the last load's snapshot is already in what was loaded and is skipped.
 */
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "alertd_metrics.h"

static struct decode_item *decode_burst_add(struct decode_burst *b,
					    enum decode_item_kind kind)
{
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		struct decode_item *ni = realloc(b->items, ncap * sizeof(*ni));

		if (!ni)
			return NULL;
		b->items = ni;
		b->cap = ncap;
	}
	memset(&b->items[b->n], 0, sizeof(b->items[b->n]));
	b->items[b->n].kind = kind;
	return &b->items[b->n++];
}

static void decode_bad(const char *channel, const char *payload, const char *why)
{
	char shown[81];
	size_t n = 0;

	/* the payload is untrusted: a bounded, one-line excerpt */
	for (; payload[n] && n < sizeof(shown) - 1; n++)
		shown[n] = (unsigned char)payload[n] < 0x20 || payload[n] == 0x7f ? '?'
									   : payload[n];
	shown[n] = '\0';
	metrics_add(METRIC_NOTIFY_ERRORS, 1);
	log_warn("notification on %s ignored: %s (payload %s%s)", channel, why, shown,
		 payload[n] ? "..." : "");
}

int decode_notify(const struct decode *d, const char *channel, const char *payload,
		  struct decode_burst *b)
{
	char err[256];
	const char *body;
	size_t blen;
	bool market = strcmp(channel, d->market_channel) == 0;

	if (strcmp(channel, d->fence_chan) == 0) {
		/* unsigned: it carries a position, no data */
		char *end;
		struct decode_item *it;
		uint64_t id = strtoull(payload, &end, 10);

		if (end == payload || *end) {
			decode_bad(channel, payload, "not a fence number");
			return -1;
		}
		it = decode_burst_add(b, DECODE_FENCE);
		if (it)
			it->fence = id;
		else
			log_error("out of memory: a fence dropped");
		return 0;
	}
	if (!market && strcmp(channel, DECODE_CONTROL) != 0) {
		decode_bad(channel, payload, "unexpected channel");
		return -1;
	}
	if (payload_verify((const uint8_t (*)[PAYLOAD_KEY_LEN])d->keys, d->nkeys, payload,
			   strlen(payload), &body, &blen, err, sizeof(err))) {
		decode_bad(channel, payload, err);
		return -1;
	}
	if (market) {
		struct payload_market m;

		if (payload_market_decode(body, blen, &m, err, sizeof(err))) {
			decode_bad(channel, payload, err);
			return -1;
		}
		if (d->have_snap && payload_snapshot_visible(&d->snap, m.xid)) {
			payload_market_free(&m);
			return 0;
		}
		for (size_t i = 0; i < m.nticks; i++) {
			struct decode_item *it = decode_burst_add(b, DECODE_TICK);

			if (!it) {
				log_error("out of memory: %zu price changes not evaluated",
					  m.nticks - i);
				break;
			}
			it->tick = m.ticks[i];
		}
		metrics_add(METRIC_TICKS_RECEIVED, m.nticks);
		payload_market_free(&m);
	} else {
		struct payload_control c;
		struct decode_item *it = NULL;

		if (payload_control_decode(body, blen, &c, err, sizeof(err))) {
			decode_bad(channel, payload, err);
			return -1;
		}
		if (d->have_snap && payload_snapshot_visible(&d->snap, c.xid))
			return 0;
		switch (c.kind) {
		case PAYLOAD_RULE:
			it = decode_burst_add(b, DECODE_RULE);
			if (it) {
				memcpy(it->rule, c.rule, sizeof(it->rule));
				memcpy(it->symbol, c.symbol, sizeof(it->symbol));
				memcpy(it->old_symbol, c.old_symbol, sizeof(it->old_symbol));
			}
			break;
		case PAYLOAD_TENANT:
			it = decode_burst_add(b, c.op != 'D' && strcmp(c.status, "active") == 0
							 ? DECODE_TENANT_ON : DECODE_TENANT_OFF);
			break;
		case PAYLOAD_CONSENT:
			/* consent is checked at write time, in SQL: nothing to cache */
			metrics_add(METRIC_CONSENT_CHANGES, 1);
			return 0;
		}
		if (!it) {
			log_error("out of memory: control notification dropped");
			return 0;
		}
		memcpy(it->tenant, c.tenant, sizeof(it->tenant));
	}
	return 0;
}

void decode_key(struct decode *d, const uint8_t key[PAYLOAD_KEY_LEN])
{
	if (d->nkeys == 0 || memcmp(key, d->keys[0], PAYLOAD_KEY_LEN) != 0) {
		if (d->nkeys)
			log_info("notification key changed: the previous one is still accepted");
		memcpy(d->keys[1], d->keys[0], PAYLOAD_KEY_LEN);
		memcpy(d->keys[0], key, PAYLOAD_KEY_LEN);
		d->nkeys = d->nkeys ? 2 : 1;
	}
}

void decode_free(struct decode *d)
{
	payload_snapshot_free(&d->snap);
	d->have_snap = false;
}
