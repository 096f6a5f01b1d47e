//! Which partition a key lands on, in every event log adpulse runs on.
//!
//! Kafka's Java client places a keyed record on
//! `(murmur2(key) & 0x7fffffff) % partitions`. adpulse configures librdkafka's
//! `murmur2_random` partitioner, which computes the same, so every Kafka tool
//! and client agrees on where a campaign's events are; the embedded log
//! places keys with the same function, so a campaign has the same partition
//! in both modes. Workers use it to know which partition owns a campaign.

/// Kafka's 32-bit murmur2 (seed `0x9747b28c`), as the Java client computes it.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    let len = data.len();
    // Java casts the length to int; keys are far below 4 GiB.
    let mut h = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate().rev() {
            h ^= u32::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of `key` among `partitions` (which must be positive).
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed by the Java client's `Utils.murmur2` (Kafka 4.x).
    #[test]
    fn matches_the_java_client() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), want, "{}", String::from_utf8_lossy(key));
        }
    }

    /// `Utils.toPositive(Utils.murmur2(key)) % 12` in the Java client.
    #[test]
    fn places_the_design_example_like_the_java_client() {
        assert_eq!(
            partition_for(b"6c0a3f8e-0d7e-4a43-b8e5-6f0c2a9d1b77", 12),
            9
        );
    }

    #[test]
    fn partitions_are_in_range() {
        for i in 0..1000 {
            let p = partition_for(format!("key-{i}").as_bytes(), 12);
            assert!((0..12).contains(&p));
        }
        assert_eq!(partition_for(b"anything", 1), 0);
    }
}
