/*
 * The spectrogram type: text I/O (a JSON object that round-trips exactly),
 * binary I/O, accessors, conversion to and from real[] and time slicing.
 */
#include "spectrogram.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"

#include "melspec.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "args.h"
#include "ttsp_glue.h"

PG_FUNCTION_INFO_V1(spectrogram_in);
PG_FUNCTION_INFO_V1(spectrogram_out);
PG_FUNCTION_INFO_V1(spectrogram_recv);
PG_FUNCTION_INFO_V1(spectrogram_send);
PG_FUNCTION_INFO_V1(ttsp_spec_channels);
PG_FUNCTION_INFO_V1(ttsp_spec_bins);
PG_FUNCTION_INFO_V1(ttsp_spec_frames);
PG_FUNCTION_INFO_V1(ttsp_spec_sample_rate);
PG_FUNCTION_INFO_V1(ttsp_spec_duration);
PG_FUNCTION_INFO_V1(ttsp_spec_kind);
PG_FUNCTION_INFO_V1(ttsp_spec_params);
PG_FUNCTION_INFO_V1(ttsp_spec_to_array);
PG_FUNCTION_INFO_V1(ttsp_make_spectrogram);
PG_FUNCTION_INFO_V1(ttsp_spec_from_array);
PG_FUNCTION_INFO_V1(ttsp_slice);

Spectrogram *
spectrogram_alloc(int channels, int bins, int frames)
{
	Spectrogram *spec;
	Size		n = ttsp_spec_shape_values(channels, bins, frames);
	Size		size;

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("spectrogram of %d x %d x %d values is not possible", channels, bins, frames),
				 errdetail("Each dimension must be at least 1, and the total at most about %zu values, "
						   "so that the text form (COPY, pg_dump) fits in 1 GB.",
						   (Size) SPECTROGRAM_MAX_VALUES)));
	size = SPECTROGRAM_HEADER_SIZE + n * sizeof(float4);
	spec = palloc0(size);
	SET_VARSIZE(spec, size);
	ttsp_spec_header_init(&spec->h, channels, bins, frames);
	return spec;
}

static Size
spectrogram_nvalues(const Spectrogram *spec)
{
	return (Size) spec->h.channels * spec->h.bins * spec->h.frames;
}

void
spectrogram_validate(const Spectrogram *spec)
{
	ttsp_error	err;

	ttsp_check(ttsp_spec_validate(&spec->h, VARSIZE(spec) - SPECTROGRAM_HEADER_SIZE, &err), &err);
	ttsp_check(ttsp_spec_check_values(spec->data, spectrogram_nvalues(spec), &err), &err);
}

/* ---- text output: one JSON object ---- */

static void
append_float(StringInfo buf, float4 v)
{
	char		tmp[32];

	float_to_shortest_decimal_buf(v, tmp);
	appendStringInfoString(buf, tmp);
}

static void
append_opt_float(StringInfo buf, bool present, float4 v)
{
	if (present && !isnan(v))
		append_float(buf, v);
	else
		appendStringInfoString(buf, "null");
}

static void
append_opt_name(StringInfo buf, bool present, const char *name)
{
	if (present)
		appendStringInfo(buf, "\"%s\"", name);
	else
		appendStringInfoString(buf, "null");
}

#define BOOLSTR(x) ((x) ? "true" : "false")

