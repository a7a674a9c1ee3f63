#!/usr/bin/python3
"""
Research behind bench/learn/FINDINGS.md: which model sees what the linear
model sees?  Reads OUTDIR/spectra.bin from a bench/learn/run and, for each
variant, set and seed, prints the held-out accuracy against the clean labels.

    /usr/bin/python3 bench/learn/research.py OUTDIR [variant ...]

Variants (all the seed CNN of learnlib.SeedCNN unless said; Adam lr 1e-3,
batch 32, BCEWithLogitsLoss; inputs standardised per bin with the training
clips' statistics over all their frames):
  windows       every epoch each clip contributes one 801-frame window drawn
                at random (seeded); prediction slides 801-frame windows with
                a hop of 400 over the whole clip and averages the logits
  windows_es    windows, with a stratified validation fifth of the training
                clips, up to 30 epochs, the best epoch's weights kept,
                patience 5
  wide          windows plus a linear term on the whole clip's per-bin mean
                and std (standardised) added to the logit
  wide_init     wide with that term started from the validation-chosen
                logistic regression (the CNN head starts as PyTorch's default)
  wide_init_es  wide_init with the CNN head started at zero, so that before
                training the model IS the logistic regression; validation
                loss tracked from that start (epoch 0) on, up to 30 epochs,
                the best epoch's weights kept, patience 5
  wide_init_es_aug  wide_init_es trained with AdamW (weight_decay 0.01) and,
                on each training window, a gain shift uniform in +-6 dB (added
                to the log power before standardisation), a frequency mask
                (freq_mask_param 8 bins) and a time mask (time_mask_param 80
                frames), torchaudio's rule, from the seeded generator
  linear        logistic regression alone on the pooled features, C chosen
                on the validation fifth (no seed dependence)
  ens3_windows  the mean logit of windows at 3 seeds (seed, seed+100, +200)
  ens3_wide_init  the same for wide_init
"""
import os
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import learnlib as L  # noqa: E402

WIN, HOP = 801, 400
GRID_C = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4]


def val_split(s, tr):
    """Stratified fifth of the training clips, by a hash of the clip's values (no seed)."""
    keys = {i: zlib.crc32(s["x"][i].tobytes()) for i in tr}
    val = []
    for c in (0, 1):
        idx = sorted([i for i in tr if s["label"][i] == c], key=lambda i: keys[i])
        val += idx[:round(len(idx) / 5)]
    val = np.array(sorted(val))
    fit = np.array([i for i in tr if i not in set(val)])
    return fit, val


def windows_of(x):
    """Start frames of the prediction windows over a clip (last one flush with the end)."""
    f = x.shape[-1]
    if f <= WIN:
        return [0]
    starts = list(range(0, f - WIN + 1, HOP))
    if starts[-1] != f - WIN:
        starts.append(f - WIN)
    return starts


def pooled_matrix(s, idx):
    return np.stack([L.pooled_features(s["x"][i]) for i in idx])


def fit_lr(s, fit, val):
    """LogisticRegression with C chosen on val (log loss); returns scaler, model."""
    sc = StandardScaler().fit(pooled_matrix(s, fit))
    xf, xv = sc.transform(pooled_matrix(s, fit)), sc.transform(pooled_matrix(s, val))
    best = None
    for C in GRID_C:
        m = LogisticRegression(C=C, max_iter=5000).fit(xf, s["label"][fit])
        z = m.decision_function(xv)
        ll = np.mean(np.logaddexp(0, z) - s["label"][val] * z)
        if best is None or ll < best[0]:
            best = (ll, C, m)
    return sc, best[2]


