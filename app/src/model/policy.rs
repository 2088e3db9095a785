//! Deploy policy (issue 35): freeze windows, locks, promotion rules, and the check every
//! pipeline can ask before deploying. Recording is never refused by policy; a deployment
//! recorded while blocked carries what blocked it.

use super::*;

/// Longest freeze occurrence, one-off window or soak: a year and a day (leap years).
pub const POLICY_SPAN_MAX_DAYS: i64 = 366;
/// Occurrences a recurring freeze may have at most (`COUNT`).
pub const FREEZE_COUNT_MAX: u32 = 1_000;
/// The widest `from`..`to` range the freeze listing expands occurrences over.
pub const FREEZE_RANGE_MAX_DAYS: i64 = 400;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewFreeze {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(max_length = 1000))]
    #[serde(default)]
    pub reason: Option<String>,
    /// The environments frozen; every environment marked production when absent.
    #[serde(default)]
    pub environment_ids: Option<Vec<Uuid>>,
    /// The applications frozen; all when absent.
    #[serde(default)]
    pub application_ids: Option<Vec<Uuid>>,
    /// A one-off window's start; with `rrule`, the first instant the recurrence may start
    /// (its DTSTART, read in `timeZone`; today's midnight there when absent).
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// A one-off window's end (exclusive).
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// An RFC 5545 recurrence rule, e.g. `FREQ=WEEKLY;BYDAY=FR;BYHOUR=16` (DAILY, WEEKLY,
    /// MONTHLY or YEARLY; at most 1,000 occurrences with COUNT).
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    #[serde(default)]
    pub rrule: Option<String>,
    /// With `rrule`: how long each occurrence lasts, ISO 8601 (`PT64H`, `P2DT12H`; weeks,
    /// days, hours, minutes and seconds; at most 366 days).
    #[serde(default)]
    pub duration: Option<String>,
    /// IANA time zone the rule's hours are read in (`Europe/Berlin`); UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// One occurrence of a freeze: from `startsAt` (inclusive) to `endsAt` (exclusive), or to
/// `endedAt` when it was ended early.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FreezeOccurrence {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
}

impl FreezeOccurrence {
    /// When it stops blocking: its end, or when it was ended early.
    pub fn until(&self) -> DateTime<Utc> {
        self.ended_at.unwrap_or(self.ends_at)
    }

    pub fn is_active_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.until()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Freeze {
    pub id: Uuid,
    pub name: String,
    pub reason: Option<String>,
    /// None: every production environment.
    pub environment_ids: Option<Vec<Uuid>>,
    /// None: every application.
    pub application_ids: Option<Vec<Uuid>>,
    pub starts_at: DateTime<Utc>,
    /// A one-off window's end; None for a recurring freeze.
    pub ends_at: Option<DateTime<Utc>>,
    pub rrule: Option<String>,
    pub duration: Option<String>,
    pub time_zone: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    /// The occurrences asked for: active at `activeAt`, or within `from`..`to`, or (by
    /// default) the active one and the next.
    pub occurrences: Vec<FreezeOccurrence>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndFreezeRequest {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 1000))]
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewLock {
    pub environment_id: Uuid,
    /// Only this application in the environment; the whole environment when absent.
    #[serde(default)]
    pub application_id: Option<Uuid>,
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 1000))]
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub application_id: Option<Uuid>,
    pub reason: String,
    pub created_by: Uuid,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
}

impl Lock {
    pub fn holds_at(&self, at: DateTime<Utc>) -> bool {
        self.created_at <= at && self.released_at.is_none_or(|released| at < released)
    }

    /// Whether it blocked deploying `application_id` to `environment_id` at `at`: a lock on the
    /// environment, or on that application in it, that was held then.
    pub fn blocks(&self, environment_id: Uuid, application_id: Uuid, at: DateTime<Utc>) -> bool {
        self.environment_id == environment_id
            && self.application_id.is_none_or(|id| id == application_id)
            && self.holds_at(at)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionRequirement {
    pub environment_id: Uuid,
    /// ISO 8601, e.g. `PT24H` (weeks, days, hours, minutes, seconds; at most 366 days).
    pub min_soak: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromotionRuleRequest {
    pub requires: Vec<PromotionRequirement>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PromotionRule {
    pub environment_id: Uuid,
    pub requires: Vec<PromotionRequirement>,
}

/// Why a deployment may not go ahead now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PolicyBlocker {
    /// `freeze`, `lock` or `promotion`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The freeze's or lock's id; for promotion, the required environment's.
    pub id: Uuid,
    pub message: String,
    /// When it stops blocking, if known (a freeze's end, a soak's completion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// The answer to "may I deploy?".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeployCheck {
    pub allowed: bool,
    pub blockers: Vec<PolicyBlocker>,
    /// The first instant nothing known blocks it (absent while a lock holds, which has no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_allowed_at: Option<DateTime<Utc>>,
}

/// What the dashboard shows about policy: active freezes by environment, open locks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBanner {
    /// Freeze occurrences in force.
    pub freezes: Vec<ActiveFreeze>,
    pub locks: Vec<Lock>,
    /// Current deployments recorded through a blocker (the matrix marks their cells).
    pub violating_deployments: Vec<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFreeze {
    pub id: Uuid,
    pub name: String,
    pub reason: Option<String>,
    pub until: DateTime<Utc>,
    pub environment_ids: Vec<Uuid>,
    pub environment_names: Vec<String>,
}

/// The `/policy` page's data: freezes with their occurrences over the next eight weeks (from
/// `from`, the server's day start), open locks and promotion rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOverview {
    pub now: DateTime<Utc>,
    pub freezes: Vec<Freeze>,
    pub locks: Vec<Lock>,
    pub rules: Vec<PromotionRule>,
}
