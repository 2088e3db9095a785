//! RecordDeployment: the story's form, at `/deployments/new` (prefilled by `?applicationId=` and
//! `?environmentId=`). Values are read from the form itself at submit, so what is sent is exactly
//! what the page holds; the server checks everything again.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::{list_applications, list_environments, list_versions};
use crate::api::deployments::RecordDeployment;
use crate::api::policy::check_deploy;
use crate::components::deployment_list::RecentDeployments;
use crate::components::form_feedback::{FieldMessage, FormMessage};
use crate::components::loaded::IdOptions;
use crate::components::session::{RoleNotice, SessionUser};
use crate::components::timers::Delayed;
use crate::components::zone::{use_zone, Zone};
use crate::error::{AppError, FieldError};
use crate::model::{
    DeploymentFilter, Role, CLOCK_SKEW_SECONDS, DEPLOYED_BY_MAX, FUTURE_DATE_MESSAGE, NOTES_MAX,
    REASON_MAX,
};

/// The checks the browser makes before sending: required fields and no future date.
pub fn validate_record_form(
    application_id: &str,
    version_id: &str,
    environment_id: &str,
    deployment_date: &str,
    zone: &Zone,
    now: DateTime<Utc>,
) -> Vec<FieldError> {
    let mut errors = vec![];
    for (field, value, what) in [
        ("applicationId", application_id, "Choose an application"),
        ("versionId", version_id, "Choose a version"),
        ("environmentId", environment_id, "Choose an environment"),
    ] {
        if Uuid::parse_str(value.trim()).is_err() {
            errors.push(FieldError::new(field, what));
        }
    }
    match zone.parse(deployment_date) {
        None => errors.push(FieldError::new(
            "deploymentDate",
            "Enter the date and time as YYYY-MM-DD HH:MM, e.g. 2026-10-17 19:58",
        )),
        Some(at) if at > now + chrono::Duration::seconds(CLOCK_SKEW_SECONDS) => {
            errors.push(FieldError::new("deploymentDate", FUTURE_DATE_MESSAGE))
        }
        Some(_) => {}
    }
    errors
}

/// How long "Deployment recorded" stays on screen.
const NOTICE_MS: u32 = 10_000;

fn option_text(value: String) -> Option<String> {
    Some(value).filter(|v| !v.trim().is_empty())
}

