//! `/compare`: two environments side by side — per application same / ahead / behind, and how
//! far the later environment lags: the promotion candidates. Each row opens to the commits and
//! tickets one environment runs that the other does not (`?open=<application>` opens it by URL).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::{list_environments, list_teams};
use crate::api::changes::environment_changes;
use crate::api::deployments::compare_environments;
use crate::components::changes::LazyChanges;
use crate::components::loaded::TeamFilter;
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
    let opened = move || query.get().get("open").unwrap_or_default();
    let team = move || query.get().get("team").filter(|t| !t.trim().is_empty());
    let environments = Resource::new(|| (), |_| list_environments(false));
    let teams = Resource::new(|| (), |_| list_teams());
    let comparison = Resource::new(
        move || (param("from"), param("to"), team()),
        |(from, to, team)| compare_environments(from, to, team),
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
                            <TeamFilter teams selected=Signal::derive(move || team().unwrap_or_default())/>
                            <button type="submit" class="secondary">"Compare"</button>
                        </Form>
                    };
                    let table = match result {
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                        Ok(c) if c.rows.is_empty() => view! { <p class="empty">"Nothing is deployed in either environment."</p> }.into_any(),
                        Ok(c) => {
                            let (earlier, later) = (c.from.id, c.to.id);
                            let open = opened();
                            view! {
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
                                        let lag = lag_text(row.versions_behind, row.waiting_days);
                                        let differs = row.status != CompareStatus::Same;
                                        let application_id = row.application.id;
                                        let open = open.eq_ignore_ascii_case(&row.application.name);
                                        let name = row.application.name.clone();
                                        view! {
                                            <tr data-application=row.application.name.clone() data-status=class>
                                                <td><a href=format!("/applications/{}?tab=deployments", row.application.id)>{row.application.name.clone()}</a></td>
                                                <td><StateCell state=row.from/></td>
                                                <td><StateCell state=row.to/></td>
                                                <td><span class=format!("badge {class}")>{text}</span></td>
                                                <td>{lag}</td>
                                            </tr>
                                            {differs.then(|| view! {
                                                <tr class="changes-row" data-application=name>
                                                    <td colspan="5">
                                                        <LazyChanges open label="Commits and tickets"
                                                            load=move || environment_changes(application_id, later, earlier)/>
                                                    </td>
                                                </tr>
                                            })}
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                        }
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

/// "2 versions behind, waiting 3 days", "waiting less than a day", "—" when nothing waits.
pub fn lag_text(versions_behind: u32, waiting_days: Option<i64>) -> String {
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let waiting = waiting_days.map(|days| match days {
        days if days < 1 => "waiting less than a day".to_string(),
        days => format!("waiting {}", plural(days, "day", "days")),
    });
    let behind = (versions_behind > 0).then(|| {
        format!(
            "{} behind",
            plural(versions_behind.into(), "version", "versions")
        )
    });
    match (behind, waiting) {
        (Some(behind), Some(waiting)) => format!("{behind}, {waiting}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::lag_text;

    #[test]
    fn lag_reads_naturally() {
        assert_eq!(lag_text(0, None), "—");
        assert_eq!(lag_text(0, Some(0)), "waiting less than a day");
        assert_eq!(lag_text(0, Some(1)), "waiting 1 day");
        assert_eq!(lag_text(1, Some(3)), "1 version behind, waiting 3 days");
        assert_eq!(lag_text(2, None), "2 versions behind");
    }
}
