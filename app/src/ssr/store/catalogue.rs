//! Applications, environments and versions: the catalogue deployments refer to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::{Application, Environment, Version};

/// Applications.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    async fn list_applications(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Application>, StoreError>;
    /// Active applications (the dashboard's figure: counted, not listed).
    async fn count_active_applications(&self) -> Result<i64, StoreError>;
    async fn get_application(&self, id: Uuid) -> Result<Application, StoreError>;
    /// By name, case-insensitively (names are unique that way).
    async fn find_application(&self, name: &str) -> Result<Application, StoreError>;
    async fn insert_application(
        &self,
        application: &Application,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// By repository path, case-insensitively (unique that way).
    async fn find_application_by_repository(
        &self,
        repository: &str,
    ) -> Result<Application, StoreError>;
    async fn update_application(
        &self,
        application: &Application,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
}

/// Environments, in pipeline order.
#[async_trait]
pub trait EnvironmentStore: Send + Sync {
    /// Environments in pipeline order (position, then name).
    async fn list_environments(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Environment>, StoreError>;
    async fn get_environment(&self, id: Uuid) -> Result<Environment, StoreError>;
    /// By name, case-insensitively (names are unique that way).
    async fn find_environment(&self, name: &str) -> Result<Environment, StoreError>;
    async fn insert_environment(
        &self,
        environment: &Environment,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn update_environment(
        &self,
        environment: &Environment,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// Active environments (the dashboard's figure: counted, not listed).
    async fn count_active_environments(&self) -> Result<i64, StoreError>;
    /// One past the highest position in use (0 when there are none).
    async fn next_environment_position(&self) -> Result<i32, StoreError>;
    /// Gives `ordered_ids[i]` position `i`, all in one transaction.
    async fn set_environment_positions(
        &self,
        ordered_ids: &[Uuid],
        updated_at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
}

/// The versions of each application.
#[async_trait]
pub trait VersionStore: Send + Sync {
    async fn list_versions(
        &self,
        application_id: Uuid,
        include_archived: bool,
    ) -> Result<Vec<Version>, StoreError>;
    async fn get_version(&self, id: Uuid) -> Result<Version, StoreError>;
    /// A version of the application by its exact identifier (unique per application).
    async fn find_version(
        &self,
        application_id: Uuid,
        identifier: &str,
    ) -> Result<Version, StoreError>;
    async fn insert_version(
        &self,
        version: &Version,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn update_version(
        &self,
        version: &Version,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
}
