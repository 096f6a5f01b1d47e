//! A count-min sketch for capping when memory must stay bounded: counters
//! may only overestimate, so the sketch can deny an impression a person
//! was still allowed (over-cap) but never allow one past the cap.
//!
//! Conservative update (on an increment, raise each row's counter only up
//! to the new minimum) keeps the overestimates small. One sketch per
//! calendar window, dropped when the window ends: a day's counts never
//! leak into the next day. Rolling windows need an exact store.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::{Decision, Window};

/// How big a sketch is: `depth` rows of `width` 16-bit counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SketchSize {
    /// Rows (independent hashes).
    pub depth: usize,
    /// Counters per row.
    pub width: usize,
}

impl SketchSize {
    /// The smallest sketch whose over-cap rate stays under `rate` with
    /// `pairs` active (person, campaign) pairs in one window.
    ///
    /// A pair can be over-capped only if, in every row, its counter is
    /// shared with at least one other active pair; with `w` counters per
    /// row that happens with probability `1 - e^(-pairs / w)` per row, so
    /// the over-cap rate is at most `(1 - e^(-pairs / w))^depth`. The depth
    /// that needs the fewest counters for the target is chosen.
    pub fn for_pairs(pairs: u64, rate: f64) -> Self {
        let rate = rate.clamp(1e-9, 0.5);
        let n = pairs.max(1) as f64;
        (1..=12usize)
            .map(|depth| {
                let per_row = rate.powf(1.0 / depth as f64);
                let load = -(1.0 - per_row).ln();
                let width = (n / load).ceil().max(1.0) as usize;
                Self { depth, width }
            })
            .min_by_key(|s| s.depth * s.width)
            .unwrap_or(Self { depth: 4, width: 1 })
    }

    /// Bytes of counters.
    pub fn bytes(&self) -> u64 {
        (self.depth * self.width * 2) as u64
    }

    /// The over-cap rate this size promises at `pairs` active pairs.
    pub fn over_cap_bound(&self, pairs: u64) -> f64 {
        (1.0 - (-(pairs as f64) / self.width as f64).exp()).powi(self.depth as i32)
    }
}

/// One count-min sketch.
pub struct CountMin {
    size: SketchSize,
    cells: Vec<u16>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl CountMin {
    /// An empty sketch.
    pub fn new(size: SketchSize) -> Self {
        Self {
            size,
            cells: vec![0; size.depth * size.width],
        }
    }

    fn slots(&self, item: &[u8]) -> impl Iterator<Item = usize> + '_ {
        let h1 = mix(fnv1a(item));
        let h2 = mix(h1 ^ 0x9e37_79b9_7f4a_7c15) | 1;
        let width = self.size.width as u64;
        (0..self.size.depth).map(move |row| {
            let col = h1.wrapping_add((row as u64).wrapping_mul(h2)) % width;
            row * self.size.width + col as usize
        })
    }

    /// The estimate: never below the true count.
    pub fn estimate(&self, item: &[u8]) -> u32 {
        self.slots(item)
            .map(|i| u32::from(self.cells[i]))
            .min()
            .unwrap_or(0)
    }

    /// Counts one more of `item` if its estimate is below `cap`. Counters
    /// are 16 bits: a cap above [`u16::MAX`] is held at it (a counter that
    /// stopped growing would otherwise allow without end).
    pub fn reserve(&mut self, item: &[u8], cap: u32) -> Decision {
        let estimate = self.estimate(item);
        if estimate >= cap.min(u32::from(u16::MAX)) {
            return Decision {
                allow: false,
                count: estimate,
            };
        }
        let target = u16::try_from(estimate + 1).unwrap_or(u16::MAX);
        let slots: Vec<usize> = self.slots(item).collect();
        for i in slots {
            if self.cells[i] < target {
                self.cells[i] = target;
            }
        }
        Decision {
            allow: true,
            count: estimate + 1,
        }
    }
}

/// Sketches per calendar window, created on first use and dropped once
/// their window has ended.
pub struct SketchStore {
    size: SketchSize,
    sketches: Mutex<HashMap<(i64, i64), CountMin>>,
}

