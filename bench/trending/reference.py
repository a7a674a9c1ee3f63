#!/usr/bin/python3
"""
bench/trending's reference rows and table.  Reads OUTDIR/sounds.csv (the
rows in music_id order, the order ttsp's fold ordinals count) and
OUTDIR/cv_<set>_<arch>_<seed>.json (ttsp_cross_validate's results), fits
scikit-learn on each fold's very rows and writes OUTDIR/table.md and
OUTDIR/results.tsv.

Per fold (train = rows in neither its test nor its validation part):
  sklearn LR, same protocol    StandardScaler on train, LogisticRegression
                               (lbfgs) at C = 1/alpha for alpha in ttsp's
                               grid 1e4 ... 1e-4, the one with the lowest
                               validation log loss, scored on test
  sklearn LR, defaults         StandardScaler + LogisticRegression() on
                               train + validation (C = 1)
  sklearn GB, defaults         GradientBoostingClassifier(random_state=seed)
                               on train + validation
ttsp's rows and the majority baseline are read from the JSON.
"""
import argparse
import csv
import json
import os

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

SETS = {"base": ["verified_share", "mean_duration", "original_sound"],
        "base+videos": ["verified_share", "mean_duration", "original_sound", "videos"]}
GRID = [1e4, 1e3, 1e2, 1e1, 1.0, 1e-1, 1e-2, 1e-3, 1e-4]

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seeds", nargs="+", type=int, default=[12, 13, 14])
ap.add_argument("--cpu", default="?")
ap.add_argument("--mlp-args", default="")
args = ap.parse_args()

rows = list(csv.DictReader(open(os.path.join(args.out, "sounds.csv"))))
y_all = np.array([int(r["popular"]) for r in rows])


def lr_same_protocol(xtr, ytr, xva, yva):
    sc = StandardScaler().fit(xtr)
    best = None
    for alpha in GRID:
        m = LogisticRegression(C=1 / alpha, max_iter=10000, tol=1e-10).fit(sc.transform(xtr), ytr)
        score = log_loss(yva, m.predict_proba(sc.transform(xva))[:, 1], labels=[0, 1])
        if best is None or score < best[0]:
            best = (score, m)
    return lambda x: best[1].predict_proba(sc.transform(x))[:, 1]


def lr_defaults(x, y):
    sc = StandardScaler().fit(x)
    m = LogisticRegression().fit(sc.transform(x), y)
    return lambda z: m.predict_proba(sc.transform(z))[:, 1]


def gb_defaults(x, y, seed):
    m = GradientBoostingClassifier(random_state=seed).fit(x, y)
    return lambda z: m.predict_proba(z)[:, 1]


results = {}   # (set, method) -> {seed: [fold AUCs]}


def add(key, seed, auc):
    results.setdefault(key, {}).setdefault(seed, []).append(auc)


for set_name, cols in SETS.items():
    x_all = np.array([[float(r[c]) for c in cols] for r in rows])
    for seed in args.seeds:
        lin = json.load(open(os.path.join(args.out, "cv_%s_linear_%d.json" % (set_name, seed))))
        mlp = json.load(open(os.path.join(args.out, "cv_%s_mlp_%d.json" % (set_name, seed))))
        for fl, fm in zip(lin["folds"], mlp["folds"]):
            # the MLP's run must have used the very same folds
            assert fl["test_rows"] == fm["test_rows"] and fl["validation_rows"] == fm["validation_rows"]
            test = np.array(fl["test_rows"]) - 1
            val = np.array(fl["validation_rows"]) - 1
            train = np.setdiff1d(np.arange(len(rows)), np.concatenate([test, val]))
            trval = np.concatenate([train, val])
            add((set_name, "ttsp linear"), seed, fl["model"]["roc_auc"])
            add((set_name, "ttsp MLP"), seed, fm["model"]["roc_auc"])
            add((set_name, "majority baseline"), seed, fl["majority_baseline"]["roc_auc"])
            p = lr_same_protocol(x_all[train], y_all[train], x_all[val], y_all[val])
            add((set_name, "sklearn LR, same protocol"), seed, roc_auc_score(y_all[test], p(x_all[test])))
            p = lr_defaults(x_all[trval], y_all[trval])
            add((set_name, "sklearn LR, defaults"), seed, roc_auc_score(y_all[test], p(x_all[test])))
            p = gb_defaults(x_all[trval], y_all[trval], seed)
            add((set_name, "sklearn GB, defaults"), seed, roc_auc_score(y_all[test], p(x_all[test])))


def summary(key):
    per_seed = results[key]
    allv = np.concatenate([per_seed[s] for s in args.seeds])
    return allv.mean(), allv.std(), allv.min(), allv.max(), [np.mean(per_seed[s]) for s in args.seeds]


order = ["majority baseline", "ttsp linear", "sklearn LR, same protocol", "sklearn LR, defaults", "ttsp MLP",
         "sklearn GB, defaults"]
lines = ["ROC-AUC over %d seeds x 5 folds (%s); CPU: %s; MLP: %s" % (len(args.seeds), ", ".join(map(str, args.seeds)),
                                                                  args.cpu, args.mlp_args), "",
         "| features | model | mean ROC-AUC | std (folds x seeds) | min - max | per-seed means |",
         "|---|---|---|---|---|---|"]
tsv = ["set\tmodel\tmean\tstd\tmin\tmax"]
for set_name in SETS:
    for m in order:
        mean, std, lo, hi, seeds = summary((set_name, m))
        lines.append("| %s | %s | %.3f | %.3f | %.3f - %.3f | %s |" % (set_name, m, mean, std, lo, hi,
                                                                       ", ".join("%.3f" % s for s in seeds)))
        tsv.append("%s\t%s\t%.6f\t%.6f\t%.6f\t%.6f" % (set_name, m, mean, std, lo, hi))
lines.append("")
for set_name in SETS:
    lin = summary((set_name, "ttsp linear"))[0]
    lr = max(summary((set_name, "sklearn LR, same protocol"))[0], summary((set_name, "sklearn LR, defaults"))[0])
    mlp = summary((set_name, "ttsp MLP"))[0]
    gb = summary((set_name, "sklearn GB, defaults"))[0]
    lines.append("%s: ttsp linear %.3f vs the better sklearn LR %.3f (target >= LR - 0.01): %s; "
                 "ttsp MLP %.3f vs GB %.3f (target >= GB - 0.02): %s" %
                 (set_name, lin, lr, "met" if lin >= lr - 0.01 else "NOT met", mlp, gb,
                  "met" if mlp >= gb - 0.02 else "NOT met"))
open(os.path.join(args.out, "table.md"), "w").write("\n".join(lines) + "\n")
open(os.path.join(args.out, "results.tsv"), "w").write("\n".join(tsv) + "\n")