/* Everything but the data: the text form's head and ttsp_params(). */
static void
append_header(StringInfo buf, const ttsp_spec_header *h)
{
	bool		mel = h->kind != TTSP_KIND_LINEAR;
	bool		mfcc = h->kind == TTSP_KIND_MFCC;
	bool		db = (h->flags & TTSP_SPEC_DB) != 0;
	ttsp_features fs;

	ttsp_features_from_header(h, &fs);
	appendStringInfo(buf, "{\"version\": %d, \"kind\": \"%s\", \"db\": %s, ",
					 h->version, ttsp_spec_kind_name(h), BOOLSTR(db));
	appendStringInfo(buf, "\"sample_rate\": %d, \"n_fft\": %d, \"win_length\": %d, \"hop_length\": %d, \"power\": ",
					 h->sample_rate, h->n_fft, h->win_length, h->hop_length);
	append_float(buf, h->power);
	appendStringInfo(buf, ", \"center\": %s, \"pad_mode\": \"%s\", \"normalized\": %s, \"f_min\": ",
					 BOOLSTR(fs.stft.center), ttsp_pad_mode_name(fs.stft.pad_mode), BOOLSTR(fs.stft.normalized));
	append_opt_float(buf, mel, h->f_min);
	appendStringInfoString(buf, ", \"f_max\": ");
	append_opt_float(buf, mel, h->f_max);
	appendStringInfoString(buf, ", \"mel_scale\": ");
	append_opt_name(buf, mel, ttsp_mel_scale_name(fs.mel_scale));
	appendStringInfoString(buf, ", \"norm\": ");
	append_opt_name(buf, mel, ttsp_mel_norm_name(fs.mel_norm));
	appendStringInfoString(buf, ", \"n_mels\": ");
	if (mfcc)
		appendStringInfo(buf, "%d", h->n_mels);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"dct_norm\": ");
	append_opt_name(buf, mfcc, ttsp_dct_norm_name(fs.mfcc.norm));
	appendStringInfo(buf, ", \"log_mels\": %s, \"top_db\": ", BOOLSTR(fs.mfcc.log_mels));
	append_opt_float(buf, db || mfcc, h->top_db);
	appendStringInfo(buf, ", \"shape\": [%d, %d, %d]", h->channels, h->bins, h->frames);
}

