//! `/compare`: two environments side by side — per application same / ahead / behind, and how
//! far the later environment lags: the promotion candidates.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::list_environments;
use crate::api::deployments::compare_environments;
use crate::components::timestamp::Ago;
use crate::model::{CompareStatus, CurrentDeploymentState};

fn status_text(status: CompareStatus) -> (&'static str, &'static str) {
    match status {
        CompareStatus::Same => ("same", "status-same"),
        CompareStatus::Ahead => ("ready to promote", "status-ahead"),
        CompareStatus::Behind => ("later env is newer", "status-behind"),
        CompareStatus::OnlyInFrom => ("not yet in later env", "status-ahead"),
        CompareStatus::OnlyInTo => ("only in later env", "status-behind"),
    }
}

#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.get().get(key).and_then(|v| Uuid::parse_str(&v).ok());
    let environments = Resource::new(|| (), |_| list_environments(false));
    let comparison = Resource::new(
        move || (param("from"), param("to")),
        |(from, to)| compare_environments(from, to),
    );
    view! {
        <Title text="Compare environments"/>
        <section class="page">
            <h1>"Compare environments"</h1>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let envs = environments.await.unwrap_or_default();
                    let result = comparison.await;
                    let (from, to) = match &result {
                        Ok(c) => (Some(c.from.id), Some(c.to.id)),
                        Err(_) => (param("from"), param("to")),
                    };
                    let options = move |selected: Option<Uuid>| envs.iter().map(|e| {
                        let is_selected = Some(e.id) == selected;
                        view! { <option value=e.id.to_string() selected=is_selected>{e.name.clone()}</option> }
                    }).collect_view();
                    let picker = view! {
                        <Form method="GET" action="" attr:class="filters card" attr:id="compare-form">
                            <label>"Earlier environment" <select name="from">{options(from)}</select></label>
                            <label>"Later environment" <select name="to">{options(to)}</select></label>
                            <button type="submit" class="secondary">"Compare"</button>
                        </Form>
                    };
                    let table = match result {
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                        Ok(c) if c.rows.is_empty() => view! { <p class="empty">"Nothing is deployed in either environment."</p> }.into_any(),
                        Ok(c) => view! {
                            <table class="data" id="comparison">
                                <thead><tr>
                                    <th>"Application"</th>
                                    <th>{c.from.name.clone()}</th>
                                    <th>{c.to.name.clone()}</th>
                                    <th>"Status"</th>
                                    <th>"Lag"</th>
                                </tr></thead>
                                <tbody>
                                    {c.rows.into_iter().map(|row| {
                                        let (text, class) = status_text(row.status);
                                        let lag = match (row.versions_behind, row.waiting_days) {
                                            (0, None) => "—".to_string(),
                                            (0, Some(days)) => format!("waiting {days} days"),
                                            (n, Some(days)) => format!("{n} version{} behind, waiting {days} days", if n == 1 { "" } else { "s" }),
                                            (n, None) => format!("{n} versions behind"),
                                        };
                                        view! {
                                            <tr data-application=row.application.name.clone() data-status=class>
                                                <td><a href=format!("/applications/{}?tab=deployments", row.application.id)>{row.application.name.clone()}</a></td>
                                                <td><StateCell state=row.from/></td>
                                                <td><StateCell state=row.to/></td>
                                                <td><span class=format!("badge {class}")>{text}</span></td>
                                                <td>{lag}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    };
                    view! { {picker}{table} }.into_any()
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StateCell(state: Option<CurrentDeploymentState>) -> impl IntoView {
    match state {
        None => view! { <span class="muted">"—"</span> }.into_any(),
        Some(s) => view! {
            <a class="mono" href=format!("/deployments/{}", s.deployment_id)>{s.version.version_identifier}</a>
            " "<span class="muted"><Ago at=s.deployment_date/></span>
        }
        .into_any(),
    }
}
