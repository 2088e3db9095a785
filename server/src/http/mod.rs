//! HTTP plumbing: the routes and their middleware, the connection loop, the built assets,
//! authentication, problem documents, metrics, and the limiter of memory-heavy responses.

pub(crate) mod assets;
pub mod auth;
pub(crate) mod badges;
pub(crate) mod heavy_responses;
pub mod metrics;
pub mod problem;
pub(crate) mod router;
pub(crate) mod serve;
pub(crate) mod sso;
