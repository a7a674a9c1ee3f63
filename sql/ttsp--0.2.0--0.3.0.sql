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

-- ttsp_train gains pool, strategy and rounds_per_epoch; architecture 'cnn' is
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
	rounds_per_epoch integer DEFAULT 1)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_table' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text, text, integer) IS
	'Train a model (by default the CNN beside a linear term, started from the linear baseline, on random windows of whole clips) on a table''s spectrogram column and label column, keeping the epoch with the lowest validation loss (init_model: continuing from a stored model; strategy ''averaged'': rounds_per_epoch rounds of ttsp_train_round per epoch); stores a new model version, returns test metrics';

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
	rounds_per_epoch integer DEFAULT 1)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text, text, integer) IS
	'Train a model (by default the CNN beside a linear term, started from the linear baseline, on random windows of whole clips) on the rows of a query (use query => ...), keeping the epoch with the lowest validation loss (init_model: continuing from a stored model; strategy ''averaged'': rounds_per_epoch rounds of ttsp_train_round per epoch); stores a new model version, returns test metrics';

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
