//! Recording a deployment: by ids (forms) or by names (pipelines), optionally registering a new
//! version, and idempotent under retries with an `Idempotency-Key`.

use chrono::{Duration, SubsecRound};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::audit::{entry, Target};
use super::changes::check_commit_list;
use super::policy::PolicyInputs;
use super::state::{require, Change, Service};
use super::webhooks::outbox_from;
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::caller::PipelineIdentity;
use crate::ssr::clock::now;
use crate::ssr::clock::CLOCK_SKEW;
use crate::ssr::records::is_rollback;
use crate::ssr::store::store_error;
use crate::ssr::store::{
    IdempotencyClaim, IdempotencyRecord, Inserted, Named, NewDeployment, PolicyViolationRecord,
    RecordTargets, StoreError,
};

/// How long a key's first answer is replayed (the IETF draft leaves it to the server).
const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);
pub const IDEMPOTENCY_KEY_MAX: usize = 255;
/// The header's name, used as the field name in its errors.
const KEY_FIELD: &str = "Idempotency-Key";

/// Exactly one of `id` (field `id_field`) and `name` (field `name_field`) must be given.
fn one_of<'a>(
    (id_field, id): (&str, Option<Uuid>),
    (name_field, name): (&str, Option<&'a str>),
    errors: &mut Vec<FieldError>,
) -> Option<Named<'a>> {
    let name = name.map(str::trim);
    match (id, name) {
        (Some(id), None) => Some(Named::Id(id)),
        (None, Some(name)) if !name.is_empty() => {
            let before = errors.len();
            check_characters(name_field, Some(name), errors);
            if name.chars().count() > NAME_MAX {
                errors.push(FieldError::new(
                    name_field,
                    format!("must be at most {NAME_MAX} characters"),
                ));
            }
            (errors.len() == before).then_some(Named::Name(name))
        }
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                name_field,
                format!("give either {id_field} or {name_field}, not both"),
            ));
            None
        }
        (None, _) => {
            errors.push(FieldError::new(
                id_field,
                format!("is required (or give {name_field} by name)"),
            ));
            None
        }
    }
}

/// Adds `message` under `field` for a lookup that found nothing; other failures are returned.
pub(super) fn missing<T>(
    found: Result<T, StoreError>,
    what: &str,
    field: &str,
    message: impl FnOnce() -> String,
    errors: &mut Vec<FieldError>,
) -> Result<Option<T>, AppError> {
    match found {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::NotFound) => {
            errors.push(FieldError::new(field, message()));
            Ok(None)
        }
        Err(err) => Err(store_error(what)(err)),
    }
}

/// The key as sent: 1 to 255 visible ASCII characters (pipelines build it from run ids).
fn check_key(key: &str) -> Result<(), AppError> {
    if key.is_empty()
        || key.len() > IDEMPOTENCY_KEY_MAX
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AppError::field(
            KEY_FIELD,
            format!("must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters (no spaces)"),
        ));
    }
    Ok(())
}

fn request_hash(request: &RecordDeploymentRequest) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    format!("{:x}", Sha256::digest(&canonical))
}

/// The version a record deploys.
enum VersionToDeploy {
    /// One the application already has.
    Known(Version),
    /// One to register in the same transaction (`createVersion`).
    New(Version),
}

impl Service {
    /// Records one deployment, as the story asks: the version must belong to the application,
    /// the date must not be in the future, and the record is immutable from then on. With an
    /// idempotency key, a repeat of the same request within 24 hours answers what the first one
    /// recorded and records nothing; the same key with another request is refused.
    ///
    /// Commits sent with it are kept for its version after the deployment is recorded (and
    /// again on a replay, which stores nothing twice).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn record_deployment(
        &self,
        actor: &User,
        request: RecordDeploymentRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Recorded, AppError> {
        self.record_within(actor, None, request, idempotency_key)
            .await
    }

