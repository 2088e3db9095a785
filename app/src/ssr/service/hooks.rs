//! Signed inbound hooks: GitHub `deployment_status` and GitLab deployment events record
//! deployments without a line in any pipeline. A delivery is believed only when its signature
//! (GitHub) or token (GitLab) matches a configured hook; it then records as the hook's creator,
//! through the same rules as every other deployment, and is kept in the hook's recent deliveries.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::access::{random_secret, secret_hash};
use super::audit::{entry, RequestOrigin, Target, REQUEST_ORIGIN};
use super::state::{require, Service};
use crate::error::AppError;
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::store::store_error;
use crate::ssr::store::{HookRecord, StoreError};

/// One delivery as received: the provider's headers that matter, and the raw body (signatures
/// are over its exact bytes).
pub struct Delivery<'a> {
    pub provider: HookProvider,
    /// `X-GitHub-Event` / `X-Gitlab-Event`.
    pub event: Option<&'a str>,
    /// `X-GitHub-Delivery` / `X-Gitlab-Event-UUID`; without one, the body's digest stands in.
    pub delivery_id: Option<&'a str>,
    /// `X-Hub-Signature-256` / `X-Gitlab-Token`.
    pub credential: Option<&'a str>,
    pub body: &'a [u8],
}

/// What the delivery described, in deploytrack's terms.
struct Described {
    repository: String,
    environment: String,
    version: String,
    commit_sha: Option<String>,
    deployed_by: Option<String>,
    deployment_date: DateTime<Utc>,
}

/// A delivery's outcome before it is kept.
enum Decision {
    Record(Described),
    Ignore(String),
    Refuse(String),
}

const DETAIL_MAX: usize = 1_000;
/// How GitHub abbreviates a commit on its pages.
const GITHUB_SHORT_SHA: usize = 7;

fn to_hook(record: HookRecord) -> Option<Hook> {
    let provider = HookProvider::parse(&record.provider)?;
    Some(Hook {
        id: record.id,
        provider,
        name: record.name,
        created_by: record.created_by,
        created_at: record.created_at,
        path: provider.path().to_string(),
    })
}

