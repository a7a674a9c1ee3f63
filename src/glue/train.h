/*
 * Training and evaluation glue, split by concern like pgvector's hnsw*.c:
 *   train_options.c ttsp_train's arguments, by name
 *   train_source.c  reading a source: SPI rows, the split, the row cache and
 *                   the one iterator over either the cache or the cursor
 *   train.c         ttsp_train: the network, epochs and early stopping, the
 *                   linear baseline, warm start, progress
 *   evaluate.c      ttsp_evaluate and the metrics JSON both report
 *   model_table.c   every SQL statement against ttsp_model
 *   train_round.c   ttsp_train_round, the model-averaging aggregate
 *   train_averaged.c strategy 'averaged': epochs as rounds of that aggregate
 */
#ifndef TTSP_TRAIN_H
#define TTSP_TRAIN_H

#include "model.h"

#include "lib/stringinfo.h"

/* ---- train_options.c: ttsp_train's arguments, read by name ---- */

#include "augment.h"

/* What ttsp_train was asked for; the defaults are those of the SQL script. */
typedef struct TrainOptions
{
	char	   *model_name;
	char	   *query;			/* SELECT features, label */
	int			task;
	int			epochs;
	int			batch_size;
	ttsp_optim_config optim;
	ttsp_loss_kind loss;
	int			n_blocks;
	int			channels[TTSP_CNN_MAX_BLOCKS];
	double		test_size;
	double		validation_size;	/* of the rows the test split leaves */
	int			patience;		/* 0: no early stopping */
	char	   *init_model;		/* warm start: continue from this model (NULL: none) */
	int32		init_version;	/* its version, 0 for the latest */
	int			seed;
	int			frames;			/* 0: about 5 s */
	ttsp_augment_config augment;	/* on training batches; all 0: none */
	bool		auto_time_mask; /* NULL arguments: sized from the input (train.c) */
	bool		auto_freq_mask;
	bool		auto_gain;
	bool		linear_only;	/* architecture 'linear': the linear model alone */
	bool		averaged;		/* strategy 'averaged': rounds of ttsp_train_round */
	int			rounds_per_epoch;
	bool		average_moments;	/* ttsp.averaged_moments when training started */
	bool		mlp;			/* architecture 'mlp': covariates only (covariates.h) */
	bool		wide;			/* architecture 'cnn': with a linear term on the whole clip */
	struct Covariates *cov;		/* covariates beside the spectrogram (NULL: none) */
	char	   *source_name;	/* a relation source's name, for ttsp_predict(music_id) (NULL: a query) */
	ModelPool	pool;			/* how prediction pools a clip's windows */
} TrainOptions;

/* Every argument but the source; ERROR naming the first bad one. */
extern void train_parse_options(FunctionCallInfo fcinfo, TrainOptions *o);

/* A text argument that must not be NULL. */
extern char *train_required_text(FunctionCallInfo fcinfo, const char *name);

/* ---- train_source.c ---- */

struct Covariates;

/* A row's covariates as read: n raw values and NULL flags. */
typedef struct RowCovariates
{
	double	   *raw;
	bool	   *isnull;
} RowCovariates;

/*
 * One row of a source: its spectrogram and label (NULL spec: a NULL in
 * either), and its covariates (NULL without any).
 */
typedef void (*spec_row_fn) (void *arg, Spectrogram *spec, double label, uint64 hash,
							 const RowCovariates *cov);

/*
 * Run query (SELECT features, label) through an SPI cursor and call fn for
 * every row; hash is the row's content hash under seed, or 0 when not
 * hashed (hashing a 201 x 552 row costs a tenth of scoring it).  Rows are
 * detoasted in a context reset after each one.  SPI must be connected.
 */
extern void source_scan(const char *query, int seed, bool hashed, int n_cov, spec_row_fn fn, void *arg);

/* SELECT features, label FROM the relation, every name quoted. */
extern char *source_relation_query(Oid relid, const char *features, const char *label,
								   const struct Covariates *cov);

/*
 * The query of a text source: a plain (possibly schema-qualified, quoted)
 * name is read as a table, anything else as a query.
 */
extern char *source_text_query(const char *source, const char *features, const char *label,
							   const struct Covariates *cov);

/* Class of a label: 1 for a positive classification label, else 0. */
extern int	label_class(int task, double label);

/* Which rows a pass visits. */
typedef enum SplitPart
{
	PART_TRAIN,
	PART_VALIDATION,
	PART_TEST
} SplitPart;

/*
 * Stratified split by content hash: per class, the round(test_size * n)
 * rows with the smallest hashes are the test split, and of the rest the
 * round(validation_size * n_rest) with the next smallest the validation
 * split.  Kept as the largest hash of each per class, so later passes need
 * no row order.
 */
