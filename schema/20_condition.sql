-- 20_condition.sql — leo_condition_check(jsonb): the database's copy of the
-- condition_logic grammar (SPEC section 3).
--
-- alert_rules rejects, on insert and update, every rule the daemon could not
-- evaluate; the daemon's compiler (src/cond.c) accepts exactly the same
-- language, so a stored rule always compiles.  The result is NULL for a valid
-- condition, else one message naming the offending part by its path, e.g.
-- "all[1].value: more than 8 fractional digits" (array indexes count from 0,
-- "$" is the whole condition).
--
-- Grammar:
--   leaf       {"operator": OP, "field": "price"|"change_percent", operands}
--              ">" ">=" "<" "<=" "==" "!=" "crosses_above" "crosses_below"
--              "crosses"                                      value
--              "between" "outside" "enters" "exits"          low, high (low <= high)
--              "moves_up_pct" "moves_down_pct" (field price)  value (> 0),
--                                                   window_seconds (integer 1..86400)
--   composite  {"all": [node, ...]} | {"any": [node, ...]} (non-empty) | {"not": node}
-- A node with "operator" is a leaf; any key but "operator", "field" and the
-- operator's own operands is unknown (so "low" on ">" is rejected).  A
-- composite has exactly one key.  At most 8 composites on the path from the
-- root to any leaf, at most 64 leaves.  Numbers are JSON numbers with at most
-- 8 fractional digits as written (jsonb keeps the written scale, hence
-- scale()) and magnitude below 10^12.
--
-- What jsonb cannot see — exponent notation, duplicate keys, invalid UTF-8 —
-- jsonb has already canonicalised or rejected; the daemon's compiler, which
-- reads the JSON text itself, rejects those.

SET client_min_messages = warning;

