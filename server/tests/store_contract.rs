//! The storage contract: every case runs against SQLite and PostgreSQL alike.

mod common;

use std::future::Future;
use std::sync::Arc;

use app::model::{Application, Environment, Version};
use app::ssr::service::now;
use app::ssr::{MatrixStamp, NewDeployment, Store, StoreError};
use chrono::Duration;
use common::{Backend, TestDb};
use uuid::Uuid;

/// The harness's own helper (here once, not in every test binary that includes `common`).
#[test]
fn harness_swaps_the_database_name_in_a_url() {
    assert_eq!(
        common::with_database("postgres://postgres@127.0.0.1:55432/postgres", "x"),
        "postgres://postgres@127.0.0.1:55432/x"
    );
    assert_eq!(
        common::with_database("postgres://u@h/db?sslmode=disable", "y"),
        "postgres://u@h/y?sslmode=disable"
    );
}

async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = db.store().await;
    case(store).await;
}

fn application(name: &str) -> Application {
    let at = now();
    Application {
        id: Uuid::now_v7(),
        name: name.into(),
        description: Some("described".into()),
        repository: None,
        team_id: None,
        created_at: at,
        updated_at: at,
        archived_at: None,
    }
}

fn environment(name: &str, position: i32) -> Environment {
    let at = now();
    Environment {
        id: Uuid::now_v7(),
        name: name.into(),
        description: None,
        position,
        is_production: name.starts_with("PROD"),
        created_at: at,
        updated_at: at,
        archived_at: None,
    }
}

fn version(application_id: Uuid, identifier: &str) -> Version {
    Version {
        id: Uuid::now_v7(),
        application_id,
        version_identifier: identifier.into(),
        released_at: Some(now() - Duration::days(1)),
        notes: Some("notes".into()),
        commit_sha: Some("0123abcd".into()),
        created_at: now(),
        archived_at: None,
    }
}

for_both_backends!(run;
    application_round_trips_exactly,
    application_names_are_unique_case_insensitively,
    updating_a_missing_application_is_not_found,
    archived_applications_are_listed_only_on_request,
    environments_list_in_pipeline_order,
    active_applications_and_environments_are_counted,
    environment_positions_are_rewritten_together,
    environment_names_are_unique_case_insensitively,
    version_identifiers_are_unique_per_application,
    version_round_trips_and_updates,
    unknown_ids_are_not_found,
    ping_answers,
    matrix_stamp_changes_with_everything_the_matrix_shows,
    login_failures_count_restart_after_the_window_and_are_pruned,
    locks_are_one_per_scope_and_held_between_taking_and_release,
    a_deployment_keeps_what_blocked_it,
    settings_epoch_moves_with_every_setting_a_check_reads,
    kept_locks_block_as_the_database_says,
    a_pair_row_follows_records_and_retractions_in_any_order,
    a_record_that_fails_or_is_abandoned_part_way_leaves_nothing_behind,
    insights_read_a_pair_too_large_for_one_read_page_by_page_as_if_whole,
);

async fn a_user(store: &Arc<dyn Store>) -> app::model::User {
    let user = app::model::User {
        id: Uuid::now_v7(),
        username: format!("u{}", Uuid::now_v7().simple()),
        display_name: "U".into(),
        role: app::model::Role::Editor,
        created_at: now(),
        disabled_at: None,
    };
    store.insert_user(&user, "x", &[]).await.unwrap();
    user
}

fn lock_on(
    environment: &Environment,
    application: Option<Uuid>,
    by: &app::model::User,
) -> app::model::Lock {
    app::model::Lock {
        id: Uuid::now_v7(),
        environment_id: environment.id,
        application_id: application,
        reason: "load test".into(),
        created_by: by.id,
        created_by_name: by.username.clone(),
        created_at: now(),
        released_at: None,
        released_by: None,
    }
}

