//! Reach: how many distinct people, as a HyperLogLog sketch that unions
//! without loss, so the reach of any span is the union of its buckets'
//! sketches (never a sum of their counts).
//!
//! What the embedded store keeps where Postgres keeps `hll(14, 5)` columns:
//! 2^14 registers, a standard error of about 0.8% for large sets. Pure and
//! stable: the hash is defined here (std's `DefaultHasher` may change
//! between Rust releases, which would corrupt every stored sketch), and the
//! byte encoding carries a version.
//!
//! Small sets are kept sparse, HyperLogLog++ style: one entry per distinct
//! 25-bit hash prefix instead of a dense array of registers, estimated by
//! linear counting over 2^25 buckets. That is exact in practice up to the
//! switch to dense registers ([`SPARSE_MAX`] entries), as Postgres's `hll`
//! is exact while it stores the hashes themselves, and keeps the stored
//! form a few bytes per person. Dense registers are estimated with Ertl's
//! improved raw estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), which needs no empirical bias tables and
//! turns into linear counting by itself while most registers are empty.

use std::fmt;

/// Bits of the hash that pick a dense register.
pub const PRECISION: u32 = 14;
/// Dense registers.
pub const REGISTERS: usize = 1 << PRECISION;
/// Bits of the hash that pick a sparse bucket.
const SPARSE_PRECISION: u32 = 25;
/// Entries a sketch keeps sparse; one more and it turns dense. The sparse
/// encoding of this many entries (about 3 bytes each) stays below the
/// dense one's [`DENSE_BYTES`].
pub const SPARSE_MAX: usize = 3072;
/// The largest dense rank: the hash bits after the register index, all
/// zero (64 − 14 + 1).
const MAX_RANK: u8 = (64 - PRECISION + 1) as u8;
/// The largest rank of the hash bits after the sparse bucket (64 − 25 + 1).
const MAX_SPARSE_RANK: u32 = 64 - SPARSE_PRECISION + 1;
/// Bits a rank takes in a sparse entry and in the dense encoding.
const RANK_BITS: u32 = 6;
/// Bytes of the dense encoding's registers (6 bits each).
const DENSE_BYTES: usize = REGISTERS * RANK_BITS as usize / 8;

/// The encoding's version byte.
const VERSION: u8 = 1;
/// Kind byte of the sparse encoding.
const SPARSE: u8 = 0;
/// Kind byte of the dense encoding.
const DENSE: u8 = 1;

/// A HyperLogLog sketch of distinct keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Sketch {
    repr: Repr,
}

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// Entries `bucket << 6 | rank`: the hash's first 25 bits and the rank
    /// of the bits after them; sorted, one per bucket (its highest rank).
    Sparse(Vec<u32>),
    /// The rank of each register.
    Dense(Box<[u8; REGISTERS]>),
}

/// Why bytes are not a sketch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No bytes, or fewer than the encoding needs.
    #[error("sketch truncated")]
    Truncated,
    /// A version this build does not know.
    #[error("unknown sketch version {0}")]
    Version(u8),
    /// Neither sparse nor dense.
    #[error("unknown sketch kind {0}")]
    Kind(u8),
    /// Bytes after the end of the sketch.
    #[error("{0} bytes after the sketch")]
    Trailing(usize),
    /// An entry or register out of range, or sparse entries out of order.
    #[error("invalid sketch: {0}")]
    Invalid(&'static str),
}

impl Default for Sketch {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Sketch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sketch")
            .field("sparse", &self.is_sparse())
            .field("estimate", &self.estimate())
            .finish()
    }
}