-- The path of key `k` below `path`: identifiers as .k, anything else quoted.
CREATE OR REPLACE FUNCTION leo_condition_path(path text, k text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, public
RETURN CASE
	WHEN k ~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
		CASE WHEN path = '' THEN k ELSE path || '.' || k END
	ELSE
		CASE WHEN path = '' THEN '$' ELSE path END
			|| '[' || to_jsonb(left(k, 64))::text || ']'
	END;

-- NULL when `v` is a number the engine compares exactly, else the message.
CREATE OR REPLACE FUNCTION leo_condition_number(v jsonb, path text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public
AS $$
DECLARE
	n numeric;
BEGIN
	IF jsonb_typeof(v) IS DISTINCT FROM 'number' THEN
		RETURN path || ': must be a JSON number, not ' ||
			coalesce(jsonb_typeof(v), 'missing');
	END IF;
	n := v::numeric;
	IF scale(n) > 8 THEN
		RETURN path || ': more than 8 fractional digits';
	END IF;
	IF abs(n) >= 1000000000000 THEN
		RETURN path || ': magnitude must be below 10^12';
	END IF;
	RETURN NULL;
END
$$;

-- Check one node at `path` below `depth` composites; `leaves` counts the
-- leaves seen so far in document order.  err is NULL when the node is valid.
CREATE OR REPLACE FUNCTION leo_condition_node(node jsonb, path text, depth integer,
					      INOUT leaves integer, OUT err text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public
AS $$
DECLARE
	here text := CASE WHEN path = '' THEN '$' ELSE path END;
	k text;
	kpath text;
	op text;
	operands text[];
	bad text;
	i integer;
	lo numeric;
	hi numeric;
BEGIN
	err := NULL;
	IF jsonb_typeof(node) IS DISTINCT FROM 'object' THEN
		err := here || ': must be a JSON object, not ' || coalesce(jsonb_typeof(node), 'missing');
		RETURN;
	END IF;

	IF NOT node ? 'operator' AND (node ? 'all' OR node ? 'any' OR node ? 'not') THEN
		k := CASE WHEN node ? 'all' THEN 'all' WHEN node ? 'any' THEN 'any' ELSE 'not' END;
		kpath := leo_condition_path(path, k);
		SELECT key INTO bad FROM jsonb_object_keys(node) AS key WHERE key <> k LIMIT 1;
		IF bad IS NOT NULL THEN
			err := leo_condition_path(path, bad) ||
				': unknown key (a composite has exactly one key, here "' || k || '")';
			RETURN;
		END IF;
		IF depth >= 8 THEN
			err := kpath || ': more than 8 nested composites';
			RETURN;
		END IF;
		IF k = 'not' THEN
			SELECT r.leaves, r.err INTO leaves, err
			FROM leo_condition_node(node -> 'not', kpath, depth + 1, leaves) AS r;
			RETURN;
		END IF;
		IF jsonb_typeof(node -> k) <> 'array' THEN
			err := kpath || ': must be a JSON array, not ' || jsonb_typeof(node -> k);
			RETURN;
		END IF;
		IF jsonb_array_length(node -> k) = 0 THEN
			err := kpath || ': must not be empty';
			RETURN;
		END IF;
		FOR i IN 0 .. jsonb_array_length(node -> k) - 1 LOOP
			SELECT r.leaves, r.err INTO leaves, err
			FROM leo_condition_node(node -> k -> i, kpath || '[' || i || ']',
						depth + 1, leaves) AS r;
			IF err IS NOT NULL THEN
				RETURN;
			END IF;
		END LOOP;
		RETURN;
	END IF;

	-- A leaf.
	leaves := leaves + 1;
	IF leaves > 64 THEN
		err := here || ': more than 64 leaves';
		RETURN;
	END IF;
	kpath := leo_condition_path(path, 'operator');
	IF NOT node ? 'operator' THEN
		err := kpath || ': missing (expected a leaf with "operator" or one of "all", "any", "not")';
		RETURN;
	END IF;
	IF jsonb_typeof(node -> 'operator') <> 'string' THEN
		err := kpath || ': must be a JSON string, not ' || jsonb_typeof(node -> 'operator');
		RETURN;
	END IF;
	op := node ->> 'operator';
	operands := CASE
		WHEN op IN ('>', '>=', '<', '<=', '==', '!=',
			    'crosses_above', 'crosses_below', 'crosses') THEN ARRAY['value']
		WHEN op IN ('between', 'outside', 'enters', 'exits') THEN ARRAY['low', 'high']
		WHEN op IN ('moves_up_pct', 'moves_down_pct') THEN ARRAY['value', 'window_seconds']
		END;
	IF operands IS NULL THEN
		err := kpath || ': unknown operator ' || to_jsonb(left(op, 64))::text;
		RETURN;
	END IF;

	SELECT key INTO bad FROM jsonb_object_keys(node) AS key
	WHERE key <> ALL (operands || ARRAY['operator', 'field']) LIMIT 1;
	IF bad IS NOT NULL THEN
		err := leo_condition_path(path, bad) || ': unknown key for operator "' || op || '"';
		RETURN;
	END IF;

	IF node ? 'field' THEN
		kpath := leo_condition_path(path, 'field');
		IF jsonb_typeof(node -> 'field') <> 'string'
		   OR node ->> 'field' NOT IN ('price', 'change_percent') THEN
			err := kpath || ': must be "price" or "change_percent"';
			RETURN;
		END IF;
		IF operands[2] = 'window_seconds' AND node ->> 'field' <> 'price' THEN
			err := kpath || ': must be "price" for operator "' || op || '"';
			RETURN;
		END IF;
	END IF;

	FOREACH k IN ARRAY operands LOOP
		kpath := leo_condition_path(path, k);
		IF NOT node ? k THEN
			err := kpath || ': missing (operator "' || op || '" needs it)';
			RETURN;
		END IF;
		err := leo_condition_number(node -> k, kpath);
		IF err IS NOT NULL THEN
			RETURN;
		END IF;
	END LOOP;

	IF operands[1] = 'low' THEN
		lo := (node -> 'low')::numeric;
		hi := (node -> 'high')::numeric;
		IF lo > hi THEN
			err := leo_condition_path(path, 'low') || ': greater than high';
		END IF;
	ELSIF operands[2] = 'window_seconds' THEN
		IF (node -> 'value')::numeric <= 0 THEN
			err := leo_condition_path(path, 'value') || ': must be greater than 0';
		ELSIF scale((node -> 'window_seconds')::numeric) > 0 THEN
			err := leo_condition_path(path, 'window_seconds') || ': must be an integer';
		ELSIF (node -> 'window_seconds')::numeric NOT BETWEEN 1 AND 86400 THEN
			err := leo_condition_path(path, 'window_seconds') || ': must be between 1 and 86400';
		END IF;
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION leo_condition_check(logic jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public
AS $$
DECLARE
	r record;
BEGIN
	IF logic IS NULL THEN
		RETURN '$: missing';
	END IF;
	SELECT * INTO r FROM leo_condition_node(logic, '', 0, 0);
	RETURN r.err;
END
$$;

COMMENT ON FUNCTION leo_condition_check(jsonb) IS
	'NULL when condition_logic is valid (SPEC section 3), else a message naming the wrong part by its path.';
