//! `/insights`: delivery metrics from the history alone — how often a team ships to production,
//! how often that is undone and how long undoing takes, how long a version waits for
//! production — for one application or all, with each definition stated on the page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::{list_applications, list_environments, list_teams};
use crate::api::deployments::delivery_insights;
use crate::components::chart::{WeeklyChart, CHART_VIEW_BOX};
use crate::components::deployment_list::{parse_filter_date, DateRangeInputs};
use crate::components::loaded::{IdOptions, Loaded, TeamFilter};
use crate::components::timestamp::Timestamp;
use crate::components::zone::use_zone;
use crate::model::{Durations, Insights, LeadTimeBasis};

#[component]
pub fn InsightsPage() -> impl IntoView {
    let query = use_query_map();
    let zone = use_zone();
    let raw = move |key: &str| query.with(|q| q.get(key)).unwrap_or_default();
    let request = Memo::new(move |_| {
        let date = |key: &str, end_of_day: bool| {
            zone.with(|z| parse_filter_date(&raw(key), end_of_day, z))
        };
        (
            Uuid::parse_str(&raw("applicationId")).ok(),
            Uuid::parse_str(&raw("environmentId")).ok(),
            date("dateFrom", false),
            // The range is half-open: "to 2026-11-30" includes that whole day.
            date("dateTo", true).map(|t| t + chrono::Duration::microseconds(1)),
            Some(raw("team")).filter(|t| !t.trim().is_empty()),
        )
    });
    let insights = Resource::new(
        move || request.get(),
        |(application, environment, from, to, team)| {
            delivery_insights(application, environment, from, to, team)
        },
    );
    let teams = Resource::new(|| (), |_| list_teams());
    let applications = Resource::new(|| (), |_| list_applications(false));
    let environments = Resource::new(|| (), |_| list_environments(false));

    view! {
        <Title text="Insights"/>
        <section class="page">
            <h1>"Delivery insights"</h1>
            <Form method="GET" action="" attr:class="filters card" attr:id="insights-filters">
                <label>"Application"
                    <select name="applicationId">
                        <option value="">"All"</option>
                        <IdOptions resource=applications selected=Signal::derive(move || raw("applicationId"))/>
                    </select>
                </label>
                <label>"Environment"
                    <select name="environmentId">
                        <option value="">"Production"</option>
                        <IdOptions resource=environments selected=Signal::derive(move || raw("environmentId"))/>
                    </select>
                </label>
                <TeamFilter teams selected=Signal::derive(move || raw("team"))/>
                <DateRangeInputs/>
                <button type="submit" class="secondary">"Show"</button>
                <a href="/insights">"Last 90 days"</a>
            </Form>
            <Loaded resource=insights render=move |insights| view! { <Metrics insights/> }
                placeholder=|| view! { <MetricsPlaceholder/> }/>
            <Definitions/>
        </section>
    }
}

#[component]
fn Metrics(insights: Insights) -> impl IntoView {
    let names = insights
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let scope = match &insights.application {
        Some(application) => format!("{} in {names}", application.name),
        None => format!("All applications in {names}"),
    };
    let frequency = insights.deployment_frequency;
    let failures = insights.change_failure_rate;
    let failed = failures.rolled_back + failures.retracted;
    let rate = failures
        .rate
        .map_or_else(|| "—".to_string(), |rate| format!("{:.0} %", rate * 100.0));
    view! {
        <p class="hint" id="insights-scope">
            {scope}", "<Timestamp at=insights.from/>" to "<Timestamp at=insights.to/>
            {insights.stand_in.then_some(" (no environment is marked production: showing the pipeline's last)")}
        </p>
        <div class="insights">
            <div class="card metric" id="metric-frequency">
                <h2>"Deployment frequency"</h2>
                <p><span class="figure">{format!("{}", frequency.per_week)}</span>" per week"
                    <span class=format!("badge band-{}", frequency.band)>{frequency.band.clone()}</span></p>
                <p class="hint">{format!("{} deployments", frequency.deployments)}</p>
                <WeeklyChart weeks=frequency.weeks/>
            </div>
            <div class="card metric" id="metric-failure-rate">
                <h2>"Change failure rate"</h2>
                <p><span class="figure">{rate}</span></p>
                <p class="hint">{format!(
                    "{failed} of {} deployments: {} rolled back, {} retracted",
                    failures.deployments, failures.rolled_back, failures.retracted
                )}</p>
                <WeeklyChart weeks=failures.weeks caption="Failed deployments per week"/>
            </div>
            <DurationMetric id="metric-restore" title="Time to restore" durations=insights.time_to_restore unit="failures"/>
            <DurationMetric id="metric-lead-time" title="Lead time to production" durations=insights.lead_time
                unit=lead_unit(&insights.lead_time_basis) basis=lead_basis_text(&insights.lead_time_basis)/>
        </div>
    }
}

