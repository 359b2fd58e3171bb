-- The notifications the daemon decodes.  A second session (dblink) LISTENs;
-- after each step this session sends a sentinel, so "nothing was sent" is
-- checked exactly: notifications arrive in commit order.
--   market_snapshot -> leo_market (or leo.market_channel), per statement:
--     M1 <xid> <stmt>\n<symbol>\t<old_price>\t<new_price>\t<old_chg>\t<new_chg>\n...
--   alert_rules, consent_management, tenant -> leo_control, one JSON per row.
-- Each is signed: <hex HMAC-SHA256 of the body under leo_notify_key> <body>;
-- got keeps the body, and pg_temp.wait() fails on a bad signature.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS dblink;
\ir fixture.inc

SELECT no_plan();

SELECT is(dblink_connect('lst', format('host=%s port=%s dbname=%s user=%s',
		trim(split_part(current_setting('unix_socket_directories'), ',', 1)),
		current_setting('port'), current_database(), current_user)), 'OK', 'listener connected');
SELECT is(dblink_exec('lst', 'LISTEN leo_market; LISTEN leo_control; LISTEN prices_x; LISTEN leo_test_sentinel'),
	  'LISTEN', 'listening');

CREATE TEMP TABLE got (n serial PRIMARY KEY, channel text, payload text, bytes int);
-- Wait for the sentinel (sent after the step's commit); keep what came before
-- it in got, in arrival order.
CREATE FUNCTION pg_temp.wait() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '20 s';
BEGIN
	LOOP
		INSERT INTO got (channel, payload, bytes)
		SELECT notify_name, CASE WHEN notify_name = 'leo_test_sentinel' THEN extra
					 WHEN left(extra, 65) = encode(hmac(convert_to(substr(extra, 66), 'UTF8'),
						(SELECT key FROM leo_notify_key), 'sha256'), 'hex') || ' '
					 THEN substr(extra, 66) END, octet_length(extra)
		FROM dblink_get_notify('lst');
		IF EXISTS (SELECT 1 FROM got WHERE payload IS NULL) THEN
			RAISE EXCEPTION 'a notification without a valid signature';
		END IF;
		EXIT WHEN EXISTS (SELECT 1 FROM got WHERE channel = 'leo_test_sentinel');
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'the sentinel did not arrive';
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	DELETE FROM got WHERE channel = 'leo_test_sentinel';
	RETURN (SELECT count(*) FROM got);
END
$$;
-- The lines of all market notifications received, in order.
CREATE FUNCTION pg_temp.lines() RETURNS TABLE (n bigint, symbol text, old_price text, new_price text,
					      old_chg text, new_chg text)
LANGUAGE sql AS $$
	SELECT row_number() OVER (ORDER BY g.n, l.i), f[1], f[2], f[3], f[4], f[5]
	FROM got AS g,
	     LATERAL unnest((string_to_array(g.payload, E'\n'))[2:]) WITH ORDINALITY AS l(line, i),
	     LATERAL string_to_array(l.line, E'\t') AS f
	WHERE g.channel IN ('leo_market', 'prices_x')
$$;

-- INSERT: old fields empty, NULL as an empty field, NULL prices left out.
TRUNCATE got;
BEGIN;
INSERT INTO market_snapshot (symbol, price, change_percent)
VALUES ('S1', 10.50, 1.25), ('S2', 20, NULL), ('S3', NULL, 2);
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 1, 'insert: one notification');
SELECT is(payload, E'M1 ' || :'xid' || E' 1\nS1\t\t10.50\t\t1.25\nS2\t\t20\t\t', 'insert: the payload')
FROM got WHERE channel = 'leo_market';

-- UPDATE of one row.
TRUNCATE got;
BEGIN;
UPDATE market_snapshot SET price = 11 WHERE symbol = 'S1';
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 1, 'update: one notification');
SELECT is(payload, E'M1 ' || :'xid' || E' 1\nS1\t10.50\t11\t1.25\t1.25', 'update: the payload')
FROM got WHERE channel = 'leo_market';

-- Nothing changed, NULL new price, DELETE: nothing sent.
TRUNCATE got;
UPDATE market_snapshot SET price = price, change_percent = change_percent;
UPDATE market_snapshot SET price = 11.000 WHERE symbol = 'S1';
UPDATE market_snapshot SET created_at = now();
UPDATE market_snapshot SET price = NULL, change_percent = 3 WHERE symbol = 'S2';
DELETE FROM market_snapshot WHERE symbol = 'S3';
UPDATE market_snapshot SET price = 1 WHERE false;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 0, 'no notification for unchanged rows, a NULL new price or a DELETE');

