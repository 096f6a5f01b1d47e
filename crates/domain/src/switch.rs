//! Kill switches: what an operator can turn off while the platform runs,
//! without a restart, and how every replica reads them.
//!
//! A switch is stored (one row per switch, `Switches` port) with who set
//! it and why; every change is also appended to an audit trail. Each
//! process reads the whole set every `ops.switch_poll_ms` (one small
//! read) into a [`Board`], which request paths consult without IO, so a
//! switch takes effect on every replica within the poll interval.
//!
//! - [`Switch::PauseIngest`]: one tenant's events are answered 503 with
//!   `Retry-After` (not accepted, so nothing acknowledged is lost: the
//!   sender retries);
//! - [`Switch::Capping`]: capping decisions answered without the counters'
//!   store, all allowed (fail-open) or all refused (fail-closed);
//! - [`Switch::PauseSink`]: the stream workers stop writing one sink (the
//!   live counters: skipped, and written again from the committed totals
//!   once cleared; events are still counted meanwhile);
//! - [`Switch::ReadOnlyApi`]: the API refuses every change (503), reads
//!   and logins still work.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::TenantId;

/// Capping decisions while the switch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CappingMode {
    /// Every impression allowed.
    FailOpen,
    /// Every impression refused.
    FailClosed,
}

/// A sink of the stream worker that can be paused. (The archive and the
/// store cannot: a flush commits them with the position, so holding
/// either holds consumption, which needs the partitions paused in the
/// consumer group; not built.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sink {
    /// Live counters and the live series (Redis).
    Live,
}

/// One kill switch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Switch {
    /// Refuse one tenant's events (503, `Retry-After`).
    PauseIngest {
        /// The tenant.
        #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
        tenant: TenantId,
    },
    /// Answer capping decisions without the counters' store.
    Capping {
        /// Allow or refuse every impression.
        mode: CappingMode,
    },
    /// Hold one of the stream worker's sinks.
    PauseSink {
        /// Which.
        sink: Sink,
    },
    /// Refuse every change through the API.
    ReadOnlyApi,
}

impl Switch {
    /// Its key: at most one switch per key is in force (setting capping
    /// fail-closed replaces fail-open).
    pub fn key(&self) -> String {
        match self {
            Self::PauseIngest { tenant } => format!("pause_ingest:{tenant}"),
            Self::Capping { .. } => "capping".to_owned(),
            Self::PauseSink { sink } => format!(
                "pause_sink:{}",
                match sink {
                    Sink::Live => "live",
                }
            ),
            Self::ReadOnlyApi => "read_only_api".to_owned(),
        }
    }
}

/// A switch in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SwitchRecord {
    /// The switch.
    pub switch: Switch,
    /// Who set it (as they said).
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub set_at: DateTime<Utc>,
}

/// What happened to a switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SwitchAction {
    /// Turned on (or changed).
    Set,
    /// Turned off.
    Cleared,
}

impl SwitchAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Set => "set",
            Self::Cleared => "cleared",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "set" => Some(Self::Set),
            "cleared" => Some(Self::Cleared),
            _ => None,
        }
    }
}

/// One line of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SwitchAudit {
    /// Its place in the trail (grows).
    pub seq: i64,
    /// The switch's key.
    pub key: String,
    /// The switch (for a clear, the one cleared).
    pub switch: Switch,
    /// Set or cleared.
    pub action: SwitchAction,
    /// Who (as they said), and through what (`api`, `cli`).
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The switches in force as one process last read them: what request
/// paths consult, without IO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Board {
    paused_tenants: HashSet<TenantId>,
    capping: Option<CappingMode>,
    paused_sinks: HashSet<Sink>,
    read_only_api: bool,
    in_force: BTreeMap<String, SwitchRecord>,
}

