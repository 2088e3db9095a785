//! API tokens: each user's own, for CI pipelines; the secret is shown once, at creation.

use chrono::SubsecRound;
use uuid::Uuid;

use super::secrets::{random_secret, secret_hash};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::service::audit::{entry, Target};
use crate::ssr::service::state::Service;
use crate::ssr::store::store_error;

impl Service {
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_tokens(&self, actor: &User) -> Result<Vec<ApiToken>, AppError> {
        self.credential_store()
            .list_tokens(actor.id)
            .await
            .map_err(store_error("token"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_token(
        &self,
        actor: &User,
        input: NewToken,
    ) -> Result<CreatedToken, AppError> {
        let mut errors = vec![];
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        let at = now();
        if input.expires_at.is_some_and(|end| end <= at) {
            errors.push(FieldError::new("expiresAt", "must be in the future"));
        }
        check_instant("expiresAt", input.expires_at.as_ref(), &mut errors);
        finish(errors)?;
        let secret = random_secret("dt_");
        let token = ApiToken {
            id: Uuid::now_v7(),
            user_id: actor.id,
            name,
            created_at: at,
            last_used_at: None,
            expires_at: input.expires_at.map(|t| t.trunc_subsecs(6)),
            revoked_at: None,
        };
        self.credential_store()
            .insert_token(
                &token,
                &secret_hash(secret.expose()),
                &[entry(
                    Some(actor),
                    "token.created",
                    Target::of("token", token.id),
                    Some(serde_json::json!({"name": {"before": null, "after": token.name}})),
                )],
            )
            .await
            .map_err(store_error("a token"))?;
        Ok(CreatedToken {
            info: token,
            token: secret,
        })
    }

    /// Revokes one of the actor's own tokens (admins may revoke anyone's).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn revoke_token(&self, actor: &User, id: Uuid) -> Result<ApiToken, AppError> {
        let token = self
            .credential_store()
            .get_token(id)
            .await
            .map_err(store_error("token"))?;
        if token.user_id != actor.id && !actor.can(Role::Admin) {
            return Err(AppError::NotFound("token not found".into()));
        }
        self.credential_store()
            .revoke_token(
                id,
                now(),
                &[entry(
                    Some(actor),
                    "token.revoked",
                    Target::of("token", id),
                    None,
                )],
            )
            .await
            .map_err(store_error("token"))?;
        self.credential_store()
            .get_token(id)
            .await
            .map_err(store_error("token"))
    }
}