/// The sketch store only counts calendar windows.
#[derive(Debug, thiserror::Error)]
#[error("rolling windows need an exact store (redis or memory), not the sketch")]
pub struct RollingUnsupported;

impl SketchStore {
    /// Sketches of `size`, one per live window.
    pub fn new(size: SketchSize) -> Self {
        Self {
            size,
            sketches: Mutex::new(HashMap::new()),
        }
    }

    /// The size of each sketch.
    pub fn size(&self) -> SketchSize {
        self.size
    }

    /// Reserves one impression of `key` in `window` if fewer than `cap`
    /// were counted (atomically: the store is locked for the step).
    pub fn reserve(
        &self,
        key: &str,
        cap: u32,
        window: &Window,
        now: DateTime<Utc>,
    ) -> Result<Decision, RollingUnsupported> {
        if window.rolling {
            return Err(RollingUnsupported);
        }
        let mut sketches = self.sketches.lock().unwrap_or_else(PoisonError::into_inner);
        let now_s = now.timestamp();
        sketches.retain(|(_, end), _| *end > now_s);
        let sketch = sketches
            .entry((window.start.timestamp(), window.end.timestamp()))
            .or_insert_with(|| CountMin::new(self.size));
        Ok(sketch.reserve(key.as_bytes(), cap))
    }

    /// Bytes held by the live sketches.
    pub fn bytes(&self) -> u64 {
        let n = self
            .sketches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        self.size.bytes() * n as u64
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sizing_meets_its_bound_and_costs_about_twenty_bytes_per_pair_at_one_percent() {
        let size = SketchSize::for_pairs(50_000_000, 0.01);
        assert!(size.over_cap_bound(50_000_000) <= 0.01, "{size:?}");
        let per_pair = size.bytes() as f64 / 50_000_000.0;
        assert!(per_pair < 21.0, "{per_pair} bytes per pair ({size:?})");
    }

    #[test]
    fn the_measured_over_cap_rate_is_within_target() {
        // 20,000 pairs, cap 3, each reserving until refused: a refusal
        // before the third impression is an over-cap.
        let pairs = 20_000;
        let size = SketchSize::for_pairs(pairs, 0.01);
        let mut sketch = CountMin::new(size);
        let mut overcapped = 0;
        for round in 0..3 {
            for p in 0..pairs {
                let d = sketch.reserve(format!("person-{p}|campaign").as_bytes(), 3);
                if !d.allow {
                    overcapped += 1;
                    let _ = round;
                }
            }
        }
        let rate = f64::from(overcapped) / (pairs as f64 * 3.0);
        assert!(rate <= 0.01, "over-cap rate {rate}");
    }

    #[test]
    fn a_cap_beyond_the_counters_width_still_stops() {
        let mut sketch = CountMin::new(SketchSize { depth: 2, width: 8 });
        let allowed = (0..70_000)
            .filter(|_| sketch.reserve(b"k", u32::MAX).allow)
            .count();
        assert_eq!(allowed, usize::from(u16::MAX));
    }

    proptest! {
        #[test]
        fn never_allows_past_the_cap(
            ops in proptest::collection::vec((0u32..200, 1u32..5), 1..2_000),
            width in 1usize..64,
        ) {
            // A deliberately tiny sketch: collisions everywhere.
            let mut sketch = CountMin::new(SketchSize { depth: 3, width });
            let mut allowed: HashMap<u32, u32> = HashMap::new();
            let mut caps: HashMap<u32, u32> = HashMap::new();
            for (key, cap) in ops {
                let cap = *caps.entry(key).or_insert(cap);
                if sketch.reserve(&key.to_le_bytes(), cap).allow {
                    *allowed.entry(key).or_default() += 1;
                }
                prop_assert!(allowed.get(&key).copied().unwrap_or(0) <= cap);
                prop_assert!(sketch.estimate(&key.to_le_bytes()) >= allowed.get(&key).copied().unwrap_or(0));
            }
        }
    }
}
