# ttsp: TikTok Sound Popularity, a PostgreSQL extension (PGXS build).
EXTENSION = ttsp
EXTVERSION = 0.2.0

MODULE_big = ttsp
CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/glue/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(GLUE_SRCS:.c=.o)

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
EXTRA_CLEAN = regress test/unit/bin src/tools/fftw_wisdom

DEPS = libavformat libavcodec libswresample libavutil fftw3f libpng
DEPS_CFLAGS := $(shell pkg-config --cflags $(DEPS))
# FFmpeg is not linked: src/core/ffmpeg_lazy.c loads it on first use.
DEPS_LIBS := $(shell pkg-config --libs fftw3f libpng) -ldl

PG_CONFIG ?= pg_config
# Server headers as system headers: -Wextra then judges our code, not theirs.
PG_CPPFLAGS = -Isrc/core -Isrc/glue $(DEPS_CFLAGS) -isystem $(shell $(PG_CONFIG) --includedir-server)
# -ftree-vectorize: PostgreSQL's CFLAGS_VECTORIZE, for the per-frame loops.
PG_CFLAGS = -Wall -Wextra -ftree-vectorize
SHLIB_LINK = $(DEPS_LIBS) -lm

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

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

test/unit/bin/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h) test/unit/tap.h
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(DEPS_LIBS) -lm

# test_wisdom reads the build's wisdom
test/unit/bin/test_wisdom: src/ttsp.fftw-wisdom

unit: $(UNIT_BINS)

.PHONY: unit
