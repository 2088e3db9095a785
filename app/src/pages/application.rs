use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::{get_application, list_versions, ArchiveApplication, CreateVersion};
use crate::components::form_feedback::{last_error, FieldMessage, FormMessage};
use crate::components::session::IfRole;
use crate::components::timestamp::Timestamp;
use crate::error::AppError;
use crate::model::Role;
use crate::model::{Application, Version};

use super::id_param;

/// Application detail with tabs: Overview and Versions (Deployments arrives with deployments).
#[component]
pub fn ApplicationPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let tab = move || query.get().get("tab").unwrap_or_else(|| "overview".into());
    let archive = ServerAction::<ArchiveApplication>::new();
    let application = Resource::new(
        move || (id(), archive.version().get()),
        |(id, _)| async move {
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
                                </nav>
                                {move || if tab() == "versions" {
                                    view! { <VersionsTab application_id=app_id/> }.into_any()
                                } else {
                                    view! { <Overview application=app.clone() archive/> }.into_any()
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
fn Overview(application: Application, archive: ServerAction<ArchiveApplication>) -> impl IntoView {
    let archived = application.archived_at.is_some();
    view! {
        <dl class="facts card">
            <dt>"Description"</dt>
            <dd>{application.description.unwrap_or_else(|| "—".into())}</dd>
            <dt>"Created"</dt>
            <dd><Timestamp at=application.created_at/></dd>
            <dt>"Updated"</dt>
            <dd><Timestamp at=application.updated_at/></dd>
        </dl>
        {(!archived).then(|| view! {
            <ActionForm action=archive attr:class="inline">
                <input type="hidden" name="id" value=application.id.to_string()/>
                <button type="submit" class="secondary">"Archive application"</button>
            </ActionForm>
        })}
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
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });

    view! {
        <IfRole role=Role::Editor>
            <ActionForm action=create node_ref=form attr:class="card form" attr:id="create-version">
            <h2>"Add version"</h2>
            <FormMessage error/>
            <input type="hidden" name="application_id" value=application_id.to_string()/>
            <label>
                "Version"
                <input name="version_identifier" required maxlength="100" placeholder="1.2.0"/>
            </label>
            <FieldMessage error field="versionIdentifier"/>
            <label>
                "Notes"
                <textarea name="notes" maxlength="10000" rows="2" placeholder="optional"></textarea>
            </label>
            <FieldMessage error field="notes"/>
            <button type="submit" disabled=move || create.pending().get()>"Add version"</button>
        </ActionForm>
            </IfRole>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match versions.await {
                    Ok(list) => view! { <VersionTable list/> }.into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
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
                {list.into_iter().map(|v| view! {
                    <tr>
                        <td class="mono">{v.version_identifier}</td>
                        <td>{v.notes.unwrap_or_default()}</td>
                        <td><Timestamp at=v.created_at/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
