#!/usr/bin/python3
"""Writes tests/data/optim_reference.json: PyTorch's optimizer updates and learning-rate schedules in float64.

Every number kiln's tests need is written out explicitly (initial parameters, the gradient of every step,
the parameters after every step, the lr of every epoch), so the tests never depend on torch's RNG.
Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_optim_reference.py
"""
import json
import os

import torch

SHAPES = [[3, 4], [5]]
STEPS = 5
SCHED_STEPS = 30

# (optimizer, options, steps at which parameter 1 has no gradient: it must be skipped, state untouched)
OPTIMIZER_CASES = [
    ("SGD", {"lr": 0.1}, []),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, [2]),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}, []),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, []),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}, [0]),
    ("Adam", {"lr": 0.01}, [2]),
    ("Adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1}, []),
    ("Adam", {"lr": 0.01, "amsgrad": True}, []),
    ("Adam", {"lr": 0.02, "weight_decay": 0.05, "amsgrad": True}, [1]),
    ("AdamW", {"lr": 0.01}, []),
    ("AdamW", {"lr": 0.01, "betas": [0.85, 0.95], "weight_decay": 0.1, "amsgrad": True}, [3]),
    ("RMSprop", {"lr": 0.01}, []),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}, [2]),
    ("RMSprop", {"lr": 0.01, "centered": True, "weight_decay": 0.1}, []),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True}, []),
    ("Adagrad", {"lr": 0.1}, [1]),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-8}, []),
]

# (scheduler, arguments, optimizer the schedule drives, its options, lr of each of its two groups)
SCHEDULER_CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}, "SGD", {}, [0.1, 0.05]),
    ("MultiStepLR", {"milestones": [5, 12, 12, 20], "gamma": 0.3}, "SGD", {}, [0.1, 0.05]),
    ("ExponentialLR", {"gamma": 0.9}, "SGD", {}, [0.1, 0.05]),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}, "SGD", {}, [0.1, 0.05]),
    ("CosineAnnealingLR", {"T_max": 30}, "SGD", {}, [0.1, 0.05]),
    ("LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 8}, "SGD", {}, [0.1, 0.05]),
    ("LinearLR", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 20}, "SGD", {}, [0.1, 0.05]),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": SCHED_STEPS, "cycle_momentum": False}, "SGD", {}, [0.1, 0.05]),
    ("OneCycleLR", {"max_lr": [1.0, 0.4], "total_steps": SCHED_STEPS, "pct_start": 0.25, "anneal_strategy": "linear",
                    "div_factor": 10.0, "final_div_factor": 100.0, "three_phase": True},
     "SGD", {"momentum": 0.9}, [0.1, 0.05]),
    ("OneCycleLR", {"max_lr": 0.01, "total_steps": SCHED_STEPS, "base_momentum": 0.8, "max_momentum": 0.9},
     "Adam", {}, [0.001, 0.002]),
]


def flat(t):
    return t.detach().reshape(-1).tolist()


def optimizer_case(name, options, skipped):
    params0 = [torch.randn(s, dtype=torch.float64) for s in SHAPES]
    grads = [[None if (i == 1 and k in skipped) else torch.randn(s, dtype=torch.float64)
              for i, s in enumerate(SHAPES)] for k in range(STEPS)]
    params = [p.clone().requires_grad_(True) for p in params0]
    kwargs = dict(options)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    opt = getattr(torch.optim, name)(params, **kwargs)
    after = []
    for k in range(STEPS):
        for p, g in zip(params, grads[k]):
            p.grad = None if g is None else g.clone()
        opt.step()
        after.append([flat(p) for p in params])
    return {
        "optimizer": name,
        "options": options,
        "shapes": SHAPES,
        "init": [flat(p) for p in params0],
        "grads": [[None if g is None else flat(g) for g in step] for step in grads],
        "params_after": after,
    }


def scheduler_case(name, args, opt_name, opt_options, group_lrs):
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in group_lrs]
    opt = getattr(torch.optim, opt_name)(groups, **opt_options)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **args)

    def momentum(g):
        return g["betas"][0] if "betas" in g else g["momentum"]

    lrs, momenta = [list(sched.get_last_lr())], [[momentum(g) for g in opt.param_groups]]
    for _ in range(SCHED_STEPS - 1):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        momenta.append([momentum(g) for g in opt.param_groups])
    case = {"scheduler": name, "args": args, "optimizer": opt_name, "optimizer_options": opt_options,
            "group_lrs": group_lrs, "lrs": lrs}
    if name == "OneCycleLR" and args.get("cycle_momentum", True):
        case["momenta"] = momenta
    return case


def main():
    torch.manual_seed(0)
    data = {
        "generator": "scripts/gen_optim_reference.py",
        "torch_version": torch.__version__,
        "optimizers": [optimizer_case(*c) for c in OPTIMIZER_CASES],
        "schedulers": [scheduler_case(*c) for c in SCHEDULER_CASES],
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "optim_reference.json")
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
