//! The dashboard: what runs where (applications × environments in pipeline order), coloured by
//! age, live as deployments are recorded; beside it the last 10 deployments and quick stats.
//! `?at=<RFC 3339>` shows the matrix as it was at that instant.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use uuid::Uuid;

use crate::api::catalog::{list_applications, list_environments};
use crate::api::deployments::{current_state, deployment_stats, list_deployments};
use crate::components::age::Age;
use crate::components::chart::WeeklyChart;
use crate::components::live::use_deployment_events;
use crate::components::session::SessionUser;
use crate::components::timestamp::{exact, relative, Ago};
use crate::model::{Application, CurrentDeploymentState, DeploymentFilter, Environment, Role};
use crate::pages::record::parse_local_input;

/// Matrix rows: applications whose name contains `filter` (case-insensitive).
pub fn filter_applications(applications: &[Application], filter: &str) -> Vec<Application> {
    let needle = filter.trim().to_lowercase();
    applications
        .iter()
        .filter(|a| needle.is_empty() || a.name.to_lowercase().contains(&needle))
        .cloned()
        .collect()
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let at = move || {
        query
            .get()
            .get("at")
            .and_then(|raw| DateTime::parse_from_rfc3339(&raw).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let tick = use_deployment_events();
    let session = expect_context::<SessionUser>();

    let environments = Resource::new(|| (), |_| list_environments(false));
    let applications = Resource::new(|| (), |_| list_applications(false));
    let states = Resource::new(
        move || (at(), tick.get()),
        |(at, _)| current_state(None, None, at),
    );
    let recent = Resource::new(
        move || tick.get(),
        |_| list_deployments(DeploymentFilter::default(), None, Some(10)),
    );
    let stats = Resource::new(move || tick.get(), |_| deployment_stats());
    let filter = RwSignal::new(String::new());

    view! {
        <Title text="Dashboard"/>
        <section class="page dashboard">
            <div class="page-head">
                <h1>"What runs where"</h1>
                <TimeTravel at=Signal::derive(at)/>
            </div>
            {move || at().map(|t| view! {
                <p class="banner" id="time-travel-banner">
                    "Showing the state as it was at "<strong>{exact(t)}</strong>". "
                    <a href="/">"Back to now"</a>
                </p>
            })}
            <div class="dashboard-grid">
                <div class="matrix-panel card">
                    <div class="matrix-tools">
                        <input type="search" placeholder="Filter applications…" aria-label="Filter applications"
                            id="matrix-filter" prop:value=filter on:input=move |ev| filter.set(event_target_value(&ev))/>
                        <Legend/>
                    </div>
                    <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            let (envs, apps, current, user) =
                                (environments.await, applications.await, states.await, session.0.await);
                            let can_record = matches!(user, Ok(Some(u)) if u.can(Role::Editor)) && at().is_none();
                            match (envs, apps, current) {
                                (Ok(envs), Ok(apps), Ok(current)) => view! {
                                    <Matrix environments=envs applications=apps states=current filter can_record/>
                                }.into_any(),
                                _ => view! { <p class="form-error">"The matrix could not be loaded."</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
                <aside class="side">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            stats.await.ok().map(|s| view! {
                                <div class="stats card" id="stats">
                                    <div><span class="figure">{s.applications}</span>" applications"</div>
                                    <div><span class="figure">{s.environments}</span>" environments"</div>
                                    <div><span class="figure" id="deployments-this-week">{s.deployments_this_week}</span>" deployments this week"</div>
                                    <WeeklyChart weeks=s.per_week/>
                                </div>
                            })
                        })}
                    </Transition>
                    <div class="card">
                        <h2>"Last 10 deployments"</h2>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                let items = recent.await.map(|p| p.items).unwrap_or_default();
                                if items.is_empty() {
                                    return view! { <p class="empty">"Nothing recorded yet."</p> }.into_any();
                                }
                                view! {
                                    <ol class="recent" id="recent-deployments">
                                        {items.into_iter().map(|d| view! {
                                            <li>
                                                <a href=format!("/deployments/{}", d.id)>
                                                    <strong>{d.application.name}</strong>" "
                                                    <span class="mono">{d.version.version_identifier}</span>
                                                    " → "{d.environment.name}
                                                </a>
                                                {d.is_rollback.then(|| view! { <span class="badge rollback">"↩ rollback"</span> })}
                                                <br/><span class="muted"><Ago at=d.deployment_date/>{d.deployed_by.map(|b| format!(" · {b}"))}</span>
                                            </li>
                                        }).collect_view()}
                                    </ol>
                                }.into_any()
                            })}
                        </Transition>
                    </div>
                </aside>
            </div>
        </section>
    }
}

#[component]
fn Legend() -> impl IntoView {
    view! {
        <ul class="legend" aria-label="Legend">
            {Age::ALL.into_iter().map(|age| view! {
                <li class=age.class()><span aria-hidden="true">{age.symbol()}</span>" "{age.label()}</li>
            }).collect_view()}
            <li><span class="badge rollback">"↩"</span>" rollback"</li>
        </ul>
    }
}

