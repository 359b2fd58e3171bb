/*
 * payload.h — decode the notifications the schema's triggers send (SPEC,
 * "Notifications") and decide whether a notification's transaction is
 * already visible in a snapshot the daemon loaded.
 *
 * Pure functions; any thread.  The loop thread (listen.c) is the only caller
 * in the daemon.
 */
#ifndef LEO_PAYLOAD_H
#define LEO_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"

#include "dec.h"

/*
 * Every notification the schema sends is signed (leo_notify, 40_functions.sql):
 *
 *	<64 lower-case hex: HMAC-SHA256 of <body> under the key> <space> <body>
 *
 * The key is leo_notify_key's 32 bytes.  payload_verify checks the signature
 * against `nkeys` keys (the current one and, after a rotation, the one
 * before) and points *body at what follows the space.  Returns 0, or -1
 * with a reason in err.
 */
#define PAYLOAD_KEY_LEN 32

int payload_verify(const uint8_t (*keys)[PAYLOAD_KEY_LEN], size_t nkeys, const char *s,
		   size_t len, const char **body, size_t *blen, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* A bytea in PostgreSQL's hex output ("\\x" and 64 hex digits) into key. */
int payload_key_parse(const char *s, uint8_t key[PAYLOAD_KEY_LEN])
	__attribute__((warn_unused_result));

/*
 * A symbol as the schema allows it: 1..64 characters (not bytes) of UTF-8,
 * so up to 256 bytes, plus the NUL.
 */
#define PAYLOAD_SYMBOL_CAP 257

/* One row of a market notification: a symbol's old and new values. */
struct payload_tick {
	char symbol[PAYLOAD_SYMBOL_CAP];
	bool has_old_price, has_old_chg, has_chg;	/* false: empty field (NULL) */
	dec_t old_price, price, old_chg, chg;
};

/* A decoded market notification ("M1 <xid> <stmt>\n<rows>").  Owns ticks. */
struct payload_market {
	uint64_t xid;
	uint64_t stmt;		/* 0 when the header has none */
	size_t nticks;
	struct payload_tick *ticks;
};

/*
 * Decode `len` bytes of a market payload into m (ticks allocated; free with
 * payload_market_free, also after a failure).  Returns 0, or -1 with a
 * reason in err; a payload with one bad row is rejected whole.
 */
int payload_market_decode(const char *s, size_t len, struct payload_market *m,
			  char *err, size_t errlen)
	__attribute__((warn_unused_result));
void payload_market_free(struct payload_market *m);

enum payload_control_kind { PAYLOAD_RULE, PAYLOAD_CONSENT, PAYLOAD_TENANT };

/* A decoded leo_control notification; absent strings are "". */
struct payload_control {
	enum payload_control_kind kind;
	uint64_t xid;
	char op;			/* 'I', 'U' or 'D' */
	char tenant[TENANT_ID_SIZE];
	char rule[RULE_ID_SIZE];			/* PAYLOAD_RULE */
	char symbol[PAYLOAD_SYMBOL_CAP];	/* PAYLOAD_RULE */
	char old_symbol[PAYLOAD_SYMBOL_CAP];	/* PAYLOAD_RULE, "" when null */
	char profile[201];		/* PAYLOAD_CONSENT */
	char channel[16];		/* PAYLOAD_CONSENT */
	char status[16];		/* PAYLOAD_TENANT */
};

int payload_control_decode(const char *s, size_t len, struct payload_control *c,
			   char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* pg_current_snapshot() as text "xmin:xmax:xip,xip,...".  Owns xip. */
struct payload_snapshot {
	uint64_t xmin, xmax;
	size_t nxip;
	uint64_t *xip;
};

int payload_snapshot_parse(const char *s, struct payload_snapshot *snap)
	__attribute__((warn_unused_result));
void payload_snapshot_free(struct payload_snapshot *snap);

/*
 * True when transaction xid had committed when the snapshot was taken (the
 * caller only asks about committed transactions: NOTIFY is delivered at
 * commit): xid < xmin, or xid < xmax and not in the in-progress list.
 */
bool payload_snapshot_visible(const struct payload_snapshot *snap, uint64_t xid);

#endif