async fn locks_are_one_per_scope_and_held_between_taking_and_release(store: Arc<dyn Store>) {
    let staging = environment("STAGING", 1);
    store.insert_environment(&staging, &[]).await.unwrap();
    let billing = application("Billing");
    store.insert_application(&billing, &[]).await.unwrap();
    let user = a_user(&store).await;
    let first = lock_on(&staging, None, &user);
    store.insert_lock(&first, &[], &[]).await.unwrap();
    assert!(matches!(
        store
            .insert_lock(&lock_on(&staging, None, &user), &[], &[])
            .await,
        Err(StoreError::Conflict("lock"))
    ));
    // One application in the same environment is another scope.
    store
        .insert_lock(&lock_on(&staging, Some(billing.id), &user), &[], &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .locks_at(staging.id, billing.id, now())
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .open_lock_of_scope(staging.id, None)
            .await
            .unwrap()
            .map(|l| l.id),
        Some(first.id)
    );
    let released_at = now();
    store
        .release_lock(first.id, "admin", released_at, &[], &[])
        .await
        .unwrap();
    assert!(matches!(
        store.release_lock(first.id, "admin", now(), &[], &[]).await,
        Err(StoreError::NotFound)
    ));
    // Held before its release, not after; the scope is free again.
    assert_eq!(
        store
            .locks_at(staging.id, Uuid::now_v7(), first.created_at)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .locks_at(staging.id, Uuid::now_v7(), released_at)
        .await
        .unwrap()
        .is_empty());
    store
        .insert_lock(&lock_on(&staging, None, &user), &[], &[])
        .await
        .unwrap();
    assert_eq!(store.list_locks(None).await.unwrap().len(), 2);
    assert_eq!(
        store
            .list_locks(Some(released_at - Duration::seconds(1)))
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn a_deployment_keeps_what_blocked_it(store: Arc<dyn Store>) {
    let prod = environment("PROD", 1);
    store.insert_environment(&prod, &[]).await.unwrap();
    let billing = application("Billing");
    store.insert_application(&billing, &[]).await.unwrap();
    let v1 = version(billing.id, "1.0.0");
    store.insert_version(&v1, &[]).await.unwrap();
    let mut blocked = deployment_of(&v1, &prod, 1);
    blocked.policy = Some(app::ssr::store::PolicyViolationRecord {
        violations:
            r#"[{"type":"lock","id":"00000000-0000-0000-0000-000000000001","message":"locked"}]"#
                .into(),
        override_reason: Some("hotfix".into()),
    });
    store
        .insert_deployment(&blocked, None, None, &[], &[])
        .await
        .unwrap();
    let plain = deployment_of(&v1, &prod, 2);
    store
        .insert_deployment(&plain, None, None, &[], &[])
        .await
        .unwrap();
    let read = store.get_deployment(blocked.id).await.unwrap();
    assert_eq!(read.override_reason.as_deref(), Some("hotfix"));
    assert!(read.policy_violations.unwrap().contains("locked"));
    assert_eq!(
        store
            .get_deployment(plain.id)
            .await
            .unwrap()
            .policy_violations,
        None
    );
    let filter = app::model::DeploymentFilter {
        violations: true,
        ..Default::default()
    };
    let listed = store.list_deployments(&filter, None, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.id).collect::<Vec<_>>(),
        [blocked.id]
    );
    // The newest deployment in the pair is the blocked one: the matrix marks it.
    assert_eq!(
        store.current_violating_deployments().await.unwrap(),
        [blocked.id]
    );
    // Soak: the version ran in PROD from a day ago, nothing replaced it.
    let soak = store.soak(billing.id, v1.id, prod.id, now()).await.unwrap();
    assert_eq!(soak.deployed_at, Some(blocked.deployment_date));
    assert!(soak.replaced_by.is_none() && soak.retracted_at.is_none());
}

async fn application_round_trips_exactly(store: Arc<dyn Store>) {
    let app = application("Customer Portal");
    store.insert_application(&app, &[]).await.unwrap();
    assert_eq!(store.get_application(app.id).await.unwrap(), app);
}

async fn application_names_are_unique_case_insensitively(store: Arc<dyn Store>) {
    store
        .insert_application(&application("Billing"), &[])
        .await
        .unwrap();
    let err = store
        .insert_application(&application("BILLING"), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("name")), "{err:?}");
    assert_eq!(store.list_applications(true).await.unwrap().len(), 1);
}

