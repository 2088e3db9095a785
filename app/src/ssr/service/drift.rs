//! Drift: an environment promises (its drift policy) never to be more than so long, or so many
//! versions, behind another. The breaches are worked out from what runs where; each is
//! announced once when it starts (`drift.breached`) and once when it ends (`drift.resolved`),
//! and each team hears of its open breaches once a day (`drift.digest`).
//!
//! "Behind since": the compared environment has run versions newer than what this environment
//! runs now, without a break, since the earliest of its latest run of such deployments. An
//! environment that runs nothing of an application is not behind on it (not every application
//! goes everywhere).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use uuid::Uuid;

use super::audit::{changes, entry, Target};
use super::policy::{span, when};
use super::state::{require, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::ordering::compare_versions;
use crate::ssr::policy::parse_duration;
use crate::ssr::store::{
    store_error, CurrentStateRecord, DriftBreachRecord, DriftPolicyRecord, PairFilter, StoreError,
};

/// Versions behind that a policy may allow, at most.
const MAX_VERSIONS_BEHIND: i64 = 10_000;
/// History rows read per page while finding since when an environment is behind.
const HISTORY_PAGE: i64 = 100;

/// When each team's digest goes out: a local time of day in a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestSchedule {
    pub at: NaiveTime,
    pub zone: Tz,
}

impl DigestSchedule {
    /// `at` as `HH:MM` in the IANA zone `zone`; the error names the setting.
    pub fn parse(at: &str, zone: &str) -> Result<Self, String> {
        let at_time = NaiveTime::parse_from_str(at.trim(), "%H:%M").map_err(|_| {
            format!("DEPLOYTRACK_DIGEST_AT must be a local time HH:MM such as 09:30, or off (got {at:?})")
        })?;
        let zone = zone.trim().parse::<Tz>().map_err(|_| {
            format!("DEPLOYTRACK_DIGEST_TZ must be an IANA time zone such as Europe/London (got {zone:?})")
        })?;
        Ok(Self { at: at_time, zone })
    }
}

/// A breach as worked out now.
#[derive(Clone, Debug)]
struct Found {
    environment_id: Uuid,
    application_id: Uuid,
    compared_to: Uuid,
    behind_since: DateTime<Utc>,
    versions_behind: u32,
}

/// What a pair runs on each side, as the breaches' messages name it.
type Running = HashMap<(Uuid, Uuid), (String, String)>;

/// Names for the messages and listings, read once per evaluation.
struct Names {
    applications: HashMap<Uuid, Application>,
    environments: HashMap<Uuid, Environment>,
    teams: HashMap<Uuid, Team>,
}

/// What one evaluation announced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriftAnnounced {
    pub breached: usize,
    pub resolved: usize,
}

/// `P14D`, `PT36H`, `P1DT30M` for a whole number of seconds.
fn iso_duration(seconds: i64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let mut text = format!(
        "P{}",
        if days > 0 {
            format!("{days}D")
        } else {
            String::new()
        }
    );
    if rest > 0 || days == 0 {
        text.push('T');
        for (amount, unit) in [
            (rest / 3_600, 'H'),
            (rest % 3_600 / 60, 'M'),
            (rest % 60, 'S'),
        ] {
            if amount > 0 {
                text.push_str(&format!("{amount}{unit}"));
            }
        }
        if rest == 0 {
            text.push_str("0S");
        }
    }
    text
}

fn to_policy(record: DriftPolicyRecord) -> DriftPolicy {
    DriftPolicy {
        environment_id: record.environment_id,
        compared_to: record.compared_to,
        max_lag: record.max_lag_seconds.map(iso_duration),
        max_versions_behind: record.max_versions_behind.map(|n| n.max(0) as u32),
        updated_at: record.updated_at,
    }
}

