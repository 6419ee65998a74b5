#!/usr/bin/python3
"""Writes tests/data/conv_reference.json: PyTorch's outputs and gradients for kiln's convolution, pooling and
batch-norm ops and layers, in the case format of scripts/gen_torch_reference.py (whose helpers it reuses).

Read by tests/nn/test_conv_torch_reference.cpp. Batch-norm cases list the running statistics after the call
as extra outputs. Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_conv_reference.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_torch_reference import F32, make_case, rnd, uni  # noqa: E402


def conv_cases():
    c = []
    x = rnd(2, 4, 6, 5)

    def conv(name, x, w, b, stride=1, padding=0, dilation=1, groups=1):
        args = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        c.append(make_case(name, "conv2d", lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                           [x, w, b], args=args))

    conv("conv2d_basic", x, rnd(5, 4, 3, 3), rnd(5))
    conv("conv2d_stride_pad", x, rnd(3, 4, 3, 2), rnd(3), stride=[2, 1], padding=[1, 2])
    conv("conv2d_dilation_no_bias", x, rnd(3, 4, 2, 3), None, dilation=[2, 1], padding=1)
    conv("conv2d_groups", x, rnd(6, 2, 3, 3), rnd(6), groups=2, padding=1)
    conv("conv2d_depthwise", x, rnd(4, 1, 3, 3), rnd(4), groups=4, stride=2)
    conv("conv2d_same_even_kernel", x, rnd(3, 4, 2, 4), rnd(3), padding="same", dilation=[1, 2])
    conv("f32_conv2d_basic", x.float(), rnd(5, 4, 3, 3, dtype=F32), rnd(5, dtype=F32), padding=1)
    conv("f32_conv2d_stride_groups", rnd(2, 6, 7, 6, dtype=F32), rnd(4, 3, 3, 3, dtype=F32), rnd(4, dtype=F32),
         stride=2, groups=2, padding=[0, 1])
    conv("f32_conv2d_1x1", rnd(2, 8, 4, 3, dtype=F32), rnd(3, 8, 1, 1, dtype=F32), None)

    def conv1(name, x, w, b, stride=1, padding=0, dilation=1, groups=1):
        args = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        c.append(make_case(name, "conv1d", lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
                           [x, w, b], args=args))

    conv1("conv1d_basic", rnd(2, 4, 9), rnd(6, 2, 3), rnd(6), stride=2, padding=1, groups=2)
    conv1("conv1d_same", rnd(2, 3, 8), rnd(2, 3, 4), None, padding="same", dilation=2)
    conv1("f32_conv1d", rnd(2, 3, 10, dtype=F32), rnd(4, 3, 5, dtype=F32), rnd(4, dtype=F32))
    return c


def pool_cases():
    c = []
    # Distinct values: ties would make the max's index (and its gradient) depend on the scan order.
    x = torch.randperm(2 * 2 * 7 * 6, dtype=torch.float64).reshape(2, 2, 7, 6).div(10) - 12

    def maxp(name, x, k, s, p, d=1, ceil=False):
        args = {"kernel_size": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil}
        c.append(make_case(name, "max_pool2d",
                           lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True), [x],
                           args=args))

    maxp("max_pool2d_2x2", x, 2, 2, 0)
    maxp("max_pool2d_k3_s2_p1", x, 3, 2, 1)
    maxp("max_pool2d_ceil_dilation", x, [3, 2], [2, 1], [1, 0], d=[1, 2], ceil=True)
    maxp("f32_max_pool2d", x.float(), 2, 2, 0)

    def avgp(name, x, k, s, p, ceil=False, cip=True):
        args = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": ceil, "count_include_pad": cip}
        c.append(make_case(name, "avg_pool2d", lambda x: F.avg_pool2d(x, k, s, p, ceil, cip), [x], args=args))

    r = rnd(2, 2, 7, 6)
    avgp("avg_pool2d_2x2", r, 2, 2, 0)
    avgp("avg_pool2d_pad_include", r, 3, 2, 1)
    avgp("avg_pool2d_pad_exclude_ceil", r, [3, 2], [2, 2], [1, 1], ceil=True, cip=False)
    avgp("f32_avg_pool2d", r.float(), 3, 1, 1)
    for name, size in (("adaptive_avg_pool2d_3x2", [3, 2]), ("adaptive_avg_pool2d_1x1", [1, 1]),
                       ("adaptive_avg_pool2d_up", [9, 4])):
        c.append(make_case(name, "adaptive_avg_pool2d", lambda x, s=size: F.adaptive_avg_pool2d(x, s), [r],
                           args={"output_size": size}))
    return c


def bn_cases():
    c = []

    def bn(name, x, w, b, training, momentum=0.1, eps=1e-5):
        rm, rv = rnd(x.shape[1], dtype=x.dtype), uni(0.5, 2.0, x.shape[1], dtype=x.dtype)
        args = {"training": training, "momentum": momentum, "eps": eps}

        def fn(x, w, b, rm, rv):
            rm, rv = rm.detach().clone(), rv.detach().clone()
            y = F.batch_norm(x, rm, rv, w, b, training, momentum, eps)
            return y, rm, rv

        c.append(make_case(name, "batch_norm", fn, [x, w, b, rm, rv], args=args, diff=[0, 1, 2] if w is not None
                           else [0]))

    x4 = rnd(4, 3, 4, 3, scale=2.0, shift=1.0)
    bn("batch_norm_2d_train", x4, rnd(3), rnd(3), True)
    bn("batch_norm_2d_eval", x4, rnd(3), rnd(3), False)
    bn("batch_norm_1d_train_momentum", rnd(6, 5), rnd(5), rnd(5), True, momentum=0.3, eps=1e-3)
    bn("batch_norm_3d_train_no_affine", rnd(3, 4, 7), None, None, True)
    bn("f32_batch_norm_2d_train", x4.float(), rnd(3, dtype=F32), rnd(3, dtype=F32), True)
    return c


def main():
    torch.manual_seed(0)
    data = {
        "generator": "scripts/gen_conv_reference.py",
        "torch_version": torch.__version__,
        "nn": conv_cases() + pool_cases() + bn_cases(),
    }
    names = [c["name"] for c in data["nn"]]
    assert len(names) == len(set(names)), "case names must be unique"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "conv_reference.json")
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    size = os.path.getsize(out)
    print("wrote", os.path.normpath(out), size, "bytes,", len(names), "cases")
    assert size < 400_000, "keep the reference file under 400 KB"


if __name__ == "__main__":
    main()
