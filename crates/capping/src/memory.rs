//! The exact in-memory store: per person, counts per (counter, calendar
//! window), or the times of the impressions in a rolling window. One lock
//! per store makes each reservation, and each merge of two people, a
//! single step.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::{Decision, Window};

#[derive(Clone)]
enum Entry {
    Calendar { end: DateTime<Utc>, count: u32 },
    Rolling(VecDeque<DateTime<Utc>>),
}

impl Entry {
    fn live(&self, now: DateTime<Utc>) -> bool {
        match self {
            Self::Calendar { end, .. } => *end > now,
            Self::Rolling(times) => times
                .back()
                .is_some_and(|t| *t > now - chrono::Duration::weeks(1)),
        }
    }
}

#[derive(Default)]
struct Inner {
    /// person → (counter and window) → entry.
    people: HashMap<String, HashMap<String, Entry>>,
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

    fn key(counter: &str, window: &Window) -> String {
        if window.rolling {
            counter.to_owned()
        } else {
            format!("{counter}|{}", window.id())
        }
    }

    /// Reserves one impression of `person`'s `counter` in `window` if
    /// fewer than `cap` were counted there.
    pub fn reserve(
        &self,
        person: &str,
        counter: &str,
        cap: u32,
        window: &Window,
        now: DateTime<Utc>,
    ) -> Decision {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.since_sweep += 1;
        if inner.since_sweep >= 4096 {
            inner.since_sweep = 0;
            inner.people.retain(|_, entries| {
                entries.retain(|_, e| e.live(now));
                !entries.is_empty()
            });
        }
        let entry = inner
            .people
            .entry(person.to_owned())
            .or_default()
            .entry(Self::key(counter, window))
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

    /// Gives back one reservation of `person`'s `counter` in `window` (an
    /// impression reserved but not served).
    pub fn release(&self, person: &str, counter: &str, window: &Window) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = inner
            .people
            .get_mut(person)
            .and_then(|e| e.get_mut(&Self::key(counter, window)));
        match entry {
            Some(Entry::Calendar { count, .. }) => *count = count.saturating_sub(1),
            Some(Entry::Rolling(times)) => {
                times.pop_back();
            }
            None => {}
        }
    }

    /// Adds everything counted under `from` to `into` and forgets `from`
    /// (two ids found to be one person).
    pub fn merge(&self, from: &str, into: &str, now: DateTime<Utc>) {
        if from == into {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(moved) = inner.people.remove(from) else {
            return;
        };
        let target = inner.people.entry(into.to_owned()).or_default();
        for (key, entry) in moved.into_iter().filter(|(_, e)| e.live(now)) {
            match (target.get_mut(&key), entry) {
                (Some(Entry::Calendar { count, .. }), Entry::Calendar { count: n, .. }) => {
                    *count = count.saturating_add(n);
                }
                (Some(Entry::Rolling(times)), Entry::Rolling(more)) => {
                    times.extend(more);
                    times.make_contiguous().sort_unstable();
                }
                (_, entry) => {
                    target.insert(key, entry);
                }
            }
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
                        .filter(|_| store.reserve("person", "campaign", 5, &window, now).allow)
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
        assert!(store.reserve("p", "k", 1, &day(t0), t0).allow);
        assert!(!store.reserve("p", "k", 1, &day(t0), t0).allow);
        store.release("p", "k", &day(t0));
        assert!(store.reserve("p", "k", 1, &day(t0), t0).allow);
        let tomorrow = t0 + chrono::Duration::days(1);
        assert!(store.reserve("p", "k", 1, &day(tomorrow), tomorrow).allow);
    }

    #[test]
    fn rolling_windows_forget_impressions_older_than_the_period() {
        let store = MemoryStore::new();
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("t")
            .with_timezone(&Utc);
        let hour = |t| Window::at(t, CapPeriod::Hour, CapWindow::Rolling, chrono_tz::UTC);
        assert!(store.reserve("p", "k", 2, &hour(t0), t0).allow);
        let t1 = t0 + chrono::Duration::minutes(30);
        assert!(store.reserve("p", "k", 2, &hour(t1), t1).allow);
        let t2 = t0 + chrono::Duration::minutes(59);
        assert!(!store.reserve("p", "k", 2, &hour(t2), t2).allow);
        let t3 = t0 + chrono::Duration::minutes(61);
        assert_eq!(
            store.reserve("p", "k", 2, &hour(t3), t3).count,
            2,
            "the first left the window"
        );
    }

    #[test]
    fn merging_two_ids_of_one_person_adds_their_counts() {
        let store = MemoryStore::new();
        let now = Utc::now();
        let day = Window::at(now, CapPeriod::Day, CapWindow::Calendar, chrono_tz::UTC);
        for _ in 0..2 {
            assert!(store.reserve("d:laptop", "c", 3, &day, now).allow);
        }
        assert!(store.reserve("l:u", "c", 3, &day, now).allow);
        store.merge("d:laptop", "l:u", now);
        assert_eq!(store.reserve("l:u", "c", 3, &day, now).count, 3);
        assert!(!store.reserve("l:u", "c", 3, &day, now).allow);
        assert_eq!(store.reserve("d:laptop", "c", 3, &day, now).count, 1);
    }
}
