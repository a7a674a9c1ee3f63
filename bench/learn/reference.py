#!/usr/bin/python3
"""
The reference rows of bench/learn and its table.  Reads OUTDIR/spectra.bin
(the spectrograms ttsp computed, exported by bench/learn/run), trains on the
training clips with their noisy labels and scores the held-out clips against
the clean labels:

  PyTorch seed recipe, first 5 s   the seed's CNN (learnlib.SeedCNN), inputs
                                   standardised per bin, cropped to 801
                                   frames; 10 epochs of Adam (lr 1e-3),
                                   batch 32, BCEWithLogitsLoss, no validation
  PyTorch seed recipe, whole clip  the same on every frame of the clip
  logistic regression, pooled      sklearn LogisticRegression (C = 1) on each
                                   bin's mean and standard deviation of the
                                   log power over the whole clip, standardised
  the same, C by 5-fold CV         LogisticRegressionCV: C from 10^-4..10^4
                                   by stratified 5-fold log loss on the
                                   training clips (what a careful user does)

Then it merges OUTDIR/results.tsv (the ttsp rows) and writes
OUTDIR/results.tsv (all rows) and OUTDIR/table.md.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import learnlib as L  # noqa: E402

SET_ORDER = ["rhythm", "late", "band", "noisy", "order"]


def seed_recipe(s, seed, frames, epochs):
    """Held-out accuracy vs clean labels of the seed recipe in PyTorch."""
    tr, te = L.split(s)
    m, sd = L.norm_stats([s["x"][i] for i in tr], frames)
    n_frames = frames or max(x.shape[-1] for x in s["x"])

    def inputs(idx):
        return torch.from_numpy(np.stack([L.crop_pad((s["x"][i] - m) / sd, n_frames) for i in idx]))

    xtr, xte = inputs(tr), inputs(te)
    ytr = torch.tensor(s["label"][tr], dtype=torch.float32)
    torch.manual_seed(seed)
    net = L.SeedCNN(xtr.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(tr))
        for b in range(0, len(tr), 32):
            idx = perm[b:b + 32]
            opt.zero_grad()
            lossf(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        pred = (net(xte) >= 0).numpy().astype(int)
    return float((pred == s["clean"][te]).mean())


def logistic_pooled(s, cv=False):
    tr, te = L.split(s)
    f = np.stack([L.pooled_features(x) for x in s["x"]])
    sc = StandardScaler().fit(f[tr])
    if cv:
        lr = LogisticRegressionCV(Cs=np.logspace(-4, 4, 9), cv=5, scoring="neg_log_loss", max_iter=5000)
    else:
        lr = LogisticRegression(C=1.0, max_iter=5000)
    lr.fit(sc.transform(f[tr]), s["label"][tr])
    return float((lr.predict(sc.transform(f[te])) == s["clean"][te]).mean())


def table(rows, cpu, sets_data=None):
    """Markdown: one line per learner, mean ± half-range (min-max) per set."""
    learners = []
    for r in rows:
        if r[0] not in learners:
            learners.append(r[0])
    sets = [x for x in SET_ORDER if any(r[1] == x for r in rows)]
    out = ["| learner | " + " | ".join(sets) + " |", "| --- |" + " --- |" * len(sets)]
    for ln in learners:
        cells = []
        for st in sets:
            acc = [r[3] for r in rows if r[0] == ln and r[1] == st]
            cells.append(f"{np.mean(acc):.3f} ({min(acc):.2f}-{max(acc):.2f})" if acc else "")
        out.append(f"| {ln} | " + " | ".join(cells) + " |")
    out.append("")
    out.append(f"Held-out accuracy against the noise-free labels (ceiling 1.00), mean (min-max) "
               f"over seeds; CPU: {cpu}.")
    if sets_data:
        noisy = ", ".join(f"{st} {np.mean(sets_data[st]['label'][L.split(sets_data[st])[1]] == sets_data[st]['clean'][L.split(sets_data[st])[1]]):.3f}"
                          for st in sets)
        out.append(f"Ceiling against the noisy labels (held-out clips whose label is not flipped): {noisy}.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, nargs="+", default=[12, 13, 14])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sets = L.load(args.out)
    rows = []
    res = os.path.join(args.out, "results.tsv")
    if os.path.exists(res):
        for line in open(res):
            ln, st, seed, acc, secs = line.rstrip("\n").split("\t")
            if ln.startswith("ttsp"):  # the SQL side's rows; ours are recomputed
                rows.append((ln, st, int(seed), float(acc), float(secs)))
    for st in SET_ORDER:
        s = sets[st]
        for seed in args.seeds:
            for name, frames in (("PyTorch seed recipe, first 5 s", L.FIRST_5S),
                                 ("PyTorch seed recipe, whole clip", None)):
                t0 = time.time()
                acc = seed_recipe(s, seed, frames, args.epochs)
                rows.append((name, st, seed, acc, time.time() - t0))
                print(f"{name}: {st} seed {seed}: {acc:.3f}", file=sys.stderr)
        for name, cv in (("logistic regression, pooled mean+std, C = 1", False),
                         ("logistic regression, pooled mean+std, C by 5-fold CV", True)):
            t0 = time.time()
            acc = logistic_pooled(s, cv)
            for seed in args.seeds:  # deterministic: the same for every seed
                rows.append((name, st, seed, acc, time.time() - t0))
    with open(res, "w") as f:
        for r in rows:
            f.write("\t".join(str(v) for v in r) + "\n")
    cpu = open(os.path.join(args.out, "cpu.txt")).read().strip() if \
        os.path.exists(os.path.join(args.out, "cpu.txt")) else "unknown"
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table(rows, cpu, sets))


if __name__ == "__main__":
    main()