Datum
spectrogram_out(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_P(0);
	StringInfoData buf;
	int			c,
				b,
				f;
	const float4 *v = s->data;

	initStringInfo(&buf);
	append_header(&buf, &s->h);
	appendStringInfoString(&buf, ", \"data\": [");
	for (c = 0; c < s->h.channels; c++)
	{
		appendStringInfoString(&buf, c ? ", [" : "[");
		for (b = 0; b < s->h.bins; b++)
		{
			appendStringInfoString(&buf, b ? ", [" : "[");
			for (f = 0; f < s->h.frames; f++)
			{
				if (f)
					appendStringInfoChar(&buf, ',');
				append_float(&buf, *v++);
			}
			appendStringInfoChar(&buf, ']');
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_CSTRING(buf.data);
}

Datum
ttsp_spec_params(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_HEADER(0);
	StringInfoData buf;

	initStringInfo(&buf);
	append_header(&buf, &s->h);
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* ---- text input: the same JSON object, keys in any order ---- */

typedef struct SpecParser
{
	const char *input;
	const char *p;
} SpecParser;

#define syntax_error(ps, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
			 errmsg("invalid input syntax for type spectrogram: " __VA_ARGS__), \
			 errdetail("Error at character %d.", (int) ((ps)->p - (ps)->input) + 1)))

static void
skip_ws(SpecParser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static bool
accept(SpecParser *ps, char c)
{
	skip_ws(ps);
	if (*ps->p != c)
		return false;
	ps->p++;
	return true;
}

static void
expect(SpecParser *ps, char c)
{
	if (!accept(ps, c))
		syntax_error(ps, "expected \"%c\"", c);
}

static bool
accept_word(SpecParser *ps, const char *word)
{
	size_t		len = strlen(word);

	skip_ws(ps);
	if (strncmp(ps->p, word, len) != 0)
		return false;
	ps->p += len;
	return true;
}

/* A string without escapes: keys and names never need them. */
static char *
parse_string(SpecParser *ps)
{
	const char *start;

	expect(ps, '"');
	start = ps->p;
	while (*ps->p != '"')
	{
		if (*ps->p == '\0' || *ps->p == '\\')
			syntax_error(ps, "unterminated or escaped string");
		ps->p++;
	}
	ps->p++;
	return pnstrdup(start, ps->p - start - 1);
}

/*
 * Length of the JSON number at p, 0 if there is none.  strtod alone would
 * also take hexadecimal, "inf" and "nan".
 */
static Size
json_number_length(const char *p)
{
	const char *s = p;

	if (*s == '-')
		s++;
	if (!isdigit((unsigned char) *s))
		return 0;
	if (*s == '0')
		s++;
	else
		while (isdigit((unsigned char) *s))
			s++;
	if (*s == '.')
	{
		if (!isdigit((unsigned char) s[1]))
			return 0;
		for (s++; isdigit((unsigned char) *s);)
			s++;
	}
	if (*s == 'e' || *s == 'E')
	{
		const char *e = s + 1;

		if (*e == '+' || *e == '-')
			e++;
		if (!isdigit((unsigned char) *e))
			return 0;
		while (isdigit((unsigned char) *e))
			e++;
		s = e;
	}
	return s - p;
}

static double
parse_number(SpecParser *ps)
{
	Size		len;
	double		v;

	skip_ws(ps);
	len = json_number_length(ps->p);
	if (len == 0)
		syntax_error(ps, "expected a number");
	v = strtod(ps->p, NULL);
	ps->p += len;
	return v;
}

static int32
parse_int(SpecParser *ps, const char *key)
{
	double		v = parse_number(ps);

	if (v != floor(v) || v < PG_INT32_MIN || v > PG_INT32_MAX)
		syntax_error(ps, "\"%s\" must be an integer", key);
	return (int32) v;
}

static bool
spec_parse_bool(SpecParser *ps, const char *key)
{
	if (accept_word(ps, "true"))
		return true;
	if (accept_word(ps, "false"))
		return false;
	syntax_error(ps, "\"%s\" must be true or false", key);
}

/* A float4 value: must fit and be finite, as float4in would insist. */
static float4
parse_float4(SpecParser *ps, const char *key)
{
	const char *start;
	Size		len;
	float		v;

	skip_ws(ps);
	start = ps->p;
	len = json_number_length(start);
	if (len == 0)
		syntax_error(ps, "expected a number in \"%s\"", key);
	errno = 0;
	v = strtof(start, NULL);
	/* as float4in: overflow and underflow to zero are errors, subnormals are not */
	if (errno == ERANGE && (isinf(v) || v == 0))
		syntax_error(ps, "value \"%.*s\" in \"%s\" is out of range for type real", (int) len, start, key);
	ps->p += len;
	return v;
}

static void
set_flag(ttsp_spec_header *h, uint8 flag, bool on)
{
	if (on)
		h->flags |= flag;
	else
		h->flags &= ~flag;
}

/* One of two names, or null (which means the first). */
static bool
parse_choice(SpecParser *ps, const char *key, const char *no, const char *yes)
{
	char	   *v;

	if (accept_word(ps, "null"))
		return false;
	v = parse_string(ps);
	if (strcmp(v, yes) == 0)
		return true;
	if (strcmp(v, no) != 0)
		syntax_error(ps, "\"%s\" must be \"%s\" or \"%s\", got \"%s\"", key, no, yes, v);
	return false;
}

static float4
parse_opt_float4(SpecParser *ps, const char *key)
{
	return accept_word(ps, "null") ? get_float4_nan() : parse_float4(ps, key);
}

/* A completed level of nesting must be as long as the first one of its depth. */
static void
check_length(SpecParser *ps, int *first, int len)
{
	if (*first < 0)
		*first = len;
	else if (*first != len)
		syntax_error(ps, "\"data\" is ragged: arrays at one depth differ in length (%d and %d)", *first, len);
}

/*
 * Nested arrays of numbers, flattened in order; nesting depth must be 3 and
 * the arrays at each depth of equal length, given back in dims.
 */
static float4 *
parse_data(SpecParser *ps, Size *count, int dims[3])
{
	int			len[4] = {0, 0, 0, 0};	/* items in the open array at each depth */
	Size		cap = 1024;
	Size		n = 0;
	float4	   *vals = palloc(cap * sizeof(float4));
	int			depth = 0;
	bool		need_value = true;
	bool		after_comma = false;

	expect(ps, '[');
	depth = 1;
	while (depth > 0)
	{
		skip_ws(ps);
		if (*ps->p == '[')
		{
			if (!need_value || depth == 3)
				syntax_error(ps, "\"data\" must be nested three deep: [channel][bin][frame]");
			ps->p++;
			len[depth]++;
			depth++;
			len[depth] = 0;
			after_comma = false;
			continue;
		}
		if (*ps->p == ']')
		{
			if (after_comma)
				syntax_error(ps, "expected a value after \",\" in \"data\"");
			ps->p++;
			if (depth > 1)
				check_length(ps, &dims[depth - 1], len[depth]);
			else
				dims[0] = len[1];
			depth--;
			need_value = false;
			continue;
		}
		if (*ps->p == ',' && !need_value)
		{
			ps->p++;
			need_value = true;
			after_comma = true;
			continue;
		}
		after_comma = false;
		if (!need_value)
			syntax_error(ps, "expected \",\" or \"]\" in \"data\"");
		if (depth != 3)
			syntax_error(ps, "\"data\" must be nested three deep: [channel][bin][frame]");
		if (n == cap)
		{
			if (cap >= SPECTROGRAM_MAX_VALUES)
				syntax_error(ps, "too many values");
			cap = Min(cap * 2, SPECTROGRAM_MAX_VALUES);
			vals = repalloc_huge(vals, cap * sizeof(float4));
		}
		vals[n++] = parse_float4(ps, "data");
		len[3]++;
		need_value = false;
	}
	*count = n;
	return vals;
}

/*
 * Fields that do not apply to the kind (those ttsp_spec_clear_unused
 * resets) must be null or absent: the output prints them as null, so a value
 * there would not round-trip.
 */
static void
reject_unused(SpecParser *ps, const ttsp_spec_header *h, const char *kind)
{
	const char *key = ttsp_spec_unused_field(h);

	if (key != NULL)
		syntax_error(ps, "\"%s\" does not apply to a%s %s spectrogram", key,
					 (h->flags & TTSP_SPEC_DB) ? " dB" : "", kind);
}

/* What the text form gives, field by field, before it is checked as a whole. */
typedef struct TextSpec
{
	ttsp_spec_header hdr;
	char	   *kind;
	bool		db;
	bool		seen_shape;
	int			shape[3];
	float4	   *data;
	Size		count;
	int			data_dims[3];	/* as nested in "data" */
} TextSpec;

/* The value of one key of the object. */
static void
parse_field(SpecParser *ps, const char *key, TextSpec *t)
{
	if (strcmp(key, "version") == 0)
	{
		int32		version = parse_int(ps, key);

		if (version != TTSP_SPEC_VERSION)
			syntax_error(ps, "format version %d is not supported (expected %d)", version, TTSP_SPEC_VERSION);
	}
	else if (strcmp(key, "kind") == 0)
		t->kind = parse_string(ps);
	else if (strcmp(key, "db") == 0)
		t->db = spec_parse_bool(ps, key);
	else if (strcmp(key, "sample_rate") == 0)
		t->hdr.sample_rate = parse_int(ps, key);
	else if (strcmp(key, "n_fft") == 0)
		t->hdr.n_fft = parse_int(ps, key);
	else if (strcmp(key, "win_length") == 0)
		t->hdr.win_length = parse_int(ps, key);
	else if (strcmp(key, "hop_length") == 0)
		t->hdr.hop_length = parse_int(ps, key);
	else if (strcmp(key, "power") == 0)
		t->hdr.power = parse_float4(ps, key);
	else if (strcmp(key, "center") == 0)
		set_flag(&t->hdr, TTSP_SPEC_CENTER, spec_parse_bool(ps, key));
	else if (strcmp(key, "normalized") == 0)
		set_flag(&t->hdr, TTSP_SPEC_NORMALIZED, spec_parse_bool(ps, key));
	else if (strcmp(key, "log_mels") == 0)
		set_flag(&t->hdr, TTSP_SPEC_LOG_MELS, spec_parse_bool(ps, key));
	else if (strcmp(key, "pad_mode") == 0)
	{
		char	   *mode = parse_string(ps);
		ttsp_pad_mode pm;

		if (!ttsp_pad_mode_lookup(mode, &pm))
			syntax_error(ps, "unknown pad_mode \"%s\"", mode);
		t->hdr.pad_mode = pm;
	}
	else if (strcmp(key, "f_min") == 0)
		t->hdr.f_min = parse_opt_float4(ps, key);
	else if (strcmp(key, "f_max") == 0)
		t->hdr.f_max = parse_opt_float4(ps, key);
	else if (strcmp(key, "top_db") == 0)
		t->hdr.top_db = parse_opt_float4(ps, key);
	else if (strcmp(key, "mel_scale") == 0)
		set_flag(&t->hdr, TTSP_SPEC_MEL_SLANEY, parse_choice(ps, key, ttsp_mel_scale_name(TTSP_MEL_HTK),
										ttsp_mel_scale_name(TTSP_MEL_SLANEY)));
	else if (strcmp(key, "norm") == 0)
		set_flag(&t->hdr, TTSP_SPEC_NORM_SLANEY, parse_choice(ps, key, ttsp_mel_norm_name(TTSP_MEL_NORM_NONE),
										ttsp_mel_norm_name(TTSP_MEL_NORM_SLANEY)));
	else if (strcmp(key, "dct_norm") == 0)
		set_flag(&t->hdr, TTSP_SPEC_DCT_ORTHO, parse_choice(ps, key, ttsp_dct_norm_name(TTSP_DCT_NORM_NONE),
										ttsp_dct_norm_name(TTSP_DCT_NORM_ORTHO)));
	else if (strcmp(key, "n_mels") == 0)
		t->hdr.n_mels = accept_word(ps, "null") ? 0 : parse_int(ps, key);
	else if (strcmp(key, "shape") == 0)
	{
		expect(ps, '[');
		t->shape[0] = parse_int(ps, key);
		expect(ps, ',');
		t->shape[1] = parse_int(ps, key);
		expect(ps, ',');
		t->shape[2] = parse_int(ps, key);
		expect(ps, ']');
		t->seen_shape = true;
	}
	else if (strcmp(key, "data") == 0)
	{
		if (t->data != NULL)
			syntax_error(ps, "duplicate key \"data\"");
		t->data = parse_data(ps, &t->count, t->data_dims);
	}
	else
		syntax_error(ps, "unknown key \"%s\"", key);
}

/* kind, power and dB together; fields the kind does not use; FFT defaults. */
static void
settle_kind(SpecParser *ps, TextSpec *t)
{
	ttsp_feature_kind k;
	float		kind_power;

	if (ttsp_spec_kind_from_name(t->kind, &k, &kind_power, NULL) != TTSP_OK)
		syntax_error(ps, "unknown kind \"%s\"", t->kind);
	t->hdr.kind = k;
	/* power may be left out: the kind's (2 for mel and MFCC) */
	if (t->hdr.power == 0)
		t->hdr.power = kind_power;
	if (k == TTSP_KIND_LINEAR && (kind_power == 1.0f) != (t->hdr.power == 1.0f))
		syntax_error(ps, "kind \"%s\" does not match power %g", t->kind, t->hdr.power);
	set_flag(&t->hdr, TTSP_SPEC_DB, t->db);
	reject_unused(ps, &t->hdr, t->kind);
	if (t->hdr.win_length == 0)
		t->hdr.win_length = t->hdr.n_fft;
	if (t->hdr.hop_length == 0)
		t->hdr.hop_length = t->hdr.win_length / 2;
}

Datum
spectrogram_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	SpecParser	ps = {str, str};
	TextSpec	t = {0};
	Spectrogram *spec;

	ttsp_spec_header_init(&t.hdr, 0, 0, 0);
	t.hdr.f_min = t.hdr.f_max = get_float4_nan();
	memset(t.data_dims, -1, sizeof(t.data_dims));
	expect(&ps, '{');
	do
	{
		char	   *key = parse_string(&ps);

		expect(&ps, ':');
		parse_field(&ps, key, &t);
	} while (accept(&ps, ','));
	expect(&ps, '}');
	skip_ws(&ps);
	if (*ps.p != '\0')
		syntax_error(&ps, "unexpected text after the object");
	if (t.kind == NULL || !t.seen_shape || t.data == NULL)
		syntax_error(&ps, "\"kind\", \"shape\" and \"data\" are required");
	settle_kind(&ps, &t);
	if (t.shape[0] < 1 || t.shape[1] < 1 || t.shape[2] < 1 ||
		(Size) t.shape[0] * t.shape[1] > SPECTROGRAM_MAX_VALUES / t.shape[2] ||
		(Size) t.shape[0] * t.shape[1] * t.shape[2] != t.count ||
		t.shape[0] != t.data_dims[0] || t.shape[1] != t.data_dims[1] || t.shape[2] != t.data_dims[2])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type spectrogram: shape [%d, %d, %d] does not match the data, "
						"nested [%d][%d][%d] (%zu values)",
						t.shape[0], t.shape[1], t.shape[2], t.data_dims[0], t.data_dims[1], t.data_dims[2], t.count)));
	spec = spectrogram_alloc(t.shape[0], t.shape[1], t.shape[2]);
	t.hdr.channels = t.shape[0];
	t.hdr.bins = t.shape[1];
	t.hdr.frames = t.shape[2];
	spec->h = t.hdr;
	memcpy(spec->data, t.data, t.count * sizeof(float4));
	spectrogram_validate(spec);
	PG_RETURN_SPECTROGRAM_P(spec);
}

