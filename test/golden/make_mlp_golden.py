#!/usr/bin/python3
"""
Golden values of PyTorch for the covariates-only MLP (src/core/mlp.h), read
by test/unit/test_mlp.c.

Run with the Debian interpreter (python3-torch), from anywhere:
    /usr/bin/python3 test/golden/make_mlp_golden.py
It rewrites mlp_golden.txt next to itself.  Deterministic (fixed seed);
CI never runs this, the text file is committed.

The network: torch.nn.Sequential(Linear(4, 5), ReLU(), Linear(5, 1)) in
float64 with parameters drawn here (flattened as the core lays them out:
w1 row-major [5][4], b1, w2, b2), on 7 rows of 4 inputs.  Recorded per task
(classification: BCEWithLogitsLoss on 0/1 labels; regression: MSELoss,
both with the mean reduction):
  out    the network's outputs (logits or values)
  loss   the mean loss
  grad   d loss / d parameters, in the core's order
and, per optimiser, the parameters after 3 steps on the same batch:
  adam   torch.optim.Adam(lr=0.01)
  adamw  torch.optim.AdamW(lr=0.01, weight_decay=0.1)
  sgd    torch.optim.SGD(lr=0.05, momentum=0.9, weight_decay=0.01)
(classification only).  Pre-activations are kept away from 0 so that
finite differences in the C test do not straddle a ReLU kink.

File format: '#' comments; other lines are
    <section> <name> <count> <value> ...
with values printed with repr (they read back as the same double).
"""
import os

import torch

torch.manual_seed(20)
N_IN, HIDDEN, N = 4, 5, 7


def flat(net):
    l1, l2 = net[0], net[2]
    return torch.cat([l1.weight.reshape(-1), l1.bias, l2.weight.reshape(-1), l2.bias])


def flat_grad(net):
    l1, l2 = net[0], net[2]
    return torch.cat([l1.weight.grad.reshape(-1), l1.bias.grad, l2.weight.grad.reshape(-1), l2.bias.grad])


def make_net(params):
    net = torch.nn.Sequential(torch.nn.Linear(N_IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1)).double()
    with torch.no_grad():
        k = 0
        for p in (net[0].weight, net[0].bias, net[2].weight, net[2].bias):
            p.copy_(params[k:k + p.numel()].reshape(p.shape))
            k += p.numel()
    return net


# inputs and parameters, redrawn until no pre-activation is within 0.05 of 0
while True:
    x = torch.randn(N, N_IN, dtype=torch.float64)
    params = torch.randn(HIDDEN * N_IN + 2 * HIDDEN + 1, dtype=torch.float64) * 0.7
    pre = x @ params[:HIDDEN * N_IN].reshape(HIDDEN, N_IN).T + params[HIDDEN * N_IN:HIDDEN * N_IN + HIDDEN]
    if pre.abs().min() > 0.05:
        break
y_cls = torch.tensor([0, 1, 1, 0, 1, 0, 0], dtype=torch.float64)
y_reg = torch.randn(N, dtype=torch.float64)

lines = ["# written by make_mlp_golden.py with torch %s" % torch.__version__]


def put(sec, name, values):
    values = [float(v) for v in values]
    lines.append("%s %s %d %s" % (sec, name, len(values), " ".join(repr(v) for v in values)))


put("data", "x", x.reshape(-1))
put("data", "params", params)
put("data", "y_cls", y_cls)
put("data", "y_reg", y_reg)
for task, y, lossf in (("classification", y_cls, torch.nn.BCEWithLogitsLoss()), ("regression", y_reg, torch.nn.MSELoss())):
    net = make_net(params)
    out = net(x).reshape(-1)
    loss = lossf(out, y)
    loss.backward()
    put(task, "out", out.detach())
    put(task, "loss", [loss.item()])
    put(task, "grad", flat_grad(net))

for name, make_opt in (("adam", lambda p: torch.optim.Adam(p, lr=0.01)),
                       ("adamw", lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
                       ("sgd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01))):
    net = make_net(params)
    opt = make_opt(net.parameters())
    for _ in range(3):
        opt.zero_grad()
        torch.nn.BCEWithLogitsLoss()(net(x).reshape(-1), y_cls).backward()
        opt.step()
    put("step", name, flat(net).detach())

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlp_golden.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
