//! Importing applications from a Backstage service catalogue: every `Component` becomes an
//! application (its team from `spec.owner`, its repository from the `github.com/project-slug` or
//! `gitlab.com/project-slug` annotation). The whole file is checked before anything is written,
//! and then written in one transaction: an import is applied entirely or not at all. Nothing is
//! ever deleted or archived by an import.

use std::collections::BTreeMap;

use serde::Deserialize;
use uuid::Uuid;

use super::audit::{changes, entry, Target};
use super::state::{require, Change, Service};
use super::teams::MY_TEAMS;
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::store::{store_error, StoreError};

/// The kinds Backstage defines; only `Component` is an application here.
const BACKSTAGE_KINDS: [&str; 10] = [
    "Component",
    "API",
    "Resource",
    "System",
    "Domain",
    "Group",
    "User",
    "Location",
    "Template",
    "Environment",
];

/// The annotations that name a component's repository, in order of preference.
const REPOSITORY_ANNOTATIONS: [&str; 2] = ["github.com/project-slug", "gitlab.com/project-slug"];

/// One YAML document of the file, as far as an import reads it (everything else is ignored).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Entity {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Spec {
    #[serde(default)]
    owner: Option<String>,
}

/// A component read from the file, checked.
struct Component {
    document: u32,
    name: String,
    description: Option<String>,
    team: Option<String>,
    repository: Option<String>,
    notes: Vec<String>,
}

/// Backstage's rule for entity names: 1–63 letters and digits, with `-`, `_` or `.` between.
fn is_backstage_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `spec.owner` as a team: `team-a`, `group:team-a` or `group:default/team-a` name the team
/// `team-a`; a person (`user:…`) owns no team.
fn owning_team(owner: &str, notes: &mut Vec<String>) -> Option<String> {
    let owner = owner.trim();
    let (kind, rest) = match owner.split_once(':') {
        Some((kind, rest)) => (Some(kind.trim()), rest),
        None => (None, owner),
    };
    let name = rest.rsplit('/').next().unwrap_or(rest).trim();
    match kind {
        Some(kind) if kind.eq_ignore_ascii_case("user") => {
            notes.push(format!(
                "owned by a person ({owner}), not a team: left without a team"
            ));
            None
        }
        _ if name.is_empty() => None,
        _ => Some(name.to_string()),
    }
}

/// True when the parser stopped because the file holds more documents than its budget.
fn too_many_documents(mut err: &serde_saphyr::Error) -> bool {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error;
    loop {
        match err {
            Error::WithSnippet { error, .. } | Error::AliasError { error, .. } => err = error,
            Error::Budget {
                breach: BudgetBreach::Documents { .. },
                ..
            } => return true,
            _ => return false,
        }
    }
}

