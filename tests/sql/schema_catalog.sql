-- schema_catalog.sql — the schema as the catalogs see it, one sorted line per
-- object or property, for tests/sql/idempotent.sh.  pg_dump refuses servers
-- newer than itself, and Debian 12's is 15; these queries read every release
-- the tests run on.  What they cover: schemas, extensions, types (enum
-- labels, domains), relations (kind, persistence, owner, grants, row-level
-- security, options, partitioning), columns (type, null, default, identity,
-- generation, collation, grants), constraints, indexes, triggers, policies,
-- functions (their whole definition, owner, grants), sequences, comments and
-- default privileges.  Objects of the system schemas and of extensions are
-- left out, as pg_dump leaves them.
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' | '
SET search_path = pg_catalog;
WITH ns AS (
	SELECT oid, nspname FROM pg_namespace
	 WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
	   AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
),
ext_member AS (
	SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
),
rel AS (
	SELECT c.* FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
	 WHERE NOT EXISTS (SELECT 1 FROM ext_member e
	                    WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid)
)
SELECT line FROM (
	SELECT format('schema %I owner %s acl %s', n.nspname, pg_get_userbyid(n.nspowner), n.nspacl)
	  FROM pg_namespace n JOIN ns USING (oid)
	UNION ALL
	SELECT format('extension %I version %s schema %s', extname, extversion, extnamespace::regnamespace)
	  FROM pg_extension
	UNION ALL
	SELECT format('type %s kind %s owner %s acl %s base %s notnull %s default %s labels %s',
	              t.oid::regtype, t.typtype, pg_get_userbyid(t.typowner), t.typacl,
	              nullif(t.typbasetype, 0)::regtype, t.typnotnull, t.typdefault,
	              (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder)
	                 FROM pg_enum WHERE enumtypid = t.oid))
	  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
	 WHERE t.typtype IN ('e', 'd', 'r', 'm')
	   AND NOT EXISTS (SELECT 1 FROM ext_member e
	                    WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
	UNION ALL
	SELECT format('relation %s kind %s persistence %s owner %s acl %s rls %s force %s options %s partition %s of %s',
	              c.oid::regclass, c.relkind, c.relpersistence, pg_get_userbyid(c.relowner),
	              c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.reloptions,
	              pg_get_partkeydef(c.oid), pg_get_expr(c.relpartbound, c.oid))
	  FROM rel c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
	UNION ALL
	SELECT format('view %s %s', c.oid::regclass, pg_get_viewdef(c.oid))
	  FROM rel c WHERE c.relkind IN ('v', 'm')
	UNION ALL
	SELECT format('column %s.%I type %s notnull %s default %s identity %s generated %s collation %s acl %s',
	              c.oid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	              pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
	              nullif(a.attcollation, 0)::regcollation, a.attacl)
	  FROM rel c JOIN pg_attribute a ON a.attrelid = c.oid
	  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	-- NOT NULL constraints have rows from 18 on: the column lines say those
	SELECT format('constraint %s on %s %s', co.conname,
	              coalesce(co.conrelid::regclass::text, co.contypid::regtype::text),
	              pg_get_constraintdef(co.oid))
	  FROM pg_constraint co JOIN ns ON ns.oid = co.connamespace
	 WHERE co.contype <> 'n'
	   AND (co.conrelid = 0 OR co.conrelid IN (SELECT oid FROM rel))
	   AND (co.contypid = 0 OR NOT EXISTS (SELECT 1 FROM ext_member e
	                    WHERE e.classid = 'pg_type'::regclass AND e.objid = co.contypid))
	UNION ALL
	SELECT format('index %s', pg_get_indexdef(i.indexrelid))
	  FROM pg_index i JOIN rel c ON c.oid = i.indrelid
	UNION ALL
	SELECT format('trigger %s enabled %s', pg_get_triggerdef(t.oid), t.tgenabled)
	  FROM pg_trigger t JOIN rel c ON c.oid = t.tgrelid
	 WHERE NOT t.tgisinternal
	UNION ALL
	SELECT format('policy %I on %s cmd %s permissive %s roles %s using %s check %s',
	              p.polname, p.polrelid::regclass, p.polcmd, p.polpermissive,
	              (SELECT string_agg(CASE r WHEN 0 THEN 'public' ELSE pg_get_userbyid(r) END, ',' ORDER BY 1)
	                 FROM unnest(p.polroles) r),
	              pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
	  FROM pg_policy p JOIN rel c ON c.oid = p.polrelid
	UNION ALL
	SELECT format('function %s owner %s acl %s %s', p.oid::regprocedure, pg_get_userbyid(p.proowner),
	              p.proacl, CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END)
	  FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
	 WHERE NOT EXISTS (SELECT 1 FROM ext_member e
	                    WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
	UNION ALL
	SELECT format('sequence %s type %s start %s increment %s min %s max %s cache %s cycle %s',
	              s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement,
	              s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
	  FROM pg_sequence s JOIN rel c ON c.oid = s.seqrelid
	UNION ALL
	SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
	  FROM pg_description d
	 WHERE d.objoid >= 16384
	   AND NOT EXISTS (SELECT 1 FROM ext_member e WHERE e.classid = d.classoid AND e.objid = d.objoid)
	UNION ALL
	SELECT format('default acl role %s schema %s kind %s acl %s', pg_get_userbyid(a.defaclrole),
	              a.defaclnamespace::regnamespace, a.defaclobjtype, a.defaclacl)
	  FROM pg_default_acl a
) x(line)
ORDER BY line COLLATE "C";
