//! Two environments side by side: what is in STAGING but not yet in PROD.

use std::cmp::Ordering;

use uuid::Uuid;

use super::state::{require, Service};
use crate::error::AppError;
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::ordering::compare_versions;
use crate::ssr::store::store_error;
use crate::ssr::store::PairFilter;

/// Default pair: the last non-production environment vs the first production one (pipeline order).
pub fn default_pair(environments: &[Environment]) -> Option<(Uuid, Uuid)> {
    let to = environments.iter().find(|e| e.is_production)?;
    let from = environments
        .iter()
        .rfind(|e| !e.is_production && e.position <= to.position)
        .or_else(|| environments.iter().find(|e| !e.is_production))?;
    Some((from.id, to.id))
}

impl Service {
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn compare_environments(
        &self,
        actor: &User,
        from: Option<Uuid>,
        to: Option<Uuid>,
        team: Option<&str>,
    ) -> Result<EnvironmentComparison, AppError> {
        require(actor, Role::Viewer)?;
        let owned: Option<Vec<Uuid>> = match team {
            Some(_) => Some(
                self.list_team_applications(actor, true, team)
                    .await?
                    .into_iter()
                    .map(|a| a.id)
                    .collect(),
            ),
            None => None,
        };
        let environments = self.list_environments(actor, false).await?;
        let (from, to) = match (from, to) {
            (Some(from), Some(to)) => (from, to),
            _ => default_pair(&environments).ok_or_else(|| {
                AppError::field(
                    "from",
                    "choose two environments (there is no production and non-production pair to default to)",
                )
            })?,
        };
        let from_env = self.get_environment(actor, from).await?;
        let to_env = self.get_environment(actor, to).await?;
        let state_of = |environment_id| PairFilter {
            application_id: None,
            environment_id: Some(environment_id),
        };
        let from_states = self.current_state(actor, state_of(from), None).await?;
        let to_states = self.current_state(actor, state_of(to), None).await?;

        let mut applications: Vec<ApplicationRef> = from_states
            .iter()
            .chain(&to_states)
            .map(|s| s.application.clone())
            .collect();
        applications.sort_by_key(|a| a.name.to_lowercase());
        applications.dedup_by_key(|a| a.id);
        if let Some(owned) = &owned {
            applications.retain(|a| owned.contains(&a.id));
        }

        let mut rows = Vec::with_capacity(applications.len());
        for application in applications {
            let earlier = from_states
                .iter()
                .find(|s| s.application.id == application.id)
                .cloned();
            let later = to_states
                .iter()
                .find(|s| s.application.id == application.id)
                .cloned();
            rows.push(self.comparison_row(application, earlier, later).await?);
        }
        rows.sort_by_key(|row| {
            !matches!(row.status, CompareStatus::Ahead | CompareStatus::OnlyInFrom)
        });
        Ok(EnvironmentComparison {
            from: EnvironmentRef {
                id: from_env.id,
                name: from_env.name,
            },
            to: EnvironmentRef {
                id: to_env.id,
                name: to_env.name,
            },
            rows,
        })
    }

    async fn comparison_row(
        &self,
        application: ApplicationRef,
        from: Option<CurrentDeploymentState>,
        to: Option<CurrentDeploymentState>,
    ) -> Result<ComparisonRow, AppError> {
        let waiting = |state: &CurrentDeploymentState| (now() - state.deployment_date).num_days();
        let (status, versions_behind, waiting_days) = match (&from, &to) {
            (Some(f), Some(t)) if f.version.id == t.version.id => (CompareStatus::Same, 0, None),
            (Some(f), Some(t)) => {
                let mut versions = self
                    .version_store()
                    .list_versions(application.id, true)
                    .await
                    .map_err(store_error("version"))?;
                versions.sort_by(compare_versions);
                let rank = |id: Uuid| versions.iter().position(|v| v.id == id);
                match (rank(f.version.id), rank(t.version.id)) {
                    (Some(a), Some(b)) => match a.cmp(&b) {
                        Ordering::Greater => {
                            (CompareStatus::Ahead, (a - b) as u32, Some(waiting(f)))
                        }
                        _ => (CompareStatus::Behind, 0, None),
                    },
                    _ => (CompareStatus::Behind, 0, None),
                }
            }
            (Some(f), None) => (CompareStatus::OnlyInFrom, 0, Some(waiting(f))),
            _ => (CompareStatus::OnlyInTo, 0, None),
        };
        Ok(ComparisonRow {
            application,
            from,
            to,
            status,
            versions_behind,
            waiting_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn env(name: &str, position: i32, is_production: bool) -> Environment {
        Environment {
            id: Uuid::now_v7(),
            name: name.into(),
            description: None,
            position,
            is_production,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            archived_at: None,
        }
    }

    #[test]
    fn default_pair_is_last_non_production_before_first_production() {
        let envs = vec![
            env("DEV", 0, false),
            env("STAGING", 1, false),
            env("PROD-EU", 2, true),
            env("PROD-US", 3, true),
        ];
        assert_eq!(default_pair(&envs), Some((envs[1].id, envs[2].id)));
        assert_eq!(default_pair(&envs[..2]), None);
    }
}
