/*
 * Every access to ttsp_model: the extension's schema, storing a new
 * version, finding (by its primary key where a query would see the same
 * rows) and fetching a model, the newest model's name.  Values go in as SPI
 * parameters; the schema is quoted; callers are connected to SPI.
 */
#include "train.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "covariates.h"
#include "ttsp_glue.h"

/*
 * The extension's schema and ttsp_model's OID, cached per backend: reading
 * pg_extension (no syscache covers it) was a new backend's first
 * relation build on every prediction's path.  Both are forgotten when
 * ttsp_model's relcache entry is invalidated, which DROP EXTENSION (the
 * table goes with it) and moving or dropping the table cause, as does a
 * full reset.  The extension is not relocatable.
 */
static Oid	cached_schema = InvalidOid;
static Oid	cached_table = InvalidOid;

static void
forget_oids(Datum arg, Oid relid)
{
	(void) arg;
	if (!OidIsValid(relid) || relid == cached_table)
		cached_schema = cached_table = InvalidOid;
}

/* The schema from pg_extension; the table too, and both are cached if it exists. */
static Oid
lookup_oids(void)
{
	static bool registered = false;
	Oid			ext = get_extension_oid("ttsp", false);
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp;

	if (!registered)
	{
		CacheRegisterRelcacheCallback(forget_oids, (Datum) 0);
		registered = true;
	}
	/* get_extension_schema() is static in PG 15: read pg_extension */
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "extension ttsp not found");
	nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	cached_table = get_relname_relid("ttsp_model", nsp);
	cached_schema = OidIsValid(cached_table) ? nsp : InvalidOid;
	return nsp;
}

Oid
ttsp_schema_oid(void)
{
	return OidIsValid(cached_schema) ? cached_schema : lookup_oids();
}

/* ttsp_model's OID, or InvalidOid. */
static Oid
model_table_oid(void)
{
	if (!OidIsValid(cached_table))
		lookup_oids();
	return cached_table;
}

/*
 * ttsp_model, locked.  The cached OID may name a table that a committed
 * DROP EXTENSION removed: locking it reads that invalidation, and the
 * catalogs are asked again.  NULL if there is no such table.
 */
static Relation
open_model_table(void)
{
	Oid			relid = model_table_oid();
	Relation	rel;

	if (!OidIsValid(relid))
		return NULL;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL && OidIsValid(relid = model_table_oid()))
		rel = try_relation_open(relid, AccessShareLock);
	return rel;
}

/* The schema's name, quoted: looked up per call, so a renamed schema is seen. */
const char *
ttsp_schema(void)
{
	char	   *name = get_namespace_name(ttsp_schema_oid());

	/* a schema dropped with the extension since it was cached */
	if (name == NULL)
		name = get_namespace_name(lookup_oids());
	if (name == NULL)
		elog(ERROR, "schema of extension ttsp not found");
	return quote_identifier(name);
}

/*
 * Whether ttsp_model has 0.2.0's columns.  The library also serves a 0.1.0
 * table, between installing it and ALTER EXTENSION ttsp UPDATE: it stores
 * what that table holds and reads the feature template from its features.
 */
static bool
table_is_0_2(void)
{
	return get_attnum(model_table_oid(), "feature_template") != InvalidAttrNumber;
}

/* Whether ttsp_model has 0.3.0's covariate columns. */
static bool
table_has_covariates(void)
{
	return get_attnum(model_table_oid(), "covariates") != InvalidAttrNumber;
}

bool
model_table_pools(void)
{
	return get_attnum(model_table_oid(), "pool") != InvalidAttrNumber;
}

void
model_table_check_insert(void)
{
	Oid			rel = model_table_oid();

	if (pg_class_aclcheck(rel, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "ttsp_model");
}

static Datum
float8_array(const double *v, int n)
{
	Datum	   *d = palloc(Max(n, 1) * sizeof(Datum));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
jsonb_datum(const char *s)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
}

Oid
ttsp_spectrogram_type(void)
{
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("spectrogram"),
						   ObjectIdGetDatum(ttsp_schema_oid()));
}

