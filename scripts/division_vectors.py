#!/usr/bin/env python3
"""Prints the PyTorch reference values of tests/ops/test_divide_modes.cpp (torch.div's rounding modes,
floor_divide, fmod and remainder on negative operands, integers and floats). Run with Debian's python3-torch:
/usr/bin/python3 scripts/division_vectors.py, and paste the output over the table in the test."""
import torch

# INT64_MIN / -1 is left out: PyTorch 1.13 dies of SIGFPE on it (kiln wraps it to INT64_MIN).
a_int = [7, -7, 7, -7, 0, 5, -5, 9223372036854775807, -9223372036854775807, -9223372036854775808]
b_int = [2, 2, -2, -2, 3, 7, 7, -1, -1, 3]
a_flt = [7.5, -7.5, 7.5, -7.5, 0.0, -0.0, 1e-30, 5.0, -1.0, 3.0]
b_flt = [2.0, 2.0, -2.0, -2.0, 3.0, 2.0, -7.0, 0.5, 3.0, 0.0]


def literal(v):
    if isinstance(v, float):
        return ("%.17g" % v).replace("inf", "INFINITY").replace("nan", "NAN")
    return "INT64_MIN" if v == -9223372036854775808 else repr(v)


def row(name, values):
    return '    {"%s", {%s}},' % (name, ", ".join(literal(v) for v in values))


for kind, a, b, dt in (("int", a_int, b_int, torch.int64), ("float", a_flt, b_flt, torch.float64)):
    ta, tb = torch.tensor(a, dtype=dt), torch.tensor(b, dtype=dt)
    print("  // %s" % kind)
    print(row("a", a))
    print(row("b", b))
    tb_safe = tb
    print(row("trunc", torch.div(ta, tb_safe, rounding_mode="trunc").tolist()))
    print(row("floor", torch.div(ta, tb_safe, rounding_mode="floor").tolist()))
    print(row("fmod", torch.fmod(ta, tb_safe).tolist()))
    print(row("remainder", torch.remainder(ta, tb_safe).tolist()))
