-- bench/enrich/load.sql: :n profiles of one tenant, each with job titles,
-- segments, a location, a portfolio of 3 symbols and 50 behavioural events
-- (NEWS 60 %, ALERT 20 %, CAMPAIGN 20 %, over 2,000 news rows, 1,000 rules
-- and 20 campaigns), every profile's job queued by the insert trigger.
-- Deterministic (setseed), so runs compare.  Vacuumed at the end.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(0.42);
INSERT INTO tenant (tenant_id, tenant_name) VALUES ('aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'bench');
SET app.current_tenant_id = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
CREATE TEMP TABLE words (i int, title text, segment text, city text, sym text);
INSERT INTO words
SELECT i,
       (ARRAY['Portfolio manager', 'Equity trader', 'Analyst', 'Nurse', 'Teacher', 'Engineer',
	      'Software developer', 'Accountant', 'Doctor', 'Sales manager', 'Student', 'Farmer',
	      'Lawyer', 'Architect', 'Pharmacist', 'Chef', 'Pilot', 'Journalist', 'Designer',
	      'Giám đốc', 'Kỹ sư', 'Bác sĩ', 'Giáo viên', 'Nhân viên ngân hàng'])[1 + i % 24],
       (ARRAY['high value', 'newcomer', 'active trader', 'dormant', 'vip', 'young investor',
	      'retiree', 'crypto curious', 'dividend seeker', 'day trader'])[1 + i % 10],
       (ARRAY['Hanoi', 'Ho Chi Minh City', 'Da Nang', 'Hai Phong', 'Can Tho', 'Singapore',
	      'Bangkok', 'Paris', 'London', 'New York'])[1 + i % 10],
       'S' || lpad(i::text, 3, '0')
  FROM generate_series(0, 199) i;
INSERT INTO news_feed (headline, body, related_symbols)
SELECT 'S' || lpad((i % 200)::text, 3, '0') || ' ' ||
       (ARRAY['beats estimates', 'misses forecasts', 'announces buyback', 'cuts guidance',
	      'opens new plant', 'faces probe', 'raises dividend', 'hits record high'])[1 + i % 8] ||
       ' in quarter ' || (i % 4 + 1),
       'Story ' || i || ' of the benchmark.', ARRAY['S' || lpad((i % 200)::text, 3, '0')]
  FROM generate_series(1, 2000) i;
INSERT INTO campaign (tenant_id, campaign_id, campaign_code, campaign_name)
SELECT 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'C' || i, 'CODE' || i,
       (ARRAY['Summer savers', 'Crypto week', 'Dividend days', 'New investor bonus',
	      'Tết lộc vàng'])[1 + i % 5] || ' ' || i
  FROM generate_series(1, 20) i;
INSERT INTO cdp_profiles (tenant_id, profile_id, job_titles, segments, living_location,
			  portfolio_snapshot)
SELECT 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'p' || g,
       jsonb_build_array((SELECT title FROM words WHERE i = (g * 7) % 24),
			 (SELECT title FROM words WHERE i = (g * 11) % 24)),
       jsonb_build_array((SELECT segment FROM words WHERE i = g % 10)),
       (SELECT city FROM words WHERE i = (g * 3) % 10),
       jsonb_build_object('cash', 1000, 'positions', jsonb_build_array(
	       jsonb_build_object('symbol', 'S' || lpad((g % 200)::text, 3, '0')),
	       jsonb_build_object('symbol', 'S' || lpad(((g * 7) % 200)::text, 3, '0')),
	       jsonb_build_object('symbol', 'S' || lpad(((g * 13) % 200)::text, 3, '0'))))
  FROM generate_series(1, :n) g;
INSERT INTO alert_rules (tenant_id, profile_id, symbol, condition_logic)
SELECT 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'p' || (1 + i % :n), 'S' || lpad((i % 200)::text, 3, '0'),
       jsonb_build_object('operator', '>', 'value', 100 + i)
  FROM generate_series(1, 1000) i;
CREATE TEMP TABLE rule_ids AS SELECT row_number() OVER (ORDER BY rule_id) AS k, rule_id FROM alert_rules;
INSERT INTO behavioral_events (tenant_id, profile_id, event_type, entity_type, entity_id, occurred_at)
SELECT 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'p' || g,
       (ARRAY['VIEW', 'CLICK', 'CONVERT'])[1 + (g + e) % 3],
       CASE WHEN e % 5 < 3 THEN 'NEWS' WHEN e % 5 = 3 THEN 'ALERT' ELSE 'CAMPAIGN' END,
       CASE WHEN e % 5 < 3 THEN (1 + (g * 31 + e * 17) % 2000)::text
	    WHEN e % 5 = 3 THEN (SELECT rule_id FROM rule_ids WHERE k = 1 + (g + e) % 1000)
	    ELSE 'C' || (1 + (g + e) % 20) END,
       timestamptz '2026-11-01' + (g % 1000) * interval '1 minute' + e * interval '1 hour'
  FROM generate_series(1, :n) g, generate_series(1, 50) e;
RESET app.current_tenant_id;
-- VACUUM as autovacuum would by now for a table that only grows: the claim
-- reads the newest events off an index alone (behavioral_events_recent_idx)
-- where the pages are marked all-visible.
VACUUM ANALYZE;