/// Reads and checks the whole file; every problem is reported at once, by document.
fn read_catalogue(yaml: &str) -> Result<(Vec<Component>, Vec<SkippedEntity>), AppError> {
    if yaml.trim().is_empty() {
        return Err(AppError::field(
            "body",
            "is empty: send the catalog-info.yaml file itself (documents separated by ---)",
        ));
    }
    // The parser's budget (nodes, aliases, depth) stops hostile files early; its document
    // count is the import's entity limit.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: IMPORT_ENTITIES_MAX,
        },
    };
    let entities: Vec<Entity> =
        serde_saphyr::from_multiple_with_options(yaml, options).map_err(|err| {
            if too_many_documents(&err) {
                return AppError::field(
                    "body",
                    format!(
                        "holds more than {IMPORT_ENTITIES_MAX} entities, the most one import takes (import the catalogue in parts)"
                    ),
                );
            }
            let reason: String = err.to_string().chars().take(400).collect();
            AppError::field(
                "body",
                format!("is not a readable YAML catalogue, so nothing was imported: {reason}"),
            )
        })?;
    let mut errors = vec![];
    let mut components: Vec<Component> = vec![];
    let mut skipped = vec![];
    for (index, entity) in entities.into_iter().enumerate() {
        let document = index as u32 + 1;
        let at = format!("document {document}");
        let mut problem = |message: String| errors.push(FieldError::new(&at, message));
        let name = entity.metadata.name.clone().unwrap_or_default();
        let shown: String = name.chars().take(NAME_MAX).collect();
        match entity.api_version.as_deref() {
            Some(version) if version.starts_with("backstage.io/") => {}
            other => {
                problem(format!(
                    "apiVersion {} is not a Backstage entity's (expected backstage.io/v1alpha1)",
                    other.map_or("(missing)".to_string(), |v| format!(
                        "'{}'",
                        v.chars().take(60).collect::<String>()
                    ))
                ));
                continue;
            }
        }
        let Some(kind) = entity
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
        else {
            problem("has no kind".into());
            continue;
        };
        let Some(known) = BACKSTAGE_KINDS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(kind))
        else {
            problem(format!(
                "unknown kind '{}' ({} are Backstage's)",
                kind.chars().take(60).collect::<String>(),
                BACKSTAGE_KINDS.join(", ")
            ));
            continue;
        };
        if *known != "Component" {
            skipped.push(SkippedEntity {
                document,
                kind: known.to_string(),
                name: shown,
                reason: format!("a {known} is not an application"),
            });
            continue;
        }
        if !is_backstage_name(&name) {
            problem(format!(
                "component name '{shown}' breaks Backstage's rule: 1–63 letters or digits, separated by - _ or ."
            ));
            continue;
        }
        if components
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&name))
        {
            problem(format!("component '{name}' appears twice in the file"));
            continue;
        }
        let mut notes = vec![];
        let team = entity
            .spec
            .owner
            .as_deref()
            .and_then(|owner| owning_team(owner, &mut notes));
        if let Some(team) = &team {
            if team.chars().count() > NAME_MAX || team.chars().any(char::is_control) {
                problem(format!(
                    "owner's name must be at most {NAME_MAX} printable characters"
                ));
                continue;
            }
            if team.eq_ignore_ascii_case(MY_TEAMS) {
                problem(format!("owner '{team}' cannot be a team here: '{MY_TEAMS}' is kept for the My teams view"));
                continue;
            }
        }
        let slug = REPOSITORY_ANNOTATIONS
            .iter()
            .find_map(|key| entity.metadata.annotations.get(*key));
        let mut field_errors = vec![];
        let repository = repository("repository", slug.map(String::as_str), &mut field_errors);
        if !field_errors.is_empty() {
            problem(format!("its project-slug annotation {REPOSITORY_MESSAGE}"));
            continue;
        }
        let description = entity
            .metadata
            .description
            .map(|d| {
                d.trim()
                    .chars()
                    .filter(|c| !c.is_control() || *c == '\n')
                    .collect::<String>()
            })
            .filter(|d| !d.is_empty())
            .map(|d| {
                if d.chars().count() > DESCRIPTION_MAX {
                    notes.push(format!("description cut to {DESCRIPTION_MAX} characters"));
                    d.chars().take(DESCRIPTION_MAX).collect()
                } else {
                    d
                }
            });
        components.push(Component {
            document,
            name,
            description,
            team,
            repository,
            notes,
        });
    }
    finish(errors)?;
    Ok((components, skipped))
}

