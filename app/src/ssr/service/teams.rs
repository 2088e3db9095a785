//! Teams (admin): who owns which applications, and who belongs to them. Everyone reads them;
//! a signed-in person's own teams make their "My teams" view.

use uuid::Uuid;

use super::audit::{changes, entry, Target};
use super::state::{require, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::store::{store_error, StoreError};

/// The word that stands for "the teams I belong to" wherever a team is named (`?team=mine`).
pub const MY_TEAMS: &str = "mine";

/// A team's name: required, and not the word that means "my teams".
fn check_name(name: &str, errors: &mut Vec<FieldError>) -> String {
    let name = required_text("name", name, NAME_MAX, errors);
    if name.eq_ignore_ascii_case(MY_TEAMS) {
        errors.push(FieldError::new(
            "name",
            format!("'{MY_TEAMS}' is kept for the My teams view; choose another name"),
        ));
    }
    name
}

/// A Slack channel's name: `#` and at most 80 of the characters Slack allows.
fn check_channel(channel: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let channel = optional_text("slackChannel", channel, NAME_MAX, errors)?;
    let name = channel.strip_prefix('#').unwrap_or(&channel);
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    if name.is_empty() || name.len() > 80 || !name.chars().all(allowed) {
        errors.push(FieldError::new(
            "slackChannel",
            "must be a Slack channel name like #payments-releases (lower-case letters, digits, - _ .)",
        ));
    }
    Some(format!("#{name}"))
}

impl Service {
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_teams(&self, actor: &User) -> Result<Vec<Team>, AppError> {
        require(actor, Role::Viewer)?;
        self.team_store()
            .list_teams()
            .await
            .map_err(store_error("team"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn get_team(&self, actor: &User, id: Uuid) -> Result<Team, AppError> {
        require(actor, Role::Viewer)?;
        self.team_store()
            .get_team(id)
            .await
            .map_err(store_error("team"))
    }

    /// The teams the actor belongs to.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn my_teams(&self, actor: &User) -> Result<Vec<Team>, AppError> {
        require(actor, Role::Viewer)?;
        self.team_store()
            .teams_of(actor.id)
            .await
            .map_err(store_error("team"))
    }

    /// The teams a `?team=` names: one team (its name or id), or `mine` (the actor's own, perhaps
    /// none). None when it names nothing (absent or blank): no filter.
    pub(super) async fn team_scope(
        &self,
        actor: &User,
        team: Option<&str>,
    ) -> Result<Option<Vec<Uuid>>, AppError> {
        let Some(team) = team.map(str::trim).filter(|team| !team.is_empty()) else {
            return Ok(None);
        };
        if team.eq_ignore_ascii_case(MY_TEAMS) {
            let mine = self.my_teams(actor).await?;
            return Ok(Some(mine.into_iter().map(|team| team.id).collect()));
        }
        Ok(Some(vec![self.team_named(team, "team").await?.id]))
    }

    /// As [`Self::team_scope`], naming a team among `teams` (every team, already read: the
    /// dashboard reads them for its picker anyway).
    pub(super) async fn team_scope_among(
        &self,
        actor: &User,
        team: Option<&str>,
        teams: &[Team],
    ) -> Result<Option<Vec<Uuid>>, AppError> {
        let Some(named) = team.map(str::trim).filter(|team| !team.is_empty()) else {
            return Ok(None);
        };
        let found = teams.iter().find(|team| {
            team.name.eq_ignore_ascii_case(named) || team.id.to_string().eq_ignore_ascii_case(named)
        });
        match found {
            Some(team) => Ok(Some(vec![team.id])),
            None => self.team_scope(actor, Some(named)).await,
        }
    }

    /// A team by id or name; `field` names it in the error when there is none.
    pub(super) async fn team_named(&self, named: &str, field: &str) -> Result<Team, AppError> {
        let named = named.trim();
        let found = self.team_by_id_or_name(named).await;
        match found {
            Ok(team) => Ok(team),
            Err(StoreError::NotFound) => Err(AppError::field(
                field,
                format!(
                    "Unknown team '{}'",
                    named.chars().take(NAME_MAX).collect::<String>()
                ),
            )),
            Err(err) => Err(store_error("team")(err)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_team(&self, actor: &User, input: NewTeam) -> Result<Team, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let name = check_name(&input.name, &mut errors);
        let slack_channel = check_channel(input.slack_channel.as_deref(), &mut errors);
        finish(errors)?;
        let at = now();
        let team = Team {
            id: Uuid::now_v7(),
            name,
            slack_channel,
            created_at: at,
            updated_at: at,
        };
        let created = entry(
            Some(actor),
            "team.created",
            Target::of("team", team.id),
            None,
        );
        self.team_store()
            .insert_team(&team, &[created])
            .await
            .map_err(store_error("a team"))?;
        Ok(team)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn update_team(
        &self,
        actor: &User,
        id: Uuid,
        patch: TeamPatch,
    ) -> Result<Team, AppError> {
        require(actor, Role::Admin)?;
        let before = self
            .team_store()
            .get_team(id)
            .await
            .map_err(store_error("team"))?;
        let mut team = before.clone();
        let mut errors = vec![];
        if let Some(name) = &patch.name {
            team.name = check_name(name, &mut errors);
        }
        if let Some(channel) = &patch.slack_channel {
            team.slack_channel = check_channel(Some(channel), &mut errors);
        }
        finish(errors)?;
        team.updated_at = now();
        let Some(changed) = changes(&before, &team, &["updatedAt"]) else {
            return Ok(before);
        };
        let updated = entry(
            Some(actor),
            "team.updated",
            Target::of("team", id),
            Some(changed),
        );
        self.team_store()
            .update_team(&team, &[updated])
            .await
            .map_err(store_error("a team"))?;
        Ok(team)
    }

    /// Deletes a team; its applications stay, without a team (each change audited as one entry).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn delete_team(&self, actor: &User, id: Uuid) -> Result<(), AppError> {
        require(actor, Role::Admin)?;
        let team = self
            .team_store()
            .get_team(id)
            .await
            .map_err(store_error("team"))?;
        let deleted = entry(
            Some(actor),
            "team.deleted",
            Target::of("team", id),
            Some(serde_json::json!({"name": team.name})),
        );
        self.team_store()
            .delete_team(id, now(), &[deleted])
            .await
            .map_err(store_error("team"))?;
        self.announce(super::state::Change::Everything);
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn team_members(&self, actor: &User, id: Uuid) -> Result<Vec<User>, AppError> {
        require(actor, Role::Viewer)?;
        self.team_store()
            .get_team(id)
            .await
            .map_err(store_error("team"))?;
        self.team_store()
            .team_members(id)
            .await
            .map_err(store_error("team"))
    }

    /// Replaces the team's members (each must be a user here); answers the new list.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn set_team_members(
        &self,
        actor: &User,
        id: Uuid,
        input: TeamMembers,
    ) -> Result<Vec<User>, AppError> {
        require(actor, Role::Admin)?;
        self.team_store()
            .get_team(id)
            .await
            .map_err(store_error("team"))?;
        let mut user_ids = input.user_ids;
        user_ids.sort();
        user_ids.dedup();
        if user_ids.len() > 1000 {
            return Err(AppError::field("userIds", "at most 1000 members"));
        }
        let mut errors = vec![];
        for user_id in &user_ids {
            match self.user_store().get_user(*user_id).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    errors.push(FieldError::new("userIds", format!("no user {user_id}")))
                }
                Err(err) => return Err(store_error("user")(err)),
            }
        }
        finish(errors)?;
        let before: Vec<Uuid> = self
            .team_store()
            .team_members(id)
            .await
            .map_err(store_error("team"))?
            .into_iter()
            .map(|user| user.id)
            .collect();
        let changed = entry(
            Some(actor),
            "team.members_changed",
            Target::of("team", id),
            Some(serde_json::json!({"userIds": {"before": before, "after": user_ids}})),
        );
        self.team_store()
            .set_team_members(id, &user_ids, &[changed])
            .await
            .map_err(store_error("team"))?;
        self.team_members(actor, id).await
    }

    /// Applications, or only those of `team` (a name or id, or `mine`).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_team_applications(
        &self,
        actor: &User,
        include_archived: bool,
        team: Option<&str>,
    ) -> Result<Vec<Application>, AppError> {
        let applications = self.list_applications(actor, include_archived).await?;
        let Some(teams) = self.team_scope(actor, team).await? else {
            return Ok(applications);
        };
        Ok(applications
            .into_iter()
            .filter(|application| application.team_id.is_some_and(|id| teams.contains(&id)))
            .collect())
    }
}