-- A NULL old price, a changed change_percent only.
TRUNCATE got;
BEGIN;
UPDATE market_snapshot SET price = 5 WHERE symbol = 'S2';
UPDATE market_snapshot SET change_percent = NULL WHERE symbol = 'S1';
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 2, 'two statements, two notifications');
SELECT results_eq($$SELECT payload FROM got ORDER BY n$$,
		  ARRAY[E'M1 ' || :'xid' || E' 1\nS2\t\t5\t3\t3', E'M1 ' || :'xid' || E' 2\nS1\t11.000\t11.000\t1.25\t'],
		  'NULL old price and NULL new change are empty fields');

-- Upsert: an insert part and an update part.
TRUNCATE got;
BEGIN;
INSERT INTO market_snapshot (symbol, price, change_percent) VALUES ('S1', 12, 0.5), ('S4', 40, -1)
ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, change_percent = excluded.change_percent;
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 2, 'upsert: two notifications');
SELECT set_eq($$SELECT regexp_replace(payload, '^(M1 \d+) [12]\n', E'\\1 N\n') FROM got$$,
	      ARRAY[E'M1 ' || :'xid' || E' N\nS4\t\t40\t\t-1', E'M1 ' || :'xid' || E' N\nS1\t11.000\t12\t\t0.5'],
	      'upsert: the inserted and the updated row');
SELECT set_eq($$SELECT split_part(split_part(payload, E'\n', 1), ' ', 3) FROM got$$, ARRAY['1', '2'],
	      'upsert: statements 1 and 2 of the transaction');

-- A price that goes 1 -> 2 -> 1 -> 2 in one transaction: three changes, even
-- though the first and the third are equal (PostgreSQL folds identical
-- notifications of a transaction; the statement number keeps them apart).
TRUNCATE got;
BEGIN;
UPDATE market_snapshot SET price = 1 WHERE symbol = 'S2';
UPDATE market_snapshot SET price = 2 WHERE symbol = 'S2';
UPDATE market_snapshot SET price = 1 WHERE symbol = 'S2';
UPDATE market_snapshot SET price = 2 WHERE symbol = 'S2';
COMMIT;
UPDATE market_snapshot SET price = 5 WHERE symbol = 'S2';
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 5, 'equal changes in one transaction: every one notified');
SELECT results_eq($$SELECT old_price || '>' || new_price FROM pg_temp.lines() ORDER BY n$$,
		  ARRAY['5>1', '1>2', '2>1', '1>2', '2>5'], 'in order');

-- A renamed symbol is reported as new: no old fields.
TRUNCATE got;
BEGIN;
UPDATE market_snapshot SET symbol = 'S5' WHERE symbol = 'S4';
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT payload FROM got$$, ARRAY[E'M1 ' || :'xid' || E' 1\nS5\t\t40\t\t-1'],
		  'a renamed row: the new symbol with empty old fields');

-- leo.market_channel chooses the channel.
TRUNCATE got;
SET leo.market_channel = 'prices_x';
UPDATE market_snapshot SET price = 13 WHERE symbol = 'S1';
RESET leo.market_channel;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT channel FROM got$$, ARRAY['prices_x'], 'leo.market_channel = prices_x');
SET leo.market_channel = '';
TRUNCATE got;
UPDATE market_snapshot SET price = 14 WHERE symbol = 'S1';
RESET leo.market_channel;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT channel FROM got$$, ARRAY['leo_market'], 'an empty leo.market_channel means leo_market');

-- 500 symbols in one statement: a handful of notifications below 8000 bytes.
INSERT INTO market_snapshot (symbol, price, change_percent)
SELECT 'SYM' || lpad(i::text, 3, '0'), round(100 + i / 8.0, 3), round(i / 100.0 - 2, 2)
FROM generate_series(1, 500) AS i;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
CREATE TEMP TABLE before AS SELECT symbol::text, price, change_percent FROM market_snapshot WHERE symbol LIKE 'SYM%';
TRUNCATE got;
CREATE TEMP TABLE upd_order (n serial, symbol text);
BEGIN;
WITH u AS (UPDATE market_snapshot SET price = round(price * 1.01, 4), change_percent = change_percent + 0.25
	   WHERE symbol LIKE 'SYM%' RETURNING symbol)
