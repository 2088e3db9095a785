//! Saved views: anyone signed in keeps their own; admins share theirs with everyone.

use chrono::SubsecRound;
use uuid::Uuid;

use super::audit::{entry, Target};
use super::state::{require, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::store::store_error;

/// A page of this app: a local path (never another site, never the API), no query or fragment.
fn check_path(path: &str, errors: &mut Vec<FieldError>) -> String {
    let path = required_text("path", path, VIEW_PATH_MAX, errors);
    let local = path.starts_with('/') && !path.starts_with("//") && !path.contains('\\');
    let api = path == "/api" || path.starts_with("/api/") || path.starts_with("/rpc/");
    if !path.is_empty()
        && (!local || api || path.contains(['?', '#']) || path.contains(char::is_whitespace))
    {
        errors.push(FieldError::new(
            "path",
            "must be a page of this app, like /compare (the query goes in `query`)",
        ));
    }
    path
}

fn check_query(query: Option<&str>, errors: &mut Vec<FieldError>) -> String {
    let query = query.unwrap_or_default().trim().trim_start_matches('?');
    check_characters("query", Some(query), errors);
    if query.chars().count() > VIEW_QUERY_MAX
        || query.contains('#')
        || query.contains(char::is_whitespace)
    {
        errors.push(FieldError::new(
            "query",
            format!(
                "must be a URL query of at most {VIEW_QUERY_MAX} characters, without # or spaces"
            ),
        ));
    }
    query.to_string()
}

impl Service {
    /// The actor's saved views and the shared ones: shared first, then by name.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_views(&self, actor: &User) -> Result<Vec<SavedView>, AppError> {
        require(actor, Role::Viewer)?;
        self.view_store()
            .list_views(actor.id)
            .await
            .map_err(store_error("view"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn save_view(
        &self,
        actor: &User,
        input: NewSavedView,
    ) -> Result<SavedView, AppError> {
        require(actor, Role::Viewer)?;
        if input.shared {
            require(actor, Role::Admin).map_err(|_| {
                AppError::Forbidden(
                    "only admins share views with everyone; save it for yourself".into(),
                )
            })?;
        }
        let mut errors = vec![];
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        let path = check_path(&input.path, &mut errors);
        let query = check_query(input.query.as_deref(), &mut errors);
        finish(errors)?;
        let view = SavedView {
            id: Uuid::now_v7(),
            name,
            path,
            query,
            shared: input.shared,
            owner_id: actor.id,
            created_at: now().trunc_subsecs(6),
        };
        let created = entry(
            Some(actor),
            "view.created",
            Target::of("view", view.id),
            Some(serde_json::json!({"name": view.name, "url": view.url(), "shared": view.shared})),
        );
        self.view_store()
            .insert_view(&view, &[created])
            .await
            .map_err(store_error("a view"))?;
        Ok(view)
    }

    /// Deletes one of the actor's views (admins: any view, shared ones included).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn delete_view(&self, actor: &User, id: Uuid) -> Result<(), AppError> {
        require(actor, Role::Viewer)?;
        let view = self
            .view_store()
            .get_view(id)
            .await
            .map_err(store_error("view"))?;
        if view.owner_id != actor.id && !actor.can(Role::Admin) {
            // Another person's own view is not even there for this actor.
            return Err(AppError::NotFound("view not found".into()));
        }
        let deleted = entry(
            Some(actor),
            "view.deleted",
            Target::of("view", id),
            Some(serde_json::json!({"name": view.name, "url": view.url()})),
        );
        self.view_store()
            .delete_view(id, &[deleted])
            .await
            .map_err(store_error("view"))
    }
}
