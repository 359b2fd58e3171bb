#!/usr/bin/env bash
# Hostile rule input against the real schema and daemon.
#
# - Oversized and control-character symbols, NUL bytes, invalid UTF-8,
#   400-digit numbers and deeply nested condition_logic are refused by the
#   database with an error that says what is wrong; nothing reaches the
#   daemon (no rule rejected on its side).
# - What jsonb canonicalises (duplicate keys: the last wins; exponents) is
#   accepted and then evaluated as stored.
# - Profile ids and symbols made of quotes, backslashes, SQL fragments,
#   format directives and multibyte text round-trip exactly into
#   delivery_log and agent_task: data, never interpreted.
. "$(dirname "$0")/lib.sh"
it_newdb
it_tenant "$T1" t1
it_profile "$T1" p1
it_consent "$T1" p1 email granted

it_config stats
it_start

# it_refused WHAT PATTERN SQL...: SQL must fail with an error matching PATTERN.
it_refused() {
	local what=$1 pat=$2 out
	shift 2
	if out=$(it_sql "$@" 2>&1); then
		it_fail "$what: accepted"
	fi
	grep -Eq -- "$pat" <<<"$out" || it_fail "$what: unclear error: ${out:0:300}"
	it_ok "$what refused: $(grep -m1 ERROR <<<"$out" | cut -c1-120)"
}

big=$(head -c 10240 /dev/zero | tr '\0' S)
it_refused "10 kB symbol in alert_rules" "character varying\(64\)|symbol" -c \
	"INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
	 VALUES ('$T1', 'p1', '$big', '{\"operator\": \">\", \"value\": 1}')"
it_refused "10 kB symbol in market_snapshot" "character varying\(64\)|symbol" -c \
	"INSERT INTO market_snapshot (symbol, price) VALUES ('$big', 1)"
it_refused "symbol with a tab" "symbol_check" -c \
	"INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
	 VALUES ('$T1', 'p1', E'A\\tB', '{\"operator\": \">\", \"value\": 1}')"
it_refused "symbol with a newline" "symbol_check" -c \
	"INSERT INTO market_snapshot (symbol, price) VALUES (E'A\\nB', 1)"

# it_logic_refused WHAT PATTERN JSON_SQL: condition_logic given as an SQL expression.
it_logic_refused() {
	it_refused "$1" "$2" -c "INSERT INTO alert_rules (tenant_id, profile_id, symbol,
		condition_logic) VALUES ('$T1', 'p1', 'ACME', $3)"
}
it_logic_refused "NUL escape in a key" "unsupported Unicode escape|\\\\u0000" \
	"'{\"operator\": \">\", \"value\": 1, \"x\\u0000\": 1}'"
it_logic_refused "NUL escape in the operator" "unsupported Unicode escape|\\\\u0000" \
	"'{\"operator\": \">\\u0000\", \"value\": 1}'"
it_logic_refused "raw NUL byte" "invalid byte sequence" \
	"convert_from(decode('7b226f70657261746f72223a20223e00222c202276616c7565223a20317d', 'hex'), 'UTF8')::jsonb"
# invalid UTF-8 straight from the client, as raw bytes in the statement
printf "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic) VALUES ('%s', 'p1', 'ACME', '{\"operator\": \">\", \"value\": 1, \"\xff\xfe\": 2}');\n" \
	"$T1" >"$it_tmp/utf8.sql"
it_refused "invalid UTF-8 in condition_logic" "invalid byte sequence" -f "$it_tmp/utf8.sql"
printf "INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic) VALUES ('%s', 'p1', 'AC\xc3\x28ME', '{\"operator\": \">\", \"value\": 1}');\n" \
	"$T1" >"$it_tmp/utf8-symbol.sql"
it_refused "invalid UTF-8 in a symbol" "invalid byte sequence" -f "$it_tmp/utf8-symbol.sql"

digits400=1$(head -c 399 /dev/zero | tr '\0' 0)
it_logic_refused "400-digit integer operand" "value" \
	"'{\"operator\": \">\", \"value\": $digits400}'"
it_logic_refused "400 fraction digits" "fractional digits" \
	"'{\"operator\": \">\", \"value\": 0.$(head -c 400 /dev/zero | tr '\0' 7)}'"
it_logic_refused "400-digit window" "window_seconds" \
	"'{\"operator\": \"moves_up_pct\", \"value\": 1, \"window_seconds\": $digits400}'"
deep=$(python3 -c 'n=5000; print("{\"not\": " * n + "{\"operator\": \">\", \"value\": 1}" + "}" * n)')
it_logic_refused "5000 nested composites" "composite|deep|nest|stack depth" "'$deep'"
deeparr=$(python3 -c 'n=30000; print("{\"operator\": \">\", \"value\": " + "[" * n + "]" * n + "}")')
it_logic_refused "30000 nested arrays as an operand" "value|stack depth|nest" "'$deeparr'"
it_eq "$(it_sql -c "SELECT count(*) FROM alert_rules")" 0 "no hostile rule stored"

# Accepted after jsonb canonicalisation, then evaluated as stored.
it_price DUPV 50
it_price DUPO 50
it_price EXPO 50
dupv=$(it_rule "$T1" p1 DUPV '{"operator": ">", "value": 1000, "value": 100}')
dupo=$(it_rule "$T1" p1 DUPO '{"operator": "<", "operator": ">", "value": 100}')
expo=$(it_rule "$T1" p1 EXPO '{"operator": ">", "value": 1.5E2}')
it_eq "$(it_sql -c "SELECT condition_logic->>'value' FROM alert_rules WHERE rule_id = '$dupv'")" 100 \
	"duplicate key: the last value is stored"
