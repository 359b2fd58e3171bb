/*
 * listen_int.h — the loop's LISTEN state (struct listen), shared by
 * listen.c, which owns it, load.c, which loads into it, dispatch.c and
 * fence.c.  Private to those files; loop thread only, except rq (rq_lock).
 */
#ifndef LEO_LISTEN_INT_H
#define LEO_LISTEN_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dec.h"
#include "decode.h"
#include "idmap.h"
#include "listen.h"

struct event;
struct registry;
struct fence;

/* A writer thread's request: read this rule's counters (listen_refetch). */
struct listen_req {
	char tenant[TENANT_ID_SIZE];
	char rule[RULE_ID_SIZE];
};

/* --- string-keyed entries, found through the core's idmap ---------------- */

struct listen_ent {
	char *key;
	uint32_t hash;		/* fnv_str(key) */
	union {
		struct {
			dec_t price, chg;
			bool has_chg;
		} px;
		struct {
			PGresult *res;
			int row;	/* tenant look-ups: index of its query */
			int all;	/* tenant look-ups: index of its ACTIVE query, -1 */
		} row;
	} v;
};

/*
 * ent[0 .. n) in no order (a delete moves the last entry into the hole), so
 * an entry pointer holds only until the next put or delete.
 */
struct listen_map {
	struct idmap idx;
	struct listen_ent *ent;
	uint32_t n, cap;
};

struct listen_ent *listen_map_get(const struct listen_map *m, const char *key);
/* Find or add (its value zeroed); *added tells which.  NULL when out of memory. */
struct listen_ent *listen_map_put(struct listen_map *m, const char *key, bool *added);
void listen_map_del(struct listen_map *m, const char *key);
void listen_map_clear(struct listen_map *m);

/* --- state (see State in listen.c) ------------------------------------------ */

struct listen {
	struct event_base *base;
	struct pool *pool;
	struct workers *workers;
	char *market_channel;
	int resync_s;
	listen_ready_fn ready_fn;
	void *ready_arg;

	PGconn *lc, *qc;
	struct event *ev_read, *ev_connect, *ev_resync, *ev_resync_go, *ev_sample, *ev_refetch;
	int attempt;
	bool loaded_once, ready, stopped;

	struct decode dec;		/* keys and snapshot: the last load's */
	uint32_t gen;
	struct registry *reg;
	struct listen_map prices, tenants;

	pthread_mutex_t rq_lock;
	size_t rq_n, rq_cap;
	struct listen_req *rq;

	int64_t last_obs_us;		/* listen_observed_us: the last one given */

	struct event *ev_throttle;	/* throttle.c: workers behind */
	int64_t throttled_since_us;	/* monotonic; 0 when reading */
	int64_t throttle_carry_us;	/* held, not yet counted */

	char fence_chan[32];		/* leo_fence_<16 random hex digits> */
	uint64_t fence_seq;
	struct fence *fences;		/* fence.c: sent, not yet seen */
};

/* The error of r, else of c, as one line (a thread-local buffer). */
const char *listen_errmsg(PGconn *c, const PGresult *r);

/* Blocking exec on qc that must succeed with st; NULL (logged) otherwise. */
PGresult *listen_exec(struct listen *l, const char *sql, int n,
		      const char *const *params, ExecStatusType st);

/* Drain qc's pipeline to its (one, sent) sync, whatever happened, and leave
 * pipeline mode.  Returns rc, or -1 when that failed. */
int listen_pipe_end(struct listen *l, int rc);

/* Drop a rule from its worker and the registry (symbol_hint: where it was
 * when the registry does not know it). */
/*
 * Send, on qc in pipeline mode, set_config + query for each tenant; results
 * land in res[i] (one per tenant; NULL on failure).  Returns 0 or -1.
 */
int listen_per_tenant(struct listen *l, char *const *tenants, size_t n,
		      const char *sql, const char *const *arrays, PGresult **res);
void listen_clear_results(PGresult **res, size_t n);

void listen_remove_rule(struct listen *l, const char *rule_id, const char *symbol_hint);

/*
 * A tick's observation time: recv_us, but past the last one given, so that
 * no two ticks share one (a firing's at_us, and so last_triggered_at, then
 * tells which tick it was: rules_replay compares them with a checkpoint).
 */
static inline int64_t listen_observed_us(struct listen *l, int64_t recv_us)
{
	l->last_obs_us = recv_us > l->last_obs_us ? recv_us : l->last_obs_us + 1;
	return l->last_obs_us;
}

#endif
