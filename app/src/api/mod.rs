//! Server functions (mounted under `/rpc`): thin wrappers that hand each call to the service.

pub mod catalog;

#[cfg(feature = "ssr")]
pub(crate) fn service() -> Result<std::sync::Arc<crate::ssr::Service>, crate::error::AppError> {
    leptos::prelude::use_context::<std::sync::Arc<crate::ssr::Service>>().ok_or_else(|| {
        tracing::error!("the service was not provided to the server function context");
        crate::error::AppError::Internal
    })
}