impl Names {
    fn describe(&self, breach: &DriftBreachRecord, running: &Running) -> Option<DriftBreach> {
        let application = self.applications.get(&breach.application_id)?;
        let environment = self.environments.get(&breach.environment_id)?;
        let compared = self.environments.get(&breach.compared_to)?;
        let (version, compared_version) = running
            .get(&(breach.environment_id, breach.application_id))
            .cloned()
            .unwrap_or_default();
        Some(DriftBreach {
            id: breach.id,
            application: ApplicationRef {
                id: application.id,
                name: application.name.clone(),
            },
            environment: EnvironmentRef {
                id: environment.id,
                name: environment.name.clone(),
            },
            compared_to: EnvironmentRef {
                id: compared.id,
                name: compared.name.clone(),
            },
            team: application
                .team_id
                .and_then(|id| self.teams.get(&id))
                .map(|team| TeamRef {
                    id: team.id,
                    name: team.name.clone(),
                }),
            version,
            compared_version,
            versions_behind: breach.versions_behind.max(0) as u32,
            since: breach.behind_since,
            breached_at: breach.breached_at,
        })
    }
}

/// One line about a breach, as chat shows it.
fn breach_line(breach: &DriftBreach, at: DateTime<Utc>) -> String {
    format!(
        "{} in {} runs {}, {} behind {} ({}) for {}",
        breach.application.name,
        breach.environment.name,
        breach.version,
        match breach.versions_behind {
            1 => "1 version".to_string(),
            n => format!("{n} versions"),
        },
        breach.compared_to.name,
        breach.compared_version,
        span(at - breach.since)
    )
}

