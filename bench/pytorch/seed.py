#!/usr/bin/env python3
"""The seed suite in PyTorch, the twin of `kiln bench --suite seed` (tools/kiln/bench_seed.cpp).

A deep ReLU MLP (input 10, width 512, output 1; "layers" counts the Linear layers) trained with MSE and Adam
(lr 1e-3) on 1000 random float32 rows in batches of 32 (31 of 32 and one of 8). One epoch warms up, then 5 timed
epochs run with the device synchronised before the clock starts and stops. One JSON row per depth:
  python3 bench/pytorch/seed.py --threads 2            # 10 and 50 layers
  python3 bench/pytorch/seed.py --case '{"layers": 10}'
"""
import time

import torch

import bench_common


def make_model(layers, inputs, width):
    mods = [torch.nn.Linear(inputs, width), torch.nn.ReLU()]
    for _ in range(layers - 2):
        mods += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    mods.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*mods)


def run(dev, layers, quick):
    rows, batch, width, inputs, epochs = (64, 32, 16, 10, 1) if quick else (1000, 32, 512, 10, 5)
    torch.manual_seed(0)
    x = torch.randn(rows, inputs).to(dev)
    y = torch.randn(rows, 1).to(dev)
    model = make_model(layers, inputs, width).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    loss = None

    def epoch():
        nonlocal loss
        for start in range(0, rows, batch):
            opt.zero_grad()
            loss = loss_fn(model(x[start:start + batch]), y[start:start + batch])
            loss.backward()
            opt.step()

    epoch()  # warm-up: kernels, cuBLAS handles, the caching allocator's blocks
    bench_common.sync(dev)
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    bench_common.sync(dev)
    seconds = time.perf_counter() - t0
    steps = epochs * ((rows + batch - 1) // batch)
    return {"width": width, "epochs": epochs, "seconds": seconds, "steps_per_s": steps / seconds,
            "final_loss": loss.item()}


def main():
    args = bench_common.parser(__doc__.splitlines()[0]).parse_args()
    dev = bench_common.setup(args)
    for keys in bench_common.cases(args, [{"layers": 3}] if args.quick else [{"layers": 10}, {"layers": 50}]):
        bench_common.emit(dev, keys, run(dev, keys["layers"], args.quick))


if __name__ == "__main__":
    main()