/// The four cards' frame while the figures load: the same titles, lines and chart boxes, so the
/// page does not move when they arrive (Lighthouse measured a layout shift of 0.46 with a one-line
/// "Loading…" in their place).
#[component]
fn MetricsPlaceholder() -> impl IntoView {
    let card = |id: &'static str, title: &'static str, caption: Option<&'static str>| {
        view! {
            <div class="card metric" id=id aria-busy="true">
                <h2>{title}</h2>
                <p><span class="figure">"…"</span></p>
                <p class="hint">"Loading…"</p>
                {caption.map(|caption| view! {
                    <figure class="chart">
                        <figcaption>{caption}</figcaption>
                        <svg class="chart" viewBox=CHART_VIEW_BOX aria-hidden="true"></svg>
                    </figure>
                })}
            </div>
        }
    };
    view! {
        <p class="hint" id="insights-scope">"\u{a0}"</p>
        <div class="insights">
            {card("metric-frequency", "Deployment frequency", Some("Deployments per week"))}
            {card("metric-failure-rate", "Change failure rate", Some("Failed deployments per week"))}
            {card("metric-restore", "Time to restore", None)}
            {card("metric-lead-time", "Lead time to production", None)}
        </div>
    }
}

#[component]
fn DurationMetric(
    id: &'static str,
    title: &'static str,
    durations: Durations,
    unit: &'static str,
    /// How the figure was measured, when it needs saying.
    #[prop(optional_no_strip)]
    basis: Option<String>,
) -> impl IntoView {
    let median = durations
        .median_seconds
        .map_or_else(|| "—".to_string(), readable_duration);
    let detail = match (durations.mean_seconds, durations.max_seconds) {
        (Some(mean), Some(max)) => format!(
            "median of {} {unit}; mean {}, longest {}",
            durations.count,
            readable_duration(mean),
            readable_duration(max)
        ),
        _ => format!("no {unit} to measure in this range"),
    };
    view! {
        <div class="card metric" id=id>
            <h2>{title}</h2>
            <p><span class="figure">{median}</span></p>
            <p class="hint">{detail}</p>
            {basis.map(|basis| view! { <p class="hint lead-basis">{basis}</p> })}
        </div>
    }
}

/// What the lead time's count counts: commits once any were sent, else versions.
fn lead_unit(basis: &LeadTimeBasis) -> &'static str {
    if basis.versions_from_commits > 0 {
        "changes"
    } else {
        "versions"
    }
}

/// Which definition the lead time used: from each commit (DORA), from releases, or both.
pub fn lead_basis_text(basis: &LeadTimeBasis) -> Option<String> {
    let versions = |n: i64| {
        if n == 1 {
            "1 version".to_string()
        } else {
            format!("{n} versions")
        }
    };
    match (basis.versions_from_commits, basis.versions_from_releases) {
        (0, 0) => None,
        (0, _) => Some("Measured from each version's release: no commits were sent.".into()),
        (c, 0) => Some(format!(
            "Measured from each commit's authoring (DORA): {} commits in {}.",
            basis.commits,
            versions(c)
        )),
        (c, r) => Some(format!(
            "From each commit's authoring (DORA) for {} ({} commits); from the release for {}, sent without commits.",
            versions(c),
            basis.commits,
            versions(r)
        )),
    }
}

/// "2 d 4 h", "6 h 30 min", "45 min", "20 s".
pub fn readable_duration(seconds: i64) -> String {
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// What each figure means, as the server computes it.
#[component]
fn Definitions() -> impl IntoView {
    view! {
        <details class="card definitions" id="insights-definitions" open>
            <summary>"How these are measured"</summary>
            <dl>
                <dt>"Deployment frequency"</dt>
                <dd>"Deployments to the environments shown (every production environment unless one is chosen) in the range, retracted ones left out, per week. Band: elite at least once a day, high at least once a week, medium at least once a month, low less often."</dd>
                <dt>"Change failure rate"</dt>
                <dd>"The share of those deployments (retracted ones included) that were later rolled back — replaced in the same environment by an older version — or retracted."</dd>
                <dt>"Time to restore"</dt>
                <dd>"For each failed deployment, the time until the deployment that replaced it in the same environment (the rollback, or the next deployment)."</dd>
                <dt>"Lead time to production"</dt>
                <dd>"For each version that first reached these environments in the range. When its commits were sent (deploytrack record --commits-from-git): from each commit's authoring to that first deployment here, each commit once — DORA's lead time for changes. Otherwise from its release date, or else its first deployment to any other environment. Versions with neither are left out."</dd>
            </dl>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::readable_duration;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(readable_duration(20), "20 s");
        assert_eq!(readable_duration(45 * 60), "45 min");
        assert_eq!(readable_duration(6 * 3_600), "6 h");
        assert_eq!(readable_duration(6 * 3_600 + 30 * 60), "6 h 30 min");
        assert_eq!(readable_duration(2 * 86_400), "2 d");
        assert_eq!(readable_duration(151_200), "1 d 18 h");
    }
}
