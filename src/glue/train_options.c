/*
 * ttsp_train's arguments, read by name (args.h) and checked: the model, the
 * task, the optimiser and loss, the network, the splits, early stopping,
 * augmentation and warm start.  Defaults are those of the SQL script.
 */
#include "train.h"

#include <math.h>

#include "mb/pg_wchar.h"
#include "utils/array.h"

#include "args.h"
#include "ttsp_glue.h"

#define bad_option(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg(__VA_ARGS__)))

/* A text argument that must not be NULL. */
char *
train_required_text(FunctionCallInfo fcinfo, const char *name)
{
	arg_require(fcinfo, name);
	return arg_text(fcinfo, name);
}

static void
parse_network(FunctionCallInfo fcinfo, TrainOptions *o)
{
	ArrayType  *channels;
	int			i;

	if (arg_isnull(fcinfo, "channels"))
		bad_option("channels must not be NULL");
	channels = DatumGetArrayTypeP(arg_datum(fcinfo, "channels"));
	o->n_blocks = ArrayGetNItems(ARR_NDIM(channels), ARR_DIMS(channels));
	if (ARR_NDIM(channels) != 1 || o->n_blocks < 1 || o->n_blocks > TTSP_CNN_MAX_BLOCKS ||
		(ARR_HASNULL(channels) && array_contains_nulls(channels)))
		bad_option("channels must list 1 to %d block widths without NULLs", TTSP_CNN_MAX_BLOCKS);
	for (i = 0; i < o->n_blocks; i++)
	{
		o->channels[i] = ((int32 *) ARR_DATA_PTR(channels))[i];
		if (o->channels[i] < 1 || o->channels[i] > TTSP_CNN_MAX_CHANNELS)
			bad_option("each of channels must be between 1 and %d, got %d", TTSP_CNN_MAX_CHANNELS, o->channels[i]);
	}
}

static void
parse_optimiser(FunctionCallInfo fcinfo, TrainOptions *o)
{
	char	   *optimizer = train_required_text(fcinfo, "optimizer");
	char	   *loss = arg_text(fcinfo, "loss");

	if (strcmp(optimizer, "adam") == 0)
		o->optim = ttsp_optim_defaults(TTSP_OPTIM_ADAM);
	else if (strcmp(optimizer, "adamw") == 0)
		o->optim = ttsp_optim_defaults(TTSP_OPTIM_ADAMW);
	else if (strcmp(optimizer, "sgd") == 0)
		o->optim = ttsp_optim_defaults(TTSP_OPTIM_SGD);
	else
		bad_option("optimizer must be 'adam', 'adamw' or 'sgd', got '%s'", optimizer);
	/* NULL: the optimiser's own default (AdamW 0.01, else 0), as torch.optim's */
	o->optim.weight_decay = arg_float8(fcinfo, "weight_decay", o->optim.weight_decay);
	if (!(o->optim.weight_decay >= 0) || !isfinite(o->optim.weight_decay))
		bad_option("weight_decay must be a non-negative number, got %g", o->optim.weight_decay);
	o->optim.lr = arg_float8(fcinfo, "learning_rate", o->optim.lr);
	if (!(o->optim.lr > 0) || !isfinite(o->optim.lr))
		bad_option("learning_rate must be a positive number, got %g", o->optim.lr);
	if (loss == NULL)
		o->loss = o->task == TTSP_TASK_CLASSIFICATION ? TTSP_LOSS_BCE : TTSP_LOSS_MSE;
	else if (strcmp(loss, "mse") == 0)
		o->loss = TTSP_LOSS_MSE;
	else if (strcmp(loss, "bce") == 0 && o->task == TTSP_TASK_CLASSIFICATION)
		o->loss = TTSP_LOSS_BCE;
	else
		bad_option("loss must be 'mse' or, for classification, 'bce'; got '%s'", loss);
}

/*
 * An augmentation argument given as NULL (0.3.0's default) is on, at a
 * size chosen from the input; absent (an older signature, whose default
 * was 0) or a number, it is that number.
 */
static bool
augment_auto(FunctionCallInfo fcinfo, const char *name)
{
	return arg_position(fcinfo, name) >= 0 && arg_isnull(fcinfo, name);
}

/*
 * 'cnn' (the default): the CNN with a linear term on the whole clip's pooled
 * features, started from the linear baseline; 'deep': the CNN alone (the
 * seed's network); 'linear': the linear model alone.  An argument absent
 * from an older signature takes the default.
 */
static void
parse_architecture(FunctionCallInfo fcinfo, TrainOptions *o)
{
	char	   *architecture = arg_text(fcinfo, "architecture");
	char	   *pool = arg_text(fcinfo, "pool");

	if (architecture == NULL || strcmp(architecture, "cnn") == 0)
		o->wide = true;
	else if (strcmp(architecture, "linear") == 0)
		o->linear_only = true;
	else if (strcmp(architecture, "mlp") == 0)
		o->mlp = true;			/* covariates only (covariates.h) */
	else if (strcmp(architecture, "deep") != 0)
		bad_option("architecture must be 'cnn', 'deep', 'linear' or 'mlp', got '%s'", architecture);
	/* NULL (or absent) is 'mean'; POOL_FIRST is only for a table that predates pooling */
	o->pool = model_pool_parse(pool != NULL ? pool : "mean");
	if (!model_table_pools())
	{
		ereport(NOTICE,
				(errmsg("ttsp_model predates ttsp 0.3.0: this model reads the first %s of each clip",
						o->frames > 0 ? "frames" : "5 s"),
				 errhint("ALTER EXTENSION ttsp UPDATE stores models that judge the whole clip.")));
		o->pool = POOL_FIRST;
	}
}