class Trainer:
    def __init__(self, s, seed, wide=False, wide_init=False, early_stop=False, epochs=15, augment=False):
        self.augment = augment
        self.s, self.seed = s, seed
        tr, self.te = L.split(s)
        self.fit, self.val = val_split(s, tr) if (early_stop or wide_init) else (tr, None)
        self.m, self.sd = L.norm_stats([s["x"][i] for i in self.fit])
        self.wide, self.wide_init, self.early_stop = wide, wide_init, early_stop
        self.epochs = 30 if early_stop else epochs
        self.xn = {}

    def x(self, i):
        if i not in self.xn:
            self.xn[i] = ((self.s["x"][i] - self.m) / self.sd).astype(np.float32)
        return self.xn[i]

    def pooled(self, idx):
        return torch.from_numpy(self.sc.transform(pooled_matrix(self.s, idx)).astype(np.float32))

    def forward_windows(self, net, idx, rng):
        xs = []
        for i in idx:
            x = self.x(i)
            a = int(rng.integers(0, max(1, x.shape[-1] - WIN + 1)))
            w = L.crop_pad(x[..., a:], WIN)
            if self.augment:
                w = self.augmented(w, rng)
            xs.append(w)
        xb = torch.from_numpy(np.stack(xs))
        return net(xb, self.pooled(idx)) if net.wide is not None else net(xb)

    def augmented(self, w, rng):
        w = w + (rng.uniform(-6, 6) / self.sd).astype(np.float32)   # g dB before standardising
        for axis, param in ((1, 8), (2, 80)):                        # torchaudio's mask_along_axis
            value = rng.uniform() * param
            start = int(rng.uniform() * (w.shape[axis] - value))
            sl = [slice(None)] * 3
            sl[axis] = slice(start, start + int(value))
            w[tuple(sl)] = 0.0
        return w

    def train(self):
        s = self.s
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        cin = s["x"][0].shape[0]
        if self.wide:
            self.sc, lr = fit_lr(s, self.fit, self.val if self.val is not None else self.fit)
        net = L.SeedCNN(cin, n_wide=len(L.pooled_features(s["x"][0])) if self.wide else 0)
        if self.wide:
            if self.wide_init:
                with torch.no_grad():
                    net.wide.weight.copy_(torch.from_numpy(lr.coef_.astype(np.float32)))
                    net.wide.bias.copy_(torch.from_numpy(lr.intercept_.astype(np.float32)))
                    if self.early_stop:
                        net.head.weight.zero_()
                        net.head.bias.zero_()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01) if self.augment else \
            torch.optim.Adam(net.parameters(), lr=1e-3)
        lossf = nn.BCEWithLogitsLoss()
        y = torch.tensor(s["label"], dtype=torch.float32)
        best, best_state, since = np.inf, None, 0
        self.best_epoch = 0
        if self.early_stop and self.wide_init:
            # epoch 0: the linear model itself is a candidate
            z = self.wide_logits(net, self.val)
            best = np.mean(np.logaddexp(0, z) - s["label"][self.val] * z)
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        for ep in range(self.epochs):
            net.train()
            perm = torch.randperm(len(self.fit)).numpy()
            for b in range(0, len(self.fit), 32):
                idx = self.fit[perm[b:b + 32]]
                opt.zero_grad()
                lossf(self.forward_windows(net, idx, rng), y[idx]).backward()
                opt.step()
            if self.early_stop:
                z = self.wide_logits(net, self.val)
                vl = np.mean(np.logaddexp(0, z) - s["label"][self.val] * z)
                if vl < best:
                    best, since, self.best_epoch = vl, 0, ep + 1
                    best_state = {k: v.clone() for k, v in net.state_dict().items()}
                else:
                    since += 1
                    if since >= 5:
                        break
        if best_state is not None:
            net.load_state_dict(best_state)
        if self.early_stop:
            print(f"#   seed {self.seed}: best epoch {self.best_epoch} of {ep + 1} run", file=sys.stderr, flush=True)
        return net

    def wide_logits(self, net, idx):
        """Mean window logit; with a wide term, CNN windows averaged plus the wide term once."""
        net.eval()
        out = []
        with torch.no_grad():
            for i in idx:
                x = self.x(i)
                w = torch.from_numpy(np.stack([L.crop_pad(x[..., a:], WIN) for a in windows_of(x)]))
                if net.wide is not None:
                    z = net(w, self.pooled([i]).repeat(len(w), 1)).mean()
                else:
                    z = net(w).mean()
                out.append(float(z))
        return np.array(out)


def run_variant(s, name, seed):
    tr, te = L.split(s)
    clean = s["clean"][te]
    if name == "linear":
        fit, val = val_split(s, tr)
        sc, m = fit_lr(s, fit, val)
        z = m.decision_function(sc.transform(pooled_matrix(s, te)))
        return float(((z >= 0).astype(int) == clean).mean())
    ens = name.startswith("ens3_")
    base = name[5:] if ens else name
    kw = dict(wide=base.startswith("wide"), wide_init=base.startswith("wide_init"),
              early_stop="_es" in base, augment=base.endswith("_aug"))
    zs = []
    for k in range(3 if ens else 1):
        t = Trainer(s, seed + 100 * k, **kw)
        net = t.train()
        zs.append(t.wide_logits(net, te))
    z = np.mean(zs, axis=0)
    return float(((z >= 0).astype(int) == clean).mean())


def main():
    out = sys.argv[1]
    variants = sys.argv[2:] or ["linear", "windows", "windows_es", "wide", "wide_init", "ens3_windows"]
    sets_filter = os.environ.get("SETS", "rhythm late band noisy order").split()
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    sets = L.load(out)
    for v in variants:
        for st in sets_filter:
            accs, t0 = [], time.time()
            for seed in (12, 13, 14):
                accs.append(run_variant(sets[st], v, seed))
            print(f"{v}\t{st}\t" + "\t".join(f"{a:.3f}" for a in accs) +
                  f"\tmean {np.mean(accs):.3f}\tspread {max(accs) - min(accs):.3f}\t{time.time() - t0:.0f}s",
                  flush=True)


if __name__ == "__main__":
    main()