impl Sketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self {
            repr: Repr::Sparse(Vec::new()),
        }
    }

    /// A sketch of `keys`.
    pub fn of<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Self {
        let mut s = Self::new();
        s.extend(keys);
        s
    }

    /// Counts `key` in.
    pub fn insert(&mut self, key: impl AsRef<[u8]>) {
        self.insert_hash(hash64(key.as_ref()));
    }

    /// Counts in a key already hashed with [`hash64`].
    pub fn insert_hash(&mut self, hash: u64) {
        match &mut self.repr {
            Repr::Sparse(entries) => {
                let e = sparse_entry(hash);
                match entries.binary_search_by_key(&bucket(e), |x| bucket(*x)) {
                    Ok(i) => entries[i] = entries[i].max(e),
                    Err(i) => {
                        entries.insert(i, e);
                        if entries.len() > SPARSE_MAX {
                            self.densify();
                        }
                    }
                }
            }
            Repr::Dense(registers) => {
                let (i, rank) = dense_slot(hash);
                registers[i] = registers[i].max(rank);
            }
        }
    }

    /// Adds `other`'s keys: afterwards this is the sketch of the union.
    pub fn merge(&mut self, other: &Self) {
        match (&mut self.repr, &other.repr) {
            (Repr::Dense(mine), Repr::Dense(theirs)) => {
                for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                    *m = (*m).max(*t);
                }
            }
            (Repr::Dense(mine), Repr::Sparse(theirs)) => {
                for e in theirs {
                    let (i, rank) = dense_of_sparse(*e);
                    mine[i] = mine[i].max(rank);
                }
            }
            (Repr::Sparse(_), Repr::Dense(theirs)) => {
                let mut merged = Self {
                    repr: Repr::Dense(theirs.clone()),
                };
                merged.merge(self);
                *self = merged;
            }
            (Repr::Sparse(mine), Repr::Sparse(theirs)) => {
                if theirs.is_empty() {
                    return;
                }
                let mut out = Vec::with_capacity(mine.len() + theirs.len());
                let (mut i, mut j) = (0, 0);
                while i < mine.len() && j < theirs.len() {
                    let (x, y) = (mine[i], theirs[j]);
                    match bucket(x).cmp(&bucket(y)) {
                        std::cmp::Ordering::Less => {
                            out.push(x);
                            i += 1;
                        }
                        std::cmp::Ordering::Greater => {
                            out.push(y);
                            j += 1;
                        }
                        std::cmp::Ordering::Equal => {
                            out.push(x.max(y));
                            i += 1;
                            j += 1;
                        }
                    }
                }
                out.extend_from_slice(&mine[i..]);
                out.extend_from_slice(&theirs[j..]);
                *mine = out;
                if mine.len() > SPARSE_MAX {
                    self.densify();
                }
            }
        }
    }

    /// Whether no key was counted.
    pub fn is_empty(&self) -> bool {
        match &self.repr {
            Repr::Sparse(e) => e.is_empty(),
            Repr::Dense(r) => r.iter().all(|&x| x == 0),
        }
    }

    /// Whether the sketch is still in its sparse form.
    pub fn is_sparse(&self) -> bool {
        matches!(self.repr, Repr::Sparse(_))
    }

    /// The estimated number of distinct keys counted.
    pub fn estimate(&self) -> f64 {
        match &self.repr {
            Repr::Sparse(entries) => {
                // Linear counting over the 2^25 sparse buckets: exact
                // unless two keys share a bucket, and corrected for the
                // expected number that do.
                let m = f64::from(1u32 << SPARSE_PRECISION);
                let empty = m - entries.len() as f64;
                m * (m / empty).ln()
            }
            Repr::Dense(registers) => {
                let mut counts = [0u32; MAX_RANK as usize + 1];
                for &r in registers.iter() {
                    counts[usize::from(r)] += 1;
                }
                ertl_estimate(&counts)
            }
        }
    }

    /// [`Sketch::estimate`] rounded to a whole number of people.
    pub fn count(&self) -> i64 {
        // An estimate is at most about 2^64 (every register at its highest
        // rank); `as` saturates.
        self.estimate().round() as i64
    }

    /// The stored form: a version byte, a kind byte, then either the sparse
    /// entries (their number and each one's distance from the previous, as
    /// LEB128 varints) or the dense registers (6 bits each, packed).
    pub fn encode(&self) -> Vec<u8> {
        match &self.repr {
            Repr::Sparse(entries) => {
                let mut out = Vec::with_capacity(3 + entries.len() * 3);
                out.extend([VERSION, SPARSE]);
                put_varint(&mut out, entries.len() as u64);
                let mut prev = 0;
                for &e in entries {
                    put_varint(&mut out, u64::from(e - prev));
                    prev = e;
                }
                out
            }
            Repr::Dense(registers) => {
                let mut out = Vec::with_capacity(2 + DENSE_BYTES);
                out.extend([VERSION, DENSE]);
                for four in registers.chunks_exact(4) {
                    let v = u32::from(four[0]) << 18
                        | u32::from(four[1]) << 12
                        | u32::from(four[2]) << 6
                        | u32::from(four[3]);
                    out.extend(&v.to_be_bytes()[1..]);
                }
                out
            }
        }
    }

    /// Reads a sketch [`Sketch::encode`] wrote, refusing anything else.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let [version, kind, body @ ..] = bytes else {
            return Err(DecodeError::Truncated);
        };
        if *version != VERSION {
            return Err(DecodeError::Version(*version));
        }
        match *kind {
            SPARSE => {
                let mut rest = body;
                let n = take_varint(&mut rest)?;
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= SPARSE_MAX)
                    .ok_or(DecodeError::Invalid("too many sparse entries"))?;
                let mut entries = Vec::with_capacity(n);
                let mut prev: u64 = 0;
                for _ in 0..n {
                    let e = prev
                        .checked_add(take_varint(&mut rest)?)
                        .and_then(|e| u32::try_from(e).ok())
                        .filter(|e| e >> (SPARSE_PRECISION + RANK_BITS) == 0)
                        .ok_or(DecodeError::Invalid("sparse entry out of range"))?;
                    let rank = e & ((1 << RANK_BITS) - 1);
                    if rank == 0 || rank > MAX_SPARSE_RANK {
                        return Err(DecodeError::Invalid("sparse rank out of range"));
                    }
                    if entries.last().is_some_and(|p| bucket(*p) >= bucket(e)) {
                        return Err(DecodeError::Invalid("sparse entries out of order"));
                    }
                    entries.push(e);
                    prev = u64::from(e);
                }
                if !rest.is_empty() {
                    return Err(DecodeError::Trailing(rest.len()));
                }
                Ok(Self {
                    repr: Repr::Sparse(entries),
                })
            }
            DENSE => {
                if body.len() < DENSE_BYTES {
                    return Err(DecodeError::Truncated);
                }
                if body.len() > DENSE_BYTES {
                    return Err(DecodeError::Trailing(body.len() - DENSE_BYTES));
                }
                let mut registers = Box::new([0u8; REGISTERS]);
                for (four, three) in registers.chunks_exact_mut(4).zip(body.chunks_exact(3)) {
                    let v = u32::from_be_bytes([0, three[0], three[1], three[2]]);
                    for (i, r) in four.iter_mut().enumerate() {
                        // Masked to 6 bits: fits.
                        *r = ((v >> (18 - 6 * i)) & 0x3f) as u8;
                        if *r > MAX_RANK {
                            return Err(DecodeError::Invalid("dense rank out of range"));
                        }
                    }
                }
                Ok(Self {
                    repr: Repr::Dense(registers),
                })
            }
            other => Err(DecodeError::Kind(other)),
        }
    }

    fn densify(&mut self) {
        if let Repr::Sparse(entries) = &self.repr {
            let mut registers = Box::new([0u8; REGISTERS]);
            for e in entries {
                let (i, rank) = dense_of_sparse(*e);
                registers[i] = registers[i].max(rank);
            }
            self.repr = Repr::Dense(registers);
        }
    }
}

