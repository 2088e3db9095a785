//! Every business rule lives here, once. REST handlers and server functions are thin doors onto
//! it: each call names the acting user, and the role check happens here, not at the door. This
//! file only composes: the service value and its shared helpers are in `state`, each area of
//! rules in its own file.

mod access;
mod audit;
pub mod badges;
mod catalog;
pub mod changes;
mod checkpoints;
mod compare;
pub mod deployments;
pub mod drift;
pub mod hooks;
mod import;
mod insights;
mod named;
pub mod policy;
mod recording;
mod state;
mod teams;
mod views;
pub mod webhooks;

pub use crate::ssr::clock::now;
pub use crate::ssr::kept::matrix::MatrixJsonPage;
pub use access::{
    AccessPolicy, Credential, ProviderPerson, ProviderSignIn, RoleMapping, SingleSignOn,
};
pub use audit::{RequestOrigin, REQUEST_ORIGIN};
pub use state::{Change, Service};
