#!/usr/bin/env python3
"""Writes tests/data/autocast_reference.json: what torch.autocast("cpu") does to each op kiln's policy names.

For each low dtype (bfloat16, float16) and op: the inputs (float32 values, and the dtype each is given before the
call), and torch's output dtype and values under autocast. Needs torch >= 2.3 (float16 CPU autocast), e.g. the
bench venv: <venv>/bin/python scripts/gen_autocast_reference.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
X = torch.randn(4, 6)
W = torch.randn(3, 6)
B = torch.randn(3)
Y = torch.randn(4, 6)
P = torch.rand(4, 6) * 0.9 + 0.05
T = torch.tensor([0, 5, 2, 1])
BX = torch.randn(2, 4, 6)
BW = torch.randn(2, 6, 3)

# name: (inputs as (tensor, dtype given before autocast) or a python value, the call)
CASES = {
    "mm": ([(X, "float32"), (W.t().contiguous(), "float32")], lambda a, b: a @ b),
    "matmul_3d": ([(BX, "float32"), (W.t().contiguous(), "float32")], lambda a, b: torch.matmul(a, b)),
    "bmm": ([(BX, "float32"), (BW, "float32")], torch.bmm),
    "addmm": ([(B, "float32"), (X, "float32"), (W.t().contiguous(), "float32")], torch.addmm),
    "linear": ([(X, "float32"), (W, "float32"), (B, "float32")], F.linear),
    "mse_loss_low_input": ([(X, "low"), (Y, "float32")], F.mse_loss),
    "l1_loss_low_input": ([(X, "low"), (Y, "low")], F.l1_loss),
    "smooth_l1_loss_low_input": ([(X, "low"), (Y, "float32")], F.smooth_l1_loss),
    "cross_entropy_low_input": ([(X, "low"), (T, "int64")], F.cross_entropy),
    "nll_loss_low_input": ([(F.log_softmax(X, 1), "low"), (T, "int64")], F.nll_loss),
    "bce_low_input": ([(P, "low"), (P.flip(0), "float32")], F.binary_cross_entropy),
    "bce_with_logits_low_input": ([(X, "low"), (P, "float32")], F.binary_cross_entropy_with_logits),
    "prod_low_input": ([(P, "low")], torch.prod),
    # torch's CPU autocast leaves these alone: they keep their input's dtype
    "softmax_low_input": ([(X, "low")], lambda a: F.softmax(a, 1)),
    "log_softmax_low_input": ([(X, "low")], lambda a: F.log_softmax(a, 1)),
    "exp_low_input": ([(X, "low")], torch.exp),
    "sum_low_input": ([(X, "low")], torch.sum),
    "exp_float32": ([(X, "float32")], torch.exp),
    "relu_float32": ([(X, "float32")], F.relu),
    # type promotion: a low-precision tensor and a float32 one give float32
    "add_mixed": ([(X, "low"), (Y, "float32")], torch.add),
    "mul_mixed": ([(X, "low"), (Y, "float32")], torch.mul),
}


def cast(t, spec, low):
    return t.to({"low": low, "float32": torch.float32, "int64": torch.int64}[spec])


def values(t):
    return t.detach().to(torch.float64).reshape(-1).tolist()


def main():
    out = {"generator": "scripts/gen_autocast_reference.py", "torch_version": torch.__version__, "cases": []}
    for low_name, low in (("bfloat16", torch.bfloat16), ("float16", torch.float16)):
        for name, (inputs, fn) in CASES.items():
            args = [cast(t, spec, low) for t, spec in inputs]
            with torch.autocast("cpu", dtype=low):
                y = fn(*args)
            out["cases"].append({
                "autocast_dtype": low_name, "op": name,
                "inputs": [{"shape": list(t.shape), "dtype": low_name if spec == "low" else spec,
                            "values": values(cast(t, spec, low))} for t, spec in inputs],
                "dtype": str(y.dtype).replace("torch.", ""), "shape": list(y.shape), "values": values(y)})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "autocast_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