#[component]
fn Matrix(
    environments: Vec<Environment>,
    applications: Vec<Application>,
    states: Vec<CurrentDeploymentState>,
    filter: RwSignal<String>,
    can_record: bool,
) -> impl IntoView {
    if applications.is_empty() || environments.is_empty() {
        return view! {
            <p class="empty">
                "Nothing to show yet: create "<a href="/applications">"applications"</a>" and "
                <a href="/environments">"environments"</a>", then record a deployment."
            </p>
        }
        .into_any();
    }
    let by_pair: HashMap<(Uuid, Uuid), CurrentDeploymentState> = states
        .into_iter()
        .map(|s| ((s.application.id, s.environment.id), s))
        .collect();
    let by_pair = StoredValue::new(by_pair);
    let environments = StoredValue::new(environments);
    let now = Utc::now();
    view! {
        <div class="matrix-scroll">
            <table class="matrix" id="matrix">
                <thead>
                    <tr>
                        <th class="corner" scope="col">"Application"</th>
                        {environments.get_value().into_iter().map(|e| view! {
                            <th scope="col">
                                <a href=format!("/environments/{}?tab=deployments", e.id)>{e.name}</a>
                                {e.is_production.then(|| view! { <span class="badge prod">"prod"</span> })}
                            </th>
                        }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {move || filter_applications(&applications, &filter.get()).into_iter().map(|app| {
                        let cells = environments.get_value().into_iter().map(|env| {
                            let state = by_pair.with_value(|m| m.get(&(app.id, env.id)).cloned());
                            view! { <Cell application=app.id environment=env.id state now can_record/> }
                        }).collect_view();
                        view! {
                            <tr data-application=app.name.clone()>
                                <th scope="row"><a href=format!("/applications/{}?tab=deployments", app.id)>{app.name.clone()}</a></th>
                                {cells}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Cell(
    application: Uuid,
    environment: Uuid,
    state: Option<CurrentDeploymentState>,
    now: DateTime<Utc>,
    can_record: bool,
) -> impl IntoView {
    let record_link = can_record.then(|| {
        view! {
            <a class="record" title="Record deployment" aria-label="Record deployment"
                href=format!("/deployments/new?applicationId={application}&environmentId={environment}")>"+"</a>
        }
    });
    match state {
        None => {
            view! { <td class="cell empty-cell"><span class="muted">"—"</span>{record_link}</td> }
                .into_any()
        }
        Some(s) => {
            let age = Age::of(s.deployment_date, now);
            let title = format!(
                "{} {} in {} since {}{} — {}",
                s.application.name,
                s.version.version_identifier,
                s.environment.name,
                exact(s.deployment_date),
                s.deployed_by
                    .as_ref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default(),
                age.label()
            );
            view! {
                <td class=format!("cell {}", age.class()) data-age=age.class()>
                    <a class="cell-link" href=format!("/deployments/{}", s.deployment_id) title=title>
                        <span class="symbol" aria-hidden="true">{age.symbol()}</span>
                        <span class="version mono">{s.version.version_identifier.clone()}</span>
                        {s.is_rollback.then(|| view! { <span class="badge rollback" title="rollback">"↩"</span> })}
                        // Plain text, not the live <Ago> component: thousands of cells would
                        // each carry two signals and an effect for no visible gain.
                        <span class="when">{relative(s.deployment_date, now)}</span>
                        <span class="sr-only">{age.label()}</span>
                    </a>
                    {record_link}
                </td>
            }
            .into_any()
        }
    }
}

/// Pick a past instant; the URL carries it (`?at=`), so the view can be shared.
#[component]
fn TimeTravel(at: Signal<Option<DateTime<Utc>>>) -> impl IntoView {
    let navigate = use_navigate();
    let input = NodeRef::<leptos::html::Input>::new();
    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = input.get_untracked().map(|i| i.value()).unwrap_or_default();
        match parse_local_input(&value) {
            Some(instant) => navigate(
                &format!(
                    "/?at={}",
                    instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
                Default::default(),
            ),
            None => navigate("/", Default::default()),
        }
    };
    view! {
        <form class="time-travel" on:submit=go id="time-travel">
            <label>"Time travel " <input type="datetime-local" node_ref=input aria-label="Show the state at"/></label>
            <button type="submit" class="secondary">{move || if at.get().is_some() { "Go" } else { "Show past state" }}</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_matches_names_case_insensitively() {
        let app = |name: &str| Application {
            id: Uuid::now_v7(),
            name: name.into(),
            description: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            archived_at: None,
        };
        let apps = vec![app("Customer Portal"), app("Billing"), app("Portal Admin")];
        let names: Vec<String> = filter_applications(&apps, " portal ")
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["Customer Portal", "Portal Admin"]);
        assert_eq!(filter_applications(&apps, "").len(), 3);
    }
}
