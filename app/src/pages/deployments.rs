//! `/deployments`: the whole history with every filter (in the URL), "load more" and CSV export;
//! `/deployments/:id`: one record, what it changed, retraction details and the admin's retract
//! action.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::catalog::{list_applications, list_environments, list_teams};
use crate::api::changes::deployment_changes;
use crate::api::deployments::{get_deployment, RetractDeployment};
use crate::components::changes::ChangesView;
use crate::components::deployment_list::{filter_from_query, DateRangeInputs, HistoryList};
use crate::components::form_feedback::{last_error, FieldMessage, FormMessage};
use crate::components::live::use_deployment_events;
use crate::components::loaded::{IdOptions, Loaded, TeamFilter};
use crate::components::session::IfRole;
use crate::components::timestamp::{Ago, Timestamp};
use crate::components::zone::use_zone;
use crate::error::AppError;
use crate::model::{Role, REASON_MAX};

use super::id_param;

#[component]
pub fn DeploymentsPage() -> impl IntoView {
    let query = use_query_map();
    let tick = use_deployment_events();
    let zone = use_zone();
    let filter = Signal::derive(move || {
        let q = query.get();
        zone.with(|z| filter_from_query(|k| q.get(k), z))
    });
    let raw = move |key: &'static str| query.get().get(key).unwrap_or_default();
    let applications = Resource::new(|| (), |_| list_applications(true));
    let environments = Resource::new(|| (), |_| list_environments(true));
    let teams = Resource::new(|| (), |_| list_teams());
    let csv_link = move || {
        let q = query.get();
        let pairs: Vec<String> = [
            "applicationId",
            "environmentId",
            "versionId",
            "dateFrom",
            "dateTo",
            "deployedBy",
            "q",
            "team",
            "violations",
            "includeDeleted",
        ]
        .into_iter()
        .filter_map(|k| {
            q.get(k).filter(|v| !v.is_empty()).map(|v| {
                let value: String = v
                    .chars()
                    .map(|c| match c {
                        '&' => "%26".to_string(),
                        '#' => "%23".to_string(),
                        '+' => "%2B".to_string(),
                        ' ' => "%20".to_string(),
                        c => c.to_string(),
                    })
                    .collect();
                format!("{k}={value}")
            })
        })
        .collect();
        let filter = filter.get();
        let (from, to) = (filter.date_from, filter.date_to);
        let mut pairs = pairs
            .into_iter()
            .filter(|p| !p.starts_with("dateFrom=") && !p.starts_with("dateTo="))
            .collect::<Vec<_>>();
        let instant = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        if let Some(from) = from {
            pairs.push(format!("dateFrom={}", instant(from)));
        }
        if let Some(to) = to {
            pairs.push(format!("dateTo={}", instant(to)));
        }
        format!("/api/deployments.csv?{}", pairs.join("&"))
    };

    view! {
        <Title text="Deployments"/>
        <section class="page">
            <div class="page-head">
                <h1>"Deployment history"</h1>
                <div>
                    <a class="button secondary" id="csv-export" href=csv_link download="deployments.csv">"Export CSV"</a>
                    " "
                    <IfRole role=Role::Editor>
                        <a class="button" href="/deployments/new">"Record deployment"</a>
                    </IfRole>
                </div>
            </div>
            <Form method="GET" action="" attr:class="filters card" attr:id="history-filters">
                <label>"Application"
                    <select name="applicationId">
                        <option value="">"All"</option>
                        <IdOptions resource=applications selected=Signal::derive(move || raw("applicationId"))/>
                    </select>
                </label>
                <label>"Environment"
                    <select name="environmentId">
                        <option value="">"All"</option>
                        <IdOptions resource=environments selected=Signal::derive(move || raw("environmentId"))/>
                    </select>
                </label>
                <TeamFilter teams selected=Signal::derive(move || raw("team"))/>
                <DateRangeInputs/>
                <label>"Deployed by" <input name="deployedBy" value=move || raw("deployedBy") size="12"/></label>
                <label>"Search" <input type="search" name="q" value=move || raw("q") placeholder="notes, version, deployer"/></label>
                <label class="check"><input type="checkbox" name="violations" value="true" checked=move || raw("violations") == "true"/>" only through a blocker"</label>
                <IfRole role=Role::Admin>
                    <label class="check"><input type="checkbox" name="includeDeleted" value="true" checked=move || raw("includeDeleted") == "true"/>" include retracted"</label>
                </IfRole>
                <button type="submit" class="secondary">"Filter"</button>
                <a href="/deployments">"Clear"</a>
            </Form>
            <HistoryList filter tick=Signal::derive(move || tick.get()) show_application=true/>
        </section>
    }
}

