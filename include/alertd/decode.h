/*
 * decode.h — one notification as the loop receives it (channel, payload)
 * into the items of a burst: routed by channel, its signature checked, its
 * text decoded (payload.h), and skipped when the loaded snapshot already
 * holds its transaction.
 *
 * Loop thread (listen.c); touches no connection, so tests call it directly.
 */
#ifndef LEO_DECODE_H
#define LEO_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "payload.h"

/* The channel of control notifications (rules, tenants, consent). */
#define DECODE_CONTROL "leo_control"

/*
 * What decoding needs to know.  The loop's, beside its LISTEN connection:
 * the load sets the key (decode_key) and the snapshot.
 */
struct decode {
	const char *market_channel;	/* the channel names: the caller's */
	const char *fence_chan;
	uint8_t keys[2][PAYLOAD_KEY_LEN];	/* leo_notify_key now, and before */
	size_t nkeys;
	struct payload_snapshot snap;	/* the last load's; owned */
	bool have_snap;
};

/* One thing a burst carries, in notification order. */
enum decode_item_kind {
	DECODE_TICK, DECODE_RULE, DECODE_TENANT_ON, DECODE_TENANT_OFF, DECODE_FENCE
};

struct decode_item {
	enum decode_item_kind kind;
	struct payload_tick tick;	/* DECODE_TICK */
	uint64_t fence;			/* DECODE_FENCE */
	char tenant[TENANT_ID_SIZE];
	char rule[RULE_ID_SIZE];
	char symbol[PAYLOAD_SYMBOL_CAP];
	char old_symbol[PAYLOAD_SYMBOL_CAP];
};

/* The notifications of one read, decoded; the caller frees items. */
struct decode_burst {
	size_t n, cap;
	struct decode_item *items;
	int64_t recv_us;
};

/*
 * Append what the notification on `channel` carries to b.  Returns 0, also
 * when there is nothing to append (already loaded, a consent change) or
 * when memory ran out (logged); -1 when it was rejected (logged, counted in
 * leo_notify_errors_total).
 */
int decode_notify(const struct decode *d, const char *channel, const char *payload,
		  struct decode_burst *b);

/*
 * The key leo_notify_key holds now.  After a rotation the one before stays
 * accepted, for what is still queued under it.
 */
void decode_key(struct decode *d, const uint8_t key[PAYLOAD_KEY_LEN]);

void decode_free(struct decode *d);

#endif
