/*
 * Reading a training or evaluation source: rows through an SPI cursor, the
 * deterministic split, the in-memory cache of whole clips, and the one
 * iterator that later passes use whether the rows are cached or streamed.
 */
#include "train.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "covariates.h"
#include "linear.h"
#include "rng.h"
#include "ttsp_glue.h"

#define FETCH_ROWS 32

static double
label_value(Datum d, Oid type)
{
	if (!covariate_type_ok(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("label column must be boolean or numeric, not %s", format_type_be(type))));
	return covariate_value(d, type);
}

/* A row's covariates (columns 3 on) into cov; ERROR 42804 naming one that is not boolean or numeric. */
static void
read_covariates(HeapTuple tup, TupleDesc desc, RowCovariates *cov, int n_cov)
{
	for (int j = 0; j < n_cov; j++)
	{
		Oid			type = SPI_gettypeid(desc, 3 + j);
		Datum		d;
		bool		isnull;

		covariate_check_type(type, SPI_fname(desc, 3 + j), NULL);
		d = SPI_getbinval(tup, desc, 3 + j, &isnull);
		cov->isnull[j] = isnull;
		cov->raw[j] = isnull ? 0 : covariate_value(d, type);
	}
}

void
source_scan(const char *query, int seed, bool hashed, int n_cov, spec_row_fn fn, void *arg)
{
	MemoryContext rows_cxt = AllocSetContextCreate(CurrentMemoryContext, "ttsp rows", ALLOCSET_DEFAULT_SIZES);
	Oid			spec_type = ttsp_spectrogram_type();
	Portal		portal;
	SPIPlanPtr	plan;
	RowCovariates cov = {palloc(Max(n_cov, 1) * sizeof(double)), palloc(Max(n_cov, 1) * sizeof(bool))};

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the source query: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		TupleDesc	desc;
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		if (desc->natts != 2 + n_cov || SPI_gettypeid(desc, 1) != spec_type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("features column must be of type spectrogram, not %s",
							format_type_be(SPI_gettypeid(desc, 1)))));
		for (i = 0; i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(rows_cxt);
			bool		null_spec,
						null_label;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &null_spec);
			Datum		l = SPI_getbinval(SPI_tuptable->vals[i], desc, 2, &null_label);

			if (null_spec || null_label)
				fn(arg, NULL, 0, 0, NULL);
			else
			{
				Spectrogram *spec = DatumGetSpectrogramP(d);
				double		label = label_value(l, SPI_gettypeid(desc, 2));
				uint64		hash = hashed ? hash_bytes_extended((const unsigned char *) spec,
																VARSIZE(spec), (uint64) seed) : 0;

				if (n_cov > 0)
					read_covariates(SPI_tuptable->vals[i], desc, &cov, n_cov);
				if (n_cov > 0 && hashed)
				{
					/* the row's content is its covariates too: rows that differ only there split apart */
					hash = hash_bytes_extended((const unsigned char *) cov.raw, n_cov * sizeof(double), hash);
					hash = hash_bytes_extended((const unsigned char *) cov.isnull, n_cov * sizeof(bool), hash);
				}
				fn(arg, spec, label, hash, n_cov > 0 ? &cov : NULL);
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(rows_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	MemoryContextDelete(rows_cxt);
}

/* ", q.c1, q.c2" of the covariates' names, quoted, with prefix before each. */
static char *
covariate_list(const Covariates *cov, const char *prefix)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int j = 0; cov != NULL && j < cov->n; j++)
		appendStringInfo(&b, ", %s%s", prefix, quote_identifier(cov->names[j]));
	return b.data;
}

char *
source_relation_query(Oid relid, const char *features, const char *label, const Covariates *cov)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *rel = get_rel_name(relid);

	if (nsp == NULL || rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return psprintf("SELECT %s, %s%s FROM %s", quote_identifier(features), quote_identifier(label),
					covariate_list(cov, ""), quote_qualified_identifier(nsp, rel));
}