impl<K: AsRef<[u8]>> Extend<K> for Sketch {
    fn extend<I: IntoIterator<Item = K>>(&mut self, keys: I) {
        for k in keys {
            self.insert(k);
        }
    }
}

/// A sparse entry's bucket (the hash's first 25 bits).
fn bucket(entry: u32) -> u32 {
    entry >> RANK_BITS
}

/// The sparse entry of `hash`: its bucket, and the rank (leading zeros
/// plus one) of the 39 bits after it.
fn sparse_entry(hash: u64) -> u32 {
    // The top 25 bits: fits.
    let b = (hash >> (64 - SPARSE_PRECISION)) as u32;
    let rank = (hash << SPARSE_PRECISION)
        .leading_zeros()
        .min(MAX_SPARSE_RANK - 1)
        + 1;
    b << RANK_BITS | rank
}

/// The dense register of `hash` and its rank there.
fn dense_slot(hash: u64) -> (usize, u8) {
    let i = (hash >> (64 - PRECISION)) as usize;
    // At most 51: fits.
    let rank = ((hash << PRECISION)
        .leading_zeros()
        .min(u32::from(MAX_RANK) - 1)
        + 1) as u8;
    (i, rank)
}

/// The dense register and rank of the hashes a sparse entry stands for:
/// exactly what [`dense_slot`] gives for them.
fn dense_of_sparse(entry: u32) -> (usize, u8) {
    let b = bucket(entry);
    let between = SPARSE_PRECISION - PRECISION;
    let i = (b >> between) as usize;
    let low = b & ((1 << between) - 1);
    let rank = if low == 0 {
        between + (entry & ((1 << RANK_BITS) - 1))
    } else {
        (low << (32 - between)).leading_zeros() + 1
    };
    // At most 11 + 40 = 51: fits.
    (i, rank as u8)
}