    /// As [`Service::record_deployment`], for a pipeline signed in with its CI ID token: only
    /// for applications of its repository (and its environment, when the token names one), and
    /// `deployedBy` is whoever the token says started the job.
    #[tracing::instrument(level = "debug", skip_all, fields(repository = %pipeline.repository))]
    pub async fn record_pipeline_deployment(
        &self,
        actor: &User,
        pipeline: &PipelineIdentity,
        mut request: RecordDeploymentRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Recorded, AppError> {
        request.deployed_by = pipeline.actor.clone();
        self.record_within(actor, Some(pipeline), request, idempotency_key)
            .await
    }

    async fn record_within(
        &self,
        actor: &User,
        pipeline: Option<&PipelineIdentity>,
        mut request: RecordDeploymentRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Recorded, AppError> {
        require(actor, Role::Editor)?;
        let commits = match &request.commits {
            Some(list) => {
                let mut errors = vec![];
                let records = check_commit_list("commits", list, &mut errors);
                finish(errors)?;
                Some(records)
            }
            None => None,
        };
        let recorded = self
            .record_checked(actor, pipeline, &request, idempotency_key)
            .await?;
        if let (Some(list), Some(records)) = (request.commits.take(), commits) {
            let deployment = &recorded.deployment;
            self.keep_commits(
                actor,
                deployment.version.id,
                deployment.application.id,
                &list,
                records,
            )
            .await?;
        }
        Ok(recorded)
    }

    async fn record_checked(
        &self,
        actor: &User,
        pipeline: Option<&PipelineIdentity>,
        request: &RecordDeploymentRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Recorded, AppError> {
        let at = now();
        let claim = match idempotency_key {
            Some(key) => {
                check_key(key)?;
                let claim = IdempotencyClaim {
                    user_id: actor.id,
                    key: key.to_string(),
                    request_hash: request_hash(request),
                    created_at: at,
                    expired_before: at - IDEMPOTENCY_WINDOW,
                };
                let earlier = self
                    .deployment_store()
                    .find_idempotency_key(actor.id, key, claim.expired_before)
                    .await
                    .map_err(store_error("idempotency key"))?;
                if let Some(earlier) = earlier {
                    return self.replay(actor, &claim, earlier).await;
                }
                Some(claim)
            }
            None => None,
        };

        let mut errors = vec![];
        if request.deployment_date > at + CLOCK_SKEW {
            errors.push(FieldError::new("deploymentDate", FUTURE_DATE_MESSAGE));
        }
        check_instant(
            "deploymentDate",
            Some(&request.deployment_date),
            &mut errors,
        );
        // What ran before is looked up at a date the database can take.
        let deployment_date = request.deployment_date.trunc_subsecs(6);
        let valid_date = errors.is_empty().then_some(deployment_date);
        let deployed_by = optional_text(
            "deployedBy",
            request.deployed_by.as_deref(),
            DEPLOYED_BY_MAX,
            &mut errors,
        )
        .or_else(|| Some(actor.username.clone()));
        let notes = optional_text("notes", request.notes.as_deref(), NOTES_MAX, &mut errors);
        let override_reason = optional_text(
            "overrideReason",
            request.override_reason.as_deref(),
            REASON_MAX,
            &mut errors,
        );

        // Read once for the environment, the policy and the notifications (one small query
        // while nothing in them changed).
        let inputs = self.policy_inputs().await?;
        let targets = self
            .resolve_targets_at(request, &inputs, valid_date, at, &mut errors)
            .await?;
        finish(errors)?;
        // Each of them is missing only with an error reported, and there were none.
        let (Some(application), Some(environment), Some(version)) =
            (targets.application, targets.environment, targets.version)
        else {
            return Err(AppError::Internal);
        };
        if let Some(pipeline) = pipeline {
            pipeline.may_record(&application, &environment)?;
        }
        let (version, new_version) = match version {
            VersionToDeploy::Known(version) => (version, None),
            VersionToDeploy::New(version) => (version.clone(), Some(version)),
        };
        let version_id = version.id;
        // Never refused by policy (the deployment happened); what blocked it is kept with it.
        let blockers = self
            .blockers_with(
                &inputs,
                application.id,
                new_version.is_none().then_some(version_id),
                environment.id,
                deployment_date,
            )
            .await?;
        let policy = (!blockers.is_empty()).then(|| PolicyViolationRecord {
            violations: serde_json::to_string(&blockers).unwrap_or_default(),
            override_reason: override_reason.clone(),
        });

        let deployment = NewDeployment {
            id: Uuid::now_v7(),
            application_id: application.id,
            version_id,
            environment_id: environment.id,
            deployment_date,
            deployed_by,
            notes,
            created_at: at,
            policy,
        };
        let mut audit = vec![entry(
            Some(actor),
            "deployment.recorded",
            Target::of("deployment", deployment.id),
            None,
        )];
        if let Some(version) = &new_version {
            audit.push(entry(
                Some(actor),
                "version.created",
                Target::of("version", version.id),
                None,
            ));
        }
        let mut outbox = outbox_from(
            &inputs.webhooks,
            "deployment.recorded",
            deployment.id,
            environment.id,
        );
        if !blockers.is_empty() {
            audit.push(entry(
                Some(actor),
                "deployment.policy_violated",
                Target::of("deployment", deployment.id),
                Some(serde_json::json!({
                    "policyViolations": {"before": null, "after": blockers},
                    "overrideReason": {"before": null, "after": override_reason},
                })),
            ));
            outbox.extend(outbox_from(
                &inputs.webhooks,
                "deployment.policy_violated",
                deployment.id,
                environment.id,
            ));
        }
        let inserted = self
            .deployment_store()
            .insert_deployment(
                &deployment,
                new_version.as_ref(),
                claim.as_ref(),
                &audit,
                &outbox,
            )
            .await
            .map_err(store_error("deployment"))?;
        if let (Inserted::KeyTaken(earlier), Some(claim)) = (inserted, &claim) {
            // A concurrent request with the same key committed first.
            return self.replay(actor, claim, earlier).await;
        }
        tracing::info!(
            by = %actor.username,
            deployment = %deployment.id,
            application = %application.name,
            environment = %environment.name,
            new_version = new_version.is_some(),
            policy_violations = blockers.len(),
            "deployment recorded"
        );
        // Nobody listening is fine.
        self.announce(Change::Deployment(deployment.id));
        self.wake_notifier(&outbox);
        let deployment = match new_version {
            // A concurrent request may have registered the same identifier first, and the
            // record deploys that one: read back what was stored.
            Some(_) => self.get_deployment(actor, deployment.id).await?,
            None => recorded_as_stored(
                deployment,
                &application,
                &environment,
                &version,
                targets.previous_version,
                blockers,
                override_reason,
            ),
        };
        Ok(Recorded {
            deployment,
            replayed: false,
        })
    }

    /// The answer to a key used before: the same deployment if the request is the same.
    async fn replay(
        &self,
        actor: &User,
        claim: &IdempotencyClaim,
        earlier: IdempotencyRecord,
    ) -> Result<Recorded, AppError> {
        if earlier.request_hash != claim.request_hash {
            return Err(AppError::field(
                KEY_FIELD,
                "was already used in the last 24 hours for a different request; \
                 send a new key for a new deployment",
            ));
        }
        Ok(Recorded {
            deployment: self.get_deployment(actor, earlier.deployment_id).await?,
            replayed: true,
        })
    }

    /// The application, environment and version a request names, as recording resolves them;
    /// the version is `Some(None)` for one `createVersion` would register. None where
    /// `errors` says why.
    #[allow(clippy::type_complexity)]
    pub(super) async fn resolve_targets(
        &self,
        request: &RecordDeploymentRequest,
        inputs: &PolicyInputs,
        at: chrono::DateTime<chrono::Utc>,
        errors: &mut Vec<FieldError>,
    ) -> Result<
        (
            Option<Application>,
            Option<Environment>,
            Option<Option<Uuid>>,
        ),
        AppError,
    > {
        let targets = self
            .resolve_targets_at(request, inputs, None, at, errors)
            .await?;
        let version = targets.version.map(|version| match version {
            VersionToDeploy::Known(version) => Some(version.id),
            VersionToDeploy::New(_) => None,
        });
        Ok((targets.application, targets.environment, version))
    }

    /// The application, environment and version a request names, with the application and
    /// version read in one query, and (with `date`) the version that ran in the pair at that
    /// date. Errors come in the fields' order: application, environment, version.
    async fn resolve_targets_at(
        &self,
        request: &RecordDeploymentRequest,
        inputs: &PolicyInputs,
        date: Option<chrono::DateTime<chrono::Utc>>,
        at: chrono::DateTime<chrono::Utc>,
        errors: &mut Vec<FieldError>,
    ) -> Result<Targets, AppError> {
        let (mut environment_errors, mut version_errors) = (vec![], vec![]);
        let application_named = one_of(
            ("applicationId", request.application_id),
            ("application", request.application.as_deref()),
            errors,
        );
        let environment = self
            .resolve_environment(request, inputs, &mut environment_errors)
            .await?;
        let (version_named, commit) = named_version(request, &mut version_errors);
        let found = match application_named {
            Some(named) => self
                .deployment_store()
                .find_record_targets(
                    named,
                    version_named,
                    environment.as_ref().zip(date).map(|(e, date)| (e.id, date)),
                )
                .await
                .map_err(store_error("application"))?,
            None => RecordTargets::default(),
        };
        let application = match application_named {
            Some(named) => check_application(named, found.application, errors),
            None => None,
        };
        let version = match (version_named, &application) {
            (None, _) => None,
            // Looked up with the application; without it, an id is still looked up on its
            // own so that its own errors are reported too (a name needs the application).
            (Some(Named::Id(id)), None) => missing(
                self.version_store().get_version(id).await,
                "version",
                "versionId",
                || "no version has this id".into(),
                &mut version_errors,
            )?
            .and_then(|version| check_version_found(version, false, &mut version_errors)),
            (Some(Named::Name(_)), None) => None,
            (Some(named), Some(application)) => check_version(
                request,
                named,
                commit,
                application,
                found.version,
                at,
                &mut version_errors,
            ),
        };
        errors.append(&mut environment_errors);
        errors.append(&mut version_errors);
        Ok(Targets {
            application,
            environment,
            version,
            previous_version: found.previous_version,
        })
    }

    /// The environment as the policy's inputs keep it when they have it (they are current as of
    /// this request), else as the database has it.
    async fn resolve_environment(
        &self,
        request: &RecordDeploymentRequest,
        inputs: &PolicyInputs,
        errors: &mut Vec<FieldError>,
    ) -> Result<Option<Environment>, AppError> {
        let named = one_of(
            ("environmentId", request.environment_id),
            ("environment", request.environment.as_deref()),
            errors,
        );
        let store = self.environment_store();
        let (found, field) = match named {
            None => return Ok(None),
            Some(Named::Id(id)) => (
                missing(
                    match inputs.environment(id) {
                        Some(kept) => Ok(kept.clone()),
                        None => store.get_environment(id).await,
                    },
                    "environment",
                    "environmentId",
                    || "no environment has this id".into(),
                    errors,
                )?,
                "environmentId",
            ),
            // Never created implicitly: a typo must not add a column to the matrix.
            Some(Named::Name(name)) => (
                missing(
                    match inputs.environment_named(name) {
                        Some(kept) => Ok(kept.clone()),
                        None => store.find_environment(name).await,
                    },
                    "environment",
                    "environment",
                    || format!("Unknown environment '{name}'"),
                    errors,
                )?,
                "environment",
            ),
        };
        Ok(found.filter(|environment| {
            let active = environment.archived_at.is_none();
            if !active {
                errors.push(FieldError::new(field, "this environment is archived"));
            }
            active
        }))
    }
}

/// What a record names, resolved.
struct Targets {
    application: Option<Application>,
    environment: Option<Environment>,
    version: Option<VersionToDeploy>,
    /// (identifier, created_at) of the version that ran in the pair before the record's date.
    previous_version: Option<(String, chrono::DateTime<chrono::Utc>)>,
}

/// The application as found: None (with an error) when missing or archived.
fn check_application(
    named: Named<'_>,
    found: Option<Application>,
    errors: &mut Vec<FieldError>,
) -> Option<Application> {
    let field = match named {
        Named::Id(_) => "applicationId",
        Named::Name(_) => "application",
    };
    let Some(application) = found else {
        errors.push(FieldError::new(
            field,
            match named {
                Named::Id(_) => "no application has this id".to_string(),
                // Never created implicitly: a typo must not add a row to the matrix.
                Named::Name(name) => format!("Unknown application '{name}'"),
            },
        ));
        return None;
    };
    if application.archived_at.is_some() {
        errors.push(FieldError::new(field, "this application is archived"));
        return None;
    }
    Some(application)
}

/// How the request names the version, and its commit, after the checks that need no lookup.
fn named_version<'a>(
    request: &'a RecordDeploymentRequest,
    errors: &mut Vec<FieldError>,
) -> (Option<Named<'a>>, Option<String>) {
    let named = one_of(
        ("versionId", request.version_id),
        ("version", request.version.as_deref()),
        errors,
    );
    let commit = commit_sha("commitSha", request.commit_sha.as_deref(), errors);
    check_instant("releasedAt", request.released_at.as_ref(), errors);
    let by_name = matches!(named, Some(Named::Name(_)));
    if request.create_version && !by_name && request.version_id.is_some() {
        errors.push(FieldError::new(
            "createVersion",
            "needs the version by name (version), not versionId",
        ));
    }
    if !request.create_version && (commit.is_some() || request.released_at.is_some()) {
        let field = if commit.is_some() {
            "commitSha"
        } else {
            "releasedAt"
        };
        errors.push(FieldError::new(
            field,
            "describes a new version: send it with \"createVersion\": true",
        ));
    }
    (named, commit)
}

/// The version to deploy, as looked up with its application: one the application has, or one
/// to register first when `createVersion` asked for one it does not have yet; None when
/// `errors` says why not.
fn check_version(
    request: &RecordDeploymentRequest,
    named: Named<'_>,
    commit: Option<String>,
    application: &Application,
    found: Option<Version>,
    at: chrono::DateTime<chrono::Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<VersionToDeploy> {
    match named {
        Named::Id(_) => {
            let Some(version) = found else {
                errors.push(FieldError::new("versionId", "no version has this id"));
                return None;
            };
            if version.application_id != application.id {
                errors.push(FieldError::new("versionId", WRONG_APPLICATION_MESSAGE));
                return None;
            }
            check_version_found(version, false, errors)
        }
        // A name is only ever looked up within the application, so it can never resolve to
        // another application's version.
        Named::Name(identifier) => match found {
            Some(version) => {
                if let (Some(given), Some(known)) = (&commit, &version.commit_sha) {
                    // Either may be the other's abbreviation (GitLab's short_sha).
                    if !given.starts_with(known.as_str()) && !known.starts_with(given.as_str()) {
                        errors.push(FieldError::new(
                            "commitSha",
                            format!(
                                "version '{identifier}' of application '{}' was built from {known}, not {given}",
                                application.name
                            ),
                        ));
                    }
                }
                check_version_found(version, true, errors)
            }
            None if request.create_version => Some(VersionToDeploy::New(Version {
                id: Uuid::now_v7(),
                application_id: application.id,
                version_identifier: identifier.to_string(),
                released_at: request.released_at.map(|t| t.trunc_subsecs(6)),
                notes: None,
                commit_sha: commit,
                created_at: at,
                archived_at: None,
            })),
            None => {
                errors.push(FieldError::new(
                    "version",
                    format!(
                        "Unknown version '{identifier}' of application '{}' (register it first, or send \"createVersion\": true)",
                        application.name
                    ),
                ));
                None
            }
        },
    }
}

/// A version found is deployable unless archived.
fn check_version_found(
    version: Version,
    by_name: bool,
    errors: &mut Vec<FieldError>,
) -> Option<VersionToDeploy> {
    if version.archived_at.is_some() {
        let field = if by_name { "version" } else { "versionId" };
        errors.push(FieldError::new(field, "this version is archived"));
        return None;
    }
    Some(VersionToDeploy::Known(version))
}

/// The answer to a record of a version the application had, from what the record was made
/// of: the same as reading it back (`tests/rest_deployments.rs` compares the two), one query
/// fewer.
fn recorded_as_stored(
    deployment: NewDeployment,
    application: &Application,
    environment: &Environment,
    version: &Version,
    previous_version: Option<(String, chrono::DateTime<chrono::Utc>)>,
    blockers: Vec<PolicyBlocker>,
    override_reason: Option<String>,
) -> Deployment {
    let previous = previous_version
        .as_ref()
        .map(|(identifier, created)| (identifier.as_str(), *created));
    Deployment {
        id: deployment.id,
        application: ApplicationRef {
            id: application.id,
            name: application.name.clone(),
        },
        version: VersionRef {
            id: version.id,
            version_identifier: version.version_identifier.clone(),
        },
        environment: EnvironmentRef {
            id: environment.id,
            name: environment.name.clone(),
        },
        deployment_date: deployment.deployment_date,
        deployed_by: deployment.deployed_by,
        notes: deployment.notes,
        created_at: deployment.created_at,
        is_rollback: is_rollback((&version.version_identifier, version.created_at), previous),
        deleted_at: None,
        deleted_by: None,
        delete_reason: None,
        // Stored only when something blocked it, and with it the reason given.
        override_reason: (!blockers.is_empty()).then_some(override_reason).flatten(),
        policy_violations: blockers,
    }
}
