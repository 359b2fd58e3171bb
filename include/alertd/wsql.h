/*
 * wsql.h — one batch of one tenant's firings written on one connection
 * (the schema's leo_write_firings(), one pipelined transaction), each
 * firing's outcome counted in the metrics, and its deliveries announced on
 * leo_delivery once it committed.  Writer threads: a struct wsql_conn
 * belongs to one.
 */
#ifndef LEO_WSQL_H
#define LEO_WSQL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "sbuf.h"

struct ckpt;

/* Asked to read a rule's counter again: another daemon claimed a firing. */
typedef void (*wsql_refetch_fn)(void *arg, const char *tenant_id, const char *rule_id);

struct wsql_conn {
	PGconn *conn;			/* checked out by the owner */
	bool prepared;			/* the batch statement is prepared on conn */
	wsql_refetch_fn refetch;	/* may be NULL */
	void *refetch_arg;
	struct ckpt *ckpt;		/* may be NULL: checkpoints to write */
	struct sbuf announce;	/* committed, not yet announced: "tenant id",... */
	size_t unannounced;		/* deliveries in `announce` */
};

/*
 * Deliveries kept for an announcement at most: beyond, the kept ones are
 * given up (logged) and left to the senders' poll (SPEC 7), so that a
 * notification queue full for hours does not grow the daemon without end.
 */
#define WSQL_ANNOUNCE_MAX 100000

/*
 * Write evs[0..n) of tenant in one transaction on wc->conn.  BATCH_OK: it
 * committed and was counted.  Otherwise nothing committed, *errmsg may get
 * a malloc'd message, and BATCH_RETRY or BATCH_BAD says what it means.
 */
enum batch_result wsql_write(struct wsql_conn *wc, const char *tenant, const struct batch_ev *evs,
			     size_t n, char **errmsg) __attribute__((warn_unused_result));

/*
 * Announce the committed deliveries not yet announced: NOTIFY leo_delivery
 * "tenant delivery_id" for each, in one transaction of its own (no WAL
 * flush waited for: a notification is not durable anyway).  wsql_write
 * calls it after each commit; the writer again while it fails.  BATCH_OK:
 * none left.  BATCH_RETRY: they wait (*errmsg may say why).
 */
enum batch_result wsql_announce(struct wsql_conn *wc, char **errmsg)
	__attribute__((warn_unused_result));

/* Free what wc holds besides its connection. */
void wsql_conn_free(struct wsql_conn *wc);

/*
 * A transaction of nothing but the checkpoints that advanced (when no batch
 * comes to carry them).  As wsql_write; BATCH_OK also when there were none.
 */
enum batch_result wsql_checkpoint(struct wsql_conn *wc, char **errmsg)
	__attribute__((warn_unused_result));

#endif
