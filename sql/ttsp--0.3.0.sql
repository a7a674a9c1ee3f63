-- ttsp: TikTok Sound Popularity, the seed pipeline inside PostgreSQL.
\echo Use "CREATE EXTENSION ttsp" to load this file. \quit

-- Decoded audio: the seed's (waveform, sample_rate) = mp3_to_tensor(...).
CREATE TYPE ttsp_audio AS (
	waveform real[],
	sample_rate integer
);
COMMENT ON TYPE ttsp_audio IS 'Decoded audio: waveform real[channels][samples] in [-1, 1] and its sample rate';

CREATE FUNCTION ttsp_load_mp3(
	audio bytea,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL)
RETURNS ttsp_audio
AS 'MODULE_PATHNAME', 'ttsp_load_mp3'
LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_load_mp3(bytea, integer, boolean, double precision, double precision) IS
	'Decode MP3 (or any FFmpeg audio format) from bytea; NULL sample_rate keeps the file''s rate';

CREATE FUNCTION ttsp_load_mp3(
	music_id bigint,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL)
RETURNS ttsp_audio
AS 'MODULE_PATHNAME', 'ttsp_load_mp3_id'
LANGUAGE C VOLATILE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_load_mp3(bigint, integer, boolean, double precision, double precision) IS
	'Decode <ttsp.audio_dir>/<music_id>.mp3; needs pg_read_server_files';
