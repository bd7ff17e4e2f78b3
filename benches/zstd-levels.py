#!/usr/bin/env python3
"""zstd level 1 against level 3 on real files, by the engine's probe ratio.

Reads each corpus (files under a directory, in walk order, optionally only
names with the given endings) up to a size limit, cuts it into 1 MiB pieces
like the engine's file chunks, and for each piece takes the level-1 ratio
of its first 32 KiB (the engine's compressibility probe). It prints, per
band of that probe ratio, how much larger level 1's output is than level
3's. Needs python3-zstandard (`pip install zstandard`).

usage: benches/zstd-levels.py NAME=DIR[:EXT,EXT...] ... [--limit-mb N]
example: benches/zstd-levels.py rust=$HOME/.cargo/registry/src:.rs include=/usr/include
"""
import os
import sys

import zstandard

PIECE = 1 << 20
PROBE = 32 * 1024
BANDS = [(1.5, "<1.5"), (2.5, "1.5-2.5"), (3.5, "2.5-3.5"), (5.0, "3.5-5"), (float("inf"), ">=5")]


def corpus(root, exts, limit):
    buf = bytearray()
    for d, _, names in os.walk(root):
        for n in sorted(names):
            p = os.path.join(d, n)
            if (exts and not n.endswith(exts)) or os.path.islink(p):
                continue
            try:
                with open(p, "rb") as f:
                    buf += f.read()
            except OSError:
                continue
            if len(buf) >= limit:
                return bytes(buf[:limit])
    return bytes(buf)


def report(name, data):
    c1, c3 = zstandard.ZstdCompressor(level=1), zstandard.ZstdCompressor(level=3)
    bands = {}
    for i in range(0, len(data) - PIECE + 1, PIECE):
        piece = data[i : i + PIECE]
        probe = PROBE / len(c1.compress(piece[:PROBE]))
        band = next(label for top, label in BANDS if probe < top)
        n, l1, l3 = bands.get(band, (0, 0, 0))
        bands[band] = (n + 1, l1 + len(c1.compress(piece)), l3 + len(c3.compress(piece)))
    for _, label in BANDS:
        if label in bands:
            n, l1, l3 = bands[label]
            print(f"{name:12} probe {label:8} pieces {n:5}  level1/level3 size {l1 / l3:.4f}"
                  f"  level-3 ratio {n * PIECE / l3:.2f}")


def main(argv):
    limit = 200 << 20
    specs = []
    it = iter(argv)
    for a in it:
        if a == "--limit-mb":
            limit = int(next(it)) << 20
        elif "=" in a:
            specs.append(a)
        else:
            sys.exit(__doc__)
    if not specs:
        sys.exit(__doc__)
    print(f"zstd {'.'.join(map(str, zstandard.ZSTD_VERSION))}, 1 MiB pieces, at most {limit >> 20} MB per corpus")
    for spec in specs:
        name, _, rest = spec.partition("=")
        root, _, exts = rest.partition(":")
        report(name, corpus(root, tuple(exts.split(",")) if exts else None, limit))


if __name__ == "__main__":
    main(sys.argv[1:])
