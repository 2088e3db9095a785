//! What changed between two deployed versions: the commits pipelines send, the tickets their
//! titles name, and the answer to "what is in staging that is not in production yet".

use super::*;

/// At most this many commits in one request (a deployment's or `POST /api/versions/{id}/commits`).
pub const COMMITS_PER_REQUEST_MAX: usize = 5_000;
/// A commit title (its subject line) longer than this is refused, never clipped silently.
pub const COMMIT_TITLE_MAX: usize = 1_000;
pub const COMMIT_URL_MAX: usize = 2_000;
/// Commits per page of `GET /api/changes` (default and most).
pub const CHANGES_PAGE_DEFAULT: u32 = 100;
pub const CHANGES_PAGE_MAX: u32 = 1_000;

/// One commit as a pipeline sends it (`git log --format=%H %s %an %aI`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitInput {
    /// The full hash (40 or 64 hex digits).
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = "^([0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$")
    )]
    pub sha: String,
    /// The subject line.
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 1000))]
    pub title: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 255))]
    pub author: String,
    pub authored_at: DateTime<Utc>,
    /// A link to the commit on its forge.
    #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The commits of a version since another commit: what `git log <since>..<version>` printed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitList {
    /// The commit the list stops before (the one deployed before, usually); absent when the
    /// list runs from the repository's first commit.
    #[cfg_attr(feature = "ssr", schema(pattern = "^[0-9A-Fa-f]{7,64}$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// False when `since` is not an ancestor of the version's commit (history was rewritten,
    /// e.g. by a rebase): the list is then exactly what the version has that `since` had not.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub since_is_ancestor: bool,
    /// Newest first, as git log prints them; at most 5,000.
    pub commits: Vec<CommitInput>,
    /// How many more commits the range holds beyond those sent (the sender's bound).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated: u32,
}

fn yes() -> bool {
    true
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What `POST /api/versions/{id}/commits` kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CommitsStored {
    pub version_id: Uuid,
    /// The commits in the list (a list sent again for the same `since` is kept once).
    pub commits: u32,
    /// The version built from `since`, when deploytrack knows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version_id: Option<Uuid>,
    /// False when this version already had a list from `since` (nothing new was stored).
    pub stored: bool,
}

/// A commit as deploytrack answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    pub sha: String,
    pub title: String,
    pub author: String,
    pub authored_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The ticket keys its title names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<String>,
}

/// A ticket key found in commit titles, with its link when a template is configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Which way the later side lies from the earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeDirection {
    /// `to` has commits `from` has not: they are listed.
    Ahead,
    /// `to` lacks commits `from` has (a rollback): those are listed.
    Behind,
    /// The same version.
    Same,
}

/// How much of the range deploytrack was told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeSource {
    /// Every commit in the range was sent: the list is exact.
    Recorded,
    /// Some were (a version in between came without commits, a list was truncated, or the two
    /// versions' lists never meet).
    Partial,
    /// None were.
    Unavailable,
}

/// A version on the way from one side to the other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangeVersion {
    pub id: Uuid,
    pub version_identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/changes`: what lies between two versions of one application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    pub application: String,
    pub application_id: Uuid,
    /// Absent when the `from` environment runs nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ChangeVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<ChangeVersion>,
    pub direction: ChangeDirection,
    /// The versions after the earlier side up to the later one, newest first.
    pub versions: Vec<ChangeVersion>,
    /// This page of the commits (newest first).
    pub commits: Vec<Commit>,
    /// How many commits the range holds (every page).
    pub total_commits: u32,
    /// Every ticket the range's commits name (every page), in first-seen order.
    pub tickets: Vec<Ticket>,
    /// How many commits the senders left out.
    pub truncated: u32,
    pub source: ChangeSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_url: Option<String>,
    /// The next page's cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
