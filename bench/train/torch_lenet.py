#!/usr/bin/python3
"""Training speed of PyTorch (Debian's python3-torch) on the same LeNet-5 and data as
`frugal train lenet5`, for the images/s comparison in docs/training.md.

  /usr/bin/python3 bench/train/torch_lenet.py --batch 64 --threads 1 --limit 20000

Same architecture (conv 5x5 pad 2 -> 6, relu, maxpool 2, conv 5x5 -> 16, relu, maxpool 2,
fc 400-120-84-10), same optimizer (SGD, momentum), same batch and thread count; the data
are the Fashion-MNIST IDX files, scaled to [0, 1]. Prints one JSON line.
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = idx(a.root + "/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = idx(a.root + "/train-labels-idx1-ubyte.gz").astype(np.int64)
    if a.limit:
        x, y = x[:a.limit], y[:a.limit]
    x = torch.from_numpy(x.reshape(-1, 1, 28, 28).copy())
    y = torch.from_numpy(y.copy())
    xt = torch.from_numpy(idx(a.root + "/t10k-images-idx3-ubyte.gz").astype(np.float32).reshape(-1, 1, 28, 28) / 255.0)
    yt = torch.from_numpy(idx(a.root + "/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    loss_fn = nn.CrossEntropyLoss()
    rows = []
    for epoch in range(a.epochs):
        perm = torch.randperm(len(x))
        model.train()
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, len(x), a.batch):
            idxs = perm[i:i + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idxs]), y[idxs])
            loss.backward()
            opt.step()
            total += loss.item() * len(idxs)
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            acc = (model(xt).argmax(1) == yt).float().mean().item()
        rows.append({"epoch": epoch + 1, "train_loss": total / len(x), "seconds": secs,
                     "images_per_second": len(x) / secs, "test_accuracy": acc})
    print(json.dumps({"framework": "pytorch " + torch.__version__, "batch": a.batch,
                      "threads": a.threads, "samples": len(x), "epochs": rows}))


if __name__ == "__main__":
    main()
