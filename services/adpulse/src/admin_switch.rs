//! `adpulse admin switch …`: the kill switches from a shell, on the same
//! store the services poll (Postgres, or `--data` for `adpulse up`, also
//! while it runs). Every change is written with its audit line and takes
//! effect on every replica within `ops.switch_poll_ms`.

use adpulse_domain::TenantId;
use adpulse_domain::ports::Store;
use adpulse_domain::switch::{CappingMode, Sink, Switch};
use clap::{Subcommand, ValueEnum};
use uuid::Uuid;

/// `adpulse admin switch <command>`.
#[derive(Subcommand)]
pub enum SwitchCommand {
    /// The switches in force, one per line: key, who, when, why.
    List,
    /// Turn a switch on (replacing the one in its slot).
    Set {
        #[command(subcommand)]
        switch: SwitchArg,
        /// Why (recorded in the audit trail; required).
        #[arg(long, global = true)]
        reason: Option<String>,
        /// Who (default: $USER).
        #[arg(long, global = true)]
        actor: Option<String>,
    },
    /// Turn off the switch in slot KEY (as `list` shows it).
    Clear {
        /// The slot: pause_ingest:<tenant>, capping, pause_sink:live,
        /// read_only_api.
        key: String,
        /// Why (recorded in the audit trail).
        #[arg(long)]
        reason: String,
        /// Who (default: $USER).
        #[arg(long)]
        actor: Option<String>,
    },
    /// The audit trail, newest first.
    Audit {
        /// How many lines.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// Which switch.
#[derive(Subcommand)]
pub enum SwitchArg {
    /// Refuse one tenant's events (503 with Retry-After; nothing
    /// acknowledged is lost: senders retry).
    PauseIngest {
        /// The tenant.
        #[arg(long)]
        tenant: Uuid,
    },
    /// Answer capping decisions without the counters' store.
    Capping {
        /// fail-open (allow every impression) or fail-closed (refuse).
        #[arg(long)]
        mode: Mode,
    },
    /// Stop the stream workers writing the live counters (written again
    /// from the committed totals once cleared).
    PauseLive,
    /// Refuse every change through the API (reads and logins work).
    ReadOnlyApi,
}

/// A capping mode on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Allow every impression.
    FailOpen,
    /// Refuse every impression.
    FailClosed,
}

fn switch_of(arg: &SwitchArg) -> Switch {
    match arg {
        SwitchArg::PauseIngest { tenant } => Switch::PauseIngest {
            tenant: TenantId::from_uuid(*tenant),
        },
        SwitchArg::Capping { mode } => Switch::Capping {
            mode: match mode {
                Mode::FailOpen => CappingMode::FailOpen,
                Mode::FailClosed => CappingMode::FailClosed,
            },
        },
        SwitchArg::PauseLive => Switch::PauseSink { sink: Sink::Live },
        SwitchArg::ReadOnlyApi => Switch::ReadOnlyApi,
    }
}

fn actor(given: Option<String>) -> String {
    let who = given
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{} (cli)", who.trim())
}

/// Runs one switch command; results go to stdout.
#[allow(clippy::print_stdout)]
pub async fn run(db: &dyn Store, command: SwitchCommand) -> anyhow::Result<()> {
    match command {
        SwitchCommand::List => {
            for r in db.switches().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    r.switch.key(),
                    r.actor,
                    r.set_at.to_rfc3339(),
                    r.reason
                );
            }
        }
        SwitchCommand::Set {
            switch,
            reason,
            actor: who,
        } => {
            let reason = reason.unwrap_or_default();
            anyhow::ensure!(!reason.trim().is_empty(), "--reason must say why");
            let s = switch_of(&switch);
            let who = actor(who);
            db.set_switch(&s, &who, reason.trim()).await?;
            tracing::info!(target: "audit", key = %s.key(), switch = ?s, actor = %who, reason = %reason.trim(), "kill switch set");
            println!("set {}", s.key());
        }
        SwitchCommand::Clear {
            key,
            reason,
            actor: who,
        } => {
            anyhow::ensure!(!reason.trim().is_empty(), "--reason must say why");
            let who = actor(who);
            let cleared = db.clear_switch(&key, &who, reason.trim()).await?;
            anyhow::ensure!(
                cleared.is_some(),
                "no switch in force at {key:?} (see `adpulse admin switch list`)"
            );
            tracing::info!(target: "audit", %key, actor = %who, reason = %reason.trim(), "kill switch cleared");
            println!("cleared {key}");
        }
        SwitchCommand::Audit { limit } => {
            for a in db.switch_audit(None, limit.clamp(1, 10_000)).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    a.seq,
                    a.at.to_rfc3339(),
                    a.action.as_str(),
                    a.key,
                    a.actor,
                    a.reason
                );
            }
        }
    }
    Ok(())
}
