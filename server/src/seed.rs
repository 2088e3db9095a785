//! `server seed`: fills a database with a large, realistic history for benchmarks — applications
//! with versions, environments, deployments spread over years with a few rollbacks and several
//! deployers — through the store's bulk path.

use std::collections::HashMap;
use std::time::Instant;

use app::model::{NewApplication, NewEnvironment, NewVersion};
use app::ssr::{NewDeployment, Service};

use crate::demo::Dice;
use chrono::{Duration, Utc};
use clap::Args;
use uuid::Uuid;

#[derive(Args, Clone, Debug)]
pub struct SeedArgs {
    /// Applications to create.
    #[arg(long, default_value_t = 500)]
    pub applications: usize,
    /// Environments to create (pipeline order; the last two are production).
    #[arg(long, default_value_t = 15)]
    pub environments: usize,
    /// Deployments to record, spread over `--years`.
    #[arg(long, default_value_t = 1_000_000)]
    pub deployments: usize,
    /// Versions per application.
    #[arg(long, default_value_t = 40)]
    pub versions: usize,
    /// How far back the history reaches.
    #[arg(long, default_value_t = 5)]
    pub years: i64,
}

const DEPLOYERS: &[&str] = &["github-actions", "jenkins", "alice", "bob", "carol", "dave"];

pub async fn run(service: &Service, args: &SeedArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let admin = service.user_by_username("admin").await?;
    let mut environments = vec![];
    for i in 0..args.environments {
        let is_production = i + 2 >= args.environments;
        let env = service
            .create_environment(
                &admin,
                NewEnvironment {
                    name: format!("{}-{i:02}", if is_production { "PROD" } else { "ENV" }),
                    description: None,
                    position: None,
                    is_production: Some(is_production),
                },
            )
            .await?;
        environments.push(env.id);
    }
    let mut applications = vec![];
    let mut version_owner = HashMap::new();
    let first = Utc::now() - Duration::days(365 * args.years);
    for a in 0..args.applications {
        let app = service
            .create_application(
                &admin,
                NewApplication {
                    name: format!("service-{a:04}"),
                    description: None,
                },
            )
            .await?;
        let mut versions = vec![];
        for v in 0..args.versions {
            let version = service
                .create_version(
                    &admin,
                    app.id,
                    NewVersion {
                        version_identifier: format!("{}.{}.{}", 1 + v / 20, (v / 5) % 4, v % 5),
                        released_at: Some(first),
                        notes: None,
                    },
                )
                .await?;
            version_owner.insert(version.id, app.id);
            versions.push(version.id);
        }
        applications.push((app.id, versions));
    }
    tracing::info!(elapsed = ?started.elapsed(), "catalogue created");

    let mut dice = Dice(0x0dd_ba11_5eed);
    let span = (Utc::now() - Duration::hours(1) - first)
        .num_seconds()
        .max(1);
    let total = args.deployments.max(1);
    let mut batch = Vec::with_capacity(20_000);
    for i in 0..args.deployments {
        // Dates advance with i; later deployments carry later versions, 2 % roll back one.
        let when = first + Duration::seconds(span * i as i64 / total as i64);
        let (application_id, versions) =
            &applications[dice.roll(applications.len() as u64) as usize];
        let mut index = versions.len() * i / total;
        if index > 0 && dice.roll(50) == 0 {
            index -= 1;
        }
        batch.push(NewDeployment {
            id: Uuid::now_v7(),
            application_id: *application_id,
            version_id: versions[index],
            environment_id: environments[dice.roll(environments.len() as u64) as usize],
            deployment_date: when,
            deployed_by: Some(DEPLOYERS[dice.roll(DEPLOYERS.len() as u64) as usize].into()),
            notes: (dice.roll(10) == 0).then(|| format!("release {i}")),
            created_at: when + Duration::seconds(30),
        });
        if batch.len() == batch.capacity() {
            service
                .import_deployments(&admin, std::mem::take(&mut batch), &version_owner)
                .await?;
            batch.reserve(20_000);
        }
    }
    service
        .import_deployments(&admin, batch, &version_owner)
        .await?;
    service.finish_import(&admin).await?;
    println!(
        "seeded {} applications × {} environments, {} deployments in {:.1} s",
        args.applications,
        args.environments,
        args.deployments,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
