//! From the store's records to the model's answers, and the rule they share: what counts as a
//! rollback. Used by the service and by what the server keeps in memory.

use chrono::{DateTime, Utc};

use crate::model::{
    ApplicationRef, CurrentDeploymentState, Deployment, EnvironmentRef, VersionRef,
};
use crate::ssr::ordering::compare_identifiers;
use crate::ssr::store::{CurrentStateRecord, DeploymentRecord};

/// A rollback is a deployment of a version older than the one that ran in the pair before it.
pub fn is_rollback(
    version: (&str, DateTime<Utc>),
    previous: Option<(&str, DateTime<Utc>)>,
) -> bool {
    previous.is_some_and(|previous| compare_identifiers(version, previous).is_lt())
}

/// A record's previous version as [`is_rollback`] takes it.
fn previous_of(previous: &Option<(String, DateTime<Utc>)>) -> Option<(&str, DateTime<Utc>)> {
    previous
        .as_ref()
        .map(|(identifier, created)| (identifier.as_str(), *created))
}

pub fn to_current_state(record: CurrentStateRecord) -> CurrentDeploymentState {
    CurrentDeploymentState {
        is_rollback: is_rollback(
            (&record.version_identifier, record.version_created_at),
            previous_of(&record.previous_version),
        ),
        application: ApplicationRef {
            id: record.application_id,
            name: record.application_name,
        },
        environment: EnvironmentRef {
            id: record.environment_id,
            name: record.environment_name,
        },
        version: VersionRef {
            id: record.version_id,
            version_identifier: record.version_identifier,
        },
        deployment_date: record.deployment_date,
        deployed_by: record.deployed_by,
        deployment_id: record.deployment_id,
    }
}

pub fn to_deployment(record: DeploymentRecord) -> Deployment {
    let is_rollback = is_rollback(
        (&record.version_identifier, record.version_created_at),
        previous_of(&record.previous_version),
    );
    Deployment {
        id: record.id,
        application: ApplicationRef {
            id: record.application_id,
            name: record.application_name,
        },
        version: VersionRef {
            id: record.version_id,
            version_identifier: record.version_identifier,
        },
        environment: EnvironmentRef {
            id: record.environment_id,
            name: record.environment_name,
        },
        deployment_date: record.deployment_date,
        deployed_by: record.deployed_by,
        notes: record.notes,
        created_at: record.created_at,
        is_rollback,
        deleted_at: record.deleted_at,
        deleted_by: record.deleted_by,
        delete_reason: record.delete_reason,
        // Written by the service from the same type; unreadable JSON would mean a hand-edited row.
        policy_violations: record
            .policy_violations
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
        override_reason: record.override_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::clock::now;
    use uuid::Uuid;

    fn record(version: &str, previous: Option<&str>) -> DeploymentRecord {
        let at = now();
        DeploymentRecord {
            id: Uuid::now_v7(),
            application_id: Uuid::nil(),
            application_name: "a".into(),
            version_id: Uuid::nil(),
            version_identifier: version.into(),
            version_created_at: at,
            environment_id: Uuid::nil(),
            environment_name: "e".into(),
            deployment_date: at,
            deployed_by: None,
            notes: None,
            created_at: at,
            deleted_at: None,
            deleted_by: None,
            delete_reason: None,
            policy_violations: None,
            override_reason: None,
            previous_version: previous.map(|p| (p.to_string(), at)),
        }
    }

    #[test]
    fn rollback_means_older_than_what_ran_before() {
        assert!(to_deployment(record("1.9.0", Some("1.10.0"))).is_rollback);
        assert!(!to_deployment(record("1.10.0", Some("1.9.0"))).is_rollback);
        assert!(!to_deployment(record("1.0.0", None)).is_rollback);
        assert!(!to_deployment(record("1.0.0", Some("1.0.0"))).is_rollback);
    }
}
