#!/usr/bin/env python3
"""Square GEMM TFLOP/s in PyTorch on the GPU, measured as kiln_bench's BM_KilnMmCuda measures kiln::mm.

Random n x n operands made in float32 and cast; one warm-up product; then products timed on the wall clock,
each followed by a synchronisation, until at least --min-time seconds have passed. float32 runs in full float32
(TF32 off, kiln's default too); float16 and bfloat16 on tensor cores. Prints one line per case:
  gemm framework=torch dtype=bfloat16 n=8192 iterations=... seconds=... tflops=...
"""
import argparse
import time

import torch

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def measure(n, dtype, min_time):
    gen = torch.Generator(device="cuda").manual_seed(1)
    a = torch.randn(n, n, device="cuda", generator=gen).to(dtype)
    b = torch.randn(n, n, device="cuda", generator=gen).to(dtype)
    torch.mm(a, b)
    torch.cuda.synchronize()
    iterations, t0 = 0, time.perf_counter()
    while True:
        torch.mm(a, b)
        torch.cuda.synchronize()
        iterations += 1
        seconds = time.perf_counter() - t0
        if seconds >= min_time:
            return iterations, seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1024,2048,4096,8192")
    p.add_argument("--dtypes", default="float32,float16,bfloat16")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds of products per case")
    args = p.parse_args()
    if not torch.cuda.is_available():
        p.error("torch sees no usable GPU")
    torch.backends.cuda.matmul.allow_tf32 = False
    for name in args.dtypes.split(","):
        for n in (int(v) for v in args.sizes.split(",")):
            iterations, seconds = measure(n, DTYPES[name], args.min_time)
            tflops = 2.0 * n * n * n * iterations / seconds / 1e12
            print(f"gemm framework=torch dtype={name} n={n} iterations={iterations} seconds={seconds:.4f} "
                  f"tflops={tflops:.2f}", flush=True)


if __name__ == "__main__":
    main()