#[component]
pub fn RecordPage() -> impl IntoView {
    let query = use_query_map();
    let initial = |key: &str| query.get_untracked().get(key).unwrap_or_default();
    let application = RwSignal::new(initial("applicationId"));
    let preselected_environment = initial("environmentId");

    let applications = Resource::new(|| (), |_| list_applications(false));
    let environments = Resource::new(|| (), |_| list_environments(false));
    let versions = Resource::new(
        move || application.get(),
        |app| async move {
            match Uuid::parse_str(&app) {
                Ok(id) => list_versions(id).await,
                Err(_) => Ok(vec![]),
            }
        },
    );
    let record = ServerAction::<RecordDeployment>::new();
    let recent_filter = Signal::derive(move || DeploymentFilter {
        application_id: Uuid::parse_str(&application.get()).ok(),
        ..Default::default()
    });

    let client_error = RwSignal::new(None::<AppError>);
    let error = Signal::derive(move || {
        client_error
            .get()
            .or_else(|| record.value().get().and_then(Result::err))
    });
    let zone = use_zone();
    let date = RwSignal::new(String::new());
    // "Now" is the browser's now (the server's page may be minutes old), on the user's clock.
    Effect::new(move |_| date.set(zone.with(|z| z.format(Utc::now()))));

    let version_select = NodeRef::<leptos::html::Select>::new();
    let environment_select = NodeRef::<leptos::html::Select>::new();
    let date_input = NodeRef::<leptos::html::Input>::new();
    let deployed_by_input = NodeRef::<leptos::html::Input>::new();
    let notes_input = NodeRef::<leptos::html::Textarea>::new();
    let override_input = NodeRef::<leptos::html::Textarea>::new();
    // The deploy policy is asked as soon as application, version and environment are chosen.
    let version_choice = RwSignal::new(String::new());
    let environment_choice = RwSignal::new(preselected_environment.clone());
    let policy = Resource::new(
        move || {
            (
                application.get(),
                version_choice.get(),
                environment_choice.get(),
            )
        },
        |(a, v, e)| async move {
            match (
                Uuid::parse_str(&a),
                Uuid::parse_str(&v),
                Uuid::parse_str(&e),
            ) {
                (Ok(a), Ok(v), Ok(e)) => check_deploy(a, v, e).await.ok(),
                _ => None,
            }
        },
    );

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value_of_select = |node: NodeRef<leptos::html::Select>| {
            node.get_untracked().map(|n| n.value()).unwrap_or_default()
        };
        let version = value_of_select(version_select);
        let environment = value_of_select(environment_select);
        let when = date_input
            .get_untracked()
            .map(|n| n.value())
            .unwrap_or_default();
        let errors = validate_record_form(
            &application.get_untracked(),
            &version,
            &environment,
            &when,
            &zone.get_untracked(),
            Utc::now(),
        );
        if !errors.is_empty() {
            client_error.set(Some(AppError::Validation(errors)));
            return;
        }
        client_error.set(None);
        let (Ok(application_id), Ok(version_id), Ok(environment_id), Some(deployment_date)) = (
            Uuid::parse_str(&application.get_untracked()),
            Uuid::parse_str(&version),
            Uuid::parse_str(&environment),
            zone.with_untracked(|z| z.parse(&when)),
        ) else {
            return;
        };
        record.dispatch(RecordDeployment {
            application_id: Some(application_id),
            version_id: Some(version_id),
            environment_id: Some(environment_id),
            application: None,
            version: None,
            environment: None,
            deployment_date,
            deployed_by: deployed_by_input
                .get_untracked()
                .and_then(|n| option_text(n.value())),
            notes: notes_input
                .get_untracked()
                .and_then(|n| option_text(n.value())),
            override_reason: override_input
                .get_untracked()
                .and_then(|n| option_text(n.value())),
        });
    };
    // After a successful record the next one starts from now again: keeping the first entry's
    // date would silently back-date a second deployment recorded from the same page.
    // The success notice fades after a while; the next record brings it back.
    let notice_shown = RwSignal::new(false);
    let notice_timer = Delayed::new();
    Effect::new(move |_| {
        if matches!(record.value().get(), Some(Ok(_))) {
            notice_shown.set(true);
            notice_timer.after(NOTICE_MS, move || notice_shown.set(false));
            if let Some(notes) = notes_input.get_untracked() {
                notes.set_value("");
            }
            let now = zone.with_untracked(|z| z.format(Utc::now()));
            if let Some(input) = date_input.get_untracked() {
                input.set_value(&now);
            }
            date.set(now);
        }
    });

    view! {
        <Title text="Record deployment"/>
        <section class="page">
            <h1>"Record deployment"</h1>
            <RoleNotice role=Role::Editor what="Recording a deployment"/>
            {move || record.value().get().and_then(Result::ok).filter(|_| notice_shown.get()).map(|d| view! {
                <div class="toast success" role="status" id="record-success">
                    "Deployment recorded: "<strong>{d.application.name.clone()}" "{d.version.version_identifier.clone()}</strong>
                    " → "<strong>{d.environment.name.clone()}</strong>". "
                    <a href=format!("/deployments/{}", d.id)>"View details"</a>
                </div>
            })}
            <form class="card form" id="record-deployment" on:submit=submit novalidate>
                <FormMessage error/>
                <label>
                    "Application"
                    <select name="applicationId" required
                        on:change=move |ev| application.set(event_target_value(&ev))>
                        <option value="">"Choose an application…"</option>
                        <IdOptions resource=applications selected=Signal::derive(move || application.get_untracked())/>
                    </select>
                </label>
                <FieldMessage error field="applicationId"/>
                <label>
                    "Version"
                    <select name="versionId" required node_ref=version_select
                        on:change=move |ev| version_choice.set(event_target_value(&ev))>
                        <option value="">"Choose a version…"</option>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                versions.await.unwrap_or_default().into_iter().map(|v| {
                                    view! { <option value=v.id.to_string()>{v.version_identifier}</option> }
                                }).collect_view()
                            })}
                        </Transition>
                    </select>
                </label>
                <FieldMessage error field="versionId"/>
                <label>
                    "Environment"
                    <select name="environmentId" required node_ref=environment_select
                        on:change=move |ev| environment_choice.set(event_target_value(&ev))>
                        <option value="">"Choose an environment…"</option>
                        <IdOptions resource=environments selected=Signal::stored(preselected_environment.clone())/>
                    </select>
                </label>
                <FieldMessage error field="environmentId"/>
                <label>
                    <span>"Deployment date "<span class="muted" id="record-zone">{move || zone.with(|z| format!("(your time, {} · {})", z.name(), z.offset_label(Utc::now())))}</span></span>
                    <input type="text" name="deploymentDate" required node_ref=date_input prop:value=date
                        inputmode="numeric" autocomplete="off" placeholder="YYYY-MM-DD HH:MM"
                        pattern="\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}(:\\d{2})?"/>
                </label>
                <FieldMessage error field="deploymentDate"/>
                <label>
                    "Deployed by"
                    <DeployedByInput node_ref=deployed_by_input/>
                </label>
                <FieldMessage error field="deployedBy"/>
                <label>
                    "Notes"
                    <textarea name="notes" rows="3" maxlength=NOTES_MAX node_ref=notes_input placeholder="optional"></textarea>
                </label>
                <FieldMessage error field="notes"/>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        policy.await.filter(|check| !check.allowed).map(|check| view! {
                            <div class="notice warning" id="policy-blockers" role="alert">
                                <strong>"⚠ Blocked by the deploy policy. "</strong>
                                "You can still record it (it happened); the record will say what blocked it."
                                <ul>
                                    {check.blockers.into_iter().map(|b| view! {
                                        <li><span class="tag">{b.kind}</span>" "{b.message}</li>
                                    }).collect_view()}
                                </ul>
                                <label>
                                    "Override reason"
                                    <textarea name="overrideReason" rows="2" maxlength=REASON_MAX
                                        node_ref=override_input placeholder="Why it goes ahead anyway (kept with the record)"></textarea>
                                </label>
                            </div>
                        })
                    })}
                </Transition>
                <FieldMessage error field="overrideReason"/>
                <button type="submit" disabled=move || record.pending().get()>"Record deployment"</button>
            </form>
            <h2>"Recent deployments"</h2>
            <RecentDeployments filter=recent_filter refresh=Signal::derive(move || record.version().get() as u64)
                limit=5 empty="None yet."/>
        </section>
    }
}

