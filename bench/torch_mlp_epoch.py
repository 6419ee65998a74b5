#!/usr/bin/python3
"""PyTorch side of the MLP epoch benchmark: the same model, data and settings as `kiln train` defaults.

Run side by side with kiln on the same machine:
    python3 bench/torch_mlp_epoch.py --threads 2 --epochs 3
    build/bin/kiln train --device cpu --epochs 3 --json
Prints one JSON line with seconds per epoch, samples/s and test accuracy.
"""
import argparse
import gzip
import json
import os
import struct
import time

import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def load(root, split):
    prefix = "train" if split == "train" else "t10k"
    def find(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(root, name)):
                return os.path.join(root, name)
        raise FileNotFoundError(stem)
    x = read_idx(find(f"{prefix}-images-idx3-ubyte")).float().div_(255.0).reshape(-1, 784)
    y = read_idx(find(f"{prefix}-labels-idx1-ubyte")).long()
    return (x - 0.2860) / 0.3530, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    layers, width = [], 784
    for h in (int(v) for v in args.hidden.split(",") if v):
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, 10))
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    n = xtr.shape[0]
    epoch_times = []
    for epoch in range(args.epochs):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, args.batch_size):
            idx = perm[i:i + args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        epoch_times.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    best = min(epoch_times)
    print(json.dumps({"framework": "pytorch " + torch.__version__, "threads": args.threads,
                      "epochs": args.epochs, "seconds_per_epoch": epoch_times,
                      "best_seconds_per_epoch": best, "samples_per_second": n / best,
                      "test_accuracy": acc}))


if __name__ == "__main__":
    main()