/// GitHub: `sha256=<hex HMAC-SHA256(secret, body)>`, compared in constant time.
fn github_signature_matches(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_signature) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(signature) = hex::decode(hex_signature) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// GitLab sends the secret itself; its digest is compared in constant time.
fn gitlab_token_matches(stored_hash: &str, token: &str) -> bool {
    let presented = secret_hash(token);
    presented.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// A ref that reads as a release ("1.4.2", "v2.0.0-rc.1") rather than a branch.
fn looks_like_a_version(reference: &str) -> bool {
    let mut chars = reference.chars();
    match chars.next() {
        Some(c) if c.is_ascii_digit() => true,
        Some('v' | 'V') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn github_event(event: Option<&str>, payload: &Value) -> Decision {
    match event {
        Some("deployment_status") => {}
        Some("ping") => return Decision::Ignore("ping received: the hook works".into()),
        other => {
            return Decision::Ignore(format!(
                "event '{}' is not recorded; send deployment statuses",
                other.unwrap_or("(none)")
            ))
        }
    }
    let state = text(payload, "/deployment_status/state").unwrap_or("(none)");
    if state != "success" {
        return Decision::Ignore(format!("state '{state}' is not recorded; only success is"));
    }
    let Some(repository) = text(payload, "/repository/full_name") else {
        return Decision::Refuse("repository.full_name is missing".into());
    };
    let environment = text(payload, "/deployment_status/environment")
        .or_else(|| text(payload, "/deployment/environment"));
    let Some(environment) = environment else {
        return Decision::Refuse("the deployment names no environment".into());
    };
    let from_payload = text(payload, "/deployment/payload/version");
    let reference = text(payload, "/deployment/ref");
    let sha = text(payload, "/deployment/sha");
    // A tag (or the payload) is the version; a branch moves from commit to commit, so a branch
    // deployment is identified by its commit, as GitHub's own pages abbreviate it.
    let version = match (from_payload, reference, sha) {
        (Some(version), _, _) => version.to_string(),
        (None, Some(reference), _) if looks_like_a_version(reference) => reference.to_string(),
        (None, _, Some(sha)) => sha.chars().take(GITHUB_SHORT_SHA).collect(),
        (None, Some(reference), None) => reference.to_string(),
        (None, None, None) => {
            return Decision::Refuse(
                "deployment.payload.version, deployment.ref and deployment.sha are missing".into(),
            )
        }
    };
    let commit_sha = sha.map(str::to_string);
    let deployment_date = text(payload, "/deployment_status/created_at")
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map_or_else(now, |at| at.with_timezone(&Utc));
    Decision::Record(Described {
        repository: repository.to_string(),
        environment: environment.to_string(),
        version,
        commit_sha,
        deployed_by: text(payload, "/sender/login").map(str::to_string),
        deployment_date,
    })
}

fn gitlab_event(payload: &Value) -> Decision {
    let kind = text(payload, "/object_kind").unwrap_or("(none)");
    if kind != "deployment" {
        return Decision::Ignore(format!(
            "event '{kind}' is not recorded; enable deployment events"
        ));
    }
    let status = text(payload, "/status").unwrap_or("(none)");
    if status != "success" {
        return Decision::Ignore(format!(
            "status '{status}' is not recorded; only success is"
        ));
    }
    let Some(repository) = text(payload, "/project/path_with_namespace") else {
        return Decision::Refuse("project.path_with_namespace is missing".into());
    };
    let Some(environment) = text(payload, "/environment") else {
        return Decision::Refuse("the deployment names no environment".into());
    };
    let short_sha = text(payload, "/short_sha");
    // A tag is the version; a branch deployment is identified by its commit.
    let version = text(payload, "/ref")
        .filter(|reference| looks_like_a_version(reference))
        .or(short_sha);
    let Some(version) = version else {
        return Decision::Refuse("neither a version-like ref nor short_sha is given".into());
    };
    // GitLab writes "2021-04-28 21:50:00 +0200".
    let deployment_date = text(payload, "/status_changed_at")
        .and_then(|at| DateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S %z").ok())
        .map_or_else(now, |at| at.with_timezone(&Utc));
    Decision::Record(Described {
        repository: repository.to_string(),
        environment: environment.to_string(),
        version: version.to_string(),
        commit_sha: gitlab_full_sha(payload, short_sha).or(short_sha.map(str::to_string)),
        deployed_by: text(payload, "/user/username").map(str::to_string),
        deployment_date,
    })
}

/// The deployment's full commit hash, so compare links and commit lists find it: GitLab's
/// documented body has only `short_sha` and `commit_url` (…/-/commit/<full hash>).
fn gitlab_full_sha(payload: &Value, short_sha: Option<&str>) -> Option<String> {
    let from_url = text(payload, "/commit_url")
        .and_then(|url| url.rsplit_once("/commit/"))
        .map(|(_, sha)| sha.trim_end_matches('/'));
    text(payload, "/sha")
        .or(from_url)
        .map(str::to_ascii_lowercase)
        .filter(|sha| {
            (sha.len() == 40 || sha.len() == 64)
                && sha.bytes().all(|b| b.is_ascii_hexdigit())
                && short_sha.is_none_or(|short| sha.starts_with(&short.to_ascii_lowercase()))
        })
}

fn clipped(mut detail: String) -> String {
    if detail.chars().count() > DETAIL_MAX {
        detail = detail.chars().take(DETAIL_MAX - 1).collect::<String>() + "…";
    }
    detail
}

impl Service {
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_hooks(&self, actor: &User) -> Result<Vec<Hook>, AppError> {
        require(actor, Role::Admin)?;
        let hooks = self
            .hook_store()
            .list_hooks(None)
            .await
            .map_err(store_error("hook"))?;
        Ok(hooks.into_iter().filter_map(to_hook).collect())
    }

    /// A new hook with a fresh secret, which the answer carries this once.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_hook(&self, actor: &User, input: NewHook) -> Result<CreatedHook, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let provider = HookProvider::parse(input.provider.trim());
        if provider.is_none() {
            errors.push(crate::error::FieldError::new(
                "provider",
                "must be github or gitlab",
            ));
        }
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        finish(errors)?;
        let provider = provider.ok_or(AppError::Internal)?;
        let secret = random_secret("");
        let record = HookRecord {
            id: Uuid::now_v7(),
            provider: provider.as_str().into(),
            name,
            signing_secret: (provider == HookProvider::Github).then(|| secret.expose().to_string()),
            secret_hash: secret_hash(secret.expose()),
            created_by: actor.id,
            created_at: now(),
        };
        self.hook_store()
            .insert_hook(
                &record,
                &[entry(
                    Some(actor),
                    "hook.created",
                    Target::of("hook", record.id),
                    Some(serde_json::json!({
                        "provider": {"before": null, "after": record.provider},
                        "name": {"before": null, "after": record.name},
                    })),
                )],
            )
            .await
            .map_err(store_error("a hook"))?;
        tracing::info!(by = %actor.username, hook = %record.id, provider = %record.provider, "hook created");
        let hook = to_hook(record).ok_or(AppError::Internal)?;
        Ok(CreatedHook { hook, secret })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn delete_hook(&self, actor: &User, id: Uuid) -> Result<(), AppError> {
        require(actor, Role::Admin)?;
        self.hook_store()
            .delete_hook(
                id,
                &[entry(
                    Some(actor),
                    "hook.deleted",
                    Target::of("hook", id),
                    None,
                )],
            )
            .await
            .map_err(store_error("hook"))?;
        tracing::info!(by = %actor.username, hook = %id, "hook deleted");
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %hook_id))]
    pub async fn hook_deliveries(
        &self,
        actor: &User,
        hook_id: Uuid,
    ) -> Result<Vec<HookDelivery>, AppError> {
        require(actor, Role::Admin)?;
        self.hook_store()
            .list_deliveries(hook_id)
            .await
            .map_err(store_error("hook"))
    }

    /// Handles one delivery. `Unauthorized` unless it is signed by (GitHub) or carries the
    /// token of (GitLab) a configured hook; otherwise an answer for the sender, kept in the
    /// hook's deliveries. Never records twice for one delivery id.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn receive_hook(&self, delivery: Delivery<'_>) -> Result<HookAnswer, AppError> {
        let Some(credential) = delivery.credential else {
            return Err(AppError::Unauthorized);
        };
        let hooks = self
            .hook_store()
            .list_hooks(Some(delivery.provider.as_str()))
            .await
            .map_err(store_error("hook"))?;
        let hook = hooks.into_iter().find(|hook| match delivery.provider {
            HookProvider::Github => hook
                .signing_secret
                .as_deref()
                .is_some_and(|secret| github_signature_matches(secret, delivery.body, credential)),
            HookProvider::Gitlab => gitlab_token_matches(&hook.secret_hash, credential),
        });
        let Some(hook) = hook else {
            tracing::info!(
                provider = delivery.provider.as_str(),
                "hook delivery with no matching signature"
            );
            return Err(AppError::Unauthorized);
        };
        let delivery_id = delivery
            .delivery_id
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .map_or_else(
                || format!("sha256:{:x}", Sha256::digest(delivery.body)),
                str::to_string,
            );
        let earlier = self
            .hook_store()
            .find_delivery(hook.id, &delivery_id)
            .await
            .map_err(store_error("hook delivery"))?;
        if let Some(earlier) = earlier {
            return Ok(HookAnswer {
                outcome: DeliveryOutcome::Replayed,
                detail: format!(
                    "delivery {delivery_id} was received before ({}); nothing new recorded",
                    earlier.outcome.as_str()
                ),
                deployment_id: earlier.deployment_id,
            });
        }

        let decision = match serde_json::from_slice::<Value>(delivery.body) {
            Err(err) => Decision::Refuse(format!("the body is not JSON: {err}")),
            Ok(payload) => match delivery.provider {
                HookProvider::Github => github_event(delivery.event, &payload),
                HookProvider::Gitlab => gitlab_event(&payload),
            },
        };
        let answer = match decision {
            Decision::Ignore(detail) => HookAnswer {
                outcome: DeliveryOutcome::Ignored,
                detail,
                deployment_id: None,
            },
            Decision::Refuse(detail) => HookAnswer {
                outcome: DeliveryOutcome::Refused,
                detail,
                deployment_id: None,
            },
            Decision::Record(described) => {
                self.record_from_hook(&hook, &delivery_id, described)
                    .await?
            }
        };
        let kept = HookDelivery {
            id: Uuid::now_v7(),
            hook_id: hook.id,
            delivery_id,
            received_at: now(),
            event: delivery
                .event
                .unwrap_or("(none)")
                .chars()
                .take(100)
                .collect(),
            outcome: answer.outcome,
            detail: clipped(answer.detail.clone()),
            deployment_id: answer.deployment_id,
        };
        self.hook_store()
            .insert_delivery(&kept)
            .await
            .map_err(store_error("hook delivery"))?;
        tracing::info!(hook = %hook.id, outcome = answer.outcome.as_str(), "hook delivery");
        Ok(answer)
    }

    async fn record_from_hook(
        &self,
        hook: &HookRecord,
        delivery_id: &str,
        described: Described,
    ) -> Result<HookAnswer, AppError> {
        let refused = |detail: String| HookAnswer {
            outcome: DeliveryOutcome::Refused,
            detail,
            deployment_id: None,
        };
        let owner = match self.user_store().get_user(hook.created_by).await {
            Ok(user) if user.disabled_at.is_none() => user,
            Ok(_) | Err(StoreError::NotFound) => {
                return Ok(refused(
                    "the admin who created this hook is disabled; create the hook again".into(),
                ))
            }
            Err(err) => return Err(store_error("user")(err)),
        };
        let application = match self
            .application_store()
            .find_application_by_repository(&described.repository)
            .await
        {
            Ok(application) => application,
            Err(StoreError::NotFound) => {
                return Ok(refused(format!(
                    "no application has repository '{}'; set it on the application in deploytrack",
                    described.repository
                )))
            }
            Err(err) => return Err(store_error("application")(err)),
        };
        let request = RecordDeploymentRequest {
            application_id: Some(application.id),
            version: Some(described.version),
            environment: Some(described.environment),
            create_version: true,
            commit_sha: described.commit_sha,
            deployment_date: described.deployment_date,
            deployed_by: described.deployed_by,
            ..Default::default()
        };
        // Concurrent redeliveries of one id record once, like any idempotent retry.
        let key = format!(
            "hook-{:x}",
            Sha256::digest(format!("{}/{delivery_id}", hook.id))
        );
        // The trail names the hook as the credential the deployment came with.
        let origin = RequestOrigin {
            token_name: Some(format!("{} hook '{}'", hook.provider, hook.name)),
            ..REQUEST_ORIGIN.try_with(Clone::clone).unwrap_or_default()
        };
        let recorded = REQUEST_ORIGIN
            .scope(origin, self.record_deployment(&owner, request, Some(&key)))
            .await;
        match recorded {
            Ok(recorded) => Ok(HookAnswer {
                outcome: if recorded.replayed {
                    DeliveryOutcome::Replayed
                } else {
                    DeliveryOutcome::Recorded
                },
                detail: format!(
                    "recorded {} {} in {}",
                    recorded.deployment.application.name,
                    recorded.deployment.version.version_identifier,
                    recorded.deployment.environment.name
                ),
                deployment_id: Some(recorded.deployment.id),
            }),
            Err(AppError::Validation(errors)) => Ok(refused(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            Err(AppError::Forbidden(message)) => Ok(refused(message)),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_checked_over_the_exact_body() {
        // HMAC-SHA256("It's a Secret to Everybody", "Hello, World!") as in GitHub's docs.
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World!",
            header
        ));
        assert!(!github_signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World?",
            header
        ));
        assert!(!github_signature_matches(
            "another secret",
            b"Hello, World!",
            header
        ));
        assert!(!github_signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World!",
            "sha1=757107"
        ));
        assert!(!github_signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=zz"
        ));
    }

    #[test]
    fn refs_that_read_as_versions() {
        for yes in ["1.2.0", "v2", "V10.1", "2026.11.30"] {
            assert!(looks_like_a_version(yes), "{yes}");
        }
        for no in ["main", "release/1.2", "v", "vNext", ""] {
            assert!(!looks_like_a_version(no), "{no}");
        }
    }
}
