//! Where creatives' bytes are kept: object storage through
//! `object_store`, a local folder (the default, and `adpulse up`) or any
//! S3-compatible bucket, behind one small interface whose calls behave the
//! same on both (`tests/assets_conformance.rs` runs one set of assertions
//! on each), so the handlers never ask which one they have.

use std::future::Future;
use std::sync::Arc;

use adpulse_domain::CampaignId;
use adpulse_resilience::{Breaker, BreakerConfig};
use axum::body::Bytes;
use futures_util::TryStreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use uuid::Uuid;

/// Where creatives' bytes are kept: one object per creative and variant,
/// named `<prefix>/<campaign>/<creative>/<variant>`, in a folder or an S3
/// bucket. The calls below behave the same on both (the conformance suite,
/// `tests/assets_conformance.rs`, runs one set of assertions on each).
///
/// Every call but the readiness ping goes through a circuit breaker named
/// `object_storage` with a timeout: while storage fails (or the breaker is
/// open and it is not called at all) the calls fail at once and the API
/// answers 503 with Retry-After, instead of each request waiting out the
/// storage client's retries. "No such object" is an answer, not a failure.
#[derive(Clone)]
pub struct AssetStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    breaker: Arc<Breaker>,
}

/// The breaker's settings unless the composition root gives others.
pub const STORAGE_BREAKER: BreakerConfig = BreakerConfig {
    failures: 5,
    open_for: std::time::Duration::from_secs(5),
    timeout: std::time::Duration::from_secs(10),
};

/// Why object storage did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// No object by that name.
    #[error("no such object")]
    NotFound,
    /// The storage failed, refused the request or did not answer (the API
    /// answers 503).
    #[error("object storage failed: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<object_store::Error> for AssetError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => Self::NotFound,
            e => Self::Unavailable(Box::new(e)),
        }
    }
}

impl AssetStore {
    /// From `api.asset_store`: a folder, or `s3://bucket/prefix` (configured
    /// from the `AWS_*` environment variables).
    pub fn open(location: &str) -> Result<Self, String> {
        Self::open_with(location, &[])
    }

    /// [`open`](Self::open), with S3 settings given here taking precedence
    /// over the environment: `object_store`'s names for them, as in
    /// `("aws_endpoint", "http://127.0.0.1:9000")` or
    /// `("aws_access_key_id", …)`. Ignored for a folder.
    pub fn open_with(location: &str, s3_options: &[(&str, &str)]) -> Result<Self, String> {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let mut builder =
                object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in s3_options {
                let key = key
                    .parse()
                    .map_err(|e| format!("api.asset_store {location:?}: {e}"))?;
                builder = builder.with_config(key, *value);
            }
            let store = builder
                .build()
                .map_err(|e| format!("api.asset_store {location:?}: {e}"))?;
            return Ok(Self {
                store: Arc::new(store),
                prefix: ObjectPath::from(prefix),
                breaker: Arc::new(Breaker::new("object_storage", STORAGE_BREAKER)),
            });
        }
        let dir = location.strip_prefix("file://").unwrap_or(location);
        std::fs::create_dir_all(dir).map_err(|e| format!("api.asset_store {dir:?}: {e}"))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("api.asset_store {dir:?}: {e}"))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::from(""),
            breaker: Arc::new(Breaker::new("object_storage", STORAGE_BREAKER)),
        })
    }

    /// Trips the storage's breaker on `cfg` instead of the defaults.
    #[must_use]
    pub fn with_breaker(mut self, cfg: BreakerConfig) -> Self {
        self.breaker = Arc::new(Breaker::new("object_storage", cfg));
        self
    }

    /// `call` through the breaker; "no such object" passes as an answer.
    async fn guarded<T>(
        &self,
        call: impl Future<Output = Result<T, AssetError>>,
    ) -> Result<T, AssetError> {
        let answer = async {
            match call.await {
                Err(AssetError::NotFound) => Ok(Err(AssetError::NotFound)),
                Err(e) => Err(e),
                Ok(v) => Ok(Ok(v)),
            }
        };
        self.breaker
            .call(answer)
            .await
            .map_err(|why| why.into_error(|reason| AssetError::Unavailable(reason.into())))?
    }

    fn campaign_path(&self, campaign: CampaignId) -> ObjectPath {
        self.prefix.clone().join(campaign.to_string())
    }

    fn path(&self, campaign: CampaignId, creative: Uuid, variant: &str) -> ObjectPath {
        self.campaign_path(campaign)
            .join(creative.to_string())
            .join(variant)
    }

    /// Whether object storage answers (for readiness): a read of a name
    /// nobody writes, for which "not found" is an answer.
    pub async fn ping(&self) -> Result<(), AssetError> {
        match self
            .store
            .head(&self.prefix.clone().join(".readiness"))
            .await
        {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores `bytes` as `variant` of a creative, replacing what was there.
    pub async fn put(
        &self,
        campaign: CampaignId,
        creative: Uuid,
        variant: &str,
        bytes: Vec<u8>,
    ) -> Result<(), AssetError> {
        let path = self.path(campaign, creative, variant);
        self.guarded(async {
            self.store.put(&path, PutPayload::from(bytes)).await?;
            Ok(())
        })
        .await
    }

    /// The bytes of `variant` of a creative; [`AssetError::NotFound`] if
    /// none were stored (or they were deleted).
    pub async fn get(
        &self,
        campaign: CampaignId,
        creative: Uuid,
        variant: &str,
    ) -> Result<Bytes, AssetError> {
        let path = self.path(campaign, creative, variant);
        self.guarded(async { Ok(self.store.get(&path).await?.bytes().await?) })
            .await
    }

    /// Deletes `variant` of a creative. Deleting what is not there succeeds
    /// (S3 answers so; a folder's `NotFound` is taken as done), so a retried
    /// or repeated delete is not an error.
    pub async fn delete(
        &self,
        campaign: CampaignId,
        creative: Uuid,
        variant: &str,
    ) -> Result<(), AssetError> {
        let path = self.path(campaign, creative, variant);
        self.guarded(async {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Every object stored for a campaign, as (creative, variant), sorted.
    /// Only this campaign's: not another campaign's, nor another prefix's
    /// in the same bucket.
    pub async fn list(&self, campaign: CampaignId) -> Result<Vec<(Uuid, String)>, AssetError> {
        let base = self.campaign_path(campaign);
        let depth = base.parts().count();
        let metas: Vec<_> = self
            .guarded(async { Ok(self.store.list(Some(&base)).try_collect().await?) })
            .await?;
        let mut out = Vec::with_capacity(metas.len());
        for meta in metas {
            let parts: Vec<_> = meta.location.parts().skip(depth).collect();
            let [creative, variant] = parts.as_slice() else {
                continue;
            };
            let Ok(creative) = creative.as_ref().parse::<Uuid>() else {
                continue;
            };
            out.push((creative, variant.as_ref().to_owned()));
        }
        out.sort();
        Ok(out)
    }
}
