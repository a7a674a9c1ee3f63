# ttsp: TikTok Sound Popularity, a PostgreSQL extension (PGXS build).
EXTENSION = ttsp
EXTVERSION = 0.3.0

MODULE_big = ttsp
# The numeric core (no postgres.h) is built once, as a static archive that the
# extension, the C unit tests and bench/ link; scripts/fuzz links the same
# sources built with sanitizers (fuzz-core, below).
CORE_SRCS = $(sort $(wildcard src/core/*.c))
CORE_OBJS = $(CORE_SRCS:.c=.o)
CORE_HDRS = $(wildcard src/core/*.h)
CORE_LIB = src/core/libttsp_core.a
GLUE_SRCS = $(sort $(wildcard src/glue/*.c))
OBJS = $(GLUE_SRCS:.c=.o)

# The full script of each release and the upgrade scripts between them.
DATA = $(sort $(wildcard sql/$(EXTENSION)--*.sql))
# FFTW wisdom for common n_fft, measured at build time (src/tools/fftw_wisdom)
DATA_built = src/ttsp.fftw-wisdom
WISDOM_SIZES = 64 100 128 200 256 400 512 800 1024 2048 4096

# pg_regress (PG 15) reads <inputdir>/sql/*.sql and <inputdir>/expected/*.out.
# The test scripts live in test/ and their expected output in expected/, so
# regress/ is a generated directory of symlinks that pg_regress sees as its
# input directory (plus data/, for the tests that load the dataset).
TESTS = $(sort $(wildcard test/*.sql))
REGRESS = $(patsubst test/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=regress --outputdir=regress
REGRESS_PREP = regress/sql regress/expected regress/data
EXTRA_CLEAN = regress test/unit/bin src/tools/fftw_wisdom $(CORE_OBJS) $(CORE_LIB) src/core/fuzz

DEPS = libavformat libavcodec libswresample libavutil fftw3f cairo
DEPS_CFLAGS := $(shell pkg-config --cflags $(DEPS))
# FFmpeg, FFTW and cairo are not linked: src/core/lazy_lib.c loads them on
# first use (ffmpeg_lazy.c, fftw_lazy.c, cairo_lazy.c).
DEPS_LIBS := -ldl

PG_CONFIG ?= pg_config
# Server headers as system headers: -Wextra then judges our code, not theirs.
PG_CPPFLAGS = -Isrc/core -Isrc/glue $(DEPS_CFLAGS) -isystem $(shell $(PG_CONFIG) --includedir-server)
# -ftree-vectorize: PostgreSQL's CFLAGS_VECTORIZE, for the per-frame loops.
PG_CFLAGS = -Wall -Wextra -ftree-vectorize
SHLIB_LINK = $(CORE_LIB) $(DEPS_LIBS) -lm

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS compiles the core's objects like the glue's (its CFLAGS, -fPIC).
$(CORE_LIB): $(CORE_OBJS)
	rm -f $@
	$(AR) rcs $@ $^
$(CORE_OBJS): $(CORE_HDRS)
$(OBJS): $(CORE_HDRS) $(wildcard src/glue/*.h)
$(shlib): $(CORE_LIB)
core: $(CORE_LIB)

# A direct call that bypasses ttsp_ffmpeg, ttsp_fftw or ttsp_cairo would link (a module
# may leave symbols to the server) and fail only when ttsp.so loads.
LAZY_SYMBOLS = av|avcodec|avformat|avio|swr|fftwf|cairo
all: lazy-symbols
lazy-symbols: $(shlib)
	@! nm -D --undefined-only $(shlib) | grep -E ' ($(LAZY_SYMBOLS))_' || \
		{ echo "$(shlib) calls the libraries above directly: use lazy_lib.h's structs" >&2; exit 1; }

# The core again for the libFuzzer harnesses in test/fuzz: clang with
# coverage, ASan and UBSan; scripts/fuzz links it.
FUZZ_CORE_LIB = src/core/fuzz/libttsp_core.a
FUZZ_CORE_OBJS = $(patsubst src/core/%.c,src/core/fuzz/%.o,$(CORE_SRCS))
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -Wall -Wextra
src/core/fuzz/%.o: src/core/%.c $(CORE_HDRS)
	@mkdir -p src/core/fuzz
	clang $(FUZZ_CFLAGS) -Isrc/core $(DEPS_CFLAGS) -c -o $@ $<
$(FUZZ_CORE_LIB): $(FUZZ_CORE_OBJS)
	rm -f $@
	$(AR) rcs $@ $^
fuzz-core: $(FUZZ_CORE_LIB)

src/tools/fftw_wisdom: src/tools/fftw_wisdom.c
	$(CC) -O2 -Wall -Wextra -o $@ $< $(shell pkg-config --cflags --libs fftw3f)

src/ttsp.fftw-wisdom: src/tools/fftw_wisdom
	src/tools/fftw_wisdom $@ $(WISDOM_SIZES)

regress/sql regress/expected regress/data:
	mkdir -p regress
	ln -sfn ../test regress/sql
	ln -sfn ../expected regress/expected
	ln -sfn ../data regress/data

# C unit tests of the core: plain programs, no server, TAP output.
UNIT_SRCS = $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS = $(patsubst test/unit/%.c,test/unit/bin/%,$(UNIT_SRCS))
UNIT_CFLAGS = -O2 -g -Wall -Wextra -ftree-vectorize -Isrc/core -Itest/unit $(DEPS_CFLAGS)

test/unit/bin/%: test/unit/%.c $(CORE_LIB) $(CORE_HDRS) $(wildcard test/unit/*.h)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_LIB) $(DEPS_LIBS) -lm

# test_wisdom reads the build's wisdom
test/unit/bin/test_wisdom: src/ttsp.fftw-wisdom

unit: $(UNIT_BINS)

.PHONY: unit core fuzz-core lazy-symbols
