//! The domain's data as it crosses the wire (JSON camelCase), shared by server and browser, by
//! area; everything is re-exported here, so `crate::model::X` names any of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, FieldError};

mod access;
mod audit;
mod badges;
mod catalog;
mod changes;
mod deployments;
mod drift;
mod hooks;
mod import;
mod insights;
mod policy;
mod teams;
mod validation;
mod views;
mod webhooks;

pub use access::*;
pub use audit::*;
pub use badges::*;
pub use catalog::*;
pub use changes::*;
pub use deployments::*;
pub use drift::*;
pub use hooks::*;
pub use import::*;
pub use insights::*;
pub use policy::*;
pub use teams::*;
pub use validation::*;
pub use views::*;
pub use webhooks::*;
