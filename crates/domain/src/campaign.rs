//! Campaigns as campaign managers run them: the lifecycle as an explicit
//! state machine, and who may do what.

use std::fmt;
use std::str::FromStr;

/// Where a campaign is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Being prepared; serves nothing.
    Draft,
    /// Approved, waiting for its start.
    Scheduled,
    /// Serving.
    Active,
    /// Stopped for now; may resume.
    Paused,
    /// Ran its course; kept for reports.
    Completed,
    /// Put away; read-only for good.
    Archived,
}

impl CampaignStatus {
    /// Every status.
    pub const ALL: [Self; 6] = [
        Self::Draft,
        Self::Scheduled,
        Self::Active,
        Self::Paused,
        Self::Completed,
        Self::Archived,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Archived => "archived",
        }
    }

    /// The statuses this one may move to: draft → scheduled or active;
    /// scheduled → active, paused or back to draft; active → paused or
    /// completed; paused → active or completed; completed → archived;
    /// archived → none.
    pub fn next(self) -> &'static [Self] {
        match self {
            Self::Draft => &[Self::Scheduled, Self::Active],
            Self::Scheduled => &[Self::Draft, Self::Active, Self::Paused],
            Self::Active => &[Self::Paused, Self::Completed],
            Self::Paused => &[Self::Active, Self::Completed],
            Self::Completed => &[Self::Archived],
            Self::Archived => &[],
        }
    }

    /// Whether moving from this status to `to` is allowed.
    pub fn can_become(self, to: Self) -> bool {
        self.next().contains(&to)
    }

    /// Whether the campaign's settings may still be edited.
    pub fn editable(self) -> bool {
        !matches!(self, Self::Completed | Self::Archived)
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CampaignStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// What a user may do within their tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the tenant: users, keys, campaigns, reports.
    Admin,
    /// Campaigns, creatives, targeting, rules; reports.
    CampaignManager,
    /// Reads campaigns and reports; changes nothing.
    Analyst,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 3] = [Self::Admin, Self::CampaignManager, Self::Analyst];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::CampaignManager => "campaign_manager",
            Self::Analyst => "analyst",
        }
    }

    /// May create and change campaigns, creatives, targeting and rules.
    pub fn manages_campaigns(self) -> bool {
        matches!(self, Self::Admin | Self::CampaignManager)
    }

    /// May manage users and ingest keys.
    pub fn administers(self) -> bool {
        self == Self::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in CampaignStatus::ALL {
            assert_eq!(s.as_str().parse::<CampaignStatus>(), Ok(s));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("deleted".parse::<CampaignStatus>().is_err());
    }

    #[test]
    fn the_lifecycle_only_moves_forward_except_pause_and_unschedule() {
        use CampaignStatus::*;
        assert!(Draft.can_become(Active));
        assert!(Active.can_become(Paused) && Paused.can_become(Active));
        assert!(!Active.can_become(Draft));
        assert!(!Completed.can_become(Active));
        assert!(Archived.next().is_empty());
        // Nothing moves to itself, and archived is reached only from completed.
        for s in CampaignStatus::ALL {
            assert!(!s.can_become(s), "{s}");
            assert_eq!(s.can_become(Archived), s == Completed, "{s}");
        }
    }
}
