#!/usr/bin/python3
"""Writes tests/data/torch_reference.json: PyTorch's outputs and gradients for kiln's ops, layers and losses.

Every number the C++ tests need is written out (inputs, outputs, the upstream gradient fed to backward and
the gradient of every differentiable input), so the tests never depend on torch's RNG. Inputs are drawn
with a fixed seed and rounded to a few decimals (exact doubles, shorter file); outputs and gradients keep
full float64 precision. Non-finite numbers are written as the strings "nan", "inf", "-inf".

Read by tests/ops/test_torch_reference.cpp (sections "ops", "promotion") and
tests/nn/test_torch_reference.cpp (section "nn").
Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_torch_reference.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

F64 = torch.float64
F32 = torch.float32


def num(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def enc(t):
    """A tensor as {shape, dtype, data} with row-major data."""
    if t is None:
        return None
    t = t.detach()
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
            "data": [num(v) for v in t.reshape(-1).tolist()]}


def rnd(*shape, dtype=F64, scale=1.0, shift=0.0, decimals=4):
    """Seeded normal values rounded to `decimals` (the rounded doubles are what torch and kiln both see)."""
    x = torch.randn(shape, dtype=F64) * scale + shift
    return torch.round(x * 10 ** decimals).div(10 ** decimals).to(dtype)


def uni(lo, hi, *shape, dtype=F64, decimals=4):
    x = torch.rand(shape, dtype=F64) * (hi - lo) + lo
    return torch.round(x * 10 ** decimals).div(10 ** decimals).to(dtype)


def vals(values, dtype=F64):
    return torch.tensor(values, dtype=dtype)


def make_case(name, op, fn, inputs, diff=None, args=None, grad_output=0):
    """Runs fn(*inputs) in torch and records outputs and the gradients of the inputs listed in diff
    (default: every floating input) for a fixed upstream gradient on output grad_output."""
    args = args or {}
    if diff is None:
        diff = [i for i, t in enumerate(inputs) if t is not None and t.is_floating_point()]
    leaves = []
    for i, t in enumerate(inputs):
        if t is None:
            leaves.append(None)
        else:
            leaves.append(t.clone().requires_grad_(i in diff))
    out = fn(*leaves)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    case = {"name": name, "op": op, "args": args, "inputs": [enc(t) for t in inputs],
            "outputs": [enc(o) for o in outs]}
    if diff and outs[grad_output].requires_grad:  # argmax and friends have no gradient
        y = outs[grad_output]
        up = rnd(*y.shape, decimals=3).to(y.dtype)
        grads = torch.autograd.grad([y], [leaves[i] for i in diff], [up], allow_unused=False)
        gl = [None] * len(inputs)
        for i, g in zip(diff, grads):
            gl[i] = enc(g)
        case["grad_output"] = grad_output
        case["upstream"] = enc(up)
        case["grads"] = gl
    return case


# ---------------------------------------------------------------- pointwise
def pointwise_cases():
    c = []
    a34, b34 = rnd(3, 4), rnd(3, 4)
    b4, b31 = rnd(4), rnd(3, 1)
    c.append(make_case("add_same", "add", torch.add, [a34, b34]))
    c.append(make_case("add_broadcast_row", "add", torch.add, [a34, b4]))
    c.append(make_case("add_broadcast_both", "add", torch.add, [rnd(2, 1, 4), b31]))
    c.append(make_case("add_alpha", "add", lambda x, y: torch.add(x, y, alpha=-2.5), [a34, b31], args={"alpha": -2.5}))
    c.append(make_case("add_0dim", "add", torch.add, [a34, rnd()]))
    c.append(make_case("sub_broadcast", "sub", torch.sub, [b31, a34]))
    c.append(make_case("sub_alpha", "sub", lambda x, y: torch.sub(x, y, alpha=0.5), [a34, b4], args={"alpha": 0.5}))
    c.append(make_case("mul_broadcast", "mul", torch.mul, [rnd(2, 3, 1), rnd(1, 4)]))
    c.append(make_case("div_broadcast", "div", torch.div, [a34, uni(0.5, 2.0, 4) * vals([1, -1, 1, -1])]))
    c.append(make_case("div_by_tensor_broadcast_lhs", "div", torch.div, [b31, uni(0.5, 2.0, 3, 4)]))
    c.append(make_case("pow_tensor", "pow", torch.pow, [uni(0.2, 3.0, 3, 4), rnd(4)]))
    c.append(make_case("pow_scalar_2_5", "pow_scalar", lambda x: torch.pow(x, 2.5), [uni(0.2, 3.0, 3, 4)],
                       args={"exponent": 2.5}))
    c.append(make_case("pow_scalar_3_negative_base", "pow_scalar", lambda x: torch.pow(x, 3), [a34],
                       args={"exponent": 3}))
    c.append(make_case("pow_scalar_neg_half", "pow_scalar", lambda x: torch.pow(x, -0.5), [uni(0.2, 3.0, 5)],
                       args={"exponent": -0.5}))
    # Python remainder: the sign follows the divisor, negative operands on both sides.
    ra = vals([5.5, -5.5, 5.5, -5.5, 7.25, -7.25, 3.0, -3.0, 0.0, 1.0, -0.1, 9.9])
    rb = vals([2.0, 2.0, -2.0, -2.0, 1.5, -1.5, 1.25, 1.25, -3.0, -0.3, 4.0, -4.0])
    c.append(make_case("remainder_signs", "remainder", torch.remainder, [ra, rb]))
    c.append(make_case("remainder_broadcast", "remainder", torch.remainder,
                       [rnd(3, 4, scale=4.0), vals([[1.5], [-2.25], [0.75]])]))
    c.append(make_case("remainder_scalar_neg", "remainder_scalar", lambda x: torch.remainder(x, -1.75),
                       [rnd(2, 5, scale=3.0)], args={"other": -1.75}))
    ma = vals([[1.0, -2.0, 3.5, 0.25], [0.5, 0.5, -1.0, 2.0]])   # one tie (0.5 vs 0.5): gradient split in half
    mb = vals([[0.5, -1.0, 4.0, 0.25], [0.5, -0.5, -3.0, 2.5]])
    c.append(make_case("maximum_with_ties", "maximum", torch.maximum, [ma, mb]))
    c.append(make_case("minimum_with_ties", "minimum", torch.minimum, [ma, mb]))
    c.append(make_case("maximum_broadcast", "maximum", torch.maximum, [a34, b4]))
    c.append(make_case("minimum_broadcast", "minimum", torch.minimum, [b31, a34]))

    x = rnd(3, 4)
    pos = uni(0.1, 4.0, 3, 4)
    for name in ["exp", "sin", "cos", "tanh", "sigmoid", "neg", "abs", "silu"]:
        c.append(make_case(name, name, getattr(torch, name) if hasattr(torch, name) else getattr(F, name), [x]))
    c.append(make_case("log", "log", torch.log, [pos]))
    c.append(make_case("sqrt", "sqrt", torch.sqrt, [pos]))
    c.append(make_case("rsqrt", "rsqrt", torch.rsqrt, [pos]))
    c.append(make_case("log1p", "log1p", torch.log1p, [uni(-0.9, 3.0, 3, 4)]))
    c.append(make_case("exp_large_range", "exp", torch.exp, [vals([-30.0, -5.5, 0.0, 1e-8, 10.0, 50.0])]))
    c.append(make_case("tanh_saturating", "tanh", torch.tanh, [vals([-25.0, -3.0, -1e-6, 0.0, 2.0, 19.5])]))
    c.append(make_case("sigmoid_saturating", "sigmoid", torch.sigmoid, [vals([-40.0, -10.0, -0.5, 0.0, 8.0, 36.0])]))
    with_zero = vals([[-1.5, -0.25, 0.0, 0.3], [2.0, -0.001, 0.0, -7.0]])
    c.append(make_case("relu_with_zero", "relu", F.relu, [with_zero]))
    c.append(make_case("leaky_relu_default", "leaky_relu", F.leaky_relu, [with_zero], args={"negative_slope": 0.01}))
    c.append(make_case("leaky_relu_0_2", "leaky_relu", lambda t: F.leaky_relu(t, 0.2), [x],
                       args={"negative_slope": 0.2}))
    wide = rnd(3, 4, scale=2.5)
    c.append(make_case("gelu_none", "gelu", lambda t: F.gelu(t), [wide], args={"approximate": "none"}))
    c.append(make_case("gelu_tanh", "gelu", lambda t: F.gelu(t, approximate="tanh"), [wide], args={"approximate": "tanh"}))
    c.append(make_case("softplus_default", "softplus", F.softplus, [rnd(3, 4, scale=5.0)],
                       args={"beta": 1.0, "threshold": 20.0}))
    sp = vals([-10.0, -1.0, 0.0, 0.5, 2.4, 2.6, 4.0, 30.0])  # beta*x crosses the threshold 5 between 2.4 and 2.6
    c.append(make_case("softplus_beta2_threshold5", "softplus", lambda t: F.softplus(t, beta=2.0, threshold=5.0), [sp],
                       args={"beta": 2.0, "threshold": 5.0}))
    cl = vals([[-2.0, -0.5, -0.49, 0.0, 0.7], [0.75, 0.76, 3.0, -0.5, 0.75]])  # values exactly at both bounds
    c.append(make_case("clamp_at_bounds", "clamp", lambda t: torch.clamp(t, -0.5, 0.75), [cl],
                       args={"min": -0.5, "max": 0.75}))
    c.append(make_case("sign", "sign", torch.sign, [vals([-2.5, -0.0, 0.0, 1e-300, 3.0, -1e-7])]))
    fl = vals([[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], [-0.49, 0.49, 2.7, -2.7, 3.0, -3.0]])
    c.append(make_case("floor", "floor", torch.floor, [fl]))
    c.append(make_case("ceil", "ceil", torch.ceil, [fl]))
    half = vals([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999999999999994, -2.51, 2.49, 1e15 + 0.5])
    c.append(make_case("round_half_even", "round", torch.round, [half]))

    cond = vals([[True, False, True, False], [False, False, True, True], [True, True, False, False]], dtype=torch.bool)
    c.append(make_case("where_same", "where", torch.where, [cond, a34, b34]))
    c.append(make_case("where_broadcast", "where", torch.where, [vals([[True], [False], [True]], dtype=torch.bool),
                                                                 b4, b31]))
    mask = vals([True, False, False, True], dtype=torch.bool)
    c.append(make_case("masked_fill_broadcast", "masked_fill", lambda t, m: t.masked_fill(m, -1.25), [a34, mask],
                       args={"value": -1.25}))
    c.append(make_case("masked_fill_same", "masked_fill", lambda t, m: t.masked_fill(m, 3.0), [a34, cond],
                       args={"value": 3.0}))
    return c


# ---------------------------------------------------------------- reductions
def reduction_cases():
    c = []
    x = rnd(3, 4)
    x3 = rnd(2, 3, 4)
    c.append(make_case("sum_all", "sum", torch.sum, [x3], args={"dims": None, "keepdim": False}))
    c.append(make_case("sum_dim1", "sum", lambda t: t.sum(1), [x3], args={"dims": [1], "keepdim": False}))
    c.append(make_case("sum_dims_0_2_keepdim", "sum", lambda t: t.sum((0, 2), keepdim=True), [x3],
                       args={"dims": [0, 2], "keepdim": True}))
    c.append(make_case("sum_dim_neg1", "sum", lambda t: t.sum(-1), [x], args={"dims": [-1], "keepdim": False}))
    c.append(make_case("mean_all", "mean", torch.mean, [x3], args={"dims": None, "keepdim": False}))
    c.append(make_case("mean_dim0_keepdim", "mean", lambda t: t.mean(0, keepdim=True), [x3],
                       args={"dims": [0], "keepdim": True}))
    c.append(make_case("mean_dims_1_2", "mean", lambda t: t.mean((1, 2)), [x3], args={"dims": [1, 2], "keepdim": False}))
    p = uni(0.5, 1.5, 3, 4)
    c.append(make_case("prod_all", "prod", torch.prod, [p], args={"dim": None, "keepdim": False}))
    c.append(make_case("prod_dim1", "prod", lambda t: t.prod(1), [p], args={"dim": 1, "keepdim": False}))
    c.append(make_case("prod_dim0_keepdim", "prod", lambda t: t.prod(0, keepdim=True), [p],
                       args={"dim": 0, "keepdim": True}))
    pz = vals([[1.5, 0.0, -2.0], [0.0, 0.0, 3.0], [2.0, -0.5, 1.25]])  # one zero, two zeros, none per row
    c.append(make_case("prod_dim1_with_zeros", "prod", lambda t: t.prod(1), [pz], args={"dim": 1, "keepdim": False}))
    c.append(make_case("prod_all_one_zero", "prod", torch.prod, [vals([1.5, -2.0, 0.0, 3.0])],
                       args={"dim": None, "keepdim": False}))
    c.append(make_case("max_dim1", "max_dim", lambda t: torch.max(t, 1), [x], args={"dim": 1, "keepdim": False}))
    c.append(make_case("max_dim0_keepdim", "max_dim", lambda t: torch.max(t, 0, keepdim=True), [x3],
                       args={"dim": 0, "keepdim": True}))
    c.append(make_case("min_dim_neg1", "min_dim", lambda t: torch.min(t, -1), [x3], args={"dim": -1, "keepdim": False}))
    c.append(make_case("min_dim1_keepdim", "min_dim", lambda t: torch.min(t, 1, keepdim=True), [x],
                       args={"dim": 1, "keepdim": True}))
    c.append(make_case("max_all", "max_all", torch.max, [x]))
    c.append(make_case("min_all", "min_all", torch.min, [x]))
    tie = vals([[1.0, 3.0, -2.0], [3.0, 0.5, 3.0]])  # the full max is tied three ways: gradient shared evenly
    c.append(make_case("max_all_ties", "max_all", torch.max, [tie]))
    c.append(make_case("argmax_all", "argmax", torch.argmax, [x3], args={"dim": None, "keepdim": False}))
    c.append(make_case("argmax_dim1", "argmax", lambda t: torch.argmax(t, 1), [x3], args={"dim": 1, "keepdim": False}))
    c.append(make_case("argmin_all", "argmin", torch.argmin, [x3], args={"dim": None, "keepdim": False}))
    c.append(make_case("argmin_dim0_keepdim", "argmin", lambda t: torch.argmin(t, 0, keepdim=True), [x],
                       args={"dim": 0, "keepdim": True}))
    for corr in (0, 1):
        for fname in ("var", "std"):
            f = getattr(torch, fname)
            c.append(make_case(f"{fname}_all_c{corr}", fname, lambda t, f=f, corr=corr: f(t, None, correction=corr), [x3],
                               args={"dims": None, "correction": corr, "keepdim": False}))
            c.append(make_case(f"{fname}_dim1_c{corr}", fname, lambda t, f=f, corr=corr: f(t, 1, correction=corr),
                               [x3], args={"dims": [1], "correction": corr, "keepdim": False}))
            c.append(make_case(f"{fname}_dims02_keepdim_c{corr}", fname,
                               lambda t, f=f, corr=corr: f(t, (0, 2), correction=corr, keepdim=True), [x3],
                               args={"dims": [0, 2], "correction": corr, "keepdim": True}))
    for pv, pname in ((1.0, "1"), (2.0, "2"), (math.inf, "inf"), (3.0, "3")):
        c.append(make_case(f"norm_p{pname}_all", "norm", lambda t, pv=pv: torch.linalg.vector_norm(t, pv), [x],
                           args={"p": num(pv), "dims": None, "keepdim": False}))
        c.append(make_case(f"norm_p{pname}_dim1", "norm", lambda t, pv=pv: torch.linalg.vector_norm(t, pv, dim=1), [x3],
                           args={"p": num(pv), "dims": [1], "keepdim": False}))
        c.append(make_case(f"norm_p{pname}_dim_neg1_keepdim", "norm",
                           lambda t, pv=pv: torch.linalg.vector_norm(t, pv, dim=-1, keepdim=True), [x],
                           args={"p": num(pv), "dims": [-1], "keepdim": True}))
    big = rnd(3, 4, scale=30.0)
    c.append(make_case("logsumexp_dim1", "logsumexp", lambda t: torch.logsumexp(t, 1), [x3],
                       args={"dims": [1], "keepdim": False}))
    c.append(make_case("logsumexp_dims01_keepdim", "logsumexp", lambda t: torch.logsumexp(t, (0, 1), keepdim=True), [x3],
                       args={"dims": [0, 1], "keepdim": True}))
    c.append(make_case("logsumexp_large_values", "logsumexp", lambda t: torch.logsumexp(t, -1), [big],
                       args={"dims": [-1], "keepdim": False}))
    for d in (0, 1, -1):
        c.append(make_case(f"softmax_dim{d}", "softmax", lambda t, d=d: torch.softmax(t, d), [x3], args={"dim": d}))
        c.append(make_case(f"log_softmax_dim{d}", "log_softmax", lambda t, d=d: torch.log_softmax(t, d), [x3],
                           args={"dim": d}))
    c.append(make_case("softmax_large_values", "softmax", lambda t: torch.softmax(t, 1), [big], args={"dim": 1}))
    c.append(make_case("log_softmax_large_values", "log_softmax", lambda t: torch.log_softmax(t, 1), [big],
                       args={"dim": 1}))
    return c


# ---------------------------------------------------------------- linalg
def linalg_cases():
    c = []
    shapes = [("1d_1d", (4,), (4,)), ("1d_2d", (3,), (3, 5)), ("2d_1d", (3, 4), (4,)), ("2d_2d", (3, 4), (4, 2)),
              ("batched_3d_3d", (2, 3, 4), (2, 4, 5)), ("broadcast_4d_3d", (2, 1, 3, 4), (5, 4, 2)),
              ("broadcast_3d_2d", (2, 3, 4), (4, 2)), ("broadcast_2d_3d", (3, 4), (2, 4, 2)),
              ("1d_3d", (4,), (2, 4, 3)), ("3d_1d", (2, 3, 4), (4,)), ("batch1_broadcast", (1, 2, 3), (4, 3, 2))]
    for name, sa, sb in shapes:
        c.append(make_case(f"matmul_{name}", "matmul", torch.matmul, [rnd(*sa), rnd(*sb)]))
    c.append(make_case("mm", "mm", torch.mm, [rnd(3, 4), rnd(4, 5)]))
    c.append(make_case("bmm", "bmm", torch.bmm, [rnd(2, 3, 4), rnd(2, 4, 2)]))
    c.append(make_case("addmm_bias_row", "addmm", torch.addmm, [rnd(5), rnd(3, 4), rnd(4, 5)],
                       args={"beta": 1.0, "alpha": 1.0}))
    c.append(make_case("addmm_beta_alpha", "addmm", lambda s, a, b: torch.addmm(s, a, b, beta=0.5, alpha=-2.0),
                       [rnd(3, 5), rnd(3, 4), rnd(4, 5)], args={"beta": 0.5, "alpha": -2.0}))
    c.append(make_case("addmm_bias_col", "addmm", lambda s, a, b: torch.addmm(s, a, b, beta=2.0, alpha=0.25),
                       [rnd(3, 1), rnd(3, 4), rnd(4, 5)], args={"beta": 2.0, "alpha": 0.25}))
    c.append(make_case("linear_bias", "linear", F.linear, [rnd(3, 4), rnd(5, 4), rnd(5)]))
    c.append(make_case("linear_no_bias", "linear", F.linear, [rnd(3, 4), rnd(5, 4), None]))
    c.append(make_case("linear_3d_input", "linear", F.linear, [rnd(2, 3, 4), rnd(2, 4), rnd(2)]))
    c.append(make_case("linear_1d_input", "linear", F.linear, [rnd(4), rnd(3, 4), rnd(3)]))
    return c


# ---------------------------------------------------------------- index ops
def index_cases():
    c = []
    L = torch.int64
    c.append(make_case("cat_dim0", "cat", lambda *t: torch.cat(t, 0), [rnd(2, 3), rnd(1, 3), rnd(3, 3)], args={"dim": 0}))
    c.append(make_case("cat_dim1", "cat", lambda *t: torch.cat(t, 1), [rnd(2, 3), rnd(2, 1)], args={"dim": 1}))
    c.append(make_case("cat_dim_neg1_3d", "cat", lambda *t: torch.cat(t, -1), [rnd(2, 2, 3), rnd(2, 2, 2)],
                       args={"dim": -1}))
    c.append(make_case("stack_dim0", "stack", lambda *t: torch.stack(t, 0), [rnd(2, 3), rnd(2, 3), rnd(2, 3)],
                       args={"dim": 0}))
    c.append(make_case("stack_dim1", "stack", lambda *t: torch.stack(t, 1), [rnd(2, 3), rnd(2, 3)], args={"dim": 1}))
    c.append(make_case("stack_dim_neg1", "stack", lambda *t: torch.stack(t, -1), [rnd(2, 3), rnd(2, 3)],
                       args={"dim": -1}))
    x = rnd(4, 5)
    c.append(make_case("index_select_dim0_repeats", "index_select", lambda t, i: torch.index_select(t, 0, i),
                       [x, vals([3, 0, 3, 1, 3], dtype=L)], args={"dim": 0}))
    c.append(make_case("index_select_dim1", "index_select", lambda t, i: torch.index_select(t, 1, i),
                       [x, vals([4, 2, 2], dtype=L)], args={"dim": 1}))
    c.append(make_case("gather_dim1", "gather", lambda t, i: torch.gather(t, 1, i),
                       [x, vals([[0, 0, 4], [1, 2, 1], [3, 3, 3], [4, 0, 2]], dtype=L)], args={"dim": 1}))
    c.append(make_case("gather_dim0", "gather", lambda t, i: torch.gather(t, 0, i),
                       [x, vals([[3, 0, 1, 1, 2], [0, 0, 3, 2, 1]], dtype=L)], args={"dim": 0}))
    c.append(make_case("scatter_add_dim0_duplicates", "scatter_add", lambda t, i, s: torch.scatter_add(t, 0, i, s),
                       [rnd(3, 4), vals([[0, 1, 2, 0], [0, 0, 2, 1]], dtype=L), rnd(2, 4)], args={"dim": 0}))
    c.append(make_case("scatter_add_dim1", "scatter_add", lambda t, i, s: torch.scatter_add(t, 1, i, s),
                       [rnd(2, 5), vals([[4, 4, 0], [1, 3, 1]], dtype=L), rnd(2, 3)], args={"dim": 1}))
    y = rnd(3, 6)
    c.append(make_case("topk_largest", "topk", lambda t: torch.topk(t, 3), [y],
                       args={"k": 3, "dim": -1, "largest": True}))
    c.append(make_case("topk_smallest_dim0", "topk", lambda t: torch.topk(t, 2, dim=0, largest=False), [y],
                       args={"k": 2, "dim": 0, "largest": False}))
    c.append(make_case("sort_ascending", "sort", lambda t: torch.sort(t), [y], args={"dim": -1, "descending": False}))
    c.append(make_case("sort_descending_dim0", "sort", lambda t: torch.sort(t, 0, descending=True), [y],
                       args={"dim": 0, "descending": True}))
    ties = vals([[2.0, 1.0, 2.0, 0.5, 1.0, 2.0], [0.0, 0.0, -1.0, 0.0, 3.0, -1.0]])
    c.append(make_case("sort_stable_ties", "sort", lambda t: torch.sort(t, stable=True), [ties],
                       args={"dim": -1, "descending": False}))
    c.append(make_case("sort_stable_ties_descending", "sort", lambda t: torch.sort(t, descending=True, stable=True),
                       [ties], args={"dim": -1, "descending": True}))
    return c


# ---------------------------------------------------------------- non-finite values and integer operands
def edge_cases():
    c = []
    nan, inf = math.nan, math.inf
    x = vals([nan, -1.0, 2.0, -inf, inf, 0.0, -0.5, 0.25])
    for op in ("sign", "relu", "exp", "tanh", "sigmoid", "floor", "round", "abs"):
        fn = F.relu if op == "relu" else getattr(torch, op)
        c.append(make_case(f"edge_{op}_nonfinite", op, fn, [x], diff=[]))
    c.append(make_case("edge_clamp_nonfinite", "clamp", lambda t: torch.clamp(t, -0.5, 0.5), [x],
                       args={"min": -0.5, "max": 0.5}, diff=[]))
    c.append(make_case("edge_maximum_nan", "maximum", torch.maximum, [x, torch.zeros(8, dtype=F64)], diff=[]))
    c.append(make_case("edge_minimum_nan", "minimum", torch.minimum, [torch.zeros(8, dtype=F64), x], diff=[]))
    c.append(make_case("edge_log_sqrt_domain", "log", torch.log, [vals([0.0, -1.0, inf, 1e-300, nan])], diff=[]))
    c.append(make_case("edge_sqrt_domain", "sqrt", torch.sqrt, [vals([0.0, -1.0, inf, 1e-300, nan])], diff=[]))
    c.append(make_case("edge_max_all_nan", "max_all", torch.max, [x], diff=[]))
    c.append(make_case("edge_min_all_nan", "min_all", torch.min, [x], diff=[]))
    c.append(make_case("edge_sum_inf", "sum", torch.sum, [vals([1.0, inf, 2.0])], args={"dims": None, "keepdim": False},
                       diff=[]))
    c.append(make_case("edge_sum_inf_minus_inf", "sum", torch.sum, [vals([inf, -inf])],
                       args={"dims": None, "keepdim": False}, diff=[]))
    c.append(make_case("edge_sort_nan_last", "sort", lambda t: torch.sort(t), [x], args={"dim": -1, "descending": False},
                       diff=[]))
    c.append(make_case("edge_sort_nan_first_descending", "sort", lambda t: torch.sort(t, descending=True), [x],
                       args={"dim": -1, "descending": True}, diff=[]))
    c.append(make_case("edge_topk_nan", "topk", lambda t: torch.topk(t, 3), [x], args={"k": 3, "dim": -1, "largest": True},
                       diff=[]))
    c.append(make_case("edge_argmax_nan", "argmax", torch.argmax, [vals([1.0, nan, 3.0, nan])],
                       args={"dim": None, "keepdim": False}))
    c.append(make_case("edge_max_dim_nan", "max_dim", lambda t: torch.max(t, 1), [vals([[1.0, nan, 3.0], [2.0, 0.0, -1.0]])],
                       args={"dim": 1, "keepdim": False}, diff=[]))
    masked = vals([[-inf, 0.0, 1.0, -inf], [2.0, -inf, -1.0, 0.5]])
    c.append(make_case("edge_softmax_masked", "softmax", lambda t: torch.softmax(t, 1), [masked], args={"dim": 1}))
    c.append(make_case("edge_log_softmax_masked", "log_softmax", lambda t: torch.log_softmax(t, 1), [masked],
                       args={"dim": 1}, diff=[]))
    c.append(make_case("edge_softmax_all_masked_row", "softmax", lambda t: torch.softmax(t, 1),
                       [vals([[-inf, -inf, -inf], [0.0, 1.0, 2.0]])], args={"dim": 1}, diff=[]))
    c.append(make_case("edge_logsumexp_inf_rows", "logsumexp", lambda t: torch.logsumexp(t, 1),
                       [vals([[-inf, -inf], [inf, 1.0], [-inf, 0.0]])], args={"dims": [1], "keepdim": False}, diff=[]))
    c.append(make_case("edge_remainder_by_zero", "remainder", torch.remainder,
                       [vals([5.0, -5.0, 0.0]), vals([0.0, 0.0, 0.0])], diff=[]))
    # gradients at kinks and zeros, where torch picks a subgradient or masks
    c.append(make_case("edge_abs_grad_at_zero", "abs", torch.abs, [vals([-1.5, 0.0, -0.0, 2.0])]))
    c.append(make_case("edge_sqrt_grad_at_zero", "sqrt", torch.sqrt, [vals([0.0, 4.0])]))
    c.append(make_case("edge_pow_zero_base", "pow", torch.pow, [vals([0.0, 0.0, 0.0, 2.0]), vals([2.5, 0.0, 1.0, 0.0])]))
    c.append(make_case("edge_pow_scalar_zero_base", "pow_scalar", lambda t: torch.pow(t, 2), [vals([0.0, -1.5, 3.0])],
                       args={"exponent": 2}))
    for pv, pname in ((1.0, "1"), (2.0, "2"), (3.0, "3"), (math.inf, "inf")):
        c.append(make_case(f"edge_norm_p{pname}_zero_vector", "norm", lambda t, pv=pv: torch.linalg.vector_norm(t, pv),
                           [torch.zeros(3, dtype=F64)], args={"p": num(pv), "dims": None, "keepdim": False}))
    c.append(make_case("edge_norm_pinf_ties", "norm", lambda t: torch.linalg.vector_norm(t, math.inf),
                       [vals([1.0, -3.0, 3.0, 2.0])], args={"p": "inf", "dims": None, "keepdim": False}))
    c.append(make_case("edge_norm_p1_with_zero", "norm", lambda t: torch.linalg.vector_norm(t, 1),
                       [vals([1.0, 0.0, -3.0])], args={"p": 1.0, "dims": None, "keepdim": False}))
    L = torch.int64
    c.append(make_case("int_remainder_signs", "remainder", torch.remainder,
                       [vals([7, -7, 7, -7, 0, 6, -6, 5], dtype=L), vals([3, 3, -3, -3, -2, 3, -4, -7], dtype=L)]))
    c.append(make_case("int_sum_dim", "sum", lambda t: t.sum(1), [vals([[1, -2, 3], [4, 5, -6]], dtype=L)],
                       args={"dims": [1], "keepdim": False}))
    c.append(make_case("int_bool_sum_all", "sum", torch.sum, [vals([True, False, True, True], dtype=torch.bool)],
                       args={"dims": None, "keepdim": False}))
    c.append(make_case("int_maximum", "maximum", torch.maximum, [vals([1, -5, 3], dtype=L), vals([[0], [4]], dtype=L)]))
    c.append(make_case("int_argmax_dim", "argmax", lambda t: torch.argmax(t, 0), [vals([[1, 9, 3], [4, 5, 6]], dtype=L)],
                       args={"dim": 0, "keepdim": False}))
    c.append(make_case("int_sort", "sort", lambda t: torch.sort(t, descending=True), [vals([3, -1, 7, 0], dtype=L)],
                       args={"dim": -1, "descending": True}))
    c.append(make_case("int_clamp", "clamp", lambda t: torch.clamp(t, -2, 3), [vals([-5, -2, 0, 3, 9], dtype=L)],
                       args={"min": -2, "max": 3}))
    c.append(make_case("int_abs_neg_sign", "sign", torch.sign, [vals([-5, 0, 9], dtype=L)]))
    return c


# ---------------------------------------------------------------- float32 path
def float32_cases():
    c = []
    a, b = rnd(3, 4, dtype=F32), rnd(4, dtype=F32)
    c.append(make_case("f32_add_broadcast", "add", torch.add, [a, b]))
    c.append(make_case("f32_div", "div", torch.div, [a, uni(0.5, 2.0, 3, 4, dtype=F32)]))
    c.append(make_case("f32_exp", "exp", torch.exp, [a]))
    c.append(make_case("f32_gelu_tanh", "gelu", lambda t: F.gelu(t, approximate="tanh"), [a], args={"approximate": "tanh"}))
    c.append(make_case("f32_sum_dim1", "sum", lambda t: t.sum(1), [a], args={"dims": [1], "keepdim": False}))
    c.append(make_case("f32_var_c1", "var", lambda t: t.var(1), [a], args={"dims": [1], "correction": 1, "keepdim": False}))
    c.append(make_case("f32_softmax", "softmax", lambda t: torch.softmax(t, -1), [a], args={"dim": -1}))
    c.append(make_case("f32_log_softmax", "log_softmax", lambda t: torch.log_softmax(t, 0), [a], args={"dim": 0}))
    c.append(make_case("f32_matmul_batched", "matmul", torch.matmul, [rnd(2, 3, 4, dtype=F32), rnd(4, 5, dtype=F32)]))
    c.append(make_case("f32_gather", "gather", lambda t, i: torch.gather(t, 1, i),
                       [a, vals([[0, 3], [2, 2], [1, 0]], dtype=torch.int64)], args={"dim": 1}))
    return c


# ---------------------------------------------------------------- type promotion
def promotion_cases():
    c = []

    def case(name, op, a, b, fn):
        out = fn(a, b)
        entry = {"name": name, "op": op, "a": enc(a) if torch.is_tensor(a) else None,
                 "b": enc(b) if torch.is_tensor(b) else None, "dtype": str(out.dtype).replace("torch.", ""),
                 "output": enc(out)}
        if not torch.is_tensor(b):
            entry["scalar"] = num(b)
            entry["scalar_kind"] = "bool" if isinstance(b, bool) else ("int" if isinstance(b, int) else "float")
        c.append(entry)

    case("int64_plus_float32", "add", vals([1, -2, 3], dtype=torch.int64), vals([0.5, 1.25, -2.0], dtype=F32), torch.add)
    case("int32_plus_python_float", "add", vals([1, -2, 3], dtype=torch.int32), 2.5, torch.add)
    case("float16_plus_bfloat16", "add", vals([1.5, -2.25, 0.125], dtype=torch.float16),
         vals([0.5, 4.0, -1.0], dtype=torch.bfloat16), torch.add)
    case("bool_plus_int64", "add", vals([True, False, True], dtype=torch.bool), vals([3, 4, -5], dtype=torch.int64),
         torch.add)
    case("bool_plus_python_int", "add", vals([True, False, True], dtype=torch.bool), 7, torch.add)
    case("uint8_plus_int32", "add", vals([200, 3, 255], dtype=torch.uint8), vals([100, -7, 1], dtype=torch.int32),
         torch.add)
    case("int64_div_int64", "div", vals([7, -7, 1, 0], dtype=torch.int64), vals([2, 2, 3, 5], dtype=torch.int64),
         torch.div)
    case("int32_div_int32", "div", vals([9, -1], dtype=torch.int32), vals([4, 3], dtype=torch.int32), torch.div)
    case("float64_0dim_plus_float32", "add", torch.tensor(0.5, dtype=F64), vals([1.0, -2.5, 3.25], dtype=F32), torch.add)
    case("float32_plus_float64_0dim", "mul", vals([1.0, -2.5, 3.25], dtype=F32), torch.tensor(2.0, dtype=F64), torch.mul)
    case("int64_0dim_plus_int32", "add", torch.tensor(5, dtype=torch.int64), vals([1, 2], dtype=torch.int32), torch.add)
    case("float64_0dim_plus_int32", "add", torch.tensor(1.5, dtype=F64), vals([1, 2], dtype=torch.int32), torch.add)
    case("int64_plus_python_float", "mul", vals([1, 2], dtype=torch.int64), 0.5, torch.mul)
    case("float16_plus_python_float", "add", vals([1.0, 2.0], dtype=torch.float16), 0.5, torch.add)
    return c


# ---------------------------------------------------------------- nn layers and losses
def nn_cases():
    c = []
    L = torch.int64

    def linear(x, w, b):  # nn.Linear.forward is F.linear on its parameters; the test loads w, b into the module
        return F.linear(x, w, b)
    c.append(make_case("Linear", "nn.Linear", linear, [rnd(3, 4), rnd(5, 4), rnd(5)]))
    c.append(make_case("Linear_no_bias_3d", "nn.Linear", linear, [rnd(2, 3, 4), rnd(2, 4), None]))

    def layer_norm(shape, eps):
        return lambda x, w, b: F.layer_norm(x, shape, w, b, eps)
    c.append(make_case("LayerNorm_last", "nn.LayerNorm", layer_norm([5], 1e-5), [rnd(3, 5), rnd(5), rnd(5)],
                       args={"normalized_shape": [5], "eps": 1e-5}))
    c.append(make_case("LayerNorm_last2_eps", "nn.LayerNorm", layer_norm([3, 4], 1e-3),
                       [rnd(2, 3, 4, scale=3.0, shift=1.0), rnd(3, 4), rnd(3, 4)],
                       args={"normalized_shape": [3, 4], "eps": 1e-3}))
    c.append(make_case("LayerNorm_no_affine", "nn.LayerNorm", layer_norm([4], 1e-5), [rnd(3, 4), None, None],
                       args={"normalized_shape": [4], "eps": 1e-5}))

    idx = vals([[1, 3, 1], [0, 4, 3]], dtype=L)
    c.append(make_case("Embedding", "nn.Embedding", lambda i, w: F.embedding(i, w), [idx, rnd(5, 3)],
                       args={"padding_idx": None}))
    c.append(make_case("Embedding_padding_idx", "nn.Embedding", lambda i, w: F.embedding(i, w, padding_idx=3),
                       [idx, rnd(5, 3)], args={"padding_idx": 3}))
    c.append(make_case("Bilinear", "nn.Bilinear", F.bilinear, [rnd(3, 4), rnd(3, 2), rnd(5, 4, 2), rnd(5)]))
    c.append(make_case("Bilinear_no_bias_3d", "nn.Bilinear", F.bilinear,
                       [rnd(2, 3, 2), rnd(2, 3, 3), rnd(4, 2, 3), None]))

    reds = ("none", "mean", "sum")
    inp, tgt = rnd(3, 4), rnd(3, 4)
    for r in reds:
        c.append(make_case(f"mse_{r}", "mse_loss", lambda a, b, r=r: F.mse_loss(a, b, reduction=r), [inp, tgt],
                           args={"reduction": r}))
        c.append(make_case(f"l1_{r}", "l1_loss", lambda a, b, r=r: F.l1_loss(a, b, reduction=r), [inp, tgt],
                           args={"reduction": r}))
        for beta in (0.5, 1.0):
            c.append(make_case(f"smooth_l1_beta{beta}_{r}", "smooth_l1_loss",
                               lambda a, b, r=r, beta=beta: F.smooth_l1_loss(a, b, reduction=r, beta=beta),
                               [inp, tgt], args={"reduction": r, "beta": beta}))

    N, C = 4, 5
    logits = rnd(N, C, scale=2.0)
    labels = vals([2, 0, 4, 2], dtype=L)
    labels_ign = vals([2, -100, 4, 1], dtype=L)
    labels_ign3 = vals([3, 1, 3, 0], dtype=L)
    probs = torch.softmax(rnd(N, C), 1).mul(1e4).round().div(1e4)
    cw = uni(0.2, 2.0, C)
    logits_k = rnd(2, C, 3)
    labels_k = vals([[0, 4, 1], [2, 2, 3]], dtype=L)

    def ce(**kw):
        return lambda x, t, w: F.cross_entropy(x, t, weight=w, **kw)
    for r in reds:
        base = {"reduction": r, "ignore_index": -100, "label_smoothing": 0.0}
        c.append(make_case(f"ce_indices_{r}", "cross_entropy", ce(reduction=r), [logits, labels, None], args=base))
        c.append(make_case(f"ce_probs_{r}", "cross_entropy", ce(reduction=r), [logits, probs, None], args=base))
        c.append(make_case(f"ce_smooth0.1_{r}", "cross_entropy", ce(reduction=r, label_smoothing=0.1),
                           [logits, labels, None], args=dict(base, label_smoothing=0.1)))
        c.append(make_case(f"ce_probs_smooth0.1_{r}", "cross_entropy", ce(reduction=r, label_smoothing=0.1),
                           [logits, probs, None], args=dict(base, label_smoothing=0.1)))
        c.append(make_case(f"ce_ignore_default_{r}", "cross_entropy", ce(reduction=r), [logits, labels_ign, None],
                           args=base))
        c.append(make_case(f"ce_ignore3_{r}", "cross_entropy", ce(reduction=r, ignore_index=3),
                           [logits, labels_ign3, None], args=dict(base, ignore_index=3)))
        c.append(make_case(f"ce_weight_{r}", "cross_entropy", ce(reduction=r), [logits, labels, cw], args=base, diff=[0]))
        c.append(make_case(f"ce_weight_ignore_smooth_{r}", "cross_entropy",
                           ce(reduction=r, ignore_index=3, label_smoothing=0.1), [logits, labels_ign3, cw],
                           args=dict(base, ignore_index=3, label_smoothing=0.1), diff=[0]))
        c.append(make_case(f"ce_probs_weight_{r}", "cross_entropy", ce(reduction=r), [logits, probs, cw], args=base,
                           diff=[0, 1, 2]))  # torch differentiates the class weights on this path
        c.append(make_case(f"ce_kdim_{r}", "cross_entropy", ce(reduction=r), [logits_k, labels_k, None], args=base))

        lp = torch.log_softmax(logits, 1)
        nb = {"reduction": r, "ignore_index": -100}
        c.append(make_case(f"nll_{r}", "nll_loss", lambda x, t, w, r=r: F.nll_loss(x, t, w, reduction=r),
                           [lp, labels, None], args=nb))
        c.append(make_case(f"nll_weight_ignore_{r}", "nll_loss",
                           lambda x, t, w, r=r: F.nll_loss(x, t, w, ignore_index=3, reduction=r),
                           [lp, labels_ign3, cw], args=dict(nb, ignore_index=3), diff=[0]))

        pr = uni(0.02, 0.98, 3, 4)
        bt = vals([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.3, 0.7, 1.0, 0.0]])
        bw = uni(0.5, 2.0, 4)
        c.append(make_case(f"bce_{r}", "binary_cross_entropy",
                           lambda x, t, w, r=r: F.binary_cross_entropy(x, t, w, reduction=r), [pr, bt, None],
                           args={"reduction": r}, diff=[0, 1]))
        c.append(make_case(f"bce_weight_{r}", "binary_cross_entropy",
                           lambda x, t, w, r=r: F.binary_cross_entropy(x, t, w, reduction=r), [pr, bt, bw],
                           args={"reduction": r}, diff=[0, 1]))
        lg = rnd(3, 4, scale=3.0)
        pw = uni(0.5, 3.0, 4)

        def bcel(x, t, w, p, r=r):
            return F.binary_cross_entropy_with_logits(x, t, w, reduction=r, pos_weight=p)
        c.append(make_case(f"bce_logits_{r}", "bce_with_logits", bcel, [lg, bt, None, None], args={"reduction": r},
                           diff=[0, 1]))
        c.append(make_case(f"bce_logits_pos_weight_{r}", "bce_with_logits", bcel, [lg, bt, None, pw],
                           args={"reduction": r}, diff=[0, 1]))
        c.append(make_case(f"bce_logits_weight_pos_weight_{r}", "bce_with_logits", bcel, [lg, bt, bw, pw],
                           args={"reduction": r}, diff=[0, 1]))
    # edges: every target ignored (mean is 0/0), probabilities at 0 and 1 (log clamped at -100), |d| at beta
    c.append(make_case("edge_ce_all_ignored_mean", "cross_entropy", ce(reduction="mean"),
                       [rnd(2, 3), vals([-100, -100], dtype=L), None],
                       args={"reduction": "mean", "ignore_index": -100, "label_smoothing": 0.0}))
    c.append(make_case("edge_ce_all_ignored_sum", "cross_entropy", ce(reduction="sum"),
                       [rnd(2, 3), vals([-100, -100], dtype=L), None],
                       args={"reduction": "sum", "ignore_index": -100, "label_smoothing": 0.0}))
    c.append(make_case("edge_nll_all_ignored_mean", "nll_loss", lambda x, t, w: F.nll_loss(x, t, w),
                       [rnd(2, 3), vals([-100, -100], dtype=L), None], args={"reduction": "mean", "ignore_index": -100}))
    c.append(make_case("edge_bce_saturated", "binary_cross_entropy",
                       lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="none"),
                       [vals([0.0, 1.0, 0.0, 1.0, 0.5]), vals([1.0, 0.0, 0.0, 1.0, 1.0]), None],
                       args={"reduction": "none"}, diff=[0]))
    kink_in = vals([0.5, -0.5, 1.0, 0.0, 2.0, -1.25])
    kink_t = vals([0.0, 0.0, 0.0, 0.0, 1.0, -0.25])   # d = 0.5, -0.5, 1, 0, 1, -1
    for r in ("none", "sum"):
        for beta in (0.5, 1.0):
            c.append(make_case(f"edge_smooth_l1_at_beta{beta}_{r}", "smooth_l1_loss",
                               lambda a, b, r=r, beta=beta: F.smooth_l1_loss(a, b, reduction=r, beta=beta),
                               [kink_in, kink_t], args={"reduction": r, "beta": beta}))
        c.append(make_case(f"edge_l1_zero_diff_{r}", "l1_loss", lambda a, b, r=r: F.l1_loss(a, b, reduction=r),
                           [kink_in, kink_t], args={"reduction": r}))
    # float32 path of the layers and losses
    c.append(make_case("f32_LayerNorm", "nn.LayerNorm", layer_norm([4], 1e-5),
                       [rnd(3, 4, dtype=F32), rnd(4, dtype=F32), rnd(4, dtype=F32)],
                       args={"normalized_shape": [4], "eps": 1e-5}))
    c.append(make_case("f32_Linear", "nn.Linear", linear, [rnd(3, 4, dtype=F32), rnd(2, 4, dtype=F32), rnd(2, dtype=F32)]))
    c.append(make_case("f32_ce_smooth_mean", "cross_entropy", ce(reduction="mean", label_smoothing=0.1),
                       [logits.float(), labels, None],
                       args={"reduction": "mean", "ignore_index": -100, "label_smoothing": 0.1}))
    c.append(make_case("f32_bce_logits_pos_weight_mean", "bce_with_logits",
                       lambda x, t, w, p: F.binary_cross_entropy_with_logits(x, t, w, pos_weight=p),
                       [rnd(3, 4, dtype=F32), bt.float(), None, uni(0.5, 3.0, 4, dtype=F32)],
                       args={"reduction": "mean"}, diff=[0, 1]))
    return c


def main():
    torch.manual_seed(0)
    data = {
        "generator": "scripts/gen_torch_reference.py",
        "torch_version": torch.__version__,
        "ops": pointwise_cases() + reduction_cases() + linalg_cases() + index_cases() + edge_cases() +
               float32_cases(),
        "promotion": promotion_cases(),
        "nn": nn_cases(),
    }
    names = [c["name"] for sec in ("ops", "promotion", "nn") for c in data[sec]]
    assert len(names) == len(set(names)), "case names must be unique"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "torch_reference.json")
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    size = os.path.getsize(out)
    print("wrote", os.path.normpath(out), size, "bytes,", len(names), "cases")
    assert size < 400_000, "keep the reference file under 400 KB"


if __name__ == "__main__":
    main()
