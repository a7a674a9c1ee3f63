/*
 * Models: how a spectrogram becomes a network input, and the per-backend
 * cache of decoded models used by ttsp_predict and ttsp_evaluate.
 */
#ifndef TTSP_MODEL_H
#define TTSP_MODEL_H

#include "spectrogram.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "storage/itemptr.h"

#include "cnn.h"

/*
 * Input of a model: log/dB values standardised with per-(channel, bin)
 * statistics of the training split, cropped or zero-padded (the training
 * mean) to a fixed number of frames.
 */
typedef struct ModelInput
{
	Spectrogram *tmpl;			/* header of the training features, 1 frame */
	int			channels;
	int			bins;
	int			frames;
	float	   *mean;			/* [channels * bins] */
	float	   *std;
} ModelInput;

/* Values per input: channels x bins x frames. */
#define MODEL_INPUT_SIZE(in) ((Size) (in)->channels * (in)->bins * (in)->frames)

/* A spectrogram must have the training features' kind, shape and parameters. */
extern void model_input_check(const ModelInput *in, const Spectrogram *spec, const char *model);

/*
 * Write the log values (10 log10 of power, 20 log10 of magnitude, dB and
 * MFCC as they are) of spec's first in->frames frames into out
 * ([channel][bin][frame]).  With standardise, apply mean and std; frames
 * past the end are then 0 (the mean).  Without, they are NaN, which
 * statistics skip and model_input_standardise turns into 0.
 */
extern void model_input_fill(const ModelInput *in, const Spectrogram *spec, float *out, bool standardise);

/*
 * The whole clip's pooled features (linear.h: per (channel, bin) the mean,
 * then the deviation, of the log values over every frame) into out.
 */
extern void model_pooled_features(const Spectrogram *spec, double *out);

/*
 * model_input_fill(in, spec, out, true) and, from the same logs (each row's
 * computed once), model_pooled_features(spec, pooled): the same bits as the
 * two calls.  pooled NULL: the first alone.
 */
extern void model_input_fill_pooled(const ModelInput *in, const Spectrogram *spec, float *out, double *pooled);

/* Standardise values laid out as model_input_fill(..., false) writes them. */
extern void model_input_standardise(const ModelInput *in, float *x);

/* ---- model_windows.c: the whole clip through a window-sized CNN ---- */

/* How a clip's window outputs become its output. */
typedef enum ModelPool
{
	POOL_FIRST,					/* the first window only: 'first', and models stored before 0.3.0 */
	POOL_MEAN,					/* the mean of the windows' raw outputs (logits) */
	POOL_MAX					/* their maximum */
} ModelPool;

/* 'mean', 'max' or 'first'. */
extern const char *model_pool_name(ModelPool pool);
/* 'mean', 'max' or 'first' (ERROR otherwise); NULL is 'first' (an older model). */
extern ModelPool model_pool_parse(const char *name);
/* Frames of a clip buffer: the clip's, or a window if it is shorter (then padded). */
extern int	model_clip_width(const ModelInput *in, int frames);
/* model_input_fill of the whole clip, [channel][bin][model_clip_width] values. */
extern void model_clip_fill(const ModelInput *in, const Spectrogram *spec, float *out, bool standardise);
/* Frames start .. start + in->frames of a clip buffer of width frames into dst. */
extern void model_window_copy(const ModelInput *in, const float *clip, int width, int start, float *dst);

/* A clip's output (probability or value) and the caller's tag for it. */
typedef void (*clip_score_fn) (void *arg, double output, int tag);

/*
 * Scores clips: every window of each (or the first, POOL_FIRST) through
 * the net in batches of cap windows, pooled per clip, handed to fn.  A
 * clip's extra inputs go with each of its windows.
 */
