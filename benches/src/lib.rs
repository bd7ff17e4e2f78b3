//! Shared inputs for the benchmarks: reproducible SQL-dump-like text and
//! incompressible bytes.

/// Incompressible bytes from a seed.
pub fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut s = (seed << 1) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Text shaped like a SQL dump (INSERT lines), compressing about 5x.
pub fn sql(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 10] = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    ];
    let mut s = (seed << 1) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut out = Vec::with_capacity(len + 200);
    let mut i = 0u64;
    while out.len() < len {
        let r = next();
        let line = format!(
            "INSERT INTO orders VALUES ({i}, {}, '{} {}', {}.{:02}, '2026-{:02}-{:02}');\n",
            r % 100_000,
            WORDS[(r >> 20) as usize % 10],
            WORDS[(r >> 24) as usize % 10],
            (r >> 30) % 1000,
            (r >> 40) % 100,
            1 + (r >> 44) % 12,
            1 + (r >> 48) % 28
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}
