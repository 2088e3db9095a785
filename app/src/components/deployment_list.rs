//! Shared pieces for listing deployments: the history timeline grouped by environment, and a
//! paged history that loads more by cursor.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use uuid::Uuid;

use crate::components::timers::use_now;
use crate::components::timestamp::{relative, Ago};
use crate::components::zone::{use_zone, Zone};
use crate::model::{Deployment, Environment};

/// Deployments grouped by environment: environments in pipeline order (unknown ones last), each
/// group newest first as the history already is.
pub fn group_by_environment(
    deployments: &[Deployment],
    environments: &[Environment],
) -> Vec<(Uuid, String, Vec<Deployment>)> {
    let mut groups: Vec<(Uuid, String, Vec<Deployment>)> = vec![];
    for d in deployments {
        match groups.iter_mut().find(|(id, _, _)| *id == d.environment.id) {
            Some((_, _, items)) => items.push(d.clone()),
            None => groups.push((
                d.environment.id,
                d.environment.name.clone(),
                vec![d.clone()],
            )),
        }
    }
    let rank = |id: &Uuid| {
        environments
            .iter()
            .position(|e| e.id == *id)
            .unwrap_or(usize::MAX)
    };
    groups.sort_by_key(|(id, _, _)| rank(id));
    groups
}