typedef struct Split
{
	int			task;
	bool		has_test[2];
	uint64		test_min_hash[2];	/* 0 but for a cross-validation fold */
	uint64		test_max_hash[2];
	bool		has_val[2];
	uint64		val_max_hash[2];
	int			n_train;
	int			n_val;
	int			n_test;
} Split;

extern SplitPart row_part(const Split *split, double label, uint64 hash);

/*
 * Where this epoch's training window of a clip of frames starts: drawn
 * from the row's content hash, the seed and the epoch alone (0 if the clip
 * is no longer than the window), so the local and averaged strategies draw
 * the same windows whatever the row order.
 */
extern int	train_window_start(uint64 hash, int epoch, int seed, int frames, int window);
/* Per class, the largest hash of the rows that the stratified split puts in its part of size (train.c). */
extern void split_carve(const uint64 *hashes, const int *classes, int n, double size, bool has[2],
						uint64 max_hash[2]);

/* Rows in a part. */
extern int	split_count(const Split *split, SplitPart part);

/*
 * What orders rows by their content: hash, label, then the covariates
 * (NULL after any value).  Rows equal in all of it are interchangeable.
 */
typedef struct RowKeys
{
	const uint64 *hash;
	const double *label;
	const double *cov;			/* n_cov per row, or NULL */
	const bool *cov_null;
	int			n_cov;
} RowKeys;

/*
 * The n rows' indices in content order (palloc'd): training visits rows in
 * it, so that what it learns does not depend on the order the source
 * returns them in.
 */
extern int *rows_content_order(const RowKeys *keys, int n);
/* Reorder n elements of elem bytes at arr: element k becomes the one that was at idx[k]. */
extern void rows_permute(void *arr, Size elem, const int *idx, int n);

/*
 * A training source: read once for labels, hashes and, while they fit,
 * the rows' model inputs (the cache); later passes iterate over the cache,
 * or read the source again and check that it returns the same rows.
 */
typedef struct TrainSource
{
	const char *query;
	int			seed;
	const char *model_name;		/* for error messages */
	ModelInput *in;				/* set up by on_first_row */
	Size		row_size;		/* floats per model input (a window) */
	bool		first_window;	/* the clips are their first window (POOL_FIRST models) */
	/* per source row: in content order once loaded (rows_content_order) */
	int			n_rows;
	int			cap_rows;
	uint64	   *hashes;
	double	   *labels;			/* double: regression targets keep their precision */
	uint64		fingerprint_sum;	/* of the rows' fingerprints: later passes must agree */
	int		   *frames;			/* per row: the clip's frames (those read: see first_window) */
	double	   *pooled;			/* n_pooled per row: the whole clip's pooled features */
	int			n_pooled;
	int			n_cov;			/* covariates per row, as read (NULL flags beside) */
	double	   *cov_raw;
	bool	   *cov_null;
	int			n_skipped;		/* rows with a NULL feature or label */
	/*
	 * the clips' log values ([channel][bin][model_clip_width] each), while
	 * they fit in cache_limit floats (and are wanted: inputs)
	 */
	bool		inputs;			/* false: the pooled features are all the model needs */
	bool		cached;
	float	   *cache;
	Size	   *offsets;		/* per row: where its clip starts in the cache */
	Size		cache_used;		/* floats */
	Size		cache_alloc;
	Size		cache_limit;
	/* standardised: the cache is, and streamed rows are filled so, from then on */
	bool		standardised;
	/* the first row fixes the features: the trainer builds its network then */
	void		(*on_first_row) (void *arg, const Spectrogram *spec);
	void	   *hook_arg;
	MemoryContext cxt;			/* lives as long as the training */
} TrainSource;

/* Floats of the budget (cache_limit) that the per-row arrays take; the cache gets the rest. */
extern Size source_rows_floats(const TrainSource *src);
/* The first pass: shapes, labels and hashes, and the cache while it fits. */
extern void source_load(TrainSource *src, int task);

/* Standardise the cache in place (in must have its mean and std) and every row from now on. */
extern void source_standardise(TrainSource *src);

/*
 * A clip of the iterated rows: [channel][bin][model_clip_width(in, frames)]
 * log values, of which the first frames are the clip's own (the rest is
 * padding: NaN before standardisation, 0 after); only valid during the
 * call.  row is its index into hashes, labels and pooled.
 */
typedef void (*clip_row_fn) (void *arg, const float *clip, int frames, double label, int row);

/*
 * Every row of one part of the split, in the order of the source's arrays:
 * from the cache, or read again from the source (which must return the
 * same rows).
 */
extern void source_rows(TrainSource *src, const Split *split, SplitPart part,
						clip_row_fn fn, void *arg);

/* ERROR: a later pass did not return the rows of the first. */
extern void source_changed(const TrainSource *src) pg_attribute_noreturn();

/* ---- train.c: cross-validation of spectrogram models (tabular.c drives it) ---- */

