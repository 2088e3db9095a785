//! Applications, environments and versions: anyone signed in reads; editors and admins write.

use chrono::SubsecRound;
use uuid::Uuid;

use super::audit::{changes, entry, Target};
use super::state::{require, Change, Service};
use crate::error::AppError;
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::ordering;
use crate::ssr::store::store_error;

impl Service {
    // ---- applications ----

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_applications(
        &self,
        actor: &User,
        include_archived: bool,
    ) -> Result<Vec<Application>, AppError> {
        require(actor, Role::Viewer)?;
        self.application_store()
            .list_applications(include_archived)
            .await
            .map_err(store_error("application"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn get_application(&self, actor: &User, id: Uuid) -> Result<Application, AppError> {
        require(actor, Role::Viewer)?;
        self.application_store()
            .get_application(id)
            .await
            .map_err(store_error("application"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_application(
        &self,
        actor: &User,
        input: NewApplication,
    ) -> Result<Application, AppError> {
        require(actor, Role::Editor)?;
        let mut errors = vec![];
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        let description = optional_text(
            "description",
            input.description.as_deref(),
            DESCRIPTION_MAX,
            &mut errors,
        );
        let repository = repository("repository", input.repository.as_deref(), &mut errors);
        finish(errors)?;
        let team_id = match input.team.as_deref().map(str::trim) {
            Some(team) if !team.is_empty() => Some(self.team_named(team, "team").await?.id),
            _ => None,
        };
        let now = now();
        let application = Application {
            id: Uuid::now_v7(),
            name,
            description,
            repository,
            team_id,
            created_at: now,
            updated_at: now,
            archived_at: None,
        };
        self.application_store()
            .insert_application(
                &application,
                &[entry(
                    Some(actor),
                    "application.created",
                    Target::of("application", application.id),
                    None,
                )],
            )
            .await
            .map_err(store_error("an application"))?;
        self.announce(Change::Everything);
        Ok(application)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn update_application(
        &self,
        actor: &User,
        id: Uuid,
        patch: ApplicationPatch,
    ) -> Result<Application, AppError> {
        require(actor, Role::Editor)?;
        let before = self.get_application(actor, id).await?;
        let mut application = before.clone();
        let mut errors = vec![];
        if let Some(name) = &patch.name {
            application.name = required_text("name", name, NAME_MAX, &mut errors);
        }
        if let Some(description) = &patch.description {
            application.description = optional_text(
                "description",
                Some(description),
                DESCRIPTION_MAX,
                &mut errors,
            );
        }
        if let Some(path) = &patch.repository {
            application.repository = repository("repository", Some(path), &mut errors);
        }
        finish(errors)?;
        match patch.team.as_deref().map(str::trim) {
            Some("") => application.team_id = None,
            Some(team) => application.team_id = Some(self.team_named(team, "team").await?.id),
            None => {}
        }
        application.updated_at = now();
        let Some(changed) = changes(&before, &application, &["updatedAt"]) else {
            return Ok(before);
        };
        self.application_store()
            .update_application(
                &application,
                &[entry(
                    Some(actor),
                    "application.updated",
                    Target::of("application", id),
                    Some(changed),
                )],
            )
            .await
            .map_err(store_error("an application"))?;
        self.announce(Change::Everything);
        Ok(application)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn archive_application(
        &self,
        actor: &User,
        id: Uuid,
    ) -> Result<Application, AppError> {
        require(actor, Role::Editor)?;
        let mut application = self.get_application(actor, id).await?;
        if application.archived_at.is_none() {
            let now = now();
            application.archived_at = Some(now);
            application.updated_at = now;
            self.application_store()
                .update_application(
                    &application,
                    &[entry(
                        Some(actor),
                        "application.archived",
                        Target::of("application", id),
                        None,
                    )],
                )
                .await
                .map_err(store_error("application"))?;
            self.announce(Change::Everything);
        }
        Ok(application)
    }

    // ---- environments ----

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_environments(
        &self,
        actor: &User,
        include_archived: bool,
    ) -> Result<Vec<Environment>, AppError> {
        require(actor, Role::Viewer)?;
        self.environment_store()
            .list_environments(include_archived)
            .await
            .map_err(store_error("environment"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn get_environment(&self, actor: &User, id: Uuid) -> Result<Environment, AppError> {
        require(actor, Role::Viewer)?;
        self.environment_store()
            .get_environment(id)
            .await
            .map_err(store_error("environment"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_environment(
        &self,
        actor: &User,
        input: NewEnvironment,
    ) -> Result<Environment, AppError> {
        require(actor, Role::Editor)?;
        let mut errors = vec![];
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        let description = optional_text(
            "description",
            input.description.as_deref(),
            DESCRIPTION_MAX,
            &mut errors,
        );
        check_position(input.position, &mut errors);
        finish(errors)?;
        let position = match input.position {
            Some(position) => position,
            None => self
                .environment_store()
                .next_environment_position()
                .await
                .map_err(store_error("environment"))?,
        };
        let now = now();
        let environment = Environment {
            id: Uuid::now_v7(),
            name,
            description,
            position,
            is_production: input.is_production.unwrap_or(false),
            created_at: now,
            updated_at: now,
            archived_at: None,
        };
        self.environment_store()
            .insert_environment(
                &environment,
                &[entry(
                    Some(actor),
                    "environment.created",
                    Target::of("environment", environment.id),
                    None,
                )],
            )
            .await
            .map_err(store_error("an environment"))?;
        self.announce(Change::Everything);
        Ok(environment)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn update_environment(
        &self,
        actor: &User,
        id: Uuid,
        patch: EnvironmentPatch,
    ) -> Result<Environment, AppError> {
        require(actor, Role::Editor)?;
        let before = self.get_environment(actor, id).await?;
        let mut environment = before.clone();
        let mut errors = vec![];
        if let Some(name) = &patch.name {
            environment.name = required_text("name", name, NAME_MAX, &mut errors);
        }
        if let Some(description) = &patch.description {
            environment.description = optional_text(
                "description",
                Some(description),
                DESCRIPTION_MAX,
                &mut errors,
            );
        }
        check_position(patch.position, &mut errors);
        finish(errors)?;
        if let Some(position) = patch.position {
            environment.position = position;
        }
        if let Some(is_production) = patch.is_production {
            environment.is_production = is_production;
        }
        environment.updated_at = now();
        let Some(changed) = changes(&before, &environment, &["updatedAt"]) else {
            return Ok(before);
        };
        self.environment_store()
            .update_environment(
                &environment,
                &[entry(
                    Some(actor),
                    "environment.updated",
                    Target::of("environment", id),
                    Some(changed),
                )],
            )
            .await
            .map_err(store_error("an environment"))?;
        self.announce(Change::Everything);
        Ok(environment)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn archive_environment(
        &self,
        actor: &User,
        id: Uuid,
    ) -> Result<Environment, AppError> {
        require(actor, Role::Editor)?;
        let mut environment = self.get_environment(actor, id).await?;
        if environment.archived_at.is_none() {
            let now = now();
            environment.archived_at = Some(now);
            environment.updated_at = now;
            self.environment_store()
                .update_environment(
                    &environment,
                    &[entry(
                        Some(actor),
                        "environment.archived",
                        Target::of("environment", id),
                        None,
                    )],
                )
                .await
                .map_err(store_error("environment"))?;
            self.announce(Change::Everything);
        }
        Ok(environment)
    }

    /// Puts the active environments in exactly the given order.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn reorder_environments(
        &self,
        actor: &User,
        ordered_ids: Vec<Uuid>,
    ) -> Result<Vec<Environment>, AppError> {
        require(actor, Role::Editor)?;
        let current = self.list_environments(actor, false).await?;
        let mut expected: Vec<Uuid> = current.iter().map(|e| e.id).collect();
        let mut given = ordered_ids.clone();
        expected.sort();
        given.sort();
        if expected != given {
            return Err(AppError::field(
                "ids",
                "must list every active environment exactly once",
            ));
        }
        let order = |ids: Vec<Uuid>| {
            serde_json::Value::from(ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
        };
        let reordered = serde_json::json!({"order": {
            "before": order(current.iter().map(|e| e.id).collect()),
            "after": order(ordered_ids.clone()),
        }});
        self.environment_store()
            .set_environment_positions(
                &ordered_ids,
                now(),
                &[entry(
                    Some(actor),
                    "environment.reordered",
                    Target {
                        kind: "environment",
                        id: None,
                    },
                    Some(reordered),
                )],
            )
            .await
            .map_err(store_error("environment"))?;
        self.announce(Change::Everything);
        self.list_environments(actor, false).await
    }

    /// Swaps an environment with its neighbour in the pipeline (`earlier` = towards DEV).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn move_environment(
        &self,
        actor: &User,
        id: Uuid,
        earlier: bool,
    ) -> Result<Vec<Environment>, AppError> {
        require(actor, Role::Editor)?;
        let mut ids: Vec<Uuid> = self
            .list_environments(actor, false)
            .await?
            .iter()
            .map(|e| e.id)
            .collect();
        let index = ids
            .iter()
            .position(|candidate| *candidate == id)
            .ok_or_else(|| AppError::NotFound("environment not found".into()))?;
        let neighbour = if earlier {
            index.checked_sub(1)
        } else {
            Some(index + 1).filter(|n| *n < ids.len())
        };
        if let Some(neighbour) = neighbour {
            ids.swap(index, neighbour);
        }
        self.reorder_environments(actor, ids).await
    }

    // ---- versions ----

    /// Newest first, semver-aware.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %application_id))]
    pub async fn list_versions(
        &self,
        actor: &User,
        application_id: Uuid,
        include_archived: bool,
    ) -> Result<Vec<Version>, AppError> {
        require(actor, Role::Viewer)?;
        self.get_application(actor, application_id).await?;
        let mut versions = self
            .version_store()
            .list_versions(application_id, include_archived)
            .await
            .map_err(store_error("version"))?;
        ordering::sort_newest_first(&mut versions);
        Ok(versions)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn get_version(&self, actor: &User, id: Uuid) -> Result<Version, AppError> {
        require(actor, Role::Viewer)?;
        self.version_store()
            .get_version(id)
            .await
            .map_err(store_error("version"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %application_id))]
    pub async fn create_version(
        &self,
        actor: &User,
        application_id: Uuid,
        input: NewVersion,
    ) -> Result<Version, AppError> {
        require(actor, Role::Editor)?;
        let application = self.get_application(actor, application_id).await?;
        let mut errors = vec![];
        let version_identifier = required_text(
            "versionIdentifier",
            &input.version_identifier,
            NAME_MAX,
            &mut errors,
        );
        let notes = optional_text("notes", input.notes.as_deref(), NOTES_MAX, &mut errors);
        let commit_sha = commit_sha("commitSha", input.commit_sha.as_deref(), &mut errors);
        check_instant("releasedAt", input.released_at.as_ref(), &mut errors);
        if application.archived_at.is_some() {
            errors.push(crate::error::FieldError::new(
                "applicationId",
                "application is archived",
            ));
        }
        finish(errors)?;
        let version = Version {
            id: Uuid::now_v7(),
            application_id,
            version_identifier,
            released_at: input.released_at.map(|t| t.trunc_subsecs(6)),
            notes,
            commit_sha,
            created_at: now(),
            archived_at: None,
        };
        self.version_store()
            .insert_version(
                &version,
                &[entry(
                    Some(actor),
                    "version.created",
                    Target::of("version", version.id),
                    None,
                )],
            )
            .await
            .map_err(store_error("a version"))?;
        Ok(version)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn update_version(
        &self,
        actor: &User,
        id: Uuid,
        patch: VersionPatch,
    ) -> Result<Version, AppError> {
        require(actor, Role::Editor)?;
        let before = self.get_version(actor, id).await?;
        let mut version = before.clone();
        let mut errors = vec![];
        if let Some(notes) = &patch.notes {
            version.notes = optional_text("notes", Some(notes), NOTES_MAX, &mut errors);
        }
        check_instant("releasedAt", patch.released_at.as_ref(), &mut errors);
        finish(errors)?;
        if let Some(released_at) = patch.released_at {
            version.released_at = Some(released_at.trunc_subsecs(6));
        }
        let Some(changed) = changes(&before, &version, &[]) else {
            return Ok(before);
        };
        self.version_store()
            .update_version(
                &version,
                &[entry(
                    Some(actor),
                    "version.updated",
                    Target::of("version", id),
                    Some(changed),
                )],
            )
            .await
            .map_err(store_error("version"))?;
        Ok(version)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn archive_version(&self, actor: &User, id: Uuid) -> Result<Version, AppError> {
        require(actor, Role::Editor)?;
        let mut version = self.get_version(actor, id).await?;
        if version.archived_at.is_none() {
            version.archived_at = Some(now());
            self.version_store()
                .update_version(
                    &version,
                    &[entry(
                        Some(actor),
                        "version.archived",
                        Target::of("version", id),
                        None,
                    )],
                )
                .await
                .map_err(store_error("version"))?;
        }
        Ok(version)
    }
}

fn check_position(position: Option<i32>, errors: &mut Vec<crate::error::FieldError>) {
    if let Some(position) = position {
        if !(0..=10_000).contains(&position) {
            errors.push(crate::error::FieldError::new(
                "position",
                "must be between 0 and 10000",
            ));
        }
    }
}
