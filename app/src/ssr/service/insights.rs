//! Delivery metrics from the deployment history alone: how often a team ships to production,
//! how often that is undone, how long undoing takes, and how long a version waits for
//! production. The definitions are the ones the insights page states.

use std::cmp::Ordering;
use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::state::{require, Service};
use crate::error::AppError;
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::clock::week_start;
use crate::ssr::ordering::compare_identifiers;
use crate::ssr::store::store_error;
use crate::ssr::InsightRecord;

/// The range measured unless the caller gives one.
const DEFAULT_DAYS: i64 = 90;
/// The longest range one request may measure (its cost grows with the range, not the history).
const MAX_DAYS: i64 = 3 * 366;

impl Service {
    /// Delivery metrics for one application or all, in one environment or production.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn insights(&self, actor: &User, query: InsightsQuery) -> Result<Insights, AppError> {
        require(actor, Role::Viewer)?;
        let mut errors = vec![];
        check_instant("from", query.from.as_ref(), &mut errors);
        check_instant("to", query.to.as_ref(), &mut errors);
        finish(errors)?;
        let to = query.to.unwrap_or_else(now);
        let from = query.from.unwrap_or(to - Duration::days(DEFAULT_DAYS));
        if from >= to {
            return Err(AppError::field("from", "must be before to"));
        }
        if to - from > Duration::days(MAX_DAYS) {
            return Err(AppError::field(
                "from",
                format!("the range may span at most {MAX_DAYS} days"),
            ));
        }
        let application = match query.application_id {
            Some(id) => Some(known(
                self.application_store().get_application(id).await,
                "applicationId",
            )?),
            None => None,
        };
        let environments = self
            .environment_store()
            .list_environments(true)
            .await
            .map_err(store_error("environment"))?;
        let (measured, stand_in) = match query.environment_id {
            Some(id) => {
                let chosen = environments.into_iter().find(|e| e.id == id);
                let chosen = chosen
                    .ok_or_else(|| AppError::field("environmentId", "unknown environment"))?;
                (vec![chosen], false)
            }
            None => {
                let active: Vec<Environment> = environments
                    .into_iter()
                    .filter(|e| e.archived_at.is_none())
                    .collect();
                let production: Vec<Environment> =
                    active.iter().filter(|e| e.is_production).cloned().collect();
                if production.is_empty() {
                    // Nothing marked: the pipeline's last stage is the nearest thing to it.
                    (active.last().cloned().into_iter().collect(), true)
                } else {
                    (production, false)
                }
            }
        };
        let ids: Vec<Uuid> = measured.iter().map(|e| e.id).collect();
        // A team narrows to its applications (and a chosen application outside it to none).
        let applications: Option<Vec<Uuid>> = match &query.team {
            Some(_) => {
                let owned = self
                    .list_team_applications(actor, true, query.team.as_deref())
                    .await?
                    .into_iter()
                    .map(|a| a.id);
                Some(match &application {
                    Some(chosen) => owned.filter(|id| *id == chosen.id).collect(),
                    None => owned.collect(),
                })
            }
            None => application.as_ref().map(|a| vec![a.id]),
        };
        let mut tally = Tally::new(from, to);
        self.insight_store()
            .insight_rows(&ids, applications.as_deref(), from, to, &mut |row| {
                tally.add(&row)
            })
            .await
            .map_err(store_error("deployment"))?;
        let commits = self.commits_of(tally.first_versions()).await?;
        let (
            deployment_frequency,
            change_failure_rate,
            time_to_restore,
            (lead_time, lead_time_basis),
        ) = tally.finish(&commits);
        Ok(Insights {
            from,
            to,
            application: application.map(|a| ApplicationRef {
                id: a.id,
                name: a.name,
            }),
            environments: measured
                .into_iter()
                .map(|e| EnvironmentRef {
                    id: e.id,
                    name: e.name,
                })
                .collect(),
            stand_in,
            deployment_frequency,
            change_failure_rate,
            time_to_restore,
            lead_time,
            lead_time_basis,
        })
    }

    /// The commits sent for `versions`: (sha, authored) per version.
    async fn commits_of(&self, mut versions: Vec<Uuid>) -> Result<CommitTimes, AppError> {
        versions.sort_unstable();
        versions.dedup();
        let mut by_version = CommitTimes::new();
        for (version, sha, at) in self
            .change_store()
            .version_commit_times(&versions)
            .await
            .map_err(store_error("commits"))?
        {
            by_version.entry(version).or_default().push((sha, at));
        }
        Ok(by_version)
    }
}