int32
model_table_insert(const ModelRecord *rec)
{
	int			dims[1] = {rec->n_norm};
	Datum		args[23];
	Oid			types[23] = {TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID, FLOAT4ARRAYOID,
		FLOAT4ARRAYOID, BYTEAOID, JSONBOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		ttsp_spectrogram_type(), INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8ARRAYOID, INT4OID, TEXTOID,
	TEXTARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, BOOLARRAYOID, TEXTOID};
	bool		v0_2 = table_is_0_2();
	bool		v0_3 = model_table_pools();
	/* 0.3.0's too: a table with them has pool */
	bool		covs = v0_3 && table_has_covariates();
	int			nargs = covs ? 23 : v0_3 ? 18 : v0_2 ? 17 : 11;
	char		nulls[23];
	bool		isnull;
	char	   *sql;

	args[0] = CStringGetTextDatum(rec->name);
	args[1] = CStringGetTextDatum(rec->task == TTSP_TASK_CLASSIFICATION ? "classification" : "regression");
	args[2] = jsonb_datum(rec->architecture);
	args[3] = jsonb_datum(rec->hyperparameters);
	args[4] = rec->features;
	args[5] = rec->feature_template ? PointerGetDatum(ttsp_float4_array(1, dims, rec->norm_mean)) : (Datum) 0;
	args[6] = rec->feature_template ? PointerGetDatum(ttsp_float4_array(1, dims, rec->norm_std)) : (Datum) 0;
	args[7] = PointerGetDatum(rec->weights);
	args[8] = jsonb_datum(rec->metrics);
	args[9] = float8_array(rec->train_loss, rec->epochs);
	args[10] = float8_array(rec->test_loss, rec->epochs);
	args[11] = PointerGetDatum(rec->feature_template);
	args[12] = Int32GetDatum(rec->frames);
	args[13] = Float8GetDatum(rec->target_mean);
	args[14] = Float8GetDatum(rec->target_std);
	args[15] = float8_array(rec->validation_loss, rec->epochs);
	args[16] = Int32GetDatum(rec->best_epoch);
	args[17] = CStringGetTextDatum(model_pool_name(rec->pool));
	/* a linear model has no epochs: no best one; before 0.3.0 the start (0) was none either */
	memset(nulls, ' ', sizeof(nulls));
	if (rec->best_epoch < (v0_3 ? 0 : 1))
		nulls[16] = 'n';
	/* a linear model pools its features itself; a covariates-only model has none */
	if (rec->best_epoch < 0 || rec->feature_template == NULL)
		nulls[17] = 'n';
	/* a covariates-only model has no spectrogram input (covariates.c) */
	if (rec->feature_template == NULL)
		nulls[4] = nulls[5] = nulls[6] = nulls[11] = nulls[12] = 'n';
	covariates_model_args(rec->covariates, rec->source, args + 18, nulls + 18);

	/* one writer per name at a time (needs no privilege beyond INSERT) */
	sql = psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, pg_catalog.hashtext($1))", (int32) ttsp_schema_oid());
	if (SPI_execute_with_args(sql, 1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the model name");
	sql = psprintf("INSERT INTO %s.ttsp_model (name, version, task, architecture, hyperparameters, features, "
				   "norm_mean, norm_std, weights, metrics, train_loss, test_loss%s%s) "
				   "SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11%s%s "
				   "FROM %s.ttsp_model WHERE name = $1 "
				   /* REPEATABLE READ cannot see a version stored meanwhile: 40001, not a key error */
				   "ON CONFLICT DO NOTHING RETURNING version", ttsp_schema(),
				   v0_3 ? ", feature_template, frames, target_mean, target_std, validation_loss, best_epoch, pool" :
				   v0_2 ? ", feature_template, frames, target_mean, target_std, validation_loss, best_epoch" : "",
				   covs ? ", covariates, covariate_mean, covariate_scale, covariate_missing, source" : "",
				   v0_3 ? ", $12, $13, $14, $15, $16, $17, $18" : v0_2 ? ", $12, $13, $14, $15, $16, $17" : "",
				   covs ? ", $19, $20, $21, $22, $23" : "", ttsp_schema());
	if (rec->covariates != NULL && !covs)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ttsp_model has no covariate columns"),
				 errhint("Run ALTER EXTENSION ttsp UPDATE.")));
	if (SPI_execute_with_args(sql, nargs, types, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not store the model");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not store model \"%s\": another session stored a version meanwhile", rec->name),
				 errhint("Retry the transaction.")));
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Citus is loaded (its settings exist): this may be a worker running a shard query. */
static bool
citus_loaded(void)
{
	return GetConfigOption("citus.node_conninfo", true, false) != NULL;
}