INSERT INTO upd_order (symbol) SELECT symbol FROM u;
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT ok((SELECT count(*) FROM got) BETWEEN 2 AND 6, '500 rows: between 2 and 6 notifications (' ||
	  (SELECT count(*) FROM got) || ')');
SELECT ok(bool_and(bytes < 8000), 'each below 8000 bytes') FROM got;
SELECT ok(bool_and(payload LIKE 'M1 ' || :'xid' || E' 1\n%' AND payload NOT LIKE E'%\n' AND payload NOT LIKE E'%\n\n%'),
	  'each with its own header, no empty line, no trailing newline') FROM got;
SELECT is((SELECT count(*)::int FROM pg_temp.lines()), 500, '500 lines');
SELECT set_eq($$SELECT symbol, old_price, new_price, old_chg, new_chg FROM pg_temp.lines()$$,
	      $$SELECT b.symbol, b.price::text AS op, m.price::text AS np, b.change_percent::text AS oc,
		       m.change_percent::text AS nc
		FROM before b JOIN market_snapshot m USING (symbol)$$,
	      'every row once, with its old and new values');
SELECT results_eq($$SELECT symbol FROM pg_temp.lines() ORDER BY n$$, $$SELECT symbol FROM upd_order ORDER BY n$$,
		  'lines in the order the statement updated the rows, across notifications');
SELECT ok(max(octet_length(payload)) > 7000, 'chunks are filled (largest ' || max(octet_length(payload)) || ' bytes)')
FROM got;

-- The longest possible lines: 64-character symbols of 4-byte characters and
-- 40-character numbers.
INSERT INTO market_snapshot (symbol, price, change_percent)
SELECT repeat(chr(119070), 61) || lpad(i::text, 3, '0'),
       ('123456789012.' || lpad(i::text, 27, '0'))::numeric,
       ('-12345678901.' || lpad(i::text, 27, '0'))::numeric
FROM generate_series(1, 100) AS i;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
TRUNCATE got;
UPDATE market_snapshot SET price = price - 1, change_percent = change_percent + 1 WHERE symbol LIKE repeat(chr(119070), 61) || '%';
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT is(max(length(symbol) + length(old_price) + length(new_price) + length(old_chg) + length(new_chg)), 64 + 4 * 40,
	  'lines of the greatest length') FROM pg_temp.lines();
SELECT ok(bool_and(bytes < 8000), 'still each below 8000 bytes, signed (largest '
	  || max(bytes) || ')') FROM got;
SELECT is((SELECT count(DISTINCT symbol)::int FROM pg_temp.lines()), 100, 'all 100 rows');

-- leo_control: rules.
TRUNCATE got;
BEGIN;
INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'AAPL', '{"operator": "<", "value": 100}')
RETURNING rule_id AS rid \gset
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT payload FROM got$$,
		  ARRAY['{"k":"rule","x":"' || :'xid' || '","op":"I","tenant":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa","rule":"'
			|| :'rid' || '","symbol":"AAPL","old_symbol":null}'],
		  'rule insert');
TRUNCATE got;
BEGIN;
UPDATE alert_rules SET symbol = 'MSFT' WHERE rule_id = :'rid';
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT payload::jsonb FROM got$$,
		  ARRAY[jsonb_build_object('k', 'rule', 'x', :'xid', 'op', 'U', 'tenant', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
					   'rule', :'rid', 'symbol', 'MSFT', 'old_symbol', 'AAPL')],
		  'rule update names the old symbol');
TRUNCATE got;
BEGIN;
SET LOCAL leo.writer = on;
UPDATE alert_rules SET status = 'TRIGGERED', trigger_count = 1 WHERE rule_id = :'rid';
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 0, 'the daemon''s own rule updates (leo.writer = on) are not sent');
TRUNCATE got;
UPDATE alert_rules SET status = 'ACTIVE' WHERE rule_id = :'rid';
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 1, 'leo.writer was local to that transaction');
TRUNCATE got;
UPDATE alert_rules SET status = 'PAUSED';
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 3, 'one notification per rule row');
TRUNCATE got;
BEGIN;
DELETE FROM alert_rules WHERE rule_id = :'rid';
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT payload::jsonb FROM got$$,
		  ARRAY[jsonb_build_object('k', 'rule', 'x', :'xid', 'op', 'D', 'tenant', 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
					   'rule', :'rid', 'symbol', 'MSFT', 'old_symbol', 'MSFT')],
		  'rule delete');

