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
UPDATE ttsp_model SET
	feature_template = (features || jsonb_build_object(
		'shape', jsonb_build_array((features->'shape'->>0)::integer, (features->'shape'->>1)::integer, 1),
		'data', to_jsonb(array_fill(0::real, ARRAY[(features->'shape'->>0)::integer,
												   (features->'shape'->>1)::integer, 1]))))::text::spectrogram,
	frames = (architecture->>'frames')::integer,
	target_mean = coalesce((architecture->>'target_mean')::double precision, 0),
	target_std = coalesce((architecture->>'target_std')::double precision, 1);
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
ALTER FUNCTION ttsp_predict(text, spectrogram, integer) COST 50000;
ALTER FUNCTION ttsp_predict(bigint, integer) COST 100000;

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
	gain_db double precision DEFAULT 0,
	architecture text DEFAULT 'cnn')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_table' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text) IS
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
	gain_db double precision DEFAULT 0,
	architecture text DEFAULT 'cnn')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text) IS
	'Train the CNN on the rows of a query (use query => ...), keeping the epoch with the lowest validation loss (init_model: continuing from a stored model); stores a new model version, returns test metrics';


-- issue 16: pictures drawn with cairo (axes, ticks, colour bars, legends), saliency maps and ROC curves.
-- ttsp_spectrogram_png and ttsp_plot_losses gain trailing optional arguments (their C symbols,
-- which 0.1.0's script names, stay), so they are dropped and created again; ttsp_loss_curve_png
-- keeps its signature (and its grants) and is replaced.
DROP FUNCTION ttsp_plot_losses(double precision[], double precision[], integer, integer);
DROP FUNCTION ttsp_spectrogram_png(spectrogram, double precision);

CREATE FUNCTION ttsp_spectrogram_png(spec spectrogram, top_db double precision DEFAULT 80,
	title text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_spectrogram_png' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION ttsp_spectrogram_png(spectrogram, double precision, text) IS
	'PNG picture: dB scale clipped top_db below the peak, viridis, a time axis in seconds, a frequency axis in Hz (mel bin or MFCC coefficient where it applies), a colour bar, an optional title, one labelled band per channel';

CREATE FUNCTION ttsp_plot_losses(train_loss double precision[], test_loss double precision[] DEFAULT NULL,
	width integer DEFAULT 640, height integer DEFAULT 400,
	validation_loss double precision[] DEFAULT NULL, best_epoch integer DEFAULT NULL,
	title text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_plot_losses' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION ttsp_plot_losses(double precision[], double precision[], integer, integer,
	double precision[], integer, text) IS
	'PNG line chart of per-epoch train, validation and test losses (those given), with ticks, a grid, a legend and the best epoch marked';

CREATE OR REPLACE FUNCTION ttsp_loss_curve_png(model_name text, version integer DEFAULT NULL)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT @extschema@.ttsp_plot_losses(m.train_loss, m.test_loss,
		validation_loss => m.validation_loss, best_epoch => m.best_epoch,
		title => 'model ' OPERATOR(pg_catalog.||) m.name OPERATOR(pg_catalog.||) ', version '
			OPERATOR(pg_catalog.||) m.version::pg_catalog.text)
	FROM @extschema@.ttsp_model m
	WHERE m.name = model_name AND (ttsp_loss_curve_png.version IS NULL OR m.version = ttsp_loss_curve_png.version)
	ORDER BY m.version DESC LIMIT 1
$$;
COMMENT ON FUNCTION ttsp_loss_curve_png(text, integer) IS 'PNG of a model''s per-epoch train, validation and test losses, with the kept epoch marked';

CREATE FUNCTION ttsp_plot_roc(scores double precision[], labels boolean[], title text DEFAULT NULL,
	width integer DEFAULT 520, height integer DEFAULT 480)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_plot_roc' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_plot_roc(double precision[], boolean[], text, integer, integer) IS
	'PNG of the ROC curve of probabilities against labels, with its ROC-AUC in the legend and the chance diagonal';

CREATE FUNCTION ttsp_roc_png(model_name text, source regclass, features text, label text,
	version integer DEFAULT NULL)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	task text;
	label_type regtype;
	scores double precision[];
	labels double precision[];
BEGIN
	IF model_name IS NULL OR source IS NULL OR features IS NULL OR label IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT m.task INTO task FROM @extschema@.ttsp_model m
	WHERE m.name OPERATOR(pg_catalog.=) model_name
		AND (ttsp_roc_png.version IS NULL OR m.version OPERATOR(pg_catalog.=) ttsp_roc_png.version)
	ORDER BY m.version DESC LIMIT 1;
	IF FOUND AND task OPERATOR(pg_catalog.<>) 'classification' THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = pg_catalog.format('model "%s" is a %s model; a ROC curve needs a classifier', model_name, task);
	END IF;
	SELECT a.atttypid INTO label_type FROM pg_catalog.pg_attribute a
	WHERE a.attrelid OPERATOR(pg_catalog.=) source AND a.attname OPERATOR(pg_catalog.=) label
		AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
	-- rows with NULL features or label are skipped, as ttsp_evaluate does; a missing
	-- model or a spectrogram that does not fit it is ttsp_predict's error
	EXECUTE pg_catalog.format(
		'SELECT pg_catalog.array_agg(@extschema@.ttsp_predict($1, %1$I, $2)), pg_catalog.array_agg(%2$s) '
		'FROM %3$s WHERE %1$I IS NOT NULL AND %4$I IS NOT NULL',
		features,
		CASE WHEN label_type OPERATOR(pg_catalog.=) 'boolean'::pg_catalog.regtype
			THEN pg_catalog.format('%I::pg_catalog.int4::pg_catalog.float8', label)
			ELSE pg_catalog.format('%I::pg_catalog.float8', label) END,
		source, label)
		INTO scores, labels USING model_name, version;
	IF EXISTS (SELECT FROM pg_catalog.unnest(labels) l WHERE l OPERATOR(pg_catalog.<>) 0 AND l OPERATOR(pg_catalog.<>) 1) THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'classification labels must be 0/1 or boolean';
	END IF;
	RETURN @extschema@.ttsp_plot_roc(scores,
		(SELECT pg_catalog.array_agg(l OPERATOR(pg_catalog.=) 1 ORDER BY i) FROM pg_catalog.unnest(labels) WITH ORDINALITY u(l, i)),
		pg_catalog.format('%s on %s', model_name, source));
END
$$;
COMMENT ON FUNCTION ttsp_roc_png(text, regclass, text, text, integer) IS
	'PNG of a classifier''s ROC curve on every row of a table, with its ROC-AUC and the chance diagonal';

CREATE FUNCTION ttsp_saliency(model_name text, spec spectrogram, version integer DEFAULT NULL)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_saliency' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_saliency(text, spectrogram, integer) IS
	'|d(mean of the model''s window outputs)/d(input)| for every cell of the spectrogram, with respect to the model''s standardised log input, in the spectrogram''s layout';

CREATE FUNCTION ttsp_saliency_png(model_name text, spec spectrogram, version integer DEFAULT NULL,
	top_db double precision DEFAULT 80, title text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_saliency_png' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_saliency_png(text, spectrogram, integer, double precision, text) IS
	'PNG of the spectrogram in grey with the model''s saliency over it in red to yellow';

-- Since architecture => 'linear', not every model is a CNN.
COMMENT ON TABLE ttsp_model IS 'Models trained by ttsp_train (CNN or linear): architecture, feature parameters, standardisation, weights and metrics';