typedef struct ClipScorer
{
	ttsp_cnn   *net;
	const ModelInput *in;
	ModelPool	pool;
	int			task;
	double		target_mean;
	double		target_std;
	int			n_extra;
	int			cap;
	float	   *x;				/* cap windows */
	float	   *extra;			/* cap x n_extra */
	float	   *out;
	int			n;				/* windows in the batch */
	bool		begun;			/* the net takes them as they are filled */
	int		   *clip_tag;		/* the clips whose windows they are, in order */
	int		   *clip_windows;
	int			n_clips;
	clip_score_fn fn;
	void	   *arg;
} ClipScorer;

extern void scorer_init(ClipScorer *s, ttsp_cnn *net, const ModelInput *in, ModelPool pool, int task,
						double target_mean, double target_std, int batch, clip_score_fn fn, void *arg);
/* A clip buffer (model_clip_fill, standardised) of frames real frames; fn may run now or later. */
extern void scorer_add(ClipScorer *s, const float *clip, int frames, const float *extra, int tag);
/* Score what is pending. */
extern void scorer_flush(ClipScorer *s);
/* Forget what is pending (a batch an error cut short; a part left running is the net's to finish). */
extern void scorer_reset(ClipScorer *s);

/* When a lookup by name was answered (model.c: lookup_stamp). */
typedef struct LookupStamp
{
	bool		valid;			/* false: not reusable */
	LocalTransactionId lxid;
	CommandId	cid;
	TransactionId xmin;
	TransactionId xmax;
	uint64		xip;			/* hashes of the in-progress transactions */
	uint64		subxip;
	Oid			user;			/* privileges and row security are the user's */
} LookupStamp;

/* A decoded model, cached per backend. */
typedef struct LoadedModel
{
	MemoryContext cxt;			/* holds all of it; deleting it frees the net */
	MemoryContextCallback cb;
	int			pins;			/* model_pin calls still in force: not evicted */
	char	   *name;
	int32		version;
	int64		row_xmin;		/* the row's xmin and ctid: a replaced row is reloaded */
	ItemPointerData row_ctid;
	int32		asked_version;	/* the last lookup by name that found it: version asked (0: latest) */
	LookupStamp stamp;			/* and when */
	bool		by_value;		/* passed as a ttsp_model value, found by content_key */
	uint64		content_key;	/* hash of every column decoded */
	int			task;
	double		target_mean;	/* regression outputs are value * std + mean */
	double		target_std;
	ModelInput	in;
	float	   *input;			/* ttsp_predict's clip buffer, NULL until used */
	Size		input_size;		/* its floats */
	struct ClipScorer *scorer;	/* ttsp_predict's, NULL until used */
	ModelPool	pool;			/* how a clip's windows are pooled */
	int			n_pooled;		/* extra inputs that are the clip's pooled features */
	ttsp_cnn   *net;			/* the CNN, or NULL for a linear model ... */
	struct ttsp_linear *linear; /* ... which reads the whole clip's pooled features */
	/* covariates-only models (covariates.h): a linear model or an MLP on them */
	struct Covariates *cov;
	struct ttsp_mlp *mlp;
	char	   *source;			/* training relation, for ttsp_predict(music_id) (NULL: a query) */
} LoadedModel;

/* The weights are a linear model's (architecture 'linear'): its byte format's magic. */
extern bool model_weights_are_linear(const bytea *weights);

/*
 * The named model (latest version when version is 0), loaded or from the
 * cache of MODEL_CACHE_SIZE.  The pointer is good until the next lookup,
 * unless pinned.
 */
extern LoadedModel *model_lookup(const char *name, int32 version);

/* The argument "version": 0 (the latest) when NULL, else at least 1. */
extern int32 model_version_arg(FunctionCallInfo fcinfo);

/* A model passed as a ttsp_model row value: decoded without SPI, cached by content. */
extern LoadedModel *model_from_value(HeapTupleHeader hdr);

/* Keep m out of eviction until the current memory context is reset. */
extern void model_pin(LoadedModel *m);