/// Ertl's improved raw estimate from the histogram of register values
/// (`counts[k]` registers hold `k`).
fn ertl_estimate(counts: &[u32]) -> f64 {
    let m = f64::from(counts.iter().sum::<u32>());
    let q = counts.len() - 2;
    let mut z = m * tau(1.0 - f64::from(counts[q + 1]) / m);
    for k in (1..=q).rev() {
        z = 0.5 * (z + f64::from(counts[k]));
    }
    z += m * sigma(f64::from(counts[0]) / m);
    m * m / (2.0 * std::f64::consts::LN_2 * z)
}

/// σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1): the share of empty registers'
/// contribution (infinite when every register is empty: the estimate is 0).
fn sigma(x: f64) -> f64 {
    if x >= 1.0 {
        return f64::INFINITY;
    }
    let (mut x, mut y, mut z) = (x, 1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3: the correction for
/// registers at the highest rank.
fn tau(x: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        return 0.0;
    }
    let (mut x, mut y, mut z) = (x, 1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // The low 7 bits, with the continuation bit.
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let [b, rest @ ..] = *bytes else {
            return Err(DecodeError::Truncated);
        };
        *bytes = rest;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return Err(DecodeError::Invalid("varint overflows"));
        }
        v |= part << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(DecodeError::Invalid("varint too long"))
}

const P1: u64 = 0x9e37_79b9_7f4a_7c15;
const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
const P3: u64 = 0x1656_67b1_9e37_79f9;

/// A 64-bit hash of `bytes`, the same on every platform and release: eight
/// bytes at a time folded in with multiply-rotate rounds, the length and
/// the tail mixed in, then a full avalanche (MurmurHash3's 64-bit
/// finalizer), so every input bit moves every output bit.
pub fn hash64(bytes: &[u8]) -> u64 {
    let round = |h: u64, word: u64| {
        (h ^ word.wrapping_mul(P2).rotate_left(31).wrapping_mul(P1))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P3)
    };
    let mut h = P3 ^ (bytes.len() as u64).wrapping_mul(P1);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = round(h, u64::from_le_bytes(b));
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut b = [0u8; 8];
        b[..tail.len()].copy_from_slice(tail);
        h = round(h, u64::from_le_bytes(b));
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests;
