-- ttsp 0.1.0 -> 0.2.0.  Every change to the SQL API since 0.1.0, so that
-- ALTER EXTENSION ttsp UPDATE gives what CREATE EXTENSION ttsp gives
-- (test/upgrade checks both catalogues and the models' predictions).
\echo Use "ALTER EXTENSION ttsp UPDATE TO '0.2.0'" to load this file. \quit

-- It reads files under ttsp.audio_dir, which can change between calls.
ALTER FUNCTION ttsp_predict(bigint, integer) VOLATILE;

-- issue 16: pictures drawn with cairo (axes, ticks, colour bars, legends), saliency maps and ROC curves.
-- ttsp_spectrogram_png and ttsp_plot_losses gain trailing optional arguments (their C symbols,
-- which 0.1.0's script names, stay), so they and ttsp_loss_curve_png, which calls
-- ttsp_plot_losses, are dropped and created again.
DROP FUNCTION ttsp_loss_curve_png(text, integer);
DROP FUNCTION ttsp_plot_losses(double precision[], double precision[], integer, integer);
DROP FUNCTION ttsp_spectrogram_png(spectrogram, double precision);

CREATE FUNCTION ttsp_spectrogram_png(spec spectrogram, top_db double precision DEFAULT 80,
	title text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_spectrogram_png' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_spectrogram_png(spectrogram, double precision, text) IS
	'PNG picture: dB scale clipped top_db below the peak, viridis, a time axis in seconds, a frequency axis in Hz (mel bin or MFCC coefficient where it applies), a colour bar, an optional title, one labelled band per channel';

CREATE FUNCTION ttsp_plot_losses(train_loss double precision[], test_loss double precision[] DEFAULT NULL,
	width integer DEFAULT 640, height integer DEFAULT 400,
	validation_loss double precision[] DEFAULT NULL, best_epoch integer DEFAULT NULL,
	title text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_plot_losses' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_plot_losses(double precision[], double precision[], integer, integer,
	double precision[], integer, text) IS
	'PNG line chart of per-epoch train, validation and test losses (those given), with ticks, a grid, a legend and the best epoch marked';

CREATE FUNCTION ttsp_loss_curve_png(model_name text, version integer DEFAULT NULL)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT @extschema@.ttsp_plot_losses(m.train_loss, m.test_loss,
		title => 'model ' OPERATOR(pg_catalog.||) m.name OPERATOR(pg_catalog.||) ', version '
			OPERATOR(pg_catalog.||) m.version::pg_catalog.text)
	FROM @extschema@.ttsp_model m
	WHERE m.name = model_name AND (ttsp_loss_curve_png.version IS NULL OR m.version = ttsp_loss_curve_png.version)
	ORDER BY m.version DESC LIMIT 1
$$;
COMMENT ON FUNCTION ttsp_loss_curve_png(text, integer) IS 'PNG of a model''s per-epoch train and test losses';

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
