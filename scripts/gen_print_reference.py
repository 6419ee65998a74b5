#!/usr/bin/python3
"""Writes tests/data/print_reference.json: PyTorch 1.13's repr of tensors and modules, for kiln's printing.

Each tensor case gives the values (row-major, exact doubles of the dtype's values; non-finite as the strings
"nan", "inf", "-inf"), shape and dtype kiln rebuilds, an optional autograd step ("requires_grad", or an op whose
grad_fn name shows, with torch's overload number: SumBackward0 for x.sum(), SumBackward1 for x.sum(0)) and the
exact string PyTorch prints. Module cases give a
kiln-side recipe name and PyTorch's repr. Read by tests/tensor/test_print.cpp.
Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_print_reference.py
"""
import json
import math
import os

import torch
import torch.nn as nn

torch.manual_seed(0)


def num(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


tensors = []


def case(name, t, autograd=None):
    shown = t
    if autograd == "requires_grad":
        shown = t.clone().requires_grad_(True)
    elif autograd is not None:
        x = t.clone().requires_grad_(True)
        shown = {"add": lambda: x + x, "mul": lambda: x * x, "neg": lambda: -x, "sum": lambda: x.sum(),
                 "sum_dim": lambda: x.sum(0), "mean": lambda: x.mean(), "max": lambda: x.max(),
                 "max_dim": lambda: x.max(0)[0], "select": lambda: x[0], "view": lambda: x.view(-1)}[autograd]()
    tensors.append({"name": name, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                    "data": [num(v) for v in t.reshape(-1).tolist()], "autograd": autograd,
                    "expected": repr(shown)})


f32, f64 = torch.float32, torch.float64
case("fixed", torch.tensor([1.5, 2.25, -3.0]))
case("integral_float", torch.tensor([1.0, 2.0, 3.0]))
case("integral_float_negative_zero", torch.tensor([-0.0, 2.0, -7.0]))
case("zeros", torch.zeros(3))
case("small_values_sci", torch.tensor([1e-5, 1.0]))
case("large_values_sci", torch.tensor([1e9, 1.0]))
case("wide_range_sci", torch.tensor([0.001, 2.0, 30.0]))
case("integral_wide_range_sci", torch.tensor([1.0, 10000.0]))
case("integral_large", torch.tensor([123456789.0, 1.0]))
case("nan_inf", torch.tensor([1.0, float("nan"), float("inf"), float("-inf")]))
case("nan_fixed", torch.tensor([1.5, float("nan")]))
case("nan_sci", torch.tensor([1e-6, float("nan"), 3.0]))
case("only_nan", torch.tensor([float("nan"), float("nan")]))
case("only_inf", torch.tensor([float("inf")]))
case("negative_fixed", torch.tensor([-0.5, 0.25, 100.125]))
case("rounding", torch.tensor([0.1, 0.2, 0.3]))
case("float_wraps_80_columns", torch.arange(40, dtype=f32) * 1.25)
case("int_wraps_80_columns", torch.arange(50) * 1000)
case("float64_wrap", torch.arange(12, dtype=f64) / 7)
case("randn_2d", torch.randn(4, 5))
case("randn_3d", torch.randn(2, 3, 4))
case("int_3d", torch.arange(24).reshape(2, 3, 4) - 10)
case("summarized_1d_int", torch.arange(2000))
case("summarized_1d_float", torch.arange(1001, dtype=f32) * 0.5)
case("summarized_2d", torch.randn(40, 40))
case("summarized_rows_only", torch.arange(3 * 400).reshape(400, 3))
case("summarized_3d", torch.arange(11 * 11 * 11, dtype=f32).reshape(11, 11, 11))
case("summarized_4d", torch.arange(2 * 10 * 10 * 11).reshape(2, 10, 10, 11))
case("wide_rows_2d", torch.randn(3, 12, dtype=f64))
case("empty_1d", torch.zeros(0))
case("empty_2d", torch.zeros(0, 3))
case("empty_3d", torch.zeros(2, 0, 3))
case("empty_int64", torch.zeros(0, dtype=torch.int64))
case("empty_float64", torch.zeros(0, 2, dtype=f64))
case("bool", torch.tensor([True, False, True]))
case("bool_2d", torch.tensor([[True, False], [False, False]]))
case("int32", torch.tensor([1, -2, 300], dtype=torch.int32))
case("uint8", torch.tensor([0, 7, 255], dtype=torch.uint8))
case("int64_big", torch.tensor([2 ** 62, -5]))
case("float64", torch.tensor([1.5, 2.0], dtype=f64))
case("float64_integral", torch.tensor([1.0, 2.0], dtype=f64))
case("float16", torch.tensor([0.1, 2.5, 1000.0], dtype=torch.float16))
case("bfloat16", torch.tensor([0.1, 2.5, -3.0], dtype=torch.bfloat16))
case("scalar_float", torch.tensor(3.5))
case("scalar_integral_float", torch.tensor(3.0))
case("scalar_int", torch.tensor(7))
case("scalar_bool", torch.tensor(True))
case("scalar_float64_sci", torch.tensor(1e-7, dtype=f64))
case("scalar_nan", torch.tensor(float("nan")))
case("requires_grad", torch.tensor([1.0, 2.0]), "requires_grad")
case("requires_grad_float64", torch.tensor([1.0, 2.5], dtype=f64), "requires_grad")
case("grad_fn_add", torch.tensor([1.0, 2.0]), "add")
case("grad_fn_mul", torch.tensor([1.5, 2.0]), "mul")
case("grad_fn_neg", torch.tensor([1.0, 2.0]), "neg")
for step in ("sum", "sum_dim", "mean", "max", "max_dim", "select", "view"):  # overload numbers: SumBackward0/1, ...
    case("grad_fn_" + step, torch.tensor([[1.0, 2.0], [3.5, -4.0]]), step)
for n in (5, 6, 7, 8, 9):  # the dtype suffix moves to its own line once the last line would pass 80 columns
    case("suffix_wrap_%d" % n, torch.arange(n, dtype=f64) / 3 + 1000)
case("suffix_wrap_grad", torch.arange(7, dtype=f64) / 3 + 1000, "requires_grad")

modules = {
    "linear": nn.Linear(3, 4),
    "linear_no_bias": nn.Linear(3, 4, bias=False),
    "layer_norm": nn.LayerNorm(3),
    "layer_norm_2d": nn.LayerNorm([2, 3], eps=1e-6, elementwise_affine=False),
    "relu": nn.ReLU(),
    "leaky_relu": nn.LeakyReLU(0.2),
    "gelu": nn.GELU(),
    "gelu_tanh": nn.GELU(approximate="tanh"),
    "silu": nn.SiLU(),
    "tanh": nn.Tanh(),
    "sigmoid": nn.Sigmoid(),
    "softmax": nn.Softmax(dim=1),
    "log_softmax": nn.LogSoftmax(dim=-1),
    "dropout": nn.Dropout(0.5),
    "dropout_small": nn.Dropout(0.1),
    "embedding": nn.Embedding(10, 3),
    "embedding_padding": nn.Embedding(10, 3, padding_idx=0),
    "flatten": nn.Flatten(),
    "bilinear": nn.Bilinear(2, 3, 4),
    "sequential": nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10)),
    "nested_sequential": nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), nn.LayerNorm(2)),
    "empty_sequential": nn.Sequential(),
}

out = {"generator": "scripts/gen_print_reference.py", "torch_version": torch.__version__, "tensors": tensors,
       "modules": [{"name": k, "expected": repr(m)} for k, m in modules.items()]}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "print_reference.json")
with open(path, "w") as f:  # one case per line: the file stays small and diffs stay readable
    f.write("{\"generator\": %s, \"torch_version\": %s,\n" % (json.dumps(out["generator"]), json.dumps(out["torch_version"])))
    for key in ("tensors", "modules"):
        f.write(" %s: [\n  " % json.dumps(key) + ",\n  ".join(json.dumps(c) for c in out[key]) + "\n ]")
        f.write(",\n" if key == "tensors" else "\n}\n")
print("wrote", os.path.normpath(path), len(tensors), "tensors,", len(modules), "modules")
