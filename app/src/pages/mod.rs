//! One file per page.

pub mod application;
pub mod applications;
pub mod audit;
pub mod compare;
pub mod dashboard;
pub mod deployments;
pub mod environment;
pub mod environments;
pub mod hooks;
pub mod insights;
pub mod login;
pub mod policy;
pub mod record;
pub mod tokens;
pub mod users;
pub mod webhooks;

use uuid::Uuid;

/// The `:id` route parameter as a UUID, if it is one.
pub fn id_param() -> impl Fn() -> Option<Uuid> + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || {
        use leptos::prelude::Get;
        params
            .get()
            .get("id")
            .and_then(|raw| Uuid::parse_str(&raw).ok())
    }
}
