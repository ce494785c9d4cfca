//! Helpers shared by the integration tests.
#![allow(dead_code)]

use filename_refcount::kernel::state::{Opcode, Sqe, Uptr};

/// An OPENAT SQE of an existing file at path `p<path>`, no flags.
pub fn open(path: u8) -> Sqe {
    Sqe {
        op: Opcode::Openat,
        path: Uptr(path),
        exists: true,
        ..Sqe::default()
    }
}

/// xorshift64: small, seeded, deterministic (tests only; nothing on the
/// fuzzing path draws randomness).
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed (0 is replaced by 1).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A fair coin.
    pub fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// Uniform in `0..n` (n > 0).
    pub fn u8_below(&mut self, n: u8) -> u8 {
        self.below(n as u64) as u8
    }

    /// Random bytes, 0 to `max` of them.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max as u64 + 1) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
}
