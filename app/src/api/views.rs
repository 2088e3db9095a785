//! Saved views, for the header's "Views" menu.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::signed_in;

/// The signed-in user's saved views and the shared ones.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc, endpoint = "list_views")]
pub async fn list_saved_views() -> Result<Vec<SavedView>, AppError> {
    let (service, user) = signed_in()?;
    service.list_views(&user).await
}

/// Saves the page the user is on (its path and query) under `name`.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc, endpoint = "save_view")]
pub async fn save_current_view(
    name: String,
    path: String,
    query: Option<String>,
) -> Result<SavedView, AppError> {
    let (service, user) = signed_in()?;
    service
        .save_view(
            &user,
            NewSavedView {
                name,
                path,
                query,
                shared: false,
            },
        )
        .await
}
