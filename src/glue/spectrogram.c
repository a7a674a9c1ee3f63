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
PG_FUNCTION_INFO_V1(ttsp_spec_from_array);
PG_FUNCTION_INFO_V1(ttsp_slice);

static const char *const pad_mode_names[] = {"reflect", "constant", "replicate", "circular"};

Spectrogram *
spectrogram_alloc(int channels, int bins, int frames)
{
	Spectrogram *spec;
	Size		n = (Size) channels * bins * frames;
	Size		size;

	if (channels < 1 || bins < 1 || frames < 1 || !SPECTROGRAM_TEXT_FITS(channels, bins, frames))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("spectrogram of %d x %d x %d values is not possible", channels, bins, frames),
				 errdetail("Each dimension must be at least 1, and the total at most about %zu values, "
						   "so that the text form (COPY, pg_dump) fits in 1 GB.",
						   (Size) SPECTROGRAM_MAX_VALUES)));
	size = SPECTROGRAM_HEADER_SIZE + n * sizeof(float4);
	spec = palloc0(size);
	SET_VARSIZE(spec, size);
	spec->version = SPECTROGRAM_VERSION;
	spec->channels = channels;
	spec->bins = bins;
	spec->frames = frames;
	spec->top_db = get_float4_nan();
	return spec;
}

static Size
spectrogram_nvalues(const Spectrogram *spec)
{
	return (Size) spec->channels * spec->bins * spec->frames;
}

const char *
spectrogram_kind_name(const Spectrogram *spec)
{
	switch (spec->kind)
	{
		case SPEC_LINEAR:
			return spec->power == 1.0f ? "magnitude" : "power";
		case SPEC_MEL:
			return "mel";
		default:
			return "mfcc";
	}
}

#define invalid_spec(...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
			 errmsg("invalid spectrogram: " __VA_ARGS__)))

void
spectrogram_clear_unused(Spectrogram *spec)
{
	if (spec->kind == SPEC_LINEAR)
	{
		spec->f_min = spec->f_max = get_float4_nan();
		spec->flags &= ~(SPEC_FLAG_MEL_SLANEY | SPEC_FLAG_NORM_SLANEY);
	}
	if (spec->kind != SPEC_MFCC)
	{
		spec->n_mels = 0;
		spec->flags &= ~(SPEC_FLAG_DCT_ORTHO | SPEC_FLAG_LOG_MELS);
		if (!(spec->flags & SPEC_FLAG_DB))
			spec->top_db = get_float4_nan();
	}
}

