"""What every bench/pytorch suite script shares: the command line `kiln bench --compare-pytorch` passes, the
best-of timing loop, and the JSON row format (the same fields as kiln's rows)."""
import argparse
import json
import time

import torch


def parser(description):
    """--device, --threads, --quick and --case (one case's keys as JSON; default: every case of the suite)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks that every case runs, measures nothing")
    p.add_argument("--case", default="", help='one case\'s keys as JSON, e.g. \'{"layers": 10}\'')
    p.add_argument("--dataset", default="fashion-mnist", help="fashion suite: fashion-mnist or mnist")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="fashion suite: the IDX folder")
    return p


def setup(args):
    """Applies --threads and full-float32 GEMMs (TF32 off, as kiln computes); returns the torch.device."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no usable GPU")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return dev


def cases(args, all_cases):
    """The case selected by --case, or every case of the suite."""
    return [json.loads(args.case)] if args.case else all_cases


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def best_seconds(dev, reps, fn):
    """Seconds of the fastest of reps runs of fn (after one untimed run), each synchronised, as kiln measures."""
    fn()
    sync(dev)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync(dev)
        best = min(best, time.perf_counter() - t0)
    return best


def device_name(dev):
    return f"cuda:{dev.index or 0}" if dev.type == "cuda" else "cpu"


def emit(dev, keys, fields, impl="torch"):
    """Prints one row: impl, device, the case's keys, then the measured fields."""
    row = {"impl": impl, "device": device_name(dev), "threads": torch.get_num_threads()}
    row.update(keys)
    row.update(fields)
    print(json.dumps(row), flush=True)