char *
source_text_query(const char *source, const char *features, const char *label, const Covariates *cov)
{
	List	   *names;

	/* a (possibly schema-qualified, possibly quoted) name parses as identifiers */
	if (SplitIdentifierString(pstrdup(source), '.', &names) && list_length(names) <= 3)
	{
		RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(source));

		return source_relation_query(RangeVarGetRelid(rv, AccessShareLock, false), features, label, cov);
	}
	return psprintf("SELECT q.%s, q.%s%s FROM (%s) AS q", quote_identifier(features),
					quote_identifier(label), covariate_list(cov, "q."), source);
}

/* ---- the split ---- */

int
label_class(int task, double label)
{
	return task == TTSP_TASK_CLASSIFICATION && label >= 0.5 ? 1 : 0;
}

SplitPart
row_part(const Split *split, double label, uint64 hash)
{
	int			c = label_class(split->task, label);

	if (split->has_test[c] && hash >= split->test_min_hash[c] && hash <= split->test_max_hash[c])
		return PART_TEST;
	if (split->has_val[c] && hash <= split->val_max_hash[c])
		return PART_VALIDATION;
	return PART_TRAIN;
}

int
split_count(const Split *split, SplitPart part)
{
	return part == PART_TEST ? split->n_test : part == PART_VALIDATION ? split->n_val : split->n_train;
}

int
train_window_start(uint64 hash, int epoch, int seed, int frames, int window)
{
	ttsp_rng	rng;

	if (frames <= window)
		return 0;
	ttsp_rng_seed(&rng, hash ^ ((uint64) (uint32) epoch * UINT64CONST(0xD1B54A32D192ED03)) ^
				  ((uint64) (uint32) seed << 32));
	return (int) (ttsp_rng_next(&rng) % (uint64) (frames - window + 1));
}

/* ---- content order ---- */

static int
cmp_double(double a, double b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int
row_keys_cmp(const void *a, const void *b, void *arg)
{
	const RowKeys *keys = arg;
	int			i = *(const int *) a,
				j = *(const int *) b,
				c;

	if (keys->hash[i] != keys->hash[j])
		return keys->hash[i] < keys->hash[j] ? -1 : 1;
	if ((c = cmp_double(keys->label[i], keys->label[j])) != 0)
		return c;
	for (int k = 0; k < keys->n_cov; k++)
	{
		Size		ik = (Size) i * keys->n_cov + k,
					jk = (Size) j * keys->n_cov + k;

		if (keys->cov_null[ik] != keys->cov_null[jk])
			return keys->cov_null[ik] ? 1 : -1;
		if (!keys->cov_null[ik] && (c = cmp_double(keys->cov[ik], keys->cov[jk])) != 0)
			return c;
	}
	return 0;
}

int *
rows_content_order(const RowKeys *keys, int n)
{
	int		   *idx = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * sizeof(int));

	for (int i = 0; i < n; i++)
		idx[i] = i;
	qsort_arg(idx, n, sizeof(int), row_keys_cmp, (void *) keys);
	return idx;
}

void
rows_permute(void *arr, Size elem, const int *idx, int n)
{
	char	   *tmp = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1) * elem);

	for (int k = 0; k < n; k++)
		memcpy(tmp + (Size) k * elem, (char *) arr + (Size) idx[k] * elem, elem);
	memcpy(arr, tmp, (Size) n * elem);
	pfree(tmp);
}

/* ---- the first pass and the cache ---- */

/* A row's spectrogram hash and label together: either changing is a change. */
static uint64
row_fingerprint(uint64 hash, double label)
{
	uint64		bits;

	memcpy(&bits, &label, sizeof(bits));
	return hash ^ (bits * UINT64CONST(0x9E3779B97F4A7C15));
}