/* ---- binary I/O: header fields then the values, network order ---- */

Datum
spectrogram_send(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_P(0);
	StringInfoData buf;
	Size		n = spectrogram_nvalues(s);
	Size		i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, s->h.version);
	pq_sendbyte(&buf, s->h.kind);
	pq_sendbyte(&buf, s->h.flags);
	pq_sendbyte(&buf, s->h.pad_mode);
	pq_sendint32(&buf, s->h.channels);
	pq_sendint32(&buf, s->h.bins);
	pq_sendint32(&buf, s->h.frames);
	pq_sendint32(&buf, s->h.sample_rate);
	pq_sendint32(&buf, s->h.n_fft);
	pq_sendint32(&buf, s->h.win_length);
	pq_sendint32(&buf, s->h.hop_length);
	pq_sendfloat4(&buf, s->h.power);
	pq_sendfloat4(&buf, s->h.f_min);
	pq_sendfloat4(&buf, s->h.f_max);
	pq_sendfloat4(&buf, s->h.top_db);
	pq_sendint32(&buf, s->h.n_mels);
	for (i = 0; i < n; i++)
		pq_sendfloat4(&buf, s->data[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
spectrogram_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	ttsp_spec_header hdr;
	Spectrogram *spec;
	Size		n;
	Size		i;

	hdr.version = pq_getmsgbyte(buf);
	hdr.kind = pq_getmsgbyte(buf);
	hdr.flags = pq_getmsgbyte(buf);
	hdr.pad_mode = pq_getmsgbyte(buf);
	hdr.channels = pq_getmsgint(buf, 4);
	hdr.bins = pq_getmsgint(buf, 4);
	hdr.frames = pq_getmsgint(buf, 4);
	if (hdr.channels < 1 || hdr.bins < 1 || hdr.frames < 1 ||
		(Size) hdr.channels * hdr.bins > SPECTROGRAM_MAX_VALUES / hdr.frames)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid spectrogram shape %d x %d x %d", hdr.channels, hdr.bins, hdr.frames)));
	n = (Size) hdr.channels * hdr.bins * hdr.frames;
	/* each value takes 4 bytes: refuse before allocating for a lying header */
	if (n > (Size) (buf->len - buf->cursor) / 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("spectrogram shape %d x %d x %d needs more data than was sent",
						hdr.channels, hdr.bins, hdr.frames)));
	spec = spectrogram_alloc(hdr.channels, hdr.bins, hdr.frames);
	spec->h.version = hdr.version;
	spec->h.kind = hdr.kind;
	spec->h.flags = hdr.flags;
	spec->h.pad_mode = hdr.pad_mode;
	spec->h.sample_rate = pq_getmsgint(buf, 4);
	spec->h.n_fft = pq_getmsgint(buf, 4);
	spec->h.win_length = pq_getmsgint(buf, 4);
	spec->h.hop_length = pq_getmsgint(buf, 4);
	spec->h.power = pq_getmsgfloat4(buf);
	spec->h.f_min = pq_getmsgfloat4(buf);
	spec->h.f_max = pq_getmsgfloat4(buf);
	spec->h.top_db = pq_getmsgfloat4(buf);
	spec->h.n_mels = pq_getmsgint(buf, 4);
	for (i = 0; i < n; i++)
		spec->data[i] = pq_getmsgfloat4(buf);
	ttsp_spec_clear_unused(&spec->h);
	spectrogram_validate(spec);
	PG_RETURN_SPECTROGRAM_P(spec);
}

