//! CRC-64-ECMA as Go's `hash/crc64` computes it with `crc64.ECMA`
//! (reflected polynomial 0xC96C5795D7870F42, all-ones start and final
//! xor): the checksum mongodump writes in each namespace's EOF header.

const POLY: u64 = 0xC96C_5795_D787_0F42;

const TABLE: [u64; 256] = table();

const fn table() -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[i] = crc;
        i += 1;
    }
    t
}

/// A running checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Crc64(u64);

impl Crc64 {
    /// The checksum of nothing.
    pub fn new() -> Self {
        Crc64(0)
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut crc = !self.0;
        for b in bytes {
            crc = TABLE[((crc as u8) ^ b) as usize] ^ (crc >> 8);
        }
        self.0 = !crc;
    }

    /// The checksum so far.
    pub fn sum(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Crc64;

    #[test]
    fn check_value_of_the_catalogue() {
        // CRC-64/XZ (the same parameters) of "123456789".
        let mut c = Crc64::new();
        c.update(b"123456789");
        assert_eq!(c.sum(), 0x995d_c9bb_df19_39fa);
    }

    #[test]
    fn pieces_add_up_to_the_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut whole = Crc64::new();
        whole.update(&data);
        let mut parts = Crc64::new();
        for piece in data.chunks(13) {
            parts.update(piece);
        }
        assert_eq!(whole, parts);
        assert_ne!(whole.sum(), Crc64::new().sum());
    }
}