void
source_changed(const TrainSource *src)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the training source returned different rows on a later pass"),
			 errdetail("The first pass read %d rows; data that does not fit in ttsp.train_memory is read again every epoch.",
					   src->n_rows),
			 errhint("Use a source whose rows do not change during training: no random(), TABLESAMPLE or "
					 "volatile functions, or raise ttsp.train_memory so that the data is read once.")));
}

typedef struct LoadState
{
	TrainSource *src;
	int			task;
} LoadState;

static void
check_label(const LoadState *ls, double label)
{
	if (!isfinite(label))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label of row %d is %g; labels must be finite",
						ls->src->n_rows + ls->src->n_skipped + 1, label)));
	if (ls->task == TTSP_TASK_CLASSIFICATION && label != 0 && label != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("classification labels must be 0/1 or boolean, got %g", label),
				 errhint("Use task => 'regression' for continuous targets.")));
}

/* Frames of spec that training reads: all of them, or only the first window's. */
static int
used_frames(const TrainSource *src, const Spectrogram *spec)
{
	return src->first_window ? Min(spec->h.frames, src->in->frames) : spec->h.frames;
}

/* Floats of a clip of frames in the cache (or a pass's buffer). */
static Size
clip_floats(const TrainSource *src, int frames)
{
	return (Size) src->in->channels * src->in->bins * model_clip_width(src->in, frames);
}

/* The clip's log values (no standardisation yet) into dst. */
static void
fill_clip(const TrainSource *src, const Spectrogram *spec, float *dst, bool standardise)
{
	if (src->first_window)
		model_input_fill(src->in, spec, dst, standardise);
	else
		model_clip_fill(src->in, spec, dst, standardise);
}

/*
 * Floats of the budget that the per-row arrays take at their capacity: hash,
 * label, frames, cache offset and the pooled features, which the linear
 * fit copies once more.  They come first; the cache gets what is left.
 */
Size
source_rows_floats(const TrainSource *src)
{
	Size		row_bytes = 2 * sizeof(double) + sizeof(int) + sizeof(Size) +
		2 * (Size) src->n_pooled * sizeof(double) +
		(Size) src->n_cov * (2 * sizeof(double) + sizeof(bool));

	return (Size) src->cap_rows * row_bytes / sizeof(float);
}

/* Keep the row's clip while the cache has room; past it, stream instead. */
static void
cache_row(TrainSource *src, const Spectrogram *spec)
{
	Size		need = clip_floats(src, used_frames(src, spec));

	if (!src->cached)
		return;
	if (src->cache_used + need + source_rows_floats(src) > src->cache_limit)
	{
		src->cached = false;
		if (src->cache)
			pfree(src->cache);
		src->cache = NULL;
		ereport(NOTICE,
				(errmsg("the training data exceeds ttsp.train_memory; streaming it from the source each epoch")));
		return;
	}
	if (src->cache_used + need > src->cache_alloc)
	{
		src->cache_alloc = Min(Max(src->cache_used + need, src->cache_alloc * 2), src->cache_limit);
		src->cache = src->cache ? repalloc_huge(src->cache, src->cache_alloc * sizeof(float))
			: MemoryContextAllocHuge(src->cxt, src->cache_alloc * sizeof(float));
	}
	src->offsets[src->n_rows] = src->cache_used;
	fill_clip(src, spec, src->cache + src->cache_used, false);
	src->cache_used += need;
}

