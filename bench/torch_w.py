#!/usr/bin/env python3
"""PyTorch reference for the native-kernel benchmark (bench/native.ts): workloads W1 and W2 on the CPU.

W1: dense trunk 784->256->256 (ReLU), a 10-class softmax head (cross-entropy) and a 1-unit
regression head (MSE), loss = ce + 0.5 * mse, Adam(lr 1e-3, eps 1e-7), batch 128, 8192 random
rows, shuffled every epoch. W2: the same with per-task gradients: one forward pass, one backward
pass per head (retain_graph), PCGrad on the shared (trunk) gradient, the head gradients as is,
one Adam step.

C1: 28x28x1 -> conv 3x3x16 (same) ReLU, max pool 2 -> conv 3x3x32 (same) ReLU, max pool 2 -> two
10-class heads on the 1568 features (cross-entropy, summed), Adam 1e-3, batch 128, C1_IMAGES images.

Samples/s: the median epoch of EPOCHS epochs after one warm-up epoch; best of ROUNDS rounds.
Run as bench/native.ts does: /usr/bin/python3 with OPENBLAS_NUM_THREADS=1 (torch threads and
OpenBLAS threads fight otherwise) and torch.set_num_threads(2). Prints one JSON line.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

ROWS = int(os.environ.get("W_ROWS", "8192"))
EPOCHS = int(os.environ.get("W_EPOCHS", "3"))
ROUNDS = int(os.environ.get("W_ROUNDS", "3"))
THREADS = int(os.environ.get("W_THREADS", "2"))
C1_IMAGES = int(os.environ.get("C1_IMAGES", "2048"))
BATCH = 128


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = torch.nn.Linear(784, 256)
        self.l2 = torch.nn.Linear(256, 256)
        self.digit = torch.nn.Linear(256, 10)
        self.value = torch.nn.Linear(256, 1)

    def trunk(self, x):
        return F.relu(self.l2(F.relu(self.l1(x))))

    def losses(self, x, cls, reg):
        h = self.trunk(x)
        ce = F.cross_entropy(self.digit(h), cls)
        mse = F.mse_loss(self.value(h).squeeze(1), reg)
        return ce, mse


def data(n, seed=7):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 784, generator=g)
    cls = torch.randint(0, 10, (n,), generator=g)
    reg = torch.randn(n, generator=g)
    return x, cls, reg


def pcgrad(g1, g2):
    """PCGrad for two tasks: each gradient loses its component along the other when they conflict."""
    dot = torch.dot(g1, g2)
    p1, p2 = g1, g2
    if dot < 0:
        p1 = g1 - dot / torch.dot(g2, g2).clamp_min(1e-30) * g2
        p2 = g2 - dot / torch.dot(g1, g1).clamp_min(1e-30) * g1
    return p1 + p2


def epoch_w1(net, opt, x, cls, reg):
    perm = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], BATCH):
        idx = perm[i : i + BATCH]
        ce, mse = net.losses(x[idx], cls[idx], reg[idx])
        opt.zero_grad(set_to_none=True)
        (ce + 0.5 * mse).backward()
        opt.step()


def epoch_w2(net, opt, x, cls, reg):
    shared = [net.l1.weight, net.l1.bias, net.l2.weight, net.l2.bias]
    perm = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], BATCH):
        idx = perm[i : i + BATCH]
        ce, mse = net.losses(x[idx], cls[idx], reg[idx])
        opt.zero_grad(set_to_none=True)
        ce.backward(retain_graph=True)
        g1 = torch.cat([p.grad.reshape(-1) for p in shared])
        for p in shared:
            p.grad = None
        (0.5 * mse).backward()
        g2 = torch.cat([p.grad.reshape(-1) for p in shared])
        d = pcgrad(g1, g2)
        off = 0
        for p in shared:
            p.grad = d[off : off + p.numel()].view_as(p).clone()
            off += p.numel()
        opt.step()


class Conv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.h1 = torch.nn.Linear(1568, 10)
        self.h2 = torch.nn.Linear(1568, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.c1(x)), 2)
        h = F.max_pool2d(F.relu(self.c2(h)), 2).flatten(1)
        return self.h1(h), self.h2(h)


def c1_rate():
    torch.manual_seed(1)
    net = Conv()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(11)
    x = torch.rand(C1_IMAGES, 1, 28, 28, generator=g)
    y1 = torch.randint(0, 10, (C1_IMAGES,), generator=g)
    y2 = torch.randint(0, 10, (C1_IMAGES,), generator=g)
    times = []
    for e in range(EPOCHS + 1):
        t0 = time.perf_counter()
        for i in range(0, C1_IMAGES, BATCH):
            o1, o2 = net(x[i : i + BATCH])
            loss = F.cross_entropy(o1, y1[i : i + BATCH]) + F.cross_entropy(o2, y2[i : i + BATCH])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return C1_IMAGES / statistics.median(times[1:])


def rate(epoch_fn):
    torch.manual_seed(1)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    x, cls, reg = data(ROWS)
    times = []
    for e in range(EPOCHS + 1):
        t0 = time.perf_counter()
        epoch_fn(net, opt, x, cls, reg)
        times.append(time.perf_counter() - t0)
    return ROWS / statistics.median(times[1:])


def blas_library():
    """The BLAS actually loaded (Debian's torch uses whatever libblas.so.3 points to)."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    for name in ("openblas", "mkl", "blis", "atlas"):
        if name in maps:
            return name
    return "reference" if "libblas" in maps else "unknown"


def main():
    torch.set_num_threads(THREADS)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblasThreads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "blas": blas_library(),
        "w1": 0.0,
        "w2": 0.0,
        "c1": 0.0,
    }
    for _ in range(ROUNDS):
        out["w1"] = max(out["w1"], rate(epoch_w1))
        out["w2"] = max(out["w2"], rate(epoch_w2))
        if C1_IMAGES > 0:
            out["c1"] = max(out["c1"], c1_rate())
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
