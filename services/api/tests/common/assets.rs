//! Where a test keeps creatives: a temporary folder, or a prefix of its own
//! in the local stack's S3 bucket; read around the port to see what was
//! stored, and removed at the end.

use std::sync::Arc;

use adpulse_api::assets::AssetStore;
use adpulse_testkit::{S3Account, Server, unique_name};
use futures_util::TryStreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as _, ObjectStoreExt as _};

/// One place a store can live: a folder, or a prefix in the stack's bucket.
pub enum AssetPlace {
    Folder(std::path::PathBuf),
    S3 { account: S3Account, prefix: String },
}

impl AssetPlace {
    /// A new folder under the temporary directory.
    pub fn folder() -> Self {
        Self::Folder(std::env::temp_dir().join(unique_name("assets")))
    }

    /// A new prefix in the stack's bucket (fails naming the command that
    /// starts the server when it is absent).
    pub fn s3() -> Self {
        Self::S3 {
            account: S3Account::require(),
            prefix: format!("tests/{}", unique_name("assets")),
        }
    }

    /// The place `api.asset_store` names: `s3://bucket/prefix` on the
    /// stack's server, else a folder.
    pub fn from_location(location: &str) -> Self {
        match location.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                Self::S3 {
                    account: S3Account {
                        bucket: bucket.to_owned(),
                        ..S3Account::require()
                    },
                    prefix: prefix.trim_end_matches('/').to_owned(),
                }
            }
            None => Self::Folder(location.strip_prefix("file://").unwrap_or(location).into()),
        }
    }

    /// `api.asset_store` for this place.
    pub fn location(&self) -> String {
        match self {
            Self::Folder(dir) => dir.display().to_string(),
            Self::S3 { account, prefix } => format!("s3://{}/{prefix}", account.bucket),
        }
    }

    /// The same place written another way `api.asset_store` accepts.
    pub fn other_spelling(&self) -> String {
        match self {
            Self::Folder(dir) => format!("file://{}", dir.display()),
            Self::S3 { account, prefix } => format!("s3://{}/{prefix}/", account.bucket),
        }
    }

    /// The stack's endpoint and key as `AssetStore::open_with` takes them
    /// (tests do not set the process-wide `AWS_*` variables).
    pub fn s3_options(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Folder(_) => Vec::new(),
            Self::S3 { account, .. } => vec![
                ("aws_endpoint", account.endpoint.clone()),
                ("aws_access_key_id", account.access_key_id.clone()),
                ("aws_secret_access_key", account.secret_access_key.clone()),
                ("aws_region", account.region.clone()),
                ("aws_allow_http", "true".into()),
            ],
        }
    }

    /// A store at `location` (this place, however spelled).
    pub fn open_at(&self, location: &str) -> AssetStore {
        let options = self.s3_options();
        let options: Vec<(&str, &str)> = options.iter().map(|(k, v)| (*k, v.as_str())).collect();
        AssetStore::open_with(location, &options).expect("open the asset store")
    }

    /// A store at this place.
    pub fn open(&self) -> AssetStore {
        self.open_at(&self.location())
    }

    /// What is stored under the place, read around the port: object names
    /// relative to the folder or the prefix, sorted.
    pub async fn keys(&self) -> Vec<String> {
        match self {
            Self::Folder(dir) => {
                fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
                    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            walk(&path, base, out);
                        } else {
                            let rel = path.strip_prefix(base).expect("under the folder");
                            out.push(rel.display().to_string());
                        }
                    }
                }
                let mut out = Vec::new();
                walk(dir, dir, &mut out);
                out.sort();
                out
            }
            Self::S3 { account, prefix } => {
                let raw = raw_s3(account);
                let base = ObjectPath::from(prefix.as_str());
                let depth = base.parts().count();
                let metas: Vec<_> = raw
                    .list(Some(&base))
                    .try_collect()
                    .await
                    .expect("list the prefix");
                let mut out: Vec<String> = metas
                    .into_iter()
                    .map(|m| {
                        m.location
                            .parts()
                            .skip(depth)
                            .map(|p| p.as_ref().to_owned())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .collect();
                out.sort();
                out
            }
        }
    }

    /// Removes everything the test stored.
    pub async fn remove(&self) {
        match self {
            Self::Folder(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::S3 { account, prefix } => {
                assert!(!prefix.is_empty(), "refusing to empty the whole bucket");
                let raw = raw_s3(account);
                let base = ObjectPath::from(prefix.as_str());
                let metas: Vec<_> = raw
                    .list(Some(&base))
                    .try_collect()
                    .await
                    .expect("list the prefix");
                for m in metas {
                    raw.delete(&m.location).await.expect("delete a test object");
                }
            }
        }
    }
}

/// The stack's bucket through `object_store` directly, to see what the port
/// wrote and to clean up after it.
fn raw_s3(account: &S3Account) -> Arc<dyn object_store::ObjectStore> {
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&account.endpoint)
        .with_bucket_name(&account.bucket)
        .with_access_key_id(&account.access_key_id)
        .with_secret_access_key(&account.secret_access_key)
        .with_region(&account.region)
        .with_allow_http(true)
        .build()
        .unwrap_or_else(|e| Server::S3.absent(&e.to_string()));
    Arc::new(store)
}
