-- ttsp 0.2.0 -> 0.3.0.  Every change to the SQL API since 0.2.0, so that
-- ALTER EXTENSION ttsp UPDATE gives what CREATE EXTENSION ttsp gives
-- (test/upgrade checks both catalogues and the models' predictions).
\echo Use "ALTER EXTENSION ttsp UPDATE TO '0.3.0'" to load this file. \quit

-- Whole clips: a CNN slides its window over the clip and pools the windows'
-- logits (NULL: the first window only, as every model stored before 0.3.0
-- reads them).  best_epoch 0: the starting weights were kept.
ALTER TABLE ttsp_model ADD COLUMN pool text CHECK (pool IN ('mean', 'max', 'first'));
COMMENT ON COLUMN ttsp_model.pool IS 'How a CNN pools the outputs of the windows it slides over a clip: mean or max of the logits, or first: the first window only (NULL: first, for models stored before 0.3.0; and for linear models, which pool their features)';
ALTER TABLE ttsp_model DROP CONSTRAINT ttsp_model_best_epoch_check,
	ADD CONSTRAINT ttsp_model_best_epoch_check CHECK (best_epoch >= 0);
COMMENT ON COLUMN ttsp_model.best_epoch IS 'The epoch whose weights these are: the lowest validation loss, 0 for the starting weights (NULL for a linear model, and before 0.2.0: the last)';

-- issue 12: covariates.  A covariates-only model has no spectrogram columns.
ALTER TABLE ttsp_model
	ALTER COLUMN features DROP NOT NULL,
	ALTER COLUMN norm_mean DROP NOT NULL,
	ALTER COLUMN norm_std DROP NOT NULL,
	ALTER COLUMN feature_template DROP NOT NULL,
	ALTER COLUMN frames DROP NOT NULL,
	ADD COLUMN covariates text[],
	ADD COLUMN covariate_mean double precision[],
	ADD COLUMN covariate_scale double precision[],
	ADD COLUMN covariate_missing boolean[],
	ADD COLUMN source text,
	ADD CONSTRAINT ttsp_model_inputs_check CHECK (covariates IS NOT NULL OR (features IS NOT NULL
		AND norm_mean IS NOT NULL AND norm_std IS NOT NULL AND feature_template IS NOT NULL AND frames IS NOT NULL));
COMMENT ON COLUMN ttsp_model.covariates IS 'Numeric or boolean columns the model reads by name (NULL: none); a covariates-only model has no spectrogram columns';
COMMENT ON COLUMN ttsp_model.covariate_mean IS 'Per covariate, the training split''s mean: a NULL becomes it, and inputs are (value - mean) / scale';
COMMENT ON COLUMN ttsp_model.covariate_scale IS 'Per covariate, the training split''s standard deviation (ddof 0; 1 for a constant)';
COMMENT ON COLUMN ttsp_model.covariate_missing IS 'Per covariate, whether a missing-indicator input (1 for NULL) follows it: it was NULL in some training row';
COMMENT ON COLUMN ttsp_model.source IS 'The training table, quoted, where ttsp_predict(music_id) looks a covariate model''s row up (NULL: trained on a query)';

-- ttsp_train gains pool, strategy, rounds_per_epoch and covariates; architecture 'cnn' is
-- now the CNN with a linear term ('deep': the CNN alone); augmentation is on
-- by default (NULL: sized from the input).
DROP FUNCTION ttsp_train(text, regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text);
DROP FUNCTION ttsp_train(text, text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text);
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

-- They read the source table, which may be a temporary one: not in parallel workers.
ALTER FUNCTION ttsp_evaluate(text, regclass, text, text, integer) PARALLEL RESTRICTED;
ALTER FUNCTION ttsp_roc_png(text, regclass, text, text, integer) PARALLEL RESTRICTED;