impl Service {
    /// The same service sending each team's daily digest as `schedule` says.
    pub fn with_drift_digest(mut self, schedule: Option<DigestSchedule>) -> Self {
        self.drift_digest = schedule;
        self
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_drift_policies(&self, actor: &User) -> Result<Vec<DriftPolicy>, AppError> {
        require(actor, Role::Viewer)?;
        let policies = self.drift_store().list_drift_policies().await;
        let policies = policies.map_err(store_error("drift policy"))?;
        Ok(policies.into_iter().map(to_policy).collect())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %environment_id))]
    pub async fn get_drift_policy(
        &self,
        actor: &User,
        environment_id: Uuid,
    ) -> Result<DriftPolicy, AppError> {
        self.get_environment(actor, environment_id).await?;
        self.list_drift_policies(actor)
            .await?
            .into_iter()
            .find(|policy| policy.environment_id == environment_id)
            .ok_or_else(|| AppError::NotFound("this environment has no drift policy".into()))
    }

    /// Sets (or replaces) the environment's drift policy (admin), and looks for breaches at once.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %environment_id))]
    pub async fn set_drift_policy(
        &self,
        actor: &User,
        environment_id: Uuid,
        input: DriftPolicyInput,
    ) -> Result<DriftPolicy, AppError> {
        require(actor, Role::Admin)?;
        let environment = self.get_environment(actor, environment_id).await?;
        let mut errors = vec![];
        let compared_to = match self.environment_by_id_or_name(&input.compared_to).await {
            Ok(compared) if compared.id == environment.id => {
                errors.push(FieldError::new(
                    "comparedTo",
                    "must be another environment (one cannot fall behind itself)",
                ));
                None
            }
            Ok(compared) if compared.archived_at.is_some() => {
                errors.push(FieldError::new("comparedTo", "is archived"));
                None
            }
            Ok(compared) => Some(compared.id),
            Err(StoreError::NotFound) => {
                errors.push(FieldError::new(
                    "comparedTo",
                    format!(
                        "Unknown environment '{}': give an environment's id or name",
                        input.compared_to.chars().take(NAME_MAX).collect::<String>()
                    ),
                ));
                None
            }
            Err(err) => return Err(store_error("environment")(err)),
        };
        let max_lag = input
            .max_lag
            .as_deref()
            .and_then(|lag| parse_duration("maxLag", lag, false, &mut errors));
        if let Some(behind) = input.max_versions_behind {
            if !(0..=MAX_VERSIONS_BEHIND).contains(&behind) {
                errors.push(FieldError::new(
                    "maxVersionsBehind",
                    format!("must be between 0 and {MAX_VERSIONS_BEHIND}"),
                ));
            }
        }
        if input.max_lag.is_none() && input.max_versions_behind.is_none() {
            errors.push(FieldError::new(
                "maxLag",
                "give maxLag (e.g. P14D), maxVersionsBehind, or both",
            ));
        }
        finish(errors)?;
        let record = DriftPolicyRecord {
            environment_id,
            compared_to: compared_to.unwrap_or_default(),
            max_lag_seconds: max_lag.map(|lag| lag.num_seconds()),
            max_versions_behind: input.max_versions_behind.map(|n| n as i32),
            updated_at: now(),
        };
        let before = self
            .list_drift_policies(actor)
            .await?
            .into_iter()
            .find(|policy| policy.environment_id == environment_id);
        let policy = to_policy(record.clone());
        let detail = match &before {
            Some(before) => changes(before, &policy, &["updatedAt"]),
            None => serde_json::to_value(&policy).ok(),
        };
        let set = entry(
            Some(actor),
            "drift_policy.set",
            Target::of("environment", environment_id),
            detail,
        );
        self.drift_store()
            .put_drift_policy(&record, &[set])
            .await
            .map_err(store_error("drift policy"))?;
        self.evaluate_drift().await?;
        Ok(policy)
    }

    /// Removes the environment's drift policy (admin); its open breaches resolve.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %environment_id))]
    pub async fn delete_drift_policy(
        &self,
        actor: &User,
        environment_id: Uuid,
    ) -> Result<(), AppError> {
        require(actor, Role::Admin)?;
        let policy = self.get_drift_policy(actor, environment_id).await?;
        let deleted = entry(
            Some(actor),
            "drift_policy.deleted",
            Target::of("environment", environment_id),
            serde_json::to_value(&policy).ok(),
        );
        self.drift_store()
            .delete_drift_policy(environment_id, &[deleted])
            .await
            .map_err(store_error("drift policy"))?;
        self.evaluate_drift().await?;
        Ok(())
    }

    /// The open breaches (viewer), or only those of `team`'s applications, by environment and
    /// application.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn drift(
        &self,
        actor: &User,
        team: Option<&str>,
    ) -> Result<Vec<DriftBreach>, AppError> {
        require(actor, Role::Viewer)?;
        let teams = self.team_scope(actor, team).await?;
        let open = self.drift_store().open_drift_breaches().await;
        let open = open.map_err(store_error("drift breach"))?;
        if open.is_empty() {
            return Ok(vec![]);
        }
        let (names, running) = self.drift_as_shown(&open).await?;
        let mut breaches: Vec<DriftBreach> = open
            .iter()
            .filter_map(|breach| names.describe(breach, &running))
            .filter(|breach| match (&teams, &breach.team) {
                (None, _) => true,
                (Some(teams), Some(team)) => teams.contains(&team.id),
                (Some(_), None) => false,
            })
            .collect();
        let position = |id: Uuid| names.environments.get(&id).map(|e| e.position);
        breaches.sort_by(|a, b| {
            (
                position(a.environment.id),
                a.application.name.to_lowercase(),
            )
                .cmp(&(
                    position(b.environment.id),
                    b.application.name.to_lowercase(),
                ))
        });
        Ok(breaches)
    }

    async fn drift_names(&self) -> Result<Names, AppError> {
        let applications = self.application_store().list_applications(true).await;
        let applications = applications.map_err(store_error("application"))?;
        let environments = self.environment_store().list_environments(true).await;
        let environments = environments.map_err(store_error("environment"))?;
        let teams = self
            .team_store()
            .list_teams()
            .await
            .map_err(store_error("team"))?;
        Ok(Names {
            applications: applications.into_iter().map(|a| (a.id, a)).collect(),
            environments: environments.into_iter().map(|e| (e.id, e)).collect(),
            teams: teams.into_iter().map(|t| (t.id, t)).collect(),
        })
    }

    /// Names and what both sides of each breach run, from the kept matrix (what the dashboard
    /// shows; asking the database per environment cost a listing 30 ms on PostgreSQL at 1M).
    async fn drift_as_shown(
        &self,
        breaches: &[DriftBreachRecord],
    ) -> Result<(Names, Running), AppError> {
        let matrix = self.kept_matrix().await?;
        let teams = self
            .team_store()
            .list_teams()
            .await
            .map_err(store_error("team"))?;
        let layout = &matrix.layout;
        let names = Names {
            applications: layout
                .applications
                .iter()
                .map(|a| (a.id, a.clone()))
                .collect(),
            environments: layout
                .environments
                .iter()
                .map(|e| (e.id, e.clone()))
                .collect(),
            teams: teams.into_iter().map(|t| (t.id, t)).collect(),
        };
        let version = |application, environment| {
            matrix
                .version_of(application, environment)
                .unwrap_or_default()
                .to_string()
        };
        let running = breaches
            .iter()
            .map(|b| {
                (
                    (b.environment_id, b.application_id),
                    (
                        version(b.application_id, b.environment_id),
                        version(b.application_id, b.compared_to),
                    ),
                )
            })
            .collect();
        Ok((names, running))
    }

    async fn environment_states(
        &self,
        environment_id: Uuid,
    ) -> Result<HashMap<Uuid, CurrentStateRecord>, AppError> {
        let states = self
            .current_state_store()
            .current_states(PairFilter {
                application_id: None,
                environment_id: Some(environment_id),
            })
            .await
            .map_err(store_error("deployment"))?;
        Ok(states.into_iter().map(|s| (s.application_id, s)).collect())
    }

    /// The breaches as they stand at `at`, with what each pair runs.
    async fn drift_found(&self, at: DateTime<Utc>) -> Result<(Vec<Found>, Running), AppError> {
        let policies = self.drift_store().list_drift_policies().await;
        let policies = policies.map_err(store_error("drift policy"))?;
        let mut found = vec![];
        let mut running = Running::new();
        if policies.is_empty() {
            return Ok((found, running));
        }
        let active_environments: Vec<Uuid> = self
            .environment_store()
            .list_environments(false)
            .await
            .map_err(store_error("environment"))?
            .into_iter()
            .map(|e| e.id)
            .collect();
        let active_applications: Vec<Uuid> = self
            .application_store()
            .list_applications(false)
            .await
            .map_err(store_error("application"))?
            .into_iter()
            .map(|a| a.id)
            .collect();
        for policy in policies {
            if !active_environments.contains(&policy.environment_id)
                || !active_environments.contains(&policy.compared_to)
            {
                continue;
            }
            let here = self.environment_states(policy.environment_id).await?;
            let there = self.environment_states(policy.compared_to).await?;
            for (application_id, theirs) in &there {
                let Some(ours) = here.get(application_id) else {
                    continue;
                };
                running.insert(
                    (policy.environment_id, *application_id),
                    (
                        ours.version_identifier.clone(),
                        theirs.version_identifier.clone(),
                    ),
                );
                if ours.version_id == theirs.version_id
                    || !active_applications.contains(application_id)
                {
                    continue;
                }
                let Some((versions_behind, behind_since)) =
                    self.how_far_behind(&policy, ours, theirs).await?
                else {
                    continue;
                };
                let too_long = policy
                    .max_lag_seconds
                    .is_some_and(|lag| at - behind_since > Duration::seconds(lag));
                let too_many = policy
                    .max_versions_behind
                    .is_some_and(|most| i64::from(versions_behind) > i64::from(most));
                if too_long || too_many {
                    found.push(Found {
                        environment_id: policy.environment_id,
                        application_id: *application_id,
                        compared_to: policy.compared_to,
                        behind_since,
                        versions_behind,
                    });
                }
            }
        }
        Ok((found, running))
    }

    /// How many versions `ours` is behind `theirs`, and since when the compared environment has
    /// run something newer without a break; None when ours is not older.
    async fn how_far_behind(
        &self,
        policy: &DriftPolicyRecord,
        ours: &CurrentStateRecord,
        theirs: &CurrentStateRecord,
    ) -> Result<Option<(u32, DateTime<Utc>)>, AppError> {
        let mut versions = self
            .version_store()
            .list_versions(ours.application_id, true)
            .await
            .map_err(store_error("version"))?;
        versions.sort_by(compare_versions);
        let rank: HashMap<Uuid, usize> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id, i))
            .collect();
        let (Some(&our_rank), Some(&their_rank)) =
            (rank.get(&ours.version_id), rank.get(&theirs.version_id))
        else {
            return Ok(None);
        };
        if our_rank >= their_rank {
            return Ok(None);
        }
        // Walk the compared environment's live history back while it runs something newer.
        let filter = DeploymentFilter {
            application_id: Some(ours.application_id),
            environment_id: Some(policy.compared_to),
            ..Default::default()
        };
        let mut since = theirs.deployment_date;
        let mut after = None;
        'pages: loop {
            let page = self
                .history_store()
                .list_deployments(&filter, after, HISTORY_PAGE)
                .await
                .map_err(store_error("deployment"))?;
            for record in &page {
                if rank.get(&record.version_id).is_none_or(|&r| r <= our_rank) {
                    break 'pages;
                }
                since = record.deployment_date;
            }
            match page.last() {
                Some(last) if page.len() as i64 == HISTORY_PAGE => {
                    after = Some(crate::ssr::store::HistoryKey {
                        deployment_date: last.deployment_date,
                        created_at: last.created_at,
                        id: last.id,
                    });
                }
                _ => break,
            }
        }
        Ok(Some(((their_rank - our_rank) as u32, since)))
    }

    /// Works out the breaches now and announces what changed: new breaches (`drift.breached`)
    /// and ended ones (`drift.resolved`), each once however many instances evaluate at once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn evaluate_drift(&self) -> Result<DriftAnnounced, AppError> {
        let at = now();
        let (found, running) = self.drift_found(at).await?;
        let open = self.drift_store().open_drift_breaches().await;
        let open = open.map_err(store_error("drift breach"))?;
        let mut announced = DriftAnnounced::default();
        if found.is_empty() && open.is_empty() {
            return Ok(announced);
        }
        let names = self.drift_names().await?;
        let pair = |environment: Uuid, application: Uuid| {
            move |b: &&DriftBreachRecord| {
                b.environment_id == environment && b.application_id == application
            }
        };
        for breach in &found {
            let versions_behind = breach.versions_behind.min(i32::MAX as u32) as i32;
            if let Some(known) = open
                .iter()
                .find(pair(breach.environment_id, breach.application_id))
            {
                if known.behind_since != breach.behind_since
                    || known.versions_behind != versions_behind
                {
                    self.drift_store()
                        .refresh_drift_breach(known.id, breach.behind_since, versions_behind)
                        .await
                        .map_err(store_error("drift breach"))?;
                }
                continue;
            }
            let record = DriftBreachRecord {
                id: Uuid::now_v7(),
                environment_id: breach.environment_id,
                application_id: breach.application_id,
                compared_to: breach.compared_to,
                behind_since: breach.behind_since,
                versions_behind,
                breached_at: at,
                resolved_at: None,
            };
            let outbox = self
                .drift_outbox("drift.breached", &record, &names, &running, at)
                .await?;
            let opened = self.drift_store().open_drift_breach(&record, &outbox).await;
            if opened.map_err(store_error("drift breach"))? {
                announced.breached += 1;
                self.wake_notifier(&outbox);
                tracing::info!(environment = %record.environment_id, application = %record.application_id, "drift breached");
            }
        }
        for breach in &open {
            let still = found.iter().any(|f| {
                f.environment_id == breach.environment_id
                    && f.application_id == breach.application_id
            });
            if still {
                continue;
            }
            let outbox = self
                .drift_outbox("drift.resolved", breach, &names, &running, at)
                .await?;
            let resolved = self
                .drift_store()
                .resolve_drift_breach(breach.id, at, &outbox)
                .await;
            if resolved.map_err(store_error("drift breach"))? {
                announced.resolved += 1;
                self.wake_notifier(&outbox);
                tracing::info!(environment = %breach.environment_id, application = %breach.application_id, "drift resolved");
            }
        }
        Ok(announced)
    }

    async fn drift_outbox(
        &self,
        event: &str,
        breach: &DriftBreachRecord,
        names: &Names,
        running: &Running,
        at: DateTime<Utc>,
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        let Some(described) = names.describe(breach, running) else {
            return Ok(vec![]);
        };
        let text = if event == "drift.breached" {
            format!("Drift: {}", breach_line(&described, at))
        } else {
            format!(
                "Drift resolved: {} in {} has caught up with {} ({})",
                described.application.name,
                described.environment.name,
                described.compared_to.name,
                if described.version.is_empty() {
                    "no longer compared".to_string()
                } else {
                    format!("runs {}", described.version)
                }
            )
        };
        let channel = described
            .team
            .as_ref()
            .and_then(|team| names.teams.get(&team.id))
            .and_then(|team| team.slack_channel.clone());
        let subject = json!({ "text": text, "channel": channel, "breach": described });
        self.outbox_about(event, subject, &[breach.environment_id])
            .await
    }

    /// Sends each team's digest of open breaches once per local day, at or after the
    /// configured time (none on a day without breaches; applications without a team make a
    /// digest of their own). Answers how many digests this call queued.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn send_drift_digests(&self, at: DateTime<Utc>) -> Result<usize, AppError> {
        let Some(schedule) = self.drift_digest else {
            return Ok(0);
        };
        let local = at.with_timezone(&schedule.zone);
        if local.time() < schedule.at {
            return Ok(0);
        }
        let day = local.date_naive().to_string();
        let open = self.drift_store().open_drift_breaches().await;
        let open = open.map_err(store_error("drift breach"))?;
        if open.is_empty() {
            return Ok(0);
        }
        let (names, running) = self.drift_as_shown(&open).await?;
        let mut by_team: HashMap<Option<Uuid>, Vec<DriftBreach>> = HashMap::new();
        for breach in open.iter().filter_map(|b| names.describe(b, &running)) {
            by_team
                .entry(breach.team.as_ref().map(|t| t.id))
                .or_default()
                .push(breach);
        }
        let mut sent = 0;
        for (team_id, breaches) in by_team {
            let team = team_id.and_then(|id| names.teams.get(&id));
            let team_name = team.map_or("No team".to_string(), |t| t.name.clone());
            let mut text = format!(
                "Drift digest for {team_name}, {}: {} behind\n",
                when(at),
                match breaches.len() {
                    1 => "1 application".to_string(),
                    n => format!("{n} applications"),
                }
            );
            for breach in &breaches {
                text.push_str(&format!("• {}\n", breach_line(breach, at)));
            }
            let subject = json!({
                "text": text.trim_end(),
                "channel": team.and_then(|t| t.slack_channel.clone()),
                "team": team.map(|t| TeamRef { id: t.id, name: t.name.clone() }),
                "day": day,
                "breaches": breaches,
            });
            let mut environments: Vec<Uuid> = breaches.iter().map(|b| b.environment.id).collect();
            environments.dedup();
            let outbox = self
                .outbox_about("drift.digest", subject, &environments)
                .await?;
            let team_key = team_id.map_or(String::new(), |id| id.to_string());
            let marked = self
                .drift_store()
                .mark_drift_digest(&team_key, &day, at, &outbox)
                .await;
            if marked.map_err(store_error("drift digest"))? {
                sent += 1;
                self.wake_notifier(&outbox);
                tracing::info!(team = %team_name, %day, "drift digest queued");
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_read_back_as_iso_durations() {
        assert_eq!(iso_duration(14 * 86_400), "P14D");
        assert_eq!(iso_duration(36 * 3_600), "P1DT12H");
        assert_eq!(iso_duration(90), "PT1M30S");
        assert_eq!(iso_duration(0), "PT0S");
    }
}
