#!/usr/bin/python3
"""Writes tests/data/views_inplace_reference.json: PyTorch's gradients for in-place ops on views.

Each case names a function of float64 inputs that writes in place into views (kiln's test defines the same
function under the same name, in tests/autograd/test_views_inplace.cpp). The file holds the inputs, the
gradient fed to the output, the output and the gradient of every input, so the test never depends on torch's
RNG. Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_views_reference.py
"""
import json
import os

import torch


def example(x):  # the example
    y = x * 2
    y[0].mul_(3)
    y.narrow(0, 1, 2).add_(1)
    y.t().relu_()
    return y


def view_of_view(x, w):
    y = x * 2
    u = y.t()[1]  # a view of a view: column 1 of y
    u.mul_(w)
    y.view(12).narrow(0, 6, 4).add_(w[0:1] * 3)
    return y * y


def transpose_relu(x, w):
    y = x.sin()
    y.t().mul_(w)  # w has the transposed shape
    y.t().relu_()
    return y


def select_slice(x, w):
    y = x.sin() * 2  # (exp would save its output, which the writes change)
    y.select(1, 2).mul_(w)
    y[:, 0:4:2].sub_(x[:, 1:4:2], alpha=0.5)
    y.narrow(1, 1, 1).div_(w.unsqueeze(1))
    return y


def diagonal(x, w):
    y = x * x
    y.diagonal().mul_(w)  # kiln: as_strided with stride(0) + stride(1)
    return y.sum(0)


def base_then_view(x, w):
    y = x * 2
    v = y.narrow(0, 1, 2)
    y.mul_(w)  # the base changes: v must see the new history
    return v * 3


def two_views(x, w):
    y = x * 2
    a = y[0]
    b = y[2]
    a.mul_(w)
    b.add_(a)  # reads one view written in place, writes another
    return y


def expand_after_base(x, w):
    y = x.sum(1, keepdim=True)
    e = y.expand(3, 4)
    y.mul_(w)  # e repeats y's elements: its replayed gradient sums them
    return e * x


def base_without_grad(x):
    y = torch.zeros(3, 4, dtype=torch.float64)
    y.narrow(0, 0, 2).add_(x[0:2])  # y comes to require grad through its view
    y[2].add_(x[2] * x[2])
    return y * 1.5


def copy_into_view(x, w):
    y = x * 2
    y[1].copy_(w)
    y[:, 3].fill_(0.5)
    return y * x


def chain_on_view(x, w):
    y = x * 1
    v = y.view(2, 6)
    v.narrow(1, 1, 3).mul_(2)
    v[1].clamp_(-0.5, 0.8)
    v.addcmul_(x.view(2, 6), w, value=0.5)
    return y.tanh()


def noncontiguous_base(x, w):
    y = x.t() * 2  # laid out like x.t(): a base that is not contiguous
    v = y[1]
    y.narrow(1, 0, 2).mul_(w)
    return v * y[2]


CASES = [
    ("example", example, [[3, 4]]),
    ("view_of_view", view_of_view, [[3, 4], [3]]),
    ("transpose_relu", transpose_relu, [[3, 4], [4, 3]]),
    ("select_slice", select_slice, [[3, 4], [3]]),
    ("diagonal", diagonal, [[3, 4], [3]]),
    ("base_then_view", base_then_view, [[3, 4], [3, 4]]),
    ("two_views", two_views, [[3, 4], [4]]),
    ("expand_after_base", expand_after_base, [[3, 4], [3, 1]]),
    ("base_without_grad", base_without_grad, [[3, 4]]),
    ("copy_into_view", copy_into_view, [[3, 4], [4]]),
    ("chain_on_view", chain_on_view, [[3, 4], [2, 6]]),
    ("noncontiguous_base", noncontiguous_base, [[3, 4], [4, 2]]),
]


def away_from_kinks(shape, gen):
    # Magnitudes in [0.3, 1.3] with random signs: no relu or clamp kink within finite-difference reach.
    mag = torch.rand(shape, generator=gen, dtype=torch.float64) + 0.3
    sign = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    return mag * sign


def main():
    gen = torch.Generator().manual_seed(9)
    cases = []
    for name, fn, shapes in CASES:
        inputs = [away_from_kinks(s, gen).requires_grad_() for s in shapes]
        out = fn(*inputs)
        grad_out = torch.randn(out.shape, generator=gen, dtype=torch.float64)
        grads = torch.autograd.grad(out, inputs, grad_out)
        cases.append({
            "name": name,
            "inputs": [{"shape": list(t.shape), "values": t.detach().flatten().tolist()} for t in inputs],
            "grad_output": grad_out.flatten().tolist(),
            "output": out.detach().flatten().tolist(),
            "grads": [g.flatten().tolist() for g in grads],
        })
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "views_inplace_reference.json")
    with open(path, "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path), len(cases), "cases")


if __name__ == "__main__":
    main()
