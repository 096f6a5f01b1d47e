//! Kill switches (`crate::switch`): the ones in force, set and cleared
//! with an audit line each, read by every process about once a second.

use crate::store::StoreError;
use crate::switch::{Switch, SwitchAudit, SwitchRecord};

/// The kill switches and their audit trail (operator-wide: no tenant).
#[async_trait::async_trait]
pub trait Switches: Send + Sync {
    /// Every switch in force (a handful: every process polls this).
    async fn switches(&self) -> Result<Vec<SwitchRecord>, StoreError>;

    /// Turns `switch` on (replacing the one in its slot, if any) and
    /// appends the change to the audit trail, in one transaction.
    async fn set_switch(
        &self,
        switch: &Switch,
        actor: &str,
        reason: &str,
    ) -> Result<SwitchRecord, StoreError>;

    /// Turns off the switch in slot `key` (`Switch::key`), appending the
    /// change to the audit trail; what was cleared, `None` if nothing was
    /// in force there (and nothing is appended).
    async fn clear_switch(
        &self,
        key: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Option<SwitchRecord>, StoreError>;

    /// The audit trail, newest first: up to `limit` lines before `before`
    /// (a `seq`; from the newest when `None`).
    async fn switch_audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SwitchAudit>, StoreError>;
}
