/**
 * train.py of the pytorch export: the plan's joint objective (masked per-task losses, task
 * weights, the Laplacian penalties of soft sharing, L2) trained with DistributedDataParallel.
 * The same file for every model: what is model-specific is in model.py, plan.json and
 * signature.json next to it.
 */
export const TRAIN_PY = `"""Trains this exported mtgraph model with PyTorch, on one process or many.

    torchrun --nproc_per_node=2 train.py --data data.csv --epochs 10
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --nproc_per_node=4 train.py --data data.csv

The objective is the plan's (plan.json): per task its loss over the rows that have a label (a
missing label: an empty or NA cell, -1 for a class) times the task's weight, plus the
graph-Laplacian penalties of soft sharing and the layers' L2. The CSV is read with the
preprocessing saved with the model (signature.json), as mtgraph train / predict read it. Each
process trains on its shard of the rows (DistributedSampler); gradients are averaged by
DistributedDataParallel (gloo on CPU, nccl on GPUs). Rank 0 writes the weights
(weights.safetensors by default), which \`mtgraph import\` brings back into the mtgraph model.

Debian's torch 1.13 on Python 3.11: plain \`torchrun\` can crash with
"'NoneType' object has no attribute 'get'"; add \`--redirects 1 --tee 1\`.
"""
import argparse
import csv
import json
import math
import os
import re
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import L2, LAPLACIAN, SCALES, TASKS, MtgraphModel, load_weights, state_of, write_safetensors  # noqa: E402

NUMBER = re.compile(r"^[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?$")
TRUE, FALSE = {"true", "yes"}, {"false", "no"}
EPSILON = 1e-7


def number(cell):
    return float(cell) if NUMBER.match(cell) else None


def fnv1a32(text):
    """FNV-1a (32 bit) of a text's UTF-8 bytes: the hash of an embedded column with buckets."""
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


VOCABULARIES = {}


def embedding_id(f, cell):
    """An embedded column's id: 1 + the cell's place in the vocabulary (0 when absent), or its hash bucket."""
    if "vocabulary" not in f:
        return float(fnv1a32(cell) % f["buckets"])
    ids = VOCABULARIES.get(f["column"])
    if ids is None:
        ids = VOCABULARIES[f["column"]] = {v: i + 1 for i, v in enumerate(f["vocabulary"])}
    return float(ids.get(cell, 0))


def features_of(pre, row, line):
    """One row's model inputs, as the saved preprocessing encodes them."""
    out = []
    for f in pre["features"]:
        cell = row[f["column"]]
        if f["type"] == "embed":
            out.append(embedding_id(f, cell))
        elif f["type"] == "numeric":
            v = None if cell in pre["missing"] else number(cell)
            if v is None:
                if f.get("fill") is None:
                    raise SystemExit(f"line {line}: column {f['column']!r} has no number ({cell!r}) and no fill")
                v = f["fill"]
            out.append((v - f["mean"]) / f["scale"])
        elif f["type"] == "one-hot":
            out.extend(1.0 if cell == c else 0.0 for c in f["categories"])
        else:
            index = f["categories"].index(cell) if cell in f["categories"] else -1
            out.append((index - f["mean"]) / f["scale"])
    return out


def label_of(task, cell, missing):
    """A label cell as a number; NaN when missing."""
    if cell in missing:
        return math.nan
    kind = task["kind"]
    if kind == "multiclass" and cell in task["outputNames"]:
        return float(task["outputNames"].index(cell))
    v = number(cell)
    if v is None and kind in ("binary", "multilabel"):
        v = 1.0 if cell.lower() in TRUE else 0.0 if cell.lower() in FALSE else None
    if v is None:
        raise SystemExit(f"task {task['id']!r}: label {cell!r} is not valid")
    if kind != "regression" and v == -1:
        return math.nan
    return v


def read_data(path, pre, tasks):
    """Features [rows, inputs] and, per task, labels [rows, width] with NaN where missing."""
    missing = set(pre["missing"])
    column = pre.get("taskColumn")
    task_map = (column or {}).get("map") or {}
    x, ys = [], {t["id"]: [] for t in tasks}
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f, delimiter=pre["delimiter"]), start=2):
            x.append(features_of(pre, row, line))
            own = None
            if column:
                value = row[column["column"]]
                own = task_map.get(value, value)
            for t in tasks:
                cols = pre["targets"][t["id"]]
                if own is not None and own != t["id"]:
                    ys[t["id"]].append([math.nan] * (1 if t["kind"] == "multiclass" else len(cols)))
                    continue
                ys[t["id"]].append([label_of(t, row[c], missing) for c in cols])
    return torch.tensor(x, dtype=torch.float32), {k: torch.tensor(v, dtype=torch.float32) for k, v in ys.items()}


def task_loss(task, pred, y):
    """The task's loss averaged over its labelled entries (0 when none); pred is the model output."""
    loss = task["loss"]
    if task["id"] in SCALES:
        s = SCALES[task["id"]]
        mean = torch.tensor(s["mean"], device=pred.device)
        std = torch.tensor(s["std"], device=pred.device)
        pred, y = (pred - mean) / std, (y - mean) / std
    if task["kind"] == "multiclass":
        mask = ~torch.isnan(y[:, 0])
        if not mask.any():
            return pred.sum() * 0
        picked = pred[mask].gather(1, y[mask, :1].long())
        return -torch.log(picked.clamp(EPSILON, 1)).mean()
    mask = ~torch.isnan(y)
    if not mask.any():
        return pred.sum() * 0
    p, t = pred[mask], y[mask]
    if loss == "mse":
        e = (p - t) ** 2
    elif loss == "mae":
        e = (p - t).abs()
    elif loss == "huber":
        a = (p - t).abs()
        q = a.clamp(max=1.0)
        e = 0.5 * q**2 + (a - q)
    elif loss == "binary-crossentropy":
        p = p.clamp(EPSILON, 1 - EPSILON)
        e = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))
    else:
        raise SystemExit(f"task {task['id']!r}: train.py has no loss {loss!r} (mse, mae, huber, binary-crossentropy, crossentropy)")
    return e.mean()


def rows_of(module, begin, rows):
    w, b = module.weight, module.bias
    if rows == -1:
        return w, b
    return w[begin : begin + rows], b[begin : begin + rows]


def penalty(model):
    """The Laplacian penalties of soft sharing and the layers' L2."""
    total = torch.zeros((), device=next(model.parameters()).device)
    for term in LAPLACIAN:
        for a, b, w in term["pairs"]:
            wa, ba = rows_of(getattr(model, a[0]), a[1], a[2])
            wb, bb = rows_of(getattr(model, b[0]), b[1], b[2])
            total = total + term["strength"] * w * (((wa - wb) ** 2).sum() + ((ba - bb) ** 2).sum())
    for name, l2 in L2:
        total = total + l2 * (getattr(model, name).weight ** 2).sum()
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\\n")[0])
    parser.add_argument("--data", required=True, help="a CSV with the columns the model was trained on")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32, help="rows per step and process")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default=str(HERE / "weights.safetensors"), help="starting weights")
    parser.add_argument("--out", default=str(HERE / "weights.safetensors"), help="where rank 0 writes the trained weights")
    parser.add_argument("--backend", default=None, help="gloo (CPU) or nccl (GPUs; the default when CUDA is available)")
    args = parser.parse_args()

    distributed = "WORLD_SIZE" in os.environ
    cuda = torch.cuda.is_available() and args.backend != "gloo"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    if distributed:
        dist.init_process_group(backend=args.backend or ("nccl" if cuda else "gloo"))
    rank = dist.get_rank() if distributed else 0
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    torch.manual_seed(args.seed)

    signature = json.loads((HERE / "signature.json").read_text())
    plan = json.loads((HERE / "plan.json").read_text())
    pre = signature.get("preprocessing")
    if not pre:
        raise SystemExit("signature.json has no preprocessing: the model was not trained from a CSV (mtgraph train)")
    tasks = plan["tasks"]
    x, ys = read_data(args.data, pre, tasks)
    dataset = TensorDataset(x, *[ys[t["id"]] for t in tasks])
    sampler = DistributedSampler(dataset, shuffle=True, seed=args.seed) if distributed else None
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, shuffle=sampler is None)

    model = load_weights(MtgraphModel(), args.weights).to(device)
    net = DistributedDataParallel(model, device_ids=[device.index] if cuda else None) if distributed else model
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        sums = torch.zeros(2)
        for batch in loader:
            xb, yb = batch[0].to(device), [b.to(device) for b in batch[1:]]
            outputs = net(xb)
            loss = sum(t["weight"] * task_loss(t, outputs[t["id"]], y) for t, y in zip(tasks, yb))
            loss = loss + penalty(model)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sums += torch.tensor([loss.item() * len(xb), len(xb)])
        if distributed:
            dist.all_reduce(sums)
        if rank == 0:
            print(json.dumps({"epoch": epoch + 1, "loss": (sums[0] / sums[1]).item()}), flush=True)
    if rank == 0:
        write_safetensors(state_of(model), args.out)
        print(json.dumps({"weights": args.out}), flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;