it_eq "$(it_sql -c "SELECT condition_logic->>'value' FROM alert_rules WHERE rule_id = '$expo'")" 150 \
	"exponent stored as plain decimal"
it_price DUPV 100
it_price DUPO 100
it_price EXPO 150
it_settle 1
it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log")" 0 "nothing fires at the thresholds"
it_price DUPV 100.00000001
it_price DUPO 101
it_price EXPO 150.5
it_wait "SELECT count(*) = 3 FROM delivery_log"
for r in "$dupv" "$dupo" "$expo"; do
	it_eq "$(it_sql -c "SELECT count(*) FROM delivery_log WHERE rule_id = '$r'")" 1 \
		"canonicalised rule ${r:0:12} fired once"
done

# Hostile identifiers: stored as given, delivered as given.
profiles=(
	"O'Brien\"; DROP TABLE delivery_log; --"
	"Robert'); DELETE FROM agent_task WHERE ('1'='1"
	'back\slash\\n\t\x00\'
	'%s%n%x%p{}$1 :'"'"'p'"'"' \gexec'
	"'"
	'" OR 1=1 --'
	'ünïcødé 漢字 🚀'
	"$(head -c 200 /dev/zero | tr '\0' "'")"
)
symbols=(
	"A'B"
	'X"Y\Z'
	'$$;-- '
	"a;DROP TABLE market_snapshot;--"
	'%s%n%08x'
	'Ü 漢 🚀'
	'\x41\'
	" leading and trailing "
)
n=${#profiles[@]}
base=$(it_sql -c "SELECT count(*) FROM delivery_log")
# one psql each for setup and check: the values travel as psql variables
# (:'pI' quotes them as literals), never spliced into SQL text
vars=(-v t="$T1")
setup="" check=""
for i in $(seq 0 $((n - 1))); do
	vars+=(-v "p$i=${profiles[$i]}" -v "s$i=${symbols[$i]}")
	setup+="INSERT INTO cdp_profiles (tenant_id, profile_id) VALUES (:'t', :'p$i');
INSERT INTO consent_management (tenant_id, profile_id, channel, status, legal_basis, source)
	VALUES (:'t', :'p$i', 'sms', 'granted', 'consent', :'p$i');
INSERT INTO market_snapshot (symbol, price) VALUES (:'s$i', 10);
INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic, channel)
	VALUES (:'t', :'p$i', :'s$i', '{\"operator\": \"crosses_above\", \"value\": 20}', 'sms');
"
	check+="SELECT $i, (SELECT count(*) FROM delivery_log d JOIN alert_rules r USING (rule_id)
	WHERE d.profile_id = :'p$i' AND r.profile_id = :'p$i' AND r.symbol = :'s$i'
	AND d.consent_source = :'p$i' AND d.tenant_id = :'t') || '/' ||
	(SELECT count(*) FROM agent_task a JOIN alert_rules r USING (rule_id)
	WHERE a.profile_id = :'p$i' AND r.symbol = :'s$i' AND a.tenant_id = :'t');
"
done
it_sql "${vars[@]}" <<<"$setup"
it_sql -c "UPDATE market_snapshot SET price = 21 WHERE price = 10"
it_wait "SELECT count(*) = $((base + n)) FROM delivery_log" 30
got=$(it_sql "${vars[@]}" <<<"$check")
want=$(for i in $(seq 0 $((n - 1))); do echo "$i|1/1"; done)
[ "$got" = "$want" ] || it_fail "identifiers did not round-trip: $got"
it_ok "$n hostile profile ids and symbols round-trip into delivery_log and agent_task"
# The longest symbols: 64 characters of any script, up to 256 bytes of
# UTF-8, in one statement with an ASCII one; 65 characters are refused.
long=$(head -c 64 /dev/zero | tr '\0' L)
wide=$(python3 -c 'print("\u00e9" * 64)')
wider=$(python3 -c 'print("\U0001d11e" * 64)')
it_refused "65 two-byte characters in market_snapshot" "character varying\(64\)" \
	-v s="${wide}é" <<<"INSERT INTO market_snapshot (symbol, price) VALUES (:'s', 1);"
before=$(it_sql -c "SELECT count(*) FROM delivery_log")
it_sql -v t="$T1" -v a="$long" -v b="$wide" -v c="$wider" <<'SQL'
INSERT INTO market_snapshot (symbol, price) VALUES (:'a', 10), (:'b', 10), (:'c', 10);
INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
	SELECT :'t', 'p1', s, '{"operator": "crosses_above", "value": 20}'
	FROM unnest(ARRAY[:'a', :'b', :'c']) s;
SQL
it_sql -v a="$long" -v b="$wide" -v c="$wider" \
	<<<"UPDATE market_snapshot SET price = 21 WHERE symbol IN (:'a', :'b', :'c');"
it_wait "SELECT count(*) = $((before + 3)) FROM delivery_log" 20
it_ok "64-character symbols of 64, 128 and 256 bytes fire"
it_eq "$(it_sql -c "SELECT count(*) FROM market_snapshot")" $((6 + n)) "market_snapshot intact"
it_eq "$(it_metric 'leo_rules_rejected_total{reason="invalid_condition"}')" 0 "daemon rejected no rule"
it_eq "$(it_metric leo_notify_errors_total)" 0 "no notification refused"
it_stop
