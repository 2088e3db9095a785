use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::get_environment;
use crate::api::deployments::current_state;
use crate::components::live::use_deployment_events;
use crate::components::session::IfRole;
use crate::components::timestamp::{Ago, Timestamp};
use crate::error::AppError;
use crate::model::{Environment, Role};

use super::id_param;

/// Environment detail with tabs: Overview and Deployments (what runs there now).
#[component]
pub fn EnvironmentPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let tab = move || query.get().get("tab").unwrap_or_else(|| "overview".into());
    let environment = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_environment(id).await,
            None => Err(AppError::NotFound("environment not found".into())),
        }
    });

    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match environment.await {
                        Ok(env) => {
                            let env_id = env.id;
                            view! {
                                <Title text=env.name.clone()/>
                                <p class="crumbs"><a href="/environments">"Environments"</a>" / "</p>
                                <h1>
                                    {env.name.clone()}
                                    {env.is_production.then(|| view! { <span class="badge prod">"production"</span> })}
                                    {env.archived_at.map(|_| view! { <span class="badge">"archived"</span> })}
                                </h1>
                                <nav class="tabs">
                                    <a href=format!("/environments/{env_id}") class:active=move || tab() == "overview">"Overview"</a>
                                    <a href=format!("/environments/{env_id}?tab=deployments") class:active=move || tab() == "deployments">"Deployments"</a>
                                </nav>
                                {move || if tab() == "deployments" {
                                    view! { <DeploymentsTab environment_id=env_id/> }.into_any()
                                } else {
                                    view! { <Overview environment=env.clone()/> }.into_any()
                                }}
                            }.into_any()
                        }
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Overview(environment: Environment) -> impl IntoView {
    view! {
        <dl class="facts card">
            <dt>"Description"</dt>
            <dd>{environment.description.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Pipeline position"</dt>
            <dd>{environment.position}</dd>
            <dt>"Created"</dt>
            <dd><Timestamp at=environment.created_at/></dd>
        </dl>
    }
}

/// Every application currently deployed here.
#[component]
fn DeploymentsTab(environment_id: Uuid) -> impl IntoView {
    let tick = use_deployment_events();
    let current = Resource::new(
        move || tick.get(),
        move |_| current_state(None, Some(environment_id), None),
    );
    view! {
        <div class="tab-actions">
            <IfRole role=Role::Editor>
                <a class="button" id="record-here" href=format!("/deployments/new?environmentId={environment_id}")>"Record deployment here"</a>
            </IfRole>
        </div>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let states = current.await.unwrap_or_default();
                if states.is_empty() {
                    return view! { <p class="empty">"No application is deployed here yet."</p> }.into_any();
                }
                view! {
                    <table class="data" id="environment-deployments">
                        <thead><tr><th>"Application"</th><th>"Version"</th><th>"Deployment date"</th><th>"Deployed by"</th><th></th></tr></thead>
                        <tbody>
                            {states.into_iter().map(|s| view! {
                                <tr>
                                    <td><a class="application-link" href=format!("/applications/{}?tab=deployments", s.application.id)>{s.application.name.clone()}</a></td>
                                    <td><a class="mono" href=format!("/deployments/{}", s.deployment_id)>{s.version.version_identifier.clone()}</a>
                                        {s.is_rollback.then(|| view! { " "<span class="badge rollback">"↩ rollback"</span> })}</td>
                                    <td><Timestamp at=s.deployment_date/>" ("<Ago at=s.deployment_date/>")"</td>
                                    <td>{s.deployed_by.clone().unwrap_or_default()}</td>
                                    <td>
                                        <IfRole role=Role::Editor>
                                            <a href=format!("/deployments/new?applicationId={}&environmentId={}", s.application.id, environment_id)>"Record"</a>
                                        </IfRole>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </Transition>
    }
}