/// Each version's commits as (sha, authored at).
type CommitTimes = std::collections::HashMap<Uuid, Vec<(String, DateTime<Utc>)>>;

/// An id given as a filter that names nothing is the caller's mistake (422), not a 404.
fn known<T>(found: Result<T, crate::ssr::StoreError>, field: &str) -> Result<T, AppError> {
    found.map_err(|err| match err {
        crate::ssr::StoreError::NotFound => AppError::field(field, "unknown id"),
        other => store_error(field)(other),
    })
}

/// A deployment failed when it was retracted, or when the deployment that replaced it in its
/// pair went back to an older version (a rollback).
fn failed(row: &InsightRecord) -> Option<Failure> {
    if row.deleted_at.is_some() {
        return Some(Failure::Retracted);
    }
    let next = (
        row.next_version_identifier.as_deref()?,
        row.next_version_created_at?,
    );
    let this = (row.version_identifier.as_str(), row.version_created_at);
    (compare_identifiers(next, this) == Ordering::Less).then_some(Failure::RolledBack)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Failure {
    Retracted,
    RolledBack,
}

/// A version's first live deployment to the measured environments, inside the range.
struct FirstHere {
    date: DateTime<Utc>,
    version_id: Uuid,
    /// Where its lead time starts when no commits are known: its release, else its first
    /// deployment to any other environment.
    released_or_staged: Option<DateTime<Utc>>,
}

/// The four metrics, counted as the store hands over the range's deployments: what is kept
/// grows with failures and versions, never with the deployments themselves.
struct Tally {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    deployments: i64,
    live: i64,
    live_weeks: Vec<WeekCount>,
    rolled_back: i64,
    retracted: i64,
    failed_weeks: Vec<WeekCount>,
    restore_seconds: Vec<i64>,
    firsts: Vec<FirstHere>,
}

impl Tally {
    fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Tally {
            from,
            to,
            deployments: 0,
            live: 0,
            live_weeks: weeks(from, to),
            rolled_back: 0,
            retracted: 0,
            failed_weeks: weeks(from, to),
            restore_seconds: vec![],
            firsts: vec![],
        }
    }

    /// Counts one deployment of the range (any order).
    fn add(&mut self, row: &InsightRecord) {
        self.deployments += 1;
        if row.deleted_at.is_none() {
            self.live += 1;
            count_in_week(&mut self.live_weeks, self.from, row.deployment_date);
            if row.first_here == Some(row.deployment_date) {
                self.firsts.push(FirstHere {
                    date: row.deployment_date,
                    version_id: row.version_id,
                    released_or_staged: row.released_at.or(row.first_elsewhere),
                });
            }
        }
        if let Some(why) = failed(row) {
            match why {
                Failure::Retracted => self.retracted += 1,
                Failure::RolledBack => self.rolled_back += 1,
            }
            count_in_week(&mut self.failed_weeks, self.from, row.deployment_date);
            if let Some(next) = row.next_date {
                self.restore_seconds
                    .push((next - row.deployment_date).num_seconds());
            }
        }
    }

    /// The versions whose commits lead time needs.
    fn first_versions(&self) -> Vec<Uuid> {
        self.firsts.iter().map(|first| first.version_id).collect()
    }

    fn finish(
        mut self,
        commits: &CommitTimes,
    ) -> (
        DeploymentFrequency,
        ChangeFailureRate,
        Durations,
        (Durations, LeadTimeBasis),
    ) {
        // In microseconds: a range of under a second is still a range (never a division by zero).
        let days = (self.to - self.from)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(1) as f64
            / 86_400e6;
        let per_day = self.live as f64 / days;
        let band = if per_day >= 1.0 {
            "elite"
        } else if per_day >= 1.0 / 7.0 {
            "high"
        } else if per_day >= 1.0 / 30.0 {
            "medium"
        } else {
            "low"
        };
        let frequency = DeploymentFrequency {
            deployments: self.live,
            per_week: (per_day * 7.0 * 100.0).round() / 100.0,
            band: band.into(),
            weeks: self.live_weeks,
        };
        let failures = self.rolled_back + self.retracted;
        let failure_rate = ChangeFailureRate {
            deployments: self.deployments,
            rolled_back: self.rolled_back,
            retracted: self.retracted,
            rate: (self.deployments > 0)
                .then(|| (failures as f64 / self.deployments as f64 * 10_000.0).round() / 10_000.0),
            weeks: self.failed_weeks,
        };
        let restore = durations(self.restore_seconds);

        // Each version once, at its first live deployment here within the range; a version
        // whose commits were sent counts each commit (once, at its first deployment here), else
        // its release.
        self.firsts
            .sort_by_key(|first| (first.date, first.version_id));
        let (mut seen, mut seen_commits) = (HashSet::new(), HashSet::new());
        let mut basis = LeadTimeBasis::default();
        let mut leads = vec![];
        for first in &self.firsts {
            if !seen.insert(first.version_id) {
                continue;
            }
            match commits.get(&first.version_id).filter(|c| !c.is_empty()) {
                Some(version_commits) => {
                    basis.versions_from_commits += 1;
                    for (sha, authored) in version_commits {
                        if *authored <= first.date && seen_commits.insert(sha.as_str()) {
                            basis.commits += 1;
                            leads.push((first.date - *authored).num_seconds());
                        }
                    }
                }
                None => {
                    // Released after it reached production: no meaningful lead time.
                    if let Some(start) = first
                        .released_or_staged
                        .filter(|start| *start <= first.date)
                    {
                        basis.versions_from_releases += 1;
                        leads.push((first.date - start).num_seconds());
                    }
                }
            }
        }
        (frequency, failure_rate, restore, (durations(leads), basis))
    }
}