/* ---- accessors ---- */

Datum
ttsp_spec_channels(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->h.channels);
}

Datum
ttsp_spec_bins(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->h.bins);
}

Datum
ttsp_spec_frames(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->h.frames);
}

Datum
ttsp_spec_sample_rate(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->h.sample_rate);
}

/* Seconds of audio the frames stand for: frames x hop / rate. */
Datum
ttsp_spec_duration(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_HEADER(0);

	PG_RETURN_FLOAT8((double) s->h.frames * s->h.hop_length / s->h.sample_rate);
}

Datum
ttsp_spec_kind(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_HEADER(0);

	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s%s", ttsp_spec_kind_name(&s->h),
											  (s->h.flags & TTSP_SPEC_DB) ? "_db" : "")));
}

Datum
ttsp_spec_to_array(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_P(0);
	int			dims[3] = {s->h.channels, s->h.bins, s->h.frames};

	PG_RETURN_ARRAYTYPE_P(ttsp_float4_array(3, dims, s->data));
}

/*
 * ttsp_make_spectrogram(data real[], kind, sample_rate, n_fft, ...): 2-D
 * [bin][frame] (one channel) or 3-D [channel][bin][frame] values with the
 * parameters that describe them.
 */
Datum
ttsp_make_spectrogram(PG_FUNCTION_ARGS)
{
	static const char *const required[] = {"data", "kind", "sample_rate", "n_fft", "db", "center"};
	ArrayType  *arr;
	char	   *kind;
	int			ndim;
	int		   *dims;
	Spectrogram *spec;
	Size		i;

	/* not STRICT, for the NULL defaults of hop_length and win_length */
	for (i = 0; i < lengthof(required); i++)
		arg_require(fcinfo, required[i]);
	arr = DatumGetArrayTypeP(arg_datum(fcinfo, "data"));
	kind = arg_text(fcinfo, "kind");
	ndim = ARR_NDIM(arr);
	dims = ARR_DIMS(arr);

	if (ARR_ELEMTYPE(arr) != FLOAT4OID)
		elog(ERROR, "expected a real[] array");
	if (ndim != 2 && ndim != 3)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("spectrogram data must be a 2-D [bin][frame] or 3-D [channel][bin][frame] array, got %d dimensions",
						ndim)));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("spectrogram data must not contain NULLs")));
	spec = ndim == 2 ? spectrogram_alloc(1, dims[0], dims[1])
		: spectrogram_alloc(dims[0], dims[1], dims[2]);
	memcpy(spec->data, ARR_DATA_PTR(arr), spectrogram_nvalues(spec) * sizeof(float4));

	{
		ttsp_feature_kind k;
		ttsp_error	err;

		if (ttsp_spec_kind_from_name(kind, &k, &spec->h.power, &err) != TTSP_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", err.msg),
					 errhint("Use power, magnitude, mel or mfcc.")));
		spec->h.kind = k;
	}
	spec->h.sample_rate = arg_int32(fcinfo, "sample_rate", 0);
	spec->h.n_fft = arg_int32(fcinfo, "n_fft", 0);
	spec->h.win_length = arg_int32(fcinfo, "win_length", spec->h.n_fft);
	spec->h.hop_length = arg_int32(fcinfo, "hop_length", spec->h.win_length / 2);
	if (arg_bool(fcinfo, "db", false))
		spec->h.flags |= TTSP_SPEC_DB;
	if (arg_bool(fcinfo, "center", true))
		spec->h.flags |= TTSP_SPEC_CENTER;
	/* the defaults of ttsp_mel_spectrogram and ttsp_mfcc, so that headers compare equal */
	if (spec->h.kind != TTSP_KIND_LINEAR)
	{
		spec->h.f_min = 0;
		spec->h.f_max = (float4) ttsp_mel_default_f_max(spec->h.sample_rate);
	}
	if (spec->h.kind == TTSP_KIND_MFCC)
	{
		spec->h.n_mels = spec->h.bins;
		spec->h.flags |= TTSP_SPEC_DCT_ORTHO;
		spec->h.top_db = 80.0f;
	}
	ttsp_spec_clear_unused(&spec->h);
	spectrogram_validate(spec);
	PG_RETURN_SPECTROGRAM_P(spec);
}