impl Service {
    /// Imports (or, with `dry_run`, plans) the applications a Backstage catalogue describes
    /// (admin: it may create teams). Answers the plan; 422 with every problem, by document,
    /// when any entity cannot be imported — then nothing is written.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, dry_run))]
    pub async fn import_backstage(
        &self,
        actor: &User,
        yaml: &str,
        dry_run: bool,
    ) -> Result<ImportPlan, AppError> {
        require(actor, Role::Admin)?;
        let (components, skipped) = read_catalogue(yaml)?;
        let at = now();
        let mut plan = ImportPlan {
            dry_run,
            skipped,
            ..Default::default()
        };
        let mut new_teams: Vec<Team> = vec![];
        let mut created: Vec<Application> = vec![];
        let mut updated: Vec<(Application, Application)> = vec![];
        for component in components {
            let team_id = match &component.team {
                None => None,
                Some(name) => match self.team_store().find_team(name).await {
                    Ok(team) => Some(team.id),
                    Err(StoreError::NotFound) => {
                        let known = new_teams.iter().find(|t| t.name.eq_ignore_ascii_case(name));
                        Some(match known {
                            Some(team) => team.id,
                            None => {
                                let team = Team {
                                    id: Uuid::now_v7(),
                                    name: name.clone(),
                                    slack_channel: None,
                                    created_at: at,
                                    updated_at: at,
                                };
                                plan.teams_created.push(team.name.clone());
                                let id = team.id;
                                new_teams.push(team);
                                id
                            }
                        })
                    }
                    Err(err) => return Err(store_error("team")(err)),
                },
            };
            let existing = match self
                .application_store()
                .find_application(&component.name)
                .await
            {
                Ok(application) => Some(application),
                Err(StoreError::NotFound) => None,
                Err(err) => return Err(store_error("application")(err)),
            };
            let (action, changed) = match existing {
                None => {
                    created.push(Application {
                        id: Uuid::now_v7(),
                        name: component.name.clone(),
                        description: component.description.clone(),
                        repository: component.repository.clone(),
                        team_id,
                        created_at: at,
                        updated_at: at,
                        archived_at: None,
                    });
                    ("create", vec![])
                }
                Some(before) => {
                    // Only what the catalogue says is set; nothing it leaves out is cleared.
                    let mut after = before.clone();
                    let mut changed = vec![];
                    if team_id.is_some() && after.team_id != team_id {
                        after.team_id = team_id;
                        changed.push("team".to_string());
                    }
                    if component.repository.is_some() && after.repository != component.repository {
                        after.repository = component.repository.clone();
                        changed.push("repository".to_string());
                    }
                    if changed.is_empty() {
                        ("unchanged", changed)
                    } else {
                        after.updated_at = at;
                        updated.push((before, after));
                        ("update", changed)
                    }
                }
            };
            plan.applications.push(PlannedApplication {
                document: component.document,
                name: component.name,
                action: action.into(),
                team: component.team,
                repository: component.repository,
                changes: changed,
                notes: component.notes,
            });
        }
        if dry_run {
            return Ok(plan);
        }
        let mut audit = vec![];
        for team in &new_teams {
            audit.push(entry(
                Some(actor),
                "team.created",
                Target::of("team", team.id),
                None,
            ));
        }
        for application in &created {
            audit.push(entry(
                Some(actor),
                "application.created",
                Target::of("application", application.id),
                None,
            ));
        }
        for (before, after) in &updated {
            audit.push(entry(
                Some(actor),
                "application.updated",
                Target::of("application", after.id),
                changes(before, after, &["updatedAt"]),
            ));
        }
        audit.push(entry(
            Some(actor),
            "import.backstage",
            Target {
                kind: "import",
                id: None,
            },
            Some(serde_json::json!({
                "created": created.len(),
                "updated": updated.len(),
                "teamsCreated": plan.teams_created,
                "skipped": plan.skipped.len(),
            })),
        ));
        let updated: Vec<Application> = updated.into_iter().map(|(_, after)| after).collect();
        self.team_store()
            .import_catalogue(&new_teams, &created, &updated, &audit)
            .await
            .map_err(store_error("an application"))?;
        self.announce(Change::Everything);
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_name_teams_unless_they_are_people() {
        let mut notes = vec![];
        assert_eq!(owning_team("team-a", &mut notes).as_deref(), Some("team-a"));
        assert_eq!(
            owning_team("group:default/team-a", &mut notes).as_deref(),
            Some("team-a")
        );
        assert_eq!(owning_team("user:guest", &mut notes), None);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn names_follow_backstages_rule() {
        assert!(is_backstage_name("artist-lookup"));
        assert!(is_backstage_name("a.b_c"));
        assert!(!is_backstage_name("invalid component"));
        assert!(!is_backstage_name("-leading"));
        assert!(!is_backstage_name(&"x".repeat(64)));
    }
}