#[component]
pub fn DeploymentPage() -> impl IntoView {
    let id = id_param();
    let retract = ServerAction::<RetractDeployment>::new();
    let deployment = Resource::new(
        move || (id(), retract.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_deployment(id).await,
                None => Err(AppError::NotFound("deployment not found".into())),
            }
        },
    );
    let error = last_error(retract.value());
    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let d = match deployment.await {
                        Ok(d) => d,
                        Err(e) => return view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    };
                    let id = d.id;
                    view! {
                        <Title text=format!("{} {} → {}", d.application.name, d.version.version_identifier, d.environment.name)/>
                        <p class="crumbs"><a href="/deployments">"Deployments"</a>" / "</p>
                        <h1 id="deployment-title">
                            {d.application.name.clone()}" "<span class="mono">{d.version.version_identifier.clone()}</span>
                            " → "{d.environment.name.clone()}
                            {d.is_rollback.then(|| view! { <span class="badge rollback">"↩ rollback"</span> })}
                            {d.deleted_at.map(|_| view! { <span class="badge">"retracted"</span> })}
                        </h1>
                        <dl class="facts card" id="deployment-facts">
                            <dt>"Application"</dt><dd><a href=format!("/applications/{}?tab=deployments", d.application.id)>{d.application.name.clone()}</a></dd>
                            <dt>"Version"</dt><dd class="mono">{d.version.version_identifier.clone()}</dd>
                            <dt>"Environment"</dt><dd><a href=format!("/environments/{}?tab=deployments", d.environment.id)>{d.environment.name.clone()}</a></dd>
                            <dt>"Deployed"</dt><dd><Timestamp at=d.deployment_date with_zone=true/>" ("<Ago at=d.deployment_date/>")"</dd>
                            <dt>"Deployed by"</dt><dd>{d.deployed_by.clone().unwrap_or_else(|| "—".into())}</dd>
                            <dt>"Notes"</dt><dd class="notes">{d.notes.clone().unwrap_or_else(|| "—".into())}</dd>
                            <dt>"Recorded"</dt><dd><Timestamp at=d.created_at/></dd>
                            {(!d.policy_violations.is_empty()).then(|| view! {
                                <dt>"Deploy policy"</dt>
                                <dd id="policy-violations">
                                    <span class="badge policy">"⚠ deployed while blocked"</span>
                                    <ul>{d.policy_violations.iter().map(|b| view! { <li><span class="tag">{b.kind.clone()}</span>" "{b.message.clone()}</li> }).collect_view()}</ul>
                                    {d.override_reason.clone().map(|r| view! { <p>"Override reason: "{r}</p> })}
                                </dd>
                            })}
                            {d.deleted_at.map(|at| view! {
                                <dt>"Retracted"</dt>
                                <dd id="retraction"><Timestamp at/>" by "{d.deleted_by.clone().unwrap_or_default()}": "{d.delete_reason.clone().unwrap_or_default()}</dd>
                            })}
                        </dl>
                        <WhatChanged id/>
                        {d.deleted_at.is_none().then(|| view! {
                            <IfRole role=Role::Admin>
                                <ActionForm action=retract attr:class="card form" attr:id="retract">
                                    <h2>"Retract this record"</h2>
                                    <p class="muted">"The record stays in the audit trail, marked as retracted, and leaves the current state."</p>
                                    <FormMessage error/>
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <label>"Reason" <input name="reason" required maxlength=REASON_MAX/></label>
                                    <FieldMessage error field="reason"/>
                                    <button type="submit" class="danger">"Retract"</button>
                                </ActionForm>
                            </IfRole>
                        })}
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}

/// What the deployment brought compared with what ran before it in its pair (for a rollback,
/// what it took away).
#[component]
fn WhatChanged(id: uuid::Uuid) -> impl IntoView {
    let changes = Resource::new(move || id, deployment_changes);
    view! {
        <section class="card" id="what-changed" aria-labelledby="what-changed-title">
            <h2 id="what-changed-title">"What changed"</h2>
            <Loaded resource=changes render=move |changes| view! {
                <ChangesView changes notes_href=format!("/api/deployments/{id}/changes.md")/>
            }/>
        </section>
    }
}
