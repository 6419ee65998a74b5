#!/usr/bin/env python3
"""The ops suite in PyTorch, the twin of `kiln bench --suite ops` (tools/kiln/bench_ops.cpp).

Per-op overhead on 2x2 float32 tensors in microseconds per call (here measured from Python: impl
"torch-python"; `kiln bench --compare-pytorch` prefers the C++ figure of ops_overhead.cpp, which
`--build-overhead` compiles against this torch's own headers and libraries), and large-tensor throughput as a
rate (GFLOP/s for a 2048^3 matmul, GB/s read + written for add/mul/relu/exp/softmax on 16M floats); `kiln bench`
reports both sides as fractions of the one peak it measured (the BLAS's sgemm, memory-copy bandwidth). One
JSON row per case:
  python3 bench/pytorch/ops.py --threads 2
  python3 bench/pytorch/ops.py --case '{"kind": "overhead", "op": "add"}'
  python3 bench/pytorch/ops.py --build-overhead     # prints the compiled program's path
"""
import hashlib
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

import bench_common

TINY = {
    "add": lambda t: t["a"] + t["b"],
    "mul": lambda t: t["a"] * t["b"],
    "relu": lambda t: torch.relu(t["a"]),
    "matmul": lambda t: t["a"].matmul(t["b"]),
    "sum": lambda t: t["a"].sum(),
    "linear": lambda t: t["linear"](t["a"]),
    "backward": lambda t: F.relu(t["leaf"] * t["b"] + t["leaf"]).sum().backward(),
}
# Bytes read and written per float32 element.
BANDWIDTH = {
    "add": (12, lambda a, b: a + b),
    "mul": (12, lambda a, b: a * b),
    "relu": (8, lambda a, b: torch.relu(a)),
    "exp": (8, lambda a, b: a.exp()),
    "softmax": (8, lambda a, b: a.softmax(1)),
}


def overhead(dev, op, quick):
    t = {"a": torch.randn(2, 2, device=dev), "b": torch.randn(2, 2, device=dev),
         "leaf": torch.randn(2, 2, device=dev).requires_grad_(), "linear": torch.nn.Linear(2, 2).to(dev)}
    fn, calls = TINY[op], 10 if quick else 20000

    def loop():
        for _ in range(calls):
            fn(t)
    return {"us_per_call": bench_common.best_seconds(dev, 1 if quick else 5, loop) / calls * 1e6, "calls": calls}


def throughput(dev, op, quick):
    with torch.no_grad():
        if op == "matmul":
            n = 64 if quick else (8192 if dev.type == "cuda" else 2048)
            a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
            rate = 2.0 * n ** 3 / bench_common.best_seconds(dev, 1 if quick else 5, lambda: a.mm(b))
            return {"size": n, "unit": "GFLOP/s", "rate": rate / 1e9}
        elements = 4096 if quick else 16 << 20
        a, b = torch.randn(elements // 1024, 1024, device=dev), torch.randn(elements // 1024, 1024, device=dev)
        nbytes, fn = BANDWIDTH[op]
        rate = nbytes * elements / bench_common.best_seconds(dev, 1 if quick else 10, lambda: fn(a, b))
        return {"size": elements, "unit": "GB/s", "rate": rate / 1e9}


def build_overhead():
    """Compiles ops_overhead.cpp against this torch (cached per torch build); prints the program's path."""
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.path.join(here, "ops_overhead.cpp")
    root = os.path.dirname(torch.__file__)
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    key = hashlib.sha256(f"{root} {torch.__version__} {abi} {os.path.getmtime(source)}".encode()).hexdigest()[:16]
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "kiln-bench")
    program = os.path.join(cache, f"ops_overhead-{torch.__version__.replace('+', '_')}-{key}")
    if not os.path.exists(program):
        os.makedirs(cache, exist_ok=True)
        if not os.path.exists(os.path.join(root, "include", "ATen", "ATen.h")):
            # Debian's python3-torch links its headers from libtorch-dev, which may not be installed.
            raise SystemExit(f"ops.py: no libtorch headers in {root}/include (Debian: apt install libtorch-dev)")
        lib = os.path.join(root, "lib")
        # torch 2.x headers need C++20 (recent ones refuse C++17); 1.x is C++14/17 code.
        std = "c++20" if int(torch.__version__.split(".")[0]) >= 2 else "c++17"
        cmd = [os.environ.get("CXX", "g++"), "-O2", f"-std={std}", f"-D_GLIBCXX_USE_CXX11_ABI={abi}", source,
               "-I", os.path.join(root, "include"), "-o", program + ".tmp", "-L", lib, f"-Wl,-rpath,{lib}",
               "-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10", "-Wl,--as-needed"]
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            sys.stderr.write("\n".join(result.stdout.splitlines()[:20]) + "\n")
            raise SystemExit(f"ops.py: compiling ops_overhead.cpp failed: {' '.join(cmd)}")
        os.replace(program + ".tmp", program)
    print(program)


def main():
    p = bench_common.parser(__doc__.splitlines()[0])
    p.add_argument("--build-overhead", action="store_true", help="compile ops_overhead.cpp; print its path")
    args = p.parse_args()
    if args.build_overhead:
        build_overhead()
        return
    dev = bench_common.setup(args)
    all_cases = ([{"kind": "overhead", "op": op} for op in TINY] + [{"kind": "throughput", "op": "matmul"}] +
                 [{"kind": "throughput", "op": op} for op in sorted(BANDWIDTH)])
    for keys in bench_common.cases(args, all_cases):
        if keys["kind"] == "overhead":
            bench_common.emit(dev, keys, overhead(dev, keys["op"], args.quick), impl="torch-python")
        else:
            bench_common.emit(dev, keys, throughput(dev, keys["op"], args.quick))


if __name__ == "__main__":
    main()