async fn updating_a_missing_application_is_not_found(store: Arc<dyn Store>) {
    let err = store
        .update_application(&application("ghost"), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

async fn archived_applications_are_listed_only_on_request(store: Arc<dyn Store>) {
    let mut old = application("Old");
    store.insert_application(&old, &[]).await.unwrap();
    store
        .insert_application(&application("New"), &[])
        .await
        .unwrap();
    old.archived_at = Some(now());
    store.update_application(&old, &[]).await.unwrap();
    let active: Vec<String> = store
        .list_applications(false)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(active, ["New"]);
    assert_eq!(store.list_applications(true).await.unwrap().len(), 2);
}

async fn environments_list_in_pipeline_order(store: Arc<dyn Store>) {
    for (name, position) in [("PROD", 2), ("DEV", 0), ("STAGING", 1)] {
        store
            .insert_environment(&environment(name, position), &[])
            .await
            .unwrap();
    }
    let names: Vec<String> = store
        .list_environments(false)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["DEV", "STAGING", "PROD"]);
    assert_eq!(store.next_environment_position().await.unwrap(), 3);
}

async fn active_applications_and_environments_are_counted(store: Arc<dyn Store>) {
    assert_eq!(store.count_active_applications().await.unwrap(), 0);
    assert_eq!(store.count_active_environments().await.unwrap(), 0);
    for (name, archived) in [("kept", false), ("gone", true)] {
        let mut app = application(name);
        let mut env = environment(name, 0);
        if archived {
            app.archived_at = Some(now());
            env.archived_at = Some(now());
            env.position = 1;
        }
        store.insert_application(&app, &[]).await.unwrap();
        store.insert_environment(&env, &[]).await.unwrap();
    }
    assert_eq!(store.count_active_applications().await.unwrap(), 1);
    assert_eq!(store.count_active_environments().await.unwrap(), 1);
}

async fn environment_positions_are_rewritten_together(store: Arc<dyn Store>) {
    let dev = environment("DEV", 0);
    let prod = environment("PROD", 1);
    store.insert_environment(&dev, &[]).await.unwrap();
    store.insert_environment(&prod, &[]).await.unwrap();
    store
        .set_environment_positions(&[prod.id, dev.id], now(), &[])
        .await
        .unwrap();
    let listed = store.list_environments(false).await.unwrap();
    assert_eq!(listed[0].id, prod.id);
    assert_eq!(listed[0].position, 0);
    assert_eq!(listed[1].position, 1);
    assert!(listed[1].is_production == dev.is_production);
}

async fn environment_names_are_unique_case_insensitively(store: Arc<dyn Store>) {
    store
        .insert_environment(&environment("PROD-EU", 0), &[])
        .await
        .unwrap();
    let err = store
        .insert_environment(&environment("prod-eu", 1), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("name")), "{err:?}");
}

async fn version_identifiers_are_unique_per_application(store: Arc<dyn Store>) {
    let portal = application("Portal");
    let billing = application("Billing");
    store.insert_application(&portal, &[]).await.unwrap();
    store.insert_application(&billing, &[]).await.unwrap();
    store
        .insert_version(&version(portal.id, "1.2.0"), &[])
        .await
        .unwrap();
    store
        .insert_version(&version(billing.id, "1.2.0"), &[])
        .await
        .expect("same identifier in another application is fine");
    let err = store
        .insert_version(&version(portal.id, "1.2.0"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("versionIdentifier")),
        "{err:?}"
    );
}

async fn version_round_trips_and_updates(store: Arc<dyn Store>) {
    let portal = application("Portal");
    store.insert_application(&portal, &[]).await.unwrap();
    let mut v = version(portal.id, "2.0.0");
    store.insert_version(&v, &[]).await.unwrap();
    assert_eq!(store.get_version(v.id).await.unwrap(), v);
    v.notes = None;
    v.archived_at = Some(now());
    store.update_version(&v, &[]).await.unwrap();
    assert_eq!(store.get_version(v.id).await.unwrap(), v);
    assert!(store
        .list_versions(portal.id, false)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.list_versions(portal.id, true).await.unwrap(), vec![v]);
}

