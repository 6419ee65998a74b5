#!/usr/bin/python3
"""Writes tests/data/cnn_layers_reference.json: PyTorch's outputs and gradients for conv_transpose2d,
group_norm and interpolate (nearest, bilinear), in the case format of scripts/gen_torch_reference.py (whose
helpers it reuses). dropout2d draws from torch's generator, so it is checked by properties in C++ instead.

Read by tests/nn/test_cnn_layers_torch_reference.cpp. Run with Debian's python3-torch:
    /usr/bin/python3 scripts/gen_cnn_layers_reference.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_torch_reference import F32, make_case, rnd  # noqa: E402


def conv_transpose_cases():
    c = []

    def convt(name, x, w, b, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        args = {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups,
                "dilation": dilation}
        c.append(make_case(name, "conv_transpose2d",
                           lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups,
                                                              dilation),
                           [x, w, b], args=args))

    x = rnd(2, 4, 5, 4)
    convt("conv_transpose2d_basic", x, rnd(4, 3, 3, 3), rnd(3))
    convt("conv_transpose2d_stride2_pad1_outpad1", x, rnd(4, 2, 3, 3), rnd(2), stride=2, padding=1, output_padding=1)
    # output_padding larger than padding: the extra rows only get the bias.
    convt("conv_transpose2d_outpad_over_pad", x, rnd(4, 3, 2, 3), rnd(3), stride=[3, 2], padding=[0, 1],
          output_padding=[2, 1])
    convt("conv_transpose2d_groups_dilation", x, rnd(4, 3, 3, 2), None, groups=2, dilation=[2, 1], padding=[1, 0])
    convt("conv_transpose2d_dilation_outpad", rnd(1, 2, 3, 3), rnd(2, 2, 2, 2), rnd(2), dilation=3, output_padding=2)
    convt("f32_conv_transpose2d_stride2", x.float(), rnd(4, 5, 4, 4, dtype=F32), rnd(5, dtype=F32), stride=2,
          padding=1)
    convt("f32_conv_transpose2d_groups", rnd(2, 6, 4, 3, dtype=F32), rnd(6, 2, 3, 3, dtype=F32), None, groups=3,
          stride=2, output_padding=1)
    return c


def group_norm_cases():
    c = []

    def gn(name, x, groups, w, b, eps=1e-5):
        c.append(make_case(name, "group_norm", lambda x, w, b: F.group_norm(x, groups, w, b, eps), [x, w, b],
                           args={"num_groups": groups, "eps": eps}))

    x4 = rnd(3, 6, 4, 3, scale=2.0, shift=0.5)
    gn("group_norm_2d_affine", x4, 3, rnd(6), rnd(6))
    gn("group_norm_one_group", x4, 1, rnd(6), rnd(6), eps=1e-3)
    gn("group_norm_group_per_channel_no_affine", x4, 6, None, None)
    gn("group_norm_3d_input", rnd(2, 4, 7), 2, rnd(4), rnd(4))
    gn("f32_group_norm_2d", x4.float(), 2, rnd(6, dtype=F32), rnd(6, dtype=F32))
    return c


def interpolate_cases():
    c = []

    def interp(name, x, mode, size=None, scale_factor=None, align_corners=None):
        args = {"mode": mode, "size": size, "scale_factor": scale_factor, "align_corners": align_corners}
        c.append(make_case(name, "interpolate",
                           lambda x: F.interpolate(x, size=size, scale_factor=scale_factor, mode=mode,
                                                   align_corners=align_corners), [x], args=args))

    x = rnd(2, 3, 4, 5)
    interp("nearest_scale2", x, "nearest", scale_factor=2.0)
    interp("nearest_size_up", x, "nearest", size=[7, 9])
    interp("nearest_size_down", x, "nearest", size=[3, 2])
    interp("nearest_scale_per_dim", x, "nearest", scale_factor=[1.5, 0.7])
    interp("bilinear_scale2", x, "bilinear", scale_factor=2.0)
    interp("bilinear_scale2_align", x, "bilinear", scale_factor=2.0, align_corners=True)
    interp("bilinear_size_up", x, "bilinear", size=[7, 11])
    interp("bilinear_size_down_align", x, "bilinear", size=[3, 2], align_corners=True)
    interp("bilinear_scale_per_dim", x, "bilinear", scale_factor=[1.7, 0.5])
    interp("bilinear_one_row_align", x, "bilinear", size=[1, 8], align_corners=True)
    interp("f32_nearest_scale3", x.float(), "nearest", scale_factor=3.0)
    interp("f32_bilinear_size", x.float(), "bilinear", size=[9, 6])
    return c


def main():
    torch.manual_seed(0)
    data = {
        "generator": "scripts/gen_cnn_layers_reference.py",
        "torch_version": torch.__version__,
        "nn": conv_transpose_cases() + group_norm_cases() + interpolate_cases(),
    }
    names = [c["name"] for c in data["nn"]]
    assert len(names) == len(set(names)), "case names must be unique"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "cnn_layers_reference.json")
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes,", len(names), "cases")


if __name__ == "__main__":
    main()
