//! The deployments insights measure, with what followed each.

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A deployment to the environments insights measure, with what followed it in its pair and
/// when its version first reached those environments and any other (see `insight_rows`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsightRecord {
    pub deployment_id: Uuid,
    pub application_id: Uuid,
    pub environment_id: Uuid,
    pub version_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    /// The next live deployment in the same pair, if any.
    pub next_date: Option<DateTime<Utc>>,
    pub next_version_identifier: Option<String>,
    pub next_version_created_at: Option<DateTime<Utc>>,
    /// The version's first live deployment to the measured environments / to any other.
    pub first_here: Option<DateTime<Utc>>,
    pub first_elsewhere: Option<DateTime<Utc>>,
}

/// The deployments insights measure.
#[async_trait]
pub trait InsightStore: Send + Sync {
    /// Hands `each` every deployment (retracted ones too) to `environment_ids` dated in
    /// [from, to), of the given applications or all, with what followed each (see
    /// [`InsightRecord`]). They come a few applications at a time, each application's in date
    /// order, so a year of a large organisation is never held at once. Reads only that range (and
    /// one index seek per pair and per version), never the whole history.
    async fn insight_rows(
        &self,
        environment_ids: &[Uuid],
        application_ids: Option<&[Uuid]>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        each: &mut (dyn FnMut(InsightRecord) + Send),
    ) -> Result<(), StoreError>;
}
