//! The life of one rule on one campaign, as in Prometheus: a condition
//! that starts to hold is *pending*; once it has held for the rule's `for`
//! duration it is *firing*; when it stops holding, it *resolves*. The
//! evaluator persists this state with every transition (in the same
//! transaction as the notification it causes), so a restarted evaluator
//! carries on where the last one stopped.
//!
//! Notifications: a firing notifies unless the rule notified a firing
//! less than `cooldown` ago (a flapping condition is told once per
//! cooldown); a resolution notifies only if its firing did.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Where a rule stands on a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Phase {
    /// The condition does not hold.
    Inactive,
    /// The condition holds since `since`, not yet for the `for` duration.
    Pending {
        /// When it started to hold.
        since: DateTime<Utc>,
    },
    /// The condition has held for the `for` duration.
    Firing {
        /// When it fired.
        since: DateTime<Utc>,
        /// Whether the firing was notified (not within a cooldown).
        notified: bool,
    },
}

/// A rule's state on one campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// The phase.
    #[serde(flatten)]
    pub phase: Phase,
    /// When a firing was last notified (cooldowns count from it).
    pub last_notified: Option<DateTime<Utc>>,
}

impl Default for AlertState {
    fn default() -> Self {
        Self {
            phase: Phase::Inactive,
            last_notified: None,
        }
    }
}

/// A change worth recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The rule fired; `notify` is false within the cooldown.
    Fired {
        /// Whether to notify.
        notify: bool,
    },
    /// The rule resolved; `notify` when its firing was notified.
    Resolved {
        /// Whether to notify.
        notify: bool,
    },
}

/// The timing of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long the condition must hold before firing.
    pub hold_for: TimeDelta,
    /// The least time between two notified firings.
    pub cooldown: TimeDelta,
}

impl AlertState {
    /// The state after the condition was found to hold (or not) at `now`,
    /// and the transition that caused, if any. `now` earlier than a
    /// recorded time (a clock step, an old sample) counts as that time.
    pub fn step(self, holds: bool, now: DateTime<Utc>, t: Timing) -> (Self, Option<Transition>) {
        let fire = |since: DateTime<Utc>| {
            let now = now.max(since);
            let notify = self
                .last_notified
                .is_none_or(|last| now.signed_duration_since(last) >= t.cooldown);
            let state = Self {
                phase: Phase::Firing {
                    since: now,
                    notified: notify,
                },
                last_notified: if notify {
                    Some(now)
                } else {
                    self.last_notified
                },
            };
            (state, Some(Transition::Fired { notify }))
        };
        match (self.phase, holds) {
            (Phase::Inactive, true) if t.hold_for <= TimeDelta::zero() => fire(now),
            (Phase::Inactive, true) => (
                Self {
                    phase: Phase::Pending { since: now },
                    ..self
                },
                None,
            ),
            (Phase::Pending { since }, true) if now.signed_duration_since(since) >= t.hold_for => {
                fire(since)
            }
            (Phase::Pending { .. } | Phase::Firing { .. }, true) | (Phase::Inactive, false) => {
                (self, None)
            }
            (Phase::Pending { .. }, false) => (
                Self {
                    phase: Phase::Inactive,
                    ..self
                },
                None,
            ),
            (Phase::Firing { notified, .. }, false) => (
                Self {
                    phase: Phase::Inactive,
                    ..self
                },
                Some(Transition::Resolved { notify: notified }),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).expect("time")
    }

    fn timing(hold: i64, cool: i64) -> Timing {
        Timing {
            hold_for: TimeDelta::seconds(hold),
            cooldown: TimeDelta::seconds(cool),
        }
    }

    /// Runs `steps` of (seconds, holds) and returns the transitions.
    fn run(t: Timing, steps: &[(i64, bool)]) -> Vec<(i64, Transition)> {
        let mut s = AlertState::default();
        let mut out = Vec::new();
        for &(sec, holds) in steps {
            let (next, tr) = s.step(holds, at(sec), t);
            s = next;
            out.extend(tr.map(|tr| (sec, tr)));
        }
        out
    }

    #[test]
    fn fires_at_once_without_a_for_duration() {
        assert_eq!(
            run(
                timing(0, 0),
                &[(0, false), (1, true), (2, true), (3, false)]
            ),
            [
                (1, Transition::Fired { notify: true }),
                (3, Transition::Resolved { notify: true })
            ]
        );
    }

    #[test]
    fn fires_only_after_holding_for_its_duration() {
        let t = timing(60, 0);
        // Held 59 s, then broke: never fired.
        assert_eq!(run(t, &[(0, true), (59, true), (60, false)]), []);
        // Held 60 s.
        assert_eq!(
            run(t, &[(0, true), (30, true), (60, true), (61, true)]),
            [(60, Transition::Fired { notify: true })]
        );
        // A break restarts the count.
        assert_eq!(
            run(t, &[(0, true), (30, false), (31, true), (89, true)]),
            []
        );
    }

    #[test]
    fn a_cooldown_silences_refirings_but_records_them() {
        let t = timing(0, 300);
        assert_eq!(
            run(
                t,
                &[
                    (0, true),
                    (10, false),
                    (20, true),
                    (30, false),
                    (300, true),
                    (301, false)
                ]
            ),
            [
                (0, Transition::Fired { notify: true }),
                (10, Transition::Resolved { notify: true }),
                // Within the cooldown: recorded, not notified, and so is
                // its resolution.
                (20, Transition::Fired { notify: false }),
                (30, Transition::Resolved { notify: false }),
                (300, Transition::Fired { notify: true }),
                (301, Transition::Resolved { notify: true }),
            ]
        );
    }

    #[test]
    fn states_survive_a_round_trip_through_json() {
        let (s, _) = AlertState::default().step(true, at(5), timing(0, 60));
        let json = serde_json::to_string(&s).expect("json");
        assert_eq!(
            json,
            r#"{"state":"firing","since":"2027-01-15T08:00:05Z","notified":true,"last_notified":"2027-01-15T08:00:05Z"}"#
        );
        assert_eq!(serde_json::from_str::<AlertState>(&json).expect("state"), s);
    }

    proptest! {
        /// Whatever the sequence, two notified firings are at least a
        /// cooldown apart, and firings and resolutions alternate.
        #[test]
        fn notified_firings_respect_the_cooldown(
            hold in 0_i64..30, cool in 0_i64..120,
            steps in proptest::collection::vec((0_i64..20, any::<bool>()), 1..80),
        ) {
            let mut now = 0;
            let timed: Vec<_> = steps.into_iter().map(|(dt, h)| { now += dt; (now, h) }).collect();
            let out = run(timing(hold, cool), &timed);
            let mut last: Option<i64> = None;
            let mut firing = false;
            for (sec, tr) in out {
                match tr {
                    Transition::Fired { notify } => {
                        prop_assert!(!firing);
                        firing = true;
                        if notify {
                            prop_assert!(last.is_none_or(|l| sec - l >= cool));
                            last = Some(sec);
                        }
                    }
                    Transition::Resolved { .. } => { prop_assert!(firing); firing = false; }
                }
            }
        }
    }
}
