//! Short-lived signed URLs, for what a browser fetches without headers:
//! `<img src>` cannot send `Authorization`, nor can `EventSource`.
//!
//! A signed URL names the tenant and an expiry in its query and carries an
//! HMAC-SHA256 (`sig`) over the path, the variant, the tenant and the
//! expiry, with a key derived from the API's token secret (a signature for
//! one path is worthless on another, and no JWT can be replayed as one).
//! Whoever holds the URL reads that one resource until it expires, as with
//! any pre-signed object URL; so the lifetimes are short: thumbnails an
//! hour or two (rounded to the hour, so a page shown twice in the hour asks
//! for the same URL and the browser's cache answers), the live stream's
//! connection five minutes.

use std::time::Duration;

use adpulse_domain::TenantId;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::ApiError;

/// How long a live stream's signed URL may be used to connect.
pub const STREAM_URL_TTL: Duration = Duration::from_secs(300);

/// Signs and checks URLs.
pub struct Signer {
    key: EncodingKey,
}

/// The signature part of a signed URL's query.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Signature {
    /// The tenant the URL was issued to.
    pub tenant: Uuid,
    /// Unix seconds after which the URL no longer works.
    pub exp: i64,
    /// HMAC-SHA256 of the path, variant, tenant and expiry (base64url).
    pub sig: String,
}

impl Signer {
    /// A signer keyed from the API's token secret (a different key: the
    /// secret hashed under a label of its own).
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        let mut h = Sha256::new();
        h.update(b"adpulse signed urls v1\0");
        h.update(secret);
        Ok(Self {
            key: EncodingKey::from_secret(&h.finalize()).map_err(|e| e.to_string())?,
        })
    }

    fn message(path: &str, variant: &str, tenant: Uuid, exp: i64) -> String {
        format!("{path}\n{variant}\n{tenant}\n{exp}")
    }

    fn mac(&self, path: &str, variant: &str, tenant: Uuid, exp: i64) -> Result<String, ApiError> {
        jsonwebtoken::crypto::sign(
            Self::message(path, variant, tenant, exp).as_bytes(),
            &self.key,
            Algorithm::HS256,
        )
        .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// `path` (with `variant`, if any, as its `variant` query parameter)
    /// signed for `tenant` until `exp` (unix seconds).
    pub fn sign(
        &self,
        path: &str,
        variant: Option<&str>,
        tenant: TenantId,
        exp: i64,
    ) -> Result<String, ApiError> {
        let t = *tenant.as_uuid();
        let sig = self.mac(path, variant.unwrap_or(""), t, exp)?;
        Ok(match variant {
            Some(v) => format!("{path}?variant={v}&tenant={t}&exp={exp}&sig={sig}"),
            None => format!("{path}?tenant={t}&exp={exp}&sig={sig}"),
        })
    }

    /// The tenant `s` was issued to, if it signs `path` and `variant` and
    /// has not expired; otherwise 401 (`invalid_signature` or
    /// `signature_expired`).
    pub fn check(&self, path: &str, variant: &str, s: &Signature) -> Result<TenantId, ApiError> {
        let expected = self.mac(path, variant, s.tenant, s.exp)?;
        // Both are base64url of 32 bytes: compare without an early exit.
        let same = expected.len() == s.sig.len()
            && expected
                .bytes()
                .zip(s.sig.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(ApiError::unauthorized(
                "invalid_signature",
                "the signed URL is not valid",
            ));
        }
        if s.exp < Utc::now().timestamp() {
            return Err(ApiError::unauthorized(
                "signature_expired",
                "the signed URL expired; fetch a new one",
            ));
        }
        Ok(TenantId::from_uuid(s.tenant))
    }
}

/// The expiry for thumbnails and originals signed now: the end of the
/// next hour, so every URL signed within an hour is the same URL (and the
/// browser's cache serves it) and lives one to two hours.
pub fn asset_expiry() -> i64 {
    let hour = 3600;
    (Utc::now().timestamp() / hour + 2) * hour
}

/// The expiry for a live stream's connection URL signed now.
pub fn stream_expiry() -> i64 {
    Utc::now().timestamp() + i64::try_from(STREAM_URL_TTL.as_secs()).unwrap_or(300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(url: &str) -> Signature {
        let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        serde_urlencoded::from_str::<std::collections::HashMap<String, String>>(q)
            .map(|m| Signature {
                tenant: m["tenant"].parse().unwrap_or_default(),
                exp: m["exp"].parse().unwrap_or_default(),
                sig: m["sig"].clone(),
            })
            .unwrap_or_else(|_| Signature {
                tenant: Uuid::nil(),
                exp: 0,
                sig: String::new(),
            })
    }

    #[test]
    fn a_signed_url_checks_for_its_path_variant_and_tenant_only() {
        let s = Signer::new(b"a secret of thirty-two bytes or more!!").expect("signer");
        let tenant = TenantId::from_uuid(Uuid::now_v7());
        let exp = asset_expiry();
        let url = s
            .sign("/a/b/content", Some("w150"), tenant, exp)
            .expect("sign");
        let good = sig(&url);
        assert_eq!(s.check("/a/b/content", "w150", &good).ok(), Some(tenant));
        assert!(
            s.check("/a/c/content", "w150", &good).is_err(),
            "other path"
        );
        assert!(
            s.check("/a/b/content", "w300", &good).is_err(),
            "other variant"
        );
        let other_tenant = Signature {
            tenant: Uuid::now_v7(),
            ..good.clone()
        };
        assert!(s.check("/a/b/content", "w150", &other_tenant).is_err());
        let later = Signature {
            exp: exp + 3600,
            ..good.clone()
        };
        assert!(
            s.check("/a/b/content", "w150", &later).is_err(),
            "other expiry"
        );
        let other_key = Signer::new(b"another secret of thirty-two bytes!!!!").expect("signer");
        assert!(other_key.check("/a/b/content", "w150", &good).is_err());
    }

    #[test]
    fn an_expired_url_is_refused_as_expired() {
        let s = Signer::new(b"a secret of thirty-two bytes or more!!").expect("signer");
        let tenant = TenantId::from_uuid(Uuid::now_v7());
        let url = s
            .sign("/s", None, tenant, Utc::now().timestamp() - 1)
            .expect("sign");
        let e = s.check("/s", "", &sig(&url)).expect_err("expired");
        assert!(format!("{e:?}").contains("signature_expired"), "{e:?}");
    }

    #[test]
    fn asset_urls_signed_within_the_hour_are_the_same() {
        let e = asset_expiry();
        let now = Utc::now().timestamp();
        assert_eq!(e % 3600, 0);
        assert!(e - now > 3600 && e - now <= 7200, "{}", e - now);
    }
}
