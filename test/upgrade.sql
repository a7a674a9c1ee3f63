-- The upgrade path: 0.1.0 (through every later script) with spectrograms and models, ALTER EXTENSION ttsp
-- UPDATE, then the same predictions bit for bit, the same spectrograms, and
-- the catalogue a fresh CREATE EXTENSION gives.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(11);

-- What the extension consists of, as text: each member with its definition
-- (views' queries, casts' functions, composite types' attributes), privileges
-- and comment, and ttsp_model's columns, defaults and constraints.
CREATE FUNCTION pg_temp.ttsp_catalog() RETURNS SETOF text
LANGUAGE sql AS $$
	SELECT pg_describe_object(d.classid, d.objid, 0) || ' | ' || coalesce(CASE d.classid
		WHEN 'pg_proc'::regclass THEN
			(SELECT CASE WHEN p.prokind = 'a' THEN
				(SELECT row(a.aggtransfn, a.aggcombinefn, a.aggfinalfn, a.aggtranstype::regtype, a.agginitval,
					p.proargtypes::regtype[], p.proparallel)::text FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
				ELSE pg_get_functiondef(p.oid) END || ' acl ' || coalesce(p.proacl::text, '') FROM pg_proc p WHERE p.oid = d.objid)
		WHEN 'pg_type'::regclass THEN
			(SELECT row(t.typinput, t.typoutput, t.typreceive, t.typsend, t.typlen, t.typalign, t.typstorage,
				t.typcategory, t.typdefault,
				(SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
				 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0))::text
			 FROM pg_type t WHERE t.oid = d.objid)
		WHEN 'pg_class'::regclass THEN
			(SELECT row(c.relkind, c.relacl, c.reloptions,
				CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END)::text FROM pg_class c WHERE c.oid = d.objid)
		WHEN 'pg_cast'::regclass THEN
			(SELECT row(c.castfunc::regprocedure, c.castcontext, c.castmethod)::text FROM pg_cast c WHERE c.oid = d.objid)
		END, '') || ' | ' || coalesce(obj_description(d.objid, d.classid::regclass::text), '')
	FROM pg_depend d
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ttsp')
	UNION ALL
	SELECT format('column %s %s %s not null %s default %s | %s', a.attnum, a.attname,
		format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid),
		col_description(a.attrelid, a.attnum))
	FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	WHERE a.attrelid = 'ttsp_model'::regclass AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
	FROM pg_constraint WHERE conrelid = 'ttsp_model'::regclass
	UNION ALL
	SELECT 'dumped ' || extconfig::regclass[]::text || ' ' || extcondition::text
	FROM pg_extension WHERE extname = 'ttsp'
$$;
CREATE TEMP TABLE fresh AS SELECT pg_temp.ttsp_catalog() AS entry;

DROP EXTENSION ttsp;
CREATE EXTENSION ttsp VERSION '0.1.0';

-- 0.1.0's data: spectrograms (a stereo one too), a classifier and a regressor.
CREATE TABLE sounds AS
SELECT i AS id,
	ttsp_spectrogram(pg_temp.fixture(f), sample_rate => 8000, mono => true, n_fft => 128,
		offset_s => (i % 5) * 0.05, duration_s => 0.5) AS spec,
	ttsp_mel_spectrogram(pg_temp.fixture(f), n_mels => 16, duration_s => 0.2) AS mel,
	f LIKE 'noise%' AS popular,
	(i % 7) / 7.0 + (f LIKE 'noise%')::int AS score
FROM generate_series(1, 12) i, unnest(ARRAY['tone_mono_22k.mp3', 'noise_stereo_44k.mp3']) f;
SELECT ttsp_train('up', 'sounds', 'spec', 'popular', epochs => 2, frames => 40) IS NOT NULL AS trained;
SELECT ttsp_train('up_reg', 'sounds', 'spec', 'score', task => 'regression', epochs => 2, frames => 40) IS NOT NULL AS trained;
CREATE TEMP TABLE before AS
SELECT id, ttsp_predict('up', spec) AS p, ttsp_predict('up_reg', spec) AS r,
	spec::text AS spec_text, spectrogram_send(mel) AS mel_bytes
FROM sounds;
CREATE TEMP TABLE metrics_before AS SELECT ttsp_evaluate('up', 'sounds', 'spec', 'popular') AS m;

SELECT is(extversion, '0.1.0', 'installed at 0.1.0, with the current library') FROM pg_extension WHERE extname = 'ttsp';
ALTER EXTENSION ttsp UPDATE;
SELECT is(e.extversion, a.default_version, 'ALTER EXTENSION ttsp UPDATE walks 0.1.0 -> 0.2.0 -> ... to the default version')
FROM pg_extension e, pg_available_extensions a WHERE e.extname = 'ttsp' AND a.name = 'ttsp';

SELECT is(count(*), 24::bigint, 'classifier stored by 0.1.0: the same 24 predictions, bit for bit')
FROM before b JOIN sounds s USING (id) WHERE ttsp_predict('up', s.spec) = b.p;
SELECT is(count(*), 24::bigint, 'regressor stored by 0.1.0: the same 24 predictions, bit for bit')
FROM before b JOIN sounds s USING (id) WHERE ttsp_predict('up_reg', s.spec) = b.r;
SELECT is(ttsp_evaluate('up', 'sounds', 'spec', 'popular'), m, 'ttsp_evaluate gives the same metrics') FROM metrics_before;
SELECT is(count(*), 24::bigint, 'spectrograms read back equal, as text and binary')
FROM before b JOIN sounds s USING (id) WHERE s.spec::text = b.spec_text AND spectrogram_send(s.mel) = b.mel_bytes;
SELECT is(count(*), 0::bigint, 'every model row has the 0.2.0 columns filled')
FROM ttsp_model WHERE feature_template IS NULL OR frames IS NULL OR target_mean IS NULL OR target_std IS NULL;
SELECT ok(target_mean = (architecture->>'target_mean')::float8 AND target_std = (architecture->>'target_std')::float8
	AND target_std <> 1, 'the regressor''s target scale moved into columns unchanged')
FROM ttsp_model WHERE name = 'up_reg';

-- A model trained now stores the template itself: the update script's must be the same bits.
SELECT ttsp_train('up', 'sounds', 'spec', 'popular', epochs => 1, frames => 40) IS NOT NULL AS trained;
SELECT is(a.feature_template::text, b.feature_template::text,
	'the template the update derived equals the one ttsp_train stores')
FROM ttsp_model a, ttsp_model b WHERE a.name = 'up' AND a.version = 1 AND b.name = 'up' AND b.version = 2;

SELECT set_eq('SELECT pg_temp.ttsp_catalog()', 'SELECT entry FROM fresh',
	'the updated extension is what CREATE EXTENSION ttsp gives: members, definitions, privileges, comments, columns');
SELECT is((SELECT count(*) FROM fresh WHERE entry LIKE 'function %'), 44::bigint,
	'and that comparison covers all 44 functions (an aggregate is one) of the install script');

SELECT * FROM finish();
ROLLBACK;