-- Reading server files is for pg_read_server_files, as with pg_read_binary_file.
REVOKE ALL ON FUNCTION ttsp_load_mp3(bigint, integer, boolean, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ttsp_load_mp3(bigint, integer, boolean, double precision, double precision) TO pg_read_server_files;

-- The spectrogram type: [channel][bin][frame] float4 values and the
-- torchaudio parameters that made them.  Text form: a JSON object.
CREATE TYPE spectrogram;

CREATE FUNCTION spectrogram_in(cstring) RETURNS spectrogram
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION spectrogram_out(spectrogram) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION spectrogram_recv(internal) RETURNS spectrogram
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION spectrogram_send(spectrogram) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- EXTERNAL: float data barely compresses, so skip the attempt (README).
CREATE TYPE spectrogram (
	INPUT = spectrogram_in,
	OUTPUT = spectrogram_out,
	RECEIVE = spectrogram_recv,
	SEND = spectrogram_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external
);
COMMENT ON TYPE spectrogram IS 'Spectrogram: channels x bins x frames of float4 with its STFT/mel/MFCC parameters';

CREATE FUNCTION ttsp_channels(spec spectrogram) RETURNS integer
	AS 'MODULE_PATHNAME', 'ttsp_spec_channels' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_channels(spectrogram) IS 'Number of audio channels of a spectrogram';
CREATE FUNCTION ttsp_bins(spec spectrogram) RETURNS integer
	AS 'MODULE_PATHNAME', 'ttsp_spec_bins' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_bins(spectrogram) IS 'Frequency bins (or mels, or MFCC coefficients) per frame';
CREATE FUNCTION ttsp_frames(spec spectrogram) RETURNS integer
	AS 'MODULE_PATHNAME', 'ttsp_spec_frames' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_frames(spectrogram) IS 'Number of time frames';
CREATE FUNCTION ttsp_sample_rate(spec spectrogram) RETURNS integer
	AS 'MODULE_PATHNAME', 'ttsp_spec_sample_rate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_sample_rate(spectrogram) IS 'Sample rate of the audio the spectrogram was made from';
CREATE FUNCTION ttsp_duration(spec spectrogram) RETURNS double precision
	AS 'MODULE_PATHNAME', 'ttsp_spec_duration' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_duration(spectrogram) IS 'Seconds of audio covered: frames x hop_length / sample_rate';
CREATE FUNCTION ttsp_kind(spec spectrogram) RETURNS text
	AS 'MODULE_PATHNAME', 'ttsp_spec_kind' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_kind(spectrogram) IS 'power, magnitude, mel or mfcc, with _db when in decibels';
CREATE FUNCTION ttsp_params(spec spectrogram) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'ttsp_spec_params' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_params(spectrogram) IS 'All parameters and the shape of a spectrogram, without its values';

CREATE FUNCTION ttsp_to_array(spec spectrogram) RETURNS real[]
	AS 'MODULE_PATHNAME', 'ttsp_spec_to_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION ttsp_to_array(spectrogram) IS 'The values as real[channel][bin][frame]';
CREATE CAST (spectrogram AS real[]) WITH FUNCTION ttsp_to_array(spectrogram);

CREATE FUNCTION ttsp_make_spectrogram(
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
COMMENT ON FUNCTION ttsp_make_spectrogram(real[], text, integer, integer, integer, integer, boolean, boolean) IS
	'A spectrogram from real[bin][frame] or real[channel][bin][frame] values and their parameters';

CREATE FUNCTION ttsp_slice(spec spectrogram, start_s double precision, duration_s double precision)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_slice' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION ttsp_slice(spectrogram, double precision, double precision) IS
	'Frames from start_s for duration_s seconds; past the end, silence padding';

-- torchaudio.transforms.Spectrogram, same argument names and defaults.
CREATE FUNCTION ttsp_spectrogram(
	waveform real[],
	sample_rate integer,
	n_fft integer DEFAULT 400,
	win_length integer DEFAULT NULL,
	hop_length integer DEFAULT NULL,
	power double precision DEFAULT 2.0,
	center boolean DEFAULT true,
	pad_mode text DEFAULT 'reflect',
	normalized boolean DEFAULT false)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_spectrogram_array' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_spectrogram(real[], integer, integer, integer, integer, double precision, boolean, text, boolean) IS
	'torchaudio.transforms.Spectrogram of a real[] or real[channel][sample] waveform';

CREATE FUNCTION ttsp_spectrogram(
	audio bytea,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL,
	n_fft integer DEFAULT 400,
	win_length integer DEFAULT NULL,
	hop_length integer DEFAULT NULL,
	power double precision DEFAULT 2.0,
	center boolean DEFAULT true,
	pad_mode text DEFAULT 'reflect',
	normalized boolean DEFAULT false)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_spectrogram_audio' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_spectrogram(bytea, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean) IS
	'Spectrogram of encoded audio, decoded and transformed packet by packet';

-- The seed's create_spectrogram(music_id, n_fft=100).
CREATE FUNCTION ttsp_spectrogram(
	music_id bigint,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL,
	n_fft integer DEFAULT 100,
	win_length integer DEFAULT NULL,
	hop_length integer DEFAULT NULL,
	power double precision DEFAULT 2.0,
	center boolean DEFAULT true,
	pad_mode text DEFAULT 'reflect',
	normalized boolean DEFAULT false)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_spectrogram_id' LANGUAGE C VOLATILE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_spectrogram(bigint, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean) IS
	'Spectrogram of <ttsp.audio_dir>/<music_id>.mp3 (n_fft 100 like the seed); needs pg_read_server_files';
REVOKE ALL ON FUNCTION ttsp_spectrogram(bigint, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ttsp_spectrogram(bigint, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean) TO pg_read_server_files;

-- torchaudio.transforms.MelSpectrogram.
CREATE FUNCTION ttsp_mel_spectrogram(
	waveform real[],
	sample_rate integer,
	n_fft integer DEFAULT 400,
	win_length integer DEFAULT NULL,
	hop_length integer DEFAULT NULL,
	power double precision DEFAULT 2.0,
	center boolean DEFAULT true,
	pad_mode text DEFAULT 'reflect',
	normalized boolean DEFAULT false,
	f_min double precision DEFAULT 0,
	f_max double precision DEFAULT NULL,
	n_mels integer DEFAULT 128,
	norm text DEFAULT NULL,
	mel_scale text DEFAULT 'htk')
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_mel_spectrogram_array' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_mel_spectrogram(real[], integer, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text) IS
	'torchaudio.transforms.MelSpectrogram of a waveform';

CREATE FUNCTION ttsp_mel_spectrogram(
	audio bytea,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL,
	n_fft integer DEFAULT 400,
	win_length integer DEFAULT NULL,
	hop_length integer DEFAULT NULL,
	power double precision DEFAULT 2.0,
	center boolean DEFAULT true,
	pad_mode text DEFAULT 'reflect',
	normalized boolean DEFAULT false,
	f_min double precision DEFAULT 0,
	f_max double precision DEFAULT NULL,
	n_mels integer DEFAULT 128,
	norm text DEFAULT NULL,
	mel_scale text DEFAULT 'htk')
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_mel_spectrogram_audio' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_mel_spectrogram(bytea, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text) IS
	'MelSpectrogram of encoded audio, decoded and transformed packet by packet';

-- torchaudio.transforms.MFCC; mel_norm is melkwargs' norm, norm the DCT's.
CREATE FUNCTION ttsp_mfcc(
	waveform real[],
	sample_rate integer,
	n_fft integer DEFAULT 400,
	win_length integer DEFAULT NULL,
	hop_length integer DEFAULT NULL,
	power double precision DEFAULT 2.0,
	center boolean DEFAULT true,
	pad_mode text DEFAULT 'reflect',
	normalized boolean DEFAULT false,
	f_min double precision DEFAULT 0,
	f_max double precision DEFAULT NULL,
	n_mels integer DEFAULT 128,
	mel_norm text DEFAULT NULL,
	mel_scale text DEFAULT 'htk',
	n_mfcc integer DEFAULT 40,
	dct_type integer DEFAULT 2,
	norm text DEFAULT 'ortho',
	log_mels boolean DEFAULT false)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_mfcc_array' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_mfcc(real[], integer, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text, integer, integer, text, boolean) IS
	'torchaudio.transforms.MFCC of a waveform';

CREATE FUNCTION ttsp_mfcc(
	audio bytea,
	sample_rate integer DEFAULT NULL,
	mono boolean DEFAULT false,
	offset_s double precision DEFAULT 0,
	duration_s double precision DEFAULT NULL,
	n_fft integer DEFAULT 400,
	win_length integer DEFAULT NULL,
	hop_length integer DEFAULT NULL,
	power double precision DEFAULT 2.0,
	center boolean DEFAULT true,
	pad_mode text DEFAULT 'reflect',
	normalized boolean DEFAULT false,
	f_min double precision DEFAULT 0,
	f_max double precision DEFAULT NULL,
	n_mels integer DEFAULT 128,
	mel_norm text DEFAULT NULL,
	mel_scale text DEFAULT 'htk',
	n_mfcc integer DEFAULT 40,
	dct_type integer DEFAULT 2,
	norm text DEFAULT 'ortho',
	log_mels boolean DEFAULT false)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_mfcc_audio' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_mfcc(bytea, integer, boolean, double precision, double precision, integer, integer, integer, double precision, boolean, text, boolean, double precision, double precision, integer, text, text, integer, integer, text, boolean) IS
	'MFCC of encoded audio, decoded and transformed packet by packet';

CREATE FUNCTION ttsp_amplitude_to_db(spec spectrogram, top_db double precision DEFAULT NULL)
RETURNS spectrogram
AS 'MODULE_PATHNAME', 'ttsp_spec_amplitude_to_db' LANGUAGE C IMMUTABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION ttsp_amplitude_to_db(spectrogram, double precision) IS
	'torchaudio.transforms.AmplitudeToDB: 10 log10 of power (20 log10 of magnitude), floored at max - top_db';


-- Trained models.  Each ttsp_train adds a version; pg_dump keeps them.
CREATE TABLE ttsp_model (
	name text NOT NULL,
	version integer NOT NULL CHECK (version > 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	task text NOT NULL CHECK (task IN ('classification', 'regression')),
	architecture jsonb NOT NULL,
	hyperparameters jsonb NOT NULL,
	features jsonb,
	norm_mean real[],
	norm_std real[],
	weights bytea NOT NULL,
	metrics jsonb NOT NULL,
	train_loss double precision[] NOT NULL,
	test_loss double precision[] NOT NULL,
	feature_template spectrogram,
	frames integer CHECK (frames > 0),
	target_mean double precision NOT NULL,
	target_std double precision NOT NULL,
	validation_loss double precision[],
	best_epoch integer CONSTRAINT ttsp_model_best_epoch_check CHECK (best_epoch >= 0),
	pool text CHECK (pool IN ('mean', 'max', 'first')),
	covariates text[],
	covariate_mean double precision[],
	covariate_scale double precision[],
	covariate_missing boolean[],
	source text,
	PRIMARY KEY (name, version),
	CONSTRAINT ttsp_model_inputs_check CHECK (covariates IS NOT NULL OR (features IS NOT NULL
		AND norm_mean IS NOT NULL AND norm_std IS NOT NULL AND feature_template IS NOT NULL AND frames IS NOT NULL))
);
COMMENT ON TABLE ttsp_model IS 'Models trained by ttsp_train (CNN or linear): architecture, feature parameters, standardisation, weights and metrics';
COMMENT ON COLUMN ttsp_model.features IS 'Parameters of the training features (ttsp_params of the first row), for reading';
COMMENT ON COLUMN ttsp_model.feature_template IS 'One frame with the training features'' header: what ttsp_predict compares spectrograms with';
COMMENT ON COLUMN ttsp_model.frames IS 'Frames per model input';
COMMENT ON COLUMN ttsp_model.target_mean IS 'Regression outputs are value x target_std + target_mean (0 and 1 for classification)';
COMMENT ON COLUMN ttsp_model.target_std IS 'See target_mean';
COMMENT ON COLUMN ttsp_model.validation_loss IS 'Per-epoch loss on the validation split (NULL for models trained before 0.2.0, which had none)';
COMMENT ON COLUMN ttsp_model.best_epoch IS 'The epoch whose weights these are: the lowest validation loss, 0 for the starting weights (NULL for a linear model, and before 0.2.0: the last)';
COMMENT ON COLUMN ttsp_model.pool IS 'How a CNN pools the outputs of the windows it slides over a clip: mean or max of the logits, or first: the first window only (NULL: first, for models stored before 0.3.0; and for linear models, which pool their features)';
COMMENT ON COLUMN ttsp_model.covariates IS 'Numeric or boolean columns the model reads by name (NULL: none); a covariates-only model has no spectrogram columns';
COMMENT ON COLUMN ttsp_model.covariate_mean IS 'Per covariate, the training split''s mean: a NULL becomes it, and inputs are (value - mean) / scale';
COMMENT ON COLUMN ttsp_model.covariate_scale IS 'Per covariate, the training split''s standard deviation (ddof 0; 1 for a constant)';
COMMENT ON COLUMN ttsp_model.covariate_missing IS 'Per covariate, whether a missing-indicator input (1 for NULL) follows it: it was NULL in some training row';
COMMENT ON COLUMN ttsp_model.source IS 'The training table, quoted, where ttsp_predict(music_id) looks a covariate model''s row up (NULL: trained on a query)';
SELECT pg_catalog.pg_extension_config_dump('ttsp_model', '');
-- Everyone may predict (read models); training (INSERT) is granted explicitly.
REVOKE ALL ON ttsp_model FROM PUBLIC;
GRANT SELECT ON ttsp_model TO PUBLIC;

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
	time_mask_param integer DEFAULT NULL,
	freq_mask_param integer DEFAULT NULL,
	gain_db double precision DEFAULT NULL,
	architecture text DEFAULT 'cnn',
	pool text DEFAULT 'mean',
	strategy text DEFAULT 'local',
	rounds_per_epoch integer DEFAULT 1,
	covariates text[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_table' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text, text, integer, text[]) IS
	'Train a model (by default the CNN beside a linear term, started from the linear baseline, on random windows of whole clips) on a table''s spectrogram column and label column, keeping the epoch with the lowest validation loss (init_model: continuing from a stored model; strategy ''averaged'': rounds_per_epoch rounds of ttsp_train_round per epoch), or with features NULL a linear model or MLP on numeric or boolean covariates; stores a new model version, returns test metrics';

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
	time_mask_param integer DEFAULT NULL,
	freq_mask_param integer DEFAULT NULL,
	gain_db double precision DEFAULT NULL,
	architecture text DEFAULT 'cnn',
	pool text DEFAULT 'mean',
	strategy text DEFAULT 'local',
	rounds_per_epoch integer DEFAULT 1,
	covariates text[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text, text, integer, text[]) IS
	'Train a model (by default the CNN beside a linear term, started from the linear baseline, on random windows of whole clips) on the rows of a query (use query => ...), keeping the epoch with the lowest validation loss (init_model: continuing from a stored model; strategy ''averaged'': rounds_per_epoch rounds of ttsp_train_round per epoch), or with features NULL a linear model or MLP on numeric or boolean covariates; stores a new model version, returns test metrics';

-- Data-parallel training by model averaging (FedAvg): ttsp_train(strategy => 'averaged') runs
-- one of these per round.  The bytea state lets parallel query and Citus push it down.
CREATE FUNCTION ttsp_train_round_step(state bytea, features spectrogram, label double precision,
	model bytea, hyperparameters jsonb)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_train_round_step' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_train_round_step(bytea, spectrogram, double precision, bytea, jsonb) IS
	'Transition function of ttsp_train_round: trains the round''s copy of the model on this row if it is one of the round''s training rows';

CREATE FUNCTION ttsp_train_round_combine(a bytea, b bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'ttsp_train_round_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ttsp_train_round_combine(bytea, bytea) IS
	'Combine function of ttsp_train_round: the two partial trainings'' weights, BatchNorm statistics and optimiser moments averaged, weighted by their rows';

CREATE AGGREGATE ttsp_train_round(features spectrogram, label double precision, model bytea, hyperparameters jsonb) (
	SFUNC = ttsp_train_round_step,
	STYPE = bytea,
	COMBINEFUNC = ttsp_train_round_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ttsp_train_round(spectrogram, double precision, bytea, jsonb) IS
	'One round of model averaging: each partial aggregate trains the model (an averaging state) on its training rows, and the results are averaged by rows; ttsp_train(strategy => ''averaged'') writes the hyperparameters';

CREATE FUNCTION ttsp_predict(model_name text, spec spectrogram, version integer DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ttsp_predict' LANGUAGE C STABLE PARALLEL SAFE COST 50000;
COMMENT ON FUNCTION ttsp_predict(text, spectrogram, integer) IS
	'Probability of "popular" (classification) or predicted value (regression) from a model''s latest or given version';

CREATE FUNCTION ttsp_predict(music_id bigint, version integer DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ttsp_predict_id' LANGUAGE C VOLATILE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION ttsp_predict(bigint, integer) IS
	'Prediction for <ttsp.audio_dir>/<music_id>.mp3 with ttsp.default_model (else the newest model); needs pg_read_server_files';
REVOKE ALL ON FUNCTION ttsp_predict(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ttsp_predict(bigint, integer) TO pg_read_server_files;

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

CREATE FUNCTION ttsp_evaluate(model_name text, source regclass, features text, label text, version integer DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_evaluate' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ttsp_evaluate(text, regclass, text, text, integer) IS
	'Metrics of a model on every row of a table (with the majority or mean baseline)';


-- issue 16: pictures drawn with cairo (axes, ticks, colour bars, legends), saliency maps and ROC curves.

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

CREATE FUNCTION ttsp_loss_curve_png(model_name text, version integer DEFAULT NULL)
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
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
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


-- issue 12: covariates (numeric or boolean columns read by name), row-wise
-- prediction and cross-validation of covariates-only models.

-- The row form: the model's covariate columns, by name, from any row value.
CREATE FUNCTION ttsp_predict(model_name text, input record, version integer DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ttsp_predict_row' LANGUAGE C STABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION ttsp_predict(text, record, integer) IS
	'Probability or value of a covariate model for a row that has its covariate columns (SELECT ttsp_predict(''m'', s) FROM sounds s)';

CREATE FUNCTION ttsp_predict(model record, input record)
RETURNS double precision
AS 'MODULE_PATHNAME', 'ttsp_predict_model_row' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION ttsp_predict(record, record) IS
	'Probability or value of a covariate model passed as a ttsp_model row, for a row that has its covariate columns; no SPI';

CREATE FUNCTION ttsp_cross_validate(
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
	time_mask_param integer DEFAULT NULL,
	freq_mask_param integer DEFAULT NULL,
	gain_db double precision DEFAULT NULL,
	architecture text DEFAULT 'cnn',
	pool text DEFAULT 'mean',
	strategy text DEFAULT 'local',
	rounds_per_epoch integer DEFAULT 1,
	covariates text[] DEFAULT NULL,
	folds integer DEFAULT 5)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_cross_validate_table' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_cross_validate(regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text, text, integer, text[], integer) IS
	'Stratified k-fold cross-validation (folds by content hash) of the model ttsp_train would fit (on a spectrogram, covariates or both), with the linear and majority baselines per fold, their means and standard deviations; stores nothing';

CREATE FUNCTION ttsp_cross_validate(
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
	time_mask_param integer DEFAULT NULL,
	freq_mask_param integer DEFAULT NULL,
	gain_db double precision DEFAULT NULL,
	architecture text DEFAULT 'cnn',
	pool text DEFAULT 'mean',
	strategy text DEFAULT 'local',
	rounds_per_epoch integer DEFAULT 1,
	covariates text[] DEFAULT NULL,
	folds integer DEFAULT 5)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_cross_validate_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_cross_validate(text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text, text, integer, text[], integer) IS
	'ttsp_cross_validate on the rows of a query (a plain table name is read as a table); stores nothing';
