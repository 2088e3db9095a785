//! Status badges ("production │ 1.4.2") for READMEs and wikis, and the read-only keys their
//! URLs carry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Secret;

/// A badge key's metadata; the key itself is shown once, at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BadgeKey {
    pub id: Uuid,
    pub name: String,
    /// The one application its badges may show; none: every application.
    pub application_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBadgeKey {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// An application's name or id, to limit the key to it; omitted: every application.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub application: Option<String>,
}

/// The answer to creating a badge key: its metadata plus the key, this one time.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedBadgeKey {
    #[serde(flatten)]
    pub info: BadgeKey,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub key: Secret,
}
