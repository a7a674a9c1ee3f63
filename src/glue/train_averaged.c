/*
 * strategy 'averaged' (FedAvg): each epoch is rounds_per_epoch rounds, and
 * each round is one query, SELECT ttsp_train_round(...) over the source,
 * whose partial aggregates train copies of the model on their own rows
 * and whose combine step averages them.  So the same round runs as one
 * aggregate, on PostgreSQL's parallel workers, or on Citus's shards; the
 * split, early stopping, evaluation and the stored model are train.c's.
 */
#include "train.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/portal.h"

#include "cnn_average.h"
#include "ttsp_glue.h"

/* Shuffle buffer of each partial training: this many batches, while ttsp.train_memory allows. */
#define SHUFFLE_BATCHES 8

struct AveragedRun
{
	RoundSpec	spec;
	SPIPlanPtr	plan;
	bytea	   *state;			/* the last round's result, when the moments travel */
	MemoryContext cxt;
};

/* The label as float8, as source_scan reads it: booleans as 0/1. */
static const char *
label_cast(const char *source)
{
	SPIPlanPtr	plan = SPI_prepare(source, 0, NULL);
	Portal		portal;
	Oid			type;

	if (plan == NULL)
		elog(ERROR, "could not prepare the source query: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	type = TupleDescAttr(portal->tupDesc, 1)->atttypid;
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	return type == BOOLOID ? "::pg_catalog.int4::pg_catalog.float8" : "::pg_catalog.float8";
}

/*
 * The round's query over the source (train.c's SELECT features, label,
 * every identifier quoted there); the model and hyperparameters are SPI
 * parameters.  Parallel plans are allowed: that is the point.
 */
static SPIPlanPtr
prepare_round(const char *source)
{
	char	   *query = psprintf("SELECT %s.ttsp_train_round(s.f, s.l%s, $1, $2) FROM (%s) AS s(f, l)",
								 ttsp_schema(), label_cast(source), source);
	Oid			types[2] = {BYTEAOID, JSONBOID};
	SPIPlanPtr	plan = SPI_prepare_cursor(query, 2, types, CURSOR_OPT_PARALLEL_OK);

	if (plan == NULL)
		elog(ERROR, "could not prepare the training round: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the training round's plan");
	return plan;
}

AveragedRun *
averaged_start(const TrainOptions *o, const Split *split, const ModelInput *in,
			   double target_mean, double target_std)
{
	AveragedRun *run = palloc0(sizeof(AveragedRun));
	RoundSpec  *r = &run->spec;
	Size		row_bytes = MODEL_INPUT_SIZE(in) * sizeof(float);
	/* a quarter of the budget: the trainer's own cache may hold the rest */
	Size		fit = (Size) ttsp_train_memory * 1024 / 4 / row_bytes;

	run->cxt = CurrentMemoryContext;
	r->task = o->task;
	r->loss = o->loss;
	r->optim = o->optim;
	r->batch_size = o->batch_size;
	r->seed = o->seed;
	r->rounds = o->rounds_per_epoch;
	r->shuffle_rows = (int) Max((Size) o->batch_size, Min((Size) SHUFFLE_BATCHES * o->batch_size, fit));
	r->average_moments = o->average_moments;
	r->first_window = o->pool == POOL_FIRST;
	r->split = *split;
	r->in = *in;
	r->in.tmpl = NULL;
	r->target_mean = target_mean;
	r->target_std = target_std;
	run->plan = prepare_round(o->query);
	return run;
}

/* The net as a round's starting state: no rows, no moments. */
static bytea *
start_state(ttsp_cnn *net)
{
	ttsp_avg	a = {net, 0, 0, 0, 0, NULL, NULL};
	Size		len = ttsp_avg_serialized_size(&a);
	bytea	   *out = palloc(VARHDRSZ + len);
	ttsp_error	err;

	SET_VARSIZE(out, VARHDRSZ + len);
	ttsp_check(ttsp_avg_serialize(&a, (uint8_t *) VARDATA(out), len, &err), &err);
	return out;
}

/* One round: the aggregate over the source; *net becomes the average. */
static void
run_round(AveragedRun *run, ttsp_cnn **net, double *loss_sum, int *samples)
{
	Datum		args[2];
	bool		isnull;
	Datum		result;
	double		rows,
				loss;
	ttsp_cnn   *avg;
	int			ret;

	args[0] = PointerGetDatum(run->state != NULL ? run->state : start_state(*net));
	args[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(round_spec_json(&run->spec)));
	ret = SPI_execute_plan(run->plan, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "training round failed: %s", SPI_result_code_string(ret));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;					/* no rows at all: the source is empty now */
	round_result(DatumGetByteaPP(result), &avg, &rows, &loss);
	ttsp_cnn_destroy(*net);
	*net = avg;
	*loss_sum += loss;
	*samples += (int) rows;
	if (run->spec.average_moments)
	{
		MemoryContext old = MemoryContextSwitchTo(run->cxt);

		if (run->state)
			pfree(run->state);
		run->state = DatumGetByteaPCopy(result);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	CHECK_FOR_INTERRUPTS();
}

void
averaged_epoch(AveragedRun *run, int epoch, ttsp_cnn **net, double *loss_sum, int *samples)
{
	int			round;

	run->spec.epoch = epoch;
	for (round = 0; round < run->spec.rounds; round++)
	{
		run->spec.round = round;
		run_round(run, net, loss_sum, samples);
	}
}