/// Lines of history as HTML text, set as the list's inner HTML. Written through the view macro
/// each line cost about 1.3 ms of the browser's main thread at hydration (its components and their
/// reactive texts), 65 ms for a page of 50 on this machine's Chromium and four times that on
/// Lighthouse's phone; as text the browser parses them natively. Every stored value is escaped.
pub fn history_rows_html(
    items: &[Deployment],
    now: DateTime<Utc>,
    zone: &Zone,
    show_application: bool,
) -> String {
    use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
    use std::fmt::Write;

    let mut html = String::with_capacity(items.len() * 600);
    for d in items {
        let at = d.deployment_date;
        let iso = at.to_rfc3339();
        let _ = write!(
            html,
            r#"<li class="timeline-item{retracted}" data-id="{id}"><a href="/deployments/{id}" class="mono version">{version}</a>"#,
            retracted = if d.deleted_at.is_some() {
                " retracted"
            } else {
                ""
            },
            id = d.id,
            version = text(&d.version.version_identifier),
        );
        if show_application {
            let _ = write!(
                html,
                r#"<span class="app">{}</span>"#,
                text(&d.application.name)
            );
        }
        let _ = write!(
            html,
            r#"<span class="env"> → {}</span>"#,
            text(&d.environment.name)
        );
        if d.is_rollback {
            html.push_str(r#"<span class="badge rollback">↩ rollback</span>"#);
        }
        if !d.policy_violations.is_empty() {
            let blockers = (d.policy_violations.iter())
                .map(|b| b.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let _ = write!(
                html,
                r#"<span class="badge policy" title="{}">⚠ deployed despite policy</span>"#,
                attr(&blockers)
            );
        }
        if d.deleted_at.is_some() {
            html.push_str(r#"<span class="badge">retracted</span>"#);
        }
        let _ = write!(
            html,
            r#"<span class="when"><time datetime="{iso}" title="{exact} ({offset})">{ago}</time> · <time datetime="{iso}" title="{iso}">{exact}</time></span>"#,
            exact = zone.format(at),
            offset = zone.offset_label(at),
            ago = relative(at, now),
        );
        let _ = write!(
            html,
            r#"<span class="who">{}</span>"#,
            d.deployed_by
                .as_deref()
                .map(|b| format!("by {}", text(b)))
                .unwrap_or_default()
        );
        if let Some(notes) = &d.notes {
            let _ = write!(html, r#"<p class="notes">{}</p>"#, text(notes));
        }
        html.push_str("</li>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApplicationRef, EnvironmentRef, VersionRef};
    use chrono::Utc;

    fn deployment(env: Uuid, env_name: &str) -> Deployment {
        Deployment {
            id: Uuid::now_v7(),
            application: ApplicationRef {
                id: Uuid::nil(),
                name: "a".into(),
            },
            version: VersionRef {
                id: Uuid::nil(),
                version_identifier: "1.0.0".into(),
            },
            environment: EnvironmentRef {
                id: env,
                name: env_name.into(),
            },
            deployment_date: Utc::now(),
            deployed_by: None,
            notes: None,
            created_at: Utc::now(),
            is_rollback: false,
            deleted_at: None,
            deleted_by: None,
            delete_reason: None,
            policy_violations: vec![],
            override_reason: None,
        }
    }

    fn environment(id: Uuid, name: &str) -> Environment {
        Environment {
            id,
            name: name.into(),
            description: None,
            position: 0,
            is_production: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            archived_at: None,
        }
    }

    #[test]
    fn history_html_escapes_every_stored_value() {
        let evil = r#"<script>alert("x")</script>&"'"#;
        let mut d = deployment(Uuid::now_v7(), evil);
        d.application.name = evil.into();
        d.version.version_identifier = evil.into();
        d.deployed_by = Some(evil.into());
        d.notes = Some(evil.into());
        d.is_rollback = true;
        d.deleted_at = Some(Utc::now());
        d.policy_violations = vec![crate::model::PolicyBlocker {
            kind: "freeze".into(),
            id: Uuid::nil(),
            message: evil.into(),
            until: None,
        }];
        let html = history_rows_html(&[d.clone()], Utc::now(), &Zone::default(), true);
        assert!(!html.contains("<script"), "{html}");
        // In an attribute the quotes are escaped too.
        assert!(
            html.contains(r#"title="&lt;script&gt;alert(&quot;x&quot;)"#),
            "{html}"
        );
        // Version, application, environment, deployer, notes and the blocker's title.
        assert_eq!(html.matches("&lt;script&gt;").count(), 6, "{html}");
        assert!(html.contains(r#"class="timeline-item retracted""#));
        assert!(html.contains("↩ rollback") && html.contains("⚠ deployed despite policy"));
        assert!(html.contains(&format!(r#"href="/deployments/{}""#, d.id)));
        let without_application = history_rows_html(&[d], Utc::now(), &Zone::default(), false);
        assert!(!without_application.contains(r#"class="app""#));
    }

    #[test]
    fn groups_follow_the_pipeline_and_keep_history_order() {
        let (dev, prod) = (Uuid::now_v7(), Uuid::now_v7());
        let history = vec![
            deployment(prod, "PROD"),
            deployment(dev, "DEV"),
            deployment(prod, "PROD"),
        ];
        let groups = group_by_environment(
            &history,
            &[environment(dev, "DEV"), environment(prod, "PROD")],
        );
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].1, "DEV");
        assert_eq!(groups[1].2.len(), 2);
        assert_eq!(groups[1].2[0].id, history[0].id);
    }
}

/// The environments a grouped history is grouped by, as loaded by the page.
pub type EnvironmentsResource = Resource<Result<Vec<Environment>, crate::error::AppError>>;

/// History for `filter`, newest first, with "Load more" by cursor; grouped by environment when
/// `environments` is given. `tick` (e.g. live events) refetches the first page.
///
/// Render it unconditionally, never from inside another `Suspend`: its resource must be created
/// at the same point on the server and while hydrating, or the browser finds another tree than
/// the server rendered (a direct load of an application's Deployments tab panicked that way).
#[component]
pub fn HistoryList(
    #[prop(into)] filter: Signal<crate::model::DeploymentFilter>,
    #[prop(optional)] environments: Option<EnvironmentsResource>,
    #[prop(optional, into)] tick: Option<Signal<u64>>,
    show_application: bool,
) -> impl IntoView {
    use crate::api::deployments::list_deployments;
    let first = Resource::new(
        move || (filter.get(), tick.map(|t| t.get())),
        |(filter, _)| list_deployments(filter, None, None),
    );
    let (zone, now) = (use_zone(), use_now());
    let more = RwSignal::new(Vec::<Deployment>::new());
    let next = RwSignal::new(None::<Option<String>>);
    let loading = RwSignal::new(false);
    // New filters start from the first page again.
    Effect::new(move |_| {
        filter.track();
        more.set(vec![]);
        next.set(None);
    });
    let load_more = move |_| {
        let cursor = next.get_untracked().flatten().or_else(|| {
            first
                .get_untracked()
                .and_then(|r| r.ok())
                .and_then(|p| p.next_cursor)
        });
        let Some(cursor) = cursor else { return };
        loading.set(true);
        leptos::task::spawn_local(async move {
            if let Ok(page) = list_deployments(filter.get_untracked(), Some(cursor), None).await {
                more.update(|items| items.extend(page.items));
                next.set(Some(page.next_cursor));
            }
            loading.set(false);
        });
    };
    view! {
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let page = match first.await {
                    Ok(page) => page,
                    Err(e) => return view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                };
                let environments = match environments {
                    Some(resource) => Some(resource.await.unwrap_or_default()),
                    None => None,
                };
                let environments = StoredValue::new(environments);
                let has_more = move || match next.get() {
                    Some(cursor) => cursor.is_some(),
                    None => page.next_cursor.is_some(),
                };
                let first_items = page.items.clone();
                let items = move || {
                    let mut all = first_items.clone();
                    all.extend(more.get());
                    all
                };
                let rows = move |group: &[Deployment]| {
                    zone.with(|zone| history_rows_html(group, now.get(), zone, show_application))
                };
                let body = move || {
                    let all = items();
                    if all.is_empty() {
                        return view! { <p class="empty">"No deployments match."</p> }.into_any();
                    }
                    match environments.get_value() {
                        Some(envs) => view! {
                            <div class="timeline" id="history">
                                {group_by_environment(&all, &envs).into_iter().map(|(id, name, group)| view! {
                                    <section class="timeline-group" data-environment=id.to_string()>
                                        <h3>{name}</h3>
                                        <ol inner_html=rows(&group)></ol>
                                    </section>
                                }).collect_view()}
                            </div>
                        }.into_any(),
                        None => view! {
                            <ol class="timeline flat" id="history" inner_html=rows(&all)></ol>
                        }.into_any(),
                    }
                };
                view! {
                    {body}
                    <Show when=has_more>
                        <button type="button" class="secondary" id="load-more" on:click=load_more disabled=move || loading.get()>
                            "Load more"
                        </button>
                    </Show>
                }.into_any()
            })}
        </Transition>
    }
}

/// Reads history filters from URL query values (`key` → value), so filtered views can be shared.
/// Dates may be `YYYY-MM-DD` (whole days on the user's clock, `zone`) or RFC 3339; a date that
/// is neither filters nothing (and [`DateRangeInputs`] says so).
pub fn filter_from_query(
    get: impl Fn(&str) -> Option<String>,
    zone: &Zone,
) -> crate::model::DeploymentFilter {
    let id = |key: &str| get(key).and_then(|v| Uuid::parse_str(&v).ok());
    let text = |key: &str| get(key).filter(|v| !v.trim().is_empty());
    let date = |key: &str, end_of_day: bool| parse_filter_date(&get(key)?, end_of_day, zone);
    crate::model::DeploymentFilter {
        application_id: id("applicationId"),
        environment_id: id("environmentId"),
        version_id: id("versionId"),
        date_from: date("dateFrom", false),
        date_to: date("dateTo", true),
        deployed_by: text("deployedBy"),
        q: text("q"),
        include_deleted: get("includeDeleted").is_some_and(|v| v == "true"),
        violations: get("violations").is_some_and(|v| v == "true"),
        team: text("team"),
        team_ids: None,
    }
}

/// A filter date: the first (or, for `end_of_day`, the last) microsecond of a day in `zone`, or
/// an exact RFC 3339 instant.
pub(crate) fn parse_filter_date(raw: &str, end_of_day: bool, zone: &Zone) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    // Not the calendar module's day reader: sharing it with the dashboard's time travel made
    // the WASM splitter move shared code into the module every page loads.
    let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    if end_of_day {
        let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
        Some(zone.to_utc(next) - chrono::Duration::microseconds(1))
    } else {
        Some(zone.to_utc(day.and_hms_opt(0, 0, 0)?))
    }
}

/// The From/To inputs of a history filter form, in the house date format, with a warning when
/// the URL holds a date that cannot be read (it is then ignored, not silently half-applied).
#[component]
pub fn DateRangeInputs() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let zone = use_zone();
    let raw = move |key: &str| query.with(|q| q.get(key)).unwrap_or_default();
    let unreadable = move || {
        [("dateFrom", "From"), ("dateTo", "To")]
            .into_iter()
            .filter(|(key, _)| {
                let value = raw(key);
                !value.trim().is_empty()
                    && zone.with(|z| parse_filter_date(&value, false, z)).is_none()
            })
            .map(|(_, label)| label)
            .collect::<Vec<_>>()
    };
    view! {
        <label>"From" <input type="text" name="dateFrom" placeholder="YYYY-MM-DD" inputmode="numeric"
            autocomplete="off" size="10" value=move || raw("dateFrom")/></label>
        <label>"To" <input type="text" name="dateTo" placeholder="YYYY-MM-DD" inputmode="numeric"
            autocomplete="off" size="10" value=move || raw("dateTo")/></label>
        {move || {
            let bad = unreadable();
            (!bad.is_empty()).then(|| view! {
                <p class="field-error" role="alert" id="date-filter-error">
                    {format!("{} is not a date: write it as YYYY-MM-DD (e.g. 2026-10-17). It is ignored until then.", bad.join(" and "))}
                </p>
            })
        }}
    }
}

#[cfg(test)]
mod filter_tests {
    use super::filter_from_query;
    use crate::components::zone::Zone;

    #[test]
    fn query_values_become_a_filter() {
        let query = |key: &str| match key {
            "environmentId" => Some("0190b7a0-0000-7000-8000-000000000000".to_string()),
            "dateFrom" => Some("2026-11-01".to_string()),
            "dateTo" => Some("2026-11-02".to_string()),
            "q" => Some("  ".to_string()),
            "applicationId" => Some("not-a-uuid".to_string()),
            _ => None,
        };
        let filter = filter_from_query(query, &Zone::default());
        assert!(filter.environment_id.is_some());
        assert!(filter.application_id.is_none());
        assert_eq!(
            filter.date_from.unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(filter
            .date_to
            .unwrap()
            .to_rfc3339()
            .starts_with("2026-11-02T23:59:59.999999"));
        assert_eq!(filter.q, None);
    }
}

#[cfg(all(test, feature = "ssr"))]
mod zone_filter_tests {
    use super::filter_from_query;
    use crate::components::zone::Zone;

    #[test]
    fn whole_days_are_cut_at_the_users_midnight() {
        let kolkata = Zone::named("Asia/Kolkata").unwrap();
        let query = |key: &str| match key {
            "dateFrom" | "dateTo" => Some("2026-11-01".to_string()),
            _ => None,
        };
        let filter = filter_from_query(query, &kolkata);
        assert_eq!(
            filter.date_from.unwrap().to_rfc3339(),
            "2026-10-31T18:30:00+00:00"
        );
        assert_eq!(
            filter.date_to.unwrap().to_rfc3339(),
            "2026-11-01T18:29:59.999999+00:00"
        );
    }
}

/// The last `limit` deployments matching `filter`, newest first, as a short list; `refresh`
/// (a live-event tick, an action's version) reloads it.
#[component]
pub fn RecentDeployments(
    #[prop(into)] filter: Signal<crate::model::DeploymentFilter>,
    #[prop(into)] refresh: Signal<u64>,
    limit: u32,
    #[prop(default = "Nothing recorded yet.")] empty: &'static str,
) -> impl IntoView {
    use crate::api::deployments::list_deployments;
    let recent = Resource::new(
        move || (filter.get(), refresh.get()),
        move |(filter, _)| list_deployments(filter, None, Some(i64::from(limit))),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let items = recent.await.map(|p| p.items).unwrap_or_default();
                view! { <RecentList items empty/> }
            })}
        </Transition>
    }
}

/// Deployments, newest first, as a short list (or `empty` when there are none).
#[component]
pub fn RecentList(items: Vec<Deployment>, empty: &'static str) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
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
                    {d.is_rollback.then(|| view! { " "<span class="badge rollback">"↩ rollback"</span> })}
                    {(!d.policy_violations.is_empty()).then(|| view! { " "<span class="badge policy">"⚠ policy"</span> })}
                    <br/><span class="muted"><Ago at=d.deployment_date/>{d.deployed_by.map(|b| format!(" · {b}"))}
                        {d.notes.map(|n| format!(" · {n}"))}</span>
                </li>
            }).collect_view()}
        </ol>
    }.into_any()
}

/// What runs where for one application: a row per environment it is deployed to.
#[component]
pub fn CurrentStateTable(
    application_id: Uuid,
    #[prop(into)] refresh: Signal<u64>,
) -> impl IntoView {
    use crate::api::deployments::current_state;
    // In the first HTML (blocking): streamed in after the first paint, the table pushed what
    // follows it down the page on a large history.
    let current = Resource::new_blocking(
        move || refresh.get(),
        move |_| current_state(Some(application_id), None, None),
    );
    view! {
        // Hides what follows until it arrives (see `.holds-below` in the style).
        <Transition fallback=|| view! { <span class="holds-below"></span> }>
            {move || Suspend::new(async move {
                let states = current.await.unwrap_or_default();
                if states.is_empty() {
                    return view! { <p class="empty">"Not deployed anywhere yet."</p> }.into_any();
                }
                view! {
                    <table class="data" id="current-state">
                        <thead><tr><th>"Environment"</th><th>"Version"</th><th>"Since"</th><th>"Deployed by"</th></tr></thead>
                        <tbody>
                            {states.into_iter().map(|s| view! {
                                <tr>
                                    <td>{s.environment.name}</td>
                                    <td><a class="mono" href=format!("/deployments/{}", s.deployment_id)>{s.version.version_identifier}</a>
                                        {s.is_rollback.then(|| view! { " "<span class="badge rollback">"↩ rollback"</span> })}</td>
                                    <td><Ago at=s.deployment_date/></td>
                                    <td>{s.deployed_by.unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </Transition>
    }
}
