//! The exact in-memory store: counts per (key, calendar window), or the
//! times of the impressions in a rolling window. One lock per store makes
//! each reservation a single step.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::{Decision, Window};

enum Entry {
    Calendar { end: DateTime<Utc>, count: u32 },
    Rolling(VecDeque<DateTime<Utc>>),
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Reservations since the last sweep of ended windows.
    since_sweep: u32,
}

/// Exact counters in this process (embedded mode, tests).
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(key: &str, window: &Window) -> String {
        if window.rolling {
            key.to_owned()
        } else {
            format!("{key}|{}", window.id())
        }
    }

    /// Reserves one impression of `key` in `window` if fewer than `cap`
    /// were counted there.
    pub fn reserve(&self, key: &str, cap: u32, window: &Window, now: DateTime<Utc>) -> Decision {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.since_sweep += 1;
        if inner.since_sweep >= 4096 {
            inner.since_sweep = 0;
            inner.entries.retain(|_, e| match e {
                Entry::Calendar { end, .. } => *end > now,
                Entry::Rolling(times) => times
                    .back()
                    .is_some_and(|t| *t > now - chrono::Duration::weeks(1)),
            });
        }
        let entry = inner
            .entries
            .entry(Self::key(key, window))
            .or_insert_with(|| {
                if window.rolling {
                    Entry::Rolling(VecDeque::new())
                } else {
                    Entry::Calendar {
                        end: window.end,
                        count: 0,
                    }
                }
            });
        match entry {
            Entry::Calendar { count, .. } => {
                if *count >= cap {
                    Decision {
                        allow: false,
                        count: *count,
                    }
                } else {
                    *count += 1;
                    Decision {
                        allow: true,
                        count: *count,
                    }
                }
            }
            Entry::Rolling(times) => {
                while times.front().is_some_and(|t| *t <= window.start) {
                    times.pop_front();
                }
                let n = u32::try_from(times.len()).unwrap_or(u32::MAX);
                if n >= cap {
                    Decision {
                        allow: false,
                        count: n,
                    }
                } else {
                    times.push_back(now);
                    Decision {
                        allow: true,
                        count: n + 1,
                    }
                }
            }
        }
    }

    /// Gives back one reservation of `key` in `window` (an impression
    /// reserved but not served).
    pub fn release(&self, key: &str, window: &Window) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match inner.entries.get_mut(&Self::key(key, window)) {
            Some(Entry::Calendar { count, .. }) => *count = count.saturating_sub(1),
            Some(Entry::Rolling(times)) => {
                times.pop_back();
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use adpulse_domain::targeting::{CapPeriod, CapWindow};

    use super::*;

    #[test]
    fn concurrent_reservations_never_exceed_the_cap() {
        let store = Arc::new(MemoryStore::new());
        let now = Utc::now();
        let window = Window::at(now, CapPeriod::Day, CapWindow::Calendar, chrono_tz::UTC);
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|_| store.reserve("person|campaign", 5, &window, now).allow)
                        .count()
                })
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|t| t.join().expect("join")).sum();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn windows_reset_counts_and_release_gives_one_back() {
        let store = MemoryStore::new();
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("t")
            .with_timezone(&Utc);
        let day = |t| Window::at(t, CapPeriod::Day, CapWindow::Calendar, chrono_tz::UTC);
        assert!(store.reserve("k", 1, &day(t0), t0).allow);
        assert!(!store.reserve("k", 1, &day(t0), t0).allow);
        store.release("k", &day(t0));
        assert!(store.reserve("k", 1, &day(t0), t0).allow);
        let tomorrow = t0 + chrono::Duration::days(1);
        assert!(store.reserve("k", 1, &day(tomorrow), tomorrow).allow);
    }

    #[test]
    fn rolling_windows_forget_impressions_older_than_the_period() {
        let store = MemoryStore::new();
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("t")
            .with_timezone(&Utc);
        let hour = |t| Window::at(t, CapPeriod::Hour, CapWindow::Rolling, chrono_tz::UTC);
        assert!(store.reserve("k", 2, &hour(t0), t0).allow);
        let t1 = t0 + chrono::Duration::minutes(30);
        assert!(store.reserve("k", 2, &hour(t1), t1).allow);
        let t2 = t0 + chrono::Duration::minutes(59);
        assert!(!store.reserve("k", 2, &hour(t2), t2).allow);
        let t3 = t0 + chrono::Duration::minutes(61);
        assert_eq!(
            store.reserve("k", 2, &hour(t3), t3).count,
            2,
            "the first left the window"
        );
    }
}
