#!/usr/bin/env python3
"""Mutated spectrogram text inputs for the SQL-level parser fuzz (scripts/fuzz).

usage: spectrogram_text.py SEEDS N SEED > inputs.copy

SEEDS holds valid spectrogram_out texts, one per line.  Writes N inputs in
COPY text format (one per line, backslash escapes), deterministic for a given
SEED: truncations, character and bit flips, inserted/deleted/duplicated
ranges, numbers replaced by huge, tiny, NaN/Infinity and non-integer values,
huge or negative declared shapes, deep or unbalanced nesting, duplicated,
unknown and missing keys, long strings, splices of two seeds, and a few large
data arrays.  No input contains a NUL byte (text cannot hold one), and every
input is valid UTF-8, so each one reaches spectrogram_in.
"""
import random
import re
import sys

NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
KEYS = ["version", "kind", "db", "sample_rate", "n_fft", "win_length", "hop_length",
        "power", "center", "pad_mode", "normalized", "f_min", "f_max", "mel_scale",
        "norm", "n_mels", "dct_norm", "log_mels", "top_db", "shape", "data"]
WEIRD_NUMBERS = [
    "0", "-0", "1", "-1", "2", "0.5", "1.5", "-1.5", "1e309", "-1e309", "1e39", "-1e39",
    "3.4028235e38", "3.4028236e38", "1e-46", "1e-50", "-1e-320", "4.9e-324",
    "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967297",
    "9223372036854775807", "99999999999999999999999999999", "1" + "0" * 400,
    "0." + "0" * 400 + "1", "NaN", "nan", "-nan", "Infinity", "-Infinity", "inf",
    "-inf", "infinity", "0x10", "0x1p128", "-0x7fffffff", "1e", "1e+", "-", "+1", ".5",
    "5.", "00012", "1_000", "１", "true", "null", '"1"', "[1]", "{}",
]
WEIRD_SHAPES = [
    "[2147483647, 2147483647, 2147483647]", "[1, 1, 2147483647]", "[1, 2147483647, 1]",
    "[65536, 65536, 65536]", "[1048576, 1024, 1]", "[16384, 16384, 1]", "[0, 0, 0]",
    "[1, 1, 0]", "[-1, 1, 1]", "[-1, -1, 1]", "[-2147483648, -1, 1]", "[1, 1]",
    "[1, 1, 1, 1]", "[]", "[1.5, 1, 1]", "[1e10, 1, 1]", "[NaN, 1, 1]", "null",
    "[268435455, 1, 1]", "[268435456, 1, 1]", "[3, 3, 29826162]",
]
WEIRD_STRINGS = [
    '"power"', '"magnitude"', '"mel"', '"mfcc"', '"mfcc_db"', '"POWER"', '""', '"\\"',
    '"\\u0000"', '"x\\"y"', '"' + "k" * 10000 + '"', '"\u00e9\u4e2d\U0001F600"', '"reflect"',
    '"circular"', '"slaney"', '"ortho"', '"htk"', '"none"', "null", "true", "1", '"', '"a',
]