async fn unknown_ids_are_not_found(store: Arc<dyn Store>) {
    let id = Uuid::now_v7();
    assert!(matches!(
        store.get_application(id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_environment(id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_version(id).await,
        Err(StoreError::NotFound)
    ));
}

async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    assert!(["sqlite", "postgres"].contains(&store.backend()));
}

fn deployment_of(version: &Version, environment: &Environment, days_ago: i64) -> NewDeployment {
    NewDeployment {
        id: Uuid::now_v7(),
        application_id: version.application_id,
        version_id: version.id,
        environment_id: environment.id,
        deployment_date: now() - Duration::days(days_ago),
        deployed_by: Some("ci".into()),
        notes: None,
        created_at: now(),
        policy: None,
    }
}

/// The stamp that lets a server reuse its last matrix: every change the matrix would show must
/// move it, and reading must not.
async fn matrix_stamp_changes_with_everything_the_matrix_shows(store: Arc<dyn Store>) {
    let mut seen: Vec<MatrixStamp> = vec![store.matrix_stamp().await.unwrap()];
    async fn moved(store: &Arc<dyn Store>, seen: &mut Vec<MatrixStamp>, what: &str) {
        let stamp = store.matrix_stamp().await.unwrap();
        assert!(
            !seen.contains(&stamp),
            "the stamp did not move after {what}: {stamp:?}, seen {seen:?}"
        );
        seen.push(stamp);
    }

    let mut app = application("Billing");
    store.insert_application(&app, &[]).await.unwrap();
    moved(&store, &mut seen, "adding an application").await;
    let dev = environment("DEV", 0);
    let prod = environment("PROD", 1);
    store.insert_environment(&dev, &[]).await.unwrap();
    store.insert_environment(&prod, &[]).await.unwrap();
    moved(&store, &mut seen, "adding environments").await;
    let v1 = version(app.id, "1.0.0");
    let v2 = version(app.id, "2.0.0");
    store.insert_version(&v1, &[]).await.unwrap();
    store.insert_version(&v2, &[]).await.unwrap();

    let first = deployment_of(&v1, &dev, 3);
    store
        .insert_deployment(&first, None, None, &[], &[])
        .await
        .unwrap();
    moved(&store, &mut seen, "a pair's first deployment").await;
    let second = deployment_of(&v2, &dev, 1);
    store
        .insert_deployment(&second, None, None, &[], &[])
        .await
        .unwrap();
    moved(&store, &mut seen, "a newer deployment").await;
    store
        .insert_deployment(&deployment_of(&v1, &dev, 2), None, None, &[], &[])
        .await
        .unwrap();
    moved(&store, &mut seen, "a back-dated deployment").await;
    let only_in_prod = deployment_of(&v1, &prod, 1);
    store
        .insert_deployment(&only_in_prod, None, None, &[], &[])
        .await
        .unwrap();
    moved(&store, &mut seen, "a deployment to another pair").await;

    // The per-pair revisions are the parts the stamp sums: a kept matrix compares them to
    // find the pairs to read again.
    let named = store.pair_revisions(true).await.unwrap();
    assert_eq!(named.pairs.len(), 2, "one row per pair with a deployment");
    assert_eq!(named.revisions.len(), 2);
    let revision_of = |environment: uuid::Uuid| {
        let i = named
            .pairs
            .iter()
            .position(|&pair| pair == (app.id, environment));
        i.map(|i| named.revisions[i])
    };
    // Revisions come from one rising counter: the pair changed last has the highest, and the
    // pairs above a revision are exactly those changed after it.
    let (dev_revision, prod_revision) =
        (revision_of(dev.id).unwrap(), revision_of(prod.id).unwrap());
    assert!(
        dev_revision < prod_revision,
        "PROD changed after DEV's three records"
    );
    let stamp = store.matrix_stamp().await.unwrap();
    let since_dev = store.pair_changes(dev_revision, 10).await.unwrap();
    assert_eq!(since_dev.changed, [((app.id, prod.id), prod_revision)]);
    assert_eq!(
        (since_dev.epoch, since_dev.revision_sum),
        (stamp.epoch, stamp.revisions)
    );
    let since_start = store.pair_changes(0, 10).await.unwrap();
    assert_eq!(
        since_start.changed,
        [
            ((app.id, dev.id), dev_revision),
            ((app.id, prod.id), prod_revision)
        ],
        "lowest revision first"
    );
    assert_eq!(
        store.pair_changes(0, 1).await.unwrap().changed,
        [((app.id, dev.id), dev_revision)],
        "at most the limit, lowest first"
    );
    assert!(store
        .pair_changes(prod_revision, 10)
        .await
        .unwrap()
        .changed
        .is_empty());
    assert_eq!(named.revisions.iter().sum::<i64>(), stamp.revisions);
    assert_eq!(named.epoch, stamp.epoch);
    let unnamed = store.pair_revisions(false).await.unwrap();
    assert_eq!(
        unnamed.revisions, named.revisions,
        "the same order either way"
    );
    assert!(unnamed.pairs.is_empty());

    let unchanged = store.matrix_stamp().await.unwrap();
    store.current_states(Default::default()).await.unwrap();
    assert_eq!(
        store.matrix_stamp().await.unwrap(),
        unchanged,
        "reading moved the stamp"
    );

    store
        .retract_deployment(second.id, now(), "admin", "wrong build", &[], &[])
        .await
        .unwrap();
    moved(&store, &mut seen, "a retraction").await;
    let retracted = store.pair_changes(prod_revision, 10).await.unwrap().changed;
    assert_eq!(retracted.len(), 1, "the retraction gave DEV a new revision");
    assert!(retracted[0].0 == (app.id, dev.id) && retracted[0].1 > prod_revision);
    store
        .retract_deployment(
            only_in_prod.id,
            now(),
            "admin",
            "wrong environment",
            &[],
            &[],
        )
        .await
        .unwrap();
    moved(&store, &mut seen, "retracting a pair's only deployment").await;

    app.name = "Billing Service".into();
    store.update_application(&app, &[]).await.unwrap();
    moved(&store, &mut seen, "renaming an application").await;
    store
        .set_environment_positions(&[prod.id, dev.id], now(), &[])
        .await
        .unwrap();
    moved(&store, &mut seen, "reordering environments").await;
    store.rebuild_current_deployments().await.unwrap();
    moved(&store, &mut seen, "rebuilding the current state").await;
}

async fn login_failures_count_restart_after_the_window_and_are_pruned(store: Arc<dyn Store>) {
    let at = now();
    let window = Duration::minutes(15);
    let old = at - Duration::hours(1);
    // Two failures an hour ago under one key, one under another.
    store
        .record_login_failure("pair:old|1.2.3.4", old, old - window, &[])
        .await
        .unwrap();
    store
        .record_login_failure("pair:old|1.2.3.4", old, old - window, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .login_failures("pair:old|1.2.3.4", old - window)
            .await
            .unwrap(),
        Some((2, old))
    );
    store
        .record_login_failure("client:1.2.3.4", old, old - window, &[])
        .await
        .unwrap();
    // A failure now counts from 1 again for a key whose last failure left the window...
    store
        .record_login_failure("pair:old|1.2.3.4", at, at - window, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .login_failures("pair:old|1.2.3.4", at - window)
            .await
            .unwrap(),
        Some((1, at))
    );
    // ...and keys with nothing inside the window are gone, not merely ignored.
    assert_eq!(
        store
            .login_failures("client:1.2.3.4", old - window)
            .await
            .unwrap(),
        None
    );
    store
        .clear_login_failures("pair:old|1.2.3.4")
        .await
        .unwrap();
    assert_eq!(
        store
            .login_failures("pair:old|1.2.3.4", at - window)
            .await
            .unwrap(),
        None
    );
}

/// The epoch a server keeps its policy inputs and webhooks under: each kind of change a deploy
/// check or a record's notifications read must move it; recording and reading must not (or
/// every record would read everything again).
async fn settings_epoch_moves_with_every_setting_a_check_reads(store: Arc<dyn Store>) {
    let mut epoch = store.settings_epoch().await.unwrap();
    async fn moved(store: &Arc<dyn Store>, epoch: &mut i64, what: &str) {
        let now = store.settings_epoch().await.unwrap();
        assert!(now > *epoch, "the epoch did not move after {what}: {now}");
        *epoch = now;
    }
    let user = a_user(&store).await;
    let staging = environment("STAGING", 0);
    let prod = environment("PROD", 1);
    store.insert_environment(&staging, &[]).await.unwrap();
    store.insert_environment(&prod, &[]).await.unwrap();
    moved(&store, &mut epoch, "adding environments").await;
    let mut renamed = prod.clone();
    renamed.is_production = false;
    store.update_environment(&renamed, &[]).await.unwrap();
    moved(&store, &mut epoch, "changing an environment").await;

    let start = now() - Duration::hours(1);
    let freeze = app::ssr::FreezeRecord {
        id: Uuid::now_v7(),
        name: "Release freeze".into(),
        reason: None,
        environment_ids: None,
        application_ids: None,
        starts_at: start,
        ends_at: Some(start + Duration::hours(2)),
        rrule: None,
        duration: None,
        time_zone: "UTC".into(),
        created_by: user.id,
        created_at: now(),
    };
    store.insert_freeze(&freeze, &[]).await.unwrap();
    moved(&store, &mut epoch, "adding a freeze").await;
    let end = app::ssr::FreezeEndRecord {
        freeze_id: freeze.id,
        occurrence_start: start,
        ended_at: now(),
        ended_by: "admin".into(),
        reason: "done early".into(),
    };
    store.end_freeze_occurrence(&end, &[], &[]).await.unwrap();
    moved(&store, &mut epoch, "ending a freeze early").await;
    store.delete_freeze(freeze.id, &[]).await.unwrap();
    moved(&store, &mut epoch, "deleting a freeze").await;

    let lock = lock_on(&staging, None, &user);
    store.insert_lock(&lock, &[], &[]).await.unwrap();
    moved(&store, &mut epoch, "taking a lock").await;
    store
        .release_lock(lock.id, "admin", now(), &[], &[])
        .await
        .unwrap();
    moved(&store, &mut epoch, "releasing a lock").await;

    let rule = app::ssr::PromotionRequirementRecord {
        environment_id: prod.id,
        required_environment_id: staging.id,
        min_soak: "P1D".into(),
    };
    store
        .put_promotion_rule(prod.id, std::slice::from_ref(&rule), &[])
        .await
        .unwrap();
    moved(&store, &mut epoch, "setting a promotion rule").await;
    store.put_promotion_rule(prod.id, &[], &[]).await.unwrap();
    moved(&store, &mut epoch, "removing a promotion rule").await;

    let webhook = app::ssr::WebhookRecord {
        id: Uuid::now_v7(),
        url: "http://127.0.0.1:9/hook".into(),
        events: "deployment.recorded".into(),
        environment_ids: None,
        format: "json".into(),
        signing_secret: "s".repeat(32),
        created_by: user.id,
        created_at: now(),
    };
    store.insert_webhook(&webhook, &[]).await.unwrap();
    moved(&store, &mut epoch, "adding a webhook").await;
    store.delete_webhook(webhook.id, &[]).await.unwrap();
    moved(&store, &mut epoch, "deleting a webhook").await;

    // What records and reads touch leaves it alone.
    let billing = application("Billing");
    store.insert_application(&billing, &[]).await.unwrap();
    let v1 = version(billing.id, "1.0.0");
    store.insert_version(&v1, &[]).await.unwrap();
    store
        .insert_deployment(&deployment_of(&v1, &staging, 1), None, None, &[], &[])
        .await
        .unwrap();
    store.list_every_lock(10).await.unwrap();
    store.list_environments(true).await.unwrap();
    assert_eq!(store.settings_epoch().await.unwrap(), epoch);
}

/// Checks filter the kept list of every lock with `Lock::blocks`: it must say what the
/// database's own `locks_at` says, at every instant around each lock's taking and release.
async fn kept_locks_block_as_the_database_says(store: Arc<dyn Store>) {
    let user = a_user(&store).await;
    let staging = environment("STAGING", 0);
    let prod = environment("PROD", 1);
    store.insert_environment(&staging, &[]).await.unwrap();
    store.insert_environment(&prod, &[]).await.unwrap();
    let billing = application("Billing");
    let portal = application("Portal");
    store.insert_application(&billing, &[]).await.unwrap();
    store.insert_application(&portal, &[]).await.unwrap();
    let mut instants = vec![now() - Duration::days(1)];
    for (environment, application, release) in [
        (&staging, None, true),
        (&staging, Some(billing.id), false),
        (&prod, Some(portal.id), true),
        (&staging, None, false),
        (&prod, None, false),
    ] {
        let lock = lock_on(environment, application, &user);
        store.insert_lock(&lock, &[], &[]).await.unwrap();
        let taken = store.get_lock(lock.id).await.unwrap().created_at;
        instants.extend([taken - Duration::microseconds(1), taken]);
        if release {
            let at = now() + Duration::milliseconds(1);
            store
                .release_lock(lock.id, "admin", at, &[], &[])
                .await
                .unwrap();
            let released = store.get_lock(lock.id).await.unwrap().released_at.unwrap();
            instants.extend([released - Duration::microseconds(1), released]);
        }
    }
    instants.push(now() + Duration::days(1));
    let every = store.list_every_lock(100).await.unwrap();
    assert_eq!(every.len(), 5);
    assert_eq!(store.list_every_lock(2).await.unwrap(), every[..2]);
    let mut held = 0;
    for at in instants {
        for environment in [&staging, &prod] {
            for application in [&billing, &portal] {
                let asked: Vec<Uuid> = store
                    .locks_at(environment.id, application.id, at)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|lock| lock.id)
                    .collect();
                let kept: Vec<Uuid> = every
                    .iter()
                    .filter(|lock| lock.blocks(environment.id, application.id, at))
                    .map(|lock| lock.id)
                    .collect();
                assert_eq!(
                    kept, asked,
                    "{} / {} at {at}",
                    environment.name, application.name
                );
                held += asked.len();
            }
        }
    }
    assert!(held > 10, "the instants see locks held ({held})");
}

