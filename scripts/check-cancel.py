#!/usr/bin/python3
"""Cancellation check, driven by scripts/check-cancel (which makes the audio,
starts the cluster and exports PGHOST/PGPORT/PGUSER).

    check-cancel.py WORKDIR [--margin-mb N]

WORKDIR holds long.mp3 (about an hour) and clip.mp3 (a few seconds).  For
each case, in a fresh session (backend): a short warm-up of the same kind
(libraries loaded, buffers touched), a rehearsal (the long call stopped the
same way: glibc's malloc thresholds settle), VmRSS read from
/proc/<backend pid>/status, then the long call stopped by (a)
statement_timeout = 500ms and (b) pg_cancel_backend() from a second session
after 1 s.  The latency is the
client-side time from the timeout (statement start + 500 ms) or from sending
pg_cancel_backend to the error arriving.  After the error the backend's VmRSS
is read again; VmHWM shows that the call did allocate.  Fails when a call
finishes instead of being cancelled, the error is not 57014, a latency is
1 s or more, VmRSS after is more than the margin above VmRSS before, a
cancelled ttsp_train left a ttsp_model row, or the backend is gone.
"""
import os
import re
import sys
import threading
import time

import psycopg2
import psycopg2.errorcodes

TIMEOUT_S = 0.5
CANCEL_AFTER_S = 1.0
MAX_LATENCY_S = 1.0

work = sys.argv[1]
margin_mb = 8.0
if "--margin-mb" in sys.argv:
    margin_mb = float(sys.argv[sys.argv.index("--margin-mb") + 1])


def connect():
    c = psycopg2.connect("")
    c.autocommit = True
    return c


def environ_has(pid, name):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return any(v.startswith(name.encode() + b"=") for v in f.read().split(b"\0"))


def status_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon"):
                out[k] = int(v.split()[0])
    return out


setup = connect()
cur = setup.cursor()
cur.execute("SET client_min_messages = warning")
cur.execute("CREATE EXTENSION IF NOT EXISTS ttsp")
cur.execute("CREATE TABLE media (name text PRIMARY KEY, b bytea NOT NULL)")
cur.execute("ALTER TABLE media ALTER COLUMN b SET STORAGE EXTERNAL")
for name in ("long.mp3", "clip.mp3"):
    with open("%s/%s" % (work, name), "rb") as f:
        cur.execute("INSERT INTO media VALUES (%s, %s)", (name, psycopg2.Binary(f.read())))
# 400 random power spectrograms, 64 bins x 100 frames; the positives are
# louder in bins 10-20 (something to learn).
cur.execute("""
CREATE TABLE train_set AS
SELECT i, (i % 2 = 0) AS label,
	ttsp_make_spectrogram((SELECT array_agg(r ORDER BY b) FROM (
		SELECT b, array_agg((random() * CASE WHEN i % 2 = 0 AND b BETWEEN 10 AND 20 THEN 5 ELSE 1 END + 1e-3)::real ORDER BY f) AS r
		FROM generate_series(0, 63) b, generate_series(0, 99) f GROUP BY b) x), 'power', 8000, 126) AS spec
FROM generate_series(1, 400) i""")
# ttsp_evaluate's long source: train_set 250 times over (100k rows)
cur.execute("CREATE VIEW eval_set AS SELECT spec, label FROM train_set, generate_series(1, 250)")
cur.execute("SELECT pg_size_pretty(sum(length(b))) FROM media")
media_size = cur.fetchone()[0]
cur.execute("SELECT count(*), min(ttsp_bins(spec)), min(ttsp_frames(spec)) FROM train_set")
n, bins, frames = cur.fetchone()
print("inputs: long.mp3 + clip.mp3 (%s as bytea); train_set: %d spectrograms of %d x %d" % (media_size, n, bins, frames))

LONG_DECODE = ("SELECT array_length((ttsp_load_mp3(b, sample_rate => 8000, mono => true)).waveform, 2) "
               "FROM media WHERE name = '%s'")
SPEC_BATCH = ("SELECT sum(ttsp_frames(ttsp_spectrogram(b, n_fft => 100))) "
              "FROM media, generate_series(1, %d) g WHERE name = 'clip.mp3'")