def esc(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def rand_char(rng):
    r = rng.random()
    if r < 0.6:
        return rng.choice('{}[],:"-.0123456789eE +\\ntfaluN')
    if r < 0.9:
        return chr(rng.randrange(1, 128))
    return rng.choice("\u00e9\u00a0\u2028\ufeff\u4e2d\U0001F600")


def mutate_once(s, rng, seeds):
    op = rng.randrange(17)
    n = len(s)
    if op == 0:                                   # truncate
        return s[:rng.randrange(n + 1)]
    if op == 1:                                   # flip a low bit of one character
        if n == 0:
            return s
        i = rng.randrange(n)
        c = ord(s[i])
        if c < 128:
            c ^= 1 << rng.randrange(7)
            if c == 0:
                c = 1
        return s[:i] + chr(c) + s[i + 1:]
    if op == 2:                                   # replace a character
        i = rng.randrange(n + 1)
        return s[:i] + rand_char(rng) + s[i + 1:]
    if op == 3:                                   # insert characters
        i = rng.randrange(n + 1)
        return s[:i] + "".join(rand_char(rng) for _ in range(rng.randrange(1, 6))) + s[i:]
    if op == 4:                                   # delete a range
        i = rng.randrange(n + 1)
        return s[:i] + s[i + rng.randrange(1, 40):]
    if op == 5:                                   # duplicate a range
        i = rng.randrange(n + 1)
        j = min(n, i + rng.randrange(1, 200))
        return s[:j] + s[i:j] * rng.randrange(1, 4) + s[j:]
    if op == 6:                                   # replace numbers
        nums = list(NUMBER.finditer(s))
        if not nums:
            return s
        picked = sorted(rng.sample(nums, min(len(nums), rng.randrange(1, 4))), key=lambda m: -m.start())
        for m in picked:                          # right to left: earlier offsets stay valid
            s = s[:m.start()] + rng.choice(WEIRD_NUMBERS) + s[m.end():]
        return s
    if op == 7:                                   # a huge or broken shape
        return re.sub(r'"shape": \[[^\]]*\]', lambda _: '"shape": ' + rng.choice(WEIRD_SHAPES), s, count=1)
    if op == 8:                                   # deep or unbalanced nesting
        depth = rng.choice([2, 4, 5, 100, 10000, 200000])
        inner = rng.choice(["1", "", "1,2", "[]", "NaN"])
        close = depth if rng.random() < 0.6 else rng.randrange(depth + 1)
        return re.sub(r'"data": .*', lambda _: '"data": ' + "[" * depth + inner + "]" * close + "}", s, count=1)
    if op == 9:                                   # replace a key's value with a weird value
        key = rng.choice(KEYS)
        val = rng.choice(WEIRD_NUMBERS + WEIRD_STRINGS + WEIRD_SHAPES)
        return re.sub('"%s": [^,}]*' % key, lambda _: '"%s": %s' % (key, val), s, count=1)
    if op == 10:                                  # duplicate a key
        key = rng.choice(KEYS[:-1])
        val = rng.choice(WEIRD_NUMBERS + WEIRD_STRINGS)
        return s[:1] + '"%s": %s, ' % (key, val) + s[1:]
    if op == 11:                                  # remove a key
        key = rng.choice(KEYS)
        return re.sub('"%s": [^,}]*,? ?' % key, "", s, count=1)
    if op == 12:                                  # unknown key, or a key with odd characters
        k = rng.choice(["x", "", "data ", "DATA", "version\\", "shape\u00e9", "k" * 5000])
        return s[:1] + '"%s": 1, ' % k + s[1:]
    if op == 13:                                  # splice two seeds
        t = rng.choice(seeds)
        return s[:rng.randrange(n + 1)] + t[rng.randrange(len(t) + 1):]
    if op == 14:                                  # whitespace and trailing text
        extra = rng.choice([" ", "\n", "\t\r\n ", "\u00a0", "\f", "\v", " x", "}", ",", "\\", "  {}"])
        return s + extra if rng.random() < 0.5 else extra + s
    if op == 15:                                  # a large data array, shape maybe matching
        c, b, f = rng.choice([(1, 1, 300000), (2, 129, 2000), (1, 3, 100000), (1, 201, 1)])
        row = "[" + ",".join(["1.5"] * f) + "]"
        data = "[" + ",".join(["[" + ",".join([row] * b) + "]"] * c) + "]"
        declared = [c, b, f] if rng.random() < 0.7 else [c, b, f + 1]
        s = re.sub(r'"shape": \[[^\]]*\]', lambda _: '"shape": %s' % declared, s, count=1)
        return re.sub(r'"data": .*', lambda _: '"data": ' + data + "}", s, count=1)
    # op 16: the whole input replaced by a tiny or degenerate one
    return rng.choice(["", "{", "}", "{}", "[]", "null", "{\"kind\"}", "{\"kind\":}", "{,}",
                       "{\"data\": [[[]]]}", "{\"shape\": [1,1,1]}", " ", "\"", "{\"\":\"\"}"])


def main():
    seeds_path, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(seeds_path, encoding="utf-8") as f:
        seeds = [line.rstrip("\n") for line in f if line.strip()]
    rng = random.Random(seed)
    out = sys.stdout
    for s in seeds:                               # the seeds themselves must parse
        out.write(esc(s) + "\n")
    big = 0
    for _ in range(count - len(seeds)):
        s = rng.choice(seeds)
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
            s = mutate_once(s, rng, seeds)
        if len(s) > 200000:
            big += 1
            if big > count // 200 + 2:           # keep the run's time bounded
                s = s[:200000]
        s = s.replace("\x00", "\x01")
        out.write(esc(s) + "\n")


if __name__ == "__main__":
    main()