/// A record keeps its pair's row current by comparing itself with the row's latest deployment
/// and the one before it (and a retraction recomputes both): after every step, in any order of
/// dates, ties on date and on creation included, the row names the latest live deployment and
/// the version of the one before it, as the history sorted here says.
async fn a_pair_row_follows_records_and_retractions_in_any_order(store: Arc<dyn Store>) {
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let app = application("Billing");
    store.insert_application(&app, &[]).await.unwrap();
    let prod = environment("PROD", 0);
    store.insert_environment(&prod, &[]).await.unwrap();
    let mut versions = vec![];
    for number in 0..4 {
        let v = version(app.id, &format!("1.{number}.0"));
        store.insert_version(&v, &[]).await.unwrap();
        versions.push(v);
    }
    let base = now();
    let mut live: Vec<NewDeployment> = vec![];
    for step in 0..40 {
        if live.len() > 1 && rng.u32(..100) < 30 {
            let gone = live.swap_remove(rng.usize(..live.len()));
            store
                .retract_deployment(gone.id, now(), "admin", "test", &[], &[])
                .await
                .unwrap();
        } else {
            let v = &versions[rng.usize(..versions.len())];
            let mut d = deployment_of(v, &prod, 0);
            // Few dates and few creation instants, so both tie and the id decides.
            d.deployment_date = base - Duration::days(rng.i64(0..4));
            d.created_at = base + Duration::seconds(rng.i64(0..3));
            store
                .insert_deployment(&d, None, None, &[], &[])
                .await
                .unwrap();
            live.push(d);
        }
        let mut history: Vec<&NewDeployment> = live.iter().collect();
        history.sort_by_key(|d| (d.deployment_date, d.created_at, d.id));
        let identifier = |d: &NewDeployment| {
            versions
                .iter()
                .find(|v| v.id == d.version_id)
                .map(|v| v.version_identifier.clone())
        };
        let row = store
            .current_states(app::ssr::PairFilter {
                application_id: Some(app.id),
                environment_id: Some(prod.id),
            })
            .await
            .unwrap();
        assert_eq!(row.len(), 1, "step {step} (seed {seed})");
        let latest = history[history.len() - 1];
        assert_eq!(row[0].deployment_id, latest.id, "step {step} (seed {seed})");
        assert_eq!(
            row[0].previous_version.as_ref().map(|(id, _)| id.clone()),
            history
                .len()
                .checked_sub(2)
                .and_then(|i| identifier(history[i])),
            "step {step} (seed {seed})"
        );
    }
}