-- leo_control: consent.
TRUNCATE got;
BEGIN;
INSERT INTO consent_management (tenant_id, profile_id, channel, legal_basis)
VALUES ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'P1', 'sms', 'contract');
UPDATE consent_management SET status = 'revoked', revoked_at = now()
WHERE tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb' AND channel = 'sms';
DELETE FROM consent_management WHERE tenant_id = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb' AND channel = 'sms';
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT payload FROM got ORDER BY n$$,
		  ARRAY['{"k":"consent","x":"' || :'xid' || '","op":"I","tenant":"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb","profile":"P1","channel":"sms"}',
			'{"k":"consent","x":"' || :'xid' || '","op":"U","tenant":"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb","profile":"P1","channel":"sms"}',
			'{"k":"consent","x":"' || :'xid' || '","op":"D","tenant":"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb","profile":"P1","channel":"sms"}'],
		  'consent insert, update, delete');
TRUNCATE got;
BEGIN;
SET LOCAL leo.writer = on;
UPDATE consent_management SET channel = 'web_push' WHERE tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT payload::jsonb ->> 'op' || ' ' || (payload::jsonb ->> 'channel') FROM got ORDER BY n$$,
		  ARRAY['D email', 'U web_push'], 'a consent key change ends the old key; leo.writer does not hide consent');

-- leo_control: tenants.
TRUNCATE got;
BEGIN;
INSERT INTO tenant (tenant_id, tenant_name) VALUES ('dddddddd-dddd-dddd-dddd-dddddddddddd', 'D');
UPDATE tenant SET status = 'suspended' WHERE tenant_id = 'dddddddd-dddd-dddd-dddd-dddddddddddd';
DELETE FROM tenant WHERE tenant_id = 'dddddddd-dddd-dddd-dddd-dddddddddddd';
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT results_eq($$SELECT payload FROM got ORDER BY n$$,
		  ARRAY['{"k":"tenant","x":"' || :'xid' || '","op":"I","tenant":"dddddddd-dddd-dddd-dddd-dddddddddddd","status":"active"}',
			'{"k":"tenant","x":"' || :'xid' || '","op":"U","tenant":"dddddddd-dddd-dddd-dddd-dddddddddddd","status":"suspended"}',
			'{"k":"tenant","x":"' || :'xid' || '","op":"D","tenant":"dddddddd-dddd-dddd-dddd-dddddddddddd","status":"suspended"}'],
		  'tenant insert, update, delete');

-- A symbol with quotes and backslashes stays valid JSON.
TRUNCATE got;
INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'P1', 'A"B\C', '{"operator": "<", "value": 100}');
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT pg_temp.wait() AS waited \gset
SELECT is((SELECT payload::jsonb ->> 'symbol' FROM got), 'A"B\C', 'symbols are JSON-escaped');

-- The key and the signing function are the owner's: no other role can sign,
-- yet a role that may only update prices sends signed notifications.
SELECT ok(NOT has_table_privilege('public', 'leo_notify_key', 'SELECT'), 'PUBLIC cannot read leo_notify_key');
SELECT ok(NOT has_function_privilege('public', 'leo_notify(text, text)', 'EXECUTE'),
	  'PUBLIC cannot run leo_notify');
SELECT is((SELECT octet_length(key) FROM leo_notify_key), 32, 'a key of 32 bytes');
DROP ROLE IF EXISTS leo_test_feed;
CREATE ROLE leo_test_feed;
GRANT SELECT, UPDATE ON market_snapshot TO leo_test_feed;
TRUNCATE got;
SET ROLE leo_test_feed;
SELECT throws_ok($$SELECT key FROM leo_notify_key$$, '42501', NULL, 'a feed role cannot read the key');
SELECT throws_ok($$SELECT leo_notify('leo_market', 'M1 1 1')$$, '42501', NULL, 'nor sign');
UPDATE market_snapshot SET price = 15 WHERE symbol = 'S1';
RESET ROLE;
SELECT pg_notify('leo_test_sentinel', '') \gset
SELECT is(pg_temp.wait(), 1, 'a feed role''s price change is signed');
DROP OWNED BY leo_test_feed;
DROP ROLE leo_test_feed;

SELECT is(dblink_disconnect('lst'), 'OK', 'listener disconnected');
SELECT * FROM finish();
