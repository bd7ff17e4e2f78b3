#!/usr/bin/env python3
"""How much a tree of small files shrinks when its blobs are compressed in
groups instead of one by one: the measurement behind issue #20's choice.

For each directory it reads every regular file in walk order (sorted
names), drops files whose bytes repeat an earlier one (what content ids
already deduplicate), and prints the stored size of:
  - per-file: each file compressed alone at zstd level 3, kept raw when
    that is not smaller, plus 40 bytes of nonce and tag per blob (today's
    engine, one blob per small file; files over 1 MiB are cut into 1 MiB
    pieces, a stand-in for the chunker);
  - dict: the same with one zstd dictionary of 110 KiB trained on about
    2000 of the files (a per-repository trained dictionary);
  - groups of N KiB: consecutive small files (128 KiB or less) concatenated
    until N KiB and compressed as one frame, one nonce and tag per group
    (blobs compressed together inside a pack); larger pieces alone.
Sizes exclude index entries and trees, which all variants share. It also
prints the compression time of each variant (one core).

Needs the zstandard module (`python3 -m venv /tmp/zv && /tmp/zv/bin/pip
install zstandard`, then run it with /tmp/zv/bin/python).

usage: benches/small-file-groups.py DIR [DIR ...]
example: benches/small-file-groups.py ~/.rustup/toolchains/*/share/doc/rust/html/core
"""
import hashlib
import os
import sys
import time

import zstandard

SEAL = 40  # 24-byte nonce + 16-byte tag per sealed unit
SMALL = 128 << 10
PIECE = 1 << 20
GROUPS = (64 << 10, 256 << 10, 1 << 20, 4 << 20)


def pieces(root):
    seen = set()
    for d, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(d, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                data = f.read()
            for at in range(0, max(len(data), 1), PIECE):
                piece = data[at : at + PIECE]
                key = hashlib.blake2b(piece, digest_size=32).digest()
                if key not in seen:
                    seen.add(key)
                    yield piece


def sealed(comp, data):
    return min(len(comp.compress(data)), len(data)) + SEAL


def per_file(items, comp):
    return sum(sealed(comp, b) for b in items)


def grouped(items, comp, cap):
    out, buf, n = 0, [], 0
    for b in items:
        if len(b) > SMALL:
            out += sealed(comp, b)
            continue
        buf.append(b)
        n += len(b)
        if n >= cap:
            out += sealed(comp, b"".join(buf))
            buf, n = [], 0
    if buf:
        out += sealed(comp, b"".join(buf))
    return out


def timed(label, fn):
    start = time.perf_counter()
    size = fn()
    return label, size, time.perf_counter() - start


def measure(root):
    items = list(pieces(root))
    raw = sum(len(b) for b in items)
    level3 = zstandard.ZstdCompressor(level=3)
    rows = [timed("per-file", lambda: per_file(items, level3))]
    step = max(1, len(items) // 2000)
    start = time.perf_counter()
    dictionary = zstandard.train_dictionary(110 << 10, items[::step])
    trained = time.perf_counter() - start
    with_dict = zstandard.ZstdCompressor(level=3, dict_data=dictionary)
    label, size, secs = timed("dict 110 KiB", lambda: per_file(items, with_dict))
    rows.append((label, size + len(dictionary.as_bytes()), secs + trained))
    for cap in GROUPS:
        rows.append(timed(f"groups {cap >> 10} KiB", lambda c=cap: grouped(items, level3, c)))
    print(f"{root}: {len(items)} unique pieces, {raw / 1e6:.1f} MB")
    for label, size, secs in rows:
        print(f"  {label:<16} {size / 1e6:8.1f} MB  {raw / size:5.1f}x  {secs:6.2f} s")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for root in sys.argv[1:]:
        measure(root)


if __name__ == "__main__":
    main()