/// Defaults to the signed-in user's name.
#[component]
fn DeployedByInput(node_ref: NodeRef<leptos::html::Input>) -> impl IntoView {
    let session = expect_context::<SessionUser>();
    view! {
        <Suspense fallback=move || view! { <input name="deployedBy" maxlength=DEPLOYED_BY_MAX node_ref=node_ref/> }>
            {move || Suspend::new(async move {
                let username = session.0.await.ok().flatten().map(|u| u.username).unwrap_or_default();
                view! { <input name="deployedBy" maxlength=DEPLOYED_BY_MAX node_ref=node_ref value=username/> }
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_requires_every_choice_and_a_past_date() {
        let now = Utc::now();
        let zone = Zone::default();
        let id = Uuid::now_v7().to_string();
        let past = zone.format(now - chrono::Duration::hours(1));
        assert!(validate_record_form(&id, &id, &id, &past, &zone, now).is_empty());

        let missing = validate_record_form("", "", &id, "", &zone, now);
        let fields: Vec<&str> = missing.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["applicationId", "versionId", "deploymentDate"]);

        let tomorrow = zone.format(now + chrono::Duration::days(1));
        let future = validate_record_form(&id, &id, &id, &tomorrow, &zone, now);
        assert_eq!(future[0].message, FUTURE_DATE_MESSAGE);
    }
}
