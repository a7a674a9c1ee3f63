"""
Shared by bench/learn/reference.py and bench/learn/research.py: reading the
spectra that bench/learn/run exported from SQL, the seed's CNN in PyTorch,
its training recipe, and pooled features for linear models.

Inputs are what ttsp feeds its CNN: 10 log10(max(power, 1e-10)) of each
(channel, bin), standardised with the training clips' mean and deviation
over their frames (src/glue/train.c), cropped to a window or whole.
"""
import csv
import os
import struct

import numpy as np
import torch
import torch.nn as nn

FIRST_5S = 801  # frames of 5 s at 8 kHz, hop 50 (ttsp_train's default frames)


def read_copy_binary(path):
    """{(set, id): float32 array [c][b][f]} from COPY (set, id, spec::real[]) BINARY."""
    data = open(path, "rb").read()
    assert data[:11] == b"PGCOPY\n\xff\r\n\x00", "not a binary COPY file"
    ext = struct.unpack(">I", data[15:19])[0]
    pos = 19 + ext
    out = {}
    while True:
        (nf,) = struct.unpack(">h", data[pos:pos + 2])
        pos += 2
        if nf == -1:
            break
        fields = []
        for _ in range(nf):
            (ln,) = struct.unpack(">i", data[pos:pos + 4])
            pos += 4
            fields.append(data[pos:pos + ln])
            pos += ln
        name = fields[0].decode()
        (cid,) = struct.unpack(">i", fields[1])
        arr = fields[2]
        ndim, _, _ = struct.unpack(">iiI", arr[:12])
        dims = struct.unpack(">" + "ii" * ndim, arr[12:12 + 8 * ndim])[0::2]
        # each element: int32 length (4) then a big-endian float4
        el = np.frombuffer(arr[12 + 8 * ndim:], dtype=">f4").reshape(-1, 2)[:, 1]
        out[(name, cid)] = el.astype(np.float32).reshape(dims)
    return out


def load(outdir):
    """{set: dict(x=list of [c][b][f] log arrays, clean, label, heldout)}."""
    spectra = read_copy_binary(os.path.join(outdir, "spectra.bin"))
    sets = {}
    with open(os.path.join(outdir, "sets", "manifest.csv")) as f:
        for row in csv.DictReader(f):
            s = sets.setdefault(row["set"], dict(x=[], clean=[], label=[], heldout=[]))
            p = spectra[(row["set"], int(row["id"]))]
            s["x"].append(10 * np.log10(np.maximum(p, 1e-10)).astype(np.float32))
            s["clean"].append(int(row["clean"]))
            s["label"].append(int(row["label"]))
            s["heldout"].append(int(row["heldout"]))
    for s in sets.values():
        for k in ("clean", "label", "heldout"):
            s[k] = np.array(s[k])
    return sets


def split(s):
    tr = np.flatnonzero(s["heldout"] == 0)
    te = np.flatnonzero(s["heldout"] == 1)
    return tr, te


def norm_stats(xs, frames=None):
    """Per-(channel, bin) mean/std over the frames (the first `frames` if given)."""
    cat = np.concatenate([x[..., :frames] if frames else x for x in xs], axis=-1)
    m = cat.mean(axis=-1, keepdims=True)
    sd = cat.std(axis=-1, keepdims=True)
    sd[sd < 1e-6] = 1.0
    return m, sd


def crop_pad(x, frames):
    """First `frames` frames; shorter clips padded with 0 (the mean)."""
    if x.shape[-1] >= frames:
        return x[..., :frames]
    out = np.zeros(x.shape[:-1] + (frames,), dtype=np.float32)
    out[..., :x.shape[-1]] = x
    return out


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=5, stride=2, padding=2)
        self.bn = nn.BatchNorm2d(cout)
        nn.init.kaiming_normal_(self.conv.weight, a=0.1)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        return self.bn(torch.relu(self.conv(x)))


class SeedCNN(nn.Module):
    """4 x [Conv5x5/s2 -> ReLU -> BatchNorm2d], global average pool, Linear."""

    def __init__(self, cin, channels=(8, 16, 32, 64), n_wide=0):
        super().__init__()
        blocks = []
        for c in channels:
            blocks.append(Block(cin, c))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(cin, 1)
        # "wide": a linear term on pooled whole-clip features added to the logit
        self.wide = nn.Linear(n_wide, 1) if n_wide else None

    def forward(self, x, pooled=None):
        for b in self.blocks:
            x = b(x)
        out = self.head(x.mean(dim=(2, 3))).squeeze(1)
        if self.wide is not None:
            out = out + self.wide(pooled).squeeze(1)
        return out


def pooled_features(x):
    """Per-(channel, bin) mean and standard deviation of a [c][b][f] log array."""
    return np.concatenate([x.mean(axis=-1).ravel(), x.std(axis=-1).ravel()])
