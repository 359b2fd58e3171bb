/*
 * channel.h — one configured channel of leo-deliver: its transport (smtp,
 * http or file, built from its config section with the secrets read from
 * their files), its concurrency and its rate limit.  Loop thread.
 */
#ifndef LEO_CHANNEL_H
#define LEO_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "deliver_cfg.h"
#include "ratelimit.h"
#include "transport.h"

struct curlev;
struct thttp;
struct tsmtp;
struct tfile;

struct channel {
	int id;				/* enum deliver_channel_id */
	enum deliver_kind kind;		/* DK_NONE: deliveries stay queued */
	bool body_template;		/* http, body: template: the message's body is the request body */
	int concurrency;
	int inflight;
	struct ratelimit rate;
	struct thttp *http;
	struct tsmtp *smtp;
	struct tfile *file;
};

/* Build ch from c; 0, or -1 with why (a secret file unreadable, out of memory). */
int channel_open(struct channel *ch, int id, const struct deliver_channel *c, struct curlev *cv,
		 int64_t now_us, char *why, size_t cap) __attribute__((warn_unused_result));

/* Put m on the wire; done(result, arg) runs once on the loop (for a file
 * before this returns). */
void channel_send(struct channel *ch, const struct tr_msg *m, tr_done_fn *done, void *arg);

/* After curlev_free. */
void channel_close(struct channel *ch);

#endif
