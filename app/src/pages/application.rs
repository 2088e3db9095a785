use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::{
    get_application, list_versions, ArchiveApplication, CreateVersion, SetRepository,
};
use crate::api::changes::version_commits;
use crate::components::changes::LazyChanges;
use crate::components::form_feedback::{last_error, reset_on_success, FieldMessage, FormMessage};
use crate::components::loaded::Loaded;
use crate::components::session::IfRole;
use crate::components::timestamp::Timestamp;
use crate::error::AppError;
use crate::model::Role;
use crate::model::{Application, Version, NAME_MAX, NOTES_MAX, REPOSITORY_MAX};

use super::id_param;

/// Application detail with tabs: Overview, Versions and Deployments.
#[component]
pub fn ApplicationPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let tab = move || query.get().get("tab").unwrap_or_else(|| "overview".into());
    let archive = ServerAction::<ArchiveApplication>::new();
    let set_repository = ServerAction::<SetRepository>::new();
    // Read again only after a save succeeded: a refused one re-rendering the form would wipe
    // what the user types next to correct it.
    let repository_saved = Memo::new(move |saved: Option<&u32>| {
        let saved = saved.copied().unwrap_or(0);
        let succeeded = set_repository.value().with(|v| matches!(v, Some(Ok(_))));
        if succeeded {
            saved + 1
        } else {
            saved
        }
    });
    // The whole page hangs on it: in the first HTML (blocking), never a "Loading…" first.
    let application = Resource::new_blocking(
        move || (id(), archive.version().get(), repository_saved.get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_application(id).await,
                None => Err(AppError::NotFound("application not found".into())),
            }
        },
    );

    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match application.await {
                        Ok(app) => {
                            let app_id = app.id;
                            view! {
                                <Title text=app.name.clone()/>
                                <p class="crumbs"><a href="/applications">"Applications"</a>" / "</p>
                                <h1>
                                    {app.name.clone()}
                                    {app.archived_at.map(|_| view! { <span class="badge">"archived"</span> })}
                                </h1>
                                <nav class="tabs">
                                    <a href=format!("/applications/{app_id}") class:active=move || tab() == "overview">"Overview"</a>
                                    <a href=format!("/applications/{app_id}?tab=versions") class:active=move || tab() == "versions">"Versions"</a>
                                    <a href=format!("/applications/{app_id}?tab=deployments") class:active=move || tab() == "deployments">"Deployments"</a>
                                </nav>
                                {move || if tab() == "versions" {
                                    view! { <VersionsTab application_id=app_id/> }.into_any()
                                } else if tab() == "deployments" {
                                    view! { <DeploymentsTab application_id=app_id/> }.into_any()
                                } else {
                                    view! { <Overview application=app.clone() archive set_repository/> }.into_any()
                                }}
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Overview(
    application: Application,
    archive: ServerAction<ArchiveApplication>,
    set_repository: ServerAction<SetRepository>,
) -> impl IntoView {
    use crate::components::deployment_list::{CurrentStateTable, RecentDeployments};
    use crate::components::live::use_deployment_events;
    use crate::model::DeploymentFilter;

    let archived = application.archived_at.is_some();
    let application_id = application.id;
    let tick = use_deployment_events();
    let refresh = Signal::derive(move || tick.get());
    let filter = DeploymentFilter {
        application_id: Some(application_id),
        ..Default::default()
    };
    view! {
        <h2>"Current state"</h2>
        <CurrentStateTable application_id refresh/>
        <h2>"Last deployments"</h2>
        <RecentDeployments filter=Signal::stored(filter) refresh limit=5 empty="Nothing recorded yet."/>
        <p><a href=format!("/applications/{application_id}?tab=deployments")>"Full history →"</a></p>
        <h2>"About"</h2>
        <dl class="facts card">
            <dt>"Description"</dt>
            <dd>{application.description.unwrap_or_else(|| "—".into())}</dd>
            <dt>"Repository"</dt>
            <dd>{application.repository.clone().map(|path| view! { <code>{path}</code> }.into_any())
                .unwrap_or_else(|| "—".into_any())}</dd>
            <dt>"Created"</dt>
            <dd><Timestamp at=application.created_at/></dd>
            <dt>"Updated"</dt>
            <dd><Timestamp at=application.updated_at/></dd>
        </dl>
        {(!archived).then(|| view! {
            <IfRole role=Role::Editor>
                <RepositoryForm application_id set_repository current=application.repository.clone()/>
            </IfRole>
            <ActionForm action=archive attr:class="inline">
                <input type="hidden" name="id" value=application.id.to_string()/>
                <button type="submit" class="secondary">"Archive application"</button>
            </ActionForm>
        })}
    }
}

/// The repository GitHub and GitLab hooks find this application by.
#[component]
fn RepositoryForm(
    application_id: Uuid,
    set_repository: ServerAction<SetRepository>,
    current: Option<String>,
) -> impl IntoView {
    let error = last_error(set_repository.value());
    view! {
        <ActionForm action=set_repository attr:class="card form" attr:id="set-repository">
            <h2>"Repository"</h2>
            <p class="hint">"GitHub (owner/name) or GitLab (group/project): deployment hooks find the application by it. Empty clears it."</p>
            <FormMessage error/>
            <input type="hidden" name="id" value=application_id.to_string()/>
            <label>"Repository" <input name="repository" maxlength=REPOSITORY_MAX value=current.unwrap_or_default() placeholder="acme/billing"/></label>
            <FieldMessage error field="repository"/>
            <button type="submit" disabled=move || set_repository.pending().get()>"Save repository"</button>
        </ActionForm>
    }
}

#[component]
fn VersionsTab(application_id: Uuid) -> impl IntoView {
    let create = ServerAction::<CreateVersion>::new();
    let versions = Resource::new(
        move || create.version().get(),
        move |_| list_versions(application_id),
    );
    let error = last_error(create.value());
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(create.value(), form);

    view! {
        <IfRole role=Role::Editor>
            <ActionForm action=create node_ref=form attr:class="card form" attr:id="create-version">
            <h2>"Add version"</h2>
            <FormMessage error/>
            <input type="hidden" name="application_id" value=application_id.to_string()/>
            <label>
                "Version"
                <input name="version_identifier" required maxlength=NAME_MAX placeholder="1.2.0"/>
            </label>
            <FieldMessage error field="versionIdentifier"/>
            <label>
                "Notes"
                <textarea name="notes" maxlength=NOTES_MAX rows="2" placeholder="optional"></textarea>
            </label>
            <FieldMessage error field="notes"/>
            <button type="submit" disabled=move || create.pending().get()>"Add version"</button>
        </ActionForm>
            </IfRole>
        <Loaded resource=versions render=|list| view! { <VersionTable list/> }/>
    }
}

#[component]
fn VersionTable(list: Vec<Version>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No versions yet."</p> }.into_any();
    }
    view! {
        <table class="data" id="versions">
            <thead><tr><th>"Version"</th><th>"Notes"</th><th>"Created"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|v| {
                    let id = v.id;
                    let identifier = v.version_identifier.clone();
                    view! {
                    <tr data-version=identifier>
                        <td class="mono">
                            {v.version_identifier}
                            {v.commit_sha.map(|sha| view! {
                                " " <span class="muted" title=sha.clone()>{sha.chars().take(8).collect::<String>()}</span>
                            })}
                        </td>
                        <td>{v.notes.unwrap_or_default()}</td>
                        <td><Timestamp at=v.created_at/></td>
                    </tr>
                    <tr class="changes-row">
                        <td colspan="3">
                            <LazyChanges open=false label="Commits" load=move || version_commits(id)/>
                        </td>
                    </tr>
                }}).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Current state per environment, then the history timeline grouped by environment, filtered by
/// environment and date range through the URL (`?tab=deployments&environmentId=…&dateFrom=…`).
#[component]
fn DeploymentsTab(application_id: Uuid) -> impl IntoView {
    use crate::api::catalog::list_environments;
    use crate::components::deployment_list::{
        filter_from_query, CurrentStateTable, DateRangeInputs, HistoryList,
    };
    use crate::components::live::use_deployment_events;
    use crate::components::loaded::IdOptions;
    use crate::components::zone::use_zone;
    use leptos_router::components::Form;

    let query = use_query_map();
    let tick = use_deployment_events();
    let zone = use_zone();
    let filter = Signal::derive(move || {
        let q = query.get();
        let mut filter = zone.with(|z| filter_from_query(|k| q.get(k), z));
        filter.application_id = Some(application_id);
        filter
    });
    let raw = move |key: &'static str| query.get().get(key).unwrap_or_default();
    let environments = Resource::new(|| (), |_| list_environments(false));

    view! {
        <div class="tab-actions">
            <IfRole role=Role::Editor>
                <a class="button" id="record-new" href=format!("/deployments/new?applicationId={application_id}")>"Record new deployment"</a>
            </IfRole>
        </div>
        <h2>"Current state"</h2>
        <CurrentStateTable application_id refresh=Signal::derive(move || tick.get())/>
        <h2>"History"</h2>
        <Form method="GET" action="" attr:class="filters" attr:id="history-filters">
            <input type="hidden" name="tab" value="deployments"/>
            <label>"Environment"
                <select name="environmentId">
                    <option value="">"All environments"</option>
                    <IdOptions resource=environments selected=Signal::derive(move || raw("environmentId"))/>
                </select>
            </label>
            <DateRangeInputs/>
            <button type="submit" class="secondary">"Filter"</button>
            <a href=format!("/applications/{application_id}?tab=deployments")>"Clear"</a>
        </Form>
        <HistoryList filter environments tick=Signal::derive(move || tick.get()) show_application=false/>
    }
}