static void
load_row(void *arg, Spectrogram *spec, double label, uint64 hash, const RowCovariates *cov)
{
	LoadState  *ls = arg;
	TrainSource *src = ls->src;

	if (spec == NULL)
	{
		src->n_skipped++;
		return;
	}
	check_label(ls, label);
	if (src->in == NULL)
	{
		src->on_first_row(src->hook_arg, spec);
		src->row_size = MODEL_INPUT_SIZE(src->in);
		src->n_pooled = (int) ttsp_pooled_count(spec->h.channels, spec->h.bins);
	}
	model_input_check(src->in, spec, src->model_name);
	if (src->n_rows == src->cap_rows)
	{
		src->cap_rows = Max(1024, src->cap_rows * 2);
		src->hashes = src->hashes ? repalloc_huge(src->hashes, src->cap_rows * sizeof(uint64))
			: MemoryContextAllocHuge(src->cxt, src->cap_rows * sizeof(uint64));
		src->labels = src->labels ? repalloc_huge(src->labels, src->cap_rows * sizeof(double))
			: MemoryContextAllocHuge(src->cxt, src->cap_rows * sizeof(double));
		src->frames = src->frames ? repalloc_huge(src->frames, src->cap_rows * sizeof(int))
			: MemoryContextAllocHuge(src->cxt, src->cap_rows * sizeof(int));
		src->offsets = src->offsets ? repalloc_huge(src->offsets, src->cap_rows * sizeof(Size))
			: MemoryContextAllocHuge(src->cxt, src->cap_rows * sizeof(Size));
		src->pooled = src->pooled ? repalloc_huge(src->pooled, (Size) src->cap_rows * src->n_pooled * sizeof(double))
			: MemoryContextAllocHuge(src->cxt, (Size) src->cap_rows * src->n_pooled * sizeof(double));
		if (src->n_cov > 0)
		{
			src->cov_raw = src->cov_raw ? repalloc_huge(src->cov_raw, (Size) src->cap_rows * src->n_cov * sizeof(double))
				: MemoryContextAllocHuge(src->cxt, (Size) src->cap_rows * src->n_cov * sizeof(double));
			src->cov_null = src->cov_null ? repalloc_huge(src->cov_null, (Size) src->cap_rows * src->n_cov * sizeof(bool))
				: MemoryContextAllocHuge(src->cxt, (Size) src->cap_rows * src->n_cov * sizeof(bool));
		}
		if (source_rows_floats(src) > src->cache_limit)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%d rows' pooled features and bookkeeping need %zu kB, more than ttsp.train_memory leaves beside the network (%zu kB)",
							src->cap_rows, source_rows_floats(src) * sizeof(float) / 1024, src->cache_limit * sizeof(float) / 1024),
					 errhint("Raise ttsp.train_memory, or use fewer bins (the pooled features are 2 x channels x bins per row).")));
	}
	/* the linear baseline sees the whole clip, whatever frames the CNN takes */
	model_pooled_features(spec, src->pooled + (Size) src->n_rows * src->n_pooled);
	if (src->n_cov > 0)
	{
		memcpy(src->cov_raw + (Size) src->n_rows * src->n_cov, cov->raw, src->n_cov * sizeof(double));
		memcpy(src->cov_null + (Size) src->n_rows * src->n_cov, cov->isnull, src->n_cov * sizeof(bool));
	}
	src->hashes[src->n_rows] = hash;
	src->labels[src->n_rows] = label;
	src->frames[src->n_rows] = used_frames(src, spec);
	src->fingerprint_sum += row_fingerprint(hash, label);
	cache_row(src, spec);
	src->n_rows++;
}

/*
 * The rows in content order: later passes visit cached rows in it, and
 * find streamed ones in it by their content (first_pass_row).
 */
static void
sort_rows(TrainSource *src)
{
	RowKeys		keys = {src->hashes, src->labels, src->cov_raw, src->cov_null, src->n_cov};
	int		   *idx;

	if (src->n_rows < 2)
		return;
	idx = rows_content_order(&keys, src->n_rows);
	rows_permute(src->hashes, sizeof(uint64), idx, src->n_rows);
	rows_permute(src->labels, sizeof(double), idx, src->n_rows);
	rows_permute(src->frames, sizeof(int), idx, src->n_rows);
	rows_permute(src->pooled, src->n_pooled * sizeof(double), idx, src->n_rows);
	if (src->cached)
		rows_permute(src->offsets, sizeof(Size), idx, src->n_rows);
	if (src->n_cov > 0)
	{
		rows_permute(src->cov_raw, src->n_cov * sizeof(double), idx, src->n_rows);
		rows_permute(src->cov_null, src->n_cov * sizeof(bool), idx, src->n_rows);
	}
	pfree(idx);
}