/* The C name of ttsp_make_spectrogram in 0.1.0's script, until ALTER EXTENSION UPDATE. */
Datum
ttsp_spec_from_array(PG_FUNCTION_ARGS)
{
	return ttsp_make_spectrogram(fcinfo);
}

/*
 * Frames [start, start + duration) by time, for fixed-length model inputs.
 * Frames past the end are padding: 0 (silence) for linear and mel values,
 * the spectrogram's minimum for dB ones.
 */
Datum
ttsp_slice(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_P(0);
	float8		start_s = PG_GETARG_FLOAT8(1);
	float8		duration_s = PG_GETARG_FLOAT8(2);
	float8		fps = (float8) s->h.sample_rate / s->h.hop_length;
	float8		first_f = rint(start_s * fps);
	float8		count_f = rint(duration_s * fps);
	Spectrogram *out;
	float4		pad = 0;
	int			first,
				count,
				c,
				b;

	if (!isfinite(start_s) || start_s < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_s must be a finite number >= 0, got %g", start_s)));
	if (!isfinite(duration_s) || count_f < 1 || count_f > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("duration_s %g is less than one frame (%g s) or too long", duration_s, 1 / fps)));
	if (first_f >= s->h.frames)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_s %g is past the last frame of the spectrogram", start_s),
				 errdetail("Frames are %g s apart; start_s is rounded to the nearest, and the last starts at %g s.",
						   1 / fps, (s->h.frames - 1) / fps)));
	first = (int) first_f;
	count = (int) count_f;
	if ((s->h.flags & TTSP_SPEC_DB) && s->h.kind != TTSP_KIND_MFCC)
	{
		Size		i;

		pad = s->data[0];
		for (i = 1; i < spectrogram_nvalues(s); i++)
			pad = Min(pad, s->data[i]);
	}
	out = spectrogram_alloc(s->h.channels, s->h.bins, count);
	out->h = s->h;
	out->h.frames = count;
	for (c = 0; c < s->h.channels; c++)
		for (b = 0; b < s->h.bins; b++)
		{
			const float4 *src = s->data + ((Size) c * s->h.bins + b) * s->h.frames;
			float4	   *dst = out->data + ((Size) c * s->h.bins + b) * count;
			int			avail = Min(count, s->h.frames - first);
			int			f;

			memcpy(dst, src + first, avail * sizeof(float4));
			for (f = avail; f < count; f++)
				dst[f] = pad;
		}
	PG_RETURN_SPECTROGRAM_P(out);
}
