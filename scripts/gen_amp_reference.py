#!/usr/bin/env python3
"""Writes tests/data/amp_reference.json: torch.amp.GradScaler through short runs with injected inf/NaN gradients.

Each case gives the initial float32 parameters, the gradient of the unscaled loss at every step (the loss is
sum(p * g), so its gradient is g exactly), the elements set to inf/NaN after backward, and what PyTorch's scaler
did: whether the optimizer stepped, the scale and growth tracker after update(), and the parameters. Needs
torch >= 2.3 (GradScaler on the CPU), e.g. the bench venv: <venv>/bin/python scripts/gen_amp_reference.py
"""
import json
import os

import torch

SHAPES = [[3, 4], [5]]


def flat(t):
    return [v if v == v and abs(v) != float("inf") else str(v) for v in t.detach().reshape(-1).tolist()]


def run_case(name, scaler_args, optimizer, opt_args, steps, injects, clip=None, grad_scale=1.0):
    gen = torch.Generator().manual_seed(len(name))
    params0 = [torch.randn(s, generator=gen) for s in SHAPES]
    grads = [[torch.randn(s, generator=gen) * grad_scale for s in SHAPES] for _ in range(steps)]
    params = [p.clone().requires_grad_(True) for p in params0]
    opt = getattr(torch.optim, optimizer)(params, **opt_args)
    scaler = torch.amp.GradScaler("cpu", **scaler_args)
    records = []
    for k in range(steps):
        opt.zero_grad()
        loss = sum((p * g).sum() for p, g in zip(params, grads[k]))
        scaler.scale(loss).backward()
        for step, index, flat_index, value in injects:
            if step == k:
                params[index].grad.view(-1)[flat_index] = float(value)
        before = [p.detach().clone() for p in params]
        if clip is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, clip)
        scaler.step(opt)
        stepped = any(not torch.equal(b, p.detach()) for b, p in zip(before, params))
        scaler.update()
        records.append({"stepped": stepped, "scale": scaler.get_scale(),
                        "growth_tracker": scaler._get_growth_tracker(),
                        "params": [flat(p) for p in params]})
    state = scaler.state_dict()
    return {"name": name, "scaler": scaler_args, "optimizer": optimizer, "options": opt_args, "clip": clip,
            "shapes": SHAPES, "init": [flat(p) for p in params0],
            "grads": [[flat(g) for g in step] for step in grads],
            "injects": [[s, i, f, str(v)] for s, i, f, v in injects], "steps": records,
            "state_dict": {k: float(v) for k, v in state.items()}}


CASES = [
    # backoff on every overflow, growth after 3 clean steps in a row, NaN and -inf counted like inf
    ("sgd_backoff_growth", {"init_scale": 1024.0, "growth_interval": 3}, "SGD", {"lr": 0.1, "momentum": 0.9}, 14,
     [(2, 0, 3, "inf"), (3, 1, 0, "nan"), (9, 0, 11, "-inf")]),
    # torch's defaults, Adam: a skipped step must not advance Adam's step count
    ("adam_defaults", {}, "Adam", {"lr": 0.01}, 6, [(1, 1, 4, "inf")]),
    # unscale_ then clip the true gradients, custom factors
    ("adam_clip", {"init_scale": 256.0, "growth_factor": 4.0, "backoff_factor": 0.25, "growth_interval": 2},
     "Adam", {"lr": 0.05}, 8, [(4, 0, 0, "nan")], 0.5),
    # growth that would overflow float32 keeps the scale
    ("growth_capped", {"init_scale": 2.0 ** 126, "growth_interval": 1}, "SGD", {"lr": 0.1}, 4, [], None, 1e-3),
]


def main():
    data = {"generator": "scripts/gen_amp_reference.py", "torch_version": torch.__version__,
            "cases": [run_case(*c) for c in CASES]}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "amp_reference.json")
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
