#!/usr/bin/env python3
"""Writes the first N training and M test images of an MNIST-format data set (with their labels) into a new
folder, in the same gzipped IDX files `kiln train --data DIR` reads: train-images-idx3-ubyte.gz,
train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz.

    scripts/fashion-subset.py /usr/share/datasets/fashion-mnist gpu-bundle/data/fashion-mnist --train 10000 --test 2000
"""
import argparse
import gzip
import os
import struct
import sys


def read_idx(path):
    """(header dims, payload bytes) of an IDX file, gzipped or not."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit(f"fashion-subset: {path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = list(struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim]))
    return dims, data[4 + 4 * ndim:]


def find(src, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(src, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"fashion-subset: {src} has no {name}[.gz] (Debian: apt install dataset-fashion-mnist)")


def write_subset(src, dst, name, count):
    dims, payload = read_idx(find(src, name))
    if count > dims[0]:
        sys.exit(f"fashion-subset: asked for {count} items but {name} has {dims[0]}")
    item = len(payload) // dims[0]
    header = bytes([0, 0, 0x08, len(dims)]) + struct.pack(">" + "I" * len(dims), count, *dims[1:])
    # mtime=0: the same input gives the same bytes, so a rebuilt bundle does not differ for nothing.
    with open(os.path.join(dst, name + ".gz"), "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(header + payload[:count * item])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", help="folder with the full data set")
    p.add_argument("dst", help="folder to write (created)")
    p.add_argument("--train", type=int, default=10000, help="training images to keep")
    p.add_argument("--test", type=int, default=2000, help="test images to keep")
    args = p.parse_args()
    os.makedirs(args.dst, exist_ok=True)
    for prefix, count in (("train", args.train), ("t10k", args.test)):
        write_subset(args.src, args.dst, f"{prefix}-images-idx3-ubyte", count)
        write_subset(args.src, args.dst, f"{prefix}-labels-idx1-ubyte", count)


if __name__ == "__main__":
    main()
