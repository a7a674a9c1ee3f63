#!/usr/bin/python3
"""Count and show the memory error reports of scripts/check-memory.

    check-memory-reports.py asan|valgrind REPORT_DIR [SHOW]

ASan (log_path=REPORT_DIR/asan): one report per error, from
"ERROR: AddressSanitizer" to its "SUMMARY:" line.  Valgrind
(--log-file=REPORT_DIR/valgrind.%p, one file per process): each error
context is printed once per process; "ERROR SUMMARY: N errors from M
contexts" gives the totals.  A report is ttsp's when a frame is in ttsp.so or
in ttsp's sources (src/core, src/glue: the frames of a build with debug
information name the file, not the library; Debian's postgres and FFmpeg
have none, so a frame naming a ttsp source file is ttsp's).  Prints the counts, then up to
SHOW reports (default 3), ttsp's first.  The report of scripts/check-memory's
positive control (check_memory_selftest, a deliberate over-read) is counted
apart and must be there.  Exit status 1 if any report is ttsp's or the
control was not reported.
"""
import glob
import os
import re
import sys

mode, rdir = sys.argv[1], sys.argv[2]
show = int(sys.argv[3]) if len(sys.argv) > 3 else 3
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = sorted({os.path.basename(p)[:-2] for p in glob.glob(os.path.join(ROOT, "src", "*", "*.c"))})
# ttsp.so, a path into src/core or src/glue, or "(decode.c:241)": Debian's
# postgres and FFmpeg have no debug information, so a frame that names a
# source file is ttsp's.
TTSP = re.compile(r"ttsp\.so|src/(core|glue)/|\((%s)\.c:\d+\)" % "|".join(map(re.escape, SOURCES)))

reports = []          # (text, is_ttsp)
errors = 0            # all errors, duplicates included
processes = 0
if mode == "asan":
    for path in sorted(glob.glob(os.path.join(rdir, "asan*"))):
        processes += 1
        cur = None
        for line in open(path, errors="replace"):
            if "ERROR: AddressSanitizer" in line:
                cur = [line]
            elif cur is not None:
                cur.append(line)
                if line.startswith("SUMMARY: AddressSanitizer"):
                    reports.append("".join(cur))
                    cur = None
        if cur:
            reports.append("".join(cur))
    errors = len(reports)
else:
    for path in sorted(glob.glob(os.path.join(rdir, "valgrind.*"))):
        processes += 1
        block = []
        blocks = []
        for line in open(path, errors="replace"):
            m = re.match(r"==\d+== (.*)$", line.rstrip("\n"))
            body = m.group(1) if m else ""
            if m is None or body.strip() == "":
                if block:
                    blocks.append(block)
                block = []
                continue
            s = re.search(r"ERROR SUMMARY: (\d+) errors", body)
            if s:
                errors += int(s.group(1))
            block.append(line)
        if block:
            blocks.append(block)
        for b in blocks:
            if any(re.search(r"(at|by) 0x[0-9A-F]+:", l) for l in b):
                reports.append("".join(b))
# scripts/check-memory's positive control (a deliberate over-read)
control = [r for r in reports if "check_memory_selftest" in r]
reports = [r for r in reports if "check_memory_selftest" not in r]
if mode == "asan":
    errors = len(reports)
else:
    errors -= len(control)      # one error each
classified = [(r, bool(TTSP.search(r))) for r in reports]
n_ttsp = sum(1 for _, t in classified if t)
print("control:     the deliberate 1-byte heap over-read %s" % (
    "was reported" if control else "was NOT reported: the tool is not watching the backends"))
if mode == "asan":
    print("errors:      %d reports (ASan reports each error), %d in ttsp's code, %d elsewhere"
          % (len(reports), n_ttsp, len(reports) - n_ttsp))
else:
    print("errors:      %d (ERROR SUMMARY totals over %d processes, duplicates included); %d distinct reports, %d in ttsp's code, %d elsewhere"
          % (errors, processes, len(reports), n_ttsp, len(reports) - n_ttsp))
if reports:
    print("first reports (ttsp's first):")
    ordered = [r for r, t in classified if t] + [r for r, t in classified if not t]
    for r in ordered[:show]:
        for line in r.rstrip("\n").splitlines()[:40]:
            print("   | " + line)
        print("   |")
sys.exit(1 if n_ttsp or not control else 0)