#define CITUS_HINT "On Citus, ttsp_predict by name looks the model up on the node that runs the shard query. " \
	"Make ttsp_model a reference table and pass the row instead: " \
	"SELECT ttsp_predict(m.model, s.spec) FROM sounds s JOIN ttsp_latest_model m ON m.name = '...'."

/* Run the lookup; on Citus, an error (a distributed query inside a shard query) gets the hint above. */
static void
find_query(const char *sql, Datum *args, Oid *types)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		if (SPI_execute_with_args(sql, 2, types, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "model lookup failed");
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (!citus_loaded())
			PG_RE_THROW();
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->hint == NULL)
			edata->hint = pstrdup(CITUS_HINT);
		ReThrowError(edata);
	}
	PG_END_TRY();
}

static void
report_missing(const char *name, int32 version)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 version > 0 ? errmsg("model \"%s\" has no version %d", name, version)
			 : errmsg("model \"%s\" does not exist", name),
			 citus_loaded() ? errhint(CITUS_HINT)
			 : errhint("Train it with ttsp_train, or list models with SELECT name, version FROM ttsp_model.")));
}

/* ttsp_model's primary key, if it is still the B-tree on (name, version) that the install script made. */
static Relation
open_key_index(Relation rel)
{
	Oid			idxid = RelationGetPrimaryKeyIndex(rel);
	Relation	idx;
	Form_pg_index ind;

	if (!OidIsValid(idxid))
		return NULL;
	idx = index_open(idxid, AccessShareLock);
	ind = idx->rd_index;
	if (idx->rd_rel->relam == BTREE_AM_OID && ind->indisvalid && ind->indnkeyatts == 2 &&
		ind->indkey.values[0] == SPI_fnumber(RelationGetDescr(rel), "name") &&
		ind->indkey.values[1] == SPI_fnumber(RelationGetDescr(rel), "version") &&
		TupleDescAttr(RelationGetDescr(idx), 0)->atttypid == TEXTOID &&
		TupleDescAttr(RelationGetDescr(idx), 1)->atttypid == INT4OID)
		return idx;
	index_close(idx, AccessShareLock);
	return NULL;
}

/*
 * Whether the lookup can read ttsp_model's primary key directly and see
 * exactly the rows the query in model_table_find would: a plain heap table
 * of 0.2.0 or later, SELECT granted on the whole table, no row security, no
 * child tables, a statement snapshot, and no Citus (whose shard queries go
 * through its planner).
 */
static bool
direct_ok(Relation rel)
{
	return rel->rd_rel->relkind == RELKIND_RELATION && rel->rd_rel->relam == HEAP_TABLE_AM_OID &&
		!rel->rd_rel->relhassubclass && ActiveSnapshotSet() && !citus_loaded() && table_is_0_2() &&
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) == ACLCHECK_OK &&
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_NONE;
}

/*
 * The lookup without SQL: a backward scan of the primary key under the
 * statement's snapshot, so the first row is the highest version.  A new
 * backend's first prediction otherwise parses and plans the query with cold
 * catalog caches, and every transaction's first prediction plans it again.
 * Returns false, having found nothing, where direct_ok says the query must
 * run instead; the table stays locked, as a query leaves it.
 */
