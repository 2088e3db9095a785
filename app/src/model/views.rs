//! Saved views: a page with its filters, kept under a name, for one person or (by an admin) for
//! everyone. Opening one is opening its URL, so it can be bookmarked and shared too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A saved view's path may be at most this long, its query this long.
pub const VIEW_PATH_MAX: usize = 200;
pub const VIEW_QUERY_MAX: usize = 2000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SavedView {
    pub id: Uuid,
    pub name: String,
    /// The page, e.g. `/compare`.
    pub path: String,
    /// Its query without the `?`, e.g. `from=staging&to=production`; may be empty.
    pub query: String,
    /// Everyone sees it (made by an admin); otherwise only its owner.
    pub shared: bool,
    pub owner_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl SavedView {
    /// Where opening it goes.
    pub fn url(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSavedView {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// A page of this app, starting with `/` (not `/api`).
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 200))]
    pub path: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
    pub query: Option<String>,
    /// For everyone (admins only).
    #[serde(default)]
    pub shared: bool,
}
