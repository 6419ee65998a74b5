#!/usr/bin/env python3
"""The seed suite in PyTorch, the twin of `kiln bench --suite seed` (tools/kiln/bench_seed.cpp).

A deep ReLU MLP (input 10, width 512, output 1; "layers" counts the Linear layers) trained with MSE and Adam
(lr 1e-3) on 1000 random float32 rows in batches of 32 (31 of 32 and one of 8). One epoch warms up, then 5 timed
epochs run with the device synchronised before the clock starts and stops. On a GPU each depth is also run
captured as a CUDA graph ("graph": true), as PyTorch's whole-network capture recipe does it (three warm-up steps
on a side stream, Adam(capturable=True), torch.cuda.graph, copy each batch into the static inputs and replay; the
smaller last batch runs eagerly into the same gradient tensors). One JSON row per case:
  python3 bench/pytorch/seed.py --threads 2            # 10 and 50 layers (and their graph cases on a GPU)
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


def graphed_step(model, opt, loss_fn, x0, y0):
    """A step function that replays one captured training step for batches of x0's shape, eager otherwise."""
    static_x, static_y = x0.clone(), y0.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(static_x), static_y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = loss_fn(model(static_x), static_y)
        static_loss.backward()
        opt.step()

    def step(xb, yb):
        if xb.shape != static_x.shape:
            opt.zero_grad(set_to_none=False)  # keep the graph's gradient tensors
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            return loss
        static_x.copy_(xb)
        static_y.copy_(yb)
        graph.replay()
        return static_loss

    return step


def run(dev, layers, quick, graph=False):
    rows, batch, width, inputs, epochs = (64, 32, 16, 10, 1) if quick else (1000, 32, 512, 10, 5)
    torch.manual_seed(0)
    x = torch.randn(rows, inputs).to(dev)
    y = torch.randn(rows, 1).to(dev)
    model = make_model(layers, inputs, width).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=graph)
    loss_fn = torch.nn.MSELoss()
    loss = None
    step = graphed_step(model, opt, loss_fn, x[:batch], y[:batch]) if graph else None

    def epoch():
        nonlocal loss
        for start in range(0, rows, batch):
            if step is not None:
                loss = step(x[start:start + batch], y[start:start + batch])
                continue
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
    depths = [3] if args.quick else [10, 50]
    cases = [c for d in depths for c in ([{"layers": d}, {"layers": d, "graph": True}] if dev.type == "cuda"
                                         else [{"layers": d}])]
    for keys in bench_common.cases(args, cases):
        bench_common.emit(dev, keys, run(dev, keys["layers"], args.quick, keys.get("graph", False)))


if __name__ == "__main__":
    main()
