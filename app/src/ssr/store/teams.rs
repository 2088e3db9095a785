//! Teams and their members.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::{Application, Team, User};

#[async_trait]
pub trait TeamStore: Send + Sync {
    /// `Conflict("name")` when the name is taken (case-insensitively).
    async fn insert_team(&self, team: &Team, audit: &[AuditRecord]) -> Result<(), StoreError>;
    /// Every team, by name.
    async fn list_teams(&self) -> Result<Vec<Team>, StoreError>;
    async fn get_team(&self, id: Uuid) -> Result<Team, StoreError>;
    /// By name, case-insensitively.
    async fn find_team(&self, name: &str) -> Result<Team, StoreError>;
    async fn update_team(&self, team: &Team, audit: &[AuditRecord]) -> Result<(), StoreError>;
    /// Deletes the team and its memberships; its applications keep going, without a team.
    async fn delete_team(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// Replaces the team's members.
    async fn set_team_members(
        &self,
        id: Uuid,
        user_ids: &[Uuid],
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// The team's members, by username.
    async fn team_members(&self, id: Uuid) -> Result<Vec<User>, StoreError>;
    /// Creates `teams` and the `created` applications and saves the `updated` ones, all or
    /// nothing (a catalogue import).
    async fn import_catalogue(
        &self,
        teams: &[Team],
        created: &[Application],
        updated: &[Application],
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// The teams `user_id` belongs to, by name.
    async fn teams_of(&self, user_id: Uuid) -> Result<Vec<Team>, StoreError>;
}
