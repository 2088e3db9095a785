//! Looking things up the way people and pipelines name them: by id or by name (names ignore
//! case). Text that can be neither — empty, or longer than any name — is simply not found.

use uuid::Uuid;

use super::state::Service;
use crate::model::{Application, Environment, Team, NAME_MAX};
use crate::ssr::store::StoreError;

/// What `named` can be: an id, a name, or nothing that exists.
enum Named<'a> {
    Id(Uuid),
    Name(&'a str),
    Neither,
}

fn read(named: &str) -> Named<'_> {
    let named = named.trim();
    match named.parse::<Uuid>() {
        Ok(id) => Named::Id(id),
        // No name holds control characters (and PostgreSQL cannot even compare a NUL).
        Err(_)
            if named.is_empty()
                || named.chars().count() > NAME_MAX
                || named.chars().any(char::is_control) =>
        {
            Named::Neither
        }
        Err(_) => Named::Name(named),
    }
}

impl Service {
    pub(super) async fn application_by_id_or_name(
        &self,
        named: &str,
    ) -> Result<Application, StoreError> {
        let store = self.application_store();
        match read(named) {
            Named::Id(id) => store.get_application(id).await,
            Named::Name(name) => store.find_application(name).await,
            Named::Neither => Err(StoreError::NotFound),
        }
    }

    pub(super) async fn environment_by_id_or_name(
        &self,
        named: &str,
    ) -> Result<Environment, StoreError> {
        let store = self.environment_store();
        match read(named) {
            Named::Id(id) => store.get_environment(id).await,
            Named::Name(name) => store.find_environment(name).await,
            Named::Neither => Err(StoreError::NotFound),
        }
    }

    pub(super) async fn team_by_id_or_name(&self, named: &str) -> Result<Team, StoreError> {
        let store = self.team_store();
        match read(named) {
            Named::Id(id) => store.get_team(id).await,
            Named::Name(name) => store.find_team(name).await,
            Named::Neither => Err(StoreError::NotFound),
        }
    }
}
