//! `/admin/audit`: the audit trail for admins — who changed what, when, from where, with which
//! token — filtered by the URL's query (shareable), paged by "Older entries", exportable as CSV.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use serde_json::Value;
use uuid::Uuid;

use crate::api::access::list_users;
use crate::api::audit::audit_trail;
use crate::components::deployment_list::{parse_filter_date, DateRangeInputs};
use crate::components::loaded::Loaded;
use crate::components::query::encode_query_value as encode;
use crate::components::timestamp::Timestamp;
use crate::components::zone::use_zone;
use crate::model::{AuditEntry, AuditPage, AUDIT_ACTIONS};

/// The query keys the page passes on (to the next page and the CSV export).
const FILTER_KEYS: [&str; 5] = ["actorId", "action", "targetId", "dateFrom", "dateTo"];

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let zone = use_zone();
    let raw = move |key: &str| query.with(|q| q.get(key)).unwrap_or_default();
    let text = move |key: &str| Some(raw(key)).filter(|v| !v.trim().is_empty());
    let request = Memo::new(move |_| {
        let date = |key: &str, end_of_day: bool| {
            zone.with(|z| parse_filter_date(&raw(key), end_of_day, z))
        };
        (
            Uuid::parse_str(&raw("actorId")).ok(),
            text("action"),
            text("targetId"),
            date("dateFrom", false),
            date("dateTo", true),
            text("cursor"),
        )
    });
    let page = Resource::new(
        move || request.get(),
        |(actor, action, target, from, to, cursor)| {
            audit_trail(actor, action, target, from, to, cursor)
        },
    );
    let users = Resource::new(|| (), |_| list_users());
    // The filters as a query string, dates as the exact instants the page asked for.
    let filters = move || {
        let (_, _, _, from, to, _) = request.get();
        let instant = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        let mut pairs: Vec<(&str, String)> = FILTER_KEYS[..3]
            .iter()
            .filter_map(|key| text(key).map(|value| (*key, value)))
            .collect();
        pairs.extend(from.map(|t| ("dateFrom", instant(t))));
        pairs.extend(to.map(|t| ("dateTo", instant(t))));
        pairs
            .into_iter()
            .map(|(key, value)| format!("{key}={}", encode(&value)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let csv_link = move || format!("/api/audit.csv?{}", filters());

    view! {
        <Title text="Audit trail"/>
        <section class="page">
            <div class="page-head">
                <h1>"Audit trail"</h1>
                <a class="button secondary" id="audit-csv" href=csv_link download="audit.csv">"Export CSV"</a>
            </div>
            <p class="hint">"Every change and sign-in, newest first. Entries are written with the change itself and can never be edited or removed."</p>
            <Form method="GET" action="" attr:class="filters card" attr:id="audit-filters">
                <label>"Who"
                    <select name="actorId">
                        <option value="">"Anyone"</option>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                let chosen = raw("actorId");
                                users.await.unwrap_or_default().into_iter().map(|user| {
                                    let id = user.id.to_string();
                                    let selected = id == chosen;
                                    view! { <option value=id selected=selected>{user.username}</option> }
                                }).collect_view()
                            })}
                        </Suspense>
                    </select>
                </label>
                <label>"Action"
                    <select name="action">
                        <option value="">"Any"</option>
                        {AUDIT_ACTIONS.into_iter().map(|action| view! {
                            <option value=action selected=move || raw("action") == action>{action}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Target id" <input name="targetId" value=move || raw("targetId") size="14" maxlength="100" autocomplete="off"/></label>
                <DateRangeInputs/>
                <button type="submit" class="secondary">"Filter"</button>
                <a href="/admin/audit">"Clear"</a>
            </Form>
            <Loaded resource=page render=move |page| view! {
                <AuditTable page=page.clone()/>
                <nav class="pager" aria-label="Audit trail pages">
                    {text("cursor").map(|_| {
                        let newest = format!("/admin/audit?{}", filters());
                        view! { <a id="audit-newest" href=newest>"← Newest"</a> }
                    })}
                    {page.next_cursor.map(|cursor| {
                        let older = format!("/admin/audit?{}&cursor={}", filters(), encode(&cursor));
                        view! { <a id="audit-older" href=older>"Older entries →"</a> }
                    })}
                </nav>
            }/>
        </section>
    }
}

#[component]
fn AuditTable(page: AuditPage) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="empty" id="audit-none">"No entries match these filters."</p> }
            .into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="data" id="audit">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Changes"</th></tr></thead>
                <tbody>
                    {page.items.into_iter().map(|entry| view! { <AuditRow entry/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let who = entry
        .actor
        .as_ref()
        .map_or_else(|| "—".to_string(), |actor| actor.username.clone());
    let via = [
        entry
            .token_name
            .as_ref()
            .map(|name| format!("token {name}")),
        entry.client_address.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    view! {
        <tr data-action=entry.action.clone()>
            <td><Timestamp at=entry.at/></td>
            <td>{who}<br/><span class="muted">{via}</span></td>
            <td class="mono">{entry.action.clone()}</td>
            <td><AuditTarget kind=entry.target_type.clone() id=entry.target_id.clone()/></td>
            <td>{entry.changes.as_ref().map(changes_view)}</td>
        </tr>
    }
}

/// The target, linked to its page where it has one.
#[component]
fn AuditTarget(kind: String, id: Option<String>) -> impl IntoView {
    let Some(id) = id else {
        return view! { <span>{kind}</span> }.into_any();
    };
    let href = match kind.as_str() {
        "application" => Some(format!("/applications/{id}")),
        "environment" => Some(format!("/environments/{id}")),
        "deployment" => Some(format!("/deployments/{id}")),
        "user" => Some("/admin/users".to_string()),
        "hook" => Some(format!("/settings/hooks?hook={id}")),
        _ => None,
    };
    let short = id.chars().take(8).collect::<String>();
    let label = format!("{kind} {short}…");
    match href {
        Some(href) => view! { <a href=href title=id>{label}</a> }.into_any(),
        None => view! { <span title=id>{label}</span> }.into_any(),
    }
}

/// `field: before → after`, one per line.
fn changes_view(changes: &Value) -> impl IntoView {
    let shown = |value: &Value| match value {
        Value::Null => "—".to_string(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let lines: Vec<String> = changes
        .as_object()
        .into_iter()
        .flatten()
        .map(|(field, change)| {
            let (before, after) = (&change["before"], &change["after"]);
            if before.is_null() {
                format!("{field}: {}", shown(after))
            } else {
                format!("{field}: {} → {}", shown(before), shown(after))
            }
        })
        .collect();
    view! {
        <ul class="changes">
            {lines.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
        </ul>
    }
}