/* strategy and rounds_per_epoch (absent before 0.3.0: 'local', 1) */
static void
parse_strategy(FunctionCallInfo fcinfo, TrainOptions *o)
{
	char	   *strategy = arg_text(fcinfo, "strategy");

	if (strategy != NULL && strcmp(strategy, "averaged") == 0)
		o->averaged = true;
	else if (strategy != NULL && strcmp(strategy, "local") != 0)
		bad_option("strategy must be 'local' or 'averaged', got '%s'", strategy);
	o->rounds_per_epoch = arg_int32(fcinfo, "rounds_per_epoch", 1);
	if (o->rounds_per_epoch < 1 || o->rounds_per_epoch > TRAIN_MAX_ROUNDS)
		bad_option("rounds_per_epoch must be between 1 and %d, got %d", TRAIN_MAX_ROUNDS, o->rounds_per_epoch);
	o->average_moments = o->averaged && ttsp_averaged_moments;
	if (o->averaged && (o->augment.time_mask_param > 0 || o->augment.freq_mask_param > 0 || o->augment.gain_db > 0))
		bad_option("strategy 'averaged' does not augment: time_mask_param, freq_mask_param and gain_db must be 0 or NULL");
	if (o->averaged && (o->auto_time_mask || o->auto_freq_mask || o->auto_gain))
	{
		/* the rounds train on clean windows: the default augmentation is off, and says so */
		o->auto_time_mask = o->auto_freq_mask = o->auto_gain = false;
		ereport(NOTICE, (errmsg("strategy 'averaged' does not augment: training without masks or gain")));
	}
	if (o->averaged && o->linear_only)
		bad_option("strategy 'averaged' trains a CNN; architecture 'linear' is fitted in one pass");
}

void
train_parse_options(FunctionCallInfo fcinfo, TrainOptions *o)
{
	char	   *task = train_required_text(fcinfo, "task");

	/* ttsp_cross_validate stores nothing: it has no model_name */
	o->model_name = arg_position(fcinfo, "model_name") < 0 ? "cross-validation"
		: train_required_text(fcinfo, "model_name");
	if (o->model_name[0] == '\0' || pg_mbstrlen(o->model_name) > 200)
		bad_option("model_name must have 1 to 200 characters");
	if (strcmp(task, "classification") == 0)
		o->task = TTSP_TASK_CLASSIFICATION;
	else if (strcmp(task, "regression") == 0)
		o->task = TTSP_TASK_REGRESSION;
	else
		bad_option("task must be 'classification' or 'regression', got '%s'", task);
	o->epochs = arg_int32(fcinfo, "epochs", 10);
	if (o->epochs < 1 || o->epochs > 100000)
		bad_option("epochs must be between 1 and 100000, got %d", o->epochs);
	o->batch_size = arg_int32(fcinfo, "batch_size", 32);
	if (o->batch_size < 1 || o->batch_size > 4096)
		bad_option("batch_size must be between 1 and 4096, got %d", o->batch_size);
	parse_optimiser(fcinfo, o);
	parse_network(fcinfo, o);
	o->test_size = arg_float8(fcinfo, "test_size", 0.25);
	if (!(o->test_size >= 0 && o->test_size < 1))
		bad_option("test_size must be in [0, 1), got %g", o->test_size);
	o->validation_size = arg_float8(fcinfo, "validation_size", 0.2);
	if (!(o->validation_size > 0 && o->validation_size <= 0.5))
		bad_option("validation_size must be in (0, 0.5], got %g", o->validation_size);
	/* an argument that 0.1.0's signature lacks takes its 0.2.0 default */
	o->patience = arg_position(fcinfo, "patience") < 0 ? 5 : arg_int32(fcinfo, "patience", 0);
	if (!arg_isnull(fcinfo, "patience") && o->patience < 1)
		bad_option("patience must be at least 1 (or NULL for no early stopping), got %d", o->patience);
	/* NULL: on, scaled to the input once the first row gives its shape (train.c) */
	o->auto_time_mask = augment_auto(fcinfo, "time_mask_param");
	o->auto_freq_mask = augment_auto(fcinfo, "freq_mask_param");
	o->auto_gain = augment_auto(fcinfo, "gain_db");
	o->augment.time_mask_param = arg_int32(fcinfo, "time_mask_param", 0);
	o->augment.freq_mask_param = arg_int32(fcinfo, "freq_mask_param", 0);
	o->augment.gain_db = arg_float8(fcinfo, "gain_db", 0);
	o->init_model = arg_text(fcinfo, "init_model");
	o->init_version = arg_int32(fcinfo, "init_version", 0);
	if (!arg_isnull(fcinfo, "init_version") && (o->init_model == NULL || o->init_version < 1))
		bad_option("init_version must be at least 1, and needs init_model");
	o->seed = arg_int32(fcinfo, "seed", TTSP_CNN_DEFAULT_SEED);
	o->frames = arg_int32(fcinfo, "frames", 0);
	if (!arg_isnull(fcinfo, "frames") && (o->frames < 1 || o->frames > TTSP_CNN_MAX_DIM))
		bad_option("frames must be between 1 and %d, got %d", TTSP_CNN_MAX_DIM, o->frames);
	parse_architecture(fcinfo, o);
	parse_strategy(fcinfo, o);
}
