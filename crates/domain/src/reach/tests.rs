//! The sketch against exact counts: error bounds, merges, the encoding and
//! malformed input.

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