/// Every week (Monday 00:00 UTC) that [from, to) touches, counted from zero.
fn weeks(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<WeekCount> {
    let mut weeks = vec![];
    let mut week = week_start(from);
    while week < to {
        weeks.push(WeekCount {
            week_start: week,
            deployments: 0,
        });
        week += Duration::weeks(1);
    }
    weeks
}

/// Counts a deployment dated `at` in its week of `weeks` (which start at `from`'s week).
fn count_in_week(weeks: &mut [WeekCount], from: DateTime<Utc>, at: DateTime<Utc>) {
    let index = (week_start(at) - week_start(from)).num_weeks() as usize;
    if let Some(count) = weeks.get_mut(index) {
        count.deployments += 1;
    }
}

fn durations(mut seconds: Vec<i64>) -> Durations {
    seconds.sort_unstable();
    let count = seconds.len();
    let median = match count {
        0 => None,
        n if n % 2 == 1 => Some(seconds[n / 2]),
        n => Some((seconds[n / 2 - 1] + seconds[n / 2]) / 2),
    };
    Durations {
        count: count as i64,
        median_seconds: median,
        mean_seconds: (count > 0).then(|| seconds.iter().sum::<i64>() / count as i64),
        max_seconds: seconds.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The four metrics over `rows`, as the service counts them.
    fn measure(
        rows: &[InsightRecord],
        commits: &CommitTimes,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> (
        DeploymentFrequency,
        ChangeFailureRate,
        Durations,
        (Durations, LeadTimeBasis),
    ) {
        let mut tally = Tally::new(from, to);
        for row in rows {
            tally.add(row);
        }
        tally.finish(commits)
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    fn row(version: &str, day: u32, next: Option<(&str, u32)>) -> InsightRecord {
        InsightRecord {
            deployment_id: Uuid::now_v7(),
            application_id: Uuid::nil(),
            environment_id: Uuid::nil(),
            // One id per identifier: the same version deployed twice is one version.
            version_id: Uuid::from_u128(version.bytes().fold(0, |id, b| id * 31 + b as u128)),
            deployment_date: at(day, 12),
            deleted_at: None,
            version_identifier: version.into(),
            version_created_at: at(1, 0),
            released_at: None,
            next_date: next.map(|(_, day)| at(day, 12)),
            next_version_identifier: next.map(|(v, _)| v.to_string()),
            next_version_created_at: next.map(|_| at(1, 0)),
            first_here: Some(at(day, 12)),
            first_elsewhere: None,
        }
    }

    #[test]
    fn rollbacks_and_retractions_count_as_failures_with_their_restore_times() {
        let mut retracted = row("1.2.0", 9, None);
        retracted.deleted_at = Some(at(9, 13));
        let rows = vec![
            row("1.0.0", 2, Some(("1.1.0", 4))),
            row("1.1.0", 4, Some(("1.0.0", 5))), // rolled back a day later
            row("1.0.0", 5, Some(("1.1.1", 6))),
            row("1.1.1", 6, None),
            retracted,
        ];
        let (frequency, rate, restore, _) =
            measure(&rows, &CommitTimes::new(), at(2, 0), at(16, 0));
        assert_eq!(frequency.deployments, 4);
        assert_eq!(frequency.per_week, 2.0);
        assert_eq!(frequency.band, "high");
        assert_eq!(
            frequency
                .weeks
                .iter()
                .map(|w| w.deployments)
                .collect::<Vec<_>>(),
            [4, 0]
        );
        assert_eq!(
            (rate.deployments, rate.rolled_back, rate.retracted),
            (5, 1, 1)
        );
        assert_eq!(rate.rate, Some(0.4));
        assert_eq!(
            rate.weeks.iter().map(|w| w.deployments).collect::<Vec<_>>(),
            [1, 1],
            "1.1.0 in the first week, the retracted 1.2.0 in the second"
        );
        assert_eq!(restore.count, 1, "the retraction was never replaced");
        assert_eq!(restore.median_seconds, Some(86_400));
    }

    #[test]
    fn lead_time_counts_each_version_once_from_release_or_first_deployment_elsewhere() {
        let mut released = row("2.0.0", 10, None);
        released.released_at = Some(at(8, 12));
        let mut staged = row("2.1.0", 12, None);
        staged.first_elsewhere = Some(at(11, 0));
        let mut again = staged.clone();
        again.deployment_date = at(13, 0);
        let mut late = row("2.2.0", 14, None);
        late.released_at = Some(at(15, 0));
        let (_, _, _, (lead, _)) = measure(
            &[released, staged, again, late],
            &CommitTimes::new(),
            at(1, 0),
            at(30, 0),
        );
        assert_eq!(lead.count, 2);
        assert_eq!(lead.median_seconds, Some((2 * 86_400 + 36 * 3_600) / 2));
        assert_eq!(lead.max_seconds, Some(2 * 86_400));
    }

    /// DORA's lead time for changes: a version whose commits were sent counts each commit from
    /// its authoring, once (a commit sent again with a later version is not counted again); a
    /// version without commits still counts from its release.
    #[test]
    fn lead_time_counts_each_commit_from_its_authoring_when_commits_are_known() {
        let first = row("3.0.0", 10, None);
        let second = row("3.1.0", 12, None);
        let mut released = row("3.2.0", 14, None);
        released.released_at = Some(at(13, 12));
        let mut commits = CommitTimes::new();
        commits.insert(
            first.version_id,
            vec![("a".into(), at(9, 12)), ("b".into(), at(8, 12))],
        );
        // "b" again (a wider list), and a commit authored after the deployment (clock skew).
        commits.insert(
            second.version_id,
            vec![
                ("c".into(), at(12, 6)),
                ("b".into(), at(8, 12)),
                ("d".into(), at(12, 18)),
            ],
        );
        let (_, _, _, (lead, basis)) =
            measure(&[second, released, first], &commits, at(1, 0), at(30, 0));
        assert_eq!(
            basis,
            LeadTimeBasis {
                versions_from_commits: 2,
                versions_from_releases: 1,
                commits: 3,
            }
        );
        // a: 1 day, b: 2 days, c: 6 hours; 3.2.0: 1 day from its release.
        assert_eq!(lead.count, 4);
        assert_eq!(lead.max_seconds, Some(2 * 86_400));
        assert_eq!(lead.median_seconds, Some(86_400));
    }

    #[test]
    fn bands_follow_the_rate() {
        let daily: Vec<InsightRecord> = (1..=28).map(|day| row("1.0.0", day, None)).collect();
        assert_eq!(
            measure(&daily, &CommitTimes::new(), at(1, 0), at(29, 0))
                .0
                .band,
            "elite"
        );
        assert_eq!(
            measure(&daily[..2], &CommitTimes::new(), at(1, 0), at(29, 0))
                .0
                .band,
            "medium"
        );
        assert_eq!(
            measure(&[], &CommitTimes::new(), at(1, 0), at(29, 0))
                .0
                .band,
            "low"
        );
        assert_eq!(
            measure(&[], &CommitTimes::new(), at(1, 0), at(29, 0))
                .1
                .rate,
            None
        );
        // Found by the fuzzer: a one-second range made the rate 0/0 (null in JSON).
        let second = at(3, 12) + Duration::seconds(1);
        let tiny = measure(&[], &CommitTimes::new(), at(3, 12), second).0;
        assert_eq!(tiny.per_week, 0.0);
        let busy = measure(&daily[2..3], &CommitTimes::new(), at(3, 12), second).0;
        assert!(busy.per_week.is_finite() && busy.per_week > 0.0);
        assert_eq!(busy.band, "elite");
    }
}
