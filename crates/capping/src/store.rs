//! The port every counter store implements: reserve a person's batch of
//! planned decisions (each check-and-increment atomic), and release one.
//! Implemented here by [`MemoryStore`] and [`SketchStore`], and by the
//! Redis adapter (`adpulse-redis`).

use chrono::{DateTime, Utc};

use crate::Decision;
use crate::memory::MemoryStore;
use crate::plan::Planned;
use crate::sketch::SketchStore;

/// A store that could not decide.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend does not answer (the failure policy decides: deny by
    /// default).
    #[error("counter store unavailable: {0}")]
    Unavailable(String),
    /// The backend cannot count this kind of window.
    #[error("{0}")]
    Unsupported(String),
}

/// Counters for capping decisions.
#[async_trait::async_trait]
pub trait CapStore: Send + Sync {
    /// Reserves each of `planned` for `person` (one decision per entry, in
    /// order).
    async fn reserve(
        &self,
        person: &str,
        planned: &[Planned],
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>, StoreError>;

    /// Gives back one reservation of `planned` for `person`.
    async fn release(&self, person: &str, planned: &Planned) -> Result<(), StoreError>;

    /// Adds what was counted under `from` (an id now known to be `into`'s)
    /// to `into`, for the windows still open, and forgets it under `from`.
    async fn merge(&self, from: &str, into: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// [`CapStore::merge`] for many `(from, into)` pairs (a store that can
    /// do them in one round trip says so by overriding this).
    async fn merge_many(
        &self,
        pairs: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (from, into) in pairs {
            self.merge(from, into, now).await?;
        }
        Ok(())
    }

    /// Whether the store answers (for readiness); a store in this process
    /// always does.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

fn counter(person: &str, p: &Planned) -> String {
    format!("{person}|{}", p.field)
}

#[async_trait::async_trait]
impl CapStore for MemoryStore {
    async fn reserve(
        &self,
        person: &str,
        planned: &[Planned],
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>, StoreError> {
        Ok(planned
            .iter()
            .map(|p| MemoryStore::reserve(self, person, &p.field, p.cap, &p.window, now))
            .collect())
    }

    async fn release(&self, person: &str, planned: &Planned) -> Result<(), StoreError> {
        MemoryStore::release(self, person, &planned.field, &planned.window);
        Ok(())
    }

    async fn merge(&self, from: &str, into: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        MemoryStore::merge(self, from, into, now);
        Ok(())
    }
}

#[async_trait::async_trait]
impl CapStore for SketchStore {
    async fn reserve(
        &self,
        person: &str,
        planned: &[Planned],
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>, StoreError> {
        planned
            .iter()
            .map(|p| {
                SketchStore::reserve(self, &counter(person, p), p.cap, &p.window, now)
                    .map_err(|e| StoreError::Unsupported(e.to_string()))
            })
            .collect()
    }

    /// A sketch cannot give back (a counter may be shared): releasing is a
    /// no-op, which can only make it stricter.
    async fn release(&self, _person: &str, _planned: &Planned) -> Result<(), StoreError> {
        Ok(())
    }

    /// A sketch cannot list a person's counters: counts made under an id
    /// before it was linked stay there (a person newly linked across
    /// devices may be shown up to one cap more, once).
    async fn merge(&self, _from: &str, _into: &str, _now: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }
}
