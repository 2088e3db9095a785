//! Status badges: what an environment runs of an application, for a README ("production │
//! 1.4.2", coloured by age like the matrix), behind a read-only badge key, because an image
//! request carries no bearer token. Every answer is a badge with words on it — refusals too.

use chrono::SubsecRound;
use uuid::Uuid;

use super::access::{random_secret, secret_hash};
use super::audit::{entry, Target};
use super::state::{require, Service};
use crate::components::age::Age;
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::store::{store_error, PairFilter, StoreError};

/// The longest text a badge shows on either side (names may be longer; they are cut with "…").
const BADGE_TEXT_MAX: usize = 40;

/// How a badge is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadgeTone {
    /// Deployed, by age as the matrix colours it.
    Deployed(Age),
    /// Nothing (or nothing live) deployed, or archived.
    Absent,
    /// The key or the names were refused.
    Refused,
}

/// A badge to draw, and the HTTP status it answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Badge {
    pub label: String,
    pub message: String,
    pub tone: BadgeTone,
    pub status: u16,
}

fn cut(text: &str) -> String {
    if text.chars().count() <= BADGE_TEXT_MAX {
        text.to_string()
    } else {
        let kept: String = text.chars().take(BADGE_TEXT_MAX - 1).collect();
        format!("{kept}…")
    }
}

fn refused(label: &str, message: &str, status: u16) -> Badge {
    Badge {
        label: cut(label),
        message: message.to_string(),
        tone: BadgeTone::Refused,
        status,
    }
}

impl Service {
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_badge_keys(&self, actor: &User) -> Result<Vec<BadgeKey>, AppError> {
        require(actor, Role::Admin)?;
        self.badge_store()
            .list_badge_keys()
            .await
            .map_err(store_error("badge key"))
    }

    /// A new badge key (admin): for one application, or for all; the key is in this answer only.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_badge_key(
        &self,
        actor: &User,
        input: NewBadgeKey,
    ) -> Result<CreatedBadgeKey, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        let application = match input.application.as_deref() {
            Some(named) => self.application_named(named, &mut errors).await?,
            None => None,
        };
        finish(errors)?;
        let secret = random_secret("dtb_");
        let key = BadgeKey {
            id: Uuid::now_v7(),
            name,
            application_id: application.map(|application| application.id),
            created_at: now().trunc_subsecs(6),
            revoked_at: None,
        };
        let created = entry(
            Some(actor),
            "badge_key.created",
            Target::of("badge_key", key.id),
            Some(serde_json::json!({"name": key.name, "applicationId": key.application_id})),
        );
        self.badge_store()
            .insert_badge_key(&key, &secret_hash(secret.expose()), actor.id, &[created])
            .await
            .map_err(store_error("a badge key"))?;
        Ok(CreatedBadgeKey {
            info: key,
            key: secret,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn revoke_badge_key(&self, actor: &User, id: Uuid) -> Result<BadgeKey, AppError> {
        require(actor, Role::Admin)?;
        let revoked = entry(
            Some(actor),
            "badge_key.revoked",
            Target::of("badge_key", id),
            None,
        );
        self.badge_store()
            .revoke_badge_key(id, now(), &[revoked])
            .await
            .map_err(store_error("badge key"))?;
        self.badge_store()
            .get_badge_key(id)
            .await
            .map_err(store_error("badge key"))
    }

    /// The badge for `environment` of `application` (names or ids), shown to whoever holds
    /// `key`. Never an error: a refusal is a badge that says why, with its status.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn badge(&self, application: &str, environment: &str, key: Option<&str>) -> Badge {
        match self.badge_checked(application, environment, key).await {
            Ok(badge) => badge,
            Err(err) => {
                tracing::warn!(error = %err, "a badge could not be read");
                refused("deploytrack", "unavailable", 503)
            }
        }
    }

    async fn badge_checked(
        &self,
        application: &str,
        environment: &str,
        key: Option<&str>,
    ) -> Result<Badge, AppError> {
        let label = environment;
        let Some(key) = key.map(str::trim).filter(|key| !key.is_empty()) else {
            return Ok(refused(label, "badge key needed", 401));
        };
        if key.len() > 200 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Ok(refused(label, "invalid badge key", 401));
        }
        let key = match self.badge_store().find_badge_key(&secret_hash(key)).await {
            Ok(key) => key,
            Err(StoreError::NotFound) => return Ok(refused(label, "invalid badge key", 401)),
            Err(err) => return Err(store_error("badge key")(err)),
        };
        if key.revoked_at.is_some() {
            return Ok(refused(label, "badge key revoked", 401));
        }
        let mut errors: Vec<FieldError> = vec![];
        let Some(application) = self.application_named(application, &mut errors).await? else {
            return Ok(refused(label, "unknown application", 404));
        };
        if key.application_id.is_some_and(|id| id != application.id) {
            return Ok(refused(label, "key not for this application", 403));
        }
        let environment = environment.trim();
        let found = self.environment_by_id_or_name(environment).await;
        let environment = match found {
            Ok(environment) => environment,
            Err(StoreError::NotFound) => return Ok(refused(label, "unknown environment", 404)),
            Err(err) => return Err(store_error("environment")(err)),
        };
        let absent = |message: &str| Badge {
            label: cut(&environment.name),
            message: message.to_string(),
            tone: BadgeTone::Absent,
            status: 200,
        };
        if application.archived_at.is_some() || environment.archived_at.is_some() {
            return Ok(absent("archived"));
        }
        let states = self
            .current_state_store()
            .current_states(PairFilter {
                application_id: Some(application.id),
                environment_id: Some(environment.id),
            })
            .await
            .map_err(store_error("deployment"))?;
        Ok(match states.first() {
            Some(state) => Badge {
                label: cut(&environment.name),
                message: cut(&state.version_identifier),
                tone: BadgeTone::Deployed(Age::of(state.deployment_date, now())),
                status: 200,
            },
            None => absent("not deployed"),
        })
    }
}
