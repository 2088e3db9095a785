//! `--demo`: fills an empty database with a realistic sample — a dozen applications, five
//! environments, a few hundred deployments over six months (with a few rollbacks) — through the
//! service, so every rule applies as it would to real input.

use app::model::{NewApplication, NewEnvironment, NewVersion, RecordDeploymentRequest};
use app::ssr::Service;
use chrono::{Duration, Utc};

const APPLICATIONS: &[&str] = &[
    "Customer Portal",
    "Billing",
    "Search",
    "Inventory",
    "Notifications",
    "Payments Gateway",
    "Identity",
    "Reporting",
    "Mobile API",
    "Catalog",
    "Shipping",
    "Analytics",
];

/// (name, is production, typical delay in hours after the version is cut)
const ENVIRONMENTS: &[(&str, bool, i64)] = &[
    ("DEV", false, 2),
    ("QA", false, 30),
    ("STAGING", false, 70),
    ("PROD-EU", true, 140),
    ("PROD-US", true, 190),
];

const DEPLOYERS: &[&str] = &["github-actions", "alice", "bob", "jenkins", "carol"];

/// A small deterministic generator (xorshift): the same sample every time, comparable runs of
/// the bulk seed.
pub(crate) struct Dice(pub(crate) u64);

impl Dice {
    pub(crate) fn roll(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// Loads the sample unless the database already has applications. Returns how many deployments
/// were recorded.
pub async fn load(service: &Service) -> anyhow::Result<usize> {
    let admin = service
        .user_by_username("admin")
        .await
        .map_err(|e| anyhow::anyhow!("demo needs the admin user: {e}"))?;
    if !service.list_applications(&admin, true).await?.is_empty() {
        tracing::info!("demo data skipped: the database already has applications");
        return Ok(0);
    }
    let mut environments = vec![];
    for (name, is_production, _) in ENVIRONMENTS {
        let env = service
            .create_environment(
                &admin,
                NewEnvironment {
                    name: (*name).into(),
                    description: Some(format!("{name} environment")),
                    position: None,
                    is_production: Some(*is_production),
                },
            )
            .await?;
        environments.push(env);
    }
    let mut dice = Dice(0x5eed_cafe_f00d);
    let now = Utc::now();
    let mut recorded = 0;
    for (index, name) in APPLICATIONS.iter().enumerate() {
        let app = service
            .create_application(
                &admin,
                NewApplication {
                    name: (*name).into(),
                    description: Some(format!("The {name} service")),
                },
            )
            .await?;
        // A release every one to three weeks over the last six months.
        let mut day = 180 - dice.roll(10) as i64;
        let (mut minor, mut patch) = (index as u64 % 3, 0);
        while day > 0 {
            let identifier = format!("{}.{minor}.{patch}", 1 + index % 2);
            let version = service
                .create_version(
                    &admin,
                    app.id,
                    NewVersion {
                        version_identifier: identifier,
                        released_at: Some(now - Duration::days(day)),
                        notes: None,
                    },
                )
                .await?;
            for (environment, (_, _, delay)) in environments.iter().zip(ENVIRONMENTS) {
                // Not every version reaches every environment.
                if *delay > 100 && dice.roll(4) == 0 {
                    break;
                }
                let when =
                    now - Duration::days(day) + Duration::hours(*delay + dice.roll(24) as i64);
                if when >= now - Duration::hours(1) {
                    break;
                }
                service
                    .record_deployment(
                        &admin,
                        RecordDeploymentRequest {
                            application_id: app.id,
                            version_id: version.id,
                            environment_id: environment.id,
                            deployment_date: when,
                            deployed_by: Some(
                                DEPLOYERS[dice.roll(DEPLOYERS.len() as u64) as usize].into(),
                            ),
                            notes: (dice.roll(5) == 0).then(|| "Routine release".to_string()),
                        },
                    )
                    .await?;
                recorded += 1;
            }
            if dice.roll(4) == 0 {
                minor += 1;
                patch = 0;
            } else {
                patch += 1;
            }
            day -= 7 + dice.roll(14) as i64;
        }
    }
    // A couple of rollbacks in production, marked as such by the timeline and the matrix.
    for name in ["Billing", "Search"] {
        let apps = service.list_applications(&admin, false).await?;
        let Some(app) = apps.iter().find(|a| a.name == name) else {
            continue;
        };
        let versions = service.list_versions(&admin, app.id, false).await?;
        if let Some(previous) = versions.get(2) {
            service
                .record_deployment(
                    &admin,
                    RecordDeploymentRequest {
                        application_id: app.id,
                        version_id: previous.id,
                        environment_id: environments[3].id,
                        deployment_date: now - Duration::hours(3),
                        deployed_by: Some("carol".into()),
                        notes: Some("Rollback: error rate up after the last release".into()),
                    },
                )
                .await?;
            recorded += 1;
        }
    }
    tracing::info!(deployments = recorded, "demo data loaded");
    Ok(recorded)
}