/// A record's statements land together or not at all, and the writer is usable afterwards:
/// when one fails part way (its audit entry's id is taken), and when its caller goes away
/// while the database runs them (on SQLite they are one text, begin to commit).
async fn a_record_that_fails_or_is_abandoned_part_way_leaves_nothing_behind(store: Arc<dyn Store>) {
    let prod = environment("PROD", 0);
    store.insert_environment(&prod, &[]).await.unwrap();
    let billing = application("Billing");
    store.insert_application(&billing, &[]).await.unwrap();
    let v1 = version(billing.id, "1.0.0");
    store.insert_version(&v1, &[]).await.unwrap();
    let entry = |target: Uuid| app::ssr::AuditRecord {
        id: Uuid::now_v7(),
        at: now(),
        actor_id: None,
        actor_username: Some("ci".into()),
        token_name: None,
        client_address: None,
        action: "deployment.recorded".into(),
        target_type: "deployment".into(),
        target_id: Some(target.to_string()),
        changes: None,
    };
    let first = deployment_of(&v1, &prod, 3);
    let first_entry = entry(first.id);
    store
        .insert_deployment(&first, None, None, std::slice::from_ref(&first_entry), &[])
        .await
        .unwrap();
    let pair = app::ssr::PairFilter {
        application_id: Some(billing.id),
        environment_id: Some(prod.id),
    };
    // The pair's latest deployment and its count of live ones, both kept by the record.
    let live_in_pair = || async {
        let row = store.current_states(pair).await.unwrap();
        let counts = store.count_deployments_per_environment().await.unwrap();
        (row[0].deployment_id, counts[0].1)
    };

    // Fails at its audit entry, after its deployment row went in.
    let failing = deployment_of(&v1, &prod, 2);
    let taken = app::ssr::AuditRecord {
        target_id: Some(failing.id.to_string()),
        ..first_entry.clone()
    };
    store
        .insert_deployment(&failing, None, None, &[taken], &[])
        .await
        .expect_err("an audit entry's id is unique");
    assert!(matches!(
        store.get_deployment(failing.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(live_in_pair().await, (first.id, 1));
    let second = deployment_of(&v1, &prod, 2);
    store
        .insert_deployment(&second, None, None, &[entry(second.id)], &[])
        .await
        .expect("the writer is usable after a record that failed");
    assert_eq!(live_in_pair().await, (second.id, 2));

    // Abandoned: polled once (its statements sent to the database), then dropped. The database
    // may be quick enough to finish one within that poll; then it landed whole. Five of them, so
    // that one left half done is all but certain to be among them.
    let abandoned: Vec<NewDeployment> = (0..5).map(|_| deployment_of(&v1, &prod, 1)).collect();
    for deployment in &abandoned {
        let entries = [entry(deployment.id)];
        let mut record = store.insert_deployment(deployment, None, None, &entries, &[]);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let polled = record.as_mut().poll(&mut context);
        assert!(matches!(
            polled,
            std::task::Poll::Pending | std::task::Poll::Ready(Ok(_))
        ));
    }
    let next = deployment_of(&v1, &prod, 0);
    store
        .insert_deployment(&next, None, None, &[entry(next.id)], &[])
        .await
        .expect("the writer is usable after an abandoned record");
    let entries = store
        .list_audit(&Default::default(), None, 20)
        .await
        .unwrap();
    let audited = |id: Uuid| entries.iter().any(|e| e.target_id == Some(id.to_string()));
    let mut landed = 0;
    for deployment in &abandoned {
        let found = store.get_deployment(deployment.id).await.is_ok();
        assert_eq!(audited(deployment.id), found);
        landed += i64::from(found);
    }
    assert!(audited(second.id) && audited(next.id) && !audited(failing.id));
    assert_eq!(live_in_pair().await, (next.id, 3 + landed));
}

/// An application with more live deployments than one insights read holds (5,000) is read pair
/// by pair, a page at a time, newest first. Every deployment of the range must come out once,
/// with what followed it in its pair (across page boundaries, past retracted ones, past the
/// range's end) and its version's first deployments, as a brute force over the history says.
/// Dates and creation instants tie, so the id decides the order within a tie.
async fn insights_read_a_pair_too_large_for_one_read_page_by_page_as_if_whole(
    store: Arc<dyn Store>,
) {
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let (prod, prod_eu, staging) = (
        environment("PROD", 2),
        environment("PROD-EU", 1),
        environment("STAGING", 0),
    );
    for env in [&prod, &prod_eu, &staging] {
        store.insert_environment(env, &[]).await.unwrap();
    }
    let billing = application("Billing");
    store.insert_application(&billing, &[]).await.unwrap();
    let mut versions = vec![];
    for number in 0..4 {
        let v = version(billing.id, &format!("2.{number}.0"));
        store.insert_version(&v, &[]).await.unwrap();
        versions.push(v);
    }
    let base = now() - Duration::days(30);
    let created = now();
    let mut history: Vec<NewDeployment> = vec![];
    for (env, count) in [(&prod, 11_200), (&prod_eu, 600), (&staging, 60)] {
        for i in 0..count {
            let mut d = deployment_of(&versions[rng.usize(..versions.len())], env, 0);
            // Three to a minute, and one creation instant for all: the id orders ties.
            d.deployment_date = base + Duration::minutes(i / 3);
            d.created_at = created;
            history.push(d);
        }
    }
    store.insert_deployments_bulk(&history).await.unwrap();
    store.rebuild_current_deployments().await.unwrap();
    let mut retracted = std::collections::HashSet::new();
    for _ in 0..40 {
        let gone = &history[rng.usize(..11_800)];
        if retracted.insert(gone.id) {
            store
                .retract_deployment(gone.id, now(), "admin", "test", &[], &[])
                .await
                .unwrap();
        }
    }
    // The range leaves deployments before and after it in both measured pairs.
    let (from, to) = (
        base + Duration::minutes(100),
        base + Duration::minutes(3_500),
    );
    let measured = [prod.id, prod_eu.id];

    let mut read = vec![];
    store
        .insight_rows(&measured, None, from, to, &mut |record| read.push(record))
        .await
        .unwrap();

    let identifier = |id: Uuid| {
        let v = versions.iter().find(|v| v.id == id).unwrap();
        (v.version_identifier.clone(), v.created_at, v.released_at)
    };
    let mut first_live = std::collections::HashMap::new();
    for d in history.iter().filter(|d| !retracted.contains(&d.id)) {
        let here = measured.contains(&d.environment_id);
        let first = first_live
            .entry((d.version_id, here))
            .or_insert(d.deployment_date);
        *first = (*first).min(d.deployment_date);
    }
    // Each measured pair in history order, walked from its newest: what followed each.
    let mut expected: Vec<app::ssr::InsightRecord> = vec![];
    for environment in measured {
        let mut pair: Vec<&NewDeployment> = (history.iter())
            .filter(|d| d.environment_id == environment)
            .collect();
        pair.sort_by_key(|d| (d.deployment_date, d.created_at, d.id));
        let mut next: Option<&NewDeployment> = None;
        for d in pair.into_iter().rev() {
            if d.deployment_date >= from && d.deployment_date < to {
                let (version_identifier, version_created_at, released_at) =
                    identifier(d.version_id);
                expected.push(app::ssr::InsightRecord {
                    deployment_id: d.id,
                    application_id: d.application_id,
                    environment_id: d.environment_id,
                    version_id: d.version_id,
                    deployment_date: d.deployment_date,
                    deleted_at: None,
                    version_identifier,
                    version_created_at,
                    released_at,
                    next_date: next.map(|n| n.deployment_date),
                    next_version_identifier: next.map(|n| identifier(n.version_id).0),
                    next_version_created_at: next.map(|n| identifier(n.version_id).1),
                    first_here: first_live.get(&(d.version_id, true)).copied(),
                    first_elsewhere: first_live.get(&(d.version_id, false)).copied(),
                });
            }
            if !retracted.contains(&d.id) {
                next = Some(d);
            }
        }
    }
    expected.sort_by_key(|r| r.deployment_id);
    read.sort_by_key(|r| r.deployment_id);
    // When each was retracted is the store's; only that it was is known here.
    for record in &mut read {
        assert_eq!(
            record.deleted_at.take().is_some(),
            retracted.contains(&record.deployment_id),
            "seed {seed}"
        );
    }
    assert_eq!(read.len(), expected.len(), "seed {seed}");
    for (got, want) in read.iter().zip(&expected) {
        assert_eq!(got, want, "seed {seed}");
    }
}
