#!/usr/bin/python3
"""
Golden values of PyTorch 1.13 for the CNN core (src/core/cnn.h), read by
test/unit/test_cnn_torch.c.

Run with the Debian interpreter (python3-torch 1.13), from anywhere:
    /usr/bin/python3 test/golden/make_cnn_golden.py
It rewrites cnn_golden.txt next to itself.  The output is deterministic
(fixed seed, one thread).  CI never runs this; the text file is committed.

The network is the one cnn.h describes, built from torch.nn:
    n x [Conv2d(k=5, stride=2, pad=2) -> ReLU -> BatchNorm2d(eps=1e-5,
    momentum=0.1)] -> mean over (H, W) -> Linear(C_last, 1)
and the losses and optimisers are torch's own:
    classification, bce: BCEWithLogitsLoss()(logit, target)
    classification, mse: MSELoss()(sigmoid(logit), target)   (as the seed)
    regression, mse:     MSELoss()(output, target)
    adam: torch.optim.Adam(lr=1e-3)  (betas 0.9/0.999, eps 1e-8)
    sgd:  torch.optim.SGD(lr=0.01)   (no momentum)

Config: input 2 x 20 x 24, channels {4, 8}, batch 6.  All starting values
(weights, conv bias, BatchNorm affine and running statistics, input,
targets) are float32 drawn from a seeded generator; BatchNorm and bias get
non-default values so that every term of the maths matters.  Inputs are
multiples of 1/64 (short text, exact in float32).

The reference is computed in float64 from those float32 values, so it is
PyTorch's maths without float32 rounding: the C test's error is then ttsp's
own.  Reference values are written rounded to float32 (shortest repr that
round-trips through float32; 6e-8 relative, far below the test tolerance).

File format: '#' lines are comments; every other line is
    <section> <name> <count> <value> ...
with these sections (tensor names and order as ttsp_cnn_tensor_get, which
is PyTorch's state_dict order without num_batches_tracked):
    config  in_channels|in_height|in_width|batch  1  <int>
    config  channels  <n_blocks>  <int> ...
    init    <tensor>  the starting value of every tensor, running stats too
    input   x         batch x C x H x W, NCHW
    target  classification|regression   batch values
    train   out       training-mode forward output (raw: logits)
    train   <running_mean|running_var tensor>  after that forward
    eval    out       eval-mode forward output from the starting values
    eval    weights   batch output weights w, and
    eval    input_grad  d(sum_s w_s out_s)/dx of the eval-mode net, NCHW
    loss    <case>    1 value; cases classification_bce,
                      classification_mse, regression_mse
    dout    <case>    d(loss)/d(output), batch values
    grad    <case>/<tensor>   d(loss)/d(parameter), trainable tensors only
    step    <case>/<adam|sgd>/<tensor>  trainable tensors after one step
    steps3  classification_bce/<adamw|adam_l2>/<tensor>  trainable tensors
            after 3 steps (forward, backward, step on the same batch) of
            torch.optim.AdamW(lr=1e-2, weight_decay=0.5) and, as the
            contrast a test must tell apart, torch.optim.Adam with the same
            lr and weight_decay (L2 coupled to the gradient); the decay is
            large so that it moves every weight well beyond the tolerance
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

IN_C, IN_H, IN_W = 2, 20, 24
CHANNELS = [4, 8]
BATCH = 6
SEED = 20240611
# output weights of the eval-mode input gradient (saliency); exact in float32
EVAL_WEIGHTS = [0.5, -1.0, 2.0, 0.25, 1.0, -0.5][:BATCH]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cnn_golden.txt")


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=5, stride=2, padding=2)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)

    def forward(self, x):
        return self.bn(torch.relu(self.conv(x)))


class Net(nn.Module):
    def __init__(self, cin, channels):
        super().__init__()
        blocks = []
        for c in channels:
            blocks.append(Block(cin, c))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(cin, 1)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head(x.mean(dim=(2, 3))).squeeze(1)


def f32(v):
    """Shortest text that reads back as the same float32."""
    return np.format_float_positional(np.float32(v), unique=True, trim="-") \
        if 1e-4 <= abs(float(v)) < 1e6 or v == 0 else \
        np.format_float_scientific(np.float32(v), unique=True, trim="-")


def tensor_names(net):
    return [k for k in net.state_dict().keys() if not k.endswith("num_batches_tracked")]


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    gen = np.random.default_rng(SEED)
    lines = []

    def emit(section, name, values):
        vals = np.asarray(values, dtype=np.float64).ravel()
        lines.append(f"{section} {name} {vals.size} " + " ".join(f32(v) for v in vals))

    def emit_int(name, values):
        lines.append(f"config {name} {len(values)} " + " ".join(str(int(v)) for v in values))

    # starting values, float32
    ref = Net(IN_C, CHANNELS).double()
    init = {}
    cin = IN_C
    for i, c in enumerate(CHANNELS):
        std = np.sqrt(2.0 / (1 + 0.1 ** 2)) / np.sqrt(cin * 25)
        init[f"blocks.{i}.conv.weight"] = gen.normal(0, std, (c, cin, 5, 5))
        init[f"blocks.{i}.conv.bias"] = gen.uniform(-0.2, 0.2, c)
        init[f"blocks.{i}.bn.weight"] = gen.uniform(0.5, 1.5, c)
        init[f"blocks.{i}.bn.bias"] = gen.uniform(-0.2, 0.2, c)
        init[f"blocks.{i}.bn.running_mean"] = gen.uniform(-0.2, 0.2, c)
        init[f"blocks.{i}.bn.running_var"] = gen.uniform(0.5, 1.5, c)
        cin = c
    bound = 1 / np.sqrt(cin)
    init["head.weight"] = gen.uniform(-bound, bound, (1, cin))
    init["head.bias"] = gen.uniform(-bound, bound, 1)
    init = {k: v.astype(np.float32) for k, v in init.items()}
    names = tensor_names(ref)
    assert sorted(names) == sorted(init), (names, sorted(init))

    x = (np.round(gen.normal(0, 1, (BATCH, IN_C, IN_H, IN_W)) * 64) / 64).astype(np.float32)
    targets = {
        "classification": np.array([1, 0, 0, 1, 1, 0], dtype=np.float32)[:BATCH],
        "regression": gen.normal(0, 1, BATCH).astype(np.float32),
    }

    def fresh():
        net = Net(IN_C, CHANNELS).double()
        sd = net.state_dict()
        for k in names:
            sd[k].copy_(torch.from_numpy(init[k].astype(np.float64)).reshape(sd[k].shape))
        return net

    xt = torch.from_numpy(x.astype(np.float64))

    lines.append("# generated by test/golden/make_cnn_golden.py with torch " + torch.__version__ +
                 " (float64 reference from float32 starting values); see the script for the format")
    emit_int("in_channels", [IN_C])
    emit_int("in_height", [IN_H])
    emit_int("in_width", [IN_W])
    emit_int("batch", [BATCH])
    emit_int("channels", CHANNELS)
    for k in names:
        emit("init", k, init[k])
    emit("input", "x", x)
    for task, t in targets.items():
        emit("target", task, t)

    # training-mode forward: outputs and running statistics
    net = fresh()
    net.train()
    with torch.no_grad():
        out = net(xt)
    emit("train", "out", out.numpy())
    for k in names:
        if "running" in k:
            emit("train", k, net.state_dict()[k].numpy())

    net = fresh()
    net.eval()
    with torch.no_grad():
        emit("eval", "out", net(xt).numpy())

    # saliency: autograd's d(sum_s w_s out_s)/dx of the eval-mode net
    net = fresh()
    net.eval()
    xg = xt.clone().requires_grad_(True)
    (net(xg) * torch.tensor(EVAL_WEIGHTS, dtype=torch.float64)).sum().backward()
    emit("eval", "weights", EVAL_WEIGHTS)
    emit("eval", "input_grad", xg.grad.numpy())

    cases = [("classification", "bce"), ("classification", "mse"), ("regression", "mse")]
    for task, loss_kind in cases:
        case = f"{task}_{loss_kind}"
        tt = torch.from_numpy(targets[task].astype(np.float64))
        for opt_name in ("adam", "sgd"):
            net = fresh()
            net.train()
            out = net(xt)
            out.retain_grad()
            if loss_kind == "bce":
                loss = nn.BCEWithLogitsLoss()(out, tt)
            elif task == "classification":
                loss = nn.MSELoss()(torch.sigmoid(out), tt)
            else:
                loss = nn.MSELoss()(out, tt)
            if opt_name == "adam":
                opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            else:
                opt = torch.optim.SGD(net.parameters(), lr=0.01)
            opt.zero_grad()
            loss.backward()
            params = dict(net.named_parameters())
            if opt_name == "adam":
                emit("loss", case, [loss.item()])
                emit("dout", case, out.grad.numpy())
                for k in names:
                    if k in params:
                        emit("grad", f"{case}/{k}", params[k].grad.numpy())
            opt.step()
            for k in names:
                if k in params:
                    emit("step", f"{case}/{opt_name}/{k}", params[k].detach().numpy())

    # decoupled (AdamW) against coupled (Adam) weight decay, three steps
    tt = torch.from_numpy(targets["classification"].astype(np.float64))
    for opt_name in ("adamw", "adam_l2"):
        net = fresh()
        net.train()
        cls = torch.optim.AdamW if opt_name == "adamw" else torch.optim.Adam
        opt = cls(net.parameters(), lr=1e-2, weight_decay=0.5)
        for _ in range(3):
            opt.zero_grad()
            nn.BCEWithLogitsLoss()(net(xt), tt).backward()
            opt.step()
        params = dict(net.named_parameters())
        for k in names:
            if k in params:
                emit("steps3", f"classification_bce/{opt_name}/{k}", params[k].detach().numpy())

    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes, {len(lines)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
