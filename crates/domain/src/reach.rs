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
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn users(range: std::ops::Range<u32>) -> Sketch {
        Sketch::of(range.map(|i| format!("user-{i}")))
    }

    fn relative_error(s: &Sketch, n: f64) -> f64 {
        (s.estimate() - n).abs() / n
    }

    #[test]
    fn small_sets_are_exact() {
        assert_eq!(Sketch::new().count(), 0);
        assert!(Sketch::new().is_empty());
        let s = Sketch::of(["u1", "u2", "u3", "u1", "u2"]);
        assert_eq!(s.count(), 3);
        for n in [1, 2, 10, 100, 1000, SPARSE_MAX as u32] {
            assert_eq!(users(0..n).count(), i64::from(n), "{n} users");
        }
    }

    #[test]
    fn large_sets_are_within_two_percent() {
        let s = users(0..100_000);
        assert!(!s.is_sparse());
        let e = relative_error(&s, 100_000.0);
        assert!(e < 0.02, "100k: relative error {e}");
        // Across the range where raw HyperLogLog is biased (around 2.5 and
        // 5 times the registers) and beyond.
        for n in [5_000u32, 20_000, 41_000, 82_000, 300_000, 1_000_000] {
            let e = relative_error(&users(0..n), f64::from(n));
            assert!(e < 0.03, "{n}: relative error {e}");
        }
    }

    #[test]
    fn the_error_is_the_standard_error_of_2_pow_14_registers() {
        // 1.04 / sqrt(16384) = 0.81%: over independent sets of 100k people
        // the root mean square error stays near it and no set is far off.
        let (mut sq, mut worst) = (0.0, 0.0f64);
        for t in 0..10 {
            let s = Sketch::of((0..100_000).map(|i| format!("t{t}-user-{i}")));
            let e = relative_error(&s, 100_000.0);
            sq += e * e;
            worst = worst.max(e);
        }
        let rmse = (sq / 10.0f64).sqrt();
        assert!(rmse < 0.012, "rmse {rmse}");
        assert!(worst < 0.03, "worst {worst}");
    }

    #[test]
    fn merge_is_the_union() {
        let (a, b) = (users(0..60_000), users(40_000..100_000));
        let mut ab = a.clone();
        ab.merge(&b);
        assert_eq!(ab, users(0..100_000), "union of registers");
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        // Sparse with sparse stays exact; sparse into dense and dense into
        // sparse give the sketch of the union.
        let mut small = users(0..50);
        small.merge(&users(25..80));
        assert!(small.is_sparse());
        assert_eq!(small.count(), 80);
        assert_eq!(small, users(0..80));
        let mut dense = users(0..10_000);
        dense.merge(&users(9_990..10_010));
        assert_eq!(dense, users(0..10_010));
        let mut sparse = users(9_990..10_010);
        sparse.merge(&users(0..10_000));
        assert_eq!(sparse, users(0..10_010));
        let mut same = users(0..10);
        same.merge(&Sketch::new());
        assert_eq!(same, users(0..10));
    }

    #[test]
    fn sparse_turns_dense_past_its_limit_and_estimates_agree() {
        let mut s = users(0..SPARSE_MAX as u32);
        assert!(s.is_sparse());
        let sparse_len = s.encode().len();
        assert!(sparse_len < DENSE_BYTES, "{sparse_len} bytes sparse");
        s.insert("one more");
        assert!(!s.is_sparse());
        assert_eq!(s.encode().len(), 2 + DENSE_BYTES);
        // The dense registers are exactly those of the same keys inserted
        // straight into a dense sketch.
        let mut direct = Sketch {
            repr: Repr::Dense(Box::new([0; REGISTERS])),
        };
        for i in 0..SPARSE_MAX as u32 {
            direct.insert(format!("user-{i}"));
        }
        direct.insert("one more");
        assert_eq!(s, direct);
        let e = relative_error(&s, SPARSE_MAX as f64 + 1.0);
        assert!(e < 0.02, "just dense: relative error {e}");
        // A few people take a few bytes.
        assert!(Sketch::of(["u1", "u2", "u3"]).encode().len() <= 3 + 3 * 5);
        assert_eq!(Sketch::new().encode(), [VERSION, SPARSE, 0]);
    }

    #[test]
    fn encoding_round_trips() {
        for s in [
            Sketch::new(),
            users(0..1),
            users(0..700),
            users(0..SPARSE_MAX as u32),
            users(0..50_000),
        ] {
            assert_eq!(Sketch::decode(&s.encode()), Ok(s.clone()));
        }
    }

    #[test]
    fn malformed_bytes_are_refused() {
        let sparse = users(0..5).encode();
        let dense = users(0..5_000).encode();
        assert_eq!(Sketch::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(Sketch::decode(&[VERSION]), Err(DecodeError::Truncated));
        assert_eq!(Sketch::decode(&[9, 0, 0]), Err(DecodeError::Version(9)));
        assert_eq!(Sketch::decode(&[VERSION, 7]), Err(DecodeError::Kind(7)));
        assert_eq!(
            Sketch::decode(&sparse[..sparse.len() - 1]),
            Err(DecodeError::Truncated)
        );
        let mut long = sparse.clone();
        long.push(0);
        assert_eq!(Sketch::decode(&long), Err(DecodeError::Trailing(1)));
        assert_eq!(
            Sketch::decode(&dense[..dense.len() - 1]),
            Err(DecodeError::Truncated)
        );
        let mut long = dense.clone();
        long.push(0);
        assert_eq!(Sketch::decode(&long), Err(DecodeError::Trailing(1)));
        // Rank 0, a rank above 40, a bucket past 25 bits, a repeated bucket.
        for entries in [
            vec![1 << RANK_BITS],
            vec![1 << RANK_BITS | 41],
            vec![1 << 31 | 1],
            vec![5 << RANK_BITS | 1, 2],
        ] {
            let mut b = vec![VERSION, SPARSE];
            put_varint(&mut b, entries.len() as u64);
            for e in entries {
                put_varint(&mut b, e);
            }
            assert!(
                matches!(Sketch::decode(&b), Err(DecodeError::Invalid(_))),
                "{b:?}"
            );
        }
        // More entries than a sparse sketch holds.
        let mut b = vec![VERSION, SPARSE];
        put_varint(&mut b, SPARSE_MAX as u64 + 1);
        assert!(matches!(Sketch::decode(&b), Err(DecodeError::Invalid(_))));
        // A varint that never ends.
        assert!(matches!(
            Sketch::decode(&[
                VERSION, SPARSE, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ]),
            Err(DecodeError::Invalid(_))
        ));
        // A dense register above rank 51.
        let mut bad = dense.clone();
        bad[2] = 0xff;
        assert!(matches!(Sketch::decode(&bad), Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn the_hash_is_stable_and_spreads() {
        // Fixed values: stored sketches depend on them never changing.
        assert_ne!(hash64(b"a"), hash64(b"a\0"));
        assert_ne!(hash64(b"user-1"), hash64(b"user-2"));
        let pinned = [
            hash64(b""),
            hash64(b"u1"),
            hash64(b"a much longer user key 123"),
        ];
        assert_eq!(pinned, PINNED);
        // Each input bit flips about half the output bits.
        let base = hash64(b"device-0000");
        let mut flips = 0;
        for byte in 0..11 {
            for bit in 0..8 {
                let mut k = *b"device-0000";
                k[byte] ^= 1 << bit;
                flips += (hash64(&k) ^ base).count_ones();
            }
        }
        let mean = f64::from(flips) / 88.0;
        assert!((28.0..36.0).contains(&mean), "mean flipped bits {mean}");
    }

    const PINNED: [u64; 3] = [
        17_622_645_311_363_874_476,
        6_317_349_534_108_900_645,
        2_469_451_119_170_763_628,
    ];

    proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Sketch::decode(&bytes);
        }

        #[test]
        fn any_sketch_round_trips_and_merges_like_the_union(
            a in proptest::collection::vec(any::<u64>(), 0..200),
            b in proptest::collection::vec(any::<u64>(), 0..200),
        ) {
            let sa = Sketch::of(a.iter().map(|x| x.to_le_bytes()));
            let sb = Sketch::of(b.iter().map(|x| x.to_le_bytes()));
            prop_assert_eq!(Sketch::decode(&sa.encode()), Ok(sa.clone()));
            let mut u = sa.clone();
            u.merge(&sb);
            prop_assert_eq!(u, Sketch::of(a.iter().chain(&b).map(|x| x.to_le_bytes())));
        }
    }
}
