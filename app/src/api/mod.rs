//! Server functions (mounted under `/rpc`): thin wrappers that hand each call to the service
//! together with the signed-in user.

pub mod access;
pub mod audit;
pub mod catalog;
pub mod changes;
pub mod codec;
pub mod deployments;
pub mod hooks;
pub mod policy;
pub mod views;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub(crate) use ssr_context::*;

#[cfg(feature = "ssr")]
mod ssr_context {
    use std::sync::Arc;

    use leptos::prelude::use_context;

    use crate::error::AppError;
    use crate::model::User;
    use crate::ssr::{Authenticated, Service};

    pub(crate) fn service() -> Result<Arc<Service>, AppError> {
        use_context::<Arc<Service>>().ok_or_else(|| {
            tracing::error!("the service was not provided to the server function context");
            AppError::Internal
        })
    }

    pub(crate) fn request_parts() -> Result<http::request::Parts, AppError> {
        use_context::<http::request::Parts>().ok_or(AppError::Internal)
    }

    /// The service and the signed-in user (the middleware has already checked the credential).
    pub(crate) fn signed_in() -> Result<(Arc<Service>, User), AppError> {
        let user = request_parts()?
            .extensions
            .get::<Authenticated>()
            .map(|auth| auth.user.clone())
            .ok_or(AppError::Unauthorized)?;
        Ok((service()?, user))
    }
}
