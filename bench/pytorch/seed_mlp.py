#!/usr/bin/env python3
"""The seed workload in PyTorch, the twin of bench/seed_mlp.cpp (same model, data, steps and output line).

A deep ReLU MLP (input 10, width 512, output 1; "layers" counts the Linear layers) trained with MSE and Adam
(lr 1e-3) on 1000 random float32 rows in batches of 32 (31 of 32 and one of 8). One epoch warms up, then the
timed epochs run with the device synchronised before the clock starts and stops. Prints one line per depth:
  seed_mlp framework=torch device=cuda:0 layers=10 ... steps_per_s=...
"""
import argparse
import time

import torch


def make_model(layers, width):
    mods = [torch.nn.Linear(10, width), torch.nn.ReLU()]
    for _ in range(layers - 2):
        mods += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    mods.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*mods)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def run(args, dev, layers):
    torch.manual_seed(0)
    x = torch.randn(args.rows, 10).to(dev)
    y = torch.randn(args.rows, 1).to(dev)
    model = make_model(layers, args.width).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    loss = None

    def epoch():
        nonlocal loss
        for start in range(0, args.rows, args.batch):
            opt.zero_grad()
            loss = loss_fn(model(x[start:start + args.batch]), y[start:start + args.batch])
            loss.backward()
            opt.step()

    epoch()  # warm-up: kernels, cuBLAS handles, the caching allocator's blocks
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        epoch()
    sync(dev)
    seconds = time.perf_counter() - t0
    steps = args.epochs * ((args.rows + args.batch - 1) // args.batch)
    name = f"cuda:{dev.index or 0}" if dev.type == "cuda" else "cpu"
    print(f"seed_mlp framework=torch device={name} layers={layers} width={args.width} batch={args.batch} "
          f"rows={args.rows} threads={torch.get_num_threads()} steps={steps} seconds={seconds:.4f} "
          f"steps_per_s={steps / seconds:.2f} loss={loss.item():.6f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--layers", default="10,50", help="comma-separated depths (Linear layers)")
    p.add_argument("--epochs", type=int, default=5, help="timed epochs after the warm-up epoch")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=512)
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no usable GPU")
    torch.backends.cuda.matmul.allow_tf32 = False  # full float32, as kiln computes it
    torch.backends.cudnn.allow_tf32 = False
    for layers in (int(v) for v in args.layers.split(",")):
        run(args, dev, layers)


if __name__ == "__main__":
    main()
