//! Who a request is about, across devices: deterministic identity links.
//!
//! A request or event may carry a device id, a cookie id, a login id and a
//! hashed e-mail. Their strength is login > e-mail > device > cookie. A
//! person is counted under the strongest id the request carries, or, if it
//! carries only weak ids, under the strongest id one of them was linked to
//! earlier. Every request that carries a strong id together with weaker
//! ones teaches links from each weaker id to it (kept with a TTL by the
//! store), so a person capped on the phone is capped on the laptop once
//! both were seen with the same login.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The ids one request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids<'a> {
    /// A device advertising id.
    pub device_id: Option<&'a str>,
    /// A browser cookie id.
    pub cookie_id: Option<&'a str>,
    /// The advertiser's login id.
    pub login_id: Option<&'a str>,
    /// SHA-256 of the normalised e-mail address.
    pub email_sha256: Option<&'a str>,
    /// Whose id space these ids live in (the tenant): one tenant's login
    /// `u-1` is not another's, so neither their links nor their counters
    /// may meet. Appended to every key as `#scope`.
    pub scope: Option<&'a str>,
}

impl Ids<'_> {
    /// The ids present, strongest first, as namespaced keys (`l:`, `e:`,
    /// `d:`, `c:`, then `#scope` if scoped), so equal strings of different
    /// kinds or scopes never meet.
    pub fn keys(&self) -> Vec<String> {
        let scope = self.scope.map(|s| format!("#{s}")).unwrap_or_default();
        [
            ("l", self.login_id),
            ("e", self.email_sha256),
            ("d", self.device_id),
            ("c", self.cookie_id),
        ]
        .into_iter()
        .filter_map(|(kind, id)| {
            id.map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| format!("{kind}:{id}{scope}"))
        })
        .collect()
    }

    /// Whether [`Ids::links`] has anything to teach (a login or e-mail and
    /// at least one other id), without building a key.
    pub fn teaches(&self) -> bool {
        let present = |id: Option<&str>| id.is_some_and(|i| !i.trim().is_empty());
        let strong = present(self.login_id) || present(self.email_sha256);
        let carried = [
            self.login_id,
            self.email_sha256,
            self.device_id,
            self.cookie_id,
        ]
        .into_iter()
        .filter(|id| present(*id))
        .count();
        strong && carried >= 2
    }

    /// The links this request teaches: each weaker id to the strongest.
    pub fn links(&self) -> Vec<(String, String)> {
        let keys = self.keys();
        match keys.split_first() {
            Some((strongest, weaker))
                if strongest.starts_with("l:") || strongest.starts_with("e:") =>
            {
                weaker
                    .iter()
                    .map(|w| (w.clone(), strongest.clone()))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The key the person is counted under: the strongest id carried if it
    /// is a login or e-mail; otherwise the strongest id a carried id is
    /// linked to (by `linked`), else the strongest carried. `None` without
    /// any id.
    pub fn person(&self, linked: impl Fn(&str) -> Option<String>) -> Option<String> {
        let keys = self.keys();
        let strongest = keys.first()?;
        if strongest.starts_with("l:") || strongest.starts_with("e:") {
            return Some(strongest.clone());
        }
        let mut found: Vec<String> = keys.iter().filter_map(|k| linked(k)).collect();
        found.sort_by_key(|k| if k.starts_with("l:") { 0 } else { 1 });
        Some(
            found
                .into_iter()
                .next()
                .unwrap_or_else(|| strongest.clone()),
        )
    }
}

/// Where links are kept: weak id → strong id, each with an expiry that
/// every new sighting pushes out.
#[async_trait::async_trait]
pub trait LinkStore: Send + Sync {
    /// The strong id each of `weak` is linked to at `now` (one answer per
    /// entry, in order).
    async fn linked(
        &self,
        weak: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<String>>, StoreError>;

    /// Keeps every `(weak, strong)` link until `until`; says for each
    /// whether it is new (or moved to another strong id), so what was
    /// counted under the weak id can be merged into the person.
    async fn learn(
        &self,
        links: &[(String, String)],
        until: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError>;
}

/// The person `ids` is about, looking up the links of its weak ids only
/// when it carries no login or e-mail. When the link store fails, the
/// person is the strongest id carried (the decision itself then meets the
/// same failure and its policy). `None` without any id.
pub async fn resolve(ids: &Ids<'_>, links: &dyn LinkStore, now: DateTime<Utc>) -> Option<String> {
    let keys = ids.keys();
    let strongest = keys.first()?;
    if strongest.starts_with("l:") || strongest.starts_with("e:") {
        return Some(strongest.clone());
    }
    let found = match links.linked(&keys, now).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "identity links unavailable; deciding under the strongest id carried");
            metrics::counter!("adpulse_capping_store_errors_total", "op" => "links").increment(1);
            return Some(strongest.clone());
        }
    };
    let known: HashMap<&str, String> = keys
        .iter()
        .map(String::as_str)
        .zip(found)
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    ids.person(|k| known.get(k).cloned())
}

/// Keeps the `(weak, strong)` links until `until` and moves what was
/// counted under each newly linked weak id into its person, so a person
/// first seen as a cookie and now logging in is not shown the ad again.
/// The one way links are learned, whether from a capping request (the
/// gateway) or from counted events (the stream worker). Returns how many
/// links were new.
pub async fn teach(
    links: &dyn LinkStore,
    counters: &dyn crate::CapStore,
    pairs: &[(String, String)],
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, TeachError> {
    let new = links.learn(pairs, until).await.map_err(TeachError::Learn)?;
    let moved: Vec<(String, String)> = pairs
        .iter()
        .zip(new)
        .filter(|(_, new)| *new)
        .map(|(pair, _)| pair.clone())
        .collect();
    counters
        .merge_many(&moved, now)
        .await
        .map_err(TeachError::Merge)?;
    Ok(moved.len())
}

/// Why links were not (all) learned.
#[derive(Debug, thiserror::Error)]
pub enum TeachError {
    /// The links were not stored; learned again with the next sighting.
    #[error("identity links not stored: {0}")]
    Learn(#[source] StoreError),
    /// The links are stored but the counts under the weak ids stay there.
    #[error("counts under newly linked ids not merged: {0}")]
    Merge(#[source] StoreError),
}

/// A person key as counters store it: 12 bytes of its SHA-256 in unpadded
/// base64url (16 characters, whatever the id's length; a 64-digit e-mail
/// hash would otherwise be stored in full in every counter key). Two of
/// 50 million people collide with probability about n²/2⁹⁷ ≈ 2·10⁻¹⁴.
pub fn compact_person(person: &str) -> String {
    let digest = Sha256::digest(person.as_bytes());
    crate::plan::compact(&digest[..12])
}

/// Links kept in process, each until its expiry (embedded mode, tests).
#[derive(Default)]
pub struct MemoryLinks {
    links: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

impl MemoryLinks {
    /// No links.
    pub fn new() -> Self {
        Self::default()
    }

    /// The strong id `weak` is linked to at `now`.
    pub fn get(&self, weak: &str, now: DateTime<Utc>) -> Option<String> {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links
            .get(weak)
            .filter(|(_, until)| *until > now)
            .map(|(strong, _)| strong.clone())
    }
}

#[async_trait::async_trait]
impl LinkStore for MemoryLinks {
    async fn linked(
        &self,
        weak: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<String>>, StoreError> {
        Ok(weak.iter().map(|w| self.get(w, now)).collect())
    }

    async fn learn(
        &self,
        links: &[(String, String)],
        until: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        let now = Utc::now();
        let mut map = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let mut new = Vec::with_capacity(links.len());
        for (weak, strong) in links {
            let before = map.insert(weak.clone(), (strong.clone(), until));
            new.push(!before.is_some_and(|(s, u)| s == *strong && u > now));
        }
        // Forget expired links whenever the map doubles.
        if map.len() >= 1024 && map.len().is_power_of_two() {
            let now = Utc::now();
            map.retain(|_, (_, until)| *until > now);
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_id_wins_and_kinds_never_collide() {
        let ids = Ids {
            device_id: Some("abc"),
            cookie_id: Some("abc"),
            login_id: Some("u-1"),
            email_sha256: None,
            scope: None,
        };
        assert_eq!(ids.keys(), ["l:u-1", "d:abc", "c:abc"]);
        let scoped = Ids {
            scope: Some("t1"),
            ..ids
        };
        assert_eq!(scoped.keys(), ["l:u-1#t1", "d:abc#t1", "c:abc#t1"]);
        assert_eq!(scoped.links()[0], ("d:abc#t1".into(), "l:u-1#t1".into()));
        assert!(ids.teaches());
        assert_eq!(ids.person(|_| None).as_deref(), Some("l:u-1"));
        assert_eq!(
            ids.links(),
            [
                ("d:abc".to_owned(), "l:u-1".to_owned()),
                ("c:abc".to_owned(), "l:u-1".to_owned())
            ]
        );
        assert_eq!(Ids::default().person(|_| None), None);
        let blank = Ids {
            device_id: Some("  "),
            ..Ids::default()
        };
        assert!(blank.keys().is_empty());
    }

    #[tokio::test]
    async fn a_person_seen_with_a_login_on_two_devices_is_one_person_on_either() {
        let links = MemoryLinks::new();
        let now = Utc::now();
        let until = now + chrono::Duration::days(30);
        let phone = Ids {
            device_id: Some("phone"),
            login_id: Some("u-1"),
            ..Ids::default()
        };
        let laptop = Ids {
            cookie_id: Some("laptop"),
            email_sha256: Some("e1"),
            login_id: Some("u-1"),
            ..Ids::default()
        };
        links.learn(&phone.links(), until).await.expect("learn");
        links.learn(&laptop.links(), until).await.expect("learn");
        let phone_alone = Ids {
            device_id: Some("phone"),
            ..Ids::default()
        };
        let laptop_alone = Ids {
            cookie_id: Some("laptop"),
            ..Ids::default()
        };
        let stranger = Ids {
            device_id: Some("other"),
            ..Ids::default()
        };
        let p = |ids: Ids<'_>| ids.person(|k| links.get(k, now));
        assert_eq!(p(phone_alone).as_deref(), Some("l:u-1"));
        assert_eq!(p(laptop_alone).as_deref(), Some("l:u-1"));
        assert_eq!(p(stranger).as_deref(), Some("d:other"));
        // Device ids alone teach nothing; links expire.
        assert!(phone_alone.links().is_empty());
        let later = until + chrono::Duration::seconds(1);
        assert_eq!(
            phone_alone.person(|k| links.get(k, later)).as_deref(),
            Some("d:phone")
        );
    }
}
