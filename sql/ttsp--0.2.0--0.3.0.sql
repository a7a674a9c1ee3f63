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

-- ttsp_train gains pool; architecture 'cnn' is now the CNN with a linear
-- term ('deep': the CNN alone); augmentation is on by default (NULL: sized
-- from the input).
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
	pool text DEFAULT 'mean')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_table' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, regclass, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text) IS
	'Train a model (by default the CNN beside a linear term, started from the linear baseline, on random windows of whole clips) on a table''s spectrogram column and label column, keeping the epoch with the lowest validation loss (init_model: continuing from a stored model); stores a new model version, returns test metrics';

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
	pool text DEFAULT 'mean')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ttsp_train_query' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ttsp_train(text, text, text, text, text, integer, integer, double precision, text, text, integer[], double precision, integer, integer, double precision, integer, text, integer, double precision, integer, integer, double precision, text, text) IS
	'Train a model (by default the CNN beside a linear term, started from the linear baseline, on random windows of whole clips) on the rows of a query (use query => ...), keeping the epoch with the lowest validation loss (init_model: continuing from a stored model); stores a new model version, returns test metrics';