impl Board {
    /// The board of `records`.
    pub fn of(records: impl IntoIterator<Item = SwitchRecord>) -> Self {
        let mut b = Self::default();
        for r in records {
            match &r.switch {
                Switch::PauseIngest { tenant } => {
                    b.paused_tenants.insert(*tenant);
                }
                Switch::Capping { mode } => b.capping = Some(*mode),
                Switch::PauseSink { sink } => {
                    b.paused_sinks.insert(*sink);
                }
                Switch::ReadOnlyApi => b.read_only_api = true,
            }
            b.in_force.insert(r.switch.key(), r);
        }
        b
    }

    /// Whether `tenant`'s events are refused.
    pub fn ingest_paused(&self, tenant: TenantId) -> bool {
        self.paused_tenants.contains(&tenant)
    }

    /// How capping decides, if a switch says.
    pub fn capping(&self) -> Option<CappingMode> {
        self.capping
    }

    /// Whether the worker holds `sink`.
    pub fn sink_paused(&self, sink: Sink) -> bool {
        self.paused_sinks.contains(&sink)
    }

    /// Whether the API refuses changes.
    pub fn read_only_api(&self) -> bool {
        self.read_only_api
    }

    /// Every switch in force, by key.
    pub fn in_force(&self) -> impl Iterator<Item = &SwitchRecord> {
        self.in_force.values()
    }
}

/// One process's current [`Board`], shared by its services and replaced
/// whole by the task that reads the switches; cheap to clone. Without
/// that task (tests, a service built alone) it stays empty: nothing
/// switched off.
#[derive(Clone, Debug, Default)]
pub struct Switchboard(Arc<RwLock<Arc<Board>>>);

impl Switchboard {
    /// The switches in force now.
    pub fn now(&self) -> Arc<Board> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether anyone but the caller still holds this board (a reader
    /// stops when the services it fed are gone).
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }

    /// Puts `board` in force.
    pub fn set(&self, board: Board) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(board);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(switch: Switch) -> SwitchRecord {
        SwitchRecord {
            switch,
            actor: "ops".into(),
            reason: "test".into(),
            set_at: DateTime::from_timestamp(1_800_000_000, 0).expect("t"),
        }
    }

    #[test]
    fn the_wire_form_is_tagged_by_kind() {
        let t = TenantId::from_uuid(uuid::Uuid::from_u128(7));
        let s = Switch::PauseIngest { tenant: t };
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"kind": "pause_ingest", "tenant": t.to_string()})
        );
        assert_eq!(
            serde_json::from_value::<Switch>(
                serde_json::json!({"kind": "capping", "mode": "fail_closed"})
            )
            .expect("parsed"),
            Switch::Capping {
                mode: CappingMode::FailClosed
            }
        );
        assert!(serde_json::from_value::<Switch>(serde_json::json!({"kind": "nope"})).is_err());
    }

    #[test]
    fn a_board_answers_what_is_in_force_and_nothing_else() {
        let (a, b) = (
            TenantId::from_uuid(uuid::Uuid::from_u128(1)),
            TenantId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        let board = Board::of([
            rec(Switch::PauseIngest { tenant: a }),
            rec(Switch::Capping {
                mode: CappingMode::FailOpen,
            }),
            rec(Switch::PauseSink { sink: Sink::Live }),
        ]);
        assert!(board.ingest_paused(a) && !board.ingest_paused(b));
        assert_eq!(board.capping(), Some(CappingMode::FailOpen));
        assert!(board.sink_paused(Sink::Live));
        assert!(!board.read_only_api());
        assert_eq!(board.in_force().count(), 3);
        assert_eq!(Board::default().capping(), None);
    }

    #[test]
    fn keys_name_one_slot_per_switch() {
        let t = TenantId::from_uuid(uuid::Uuid::from_u128(1));
        assert_eq!(
            Switch::Capping {
                mode: CappingMode::FailOpen
            }
            .key(),
            Switch::Capping {
                mode: CappingMode::FailClosed
            }
            .key()
        );
        assert_eq!(
            Switch::PauseSink { sink: Sink::Live }.key(),
            "pause_sink:live"
        );
        assert_eq!(
            Switch::PauseIngest { tenant: t }.key(),
            format!("pause_ingest:{t}")
        );
    }
}
