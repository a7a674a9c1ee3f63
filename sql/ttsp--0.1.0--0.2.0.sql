-- ttsp 0.1.0 -> 0.2.0.  Every change to the SQL API since 0.1.0, so that
-- ALTER EXTENSION ttsp UPDATE gives what CREATE EXTENSION ttsp gives
-- (test/upgrade checks both catalogues and the models' predictions).
\echo Use "ALTER EXTENSION ttsp UPDATE TO '0.2.0'" to load this file. \quit

-- It reads files under ttsp.audio_dir, which can change between calls.
ALTER FUNCTION ttsp_predict(bigint, integer) VOLATILE;

-- The C function is called as the SQL one (0.1.0 named it ttsp_spec_from_array).
CREATE OR REPLACE FUNCTION ttsp_make_spectrogram(
	data real[],
	kind text,
	sample_rate integer,
	n_fft integer,
	hop_length integer DEFAULT NULL,
	win_length integer DEFAULT NULL,
	db boolean DEFAULT false,
	center boolean DEFAULT true)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_make_spectrogram' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 1000;

-- What ttsp_predict reads, as columns of their own: the training features'
-- header (one frame of zeros, as the library rebuilt it from features until
-- 0.1.0), frames and the regression target's scale.  Models stored by 0.1.0
-- keep predicting bit for bit.
ALTER TABLE ttsp_model
	ADD COLUMN feature_template spectrogram,
	ADD COLUMN frames integer,
	ADD COLUMN target_mean double precision,
	ADD COLUMN target_std double precision;
UPDATE ttsp_model m SET
	feature_template = (m.features || jsonb_build_object(
		'shape', jsonb_build_array(s.c, s.b, 1),
		'data', to_jsonb(array_fill(0::real, ARRAY[s.c, s.b, 1]))))::text::spectrogram,
	frames = (m.architecture->>'frames')::integer,
	target_mean = coalesce((m.architecture->>'target_mean')::double precision, 0),
	target_std = coalesce((m.architecture->>'target_std')::double precision, 1)
FROM (SELECT name, version, (features->'shape'->>0)::integer AS c, (features->'shape'->>1)::integer AS b
	  FROM ttsp_model) s
WHERE s.name = m.name AND s.version = m.version;
ALTER TABLE ttsp_model
	ALTER COLUMN feature_template SET NOT NULL,
	ALTER COLUMN frames SET NOT NULL,
	ALTER COLUMN target_mean SET NOT NULL,
	ALTER COLUMN target_std SET NOT NULL,
	ADD CONSTRAINT ttsp_model_frames_check CHECK (frames > 0),
	ADD COLUMN validation_loss double precision[],
	ADD COLUMN best_epoch integer CONSTRAINT ttsp_model_best_epoch_check CHECK (best_epoch > 0);
COMMENT ON COLUMN ttsp_model.features IS 'Parameters of the training features (ttsp_params of the first row), for reading';
COMMENT ON COLUMN ttsp_model.feature_template IS 'One frame with the training features'' header: what ttsp_predict compares spectrograms with';
COMMENT ON COLUMN ttsp_model.frames IS 'Frames per model input';
COMMENT ON COLUMN ttsp_model.target_mean IS 'Regression outputs are value x target_std + target_mean (0 and 1 for classification)';
COMMENT ON COLUMN ttsp_model.target_std IS 'See target_mean';
COMMENT ON COLUMN ttsp_model.validation_loss IS 'Per-epoch loss on the validation split (NULL for models trained before 0.2.0, which had none)';
COMMENT ON COLUMN ttsp_model.best_epoch IS 'The epoch whose weights these are: the lowest validation loss (NULL before 0.2.0: the last)';

-- The model as a value (0.2.0): no lookup by name, no SPI, so it runs in
-- parallel workers and on Citus shards, where ttsp_model is a reference
-- table joined to the data.  record, not ttsp_model: on a shard the row has
-- the shard's row type; the C code checks ttsp_model's columns by name and type.
CREATE FUNCTION ttsp_predict(model record, spec spectrogram)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ttsp_predict_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50000;
COMMENT ON FUNCTION ttsp_predict(record, spectrogram) IS
	'Probability or value from a ttsp_model row passed as a value (join ttsp_model or ttsp_latest_model); no SPI';

-- The newest version of each model, with the row as one value for ttsp_predict(model, spec).
CREATE VIEW ttsp_latest_model AS
SELECT DISTINCT ON (m.name) m.name, m.version, m AS model
FROM ttsp_model m
ORDER BY m.name, m.version DESC;
COMMENT ON VIEW ttsp_latest_model IS 'The latest version of each model; model is the whole ttsp_model row, for ttsp_predict(model, spec)';
GRANT SELECT ON ttsp_latest_model TO PUBLIC;

-- Costs in cpu_operator_cost units (a few ms of decoding and transforming is
-- about 10^5 operator evaluations), so that the planner weighs the work and
-- chooses parallel plans for it (CREATE TABLE AS, REFRESH MATERIALIZED VIEW).
ALTER FUNCTION ttsp_load_mp3(bytea, integer, boolean, double precision, double precision) COST 100000;
ALTER FUNCTION ttsp_load_mp3(bigint, integer, boolean, double precision, double precision) COST 100000;
ALTER FUNCTION ttsp_to_array(spectrogram) COST 1000;
ALTER FUNCTION ttsp_slice(spectrogram, double precision, double precision) COST 1000;
ALTER FUNCTION ttsp_spectrogram(real[], integer, integer, integer, integer, double precision, boolean, text, boolean) COST 100000;
ALTER FUNCTION ttsp_spectrogram(bytea, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean) COST 100000;
ALTER FUNCTION ttsp_spectrogram(bigint, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean) COST 100000;
ALTER FUNCTION ttsp_mel_spectrogram(real[], integer, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text) COST 100000;
ALTER FUNCTION ttsp_mel_spectrogram(bytea, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text) COST 100000;
ALTER FUNCTION ttsp_mfcc(real[], integer, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text, integer, integer, text, boolean) COST 100000;
ALTER FUNCTION ttsp_mfcc(bytea, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text, integer, integer, text, boolean) COST 100000;
ALTER FUNCTION ttsp_amplitude_to_db(spectrogram, double precision) COST 1000;
ALTER FUNCTION ttsp_spectrogram_png(spectrogram, double precision) COST 1000;
ALTER FUNCTION ttsp_predict(text, spectrogram, integer) COST 50000;
ALTER FUNCTION ttsp_predict(bigint, integer) COST 100000;
ALTER FUNCTION ttsp_plot_losses(double precision[], double precision[], integer, integer) COST 1000;

-- A validation split carved out of the training rows, and early stopping.
DROP FUNCTION ttsp_train(text, regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer);
DROP FUNCTION ttsp_train(text, text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer);
CREATE FUNCTION ttsp_train(
	model_name text,
	source regclass,
	features text,
	label text,
	task text DEFAULT 'classification',
	epochs integer DEFAULT 10,
	batch_size integer DEFAULT 32,
	learning_rate double precision DEFAULT NULL,
	optimizer text DEFAULT 'adam',
	loss text DEFAULT NULL,
	channels integer[] DEFAULT '{8,16,32,64}',
	test_size double precision DEFAULT 0.25,
	seed integer DEFAULT 12,
	frames integer DEFAULT NULL,
	validation_size double precision DEFAULT 0.2,
	patience integer DEFAULT 5,
	init_model text DEFAULT NULL,
	init_version integer DEFAULT NULL,
	weight_decay double precision DEFAULT NULL,
	time_mask_param integer DEFAULT 0,
	freq_mask_param integer DEFAULT 0,
	gain_db double precision DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_table' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision) IS
	'Train the CNN on a table''s spectrogram column and label column, keeping the epoch with the lowest validation loss (init_model: continuing from a stored model); stores a new model version, returns test metrics';

CREATE FUNCTION ttsp_train(
	model_name text,
	query text,
	features text,
	label text,
	task text DEFAULT 'classification',
	epochs integer DEFAULT 10,
	batch_size integer DEFAULT 32,
	learning_rate double precision DEFAULT NULL,
	optimizer text DEFAULT 'adam',
	loss text DEFAULT NULL,
	channels integer[] DEFAULT '{8,16,32,64}',
	test_size double precision DEFAULT 0.25,
	seed integer DEFAULT 12,
	frames integer DEFAULT NULL,
	validation_size double precision DEFAULT 0.2,
	patience integer DEFAULT 5,
	init_model text DEFAULT NULL,
	init_version integer DEFAULT NULL,
	weight_decay double precision DEFAULT NULL,
	time_mask_param integer DEFAULT 0,
	freq_mask_param integer DEFAULT 0,
	gain_db double precision DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision) IS
	'Train the CNN on the rows of a query (use query => ...), keeping the epoch with the lowest validation loss (init_model: continuing from a stored model); stores a new model version, returns test metrics';