void
source_load(TrainSource *src, int task)
{
	LoadState	ls = {src, task};

	src->cached = src->inputs;
	source_scan(src->query, src->seed, true, src->n_cov, load_row, &ls);
	sort_rows(src);
}

void
source_standardise(TrainSource *src)
{
	int			i;

	if (src->cached)
		for (i = 0; i < src->n_rows; i++)
		{
			ModelInput	whole = *src->in;

			whole.frames = model_clip_width(src->in, src->frames[i]);
			model_input_standardise(&whole, src->cache + src->offsets[i]);
		}
	src->standardised = true;
}

/* ---- later passes ---- */

typedef struct Pass
{
	TrainSource *src;
	const Split *split;
	SplitPart	part;
	clip_row_fn fn;
	void	   *arg;
	float	   *x;				/* a streamed row's clip */
	Size		x_size;
	int			rows;
	uint64		fingerprint_sum;
} Pass;

/*
 * A re-read row's index in the first pass's arrays, found by its content:
 * a later pass may return the rows in another order (with
 * synchronize_seqscans, a scan of a table larger than a quarter of
 * shared_buffers joins one of it already running, and comes back
 * rotated).  Rows of equal hash and label are interchangeable (the hash
 * covers the covariates).  One not in the first pass is a changed source.
 */
static int
first_pass_row(const TrainSource *src, uint64 hash, double label)
{
	int			lo = 0,
				hi = src->n_rows;

	/* the first whose (hash, label) is not below the row's: the arrays are in content order */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (src->hashes[mid] < hash || (src->hashes[mid] == hash && src->labels[mid] < label))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == src->n_rows || src->hashes[lo] != hash || src->labels[lo] != label)
		source_changed(src);
	return lo;
}

/* A streamed row: checked against the first pass, then handed on if in the part. */
static void
pass_row(void *arg, Spectrogram *spec, double label, uint64 hash, const RowCovariates *cov)
{
	Pass	   *p = arg;
	int			frames;
	Size		need;

	(void) cov;					/* the first pass kept them */
	if (spec == NULL)
		return;
	model_input_check(p->src->in, spec, p->src->model_name);
	if (++p->rows > p->src->n_rows)
		source_changed(p->src);
	p->fingerprint_sum += row_fingerprint(hash, label);
	if (row_part(p->split, label, hash) != p->part)
		return;
	frames = used_frames(p->src, spec);
	need = clip_floats(p->src, frames);
	if (need > p->x_size)
	{
		if (p->x)
			pfree(p->x);
		p->x = MemoryContextAllocHuge(p->src->cxt, need * sizeof(float));
		p->x_size = need;
	}
	fill_clip(p->src, spec, p->x, p->src->standardised);
	p->fn(p->arg, p->x, frames, label, first_pass_row(p->src, hash, label));
}

void
source_rows(TrainSource *src, const Split *split, SplitPart part, clip_row_fn fn, void *arg)
{
	Pass		p = {src, split, part, fn, arg, NULL, 0, 0, 0};
	int			i;

	if (src->cached)
	{
		for (i = 0; i < src->n_rows; i++)
			if (row_part(split, src->labels[i], src->hashes[i]) == part)
				fn(arg, src->cache + src->offsets[i], src->frames[i], src->labels[i], i);
		return;
	}
	/* the covariates were kept by the first pass */
	source_scan(src->query, src->seed, true, src->n_cov, pass_row, &p);
	if (p.rows != src->n_rows || p.fingerprint_sum != src->fingerprint_sum)
		source_changed(src);
	if (p.x)
		pfree(p.x);
}
