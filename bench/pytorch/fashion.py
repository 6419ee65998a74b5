#!/usr/bin/env python3
"""The fashion suite in PyTorch, the twin of `kiln bench --suite fashion` (tools/kiln/bench_fashion.cpp).

Seconds per training epoch of `kiln train`'s models on Fashion-MNIST, trained the standard PyTorch way: a
TensorDataset (or a Dataset applying the CNN's augmentation per sample) behind torch.utils.data.DataLoader with
batch 64, shuffled, no worker processes on the CPU (kiln trains with none there either); Adam lr 1e-3,
cross-entropy. An untimed warm-up epoch on the first 2048 images, then two timed epochs of the MLP or one of
the CNN. One JSON row per model and precision (float32, bf16, and fp16 on a GPU: autocast around forward and
loss, a GradScaler for fp16), the CNN channels-last (model and inputs in torch.channels_last, as kiln trains it)
and, in float32, also contiguous:
  python3 bench/pytorch/fashion.py --threads 2                      # mlp and cnn
  python3 bench/pytorch/fashion.py --case '{"model": "mlp", "precision": "float32"}'
"""
import gzip
import os
import struct

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import bench_common

# Normalisation constants, as kiln's tools/kiln/fashion_task.cpp applies them.
STATS = {"fashion-mnist": (0.2860, 0.3530), "mnist": (0.1307, 0.3081)}


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def load_train(root, dataset):
    def find(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(root, name)):
                return os.path.join(root, name)
        raise FileNotFoundError(os.path.join(root, stem))
    mean, std = STATS[dataset]
    x = read_idx(find("train-images-idx3-ubyte")).float().div_(255.0).reshape(-1, 1, 28, 28)
    return (x - mean) / std, read_idx(find("train-labels-idx1-ubyte")).long()


def build_mlp(hidden=(256, 128), classes=10):
    layers, width = [nn.Flatten()], 784
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, classes))


def build_cnn(classes=10):
    layers, channels = [], 1
    for width in (32, 64):
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
        channels = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 7 * 7, 128), nn.ReLU(), nn.Linear(128, classes))


class Augmented(Dataset):
    """RandomCrop(28, padding=2) then RandomHorizontalFlip per sample, as torchvision's transforms (and kiln's)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        padded = torch.nn.functional.pad(self.x[i], (2, 2, 2, 2))
        oy, ox = torch.randint(0, 5, (2,)).tolist()
        img = padded[:, oy:oy + 28, ox:ox + 28]
        if torch.rand(()) < 0.5:
            img = img.flip(-1)
        return img, self.y[i]


def loader(model_name, x, y, dev):
    data = Augmented(x, y) if model_name == "cnn" else TensorDataset(x, y)
    return DataLoader(data, batch_size=64, shuffle=True, pin_memory=dev.type == "cuda",
                      num_workers=2 if dev.type == "cuda" else 0)


PRECISIONS = {"float32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Amp:
    """PyTorch's AMP recipe, as `kiln train --amp`: autocast around forward and loss, a GradScaler for fp16."""

    def __init__(self, precision, dev):
        self.dtype = PRECISIONS[precision]
        self.dev = dev
        self.scaler = torch.amp.GradScaler(dev.type) if precision == "fp16" else None

    def autocast(self):
        return torch.autocast(self.dev.type, dtype=self.dtype, enabled=self.dtype is not None)

    def backward_step(self, loss, opt):
        if self.scaler is None:
            loss.backward()
            opt.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)
            self.scaler.update()


def train_epoch(model, opt, loss_fn, batches, dev, amp, memory_format):
    total, count = 0.0, 0
    for xb, yb in batches:
        xb, yb = xb.to(dev, non_blocking=True, memory_format=memory_format), yb.to(dev, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        with amp.autocast():
            loss = loss_fn(model(xb), yb)
        amp.backward_step(loss, opt)
        total += loss.detach() * xb.shape[0]
        count += xb.shape[0]
    return (total / count).item()


def run(dev, keys, args):
    precision = keys.get("precision", "float32")
    if precision not in PRECISIONS or (precision == "fp16" and dev.type != "cuda"):
        raise SystemExit(f"fashion.py: no precision {precision} on {dev.type}")
    x, y = load_train(args.data, args.dataset)
    if args.quick:
        x, y = x[:256], y[:256]
    torch.manual_seed(0)
    model = (build_cnn() if keys["model"] == "cnn" else build_mlp()).to(dev)
    # kiln's "channels_last" rows: PyTorch's recipe, model and inputs in torch.channels_last.
    memory_format = torch.channels_last if keys.get("memory_format") == "channels_last" else torch.preserve_format
    model = model.to(memory_format=memory_format)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    warm = 64 if args.quick else 2048
    amp = Amp(precision, dev)
    train_epoch(model, opt, loss_fn, loader(keys["model"], x[:warm], y[:warm], dev), dev, amp, memory_format)
    epochs = 1 if keys["model"] == "cnn" or args.quick else 2
    batches = loader(keys["model"], x, y, dev)
    seconds, loss = 0.0, None
    for _ in range(epochs):
        bench_common.sync(dev)
        t0 = bench_common.time.perf_counter()
        loss = train_epoch(model, opt, loss_fn, batches, dev, amp, memory_format)
        seconds += bench_common.time.perf_counter() - t0
    per_epoch = seconds / epochs
    return {"images": x.shape[0], "epochs": epochs, "seconds_per_epoch": per_epoch,
            "samples_per_s": x.shape[0] / per_epoch, "final_loss": loss}


def main():
    args = bench_common.parser(__doc__.splitlines()[0]).parse_args()
    dev = bench_common.setup(args)
    precisions = ["float32", "bf16"] + (["fp16"] if dev.type == "cuda" else [])
    all_cases = ([{"model": "mlp", "precision": p} for p in precisions] +
                 [{"model": "cnn", "precision": p, "memory_format": "channels_last"} for p in precisions] +
                 [{"model": "cnn", "precision": "float32", "memory_format": "contiguous"}])
    for keys in bench_common.cases(args, all_cases):
        bench_common.emit(dev, keys, run(dev, keys, args))


if __name__ == "__main__":
    main()
