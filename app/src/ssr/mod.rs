//! Server-only code: the storage contract and the service that holds every business rule.

pub mod ordering;
pub mod service;
pub mod store;

pub use service::Service;
pub use store::{Store, StoreError};