/* A fold's test predictions: the model's, the linear baseline's, and the labels. */
typedef struct FoldResult
{
	int			n_train;
	int			n_val;
	int			n_test;
	double	   *model;			/* n_test predictions each */
	double	   *linear;			/* NULL when there is no linear baseline */
	double	   *label;
	double		prior;			/* mean training label: the majority baseline's prediction */
	int			best_epoch;		/* -1 for a linear model */
	double		alpha;			/* the linear baseline's penalty */
} FoldResult;

/*
 * Train on o's source with fold f of k (stratified by content hash: per
 * class, the rows in hash order, the r-th of n_c in fold r * k / n_c) as
 * the test part and validation_size of the rest as validation, storing
 * nothing; the results in the caller's memory.
 */
extern void train_fold(TrainOptions *o, int f, int k, FoldResult *r);

/* ---- evaluate.c ---- */

/* The metrics of predictions against labels as JSON object members: "n": ..., "accuracy": ... */
extern void metrics_append(StringInfo buf, int task, const double *pred, const double *label, int n);

/* s as a JSON string literal. */
extern char *json_quote(const char *s);

/* ttsp_evaluate's result: {"model": name, "version": version, and the metrics} as jsonb. */
extern Datum evaluation_jsonb(const char *name, int version, int task, const double *pred, const double *label,
							  int n);

/* ---- model_table.c (SPI connected) ---- */

/* A new model version: what ttsp_train stores. */
typedef struct ModelRecord
{
	const char *name;
	int			task;
	const char *architecture;	/* JSON texts */
	const char *hyperparameters;
	const char *metrics;
	Datum		features;		/* jsonb: ttsp_params() of the training features */
	const Spectrogram *feature_template;	/* the training features' header, one frame */
	int			frames;
	double		target_mean;
	double		target_std;
	const float *norm_mean;		/* n_norm: channels x bins */
	const float *norm_std;
	int			n_norm;
	bytea	   *weights;
	const double *train_loss;	/* per epoch run */
	const double *validation_loss;
	const double *test_loss;
	int			epochs;			/* run */
	int			best_epoch;		/* whose weights these are: 0 the start, -1 none (linear) */
	ModelPool	pool;			/* stored NULL for a linear model */
	const struct Covariates *covariates;	/* NULL: none (covariates.h) */
	const char *source;			/* the training relation, quoted (NULL: a query) */
} ModelRecord;

/* ERROR unless the current user may INSERT into ttsp_model: checked before the work. */
extern void model_table_check_insert(void);

/* Insert rec as the next version of its name; returns the version. */
extern int32 model_table_insert(const ModelRecord *rec);

/* ---- train_round.c: the model-averaging aggregate ---- */

#include "utils/jsonb.h"

#define TRAIN_MAX_ROUNDS 1000

/* What one round trains: ttsp_train_round's hyperparameters. */
typedef struct RoundSpec
{
	int			task;
	ttsp_loss_kind loss;
	ttsp_optim_config optim;
	int			batch_size;
	int			seed;			/* of the split's hashes */
	int			epoch;			/* 0-based */
	int			round;			/* 0 .. rounds - 1: which share of the epoch's rows */
	int			rounds;
	int			shuffle_rows;	/* rows a partial training shuffles at a time */
	bool		average_moments;	/* optimizer_state 'averaged': moments travel and are averaged */
	bool		first_window;	/* window 'first': the clip's first window (POOL_FIRST models), else a random one */
	Split		split;			/* only PART_TRAIN rows are trained on */
	ModelInput	in;				/* channels, bins, frames, mean, std (no template) */
	double		target_mean;
	double		target_std;
} RoundSpec;

/* r as the aggregate's hyperparameters (JSON text), and back (ERROR 22023 naming a bad key). */
extern char *round_spec_json(const RoundSpec *r);
extern void round_spec_parse(Jsonb *jb, RoundSpec *r);

/* The round (0 .. rounds - 1) of an epoch a training row of this hash belongs to. */
extern int	round_of_row(uint64 hash, int epoch, int rounds);

/* A round's result bytes: the net into *net (the caller destroys it), rows and loss sum. */
extern void round_result(bytea *state, ttsp_cnn **net, double *rows, double *loss_sum);

/* ---- train_averaged.c ---- */

typedef struct AveragedRun AveragedRun;

/* The rounds' query and fixed hyperparameters, after the split and standardisation. */
extern AveragedRun *averaged_start(const TrainOptions *o, const Split *split, const ModelInput *in,
								   double target_mean, double target_std);

/* One epoch: rounds_per_epoch rounds, each replacing *net by the average; the epoch's loss sum and rows. */
extern void averaged_epoch(AveragedRun *run, int epoch, ttsp_cnn **net, double *loss_sum, int *samples);

#endif