TRAIN = ("SELECT ttsp_train('%s', 'train_set', 'spec', 'label', epochs => %d, frames => 100, batch_size => 16)")
# Two copies of each row (20 MB of inputs) do not fit beside the network
# (19 MB with the backend's headroom) in ttsp.train_memory = 24MB, so the
# rows stream through an SPI cursor each epoch.
TRAIN_STREAMED = ("SELECT ttsp_train('%s', query => 'SELECT spec, label FROM train_set, generate_series(1, 2)', "
                  "features => 'spec', label => 'label', epochs => %d, frames => 100, batch_size => 16)")

# name, session settings, warm-up query, long query, model name to check
CASES = [
    ("decode: ttsp_load_mp3 of a 1 h MP3", ["SET ttsp.max_duration = 7200"],
     # md5(b) reads the long bytea once, so its TOAST pages in shared
     # buffers are already in VmRSS before the call (RssShmem).
     LONG_DECODE % "clip.mp3" + " UNION ALL SELECT length(md5(b)) FROM media WHERE name = 'long.mp3'",
     LONG_DECODE % "long.mp3", None),
    ("spectrogram: 100k rows of a 5 s clip", [],
     SPEC_BATCH % 20, SPEC_BATCH % 100000, None),
    ("ttsp_train: 400 rows in memory, 100k epochs", [],
     TRAIN % ("warm", 1), TRAIN % ("cancelled", 100000), "cancelled"),
    ("ttsp_train: 800 rows streamed, 100k epochs", ["LOAD 'ttsp'", "SET ttsp.train_memory = '24MB'"],
     TRAIN_STREAMED % ("warm_streamed", 1), TRAIN_STREAMED % ("cancelled_streamed", 100000), "cancelled_streamed"),
    # on two threads the helpers take each row's window as the backend fills it
    ("ttsp_evaluate on 2 threads: 100k rows", ["SET ttsp.threads = 2"],
     "SELECT ttsp_evaluate('warm', 'train_set', 'spec', 'label')",
     "SELECT ttsp_evaluate('warm', 'eval_set', 'spec', 'label')", None),
]

failures = 0
rows = []
control = connect()
ccur = control.cursor()


class Notices:
    """Counts the server's NOTICEs (psycopg2 keeps only the last 50 in a list)."""

    def __init__(self):
        self.epochs = 0
        self.text = []

    def append(self, msg):
        if re.search(r"NOTICE:  epoch \d+/", msg):
            self.epochs += 1
        else:
            self.text.append(msg)


def stop_once(c, pid, query, mode, problems):
    """Run query on cursor c, stopped by mode; the result and when the stop fired."""
    result = {}

    def worker():
        try:
            c.execute(query)
            result["rows"] = c.fetchall()
        except psycopg2.Error as e:
            result["error"] = e
        result["t_end"] = time.monotonic()

    if mode == "timeout":
        c.execute("SET statement_timeout = '%dms'" % (TIMEOUT_S * 1000))
        t_start = time.monotonic()
        worker()
        t_fire = t_start + TIMEOUT_S
        c.execute("RESET statement_timeout")
    else:
        th = threading.Thread(target=worker)
        th.start()
        time.sleep(CANCEL_AFTER_S)
        t_fire = time.monotonic()
        still_running = "t_end" not in result
        ccur.execute("SELECT pg_cancel_backend(%s)", (pid,))
        sent = ccur.fetchone()[0]
        th.join(30)
        if th.is_alive():
            problems.append("no answer 30 s after the cancel")
            th.join()
        if not still_running:
            problems.append("the call ended before the cancel was sent")
        if not sent:
            problems.append("pg_cancel_backend returned false")
    return result, t_fire


