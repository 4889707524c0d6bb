#!/usr/bin/env python3
"""PyTorch reference for the image benchmark (bench/images.ts): the MultiMNIST LeNet, joint and
separate, and C1, on the CPU, on the very images bench/images.ts trains on.

LeNet (examples/multimnist/lenet.ts): conv 5x5x10 -> max pool 2 -> ReLU -> conv 5x5x20 -> max
pool 2 -> ReLU -> flatten 320 -> dense 50 ReLU; per head a tower dense 50 ReLU -> 10 logits
(cross-entropy, summed over the heads). Joint: one shared network, two heads. Separate: one
single-head network per digit, both trained (their epoch times added). Adam(lr 1e-3, eps 1e-7),
batch LENET_BATCH, shuffled every epoch.
C1 (bench/c1.ts): torch_w.Conv (two 3x3 convs with pooling, two 10-class heads), batch 128,
C1_IMAGES random images, shuffled every epoch.

Inputs (written by bench/images.ts): DATA_DIR/train_x.f32 (n*784 float32), train_left.u8,
train_right.u8, test_x.f32, test_left.u8, test_right.u8. Samples/s: median epoch of EPOCHS epochs
after one warm-up epoch, and per second of process CPU time (median epoch); test accuracy after
the EPOCHS + 1 epochs. Run with
OPENBLAS_NUM_THREADS=1 and THREADS torch threads. Prints one JSON line.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_w import Conv, blas_library  # noqa: E402

DATA_DIR = os.environ["DATA_DIR"]
EPOCHS = int(os.environ.get("EPOCHS", "2"))
THREADS = int(os.environ.get("THREADS", "2"))
LENET_BATCH = int(os.environ.get("LENET_BATCH", "256"))
C1_IMAGES = int(os.environ.get("C1_IMAGES", "4096"))
SEED = int(os.environ.get("SEED", "1"))


class LeNet(torch.nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 10, 5)
        self.c2 = torch.nn.Conv2d(10, 20, 5)
        self.fc = torch.nn.Linear(320, 50)
        self.towers = torch.nn.ModuleList([torch.nn.Linear(50, 50) for _ in range(heads)])
        self.outs = torch.nn.ModuleList([torch.nn.Linear(50, 10) for _ in range(heads)])

    def forward(self, x):
        h = F.relu(F.max_pool2d(self.c1(x), 2))
        h = F.relu(F.max_pool2d(self.c2(h), 2)).flatten(1)
        h = F.relu(self.fc(h))
        return [o(F.relu(t(h))) for t, o in zip(self.towers, self.outs)]


def load(name, n_pixels=784):
    x = np.fromfile(os.path.join(DATA_DIR, f"{name}_x.f32"), dtype=np.float32)
    x = torch.from_numpy(x).reshape(-1, 1, 28, 28)
    left = torch.from_numpy(np.fromfile(os.path.join(DATA_DIR, f"{name}_left.u8"), dtype=np.uint8).astype(np.int64))
    right = torch.from_numpy(np.fromfile(os.path.join(DATA_DIR, f"{name}_right.u8"), dtype=np.uint8).astype(np.int64))
    return x, [left, right]


def train(net, x, ys, batch):
    """Wall and process CPU times (s) of EPOCHS + 1 epochs."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    n = x.shape[0]
    times, cpu = [], []
    for _ in range(EPOCHS + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            outs = net(x[idx])
            loss = sum(F.cross_entropy(o, y[idx]) for o, y in zip(outs, ys))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu


def accuracy(net, x, ys):
    with torch.no_grad():
        outs = net(x)
    return [float((o.argmax(1) == y).float().mean()) for o, y in zip(outs, ys)]


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    x, ys = load("train")
    tx, tys = load("test")
    n = x.shape[0]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library()}

    joint = LeNet(2)
    t, c = train(joint, x, ys, LENET_BATCH)
    out["joint"] = n / statistics.median(t[1:])
    out["jointCpu"] = n / statistics.median(c[1:])
    out["jointAccuracy"] = accuracy(joint, tx, tys)

    seconds = cpu_seconds = 0.0
    acc = []
    for k in range(2):
        net = LeNet(1)
        t, c = train(net, x, [ys[k]], LENET_BATCH)
        seconds += statistics.median(t[1:])
        cpu_seconds += statistics.median(c[1:])
        acc.append(accuracy(net, tx, [tys[k]])[0])
    out["separate"] = n / seconds
    out["separateCpu"] = n / cpu_seconds
    out["separateAccuracy"] = acc

    if C1_IMAGES > 0:
        g = torch.Generator().manual_seed(11)
        cx = torch.rand(C1_IMAGES, 1, 28, 28, generator=g)
        cy = [torch.randint(0, 10, (C1_IMAGES,), generator=g) for _ in range(2)]
        t, c = train(Conv(), cx, cy, 128)
        out["c1"] = C1_IMAGES / statistics.median(t[1:])
        out["c1Cpu"] = C1_IMAGES / statistics.median(c[1:])
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
