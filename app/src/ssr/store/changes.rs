//! Commits and the ranges pipelines send them in (issue 36).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::Version;

/// A commit as stored (once per application).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRecord {
    pub sha: String,
    pub title: String,
    pub author: String,
    pub authored_at: DateTime<Utc>,
    pub url: Option<String>,
}

/// One list of commits sent for a version: `git log <since_sha>..<version>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRangeRecord {
    pub id: Uuid,
    pub version_id: Uuid,
    /// '' when the list runs from the repository's first commit.
    pub since_sha: String,
    pub base_version_id: Option<Uuid>,
    pub base_is_ancestor: bool,
    pub commit_count: i32,
    pub truncated: i32,
    pub created_at: DateTime<Utc>,
}

/// A commit of a range, where it stands in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeCommitRecord {
    pub range_id: Uuid,
    pub position: i32,
    pub commit: CommitRecord,
}

/// A version reached from another through ranges whose base is an ancestor, `steps` ranges away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReachedVersion {
    pub version_id: Uuid,
    pub steps: i32,
}

#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// Keeps a range and its commits (each commit's details once per application), with the
    /// audit entries; false, storing nothing, when the version already has a range from the
    /// same `since_sha`.
    async fn insert_commit_range(
        &self,
        application_id: Uuid,
        range: &CommitRangeRecord,
        commits: &[CommitRecord],
        audit: &[AuditRecord],
    ) -> Result<bool, StoreError>;
    /// The newest version of the application built from `sha` (either may be the other's
    /// abbreviation).
    async fn version_by_commit(
        &self,
        application_id: Uuid,
        sha: &str,
    ) -> Result<Option<Uuid>, StoreError>;
    /// Every version reachable from `version_id` (itself included, at 0 steps) through ranges
    /// whose base is an ancestor, each with its fewest steps, up to `max_steps` away.
    async fn reachable_versions(
        &self,
        version_id: Uuid,
        max_steps: i32,
    ) -> Result<Vec<ReachedVersion>, StoreError>;
    /// The ranges sent for these versions.
    async fn commit_ranges(
        &self,
        version_ids: &[Uuid],
    ) -> Result<Vec<CommitRangeRecord>, StoreError>;
    /// The commits of `range_ids` that no range of `excluded_versions` holds.
    async fn range_commits(
        &self,
        application_id: Uuid,
        range_ids: &[Uuid],
        excluded_versions: &[Uuid],
    ) -> Result<Vec<RangeCommitRecord>, StoreError>;
    /// Every commit sent for these versions, with when it was authored: (version, sha, authored).
    async fn version_commit_times(
        &self,
        version_ids: &[Uuid],
    ) -> Result<Vec<(Uuid, String, DateTime<Utc>)>, StoreError>;
    /// These versions (unknown ids are left out).
    async fn versions_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Version>, StoreError>;
}
