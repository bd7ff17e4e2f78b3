#!/usr/bin/env python3
"""Writes a reproducible benchmark dataset.

usage: gen-data.py DIR [--seed N] [--sql-mb N] [--random-mb N] [--small-files N]

- DIR/sql/dump.sql      SQL-dump-like text (INSERT lines), compresses ~5x
- DIR/random/random.bin incompressible bytes
- DIR/tree/...          many small source-like files in nested directories
Same seed and sizes give byte-identical output.
"""
import argparse, os, random

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def sql(path, size, rng):
    with open(path, "w") as f:
        written, i = 0, 0
        while written < size:
            line = (f"INSERT INTO orders VALUES ({i}, {rng.randint(1, 100000)}, "
                    f"'{rng.choice(WORDS)} {rng.choice(WORDS)}', {rng.random() * 1000:.2f}, "
                    f"'2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}');\n")
            f.write(line)
            written += len(line)
            i += 1


def noise(path, size, seed):
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n


def tree(root, count, rng):
    for i in range(count):
        d = os.path.join(root, f"pkg{i % 97:02d}", f"mod{i % 13:02d}")
        os.makedirs(d, exist_ok=True)
        lines = [f"fn item_{i}_{j}(x: u32) -> u32 {{ x.wrapping_mul({rng.randint(1, 1 << 30)}) }}\n"
                 for j in range(rng.randint(5, 80))]
        with open(os.path.join(d, f"file{i}.rs"), "w") as f:
            f.writelines(lines)


def mixed(root, total, seed):
    os.makedirs(root, exist_ok=True)
    rng = random.Random(seed)
    i, written = 0, 0
    while written < total:
        size = min(total - written, int(rng.choice([4e3, 60e3, 700e3, 3e6, 20e6, 60e6]) * rng.uniform(0.5, 1.5)))
        noise(os.path.join(root, f"blob{i:04d}.bin"), size, seed * 1000 + i)
        written += size
        i += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sql-mb", type=int, default=1000)
    p.add_argument("--random-mb", type=int, default=1000)
    p.add_argument("--small-files", type=int, default=0)
    p.add_argument("--mixed-mb", type=int, default=0, help="random binary files of mixed sizes")
    a = p.parse_args()
    rng = random.Random(a.seed)
    for sub in ("sql", "random", "tree"):
        os.makedirs(os.path.join(a.dir, sub), exist_ok=True)
    sql(os.path.join(a.dir, "sql/dump.sql"), a.sql_mb * 1_000_000, rng)
    noise(os.path.join(a.dir, "random/random.bin"), a.random_mb * 1_000_000, a.seed + 1)
    tree(os.path.join(a.dir, "tree"), a.small_files, rng)
    mixed(os.path.join(a.dir, "mixed"), a.mixed_mb * 1_000_000, a.seed + 2)


if __name__ == "__main__":
    main()