void
spectrogram_validate(const Spectrogram *spec)
{
	Size		n;
	Size		i;

	if (spec->version != SPECTROGRAM_VERSION)
		invalid_spec("format version %d is not supported (expected %d)", spec->version, SPECTROGRAM_VERSION);
	if (spec->kind > SPEC_MFCC)
		invalid_spec("unknown kind %d", spec->kind);
	if (spec->flags & ~SPEC_KNOWN_FLAGS)
		invalid_spec("unknown flags 0x%x", spec->flags);
	if (spec->pad_mode > SPEC_PAD_CIRCULAR)
		invalid_spec("unknown pad_mode %d", spec->pad_mode);
	if (spec->channels < 1 || spec->bins < 1 || spec->frames < 1)
		invalid_spec("shape %d x %d x %d has an empty dimension", spec->channels, spec->bins, spec->frames);
	if (!SPECTROGRAM_TEXT_FITS(spec->channels, spec->bins, spec->frames))
		invalid_spec("shape %d x %d x %d is too large", spec->channels, spec->bins, spec->frames);
	n = spectrogram_nvalues(spec);
	if (VARSIZE(spec) != SPECTROGRAM_HEADER_SIZE + n * sizeof(float4))
		invalid_spec("shape %d x %d x %d does not match its %zu bytes of data",
					 spec->channels, spec->bins, spec->frames,
					 (Size) (VARSIZE(spec) - SPECTROGRAM_HEADER_SIZE));
	if (spec->sample_rate < 1)
		invalid_spec("sample_rate must be positive, got %d", spec->sample_rate);
	if (spec->n_fft < 2 || spec->win_length < 1 || spec->win_length > spec->n_fft)
		invalid_spec("need 2 <= n_fft and 1 <= win_length <= n_fft, got n_fft %d, win_length %d",
					 spec->n_fft, spec->win_length);
	if (spec->hop_length < 1)
		invalid_spec("hop_length must be positive, got %d", spec->hop_length);
	if (!(spec->power > 0) || isinf(spec->power))
		invalid_spec("power must be positive, got %g", spec->power);
	if (spec->kind == SPEC_LINEAR && spec->bins != spec->n_fft / 2 + 1)
		invalid_spec("a %s spectrogram with n_fft %d has %d bins, not %d",
					 spectrogram_kind_name(spec), spec->n_fft, spec->n_fft / 2 + 1, spec->bins);
	if (spec->kind != SPEC_LINEAR &&
		(!isfinite(spec->f_min) || !isfinite(spec->f_max) || spec->f_min < 0 || spec->f_min >= spec->f_max))
		invalid_spec("need 0 <= f_min < f_max, got f_min %g, f_max %g", spec->f_min, spec->f_max);
	if (spec->kind == SPEC_MFCC && (spec->flags & SPEC_FLAG_DB))
		invalid_spec("MFCC coefficients are not in dB");
	if (spec->kind != SPEC_MFCC && (spec->flags & (SPEC_FLAG_LOG_MELS | SPEC_FLAG_DCT_ORTHO)))
		invalid_spec("log_mels and dct_norm apply to MFCC only");
	if (spec->kind == SPEC_MFCC && spec->n_mels < spec->bins)
		invalid_spec("n_mfcc %d exceeds n_mels %d", spec->bins, spec->n_mels);
	if (!isnan(spec->top_db) && !(spec->top_db >= 0 && isfinite(spec->top_db)))
		invalid_spec("top_db must be a non-negative number or null, got %g", spec->top_db);
	for (i = 0; i < n; i++)
		if (!isfinite(spec->data[i]))
			invalid_spec("value %zu is %g; values must be finite", i + 1, spec->data[i]);
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
append_opt_name(StringInfo buf, bool present, bool flag, const char *yes, const char *no)
{
	if (present)
		appendStringInfo(buf, "\"%s\"", flag ? yes : no);
	else
		appendStringInfoString(buf, "null");
}

#define BOOLSTR(x) ((x) ? "true" : "false")

/* Everything but the data: the text form's head and ttsp_params(). */
static void
append_header(StringInfo buf, const Spectrogram *s)
{
	bool		mel = s->kind != SPEC_LINEAR;
	bool		mfcc = s->kind == SPEC_MFCC;
	bool		db = (s->flags & SPEC_FLAG_DB) != 0;

	appendStringInfo(buf, "{\"version\": %d, \"kind\": \"%s\", \"db\": %s, ",
					 s->version, spectrogram_kind_name(s), BOOLSTR(db));
	appendStringInfo(buf, "\"sample_rate\": %d, \"n_fft\": %d, \"win_length\": %d, \"hop_length\": %d, \"power\": ",
					 s->sample_rate, s->n_fft, s->win_length, s->hop_length);
	append_float(buf, s->power);
	appendStringInfo(buf, ", \"center\": %s, \"pad_mode\": \"%s\", \"normalized\": %s, \"f_min\": ",
					 BOOLSTR(s->flags & SPEC_FLAG_CENTER), pad_mode_names[s->pad_mode],
					 BOOLSTR(s->flags & SPEC_FLAG_NORMALIZED));
	append_opt_float(buf, mel, s->f_min);
	appendStringInfoString(buf, ", \"f_max\": ");
	append_opt_float(buf, mel, s->f_max);
	appendStringInfoString(buf, ", \"mel_scale\": ");
	append_opt_name(buf, mel, s->flags & SPEC_FLAG_MEL_SLANEY, "slaney", "htk");
	appendStringInfoString(buf, ", \"norm\": ");
	append_opt_name(buf, mel, s->flags & SPEC_FLAG_NORM_SLANEY, "slaney", "none");
	appendStringInfoString(buf, ", \"n_mels\": ");
	if (mfcc)
		appendStringInfo(buf, "%d", s->n_mels);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"dct_norm\": ");
	append_opt_name(buf, mfcc, s->flags & SPEC_FLAG_DCT_ORTHO, "ortho", "none");
	appendStringInfo(buf, ", \"log_mels\": %s, \"top_db\": ", BOOLSTR(s->flags & SPEC_FLAG_LOG_MELS));
	append_opt_float(buf, db || mfcc, s->top_db);
	appendStringInfo(buf, ", \"shape\": [%d, %d, %d]", s->channels, s->bins, s->frames);
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
	append_header(&buf, s);
	appendStringInfoString(&buf, ", \"data\": [");
	for (c = 0; c < s->channels; c++)
	{
		appendStringInfoString(&buf, c ? ", [" : "[");
		for (b = 0; b < s->bins; b++)
		{
			appendStringInfoString(&buf, b ? ", [" : "[");
			for (f = 0; f < s->frames; f++)
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
	append_header(&buf, s);
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
set_flag(Spectrogram *s, uint8 flag, bool on)
{
	if (on)
		s->flags |= flag;
	else
		s->flags &= ~flag;
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
 * Fields that do not apply to the kind (those spectrogram_clear_unused
 * resets) must be null or absent: the output prints them as null, so a value
 * there would not round-trip.
 */
static void
reject_unused(SpecParser *ps, const Spectrogram *h, const char *kind)
{
	Spectrogram c = *h;
	uint8		dropped;
	const char *key;

	spectrogram_clear_unused(&c);
	dropped = h->flags & ~c.flags;
	key = !isnan(h->f_min) && isnan(c.f_min) ? "f_min"
		: !isnan(h->f_max) && isnan(c.f_max) ? "f_max"
		: (dropped & SPEC_FLAG_MEL_SLANEY) ? "mel_scale"
		: (dropped & SPEC_FLAG_NORM_SLANEY) ? "norm"
		: h->n_mels != c.n_mels ? "n_mels"
		: (dropped & SPEC_FLAG_DCT_ORTHO) ? "dct_norm"
		: (dropped & SPEC_FLAG_LOG_MELS) ? "log_mels"
		: !isnan(h->top_db) && isnan(c.top_db) ? "top_db" : NULL;
	if (key != NULL)
		syntax_error(ps, "\"%s\" does not apply to a%s %s spectrogram", key,
					 (h->flags & SPEC_FLAG_DB) ? " dB" : "", kind);
}

Datum
spectrogram_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	SpecParser	ps = {str, str};
	Spectrogram hdr;
	Spectrogram *spec;
	int			shape[3] = {0, 0, 0};
	float4	   *data = NULL;
	Size		count = 0;
	char	   *kind = NULL;
	bool		db = false;
	bool		seen_shape = false;
	int			data_dims[3] = {-1, -1, -1};

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = SPECTROGRAM_VERSION;
	hdr.top_db = get_float4_nan();
	hdr.f_min = hdr.f_max = get_float4_nan();
	expect(&ps, '{');
	do
	{
		char	   *key = parse_string(&ps);

		expect(&ps, ':');
		if (strcmp(key, "version") == 0)
		{
			int32		version = parse_int(&ps, key);

			if (version != SPECTROGRAM_VERSION)
				syntax_error(&ps, "format version %d is not supported (expected %d)", version, SPECTROGRAM_VERSION);
		}
		else if (strcmp(key, "kind") == 0)
			kind = parse_string(&ps);
		else if (strcmp(key, "db") == 0)
			db = spec_parse_bool(&ps, key);
		else if (strcmp(key, "sample_rate") == 0)
			hdr.sample_rate = parse_int(&ps, key);
		else if (strcmp(key, "n_fft") == 0)
			hdr.n_fft = parse_int(&ps, key);
		else if (strcmp(key, "win_length") == 0)
			hdr.win_length = parse_int(&ps, key);
		else if (strcmp(key, "hop_length") == 0)
			hdr.hop_length = parse_int(&ps, key);
		else if (strcmp(key, "power") == 0)
			hdr.power = parse_float4(&ps, key);
		else if (strcmp(key, "center") == 0)
			set_flag(&hdr, SPEC_FLAG_CENTER, spec_parse_bool(&ps, key));
		else if (strcmp(key, "normalized") == 0)
			set_flag(&hdr, SPEC_FLAG_NORMALIZED, spec_parse_bool(&ps, key));
		else if (strcmp(key, "log_mels") == 0)
			set_flag(&hdr, SPEC_FLAG_LOG_MELS, spec_parse_bool(&ps, key));
		else if (strcmp(key, "pad_mode") == 0)
		{
			char	   *mode = parse_string(&ps);
			Size		i;

			for (i = 0; i < lengthof(pad_mode_names); i++)
				if (strcmp(mode, pad_mode_names[i]) == 0)
					break;
			if (i == lengthof(pad_mode_names))
				syntax_error(&ps, "unknown pad_mode \"%s\"", mode);
			hdr.pad_mode = i;
		}
		else if (strcmp(key, "f_min") == 0)
			hdr.f_min = parse_opt_float4(&ps, key);
		else if (strcmp(key, "f_max") == 0)
			hdr.f_max = parse_opt_float4(&ps, key);
		else if (strcmp(key, "top_db") == 0)
			hdr.top_db = parse_opt_float4(&ps, key);
		else if (strcmp(key, "mel_scale") == 0)
			set_flag(&hdr, SPEC_FLAG_MEL_SLANEY, parse_choice(&ps, key, "htk", "slaney"));
		else if (strcmp(key, "norm") == 0)
			set_flag(&hdr, SPEC_FLAG_NORM_SLANEY, parse_choice(&ps, key, "none", "slaney"));
		else if (strcmp(key, "dct_norm") == 0)
			set_flag(&hdr, SPEC_FLAG_DCT_ORTHO, parse_choice(&ps, key, "none", "ortho"));
		else if (strcmp(key, "n_mels") == 0)
			hdr.n_mels = accept_word(&ps, "null") ? 0 : parse_int(&ps, key);
		else if (strcmp(key, "shape") == 0)
		{
			expect(&ps, '[');
			shape[0] = parse_int(&ps, key);
			expect(&ps, ',');
			shape[1] = parse_int(&ps, key);
			expect(&ps, ',');
			shape[2] = parse_int(&ps, key);
			expect(&ps, ']');
			seen_shape = true;
		}
		else if (strcmp(key, "data") == 0)
		{
			if (data != NULL)
				syntax_error(&ps, "duplicate key \"data\"");
			data = parse_data(&ps, &count, data_dims);
		}
		else
			syntax_error(&ps, "unknown key \"%s\"", key);
	} while (accept(&ps, ','));
	expect(&ps, '}');
	skip_ws(&ps);
	if (*ps.p != '\0')
		syntax_error(&ps, "unexpected text after the object");
	if (kind == NULL || !seen_shape || data == NULL)
		syntax_error(&ps, "\"kind\", \"shape\" and \"data\" are required");

	if (strcmp(kind, "power") == 0 || strcmp(kind, "magnitude") == 0)
	{
		hdr.kind = SPEC_LINEAR;
		if (hdr.power == 0)
			hdr.power = kind[0] == 'p' ? 2.0f : 1.0f;
		if ((kind[0] == 'm') != (hdr.power == 1.0f))
			syntax_error(&ps, "kind \"%s\" does not match power %g", kind, hdr.power);
	}
	else if (strcmp(kind, "mel") == 0)
		hdr.kind = SPEC_MEL;
	else if (strcmp(kind, "mfcc") == 0)
		hdr.kind = SPEC_MFCC;
	else
		syntax_error(&ps, "unknown kind \"%s\"", kind);
	if (hdr.power == 0)
		hdr.power = 2.0f;
	set_flag(&hdr, SPEC_FLAG_DB, db);
	reject_unused(&ps, &hdr, kind);
	if (hdr.win_length == 0)
		hdr.win_length = hdr.n_fft;
	if (hdr.hop_length == 0)
		hdr.hop_length = hdr.win_length / 2;

	if (shape[0] < 1 || shape[1] < 1 || shape[2] < 1 ||
		(Size) shape[0] * shape[1] > SPECTROGRAM_MAX_VALUES / shape[2] ||
		(Size) shape[0] * shape[1] * shape[2] != count ||
		shape[0] != data_dims[0] || shape[1] != data_dims[1] || shape[2] != data_dims[2])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type spectrogram: shape [%d, %d, %d] does not match the data, "
						"nested [%d][%d][%d] (%zu values)",
						shape[0], shape[1], shape[2], data_dims[0], data_dims[1], data_dims[2], count)));
	spec = spectrogram_alloc(shape[0], shape[1], shape[2]);
	memcpy(((char *) spec) + VARHDRSZ, ((char *) &hdr) + VARHDRSZ, SPECTROGRAM_HEADER_SIZE - VARHDRSZ);
	spec->channels = shape[0];
	spec->bins = shape[1];
	spec->frames = shape[2];
	memcpy(spec->data, data, count * sizeof(float4));
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
	pq_sendbyte(&buf, s->version);
	pq_sendbyte(&buf, s->kind);
	pq_sendbyte(&buf, s->flags);
	pq_sendbyte(&buf, s->pad_mode);
	pq_sendint32(&buf, s->channels);
	pq_sendint32(&buf, s->bins);
	pq_sendint32(&buf, s->frames);
	pq_sendint32(&buf, s->sample_rate);
	pq_sendint32(&buf, s->n_fft);
	pq_sendint32(&buf, s->win_length);
	pq_sendint32(&buf, s->hop_length);
	pq_sendfloat4(&buf, s->power);
	pq_sendfloat4(&buf, s->f_min);
	pq_sendfloat4(&buf, s->f_max);
	pq_sendfloat4(&buf, s->top_db);
	pq_sendint32(&buf, s->n_mels);
	for (i = 0; i < n; i++)
		pq_sendfloat4(&buf, s->data[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
spectrogram_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Spectrogram hdr;
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
	spec->version = hdr.version;
	spec->kind = hdr.kind;
	spec->flags = hdr.flags;
	spec->pad_mode = hdr.pad_mode;
	spec->sample_rate = pq_getmsgint(buf, 4);
	spec->n_fft = pq_getmsgint(buf, 4);
	spec->win_length = pq_getmsgint(buf, 4);
	spec->hop_length = pq_getmsgint(buf, 4);
	spec->power = pq_getmsgfloat4(buf);
	spec->f_min = pq_getmsgfloat4(buf);
	spec->f_max = pq_getmsgfloat4(buf);
	spec->top_db = pq_getmsgfloat4(buf);
	spec->n_mels = pq_getmsgint(buf, 4);
	for (i = 0; i < n; i++)
		spec->data[i] = pq_getmsgfloat4(buf);
	spectrogram_clear_unused(spec);
	spectrogram_validate(spec);
	PG_RETURN_SPECTROGRAM_P(spec);
}

/* ---- accessors ---- */

Datum
ttsp_spec_channels(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->channels);
}

Datum
ttsp_spec_bins(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->bins);
}

