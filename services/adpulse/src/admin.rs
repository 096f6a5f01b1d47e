//! `adpulse admin …`: creates tenants, campaigns, users and ingest keys
//! (what comes before anyone can log in to the API), in Postgres or, with
//! `--data`, in `adpulse up`'s data folder (also while it runs).

use std::path::PathBuf;

use adpulse_config::Config;
use adpulse_domain::ports::Store;
use adpulse_domain::{CampaignId, TenantId};
use adpulse_postgres::Database;
use anyhow::Context as _;
use clap::Subcommand;
use uuid::Uuid;

/// `adpulse admin [--data DIR] <command>`.
#[derive(clap::Args)]
pub struct AdminArgs {
    /// Work on this `adpulse up` data folder instead of Postgres.
    #[arg(long, env = "ADPULSE_DATA")]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Admin,
}

/// Admin commands.
#[derive(Subcommand)]
pub enum Admin {
    /// Create a tenant; prints its id.
    CreateTenant {
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Create an active campaign; prints its id.
    CreateCampaign {
        /// Owning tenant.
        #[arg(long)]
        tenant: Uuid,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Use this id instead of a new one.
        #[arg(long)]
        id: Option<Uuid>,
    },
    /// Create an ingest key; prints its id and the secret, which is shown
    /// only this once.
    CreateKey {
        /// Owning tenant.
        #[arg(long)]
        tenant: Uuid,
        /// What the key is for.
        #[arg(long)]
        name: String,
    },
    /// Create a user (the first admin of a tenant, say); prints their id.
    /// The password is read from the ADPULSE_PASSWORD environment variable,
    /// so it stays out of shell history and process listings.
    CreateUser {
        /// Owning tenant.
        #[arg(long)]
        tenant: Uuid,
        /// Login address.
        #[arg(long)]
        email: String,
        /// admin, campaign_manager or analyst.
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Revoke an ingest key by id.
    RevokeKey {
        /// The key's id.
        id: Uuid,
    },
    /// Kill switches: list, set, clear, and their audit trail.
    Switch {
        #[command(subcommand)]
        command: crate::admin_switch::SwitchCommand,
    },
}

/// Runs one admin command; results go to stdout, one value per line.
#[allow(clippy::print_stdout)]
pub async fn run(config: Config, args: AdminArgs) -> anyhow::Result<()> {
    let db: Box<dyn Store> = match &args.data {
        Some(dir) => Box::new(
            adpulse_sqlite::Lite::open(dir)
                .await
                .with_context(|| format!("opening {}", dir.display()))?,
        ),
        None => Box::new(
            Database::connect(&config.postgres)
                .await
                .context("connecting to postgres")?,
        ),
    };
    match args.command {
        Admin::CreateTenant { name } => println!("{}", db.create_tenant(&name).await?),
        Admin::CreateUser {
            tenant,
            email,
            role,
        } => {
            let role: adpulse_domain::Role = role
                .parse()
                .map_err(|()| anyhow::anyhow!("role must be admin, campaign_manager or analyst"))?;
            let password = std::env::var("ADPULSE_PASSWORD")
                .context("set ADPULSE_PASSWORD to the new user's password")?;
            anyhow::ensure!(
                password.len() >= 12,
                "the password must be at least 12 characters"
            );
            let hash = adpulse_api::auth::hash_password(password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let id = db
                .create_user(TenantId::from_uuid(tenant), email.trim(), &hash, role)
                .await?;
            println!("{id}");
        }
        Admin::CreateCampaign { tenant, name, id } => {
            let c: CampaignId = db
                .create_campaign(TenantId::from_uuid(tenant), &name, id)
                .await?;
            println!("{c}");
        }
        Admin::CreateKey { tenant, name } => {
            let mut random = [0u8; 32];
            getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let key = db
                .create_ingest_key(TenantId::from_uuid(tenant), &name, random)
                .await?;
            println!("id     {}\nsecret {}", key.id, key.secret);
        }
        Admin::Switch { command } => crate::admin_switch::run(&*db, command).await?,
        Admin::RevokeKey { id } => {
            anyhow::ensure!(db.revoke_ingest_key(id).await?, "no live key with id {id}");
            println!("revoked {id}");
        }
    }
    Ok(())
}
