/*
 * load.h — the load transaction of listen.c's DESIGN ("Load"): the
 * snapshot, market prices, the notification key, the active tenants and
 * every ACTIVE rule, read in one REPEATABLE READ transaction on the loop's
 * query connection, and the rule rows it and the look-ups of a burst read.
 *
 * Loop thread only.
 */
#ifndef LEO_LOAD_H
#define LEO_LOAD_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct listen;

/* Why a load runs: it seeds (start-up) or catches up (reconnect, resync). */
enum load_mode { LOAD_RESTART, LOAD_RECONNECT, LOAD_RESYNC };

/*
 * The columns every rule read selects, in rules_def order; the load, which
 * reads ACTIVE rules only, has the constant for the status (enum output
 * costs a catalog look-up a row: a tenth of the server's time at a load).
 */
#define LOAD_RULE_COLS LOAD_RULE_COLS_WITH("status::text")
/*
 * Column 11: a REARM rule's firings of the last day (at most
 * LOAD_RECENT_MAX, newest first, µs since the epoch, comma-separated; NULL
 * when none), from its agent_task rows: the flood guard's history, rebuilt
 * at load (rules_def.recent_us).
 */
#define LOAD_RECENT_MAX 1000
#define LOAD_RULE_RECENT                                                        \
	" CASE WHEN trigger_mode = 'REARM' AND trigger_count > 0"                \
	" AND last_triggered_at > now() - interval '1 day' THEN"                 \
	" (SELECT string_agg(x.us::text, ',') FROM (SELECT"                      \
	" (extract(epoch FROM a.created_at) * 1000000)::bigint AS us"            \
	" FROM agent_task a WHERE a.rule_id = alert_rules.rule_id"               \
	" AND a.created_at > now() - interval '1 day'"                           \
	" ORDER BY a.created_at DESC LIMIT 1000) x) END"
#define LOAD_RULE_COLS_WITH(status)                                             \
	"SELECT rule_id, tenant_id::text, symbol, condition_logic::text, "       \
	status ", trigger_mode = 'REARM', cooldown_seconds,"                     \
	" rearm_hysteresis::text,"                                              \
	" coalesce((extract(epoch FROM expires_at) * 1000000)::bigint, 0),"      \
	" trigger_count,"                                                       \
	" coalesce((extract(epoch FROM last_triggered_at) * 1000000)::bigint, 0)," \
	LOAD_RULE_RECENT                                                        \
	" FROM alert_rules"


/*
 * Push row i of r (read with LOAD_RULE_COLS) to its worker: upsert when
 * ACTIVE, else remove.  `load`: r was read in the load's snapshot, the one
 * that filters notifications, so its counters count no change still to
 * come and are taken when ahead (see Counters in listen.c).
 */
void load_apply_row(struct listen *l, PGresult *r, int i, int64_t recv_us, bool load);

/* The load of listen.c's DESIGN comment.  0, or -1 when the database failed. */
int load_run(struct listen *l, enum load_mode mode) __attribute__((warn_unused_result));

#endif