static bool
find_direct(const char *name, int32 version, ModelRowId *id)
{
	Relation	rel = open_model_table();
	Relation	idx;
	ScanKeyData keys[2];
	int			nkeys = version > 0 ? 2 : 1;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	bool		isnull;

	if (rel == NULL)
		return false;
	if (!direct_ok(rel) || (idx = open_key_index(rel)) == NULL)
	{
		table_close(rel, AccessShareLock);
		return false;
	}
	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, idx->rd_indcollation[0],
						   F_TEXTEQ, CStringGetTextDatum(name));
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid, idx->rd_indcollation[1],
						   F_INT4EQ, Int32GetDatum(version));
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	slot = table_slot_create(rel, NULL);
	if (!index_getnext_slot(scan, BackwardScanDirection, slot))
		report_missing(name, version);
	id->row = ExecCopySlotHeapTuple(slot);
	id->desc = CreateTupleDescCopy(RelationGetDescr(rel));
	id->version = DatumGetInt32(heap_getattr(id->row, SPI_fnumber(id->desc, "version"), id->desc, &isnull));
	id->xmin = HeapTupleHeaderGetRawXmin(id->row->t_data);
	id->ctid = id->row->t_self;
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, NoLock);
	table_close(rel, NoLock);
	return true;
}

ModelRowId
model_table_find(const char *name, int32 version)
{
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};
	Oid			types[2] = {TEXTOID, INT4OID};
	ModelRowId	id;
	bool		isnull;
	char	   *sql;

	if (find_direct(name, version, &id))
		return id;

	/*
	 * With the whole row (a 0.2.0+ table: decode_model_row reads it by
	 * name), so that a model not yet cached costs one query, not two.
	 */
	sql = psprintf("SELECT version, xmin::text::bigint, ctid%s FROM %s.ttsp_model m "
				   "WHERE name = $1 AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1",
				   table_is_0_2() ? ", m.*" : "", ttsp_schema());
	find_query(sql, args, types);
	if (SPI_processed == 0)
		report_missing(name, version);
	id.version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	id.xmin = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	id.ctid = *(ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	id.row = SPI_tuptable->tupdesc->natts > 3 ? SPI_tuptable->vals[0] : NULL;
	id.desc = SPI_tuptable->tupdesc;
	return id;
}

HeapTuple
model_table_fetch(const char *name, int32 version, TupleDesc *desc)
{
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};
	Oid			types[2] = {TEXTOID, INT4OID};
	char	   *sql;

	if (table_is_0_2())
		/* every column: decode_model_row reads the ones this table has by name */
		sql = psprintf("SELECT * FROM %s.ttsp_model WHERE name = $1 AND version = $2", ttsp_schema());
	else
		/* a 0.1.0 table: the template from features, as 0.1.0 did and the update script does */
		sql = psprintf("SELECT task, (features OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('shape', "
					   "pg_catalog.jsonb_build_array(c, b, 1), 'data', "
					   "pg_catalog.to_jsonb(pg_catalog.array_fill(0::real, ARRAY[c, b, 1]))))::text::%s.spectrogram "
					   "AS feature_template, (architecture->>'frames')::int AS frames, norm_mean, norm_std, weights, "
					   "coalesce((architecture->>'target_mean')::float8, 0) AS target_mean, "
					   "coalesce((architecture->>'target_std')::float8, 1) AS target_std "
					   "FROM %s.ttsp_model, LATERAL (SELECT (features->'shape'->>0)::int AS c, "
					   "(features->'shape'->>1)::int AS b) s WHERE name = $1 AND version = $2",
					   ttsp_schema(), ttsp_schema());
	if (SPI_execute_with_args(sql, 2, types, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model load failed");
	*desc = SPI_tuptable->tupdesc;
	return SPI_tuptable->vals[0];
}

char *
model_table_newest(void)
{
	char	   *sql;

	sql = psprintf("SELECT name FROM %s.ttsp_model ORDER BY created_at DESC, version DESC LIMIT 1", ttsp_schema());
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "default model lookup failed");
	return SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
}
