//! What changed between two deployed versions (issue 36).
//!
//! Pipelines send, for a version, what `git log <since>..<version>` printed (a *range*). The
//! commits reachable from a version are then its ranges' commits plus what its bases reach, so
//! what `to` has that `from` has not is the commits of every version reachable from `to` but
//! not from `from`, less any commit a version reachable from `from` holds (a commit sent twice,
//! in lists from different bases, is known to be in `from`'s history). The answer is exact
//! (`recorded`) when the walk from `to` reaches `from` and every version met on the way came
//! with its commits, untruncated.

use std::collections::{HashMap, HashSet};

use chrono::SubsecRound;
use regex::Regex;
use uuid::Uuid;

use super::audit::{entry, Target};
use super::state::{decode_cursor_parts, encode_cursor_parts, require, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::store::{
    store_error, CommitRangeRecord, CommitRecord, PairFilter, RangeCommitRecord, ReachedVersion,
    StoreError,
};

/// How many ranges away from a version the walk goes: versions up to this many releases apart
/// compare exactly; further apart the answer is what the walk found, marked partial. Each step
/// costs about 6 µs on SQLite, and the walk runs from both sides (see benches/README.md).
pub const MAX_STEPS: i32 = 200;
/// The ticket key pattern when none is configured (Jira, YouTrack, Linear keys).
pub const DEFAULT_TICKET_PATTERN: &str = "[A-Z][A-Z0-9]+-[0-9]+";
const TICKET_PATTERN_MAX: usize = 200;
/// A compiled pattern's size bound: a hostile pattern fails to compile instead of eating memory.
const TICKET_REGEX_SIZE: usize = 1 << 20;
const AUTHOR_MAX: usize = 255;

/// Where ticket keys and compare links come from (`DEPLOYTRACK_TICKET_PATTERN`,
/// `DEPLOYTRACK_TICKET_URL`, `DEPLOYTRACK_COMPARE_URL`).
#[derive(Clone, Debug)]
pub struct ChangeSettings {
    tickets: Regex,
    ticket_url: Option<String>,
    compare_url: String,
    /// A commit's page, for commits sent without a `url` (GitHub and GitLab; a custom forge's
    /// commits link only when their senders give the link).
    commit_url: Option<&'static str>,
}

/// GitHub's compare view; `{repository}` is the application's, `{from}`/`{to}` commits or tags.
pub const GITHUB_COMPARE: &str = "https://github.com/{repository}/compare/{from}...{to}";
pub const GITLAB_COMPARE: &str = "https://gitlab.com/{repository}/-/compare/{from}...{to}";
const GITHUB_COMMIT: &str = "https://github.com/{repository}/commit/{sha}";
const GITLAB_COMMIT: &str = "https://gitlab.com/{repository}/-/commit/{sha}";

impl Default for ChangeSettings {
    fn default() -> Self {
        Self::new(DEFAULT_TICKET_PATTERN, None, "github").expect("the default settings are valid")
    }
}

fn ticket_regex(pattern: &str) -> Result<Regex, String> {
    if pattern.chars().count() > TICKET_PATTERN_MAX {
        return Err(format!("must be at most {TICKET_PATTERN_MAX} characters"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(TICKET_REGEX_SIZE)
        .build()
        .map_err(|err| format!("does not compile: {}", one_line(&err.to_string())))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl ChangeSettings {
    /// `compare` is `github`, `gitlab`, or a template with `{repository}`, `{from}` and `{to}`
    /// (a self-hosted forge); `ticket_url` a template with `{key}`.
    pub fn new(pattern: &str, ticket_url: Option<&str>, compare: &str) -> Result<Self, String> {
        let tickets = ticket_regex(pattern).map_err(|e| format!("the ticket pattern {e}"))?;
        let ticket_url = ticket_url.map(str::trim).filter(|url| !url.is_empty());
        if let Some(url) = ticket_url {
            if !url.contains("{key}") || !is_http(url) {
                return Err(format!(
                    "the ticket URL template must be an http(s) URL containing {{key}}, not {url:?}"
                ));
            }
        }
        let (compare_url, commit_url) = match compare.trim() {
            "" | "github" => (GITHUB_COMPARE.to_string(), Some(GITHUB_COMMIT)),
            "gitlab" => (GITLAB_COMPARE.to_string(), Some(GITLAB_COMMIT)),
            template
                if is_http(template)
                    && ["{repository}", "{from}", "{to}"]
                        .iter()
                        .all(|hole| template.contains(hole)) =>
            {
                (template.to_string(), None)
            }
            other => {
                return Err(format!(
                    "the compare URL must be github, gitlab, or an http(s) template with {{repository}}, {{from}} and {{to}}, not {other:?}"
                ))
            }
        };
        Ok(Self {
            tickets,
            ticket_url: ticket_url.map(str::to_string),
            compare_url,
            commit_url,
        })
    }

    fn ticket(&self, key: &str) -> Ticket {
        Ticket {
            key: key.to_string(),
            url: self
                .ticket_url
                .as_ref()
                .map(|template| template.replace("{key}", &path_segment(key))),
        }
    }

    fn commit_url(&self, repository: &str, sha: &str) -> Option<String> {
        self.commit_url.map(|template| {
            template
                .replace("{repository}", repository)
                .replace("{sha}", &path_segment(sha))
        })
    }

    fn compare_url(&self, repository: &str, from: &str, to: &str) -> String {
        self.compare_url
            .replace("{repository}", repository)
            .replace("{from}", &path_segment(from))
            .replace("{to}", &path_segment(to))
    }
}

fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// `text` safe in a URL path (tags may hold `+` or `/`).
fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2E", ".")
        .replace("%2D", "-")
        .replace("%5F", "_")
}

/// Checks a list of commits as sent; the stored form, or errors under `field`.
pub(super) fn check_commit_list(
    field: &str,
    list: &CommitList,
    errors: &mut Vec<FieldError>,
) -> Vec<CommitRecord> {
    if list.commits.len() > COMMITS_PER_REQUEST_MAX {
        errors.push(FieldError::new(
            format!("{field}.commits"),
            format!(
                "holds {} commits; at most {COMMITS_PER_REQUEST_MAX} per request (send the newest {COMMITS_PER_REQUEST_MAX} and the number left out as \"truncated\")",
                list.commits.len()
            ),
        ));
        return vec![];
    }
    if let Some(since) = &list.since {
        commit_sha(&format!("{field}.since"), Some(since), errors);
    }
    let before = errors.len();
    let mut seen = HashSet::new();
    let mut records = Vec::with_capacity(list.commits.len());
    for (index, commit) in list.commits.iter().enumerate() {
        // Only the first few offenders are named: 5,000 copies of one mistake help nobody.
        if errors.len() - before >= 20 {
            break;
        }
        let at = |name: &str| format!("{field}.commits[{index}].{name}");
        let sha = commit.sha.trim().to_ascii_lowercase();
        if !(sha.len() == 40 || sha.len() == 64) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            errors.push(FieldError::new(
                at("sha"),
                "must be a full commit hash: 40 (SHA-1) or 64 (SHA-256) hex digits",
            ));
            continue;
        }
        if !seen.insert(sha.clone()) {
            errors.push(FieldError::new(at("sha"), "is listed twice"));
            continue;
        }
        let title = required_text(&at("title"), &commit.title, COMMIT_TITLE_MAX, errors);
        let author = required_text(&at("author"), &commit.author, AUTHOR_MAX, errors);
        check_instant(&at("authoredAt"), Some(&commit.authored_at), errors);
        let url = optional_text(&at("url"), commit.url.as_deref(), COMMIT_URL_MAX, errors);
        if url.as_deref().is_some_and(|url| !is_http(url)) {
            errors.push(FieldError::new(at("url"), "must be an http(s) URL"));
        }
        records.push(CommitRecord {
            sha,
            title,
            author,
            authored_at: commit.authored_at.trunc_subsecs(6),
            url,
        });
    }
    records
}

/// One side of a comparison.
struct Side {
    version: Version,
    reach: HashMap<Uuid, i32>,
}

impl Side {
    fn reaches(&self, other: &Side) -> bool {
        self.reach.contains_key(&other.version.id)
    }
}

/// Where a commit stands in an answer: nearer versions first, then sending order, then git
/// log's order. The page cursor is this key.
type CommitKey = (i32, chrono::DateTime<chrono::Utc>, Uuid, i32);

fn brief(version: &Version) -> ChangeVersion {
    ChangeVersion {
        id: version.id,
        version_identifier: version.version_identifier.clone(),
        commit_sha: version.commit_sha.clone(),
        created_at: version.created_at,
    }
}

/// What `GET /api/changes` asks: one application, and each side as a version or as what an
/// environment runs now (names or ids).
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangesQuery {
    /// The application's name or id.
    pub application: String,
    /// The earlier side: a version identifier or id (or give `fromEnvironment`).
    #[serde(default)]
    pub from_version: Option<String>,
    /// The later side: a version identifier or id (or give `toEnvironment`).
    #[serde(default)]
    pub to_version: Option<String>,
    /// The earlier side: what this environment (name or id) runs now.
    #[serde(default)]
    pub from_environment: Option<String>,
    /// The later side: what this environment (name or id) runs now.
    #[serde(default)]
    pub to_environment: Option<String>,
    /// The previous page's `nextCursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Commits per page, 1 to 1,000 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Find ticket keys with this regular expression instead of the configured one.
    #[serde(default)]
    pub ticket_pattern: Option<String>,
}

/// A page of a deployment's or a version's changes.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangesPage {
    /// The previous page's `nextCursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Commits per page, 1 to 1,000 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// What one side of a comparison names.
enum Named<'a> {
    Version(&'a str),
    Environment(&'a str),
}

/// One side of `GET /api/changes`: exactly one of `<end>Version` and `<end>Environment`.
fn named_side<'a>(
    version: Option<&'a str>,
    environment: Option<&'a str>,
    end: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Named<'a>> {
    match (version, environment) {
        (Some(version), None) => Some(Named::Version(version)),
        (None, Some(environment)) => Some(Named::Environment(environment)),
        _ => {
            errors.push(FieldError::new(
                format!("{end}Version"),
                format!("give exactly one of {end}Version and {end}Environment"),
            ));
            None
        }
    }
}

impl Service {
    /// Keeps a list of commits for a version (`POST /api/versions/{id}/commits`).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %version_id))]
    pub async fn store_commits(
        &self,
        actor: &User,
        version_id: Uuid,
        list: CommitList,
    ) -> Result<CommitsStored, AppError> {
        require(actor, Role::Editor)?;
        let version = self
            .version_store()
            .get_version(version_id)
            .await
            .map_err(store_error("version"))?;
        let mut errors = vec![];
        let commits = check_commit_list("body", &list, &mut errors);
        finish(errors)?;
        self.keep_commits(actor, version.id, version.application_id, &list, commits)
            .await
    }

    /// Keeps a checked list (see [`check_commit_list`]) for `version`.
    pub(super) async fn keep_commits(
        &self,
        actor: &User,
        version_id: Uuid,
        application_id: Uuid,
        list: &CommitList,
        commits: Vec<CommitRecord>,
    ) -> Result<CommitsStored, AppError> {
        let since = list
            .since
            .as_deref()
            .map(|sha| sha.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mut base_version_id = None;
        if !since.is_empty() {
            base_version_id = self
                .change_store()
                .version_by_commit(application_id, &since)
                .await
                .map_err(store_error("version"))?
                .filter(|base| *base != version_id);
        }
        // A base already reachable from the version (a rollback's list: git log newer..older is
        // empty) would make a loop; the list is kept, the edge is not.
        if let Some(base) = base_version_id {
            let reach = self
                .change_store()
                .reachable_versions(base, MAX_STEPS)
                .await
                .map_err(store_error("commits"))?;
            if reach.iter().any(|r| r.version_id == version_id) {
                base_version_id = None;
            }
        }
        let range = CommitRangeRecord {
            id: Uuid::now_v7(),
            version_id,
            since_sha: since,
            base_version_id,
            base_is_ancestor: list.since_is_ancestor,
            commit_count: commits.len() as i32,
            truncated: list.truncated.min(i32::MAX as u32) as i32,
            created_at: now(),
        };
        let audit = entry(
            Some(actor),
            "version.commits_added",
            Target::of("version", version_id),
            Some(serde_json::json!({
                "since": list.since,
                "commits": commits.len(),
                "truncated": list.truncated,
                "baseVersionId": base_version_id,
            })),
        );
        let stored = self
            .change_store()
            .insert_commit_range(application_id, &range, &commits, &[audit])
            .await
            .map_err(store_error("commits"))?;
        Ok(CommitsStored {
            version_id,
            commits: commits.len() as u32,
            base_version_id,
            stored,
        })
    }

    /// What lies between two versions, or what two environments run (`GET /api/changes`).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn changes(&self, actor: &User, query: ChangesQuery) -> Result<Changes, AppError> {
        require(actor, Role::Viewer)?;
        let mut errors = vec![];
        let limit = page_limit(query.limit, &mut errors);
        let tickets = self.ticket_pattern(query.ticket_pattern.as_deref(), &mut errors);
        let from = named_side(
            query.from_version.as_deref(),
            query.from_environment.as_deref(),
            "from",
            &mut errors,
        );
        let to = named_side(
            query.to_version.as_deref(),
            query.to_environment.as_deref(),
            "to",
            &mut errors,
        );
        let application = self
            .application_named(&query.application, &mut errors)
            .await?;
        let (Some(from), Some(to), Some(application)) = (from, to, application) else {
            finish(errors)?;
            return Err(AppError::Internal);
        };
        let from = self
            .side_version(&application, from, "from", &mut errors)
            .await?;
        let to = self
            .side_version(&application, to, "to", &mut errors)
            .await?;
        finish(errors)?;
        self.between(
            &application,
            from.flatten(),
            to.flatten(),
            query.cursor.as_deref(),
            limit,
            tickets.as_ref(),
        )
        .await
    }

    /// What a deployment brought compared with what ran before it in its pair (for a rollback,
    /// what it took away).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn deployment_changes(
        &self,
        actor: &User,
        id: Uuid,
        page: ChangesPage,
    ) -> Result<Changes, AppError> {
        require(actor, Role::Viewer)?;
        let limit = checked_limit(page.limit)?;
        let deployment = self
            .history_store()
            .get_deployment(id)
            .await
            .map_err(store_error("deployment"))?;
        let (to, application) = self.version_with_application(deployment.version_id).await?;
        let from = match &deployment.previous_version {
            Some((identifier, _)) => Some(
                self.version_store()
                    .find_version(application.id, identifier)
                    .await
                    .map_err(store_error("version"))?,
            ),
            None => None,
        };
        self.between(
            &application,
            from,
            Some(to),
            page.cursor.as_deref(),
            limit,
            None,
        )
        .await
    }

    /// A version's own commits: what it has that the version its first list was sent against
    /// had not (everything sent for it, when that is unknown).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn version_changes(
        &self,
        actor: &User,
        id: Uuid,
        page: ChangesPage,
    ) -> Result<Changes, AppError> {
        require(actor, Role::Viewer)?;
        let limit = checked_limit(page.limit)?;
        let (version, application) = self.version_with_application(id).await?;
        let ranges = self
            .change_store()
            .commit_ranges(&[id])
            .await
            .map_err(store_error("commits"))?;
        let base = match ranges.iter().find_map(|r| r.base_version_id) {
            Some(base) => Some(
                self.version_store()
                    .get_version(base)
                    .await
                    .map_err(store_error("version"))?,
            ),
            None => None,
        };
        self.between(
            &application,
            base,
            Some(version),
            page.cursor.as_deref(),
            limit,
            None,
        )
        .await
    }

    /// A version and its application (archived ones too: their history still reads).
    async fn version_with_application(&self, id: Uuid) -> Result<(Version, Application), AppError> {
        let version = self
            .version_store()
            .get_version(id)
            .await
            .map_err(store_error("version"))?;
        let application = self
            .application_store()
            .get_application(version.application_id)
            .await
            .map_err(store_error("application"))?;
        Ok((version, application))
    }

    /// The configured pattern, or the one asked for (422 when it does not compile).
    fn ticket_pattern(&self, asked: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Regex> {
        let asked = asked?;
        match ticket_regex(asked) {
            Ok(regex) => Some(regex),
            Err(message) => {
                errors.push(FieldError::new("ticketPattern", message));
                None
            }
        }
    }

    /// An application by id or name, archived ones included (their history still reads).
    pub(super) async fn application_named(
        &self,
        named: &str,
        errors: &mut Vec<FieldError>,
    ) -> Result<Option<Application>, AppError> {
        let named = named.trim();
        check_characters("application", Some(named), errors);
        if named.is_empty() || named.chars().count() > NAME_MAX {
            errors.push(FieldError::new(
                "application",
                format!("is required: an application's name or id (at most {NAME_MAX} characters)"),
            ));
            return Ok(None);
        }
        let found = self.application_by_id_or_name(named).await;
        super::recording::missing(
            found,
            "application",
            "application",
            || format!("Unknown application '{named}'"),
            errors,
        )
    }

    /// The version a side names: itself, or what the environment runs now (None: nothing).
    async fn side_version(
        &self,
        application: &Application,
        named: Named<'_>,
        end: &str,
        errors: &mut Vec<FieldError>,
    ) -> Result<Option<Option<Version>>, AppError> {
        match named {
            Named::Version(identifier) => {
                let field = format!("{end}Version");
                let identifier = identifier.trim();
                check_characters(&field, Some(identifier), errors);
                if identifier.is_empty() || identifier.chars().count() > NAME_MAX {
                    errors.push(FieldError::new(
                        &field,
                        "must be a version identifier or id",
                    ));
                    return Ok(None);
                }
                let found = match identifier.parse::<Uuid>() {
                    Ok(id) => self.version_store().get_version(id).await.and_then(|v| {
                        if v.application_id == application.id {
                            Ok(v)
                        } else {
                            Err(StoreError::NotFound)
                        }
                    }),
                    Err(_) => {
                        self.version_store()
                            .find_version(application.id, identifier)
                            .await
                    }
                };
                Ok(super::recording::missing(
                    found,
                    "version",
                    &field,
                    || {
                        format!(
                            "Unknown version '{identifier}' of application '{}'",
                            application.name
                        )
                    },
                    errors,
                )?
                .map(Some))
            }
            Named::Environment(name) => {
                let field = format!("{end}Environment");
                let name = name.trim();
                check_characters(&field, Some(name), errors);
                if name.is_empty() || name.chars().count() > NAME_MAX {
                    errors.push(FieldError::new(
                        &field,
                        "must be an environment's name or id",
                    ));
                    return Ok(None);
                }
                let found = match name.parse::<Uuid>() {
                    Ok(id) => self.environment_store().get_environment(id).await,
                    Err(_) => self.environment_store().find_environment(name).await,
                };
                let Some(environment) = super::recording::missing(
                    found,
                    "environment",
                    &field,
                    || format!("Unknown environment '{name}'"),
                    errors,
                )?
                else {
                    return Ok(None);
                };
                let current = self
                    .current_state_store()
                    .current_states(PairFilter {
                        application_id: Some(application.id),
                        environment_id: Some(environment.id),
                    })
                    .await
                    .map_err(store_error("current state"))?;
                let Some(state) = current.first() else {
                    return Ok(Some(None));
                };
                let version = self
                    .version_store()
                    .get_version(state.version_id)
                    .await
                    .map_err(store_error("version"))?;
                Ok(Some(Some(version)))
            }
        }
    }

    async fn side(&self, version: Option<Version>) -> Result<Option<Side>, AppError> {
        let Some(version) = version else {
            return Ok(None);
        };
        let reach = self
            .change_store()
            .reachable_versions(version.id, MAX_STEPS)
            .await
            .map_err(store_error("commits"))?
            .into_iter()
            .map(|ReachedVersion { version_id, steps }| (version_id, steps))
            .collect();
        Ok(Some(Side { version, reach }))
    }

    /// What `to` has that `from` has not, or (behind) the other way round.
    async fn between(
        &self,
        application: &Application,
        from: Option<Version>,
        to: Option<Version>,
        cursor: Option<&str>,
        limit: u32,
        tickets: Option<&Regex>,
    ) -> Result<Changes, AppError> {
        let after = cursor.map(decode_commit_cursor).transpose()?;
        let mut answer = Changes {
            application: application.name.clone(),
            application_id: application.id,
            from: from.as_ref().map(brief),
            to: to.as_ref().map(brief),
            direction: ChangeDirection::Same,
            versions: vec![],
            commits: vec![],
            total_commits: 0,
            tickets: vec![],
            truncated: 0,
            source: ChangeSource::Recorded,
            compare_url: None,
            next_cursor: None,
        };
        // The two walks are independent reads: sent together.
        let (from, to) = tokio::try_join!(self.side(from), self.side(to))?;
        // The later side and the earlier one (None: an environment that runs nothing).
        let (newer, older, direction) = match (to, from) {
            (None, None) => {
                answer.source = ChangeSource::Unavailable;
                return Ok(answer);
            }
            (Some(to), Some(from)) if to.version.id == from.version.id => return Ok(answer),
            (Some(to), None) => (to, None, ChangeDirection::Ahead),
            (None, Some(from)) => (from, None, ChangeDirection::Behind),
            (Some(to), Some(from)) => {
                let to_is_later = if to.reaches(&from) {
                    true
                } else if from.reaches(&to) {
                    false
                } else if self.direct_ranges(&to, &from).await?.is_some() {
                    true
                } else if self.direct_ranges(&from, &to).await?.is_some() {
                    false
                } else {
                    (to.version.created_at, to.version.id)
                        > (from.version.created_at, from.version.id)
                };
                if to_is_later {
                    (to, Some(from), ChangeDirection::Ahead)
                } else {
                    (from, Some(to), ChangeDirection::Behind)
                }
            }
        };
        answer.direction = direction;
        if let (Some(repository), Some(older)) = (&application.repository, &older) {
            let reference = |v: &Version| {
                v.commit_sha
                    .clone()
                    .unwrap_or_else(|| v.version_identifier.clone())
            };
            answer.compare_url = Some(self.changes_settings().compare_url(
                repository,
                &reference(&older.version),
                &reference(&newer.version),
            ));
        }

        // Which versions' ranges hold the answer, and which commits are known to be older.
        let direct = match &older {
            Some(older) if !newer.reaches(older) => self.direct_ranges(&newer, older).await?,
            _ => None,
        };
        let (ranges, connected, between_ids, excluded) = match direct {
            Some(ranges) => (ranges, true, vec![newer.version.id], vec![]),
            None => {
                let older_reach = older.as_ref().map(|o| &o.reach);
                let mut between: Vec<(Uuid, i32)> = newer
                    .reach
                    .iter()
                    .filter(|(id, _)| older_reach.is_none_or(|reach| !reach.contains_key(id)))
                    .map(|(id, steps)| (*id, *steps))
                    .collect();
                between.sort_by_key(|(id, steps)| (*steps, *id));
                let between_ids: Vec<Uuid> = between.iter().map(|(id, _)| *id).collect();
                let ranges = self
                    .change_store()
                    .commit_ranges(&between_ids)
                    .await
                    .map_err(store_error("commits"))?;
                let connected = match &older {
                    Some(older) => newer.reaches(older),
                    // From nothing: complete only down to a list that starts at the first commit.
                    None => ranges.iter().any(|r| r.since_sha.is_empty()),
                };
                let excluded = older_reach.map_or(vec![], |reach| reach.keys().copied().collect());
                (ranges, connected, between_ids, excluded)
            }
        };
        let versions = self
            .change_store()
            .versions_by_ids(&between_ids)
            .await
            .map_err(store_error("versions"))?;
        let order: HashMap<Uuid, usize> = between_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut versions: Vec<&Version> = versions.iter().collect();
        versions.sort_by_key(|v| order.get(&v.id).copied().unwrap_or(usize::MAX));
        answer.versions = versions.into_iter().map(brief).collect();

        let every_version_sent = between_ids
            .iter()
            .all(|id| ranges.iter().any(|range| range.version_id == *id));
        answer.truncated = ranges.iter().map(|r| r.truncated.max(0) as u32).sum();
        let range_ids: Vec<Uuid> = ranges.iter().map(|r| r.id).collect();
        let found = self
            .change_store()
            .range_commits(application.id, &range_ids, &excluded)
            .await
            .map_err(store_error("commits"))?;
        let commits = ordered(found, &ranges, &newer.reach);
        answer.source = if ranges.is_empty() {
            ChangeSource::Unavailable
        } else if connected && every_version_sent && answer.truncated == 0 {
            ChangeSource::Recorded
        } else {
            ChangeSource::Partial
        };
        let settings = self.changes_settings();
        let pattern = tickets.unwrap_or(&settings.tickets);
        let mut seen = HashSet::new();
        for (_, commit) in &commits {
            for key in pattern.find_iter(&commit.title) {
                if seen.insert(key.as_str().to_string()) {
                    answer.tickets.push(settings.ticket(key.as_str()));
                }
            }
        }
        answer.total_commits = commits.len() as u32;
        let start = after.map_or(0, |after| commits.partition_point(|(key, _)| *key <= after));
        let page: Vec<_> = commits.iter().skip(start).take(limit as usize).collect();
        if start + page.len() < commits.len() {
            answer.next_cursor = page.last().map(|(key, _)| encode_commit_cursor(key));
        }
        answer.commits = page
            .into_iter()
            .map(|(_, commit)| Commit {
                sha: commit.sha.clone(),
                title: commit.title.clone(),
                author: commit.author.clone(),
                authored_at: commit.authored_at,
                url: commit.url.clone().or_else(|| {
                    let repository = application.repository.as_deref()?;
                    settings.commit_url(repository, &commit.sha)
                }),
                tickets: pattern
                    .find_iter(&commit.title)
                    .map(|key| key.as_str().to_string())
                    .collect(),
            })
            .collect();
        Ok(answer)
    }

    /// `newer`'s ranges sent with `older` as their base when no walk connects the two (history
    /// rewritten in between): each is exactly what `newer` has that `older` had not.
    async fn direct_ranges(
        &self,
        newer: &Side,
        older: &Side,
    ) -> Result<Option<Vec<CommitRangeRecord>>, AppError> {
        let ranges = self
            .change_store()
            .commit_ranges(&[newer.version.id])
            .await
            .map_err(store_error("commits"))?;
        let direct: Vec<_> = ranges
            .into_iter()
            .filter(|r| r.base_version_id == Some(older.version.id))
            .take(1)
            .collect();
        Ok((!direct.is_empty()).then_some(direct))
    }

    pub(super) fn changes_settings(&self) -> &ChangeSettings {
        &self.changes
    }
}

/// The commits in answer order, each once (at its first place).
fn ordered(
    found: Vec<RangeCommitRecord>,
    ranges: &[CommitRangeRecord],
    reach: &HashMap<Uuid, i32>,
) -> Vec<(CommitKey, CommitRecord)> {
    let range_key: HashMap<Uuid, (i32, chrono::DateTime<chrono::Utc>)> = ranges
        .iter()
        .map(|r| {
            let steps = reach.get(&r.version_id).copied().unwrap_or(0);
            (r.id, (steps, r.created_at))
        })
        .collect();
    let mut keyed: Vec<(CommitKey, CommitRecord)> = found
        .into_iter()
        .filter_map(|row| {
            let (steps, sent) = *range_key.get(&row.range_id)?;
            Some(((steps, sent, row.range_id, row.position), row.commit))
        })
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    let mut seen = HashSet::new();
    keyed.retain(|(_, commit)| seen.insert(commit.sha.clone()));
    keyed
}

fn page_limit(limit: Option<u32>, errors: &mut Vec<FieldError>) -> u32 {
    match limit {
        None => CHANGES_PAGE_DEFAULT,
        Some(limit) if (1..=CHANGES_PAGE_MAX).contains(&limit) => limit,
        Some(_) => {
            errors.push(FieldError::new(
                "limit",
                format!("must be 1 to {CHANGES_PAGE_MAX}"),
            ));
            CHANGES_PAGE_DEFAULT
        }
    }
}

fn checked_limit(limit: Option<u32>) -> Result<u32, AppError> {
    let mut errors = vec![];
    let limit = page_limit(limit, &mut errors);
    finish(errors)?;
    Ok(limit)
}

fn encode_commit_cursor((steps, sent, range, position): &CommitKey) -> String {
    encode_cursor_parts(&[
        steps.to_string(),
        sent.timestamp_micros().to_string(),
        range.to_string(),
        position.to_string(),
    ])
}

fn decode_commit_cursor(cursor: &str) -> Result<CommitKey, AppError> {
    let invalid = || {
        AppError::BadRequest(
            "invalid cursor: pass the nextCursor value of the previous page unchanged".into(),
        )
    };
    let parts = decode_cursor_parts(cursor)?;
    let [steps, sent, range, position] = parts.as_slice() else {
        return Err(invalid());
    };
    Ok((
        steps.parse().map_err(|_| invalid())?,
        sent.parse::<i64>()
            .ok()
            .and_then(chrono::DateTime::from_timestamp_micros)
            .ok_or_else(invalid)?,
        range.parse().map_err(|_| invalid())?,
        position.parse().map_err(|_| invalid())?,
    ))
}

/// Release notes a person can paste: the versions, the tickets, the commits.
pub fn changes_markdown(changes: &Changes) -> String {
    use std::fmt::Write;
    let name = |v: &Option<ChangeVersion>| {
        v.as_ref()
            .map_or("nothing".to_string(), |v| v.version_identifier.clone())
    };
    let escape = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if "\\`*_{}[]<>()#+-.!|~".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# {}: {} → {}\n",
        escape(&changes.application),
        escape(&name(&changes.from)),
        escape(&name(&changes.to))
    );
    let commits = match changes.total_commits {
        1 => "1 commit".to_string(),
        n => format!("{n} commits"),
    };
    let what = match changes.direction {
        ChangeDirection::Same => "The same version: nothing changed.".to_string(),
        ChangeDirection::Ahead => format!("{commits} added."),
        ChangeDirection::Behind => format!("A step back: {commits} removed."),
    };
    let source = match changes.source {
        ChangeSource::Recorded => "",
        ChangeSource::Partial => {
            " Partial: some commits in this range were never sent to deploytrack."
        }
        ChangeSource::Unavailable => " No commits were sent to deploytrack for this range.",
    };
    let _ = writeln!(md, "{what}{source}\n");
    if let Some(url) = &changes.compare_url {
        let _ = writeln!(md, "Compare: <{url}>\n");
    }
    if !changes.tickets.is_empty() {
        let _ = writeln!(md, "## Tickets\n");
        for ticket in &changes.tickets {
            match &ticket.url {
                Some(url) => {
                    let _ = writeln!(md, "- [{}]({url})", escape(&ticket.key));
                }
                None => {
                    let _ = writeln!(md, "- {}", escape(&ticket.key));
                }
            }
        }
        md.push('\n');
    }
    if !changes.commits.is_empty() {
        let _ = writeln!(md, "## Commits\n");
        for commit in &changes.commits {
            let short = &commit.sha[..commit.sha.len().min(7)];
            let sha = match &commit.url {
                Some(url) => format!("[`{short}`]({url})"),
                None => format!("`{short}`"),
            };
            let _ = writeln!(
                md,
                "- {sha} {} ({}, {})",
                escape(&commit.title),
                escape(&commit.author),
                commit.authored_at.format("%Y-%m-%d")
            );
        }
        if changes.next_cursor.is_some() {
            let _ = writeln!(md, "\n…more commits follow on the next page.");
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_what_is_wrong() {
        assert!(ChangeSettings::new(DEFAULT_TICKET_PATTERN, None, "gitlab").is_ok());
        let bad = ChangeSettings::new("(", None, "github").unwrap_err();
        assert!(
            bad.starts_with("the ticket pattern does not compile"),
            "{bad}"
        );
        let huge = ChangeSettings::new("a{1000}{1000}", None, "github").unwrap_err();
        assert!(huge.contains("does not compile"), "{huge}");
        assert!(
            ChangeSettings::new("x", Some("https://t.example/browse"), "github")
                .unwrap_err()
                .contains("{key}")
        );
        assert!(ChangeSettings::new("x", None, "ftp://{repository}/{from}/{to}").is_err());
        let custom = ChangeSettings::new(
            "x",
            Some("https://t.example/browse/{key}"),
            "https://git.example.com/{repository}/compare/{from}..{to}",
        )
        .unwrap();
        assert_eq!(
            custom.compare_url("acme/billing", "v1.0+build 1", "abc"),
            "https://git.example.com/acme/billing/compare/v1.0%2Bbuild%201..abc"
        );
        assert_eq!(
            custom.ticket("BILL-1").url.as_deref(),
            Some("https://t.example/browse/BILL-1")
        );
        // A custom forge's commit pages are unknown; GitLab's are not.
        assert_eq!(custom.commit_url("acme/billing", "abc"), None);
        let gitlab = ChangeSettings::new("x", None, "gitlab").unwrap();
        assert_eq!(
            gitlab.commit_url("group/sub/project", "abc").as_deref(),
            Some("https://gitlab.com/group/sub/project/-/commit/abc")
        );
    }

    #[test]
    fn release_notes_escape_what_commits_say() {
        let changes = Changes {
            application: "Billing".into(),
            application_id: Uuid::nil(),
            from: None,
            to: None,
            direction: ChangeDirection::Ahead,
            versions: vec![],
            commits: vec![Commit {
                sha: "0123456789abcdef0123456789abcdef01234567".into(),
                title: "[click](javascript:alert(1)) <b>*bold*</b>".into(),
                author: "Ada".into(),
                authored_at: chrono::DateTime::UNIX_EPOCH,
                url: None,
                tickets: vec![],
            }],
            total_commits: 1,
            tickets: vec![],
            truncated: 0,
            source: ChangeSource::Partial,
            compare_url: None,
            next_cursor: None,
        };
        let md = changes_markdown(&changes);
        assert!(md.contains("1 commit added. Partial:"), "{md}");
        assert!(
            md.contains("- `0123456` \\[click\\]\\(javascript:alert\\(1\\)\\) \\<b\\>\\*bold\\*\\</b\\> (Ada, 1970-01-01)"),
            "{md}"
        );
    }
}
