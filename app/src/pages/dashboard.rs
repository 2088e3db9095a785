//! The dashboard: what runs where (applications × environments in pipeline order), coloured by
//! age, live as deployments are recorded; beside it the last 10 deployments and quick stats.
//! `?at=<RFC 3339>` shows the matrix as it was at that instant.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::api::deployments::{dashboard_matrix, load_dashboard_side};
use crate::api::policy::policy_in_force;
use crate::components::age::Age;
use crate::components::chart::WeeklyChart;
use crate::components::deployment_list::RecentList;
use crate::components::live::use_deployment_events;
use crate::components::session::SessionUser;
use crate::components::timers::{use_now, Delayed};
use crate::components::timestamp::{relative, Timestamp};
use crate::components::zone::{use_zone, Zone};
use crate::model::{
    echoed, DriftMark, Lock, MatrixPage, MatrixView, PolicyBanner, Role, TeamRef, DASHBOARD_RECENT,
    SEARCH_MAX,
};

/// Freeze banners shown at most; more are summed up in one line.
const BANNERS_SHOWN: usize = 3;

/// How long the matrix filter waits for the next key before filtering.
const FILTER_DELAY_MS: u32 = 150;

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
    let unreadable_at = move || {
        query
            .get()
            .get("at")
            .filter(|raw| !raw.trim().is_empty() && DateTime::parse_from_rfc3339(raw).is_err())
            .map(|raw| echoed(&raw, 100))
    };
    // The filter and the page are in the URL (`?q=…&page=2`), so a filtered view can be shared.
    let filter = move || query.get().get("q").unwrap_or_default();
    let page_number = move || {
        query
            .get()
            .get("page")
            .and_then(|p| p.trim().parse::<u32>().ok())
            .filter(|&p| p >= 1)
            .unwrap_or(1)
    };
    // `?team=<name>` or `?team=mine`: one team's applications, or the reader's teams'.
    let team = move || {
        query
            .get()
            .get("team")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let scope = move || Scope {
        at: at(),
        filter: filter(),
        team: team(),
    };
    let tick = use_deployment_events();
    let session = expect_context::<SessionUser>();

    let matrix = Resource::new(
        move || (at(), filter(), page_number(), team(), tick.get()),
        |(at, q, page, team, _)| dashboard_matrix(at, q, page, team),
    );
    let side = Resource::new(move || tick.get(), |_| load_dashboard_side());
    // Freezes in force, locks and cells deployed through a blocker: today's only (not shown
    // while looking at the past).
    let policy = Resource::new(
        move || (at().is_none(), tick.get()),
        |(now, _)| async move {
            if now {
                policy_in_force().await.unwrap_or_default()
            } else {
                PolicyBanner::default()
            }
        },
    );
    let filter_typing = Delayed::new();
    let navigate = use_navigate();
    let show_filtered = move |q: String| {
        let url = Scope {
            filter: q,
            ..scope()
        }
        .url(1);
        navigate(
            &url,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let matrix_focus = MatrixFocus::default();

    view! {
        <Title text="Dashboard"/>
        <section class="page dashboard">
            <div class="page-head">
                <h1>"What runs where"</h1>
                <TimeTravel at=Signal::derive(at)/>
            </div>
            {move || unreadable_at().map(|raw| view! {
                <p class="form-error" role="alert" id="time-travel-error">
                    "The time in this link (“"{raw}"”) cannot be read — it should look like 2026-10-17T14:28:00Z. "
                    "Showing the current state."
                </p>
            })}
            {move || at().map(|t| view! {
                <p class="banner" id="time-travel-banner">
                    "Showing the state as it was at "<strong><Timestamp at=t with_zone=true/></strong>". "
                    <a href="/">"Back to now"</a>
                </p>
            })}
            // Each block still loading hides what follows it (see `.holds-below` in the style).
            <Transition fallback=|| view! { <span class="holds-below"></span> }>
                {move || Suspend::new(async move {
                    let policy = policy.await;
                    // A few banners at most; the rest are a link away.
                    let more = policy.freezes.len().saturating_sub(BANNERS_SHOWN);
                    let more = (more > 0).then(|| view! {
                        <p class="banner freeze" id="more-freezes">
                            {format!("…and {more} more freezes in force. ")}<a href="/policy">"See them all"</a>
                        </p>
                    });
                    let banners = policy.freezes.into_iter().take(BANNERS_SHOWN).map(|f| view! {
                        <p class="banner freeze" role="status" data-freeze=f.id.to_string()>
                            <span aria-hidden="true">"❄ "</span>
                            <strong>{f.environment_names.join(", ")}" frozen until "<Timestamp at=f.until with_zone=true/></strong>
                            " — "{f.name.clone()}{f.reason.clone().map(|r| format!(": {r}"))}" "
                            <a href="/policy">"Deploy policy"</a>
                        </p>
                    }).collect_view();
                    view! { {banners}{more} }
                })}
            </Transition>
            <div class="dashboard-grid">
                <div class="matrix-panel card">
                    <div class="matrix-tools">
                        <input type="search" placeholder="Filter applications…" aria-label="Filter applications"
                            id="matrix-filter" maxlength=SEARCH_MAX prop:value=filter on:input=move |ev| {
                                // Typing a name asks for the matrix once, after the last key.
                                let value = event_target_value(&ev);
                                let show = show_filtered.clone();
                                filter_typing.after(FILTER_DELAY_MS, move || show(value));
                            }/>
                        <Legend/>
                    </div>
                    <Transition fallback=|| view! { <p class="empty holds-below">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            let (matrix, user, policy) = (matrix.await, session.0.await, policy.await);
                            let can_record = matches!(user, Ok(Some(u)) if u.can(Role::Editor)) && at().is_none();
                            match matrix {
                                Ok(page) if page.total == 0 || page.view.environments.is_empty() => view! {
                                    <p class="empty">
                                        "Nothing to show yet: create "<a href="/applications">"applications"</a>" and "
                                        <a href="/environments">"environments"</a>", then record a deployment."
                                    </p>
                                }.into_any(),
                                Ok(page) if page.view.applications.is_empty() => view! {
                                    <TeamViews teams=page.teams.clone() scope=scope()/>
                                    <MatrixRange page scope=scope()/>
                                    <p class="empty" id="matrix-none">{match (filter().trim().is_empty(), team()) {
                                        (true, Some(t)) if t.eq_ignore_ascii_case("mine") => "You belong to no team with applications yet: an admin adds people to teams.".to_string(),
                                        (true, Some(_)) => "This team owns no application yet.".to_string(),
                                        _ => format!("No application’s name contains “{}”.", echoed(filter().trim(), SEARCH_MAX)),
                                    }}</p>
                                }.into_any(),
                                Ok(page) => view! {
                                    <TeamViews teams=page.teams.clone() scope=scope()/>
                                    {(page.drift_count > 0).then(|| view! {
                                        <p class="banner drift" id="drift-count" role="status">
                                            <span aria-hidden="true">"⇣ "</span>
                                            {match page.drift_count { 1 => "1 application is".to_string(), n => format!("{n} applications are") }}
                                            " further behind than their environment’s drift policy allows (marked ⇣)."
                                        </p>
                                    })}
                                    <MatrixRange page=page.clone() scope=scope()/>
                                    <Matrix matrix=page.view drift=page.drift can_record focus=matrix_focus policy/>
                                }.into_any(),
                                Err(e) => view! { <p class="form-error" role="alert">"The matrix could not be loaded: "{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
                <aside class="side">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            side.await.ok().map(|side| {
                                let s = side.figures;
                                view! {
                                    <div class="stats card" id="stats">
                                        <div><span class="figure">{s.applications}</span>" applications"</div>
                                        <div><span class="figure">{s.environments}</span>" environments"</div>
                                        <div><span class="figure" id="deployments-this-week">{s.deployments_this_week}</span>" deployments this week"</div>
                                        <WeeklyChart weeks=s.per_week/>
                                    </div>
                                    <div class="card">
                                        <h2>{format!("Last {DASHBOARD_RECENT} deployments")}</h2>
                                        <RecentList items=side.recent empty="Nothing recorded yet."/>
                                    </div>
                                }
                            })
                        })}
                    </Transition>
                </aside>
            </div>
        </section>
    }
}

/// What the dashboard shows besides the page: the instant, the name filter and the team view.
#[derive(Clone, Debug, Default)]
struct Scope {
    at: Option<DateTime<Utc>>,
    filter: String,
    team: Option<String>,
}

impl Scope {
    /// The dashboard's address for this scope and page `page`.
    fn url(&self, page: u32) -> String {
        let encode = crate::components::query::encode_query_value;
        let mut params = vec![];
        if let Some(at) = self.at {
            params.push(format!(
                "at={}",
                encode(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            ));
        }
        if !self.filter.is_empty() {
            params.push(format!("q={}", encode(&self.filter)));
        }
        if let Some(team) = &self.team {
            params.push(format!("team={}", encode(team)));
        }
        if page > 1 {
            params.push(format!("page={page}"));
        }
        if params.is_empty() {
            "/".into()
        } else {
            format!("/?{}", params.join("&"))
        }
    }

    fn with_team(&self, team: Option<&str>) -> Scope {
        Scope {
            team: team.map(str::to_string),
            ..self.clone()
        }
    }
}

/// One click to a team's view: everything, my teams, or any team (a plain GET form, so it
/// works before the page is interactive).
#[component]
fn TeamViews(teams: Vec<TeamRef>, scope: Scope) -> impl IntoView {
    if teams.is_empty() {
        return None;
    }
    let current = scope.team.clone().unwrap_or_default();
    let is = |team: &str| current.eq_ignore_ascii_case(team);
    let all = scope.with_team(None).url(1);
    let mine = scope.with_team(Some("mine")).url(1);
    let options = teams
        .into_iter()
        .map(|team| {
            let selected = is(&team.name) || is(&team.id.to_string());
            let value = team.name.clone();
            view! { <option value=value selected=selected>{team.name}</option> }
        })
        .collect_view();
    let at = scope
        .at
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let filter = (!scope.filter.is_empty()).then(|| scope.filter.clone());
    Some(view! {
        <nav class="team-views" aria-label="Team views">
            <a href=all id="view-all" aria-current=(current.is_empty()).then_some("page")>"All applications"</a>
            <a href=mine id="view-my-teams" aria-current=is("mine").then_some("page")>"My teams"</a>
            <form method="get" action="/" class="team-pick">
                {at.map(|at| view! { <input type="hidden" name="at" value=at/> })}
                {filter.map(|q| view! { <input type="hidden" name="q" value=q/> })}
                <label for="team-select" class="sr-only">"Team"</label>
                <select id="team-select" name="team">
                    <option value="" selected=current.is_empty()>"Any team"</option>
                    {options}
                </select>
                <button type="submit" class="secondary">"Show"</button>
            </form>
        </nav>
    })
}

/// Which applications the page shows, of how many, with links to the pages before and after.
#[component]
fn MatrixRange(page: MatrixPage, scope: Scope) -> impl IntoView {
    let filter = scope.filter.clone();
    let rows = page.view.applications.len() as u32;
    let shown = if rows == 0 {
        String::new()
    } else {
        format!("{}–{} of ", page.first + 1, page.first + rows)
    };
    let of = match (filter.trim().is_empty(), scope.team.as_deref()) {
        (true, None) => format!("{} applications", page.total),
        (false, None) => format!(
            "{} matching “{}” ({} in all)",
            page.matching,
            echoed(filter.trim(), SEARCH_MAX),
            page.total
        ),
        (unnamed, Some(team)) => {
            let whose = if team.eq_ignore_ascii_case("mine") {
                "your teams".to_string()
            } else {
                echoed(team, SEARCH_MAX)
            };
            let matching = if !unnamed {
                format!(" matching “{}”", echoed(filter.trim(), SEARCH_MAX))
            } else {
                String::new()
            };
            format!(
                "{} applications of {whose}{matching} ({} in all)",
                page.matching, page.total
            )
        }
    };
    let number = page.first / page.page_rows.max(1) + 1;
    let previous = (page.first > 0).then(|| scope.url(number - 1));
    let next = (page.first + rows < page.matching).then(|| scope.url(number + 1));
    let paged = previous.is_some() || next.is_some();
    view! {
        <nav class="matrix-range" aria-label="Matrix pages">
            <span id="matrix-range">{shown}{of}</span>
            {paged.then(|| view! {
                {previous.map(|href| view! { <a href=href rel="prev" id="matrix-previous">"← Previous"</a> })}
                {next.map(|href| view! { <a href=href rel="next" id="matrix-next">"Next →"</a> })}
            })}
        </nav>
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
            <li><span class="badge policy">"⚠"</span>" deployed through a freeze, lock or promotion rule"</li>
            <li><span class="badge drift">"⇣"</span>" behind its drift policy"</li>
        </ul>
    }
}

#[component]
fn Matrix(
    matrix: MatrixView,
    drift: Vec<DriftMark>,
    can_record: bool,
    focus: MatrixFocus,
    policy: PolicyBanner,
) -> impl IntoView {
    let header = matrix
        .environments
        .iter()
        .map(|e| {
            let locks: Vec<&Lock> = policy.locks.iter().filter(|l| l.environment_id == e.id).collect();
            let lock = (!locks.is_empty()).then(|| {
                let reasons = locks
                    .iter()
                    .map(|l| format!("locked by {}: {}", l.created_by_name, l.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                let title = reasons.clone();
                view! {
                    <span class="badge lock" title=title>
                        <span aria-hidden="true">"🔒"</span><span class="sr-only">{reasons}</span>
                    </span>
                }
            });
            view! {
                <th scope="col">
                    <a href=format!("/environments/{}?tab=deployments", e.id) title=e.name.clone()>{e.name.clone()}</a>
                    {e.is_production.then(|| view! { <span class="badge prod">"prod"</span> })}
                    {lock}
                </th>
            }
        })
        .collect_view();
    let violating: std::collections::HashSet<uuid::Uuid> =
        policy.violating_deployments.into_iter().collect();
    let matrix = StoredValue::new(matrix);
    // The page's clock: the server's render time, also while hydrating (see `provide_clock`).
    let now = use_now().get_untracked();
    let zone = use_zone();
    let rows = move || {
        zone.with(|zone| {
            matrix.with_value(|m| {
                let marks = Marks {
                    violating: &violating,
                    drift: &drift,
                };
                matrix_rows_html(m, now, zone, can_record, &marks)
            })
        })
    };
    // A live update or the filter rebuilds the rows; a keyboard user keeps their place.
    Effect::new(move |_| {
        zone.track();
        request_animation_frame(move || focus.restore());
    });
    view! {
        <div class="matrix-scroll">
            <table class="matrix" id="matrix" on:keydown=move_focus_in_matrix
                on:focusin=move |ev| focus.remember(&ev) on:focusout=move |ev| focus.forget_if_left(&ev)
                aria-describedby="matrix-keys">
                <thead>
                    <tr>
                        <th class="corner" scope="col">"Application"</th>
                        {header}
                    </tr>
                </thead>
                <tbody inner_html=rows></tbody>
            </table>
        </div>
        <p class="muted small" id="matrix-keys">"Arrow keys move between cells; Enter opens a deployment."</p>
    }
}

/// Which matrix cell has the keyboard focus — (application, column) — so that it can be given
/// back when the rows are rebuilt (a live update replaces the whole matrix).
#[derive(Clone, Copy)]
struct MatrixFocus(StoredValue<Option<(String, u32)>>);

impl Default for MatrixFocus {
    fn default() -> Self {
        MatrixFocus(StoredValue::new(None))
    }
}

impl MatrixFocus {
    fn remember(&self, ev: &leptos::ev::FocusEvent) {
        use web_sys::wasm_bindgen::JsCast;
        let cell = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("td, th").ok().flatten())
            .and_then(|c| c.dyn_into::<web_sys::HtmlTableCellElement>().ok());
        let place = cell.and_then(|cell| {
            let row = cell.parent_element()?;
            Some((
                row.get_attribute("data-application")?,
                cell.cell_index() as u32,
            ))
        });
        self.0.set_value(place);
    }

    /// Focus moved to something else on the page: nothing to give back later.
    fn forget_if_left(&self, ev: &leptos::ev::FocusEvent) {
        use web_sys::wasm_bindgen::JsCast;
        let inside = ev
            .related_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .map(|e| e.closest("#matrix").ok().flatten().is_some());
        if inside == Some(false) {
            self.0.set_value(None);
        }
    }

    /// Focuses the remembered cell's link again, if focus was lost (it is on the page body).
    fn restore(&self) {
        use web_sys::wasm_bindgen::JsCast;
        let Some((application, column)) = self.0.get_value() else {
            return;
        };
        let document = document();
        let lost = document
            .active_element()
            .is_none_or(|e| e.tag_name().eq_ignore_ascii_case("body"));
        if !lost {
            return;
        }
        let Some(table) = document
            .get_element_by_id("matrix")
            .and_then(|t| t.dyn_into::<web_sys::HtmlTableElement>().ok())
        else {
            return;
        };
        let rows = table.rows();
        let link = (0..rows.length())
            .filter_map(|i| rows.item(i))
            .find(|row| row.get_attribute("data-application").as_deref() == Some(&application))
            .and_then(|row| row.dyn_into::<web_sys::HtmlTableRowElement>().ok())
            .and_then(|row| row.cells().item(column))
            .and_then(|cell| cell.query_selector("a").ok().flatten())
            .and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(link) = link {
            let _ = link.focus();
        }
    }
}

/// Arrow keys move focus to the neighbouring cell's link (skipping cells without one), so the
/// matrix reads like a spreadsheet; Enter on a link opens it as any link does.
fn move_focus_in_matrix(ev: leptos::ev::KeyboardEvent) {
    use web_sys::wasm_bindgen::JsCast;
    use web_sys::{HtmlElement, HtmlTableCellElement, HtmlTableElement, HtmlTableRowElement};
    let (row_step, column_step): (i32, i32) = match ev.key().as_str() {
        "ArrowRight" => (0, 1),
        "ArrowLeft" => (0, -1),
        "ArrowDown" => (1, 0),
        "ArrowUp" => (-1, 0),
        _ => return,
    };
    let Some(target) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let cell = target.closest("td, th").ok().flatten();
    let table = target.closest("table").ok().flatten();
    let (Some(cell), Some(table)) = (
        cell.and_then(|c| c.dyn_into::<HtmlTableCellElement>().ok()),
        table.and_then(|t| t.dyn_into::<HtmlTableElement>().ok()),
    ) else {
        return;
    };
    let Some(row) = cell
        .parent_element()
        .and_then(|r| r.dyn_into::<HtmlTableRowElement>().ok())
    else {
        return;
    };
    let (mut row_index, mut column_index) = (row.row_index(), cell.cell_index());
    loop {
        row_index += row_step;
        column_index += column_step;
        if row_index < 0 || column_index < 0 {
            return;
        }
        let Some(next_row) = table
            .rows()
            .item(row_index as u32)
            .and_then(|r| r.dyn_into::<HtmlTableRowElement>().ok())
        else {
            return;
        };
        let Some(next_cell) = next_row.cells().item(column_index as u32) else {
            return;
        };
        if let Some(link) = next_cell
            .query_selector("a")
            .ok()
            .flatten()
            .and_then(|a| a.dyn_into::<HtmlElement>().ok())
        {
            ev.prevent_default();
            let _ = link.focus();
            return;
        }
    }
}

/// The matrix rows as HTML text: thousands of cells through the view macro made the
/// dashboard's server render many times slower (benches/README.md, "Figures behind the code").
/// The cells hold only links, so nothing inside needs hydrating. Every stored value is escaped.
/// What the matrix marks in its cells besides age: deployments through the deploy policy, and
/// cells behind their drift policy.
pub struct Marks<'a> {
    pub violating: &'a std::collections::HashSet<uuid::Uuid>,
    pub drift: &'a [DriftMark],
}

pub fn matrix_rows_html(
    matrix: &MatrixView,
    now: DateTime<Utc>,
    zone: &Zone,
    can_record: bool,
    marks: &Marks,
) -> String {
    use html_escape::encode_safe as esc;
    use std::fmt::Write;

    let grid = matrix.cell_grid();
    // An upper bound (a cell is ~850 bytes, an empty one ~250): growing a 6 MB string by
    // doubling would copy it twice and reserve 12 MB; untouched reserve costs no memory.
    let mut html = String::with_capacity(
        matrix.applications.len() * (250 + matrix.environments.len() * 1_000),
    );
    for (row, app) in matrix.applications.iter().enumerate() {
        let name = esc(&app.name);
        let _ = write!(
            html,
            r#"<tr data-application="{name}"><th scope="row"><a href="/applications/{}?tab=deployments" title="{name}">{name}</a></th>"#,
            app.id
        );
        for (column, env) in matrix.environments.iter().enumerate() {
            // The row's and column's names are on screen (both headers stay in view), so a
            // cell says only what is its own: a page carries hundreds of them.
            let record_link = if can_record {
                format!(
                    r#"<a class="record" aria-label="Record deployment" href="/deployments/new?applicationId={}&amp;environmentId={}">+</a>"#,
                    app.id, env.id
                )
            } else {
                String::new()
            };
            let Some(cell) = grid[row][column] else {
                let _ = write!(
                    html,
                    r#"<td class="cell empty-cell"><span class="muted">—</span>{record_link}</td>"#
                );
                continue;
            };
            let age = Age::of(cell.deployment_date, now);
            let title = format!(
                "{}{}",
                zone.format(cell.deployment_date),
                cell.deployed_by
                    .as_ref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default(),
            );
            let rollback = if cell.is_rollback {
                r#"<span class="badge rollback" title="rollback">↩</span>"#
            } else {
                ""
            };
            let drift = marks
                .drift
                .iter()
                .find(|m| m.row as usize == row && m.column as usize == column);
            let drift_class = if drift.is_some() { " drift" } else { "" };
            let drift = drift.map_or(String::new(), |mark| {
                let behind = match mark.versions_behind {
                    1 => "1 version".to_string(),
                    n => format!("{n} versions"),
                };
                let said = format!(
                    "{behind} behind {} since {} (drift policy)",
                    mark.compared_to,
                    zone.format(mark.behind_since)
                );
                format!(
                    r#"<span class="badge drift" title="{title}">⇣<span class="sr-only"> {title}</span></span>"#,
                    title = esc(&said)
                )
            });
            let policy = if marks.violating.contains(&cell.deployment_id) {
                r#"<span class="badge policy" title="deployed through a freeze, lock or promotion rule">⚠<span class="sr-only"> deployed despite the deploy policy</span></span>"#
            } else {
                ""
            };
            // The age's symbol comes from the stylesheet (`.age-… .cell-link::before`).
            let _ = write!(
                html,
                r#"<td class="cell {class}{drift_class}"><a class="cell-link" href="/deployments/{id}" title="{title}"><span class="version">{version}</span>{rollback}{policy}{drift}<span class="when">{when}</span><span class="sr-only">{word}</span></a>{record_link}</td>"#,
                class = age.class(),
                id = cell.deployment_id,
                title = esc(&title),
                version = esc(&cell.version),
                when = relative(cell.deployment_date, now),
                word = age.word(),
            );
        }
        html.push_str("</tr>");
    }
    html
}

/// Pick a past instant; the URL carries it (`?at=`), so the view can be shared.
#[component]
fn TimeTravel(at: Signal<Option<DateTime<Utc>>>) -> impl IntoView {
    let navigate = use_navigate();
    let zone = use_zone();
    let input = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(false);
    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = input.get_untracked().map(|i| i.value()).unwrap_or_default();
        if value.trim().is_empty() {
            error.set(false);
            return navigate("/", Default::default());
        }
        match zone.with_untracked(|z| z.parse(&value)) {
            Some(instant) => {
                error.set(false);
                navigate(
                    &format!(
                        "/?at={}",
                        instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    Default::default(),
                )
            }
            None => error.set(true),
        }
    };
    view! {
        <form class="time-travel" on:submit=go id="time-travel">
            <label>"Time travel " <input type="text" node_ref=input aria-label="Show the state at (YYYY-MM-DD HH:MM, your time)"
                placeholder="YYYY-MM-DD HH:MM" inputmode="numeric" autocomplete="off"
                value=move || at.get().map(|t| zone.with(|z| z.format(t)))/></label>
            <button type="submit" class="secondary">{move || if at.get().is_some() { "Go" } else { "Show past state" }}</button>
            <Show when=move || error.get()>
                <p class="field-error" role="alert" id="time-travel-error">
                    "Write the time as YYYY-MM-DD HH:MM on your clock, e.g. 2026-10-17 19:58."
                </p>
            </Show>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Application, Environment, MatrixCell};
    use uuid::Uuid;

    #[test]
    fn matrix_html_escapes_every_stored_value() {
        let at = Utc::now();
        let matrix = MatrixView {
            applications: vec![Application {
                id: Uuid::now_v7(),
                name: "<script>alert(1)</script>\"".into(),
                description: None,
                repository: None,
                team_id: None,
                created_at: at,
                updated_at: at,
                archived_at: None,
            }],
            environments: vec![Environment {
                id: Uuid::now_v7(),
                name: "P<R>OD".into(),
                description: None,
                position: 0,
                is_production: true,
                created_at: at,
                updated_at: at,
                archived_at: None,
            }],
            cells: vec![MatrixCell {
                row: 0,
                column: 0,
                version: "1.0.0<b>".into(),
                deployment_id: Uuid::now_v7(),
                deployment_date: at,
                deployed_by: Some("\"><img src=x>".into()),
                is_rollback: true,
            }],
        };
        let violating = [matrix.cells[0].deployment_id].into_iter().collect();
        let drift = [DriftMark {
            row: 0,
            column: 0,
            versions_behind: 2,
            compared_to: "<STAGING>".into(),
            behind_since: at,
        }];
        let marks = Marks {
            violating: &violating,
            drift: &drift,
        };
        let html = matrix_rows_html(&matrix, at, &Zone::default(), true, &marks);
        for raw in ["<script>", "<b>", "<img", "<R>"] {
            assert!(!html.contains(raw), "{raw} left unescaped in {html}");
        }
        assert!(html.contains("1.0.0&lt;b&gt;"));
        assert!(html.contains(r#"class="badge rollback""#));
        assert!(html.contains(r#"class="badge policy""#));
        assert!(html.contains(r#"class="badge drift""#));
        assert!(html.contains("2 versions behind &lt;STAGING&gt;"));
        assert_eq!(html.matches("<td ").count(), 1);
    }
}
