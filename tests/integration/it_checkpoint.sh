#!/usr/bin/env bash
# Edge firings across kill -9 (SPEC 4: checkpoints).  A crossing observed
# but not committed when the daemon dies is not lost: the daemon ends
# itself right before the COMMIT of the batch that holds it
# (LEO_FAULT_BEFORE_COMMIT=1, as kill -9 would), and after the restart the
# change from the checkpoint to the current price fires every crossing
# exactly once.  Then the other way round: a checkpoint that lags behind
# committed firings (a crash after the commit, before the checkpoint was
# written) makes nothing fire twice.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted
it_price S 10
once=$(it_rule "$T1" p1 S '{"operator": "crosses_above", "value": 20}' ONCE)
rearm=$(it_rule "$T1" p1 S '{"operator": "crosses_above", "value": 19.5}' REARM)
enters=$(it_rule "$T1" p1 S '{"operator": "enters", "low": 20, "high": 30}' REARM)
it_config stats

# each run is a daemon of its own name (its own log, so it_start waits for
# its own "ready")
# a first run leaves a checkpoint at 15 (a change that fires nothing)
it_start a
it_price S 15
it_wait "SELECT count(*) = 1 FROM leo_checkpoint WHERE symbol = 'S' AND price = 15" 10
it_ok "the checkpoint follows a change that fired nothing"
it_stop a

# the crossing is evaluated, its batch never commits
LEO_FAULT_BEFORE_COMMIT=1 it_start b
! grep -q "checkpoints:" "$it_tmp/daemon-b.log" || it_fail "a replay with nothing to replay"
it_price S 21
st=0
wait "${it_pids[b]}" || st=$?
unset "it_pids[b]"
it_eq "$st" 137 "the daemon died before the COMMIT"
grep -q "LEO_FAULT_BEFORE_COMMIT" "$it_tmp/daemon-b.log" || it_fail "not the fault point"
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 0 "nothing committed"
it_eq "$(it_sql -c "SELECT price FROM leo_checkpoint WHERE symbol = 'S'")" 15 \
	"the checkpoint is still before the crossing"

# restart: 15 -> 21 is one observed change; every edge rule fires once
it_start c
it_wait "SELECT count(*) = 3 FROM agent_task" 20
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" 3 "three deliveries"
it_eq "$(it_sql -c "SELECT string_agg(rule_id || ':' || trigger_count, ',' ORDER BY rule_id)
	FROM alert_rules")" \
	"$(printf '%s\n' "$once:1" "$rearm:1" "$enters:1" | sort | paste -sd,)" \
	"each rule fired once"
grep -q "checkpoints: 1 symbols moved since their checkpoint" "$it_tmp/daemon-c.log" ||
	it_fail "no replay in the log"
it_wait "SELECT count(*) = 1 FROM leo_checkpoint WHERE symbol = 'S' AND price = 21" 10
it_ok "the checkpoint moved to 21 once the firings committed"

# a checkpoint behind committed firings: killed, the checkpoint put back to
# 15 just before the firings were observed; the restart replays 15 -> 21,
# and the rules that fired after the checkpoint do not fire again
it_stop c KILL
it_sql -c "UPDATE leo_checkpoint SET price = 15,
	observed_us = (SELECT min((extract(epoch FROM last_triggered_at) * 1000000)::bigint) - 1
		       FROM alert_rules)"
it_start e
it_wait_log e "checkpoints: 1 symbols moved since their checkpoint" 10
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 3 "no firing twice after a lagging checkpoint"
it_eq "$(it_sql -c "SELECT sum(trigger_count) FROM alert_rules")" 3 "trigger counts unchanged"

# and the engine goes on: the REARM rules fire on the next crossing
it_price S 10
it_price S 25
it_wait "SELECT count(*) = 5 FROM agent_task" 20
it_settle 0.5
it_eq "$(it_sql -c "SELECT count(*) FROM agent_task")" 5 "the next crossing fires the REARM rules"
it_stop e
