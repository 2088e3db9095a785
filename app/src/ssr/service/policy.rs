//! The deploy policy (issue 35): freeze windows, locks and promotion rules, the check any
//! pipeline asks before deploying, and the announcements of freezes starting and ending.
//! Recording is never refused by policy: the recording path asks [`Service::blockers_with`] and
//! keeps what it says with the deployment.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::audit::{entry, Target};
use super::recording::missing;
use super::state::{require, Change, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::policy::{
    local_midnight, occurrence, parse_duration, parse_rrule, parse_time_zone, Expanded, Schedule,
    OCCURRENCES_LISTED_MAX,
};
use crate::ssr::store::{
    store_error, FreezeEndRecord, FreezeRecord, PromotionRequirementRecord, StoreError,
};

/// Ids a freeze's scope may list at most.
const SCOPE_IDS_MAX: usize = 1_000;
/// Requirements one promotion rule may have at most.
const REQUIREMENTS_MAX: usize = 50;
/// How far back the announcer looks for starts and ends it has not announced (after a restart
/// or while every instance was down).
const ANNOUNCE_LOOKBACK: Duration = Duration::hours(24);

/// Which freezes `GET /api/freezes` lists, with which occurrences.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreezeQuery {
    /// Only freezes in force at this instant, with that occurrence.
    pub active_at: Option<DateTime<Utc>>,
    /// With `to`: the occurrences overlapping this range (at most 400 days).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// What `GET /api/deploy-check` asks about: each by name or id, as recording takes them.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployCheckQuery {
    /// The application's name or id.
    pub application: String,
    /// The version identifier or the version's id.
    pub version: String,
    /// The environment's name or id.
    pub environment: String,
    /// As in recording: a version not registered yet is one that has run nowhere.
    #[serde(default)]
    pub create_version: bool,
    /// Ask about another instant than now (what blocked a past deployment).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

fn ids_text(ids: &Option<Vec<Uuid>>) -> Option<String> {
    ids.as_ref().map(|ids| {
        ids.iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn ids_of(text: &Option<String>) -> Option<Vec<Uuid>> {
    text.as_ref().map(|text| {
        text.split(',')
            .filter_map(|id| id.trim().parse().ok())
            .collect()
    })
}

fn to_freeze(record: &FreezeRecord, occurrences: Vec<FreezeOccurrence>) -> Freeze {
    Freeze {
        id: record.id,
        name: record.name.clone(),
        reason: record.reason.clone(),
        environment_ids: ids_of(&record.environment_ids),
        application_ids: ids_of(&record.application_ids),
        starts_at: record.starts_at,
        ends_at: record.ends_at,
        rrule: record.rrule.clone(),
        duration: record.duration.clone(),
        time_zone: record.time_zone.clone(),
        created_by: record.created_by,
        created_at: record.created_at,
        occurrences,
    }
}

/// `at` as a reader in UTC sees it in a message: "Mon 08:00 UTC, 2026-12-28".
pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%a %H:%M UTC, %Y-%m-%d").to_string()
}

/// A span as a person says it: "1 d 4 h", "23 h 59 min 59 s".
pub(super) fn span(duration: Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    let parts = [
        (seconds / 86_400, "d"),
        (seconds % 86_400 / 3_600, "h"),
        (seconds % 3_600 / 60, "min"),
        (seconds % 60, "s"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if shown.is_empty() {
        "0 s".into()
    } else {
        shown.join(" ")
    }
}

/// Locks kept with the settings at most. Locks are taken by people, a few hundred a year; past
/// this many, a check asks the database for the ones it needs instead.
const LOCKS_KEPT_MAX: usize = 1_000;

/// Everything a deploy check reads besides the catalogue and history, and the webhooks every
/// record notifies, kept between checks while the settings epoch stays the same (migration
/// `settings_epoch`: every change to them moves it, through any server) and no freeze's worked-out
/// occurrences need extending. A record then asks one small row instead of six lists.
pub(crate) struct PolicyInputs {
    epoch: i64,
    /// Every freeze with its occurrences worked out.
    freezes: Vec<(FreezeRecord, Arc<Expanded>)>,
    ends: Vec<FreezeEndRecord>,
    requirements: Vec<PromotionRequirementRecord>,
    environments: Vec<Environment>,
    /// Every lock, oldest first; None when there are more than [`LOCKS_KEPT_MAX`].
    locks: Option<Vec<Lock>>,
    pub(super) webhooks: Vec<Webhook>,
}

impl PolicyInputs {
    /// The environment with this id, archived or not.
    pub(super) fn environment(&self, id: Uuid) -> Option<&Environment> {
        self.environments.iter().find(|e| e.id == id)
    }

    /// The environment named `name`, ASCII case aside. Names equal but for ASCII case are equal
    /// under both databases' `lower` too (the rule names are unique by), so a match here is the
    /// database's match; None (other case folding, or not kept): ask the database.
    pub(super) fn environment_named(&self, name: &str) -> Option<&Environment> {
        self.environments
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    }

    fn fresh_at(&self, at: DateTime<Utc>) -> bool {
        self.freezes
            .iter()
            .all(|(_, schedule)| schedule.fresh_at(at))
    }
}

impl Service {
    /// The settings as kept, read again only when the epoch moved (or a freeze's horizon comes
    /// near).
    pub(super) async fn policy_inputs(&self) -> Result<Arc<PolicyInputs>, AppError> {
        let store = self.policy_store();
        // The epoch first: a change committed after this read moves it, so what is read below
        // is never older than the epoch it is kept under.
        let epoch = store
            .settings_epoch()
            .await
            .map_err(store_error("settings"))?;
        let at = now();
        let kept = self
            .policy_inputs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(kept) = kept.as_ref() {
            if kept.epoch == epoch && kept.fresh_at(at) {
                return Ok(kept.clone());
            }
        }
        // One after another: in parallel they would take six of the pool's connections, and
        // every instance's freeze announcer reads them too.
        let records = store.list_freezes().await.map_err(store_error("freeze"))?;
        let ends = store
            .list_freeze_ends()
            .await
            .map_err(store_error("freeze"))?;
        let requirements = store
            .list_promotion_requirements()
            .await
            .map_err(store_error("promotion rule"))?;
        let environments = self
            .environment_store()
            .list_environments(true)
            .await
            .map_err(store_error("environment"))?;
        let locks = store
            .list_every_lock(LOCKS_KEPT_MAX as i64 + 1)
            .await
            .map_err(store_error("lock"))?;
        let webhooks = self
            .webhook_store()
            .list_webhooks()
            .await
            .map_err(store_error("webhook"))?;
        // Freezes kept from before keep their worked-out occurrences.
        let before: std::collections::HashMap<Uuid, Arc<Expanded>> = kept
            .map(|kept| {
                kept.freezes
                    .iter()
                    .map(|(record, schedule)| (record.id, schedule.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let freezes = records
            .into_iter()
            .filter_map(|record| {
                let schedule = match before.get(&record.id) {
                    Some(schedule) if schedule.fresh_at(at) => schedule.clone(),
                    _ => Arc::new(Expanded::new(Schedule::of(&record)?, at)),
                };
                Some((record, schedule))
            })
            .collect();
        let inputs = Arc::new(PolicyInputs {
            epoch,
            freezes,
            ends,
            requirements,
            environments,
            locks: (locks.len() <= LOCKS_KEPT_MAX).then_some(locks),
            webhooks: webhooks
                .into_iter()
                .map(super::webhooks::to_webhook)
                .collect(),
        });
        *self
            .policy_inputs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(inputs.clone());
        Ok(inputs)
    }

    fn environment_name(inputs: &PolicyInputs, id: Uuid) -> String {
        inputs
            .environment(id)
            .map_or_else(|| id.to_string(), |e| e.name.clone())
    }

    /// The environments a freeze covers (its list, or every production environment).
    fn frozen_environments(inputs: &PolicyInputs, freeze: &FreezeRecord) -> Vec<Uuid> {
        ids_of(&freeze.environment_ids).unwrap_or_else(|| {
            inputs
                .environments
                .iter()
                .filter(|e| e.is_production)
                .map(|e| e.id)
                .collect()
        })
    }

    /// Freeze blockers at `at` for `application_id` in `environment_id`.
    fn freeze_blockers(
        inputs: &PolicyInputs,
        application_id: Uuid,
        environment_id: Uuid,
        at: DateTime<Utc>,
    ) -> Vec<PolicyBlocker> {
        let mut blockers = vec![];
        for (freeze, schedule) in inputs.freezes.iter() {
            if !Self::frozen_environments(inputs, freeze).contains(&environment_id)
                || ids_of(&freeze.application_ids).is_some_and(|ids| !ids.contains(&application_id))
            {
                continue;
            }
            for window in schedule.active_at(at) {
                let shown = occurrence(freeze.id, window, &inputs.ends);
                if !shown.is_active_at(at) {
                    continue;
                }
                let reason = freeze
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                blockers.push(PolicyBlocker {
                    kind: "freeze".into(),
                    id: freeze.id,
                    message: format!(
                        "{} is frozen until {} — {}{reason}",
                        Self::environment_name(inputs, environment_id),
                        when(shown.until()),
                        freeze.name
                    ),
                    until: Some(shown.until()),
                });
            }
        }
        blockers
    }

    /// Promotion blockers at `at`: each required environment where `version_id` (None: a
    /// version not registered yet) has not run long enough, or was rolled back or retracted.
    async fn promotion_blockers(
        &self,
        inputs: &PolicyInputs,
        application_id: Uuid,
        version_id: Option<Uuid>,
        environment_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<PolicyBlocker>, AppError> {
        let mut blockers = vec![];
        for requirement in inputs
            .requirements
            .iter()
            .filter(|r| r.environment_id == environment_id)
        {
            let source = Self::environment_name(inputs, requirement.required_environment_id);
            let target = Self::environment_name(inputs, environment_id);
            let soak = parse_duration("minSoak", &requirement.min_soak, true, &mut vec![])
                .unwrap_or_default();
            let blocker = |message: String, until: Option<DateTime<Utc>>| PolicyBlocker {
                kind: "promotion".into(),
                id: requirement.required_environment_id,
                message,
                until,
            };
            let Some(version_id) = version_id else {
                blockers.push(blocker(
                    format!("{target} takes a version only after it has run in {source} for {}; this version has not run there", requirement.min_soak),
                    None,
                ));
                continue;
            };
            let record = self
                .policy_store()
                .soak(
                    application_id,
                    version_id,
                    requirement.required_environment_id,
                    at,
                )
                .await
                .map_err(store_error("deployment"))?;
            let Some(deployed_at) = record.deployed_at else {
                let message = match record.retracted_at {
                    Some(retracted) => format!(
                        "its deployment to {source} was retracted ({}); {target} needs it to run in {source} for {} first",
                        when(retracted),
                        requirement.min_soak
                    ),
                    None => format!(
                        "{target} takes a version only after it has run in {source} for {}; this version has not run there",
                        requirement.min_soak
                    ),
                };
                blockers.push(blocker(message, None));
                continue;
            };
            let replaced = record.replaced_by.map(crate::ssr::records::to_deployment);
            if let Some(next) = replaced.as_ref().filter(|next| next.is_rollback) {
                blockers.push(blocker(
                    format!(
                        "it was rolled back in {source} ({} went back to {}); {target} takes only versions that held there",
                        when(next.deployment_date),
                        next.version.version_identifier
                    ),
                    None,
                ));
                continue;
            }
            let ran_until = replaced.map_or(at, |next| next.deployment_date.min(at));
            let ran = ran_until - deployed_at;
            if ran < soak {
                // Still running there: allowed once the soak completes. Replaced before it
                // completed: it never will.
                let until = (ran_until == at).then_some(deployed_at + soak);
                blockers.push(blocker(
                    format!(
                        "it has run in {source} for {} of the {} {target} requires",
                        span(ran),
                        requirement.min_soak
                    ),
                    until,
                ));
            }
        }
        Ok(blockers)
    }

    /// What blocks deploying `version_id` of `application_id` to `environment_id` at `at`.
    pub(super) async fn blockers_with(
        &self,
        inputs: &PolicyInputs,
        application_id: Uuid,
        version_id: Option<Uuid>,
        environment_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<PolicyBlocker>, AppError> {
        let mut blockers = Self::freeze_blockers(inputs, application_id, environment_id, at);
        let locks = match &inputs.locks {
            Some(every) => every
                .iter()
                .filter(|lock| lock.blocks(environment_id, application_id, at))
                .cloned()
                .collect(),
            None => self
                .policy_store()
                .locks_at(environment_id, application_id, at)
                .await
                .map_err(store_error("lock"))?,
        };
        for lock in locks {
            let scope = Self::environment_name(inputs, environment_id);
            blockers.push(PolicyBlocker {
                kind: "lock".into(),
                id: lock.id,
                message: format!(
                    "{scope} is locked by {} since {}: {}",
                    lock.created_by_name,
                    when(lock.created_at),
                    lock.reason
                ),
                until: None,
            });
        }
        blockers.extend(
            self.promotion_blockers(inputs, application_id, version_id, environment_id, at)
                .await?,
        );
        Ok(blockers)
    }

    /// "May I deploy?": what blocks it now (or at `at`), and when nothing known will.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn deploy_check(
        &self,
        actor: &User,
        query: DeployCheckQuery,
    ) -> Result<DeployCheck, AppError> {
        require(actor, Role::Viewer)?;
        let mut errors = vec![];
        check_instant("at", query.at.as_ref(), &mut errors);
        let named = |value: &str| -> (Option<Uuid>, Option<String>) {
            match value.trim().parse::<Uuid>() {
                Ok(id) => (Some(id), None),
                Err(_) => (None, Some(value.to_string())),
            }
        };
        let (application_id, application) = named(&query.application);
        let (version_id, version) = named(&query.version);
        let (environment_id, environment) = named(&query.environment);
        let request = RecordDeploymentRequest {
            application_id,
            application,
            version_id,
            version,
            environment_id,
            environment,
            create_version: query.create_version && version_id.is_none(),
            ..Default::default()
        };
        let inputs = self.policy_inputs().await?;
        let (application, environment, version) = self
            .resolve_targets(&request, &inputs, now(), &mut errors)
            .await?;
        finish(errors)?;
        let (Some(application), Some(environment), Some(version)) =
            (application, environment, version)
        else {
            return Err(AppError::Internal);
        };
        let at = query.at.unwrap_or_else(now);
        let blockers = self
            .blockers_with(&inputs, application.id, version, environment.id, at)
            .await?;
        let next_allowed_at = self
            .next_allowed_at(&inputs, application.id, version, environment.id, &blockers)
            .await?;
        Ok(DeployCheck {
            allowed: blockers.is_empty(),
            blockers,
            next_allowed_at,
        })
    }

    /// The first instant none of the blockers (nor a freeze starting meanwhile) holds; None
    /// when one has no known end (a lock, a rollback) or there are none.
    async fn next_allowed_at(
        &self,
        inputs: &PolicyInputs,
        application_id: Uuid,
        version_id: Option<Uuid>,
        environment_id: Uuid,
        blockers: &[PolicyBlocker],
    ) -> Result<Option<DateTime<Utc>>, AppError> {
        let mut blockers = blockers.to_vec();
        // Back-to-back freezes: a few rounds find the end of a chain.
        for _ in 0..8 {
            if blockers.is_empty() {
                return Ok(None);
            }
            let Some(candidate) = blockers
                .iter()
                .map(|b| b.until)
                .collect::<Option<Vec<_>>>()
                .and_then(|ends| ends.into_iter().max())
            else {
                return Ok(None);
            };
            let mut later =
                Self::freeze_blockers(inputs, application_id, environment_id, candidate);
            later.extend(
                self.promotion_blockers(
                    inputs,
                    application_id,
                    version_id,
                    environment_id,
                    candidate,
                )
                .await?,
            );
            if later.is_empty() {
                return Ok(Some(candidate));
            }
            blockers = later;
        }
        Ok(None)
    }

    // --- Freezes -------------------------------------------------------------------------

    async fn check_scope_ids(
        &self,
        field: &str,
        ids: &Option<Vec<Uuid>>,
        environments: bool,
        errors: &mut Vec<FieldError>,
    ) -> Result<(), AppError> {
        let Some(ids) = ids else { return Ok(()) };
        if ids.is_empty() || ids.len() > SCOPE_IDS_MAX {
            errors.push(FieldError::new(
                field,
                format!("list 1 to {SCOPE_IDS_MAX} ids, or leave it out"),
            ));
            return Ok(());
        }
        for id in ids {
            let found = if environments {
                self.environment_store()
                    .get_environment(*id)
                    .await
                    .map(|_| ())
            } else {
                self.application_store()
                    .get_application(*id)
                    .await
                    .map(|_| ())
            };
            missing(found, field, field, || format!("no such id: {id}"), errors)?;
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_freeze(&self, actor: &User, input: NewFreeze) -> Result<Freeze, AppError> {
        require(actor, Role::Admin)?;
        let at = now();
        let mut errors = vec![];
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        let reason = optional_text("reason", input.reason.as_deref(), REASON_MAX, &mut errors);
        self.check_scope_ids("environmentIds", &input.environment_ids, true, &mut errors)
            .await?;
        self.check_scope_ids("applicationIds", &input.application_ids, false, &mut errors)
            .await?;
        check_instant("startsAt", input.starts_at.as_ref(), &mut errors);
        check_instant("endsAt", input.ends_at.as_ref(), &mut errors);
        let zone_name = input
            .time_zone
            .as_deref()
            .unwrap_or("UTC")
            .trim()
            .to_string();
        let zone = parse_time_zone("timeZone", &zone_name, &mut errors);
        let mut record = FreezeRecord {
            id: Uuid::now_v7(),
            name,
            reason,
            environment_ids: ids_text(&input.environment_ids),
            application_ids: ids_text(&input.application_ids),
            starts_at: at,
            ends_at: None,
            rrule: None,
            duration: None,
            time_zone: zone.map_or(zone_name, |zone| zone.name().to_string()),
            created_by: actor.id,
            created_at: at,
        };
        match (&input.rrule, input.starts_at, input.ends_at) {
            (Some(rule), starts_at, None) => {
                let duration = match &input.duration {
                    Some(text) => parse_duration("duration", text, false, &mut errors)
                        .map(|_| text.trim().to_string()),
                    None => {
                        errors.push(FieldError::new(
                            "duration",
                            "is required with rrule: how long each occurrence lasts (e.g. PT64H)",
                        ));
                        None
                    }
                };
                if let Some(zone) = zone {
                    let anchor = starts_at.unwrap_or_else(|| local_midnight(at, zone));
                    record.starts_at = anchor;
                    record.rrule = parse_rrule("rrule", rule, anchor, zone, &mut errors);
                }
                record.duration = duration;
            }
            (Some(_), _, Some(_)) => errors.push(FieldError::new(
                "endsAt",
                "give either startsAt and endsAt (one window) or rrule and duration (a recurrence)",
            )),
            (None, Some(starts_at), Some(ends_at)) => {
                if input.duration.is_some() {
                    errors.push(FieldError::new("duration", "only goes with rrule"));
                }
                if ends_at <= starts_at {
                    errors.push(FieldError::new("endsAt", "must be after startsAt"));
                } else if ends_at - starts_at > Duration::days(POLICY_SPAN_MAX_DAYS) {
                    errors.push(FieldError::new(
                        "endsAt",
                        format!("a window may last at most {POLICY_SPAN_MAX_DAYS} days; use rrule for one that repeats"),
                    ));
                }
                record.starts_at = starts_at;
                record.ends_at = Some(ends_at);
            }
            (None, _, _) => errors.push(FieldError::new(
                "startsAt",
                "give startsAt and endsAt (one window), or rrule and duration (a recurrence)",
            )),
        }
        finish(errors)?;
        let audit = entry(
            Some(actor),
            "freeze.created",
            Target::of("freeze", record.id),
            Some(json!({"name": {"before": null, "after": record.name}})),
        );
        self.policy_store()
            .insert_freeze(&record, &[audit])
            .await
            .map_err(store_error("freeze"))?;
        tracing::info!(by = %actor.username, freeze = %record.id, name = %record.name, "freeze created");
        self.announce(Change::Everything);
        // Announce a start that already happened (a freeze created while in force) at once.
        self.announce_freeze_transitions().await?;
        self.get_freeze(actor, record.id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_freezes(
        &self,
        actor: &User,
        query: FreezeQuery,
    ) -> Result<Vec<Freeze>, AppError> {
        require(actor, Role::Viewer)?;
        let mut errors = vec![];
        check_instant("activeAt", query.active_at.as_ref(), &mut errors);
        check_instant("from", query.from.as_ref(), &mut errors);
        check_instant("to", query.to.as_ref(), &mut errors);
        let range = match (query.active_at, query.from, query.to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                errors.push(FieldError::new(
                    "activeAt",
                    "give either activeAt or from and to, not both",
                ));
                None
            }
            (Some(at), None, None) => Some((at, at)),
            (None, Some(from), Some(to)) => {
                if to <= from {
                    errors.push(FieldError::new("to", "must be after from"));
                } else if to - from > Duration::days(FREEZE_RANGE_MAX_DAYS) {
                    errors.push(FieldError::new(
                        "to",
                        format!("the range may span at most {FREEZE_RANGE_MAX_DAYS} days"),
                    ));
                }
                Some((from, to))
            }
            (None, Some(_), None) | (None, None, Some(_)) => {
                errors.push(FieldError::new("to", "give both from and to"));
                None
            }
            (None, None, None) => None,
        };
        finish(errors)?;
        let inputs = self.policy_inputs().await?;
        let at = now();
        let mut listed = vec![];
        for (record, schedule) in inputs.freezes.iter() {
            let windows = match range {
                Some((from, to)) if from == to => schedule.active_at(from),
                Some((from, to)) => schedule.occurrences(from, to, OCCURRENCES_LISTED_MAX),
                // The active occurrence (if any) and the next.
                None => {
                    let mut windows = schedule.active_at(at);
                    windows.extend(schedule.next_after(at));
                    windows
                }
            };
            let occurrences: Vec<FreezeOccurrence> = windows
                .into_iter()
                .map(|window| occurrence(record.id, window, &inputs.ends))
                .filter(|o| match range {
                    Some((from, to)) if from == to => o.is_active_at(from),
                    _ => true,
                })
                .collect();
            if range.is_some() && occurrences.is_empty() {
                continue;
            }
            listed.push(to_freeze(record, occurrences));
        }
        Ok(listed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn get_freeze(&self, actor: &User, id: Uuid) -> Result<Freeze, AppError> {
        require(actor, Role::Viewer)?;
        self.list_freezes(actor, FreezeQuery::default())
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| AppError::NotFound("freeze not found".into()))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn delete_freeze(&self, actor: &User, id: Uuid) -> Result<(), AppError> {
        require(actor, Role::Admin)?;
        let audit = entry(
            Some(actor),
            "freeze.deleted",
            Target::of("freeze", id),
            None,
        );
        self.policy_store()
            .delete_freeze(id, &[audit])
            .await
            .map_err(store_error("freeze"))?;
        self.announce(Change::Everything);
        Ok(())
    }

    /// Ends the freeze's active occurrence now (announced as `freeze.ended`).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn end_freeze(
        &self,
        actor: &User,
        id: Uuid,
        request: EndFreezeRequest,
    ) -> Result<Freeze, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let reason = required_text("reason", &request.reason, REASON_MAX, &mut errors);
        finish(errors)?;
        let at = now();
        let inputs = self.policy_inputs().await?;
        let (record, schedule) = inputs
            .freezes
            .iter()
            .find(|(record, _)| record.id == id)
            .ok_or_else(|| AppError::NotFound("freeze not found".into()))?;
        let Some(active) = schedule
            .active_at(at)
            .into_iter()
            .map(|window| occurrence(id, window, &inputs.ends))
            .find(|o| o.is_active_at(at))
        else {
            return Err(AppError::Conflict {
                field: "id".into(),
                message: "this freeze is not in force now; there is nothing to end".into(),
            });
        };
        let end = FreezeEndRecord {
            freeze_id: id,
            occurrence_start: active.starts_at,
            ended_at: at,
            ended_by: actor.username.clone(),
            reason: reason.clone(),
        };
        let mut ended = active.clone();
        ended.ended_at = Some(at);
        ended.ended_by = Some(actor.username.clone());
        ended.end_reason = Some(reason.clone());
        let outbox = self
            .outbox_about(
                "freeze.ended",
                self.freeze_subject(&inputs, record, &ended, true),
                &Self::frozen_environments(&inputs, record),
            )
            .await?;
        let audit = entry(
            Some(actor),
            "freeze.ended",
            Target::of("freeze", id),
            Some(
                json!({"endedAt": {"before": active.ends_at, "after": at}, "reason": {"before": null, "after": reason}}),
            ),
        );
        self.policy_store()
            .end_freeze_occurrence(&end, &[audit], &outbox)
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => AppError::Conflict {
                    field: "id".into(),
                    message: "this occurrence was already ended".into(),
                },
                err => store_error("freeze")(err),
            })?;
        self.wake_notifier(&outbox);
        self.announce(Change::Everything);
        self.get_freeze(actor, id).await
    }

    /// What a freeze notification says: the freeze, the occurrence, and a line for chat.
    fn freeze_subject(
        &self,
        inputs: &PolicyInputs,
        freeze: &FreezeRecord,
        occurrence: &FreezeOccurrence,
        ended: bool,
    ) -> serde_json::Value {
        let environments: Vec<String> = Self::frozen_environments(inputs, freeze)
            .into_iter()
            .map(|id| Self::environment_name(inputs, id))
            .collect();
        let text = if ended {
            format!(
                "Freeze ended: {} ({}) — deployments may go ahead",
                freeze.name,
                environments.join(", ")
            )
        } else {
            format!(
                "Freeze started: {} ({}) until {}{}",
                freeze.name,
                environments.join(", "),
                when(occurrence.ends_at),
                freeze
                    .reason
                    .as_deref()
                    .map(|r| format!(" — {r}"))
                    .unwrap_or_default()
            )
        };
        json!({
            "freeze": to_freeze(freeze, vec![]),
            "occurrence": occurrence,
            "environments": environments,
            "text": text,
        })
    }

    /// Announces (once across every instance) each freeze occurrence that started or ended in
    /// the last day and was not announced yet. Run by every instance every few seconds.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn announce_freeze_transitions(&self) -> Result<usize, AppError> {
        let at = now();
        let inputs = self.policy_inputs().await?;
        let mut announced = 0;
        for (record, schedule) in inputs.freezes.iter() {
            for window in schedule.occurrences(at - ANNOUNCE_LOOKBACK, at, 64) {
                let shown = occurrence(record.id, window, &inputs.ends);
                let mut events = vec![];
                // A start before the freeze existed is announced only while it is in force.
                if shown.starts_at <= at
                    && (shown.starts_at >= record.created_at || shown.is_active_at(at))
                {
                    events.push("freeze.started");
                }
                if shown.until() <= at && shown.until() >= record.created_at {
                    events.push("freeze.ended");
                }
                for event in events {
                    let mut about = shown.clone();
                    if event == "freeze.started" {
                        // The start's message speaks of the scheduled end.
                        about.ended_at = None;
                    }
                    let outbox = self
                        .outbox_about(
                            event,
                            self.freeze_subject(&inputs, record, &about, event == "freeze.ended"),
                            &Self::frozen_environments(&inputs, record),
                        )
                        .await?;
                    let first = self
                        .policy_store()
                        .announce_freeze_event(record.id, shown.starts_at, event, at, &outbox)
                        .await
                        .map_err(store_error("freeze"))?;
                    if first {
                        announced += 1;
                        tracing::info!(freeze = %record.id, event, "freeze occurrence announced");
                        self.wake_notifier(&outbox);
                        self.announce(Change::Everything);
                    }
                }
            }
        }
        Ok(announced)
    }

    // --- Locks ---------------------------------------------------------------------------

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn create_lock(&self, actor: &User, input: NewLock) -> Result<Lock, AppError> {
        require(actor, Role::Editor)?;
        let mut errors = vec![];
        let reason = required_text("reason", &input.reason, REASON_MAX, &mut errors);
        let environment = missing(
            self.environment_store()
                .get_environment(input.environment_id)
                .await,
            "environment",
            "environmentId",
            || "no environment has this id".into(),
            &mut errors,
        )?
        .filter(|e| {
            let active = e.archived_at.is_none();
            if !active {
                errors.push(FieldError::new(
                    "environmentId",
                    "this environment is archived",
                ));
            }
            active
        });
        let application = match input.application_id {
            Some(id) => missing(
                self.application_store().get_application(id).await,
                "application",
                "applicationId",
                || "no application has this id".into(),
                &mut errors,
            )?,
            None => None,
        };
        finish(errors)?;
        let Some(environment) = environment else {
            return Err(AppError::Internal);
        };
        let lock = Lock {
            id: Uuid::now_v7(),
            environment_id: environment.id,
            application_id: application.as_ref().map(|a| a.id),
            reason,
            created_by: actor.id,
            created_by_name: actor.username.clone(),
            created_at: now(),
            released_at: None,
            released_by: None,
        };
        let scope = match &application {
            Some(a) => format!("{} in {}", a.name, environment.name),
            None => environment.name.clone(),
        };
        let outbox = self
            .outbox_about(
                "lock.created",
                json!({"lock": lock, "text": format!("Locked: {scope} by {} — {}", lock.created_by_name, lock.reason)}),
                &[environment.id],
            )
            .await?;
        let audit = entry(
            Some(actor),
            "lock.created",
            Target::of("lock", lock.id),
            Some(json!({"reason": {"before": null, "after": lock.reason}})),
        );
        match self
            .policy_store()
            .insert_lock(&lock, &[audit], &outbox)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                let holder = self
                    .policy_store()
                    .open_lock_of_scope(lock.environment_id, lock.application_id)
                    .await
                    .map_err(store_error("lock"))?;
                let message = match holder {
                    Some(h) => format!(
                        "{scope} is already locked by {} since {}: {} (lock {})",
                        h.created_by_name,
                        when(h.created_at),
                        h.reason,
                        h.id
                    ),
                    None => format!("{scope} was locked at the same moment; try again"),
                };
                return Err(AppError::Conflict {
                    field: "environmentId".into(),
                    message,
                });
            }
            Err(err) => return Err(store_error("lock")(err)),
        }
        self.wake_notifier(&outbox);
        self.announce(Change::Everything);
        Ok(lock)
    }

    /// Releases a lock: its creator or an admin.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn release_lock(&self, actor: &User, id: Uuid) -> Result<(), AppError> {
        require(actor, Role::Editor)?;
        let lock = self
            .policy_store()
            .get_lock(id)
            .await
            .map_err(store_error("lock"))?;
        if lock.created_by != actor.id && !actor.can(Role::Admin) {
            return Err(AppError::Forbidden(format!(
                "only {} (who took it) or an admin may release this lock",
                lock.created_by_name
            )));
        }
        if lock.released_at.is_some() {
            return Err(AppError::NotFound(
                "lock not found (it was released)".into(),
            ));
        }
        let outbox = self
            .outbox_about(
                "lock.released",
                json!({"lock": lock, "releasedBy": actor.username, "text": format!("Lock released by {}: {}", actor.username, lock.reason)}),
                &[lock.environment_id],
            )
            .await?;
        let audit = entry(Some(actor), "lock.released", Target::of("lock", id), None);
        self.policy_store()
            .release_lock(id, &actor.username, now(), &[audit], &outbox)
            .await
            .map_err(store_error("lock"))?;
        self.wake_notifier(&outbox);
        self.announce(Change::Everything);
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_locks(&self, actor: &User) -> Result<Vec<Lock>, AppError> {
        require(actor, Role::Viewer)?;
        self.policy_store()
            .list_locks(None)
            .await
            .map_err(store_error("lock"))
    }

    // --- Promotion rules -----------------------------------------------------------------

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_promotion_rules(&self, actor: &User) -> Result<Vec<PromotionRule>, AppError> {
        require(actor, Role::Viewer)?;
        let requirements = self
            .policy_store()
            .list_promotion_requirements()
            .await
            .map_err(store_error("promotion rule"))?;
        let mut rules: Vec<PromotionRule> = vec![];
        for r in requirements {
            let requirement = PromotionRequirement {
                environment_id: r.required_environment_id,
                min_soak: r.min_soak,
            };
            match rules
                .iter_mut()
                .find(|rule| rule.environment_id == r.environment_id)
            {
                Some(rule) => rule.requires.push(requirement),
                None => rules.push(PromotionRule {
                    environment_id: r.environment_id,
                    requires: vec![requirement],
                }),
            }
        }
        Ok(rules)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %environment_id))]
    pub async fn put_promotion_rule(
        &self,
        actor: &User,
        environment_id: Uuid,
        request: PromotionRuleRequest,
    ) -> Result<PromotionRule, AppError> {
        require(actor, Role::Admin)?;
        self.environment_store()
            .get_environment(environment_id)
            .await
            .map_err(store_error("environment"))?;
        let mut errors = vec![];
        if request.requires.is_empty() || request.requires.len() > REQUIREMENTS_MAX {
            errors.push(FieldError::new(
                "requires",
                format!("list 1 to {REQUIREMENTS_MAX} environments (DELETE removes the rule)"),
            ));
        }
        let mut records = vec![];
        for (i, r) in request.requires.iter().enumerate() {
            let field = format!("requires[{i}]");
            if r.environment_id == environment_id {
                errors.push(FieldError::new(
                    format!("{field}.environmentId"),
                    "an environment cannot require itself",
                ));
            } else if records
                .iter()
                .any(|x: &PromotionRequirementRecord| x.required_environment_id == r.environment_id)
            {
                errors.push(FieldError::new(
                    format!("{field}.environmentId"),
                    "is listed twice",
                ));
            }
            match self
                .environment_store()
                .get_environment(r.environment_id)
                .await
            {
                Ok(_) => {}
                Err(StoreError::NotFound) => errors.push(FieldError::new(
                    format!("{field}.environmentId"),
                    "no environment has this id",
                )),
                Err(err) => return Err(store_error("environment")(err)),
            }
            let soak = parse_duration(&format!("{field}.minSoak"), &r.min_soak, true, &mut errors);
            if soak.is_some() {
                records.push(PromotionRequirementRecord {
                    environment_id,
                    required_environment_id: r.environment_id,
                    min_soak: r.min_soak.trim().to_string(),
                });
            }
        }
        finish(errors)?;
        let before = self.promotion_rule_of(actor, environment_id).await?;
        let after = PromotionRule {
            environment_id,
            requires: records
                .iter()
                .map(|r| PromotionRequirement {
                    environment_id: r.required_environment_id,
                    min_soak: r.min_soak.clone(),
                })
                .collect(),
        };
        let audit = entry(
            Some(actor),
            "promotion_rule.updated",
            Target::of("environment", environment_id),
            Some(
                json!({"requires": {"before": before.map(|b| b.requires), "after": after.requires}}),
            ),
        );
        self.policy_store()
            .put_promotion_rule(environment_id, &records, &[audit])
            .await
            .map_err(store_error("promotion rule"))?;
        Ok(after)
    }

    async fn promotion_rule_of(
        &self,
        actor: &User,
        environment_id: Uuid,
    ) -> Result<Option<PromotionRule>, AppError> {
        Ok(self
            .list_promotion_rules(actor)
            .await?
            .into_iter()
            .find(|rule| rule.environment_id == environment_id))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %environment_id))]
    pub async fn delete_promotion_rule(
        &self,
        actor: &User,
        environment_id: Uuid,
    ) -> Result<(), AppError> {
        require(actor, Role::Admin)?;
        let Some(before) = self.promotion_rule_of(actor, environment_id).await? else {
            return Err(AppError::NotFound(
                "this environment has no promotion rule".into(),
            ));
        };
        let audit = entry(
            Some(actor),
            "promotion_rule.deleted",
            Target::of("environment", environment_id),
            Some(json!({"requires": {"before": before.requires, "after": null}})),
        );
        self.policy_store()
            .put_promotion_rule(environment_id, &[], &[audit])
            .await
            .map_err(store_error("promotion rule"))
    }

    /// The `/policy` page's data: occurrences over its eight weeks (a day's margin each side for
    /// time zones), open locks, promotion rules.
    pub async fn policy_overview(&self, actor: &User) -> Result<PolicyOverview, AppError> {
        let at = now();
        let query = FreezeQuery {
            active_at: None,
            from: Some(at - Duration::days(8)),
            to: Some(at + Duration::days(58)),
        };
        Ok(PolicyOverview {
            now: at,
            freezes: self.list_freezes(actor, query).await?,
            locks: self.list_locks(actor).await?,
            rules: self.list_promotion_rules(actor).await?,
        })
    }

    /// What the dashboard shows: freezes in force, open locks, and which current deployments
    /// went through a blocker.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn policy_banner(&self, actor: &User) -> Result<PolicyBanner, AppError> {
        require(actor, Role::Viewer)?;
        let at = now();
        // Every dashboard asks this: only what it needs, and the rest of the policy only when
        // some freeze may be in force.
        // The three reads go out together (each on a connection of its own).
        let violating = async {
            self.policy_store()
                .current_violating_deployments()
                .await
                .map_err(store_error("deployment"))
        };
        let (inputs, locks, violating_deployments) =
            tokio::try_join!(self.policy_inputs(), self.list_locks(actor), violating)?;
        let in_force = inputs
            .freezes
            .iter()
            .any(|(_, schedule)| !schedule.active_at(at).is_empty());
        let mut freezes = vec![];
        if in_force {
            freezes = self.active_freezes(at).await?;
        }
        Ok(PolicyBanner {
            freezes,
            locks,
            violating_deployments,
        })
    }

    /// The freeze occurrences in force at `at` (not ended early), with the environments named.
    async fn active_freezes(&self, at: DateTime<Utc>) -> Result<Vec<ActiveFreeze>, AppError> {
        let inputs = self.policy_inputs().await?;
        let mut freezes = vec![];
        for (record, schedule) in inputs.freezes.iter() {
            for window in schedule.active_at(at) {
                let shown = occurrence(record.id, window, &inputs.ends);
                if shown.is_active_at(at) {
                    let environment_ids = Self::frozen_environments(&inputs, record);
                    freezes.push(ActiveFreeze {
                        id: record.id,
                        name: record.name.clone(),
                        reason: record.reason.clone(),
                        until: shown.until(),
                        environment_names: environment_ids
                            .iter()
                            .map(|id| Self::environment_name(&inputs, *id))
                            .collect(),
                        environment_ids,
                    });
                }
            }
        }
        Ok(freezes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(Duration::seconds(86_399)), "23 h 59 min 59 s");
        assert_eq!(span(Duration::hours(28)), "1 d 4 h");
        assert_eq!(span(Duration::zero()), "0 s");
    }
}
