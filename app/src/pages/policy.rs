//! `/policy`: the deploy policy every pipeline asks (`GET /api/deploy-check`). Freezes on a
//! calendar of the next eight weeks in the viewer's time zone (each freeze's own zone named),
//! adding and ending freezes (admins), open locks (editors take and release them), and each
//! environment's promotion rule.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use uuid::Uuid;

use crate::api::catalog::{list_applications, list_environments};
use crate::api::policy::{
    load_policy_page, CreateFreeze, CreateLock, DeleteFreeze, EndFreeze, ReleaseLock,
};
use crate::components::calendar::day_text;
use crate::components::form_feedback::{last_error, FieldMessage, FormMessage};
use crate::components::live::use_deployment_events;
use crate::components::loaded::IdOptions;
use crate::components::zone::{use_zone, Zone};
use crate::model::{Environment, Freeze, FreezeOccurrence, PolicyOverview, NAME_MAX, REASON_MAX};

/// Weeks the calendar shows.
const WEEKS: i64 = 8;
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[component]
pub fn PolicyPage() -> impl IntoView {
    let create = ServerAction::<CreateFreeze>::new();
    let end = ServerAction::<EndFreeze>::new();
    let delete = ServerAction::<DeleteFreeze>::new();
    let lock = ServerAction::<CreateLock>::new();
    let release = ServerAction::<ReleaseLock>::new();
    let tick = use_deployment_events();
    let overview = Resource::new(
        move || {
            (
                create.version().get(),
                end.version().get(),
                delete.version().get(),
                lock.version().get(),
                release.version().get(),
                tick.get(),
            )
        },
        |_| load_policy_page(),
    );
    let environments = Resource::new(|| (), |_| list_environments(false));
    let applications = Resource::new(|| (), |_| list_applications(false));
    let zone = use_zone();
    let freeze_error = last_error(create.value());
    let lock_error = last_error(lock.value());
    let end_error = last_error(end.value());
    let release_error = last_error(release.value());

    view! {
        <Title text="Deploy policy"/>
        <section class="page policy">
            <h1>"Deploy policy"</h1>
            <p class="lead">
                "Freezes, locks and promotion rules that every pipeline can ask about before deploying: "
                <code>"deploytrack check --app … --version … --env …"</code>" or "<code>"GET /api/deploy-check"</code>
                ". Recording is never refused; a deployment made while blocked is kept with what blocked it."
            </p>
            <FormMessage error=end_error/>
            <FormMessage error=release_error/>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (overview, environments) = (overview.await, environments.await.unwrap_or_default());
                    match overview {
                        Ok(overview) => view! {
                            <FreezeCalendar overview=overview.clone() zone/>
                            <FreezeList overview=overview.clone() environments=environments.clone() zone end delete/>
                            <LockList overview=overview.clone() environments=environments.clone() release/>
                            <PromotionRules overview environments/>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">"The policy could not be loaded: "{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <div class="policy-forms">
                <ActionForm action=create attr:class="card form" attr:id="create-freeze">
                    <h2>"New freeze"</h2>
                    <FormMessage error=freeze_error/>
                    <label>"Name" <input name="name" required maxlength=NAME_MAX placeholder="Christmas freeze"/></label>
                    <FieldMessage error=freeze_error field="name"/>
                    <label>"Reason" <input name="reason" maxlength=REASON_MAX placeholder="optional"/></label>
                    <FieldMessage error=freeze_error field="reason"/>
                    <label>"Environment"
                        <select name="environment_id">
                            <option value="">"Every production environment"</option>
                            <IdOptions resource=environments selected=Signal::derive(String::new)/>
                        </select>
                    </label>
                    <FieldMessage error=freeze_error field="environmentIds"/>
                    <fieldset>
                        <legend>"Repeats (RFC 5545)"</legend>
                        <label>"Rule" <input name="rrule" maxlength="500" placeholder="FREQ=WEEKLY;BYDAY=FR;BYHOUR=16"/></label>
                        <FieldMessage error=freeze_error field="rrule"/>
                        <label>"Lasts (ISO 8601)" <input name="duration" maxlength="40" placeholder="P2DT16H"/></label>
                        <FieldMessage error=freeze_error field="duration"/>
                        <label>"Time zone" <input name="time_zone" maxlength="64" prop:value=move || zone.with(|z| z.name().to_string())/></label>
                        <FieldMessage error=freeze_error field="timeZone"/>
                    </fieldset>
                    <fieldset>
                        <legend>"…or once (UTC, RFC 3339)"</legend>
                        <label>"Starts" <input name="starts_at" placeholder="2026-12-21T00:00:00Z"/></label>
                        <FieldMessage error=freeze_error field="startsAt"/>
                        <label>"Ends" <input name="ends_at" placeholder="2027-01-04T08:00:00Z"/></label>
                        <FieldMessage error=freeze_error field="endsAt"/>
                    </fieldset>
                    <button type="submit" disabled=move || create.pending().get()>"Add freeze"</button>
                </ActionForm>
                <ActionForm action=lock attr:class="card form" attr:id="create-lock">
                    <h2>"Lock an environment"</h2>
                    <FormMessage error=lock_error/>
                    <label>"Environment"
                        <select name="environment_id" required>
                            <option value="">"Choose an environment…"</option>
                            <IdOptions resource=environments selected=Signal::derive(String::new)/>
                        </select>
                    </label>
                    <FieldMessage error=lock_error field="environmentId"/>
                    <label>"Only this application"
                        <select name="application_id">
                            <option value="">"Every application"</option>
                            <IdOptions resource=applications selected=Signal::derive(String::new)/>
                        </select>
                    </label>
                    <label>"Reason" <input name="reason" required maxlength=REASON_MAX placeholder="Reserved for the load test"/></label>
                    <FieldMessage error=lock_error field="reason"/>
                    <button type="submit" disabled=move || lock.pending().get()>"Lock"</button>
                </ActionForm>
            </div>
        </section>
    }
}

/// The local day `at` falls on, in `zone`.
fn local_day(zone: &Zone, at: DateTime<Utc>) -> NaiveDate {
    zone.local(at).date()
}

/// The instant a local day starts, in `zone`.
fn day_start(zone: &Zone, day: NaiveDate) -> DateTime<Utc> {
    zone.to_utc(day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// `at` in the viewer's zone and, when it differs, in the freeze's own: "2026-12-18 16:00
/// (Europe/Berlin 2026-12-18 16:00)".
fn both_zones(at: DateTime<Utc>, viewer: &Zone, own: &str) -> String {
    match Zone::named(own).filter(|own| own.name() != viewer.name()) {
        Some(own) => format!("{} ({} {})", viewer.format(at), own.name(), own.format(at)),
        None => viewer.format(at),
    }
}

fn occurrence_text(o: &FreezeOccurrence, viewer: &Zone, own: &str) -> String {
    let ended = o
        .ended_at
        .map(|at| format!(", ended early {}", viewer.format(at)))
        .unwrap_or_default();
    format!(
        "{} → {}{ended}",
        both_zones(o.starts_at, viewer, own),
        both_zones(o.ends_at, viewer, own)
    )
}

/// Eight weeks from this week's Monday, in the viewer's zone: each day lists the freezes in
/// force at some time that day.
#[component]
fn FreezeCalendar(overview: PolicyOverview, zone: Signal<Zone>) -> impl IntoView {
    let weeks = move || {
        zone.with(|zone| {
            let today = local_day(zone, overview.now);
            let monday = today - Duration::days(today.weekday().num_days_from_monday().into());
            (0..WEEKS)
                .map(|week| {
                    let days = (0..7)
                        .map(|d| {
                            let day = monday + Duration::days(week * 7 + d);
                            let (start, end) = (day_start(zone, day), day_start(zone, day + Duration::days(1)));
                            let frozen: Vec<(String, String)> = overview
                                .freezes
                                .iter()
                                .flat_map(|f| {
                                    f.occurrences
                                        .iter()
                                        .filter(move |o| o.starts_at < end && o.until() > start)
                                        .map(move |o| (f.name.clone(), occurrence_text(o, zone, &f.time_zone)))
                                })
                                .collect();
                            (day, day == today, frozen)
                        })
                        .collect::<Vec<_>>();
                    view! {
                        <tr>
                            {days.into_iter().map(|(day, is_today, frozen)| {
                                let class = match (frozen.is_empty(), is_today) {
                                    (true, true) => "day today",
                                    (true, false) => "day",
                                    (false, true) => "day frozen today",
                                    (false, false) => "day frozen",
                                };
                                view! {
                                    <td class=class data-day=day_text(day)>
                                        <span class="date">{day.day()}{(day.day() == 1 || (week == 0 && day == monday)).then(|| format!(" {}", crate::components::calendar::short_day_text(day).split(' ').next().unwrap_or_default()))}</span>
                                        {frozen.into_iter().map(|(name, when)| view! {
                                            <span class="freeze-chip" title=when>"❄ "{name}</span>
                                        }).collect_view()}
                                    </td>
                                }
                            }).collect_view()}
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <div class="card">
            <h2>"Freezes, next eight weeks"</h2>
            <p class="muted small">{move || zone.with(|z| format!("Days in your time zone ({}). ❄ marks a day with a freeze in force; hover for its times.", z.name()))}</p>
            <div class="table-scroll">
                <table class="calendar" id="freeze-calendar">
                    <thead><tr>{WEEKDAYS.map(|d| view! { <th scope="col">{d}</th> }).collect_view()}</tr></thead>
                    <tbody>{weeks}</tbody>
                </table>
            </div>
        </div>
    }
}

fn environment_names(ids: &Option<Vec<Uuid>>, environments: &[Environment]) -> String {
    match ids {
        None => "every production environment".into(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                environments
                    .iter()
                    .find(|e| e.id == *id)
                    .map_or_else(|| id.to_string(), |e| e.name.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[component]
fn FreezeList(
    overview: PolicyOverview,
    environments: Vec<Environment>,
    zone: Signal<Zone>,
    end: ServerAction<EndFreeze>,
    delete: ServerAction<DeleteFreeze>,
) -> impl IntoView {
    if overview.freezes.is_empty() {
        return view! { <p class="empty" id="no-freezes">"No freezes in the next eight weeks."</p> }.into_any();
    }
    let now = overview.now;
    view! {
        <div class="table-scroll">
        <table class="data" id="freezes">
            <thead><tr><th>"Freeze"</th><th>"Schedule"</th><th>"Scope"</th><th>"Next or in force"</th><th></th></tr></thead>
            <tbody>
                {overview.freezes.into_iter().map(|f: Freeze| {
                    let schedule = match (&f.rrule, &f.duration) {
                        (Some(rule), Some(duration)) => format!("{rule}, {duration} each ({})", f.time_zone),
                        _ => "once".to_string(),
                    };
                    let active = f.occurrences.iter().find(|o| o.is_active_at(now)).cloned();
                    let next = f.occurrences.iter().find(|o| o.starts_at > now).cloned();
                    let shown = active.clone().or(next);
                    let own = f.time_zone.clone();
                    let id = f.id;
                    view! {
                        <tr data-freeze=id.to_string()>
                            <td><strong>{f.name.clone()}</strong>{f.reason.clone().map(|r| view! { <br/><span class="muted">{r}</span> })}</td>
                            <td><code>{schedule}</code></td>
                            <td>{environment_names(&f.environment_ids, &environments)}</td>
                            <td>
                                {active.is_some().then(|| view! { <span class="badge frozen">"in force "</span> })}
                                {move || shown.as_ref().map(|o| zone.with(|z| occurrence_text(o, z, &own)))}
                            </td>
                            <td class="actions">
                                {active.is_some().then(|| view! {
                                    <ActionForm action=end attr:class="inline">
                                        <input type="hidden" name="id" value=id.to_string()/>
                                        <input name="reason" required maxlength=REASON_MAX placeholder="Why end it now" aria-label="Reason to end the freeze"/>
                                        <button type="submit" class="secondary">"End now"</button>
                                    </ActionForm>
                                })}
                                <ActionForm action=delete attr:class="inline">
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <button type="submit" class="secondary">"Delete"</button>
                                </ActionForm>
                            </td>
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
fn LockList(
    overview: PolicyOverview,
    environments: Vec<Environment>,
    release: ServerAction<ReleaseLock>,
) -> impl IntoView {
    view! {
        <h2>"Open locks"</h2>
        {if overview.locks.is_empty() {
            view! { <p class="empty" id="no-locks">"No environment is locked."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                <table class="data" id="locks">
                    <thead><tr><th>"Environment"</th><th>"Reason"</th><th>"By"</th><th>"Since"</th><th></th></tr></thead>
                    <tbody>
                        {overview.locks.into_iter().map(|l| view! {
                            <tr>
                                <td><span aria-hidden="true">"🔒 "</span>{environment_names(&Some(vec![l.environment_id]), &environments)}
                                    {l.application_id.map(|_| " (one application)")}</td>
                                <td>{l.reason.clone()}</td>
                                <td>{l.created_by_name.clone()}</td>
                                <td><crate::components::timestamp::Timestamp at=l.created_at/></td>
                                <td>
                                    <ActionForm action=release attr:class="inline">
                                        <input type="hidden" name="id" value=l.id.to_string()/>
                                        <button type="submit" class="secondary">"Release"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn PromotionRules(overview: PolicyOverview, environments: Vec<Environment>) -> impl IntoView {
    view! {
        <h2>"Promotion rules"</h2>
        {if overview.rules.is_empty() {
            view! {
                <p class="empty" id="no-rules">
                    "No environment requires a version to run elsewhere first. Admins set one with "
                    <code>"PUT /api/environments/{id}/promotion-rule"</code>"."
                </p>
            }.into_any()
        } else {
            view! {
                <ul class="rules" id="promotion-rules">
                    {overview.rules.into_iter().map(|rule| {
                        let requires = rule.requires.iter().map(|r| format!(
                            "{} for {}",
                            environment_names(&Some(vec![r.environment_id]), &environments),
                            r.min_soak
                        )).collect::<Vec<_>>().join(" and ");
                        view! {
                            <li><strong>{environment_names(&Some(vec![rule.environment_id]), &environments)}</strong>
                                " takes a version only after it ran in "{requires}"."</li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}
