use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::catalog::{list_applications, CreateApplication};
use crate::components::form_feedback::{last_error, reset_on_success, FieldMessage, FormMessage};
use crate::components::loaded::Loaded;
use crate::components::session::IfRole;
use crate::components::timestamp::Timestamp;
use crate::model::Role;
use crate::model::{Application, DESCRIPTION_MAX, NAME_MAX, REPOSITORY_MAX};

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let create = ServerAction::<CreateApplication>::new();
    // Refetches whenever a create finishes, so the list follows without a reload.
    let applications = Resource::new(move || create.version().get(), |_| list_applications(false));
    let error = last_error(create.value());
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(create.value(), form);

    view! {
        <Title text="Applications"/>
        <section class="page">
            <h1>"Applications"</h1>
            <IfRole role=Role::Editor>
            <ActionForm action=create node_ref=form attr:class="card form" attr:id="create-application">
                <h2>"New application"</h2>
                <FormMessage error/>
                <label>
                    "Name"
                    <input name="name" required maxlength=NAME_MAX placeholder="Customer Portal"/>
                </label>
                <FieldMessage error field="name"/>
                <label>
                    "Description"
                    <input name="description" maxlength=DESCRIPTION_MAX placeholder="optional"/>
                </label>
                <FieldMessage error field="description"/>
                <label>
                    "Repository"
                    <input name="repository" maxlength=REPOSITORY_MAX placeholder="optional: owner/name, for GitHub and GitLab hooks"/>
                </label>
                <FieldMessage error field="repository"/>
                <button type="submit" disabled=move || create.pending().get()>"Create application"</button>
            </ActionForm>
            </IfRole>
            <Loaded resource=applications render=move |list| view! { <ApplicationTable list/> }/>
        </section>
    }
}

#[component]
fn ApplicationTable(list: Vec<Application>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No applications yet. Create the first one above."</p> }
            .into_any();
    }
    view! {
        <table class="data" id="applications">
            <thead>
                <tr><th>"Name"</th><th>"Description"</th><th>"Created"</th></tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|application| {
                        view! {
                            <tr>
                                <td><a href=format!("/applications/{}", application.id)>{application.name}</a></td>
                                <td>{application.description.unwrap_or_default()}</td>
                                <td><Timestamp at=application.created_at/></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