/*
 * A linear model's prediction (probability or value) for a whole spectrogram;
 * cov_inputs: its covariates' model inputs, NULL for a model without any.
 */
extern double model_predict_linear(LoadedModel *m, const Spectrogram *spec, const double *cov_inputs);

/* A model's prediction (probability or value) for a whole clip (cov_inputs: as model_predict_linear). */
extern double model_predict_clip(LoadedModel *m, const Spectrogram *spec, const double *cov_inputs);
/*
 * A model with covariates beside its spectrogram needs their inputs
 * (covariates_encode): ERROR pointing to the row form without them.
 * Returns how many there are (0 for a model without covariates).
 */
extern int	model_require_covariates(const LoadedModel *m, const double *cov_inputs);
/* A model on covariates alone (no spectrogram): tabular.c's. */
#define model_covariates_only(m) ((m)->cov != NULL && (m)->in.tmpl == NULL)
/* The clip's extra inputs for m's net (its pooled features, then cov_inputs), palloc'd; NULL if it has none. */
extern float *model_clip_extra(const LoadedModel *m, const Spectrogram *spec, const double *cov_inputs);
/* A net's extra inputs as floats: n_pooled pooled features, then n_cov covariate inputs. */
extern void model_extra_fill(const double *pooled, int n_pooled, const double *cov_inputs, int n_cov, float *dst);
/* model_clip_extra from pooled features already computed (m->n_pooled of them, or NULL if none). */
extern float *model_extra_inputs(const LoadedModel *m, const double *pooled, const double *cov_inputs);
/*
 * The whole clip standardised, in a buffer kept with m, and its pooled
 * features into pooled unless NULL, from the same logs; *frames receives
 * its real frames to hand to scorer_add (a clip of one window, or a
 * POOL_FIRST model's, goes straight into the batch: scorer_add_spec).
 */
extern float *model_clip_input(LoadedModel *m, const Spectrogram *spec, double *pooled, int *frames);

/*
 * A clip straight from its spectrogram, with its covariates' inputs (NULL
 * without): one that is a single window (no longer than one, or POOL_FIRST)
 * is standardised directly into the batch, its pooled features from the
 * same logs; a longer one goes through m's clip buffer and scorer_add.
 */
extern void scorer_add_spec(struct ClipScorer *s, LoadedModel *m, const Spectrogram *spec, const double *cov_inputs,
							int tag);

/* ---- model_table.c: SQL against ttsp_model (SPI connected) ---- */

/* Schema of the extension: its OID, and its name quoted for SPI queries. */
extern Oid	ttsp_schema_oid(void);
extern const char *ttsp_schema(void);

/* The extension's spectrogram type, whatever the search_path. */
extern Oid	ttsp_spectrogram_type(void);

/* Which row holds a model version: a replaced row (new xmin or ctid) is reloaded. */
typedef struct ModelRowId
{
	int32		version;
	int64		xmin;
	ItemPointerData ctid;
	HeapTuple	row;			/* the whole row, in SPI's memory (NULL for a 0.1.0 table) */
	TupleDesc	desc;
} ModelRowId;

/* The row of name's version (the latest when 0); ERROR 42704 if there is none. */
extern ModelRowId model_table_find(const char *name, int32 version);

/*
 * The columns a model is decoded from (task, feature_template, frames,
 * norm_mean, norm_std, weights, target_mean, target_std, and since 0.3.0
 * pool), read by name.
 */
extern HeapTuple model_table_fetch(const char *name, int32 version, TupleDesc *desc);

/* ttsp_model has 0.3.0's pool column: models judge whole clips. */
extern bool model_table_pools(void);
/* The name of the model trained last, in SPI's memory, or NULL if none. */
extern char *model_table_newest(void);

/* The net's threads from ttsp.threads (ERROR if out of range). */
extern void ttsp_set_threads(ttsp_cnn *net);

#endif