def run_case(title, settings, warm, query, model, mode):
    global failures
    problems = []
    conn = connect()
    conn.notices = notices = Notices()
    c = conn.cursor()
    for s in settings:
        c.execute(s)
    c.execute("SELECT pg_backend_pid()")
    pid = c.fetchone()[0]
    if environ_has(pid, "GLIBC_TUNABLES") != bool(os.environ.get("GLIBC_TUNABLES")):
        problems.append("the backend's GLIBC_TUNABLES is not this script's")
    c.execute(warm)
    if model is not None:
        # ttsp_train's NOTICE says how the data is held: check it is the case's
        want = "streaming from the source" if "streamed" in title else "data in memory"
        if not any(want in n for n in notices.text):
            problems.append("the warm-up training did not say '%s': %s" % (want, notices.text))
    # A rehearsal: the same call stopped the same way.  glibc keeps some freed
    # heap for reuse once its mmap threshold has adapted to the first large
    # blocks, so "before" is the steady state, and a leak would still show
    # as growth in the measured call.
    rehearsal, _ = stop_once(c, pid, query, mode, problems)
    if rehearsal.get("error") is None or rehearsal["error"].pgcode != psycopg2.errorcodes.QUERY_CANCELED:
        problems.append("the rehearsal was not cancelled: %r" % (rehearsal.get("error") or rehearsal.get("rows"),))
    notices.epochs = 0
    before = status_kb(pid)
    result, t_fire = stop_once(c, pid, query, mode, problems)
    latency = result["t_end"] - t_fire
    err = result.get("error")
    if err is None:
        problems.append("finished instead of being cancelled: %r" % (result.get("rows"),))
        outcome = "finished"
    else:
        outcome = "%s %s" % (err.pgcode, str(err).strip().splitlines()[0])
        if err.pgcode != psycopg2.errorcodes.QUERY_CANCELED:
            problems.append("expected SQLSTATE 57014")
    if latency >= MAX_LATENCY_S:
        problems.append("latency %.3f s >= %.1f s" % (latency, MAX_LATENCY_S))
    try:
        c.execute("SELECT 1")
        after = status_kb(pid)
    except psycopg2.Error as e:
        problems.append("session unusable after the error: %s" % e)
        after = {"VmRSS": -1, "VmHWM": -1, "RssAnon": -1}
    grown_mb = (after["VmRSS"] - before["VmRSS"]) / 1024.0
    anon_mb = (after["RssAnon"] - before["RssAnon"]) / 1024.0
    if grown_mb > margin_mb:
        problems.append("VmRSS grew by %.1f MB (> %.1f MB)" % (grown_mb, margin_mb))
    models = "-"
    progress = "-"
    if model is not None:
        ccur.execute("SELECT count(*) FROM ttsp_model WHERE name = %s", (model,))
        models = ccur.fetchone()[0]
        progress = str(notices.epochs)
        if models != 0:
            problems.append("%d ttsp_model rows named %s after the cancel" % (models, model))
    conn.close()
    rows.append((title, mode, latency, before, after, models, outcome, problems))
    failures += len(problems)
    mb = lambda kb: kb / 1024.0
    print("%-44s %-7s %7.3f s %7.1f %7.1f %7.1f %+7.1f %+7.1f %6s %6s  %s" % (
        title, mode, latency, mb(before["VmRSS"]), mb(after["VmHWM"]),
        mb(after["VmRSS"]), grown_mb, anon_mb, progress, models, outcome))
    for p in problems:
        print("   ^ FAIL: %s" % p)
    sys.stdout.flush()


print()
print("glibc malloc thresholds: %s" % (
    "fixed, GLIBC_TUNABLES=" + os.environ["GLIBC_TUNABLES"] if os.environ.get("GLIBC_TUNABLES") else "dynamic (glibc's default)"))
print("%-44s %-7s %9s %7s %7s %7s %7s %7s %6s %6s  %s" % (
    "case", "stop", "latency", "VmRSS", "peak", "VmRSS", "growth", "RssAnon", "epochs", "model", "error"))
print("%-44s %-7s %9s %7s %7s %7s %7s %7s %6s %6s" % ("", "", "", "before", "(HWM)", "after", "", "growth", "done", "rows"))
print("%-44s %-7s %9s %7s %7s %7s %7s %7s" % ("", "", "", "MB", "MB", "MB", "MB", "MB"))
for title, settings, warm, query, model in CASES:
    for mode in ("timeout", "cancel"):
        run_case(title, settings, warm, query, model, mode)

print()
worst = max(r[2] for r in rows)
print("worst latency %.3f s (limit %.1f s); RSS margin %.1f MB; %d failures" % (worst, MAX_LATENCY_S, margin_mb, failures))
sys.exit(1 if failures else 0)
