"""PyTorch references for issue 18's speed table (bench/vs-torch.ts runs them side by side).

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch/epochs.py --net seed --epochs 6

Networks (the same shapes as the mtgraph side; data is generated here with the same shapes and
distributions, not the same numbers):
  seed    10 -> 32 relu, a sigmoid head (BCE) and a 3-class softmax head (cross-entropy), batch 32
  dense   64 -> 256 -> 128 relu, 8 regression heads (one Linear(128, 8), mse each), batch 256
  mmoe    8 experts 64 -> 256 -> 128 relu, 8 softmax gates Linear(64, 8), 8 heads, batch 256
  school  School soft: 139 schools + a label-less centre task, a tower 27 -> 16 relu -> 1 each,
          size-weighted masked mse, a Laplacian (centre to every school, strength 3) on tower
          layer 0 and the heads, batch 1024, Adam 1e-2 (the README's settings), the towers as one
          batched product (torch.baddbmm): the fastest way to write 140 towers in PyTorch
Adam 1e-3 (school: 1e-2), shuffled each epoch. Prints one JSON line: CPU ms (time.process_time)
of every epoch after `--warmup` untimed ones, and the thread count torch used.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument('--net', required=True, choices=['seed', 'dense', 'mmoe', 'school'])
p.add_argument('--epochs', type=int, default=6)
p.add_argument('--warmup', type=int, default=1)
p.add_argument('--rows', type=int, default=8192)
p.add_argument('--clock', choices=['cpu', 'wall'], default='cpu')
p.add_argument('--data', default=os.path.join(os.path.dirname(__file__), '../../../shared/data/school/school.csv'))
args = p.parse_args()

torch.manual_seed(0)
rng = np.random.default_rng(0)
ROWS = args.rows


class Seed(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(10, 32)
        self.heads = nn.Linear(32, 4)  # column 0: the sigmoid head; 1-3: the softmax head

    def forward(self, x):
        return self.heads(torch.relu(self.trunk(x)))


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(64, 256)
        self.l2 = nn.Linear(256, 128)
        self.heads = nn.Linear(128, 8)

    def forward(self, x):
        return self.heads(torch.relu(self.l2(torch.relu(self.l1(x)))))


class MMoE(nn.Module):
    def __init__(self, experts=8, tasks=8):
        super().__init__()
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
            for _ in range(experts)
        )
        self.gates = nn.ModuleList(nn.Linear(64, experts) for _ in range(tasks))
        self.heads = nn.ModuleList(nn.Linear(128, 1) for _ in range(tasks))

    def forward(self, x):
        stack = torch.stack([e(x) for e in self.experts], 1)  # [B, E, 128]
        outs = []
        for gate, head in zip(self.gates, self.heads):
            w = torch.softmax(gate(x), -1).unsqueeze(-1)  # [B, E, 1]
            outs.append(head((w * stack).sum(1)))
        return torch.cat(outs, 1)


class Towers(nn.Module):
    """T towers in -> u relu -> 1 as batched products."""

    def __init__(self, tasks, features, units):
        super().__init__()
        b1 = 1 / features ** 0.5
        b2 = 1 / units ** 0.5
        self.w1 = nn.Parameter(torch.empty(tasks, features, units).uniform_(-b1, b1))
        self.b1 = nn.Parameter(torch.zeros(tasks, 1, units))
        self.w2 = nn.Parameter(torch.empty(tasks, units, 1).uniform_(-b2, b2))
        self.b2 = nn.Parameter(torch.zeros(tasks, 1, 1))

    def forward(self, x):
        xs = x.unsqueeze(0).expand(self.w1.shape[0], -1, -1)
        h = torch.relu(torch.baddbmm(self.b1, xs, self.w1))
        return torch.baddbmm(self.b2, h, self.w2).squeeze(-1).t()  # [B, T]


def synthetic(features, heads):
    x = rng.uniform(-1, 1, (ROWS, features)).astype(np.float32)
    y = np.tanh(x[:, :heads] + x[:, 8:8 + heads]).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


if args.net == 'seed':
    model, batch, lr = Seed(), 32, 1e-3
    x = torch.from_numpy(rng.random((ROWS, 10), dtype=np.float32))
    yb = torch.from_numpy((rng.random(ROWS) < 0.5).astype(np.float32))
    yc = torch.from_numpy(rng.integers(0, 3, ROWS))
    bce, ce = nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss()

    def loss_of(idx):
        out = model(x[idx])
        return bce(out[:, 0], yb[idx]) + ce(out[:, 1:], yc[idx])
elif args.net in ('dense', 'mmoe'):
    model, batch, lr = (Dense() if args.net == 'dense' else MMoE()), 256, 1e-3
    x, y = synthetic(64, 8)

    def loss_of(idx):
        d = model(x[idx]) - y[idx]
        return (d * d).mean(0).sum()  # the sum of the 8 tasks' mse
else:
    raw = np.loadtxt(args.data, delimiter=',', skiprows=1, dtype=np.float64)
    task = raw[:, 0].astype(np.int64)
    T = int(task.max()) + 1
    # a 75/25 split within each school, as bench/quality/school.ts does (its own random stream)
    train = np.concatenate([
        (lambda r: r[: int(round(0.75 * len(r)))])(rng.permutation(np.flatnonzero(task == t)))
        for t in range(T)
    ])
    feats = raw[train, 1:-1]
    feats = (feats - feats.mean(0)) / np.where(feats.std(0) > 0, feats.std(0), 1)
    target = raw[train, -1]
    target = (target - target.mean()) / target.std()
    n = len(train)
    x = torch.from_numpy(feats.astype(np.float32))
    y = torch.from_numpy(target.astype(np.float32))
    tt = torch.from_numpy(task[train])
    sizes = torch.bincount(tt, minlength=T).float()
    weight = sizes * T / n  # each school's loss weighted by its size: the pooled squared error
    model, batch, lr, ROWS = Towers(T + 1, x.shape[1], 16), 1024, 1e-2, n
    strength = 3.0

    def loss_of(idx):
        out = model(x[idx])[:, :T]  # the centre task (column T) has no labels
        mask = torch.zeros(len(idx), T)
        mask[torch.arange(len(idx)), tt[idx]] = 1
        d = (out - y[idx].unsqueeze(1)) ** 2 * mask
        per_task = d.sum(0) / mask.sum(0).clamp(min=1)
        pen = 0
        for param in (model.w1, model.b1, model.w2, model.b2):
            pen = pen + ((param[:T] - param[T:]) ** 2).sum()  # centre joined to every school, weight 1
        return (weight * per_task).sum() + strength * pen

opt = torch.optim.Adam(model.parameters(), lr=lr)


def epoch():
    perm = torch.randperm(ROWS)
    for s in range(0, ROWS, batch):
        opt.zero_grad(set_to_none=True)
        loss = loss_of(perm[s:s + batch])
        loss.backward()
        opt.step()
    return float(loss)


for _ in range(args.warmup):
    epoch()
clock = time.process_time if args.clock == 'cpu' else time.perf_counter
ms = []
for _ in range(args.epochs):
    t0 = clock()
    last = epoch()
    ms.append((clock() - t0) * 1000)
blas = sorted({line.split()[-1].rsplit('/', 1)[-1] for line in open('/proc/self/maps') if 'blas' in line})
print(json.dumps({'net': args.net, 'ms': ms, 'threads': torch.get_num_threads(), 'rows': ROWS,
                  'loss': last, 'torch': torch.__version__, 'blas': ';'.join(blas)}))
