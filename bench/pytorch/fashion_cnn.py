#!/usr/bin/python3
"""PyTorch side of the CNN epoch benchmark: the model, data, augmentation and settings of `kiln train --model cnn`.

Run side by side with kiln on the same machine (2 threads each):
    OMP_NUM_THREADS=2 build/bin/kiln train --model cnn --device cpu --epochs 1 --json --out /tmp/kiln-cnn
    python3 bench/pytorch/fashion_cnn.py --threads 2 --epochs 1
On a GPU (as the GPU runner does): --device cuda; the augmentation stays on the CPU, as kiln's data transforms.
Prints one JSON line with seconds per epoch, samples/s and test accuracy.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_mlp_epoch import load  # noqa: E402  (the same IDX reader and normalisation)


def build_cnn(classes=10):
    layers, channels = [], 1
    for width in (32, 64):
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
        channels = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 7 * 7, 128), nn.ReLU(), nn.Linear(128, classes))


def augment(x, gen):
    """RandomCrop(28, padding=2) then RandomHorizontalFlip, per sample, as kiln's data transforms."""
    n = x.shape[0]
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    offsets = torch.randint(0, 5, (n, 2), generator=gen)
    out = torch.stack([padded[i, :, oy:oy + 28, ox:ox + 28] for i, (oy, ox) in enumerate(offsets.tolist())])
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--tf32", action="store_true",
                    help="let cuDNN use TF32 for float32 convolutions (PyTorch's default; kiln's is full float32)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = args.tf32  # the same arithmetic as kiln unless asked
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    dev = torch.device(args.device)
    model = build_cnn().to(dev)
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
            xb = xtr[idx] if args.no_augment else augment(xtr[idx], gen)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb.to(dev)), ytr[idx].to(dev))
            loss.backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        epoch_times.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        acc = sum((model(xte[i:i + 1000].to(dev)).argmax(1).cpu() == yte[i:i + 1000]).sum().item()
                  for i in range(0, xte.shape[0], 1000)) / xte.shape[0]
    print(json.dumps({"framework": "pytorch " + torch.__version__, "threads": args.threads, "epochs": args.epochs,
                      "seconds_per_epoch": sum(epoch_times) / len(epoch_times), "best_epoch_seconds": min(epoch_times),
                      "samples_per_second": n / min(epoch_times), "test_accuracy": acc}))


if __name__ == "__main__":
    main()
