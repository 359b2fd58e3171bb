-- leo_condition_check() and the alert_rules guard against the vectors of
-- tests/data/cond/{ok,bad} (loaded into cond_vector by tests/sql/run.sh):
-- every ok vector is valid and storable, every bad one is rejected with a
-- message naming its path, and a few messages are checked word for word.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;

SELECT no_plan();

SELECT cmp_ok((SELECT count(*)::int FROM cond_vector WHERE kind = 'ok'), '>=', 25,
	      'at least 25 valid vectors');
SELECT cmp_ok((SELECT count(*)::int FROM cond_vector WHERE kind = 'bad'), '>=', 40,
	      'at least 40 invalid vectors');

SELECT is(leo_condition_check(body::jsonb), NULL, 'ok/' || name)
FROM cond_vector WHERE kind = 'ok' ORDER BY name;

SELECT isnt(leo_condition_check(body::jsonb), NULL, 'bad/' || name)
FROM cond_vector WHERE kind = 'bad' ORDER BY name;

-- Every message starts with a path ("$" for the whole condition).
SELECT matches(leo_condition_check(body::jsonb),
	       '^(\$|[A-Za-z_]+(\[[0-9]+\])?)(\.[A-Za-z_]+(\[[0-9]+\])?)*: [a-z]',
	       'bad/' || name || ': message names a path')
FROM cond_vector WHERE kind = 'bad' ORDER BY name;

-- Exact messages of a few.
SELECT is(leo_condition_check(body::jsonb), expect, 'message of bad/' || name)
FROM cond_vector JOIN (VALUES
	('nested-fraction-9-digits-path', 'all[1].value: more than 8 fractional digits'),
	('nested-bad-leaf-path', 'all[1].any[0].low: greater than high'),
	('gt-low-operand', 'low: unknown key for operator ">"'),
	('gt-missing-value', 'value: missing (operator ">" needs it)'),
	('moves-window-86401', 'window_seconds: must be between 1 and 86400'),
	('moves-field-change-percent', 'field: must be "price" for operator "moves_up_pct"'),
	('leaves-65', 'any[64]: more than 64 leaves'),
	('composites-9-deep', 'not.any[0].all[0].not.any[0].all[0].not.any[0].all: more than 8 nested composites'),
	('magnitude-1e12', 'value: magnitude must be below 10^12'),
	('root-array', '$: must be a JSON object, not array'),
	('any-empty', 'any: must not be empty')
) AS e(name, expect) USING (name)
WHERE kind = 'bad' ORDER BY name;

-- Written scale counts, not the value: jsonb keeps 150.100000000 as written.
SELECT is(leo_condition_check('{"operator": ">", "value": 150.10000000}'), NULL,
	  '8 written fractional digits, trailing zeros included, are fine');
SELECT isnt(leo_condition_check('{"operator": ">", "value": 150.100000000}'), NULL,
	    '9 written fractional digits are not, even when they are zeros');
SELECT is(leo_condition_check(NULL), '$: missing', 'SQL NULL is rejected');

-- The table applies the same check, with the message, on insert and update.
INSERT INTO tenant (tenant_id, tenant_name)
VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 'cond');
INSERT INTO cdp_profiles (tenant_id, profile_id)
VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 'P');

CREATE FUNCTION pg_temp.store(body text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
	VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 'P', 'SYM', body::jsonb)
	ON CONFLICT (rule_id) DO NOTHING;
	RETURN NULL;
EXCEPTION WHEN check_violation THEN
	RETURN SQLERRM;
END
$$;

SELECT is(pg_temp.store(body), NULL, 'stored: ok/' || name)
FROM cond_vector WHERE kind = 'ok' ORDER BY name;
SELECT is((SELECT count(*)::int FROM alert_rules),
	  (SELECT count(DISTINCT body::jsonb)::int FROM cond_vector WHERE kind = 'ok'),
	  'one rule per distinct valid condition');

SELECT is(pg_temp.store(body), 'invalid condition_logic: ' || leo_condition_check(body::jsonb),
	  'refused with its message: bad/' || name)
FROM cond_vector WHERE kind = 'bad' ORDER BY name;

SELECT throws_ok($$UPDATE alert_rules SET condition_logic = '{"operator": ">", "value": 1, "low": 0}'$$,
		 '23514', 'invalid condition_logic: low: unknown key for operator ">"',
		 'an UPDATE to an invalid condition is refused');

-- Validation runs when condition_logic is new or changed, not on every
-- UPDATE of the row (the daemon's claims change only counters): a row that
-- got past the trigger (disabled) can still be claimed.
ALTER TABLE alert_rules DISABLE TRIGGER alert_rules_before;
INSERT INTO alert_rules (rule_id, tenant_id, profile_id, symbol, condition_logic)
VALUES (repeat('0', 64), 'aaaaaaaa-0000-0000-0000-000000000001', 'P', 'X', '{"any": []}');
ALTER TABLE alert_rules ENABLE TRIGGER alert_rules_before;
SELECT lives_ok($$UPDATE alert_rules SET trigger_count = 1 WHERE rule_id = repeat('0', 64)$$,
		'an UPDATE that leaves condition_logic alone does not validate it again');
SELECT throws_ok($$UPDATE alert_rules SET condition_logic = '{"any": [{}]}' WHERE rule_id = repeat('0', 64)$$,
		 '23514', NULL, 'an UPDATE that changes it does');

SELECT * FROM finish();
