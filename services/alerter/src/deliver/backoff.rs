//! When a failed delivery is tried again: exponential backoff with jitter
//! (each delay is half to all of `base · 2^(n-1)`, capped), so receivers
//! recovering from an outage are not hit by every sender at once.

use std::time::Duration;

/// The delay before attempt `next` (2 for the first retry), given the
/// base and the cap; `unit` in [0, 1) draws the jitter.
pub fn delay(next: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let exp = next.saturating_sub(2).min(30);
    let full = base.saturating_mul(1_u32 << exp).min(cap);
    full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let (b, c) = (Duration::from_secs(5), Duration::from_secs(3600));
        let full: Vec<_> = (2..=12).map(|n| delay(n, b, c, 1.0).as_secs()).collect();
        assert_eq!(full, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        assert_eq!(delay(2, b, c, 0.0), Duration::from_millis(2500));
    }

    proptest! {
        #[test]
        fn within_half_and_all_of_the_step(n in 2_u32..40, unit in 0.0_f64..1.0) {
            let (b, c) = (Duration::from_millis(100), Duration::from_secs(60));
            let d = delay(n, b, c, unit);
            let full = b.saturating_mul(1 << (n - 2).min(30)).min(c);
            prop_assert!(d >= full / 2 && d <= full);
        }
    }
}