Datum
ttsp_spec_frames(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->frames);
}

Datum
ttsp_spec_sample_rate(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_SPECTROGRAM_HEADER(0)->sample_rate);
}

/* Seconds of audio the frames stand for: frames x hop / rate. */
Datum
ttsp_spec_duration(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_HEADER(0);

	PG_RETURN_FLOAT8((double) s->frames * s->hop_length / s->sample_rate);
}

Datum
ttsp_spec_kind(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_HEADER(0);

	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s%s", spectrogram_kind_name(s),
											  (s->flags & SPEC_FLAG_DB) ? "_db" : "")));
}

Datum
ttsp_spec_to_array(PG_FUNCTION_ARGS)
{
	Spectrogram *s = PG_GETARG_SPECTROGRAM_P(0);
	int			dims[3] = {s->channels, s->bins, s->frames};

	PG_RETURN_ARRAYTYPE_P(ttsp_float4_array(3, dims, s->data));
}

/*
 * spectrogram(data real[], ...): 2-D [bin][frame] (one channel) or 3-D
 * [channel][bin][frame] values with the parameters that describe them.
 */
Datum
ttsp_spec_from_array(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	char	   *kind;
	int			ndim;
	int		   *dims;
	Spectrogram *spec;
	int			i;

	/* not STRICT, for the NULL defaults of hop_length and win_length */
	for (i = 0; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i) && i != 4 && i != 5)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of ttsp_make_spectrogram must not be NULL", i + 1)));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
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

	if (strcmp(kind, "power") == 0 || strcmp(kind, "magnitude") == 0)
		spec->kind = SPEC_LINEAR;
	else if (strcmp(kind, "mel") == 0)
		spec->kind = SPEC_MEL;
	else if (strcmp(kind, "mfcc") == 0)
		spec->kind = SPEC_MFCC;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown spectrogram kind \"%s\"", kind),
				 errhint("Use power, magnitude, mel or mfcc.")));
	spec->sample_rate = PG_GETARG_INT32(2);
	spec->n_fft = PG_GETARG_INT32(3);
	spec->win_length = PG_ARGISNULL(5) ? spec->n_fft : PG_GETARG_INT32(5);
	spec->hop_length = PG_ARGISNULL(4) ? spec->win_length / 2 : PG_GETARG_INT32(4);
	spec->power = strcmp(kind, "magnitude") == 0 ? 1.0f : 2.0f;
	if (PG_GETARG_BOOL(6))
		spec->flags |= SPEC_FLAG_DB;
	if (PG_GETARG_BOOL(7))
		spec->flags |= SPEC_FLAG_CENTER;
	/* the defaults of ttsp_mel_spectrogram and ttsp_mfcc, so that headers compare equal */
	if (spec->kind != SPEC_LINEAR)
	{
		spec->f_min = 0;
		spec->f_max = (float4) ttsp_mel_default_f_max(spec->sample_rate);
	}
	if (spec->kind == SPEC_MFCC)
	{
		spec->n_mels = spec->bins;
		spec->flags |= SPEC_FLAG_DCT_ORTHO;
		spec->top_db = 80.0f;
	}
	spectrogram_clear_unused(spec);
	spectrogram_validate(spec);
	PG_RETURN_SPECTROGRAM_P(spec);
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
	float8		fps = (float8) s->sample_rate / s->hop_length;
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
	if (first_f >= s->frames)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_s %g is past the last frame of the spectrogram", start_s),
				 errdetail("Frames are %g s apart; start_s is rounded to the nearest, and the last starts at %g s.",
						   1 / fps, (s->frames - 1) / fps)));
	first = (int) first_f;
	count = (int) count_f;
	if ((s->flags & SPEC_FLAG_DB) && s->kind != SPEC_MFCC)
	{
		Size		i;

		pad = s->data[0];
		for (i = 1; i < spectrogram_nvalues(s); i++)
			pad = Min(pad, s->data[i]);
	}
	out = spectrogram_alloc(s->channels, s->bins, count);
	memcpy(((char *) out) + VARHDRSZ, ((char *) s) + VARHDRSZ, SPECTROGRAM_HEADER_SIZE - VARHDRSZ);
	out->frames = count;
	for (c = 0; c < s->channels; c++)
		for (b = 0; b < s->bins; b++)
		{
			const float4 *src = s->data + ((Size) c * s->bins + b) * s->frames;
			float4	   *dst = out->data + ((Size) c * s->bins + b) * count;
			int			avail = Min(count, s->frames - first);
			int			f;

			memcpy(dst, src + first, avail * sizeof(float4));
			for (f = avail; f < count; f++)
				dst[f] = pad;
		}
	PG_RETURN_SPECTROGRAM_P(out);
}
