-- Spectrogram, MelSpectrogram, MFCC and AmplitudeToDB against torchaudio 0.13
-- golden values (test/golden/make_golden.py).  Error measure, as in
-- src/core/stft.h: each value within 1e-4 x max(|golden|, tau x the case's
-- largest |golden|), tau 1e-2 (1e-1 for MFCC); dB values are compared as the
-- power (10^(v/10)) or magnitude (10^(v/20)) they stand for.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/setup.psql
SELECT plan(25);

CREATE TEMP TABLE waveforms (name text PRIMARY KEY, sample_rate int, waveform real[]);
CREATE TEMP TABLE cases (name text, waveform text, transform text, params jsonb, shape int[], golden real[]);
\set golden_dir :abs_srcdir '/sql/golden/'
\set wave_file :golden_dir 'waveforms.tsv'
\set case_file :golden_dir 'cases.tsv'
\set load_waves '\\copy waveforms FROM ' :'wave_file'
\set load_cases '\\copy cases FROM ' :'case_file'
:load_waves
:load_cases

-- torchaudio's keyword arguments, mapped onto ttsp's named arguments.
CREATE FUNCTION pg_temp.run_case(transform text, p jsonb, w real[], sr int) RETURNS spectrogram
LANGUAGE plpgsql AS $$
DECLARE
	m jsonb := coalesce(p->'melkwargs', p->'spectrogram', p);
	n_fft int := coalesce((m->>'n_fft')::int, 400);
	win int := (m->>'win_length')::int;
	hop int := (m->>'hop_length')::int;
	pw float8 := coalesce((m->>'power')::float8, 2.0);
	ctr bool := coalesce((m->>'center')::bool, true);
	pad text := coalesce(m->>'pad_mode', 'reflect');
	nrm bool := coalesce((m->>'normalized')::bool, false);
BEGIN
	CASE transform
	WHEN 'spectrogram' THEN
		RETURN ttsp_spectrogram(w, sr, n_fft => n_fft, win_length => win, hop_length => hop,
			power => pw, center => ctr, pad_mode => pad, normalized => nrm);
	WHEN 'amplitude_to_db' THEN
		RETURN ttsp_amplitude_to_db(ttsp_spectrogram(w, sr, n_fft => n_fft, win_length => win,
			hop_length => hop, power => pw, center => ctr, pad_mode => pad, normalized => nrm),
			top_db => (p->>'top_db')::float8);
	WHEN 'mel_spectrogram' THEN
		RETURN ttsp_mel_spectrogram(w, sr, n_fft => n_fft, win_length => win, hop_length => hop,
			power => pw, center => ctr, pad_mode => pad, normalized => nrm,
			f_min => coalesce((m->>'f_min')::float8, 0), f_max => (m->>'f_max')::float8,
			n_mels => coalesce((m->>'n_mels')::int, 128), norm => m->>'norm',
			mel_scale => coalesce(m->>'mel_scale', 'htk'));
	WHEN 'mfcc' THEN
		RETURN ttsp_mfcc(w, sr, n_fft => n_fft, win_length => win, hop_length => hop,
			power => pw, center => ctr, pad_mode => pad, normalized => nrm,
			f_min => coalesce((m->>'f_min')::float8, 0), f_max => (m->>'f_max')::float8,
			n_mels => coalesce((m->>'n_mels')::int, 128), mel_norm => m->>'norm',
			mel_scale => coalesce(m->>'mel_scale', 'htk'),
			n_mfcc => coalesce((p->>'n_mfcc')::int, 40), dct_type => coalesce((p->>'dct_type')::int, 2),
			norm => CASE WHEN p ? 'norm' THEN p->>'norm' ELSE 'ortho' END,
			log_mels => coalesce((p->>'log_mels')::bool, false));
	END CASE;
END $$;

CREATE FUNCTION pg_temp.within_tolerance(ours real[], golden real[], tau float8, db_divisor float8) RETURNS bool
LANGUAGE sql AS $$
	WITH v AS (
		SELECT CASE WHEN db_divisor IS NULL THEN o ELSE power(10, o / db_divisor) END AS o,
			CASE WHEN db_divisor IS NULL THEN x ELSE power(10, x / db_divisor) END AS x
		FROM unnest(ours, golden) u(o, x)),
	g AS (SELECT max(abs(x)) AS m FROM v)
	SELECT array_dims(ours) = array_dims(golden)
		AND bool_and(abs(o - x) <= 1e-4 * greatest(abs(x), tau * g.m))
	FROM v, g GROUP BY g.m
$$;

SELECT ok(pg_temp.within_tolerance(pg_temp.run_case(c.transform, c.params, w.waveform, w.sample_rate)::real[], c.golden,
		CASE WHEN c.transform = 'mfcc' THEN 1e-1 ELSE 1e-2 END,
		CASE WHEN c.transform <> 'amplitude_to_db' THEN NULL
			WHEN c.params->>'stype' = 'magnitude' THEN 20 ELSE 10 END),
	format('%s: %s %s matches torchaudio', c.name, c.transform, c.params))
FROM cases c JOIN waveforms w ON w.name = c.waveform ORDER BY c.name;

SELECT * FROM finish();
ROLLBACK;
