use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::catalog::{list_environments, CreateEnvironment, MoveEnvironment};
use crate::components::form_feedback::{last_error, reset_on_success, FieldMessage, FormMessage};
use crate::components::loaded::Loaded;
use crate::components::session::IfRole;
use crate::model::Role;
use crate::model::{Environment, DESCRIPTION_MAX, NAME_MAX};

#[component]
pub fn EnvironmentsPage() -> impl IntoView {
    let create = ServerAction::<CreateEnvironment>::new();
    let reorder = ServerAction::<MoveEnvironment>::new();
    let environments = Resource::new(
        move || (create.version().get(), reorder.version().get()),
        |_| list_environments(false),
    );
    let error = last_error(create.value());
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(create.value(), form);

    view! {
        <Title text="Environments"/>
        <section class="page">
            <h1>"Environments"</h1>
            <p class="lead">"Listed in pipeline order, from development to production. The dashboard's columns follow this order."</p>
            <IfRole role=Role::Editor>
            <ActionForm action=create node_ref=form attr:class="card form" attr:id="create-environment">
                <h2>"New environment"</h2>
                <FormMessage error/>
                <label>
                    "Name"
                    <input name="name" required maxlength=NAME_MAX placeholder="PROD-EU"/>
                </label>
                <FieldMessage error field="name"/>
                <label>
                    "Description"
                    <input name="description" maxlength=DESCRIPTION_MAX placeholder="optional"/>
                </label>
                <FieldMessage error field="description"/>
                <label class="check">
                    <input type="checkbox" name="is_production"/>
                    " Production environment"
                </label>
                <button type="submit" disabled=move || create.pending().get()>"Create environment"</button>
            </ActionForm>
            </IfRole>
            <Loaded resource=environments render=move |list| view! { <EnvironmentTable list reorder/> }/>
        </section>
    }
}

#[component]
fn EnvironmentTable(
    list: Vec<Environment>,
    reorder: ServerAction<MoveEnvironment>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No environments yet. Create DEV first, PROD last."</p> }
            .into_any();
    }
    let last = list.len() - 1;
    view! {
        <table class="data" id="environments">
            <thead><tr><th>"#"</th><th>"Name"</th><th>"Kind"</th><th>"Description"</th><th>"Order"</th></tr></thead>
            <tbody>
                {list.into_iter().enumerate().map(|(index, env)| {
                    let (id_earlier, id_later) = (env.id.to_string(), env.id.to_string());
                    let earlier_label = format!("Move {} earlier", env.name);
                    let later_label = format!("Move {} later", env.name);
                    view! {
                        <tr>
                            <td>{index + 1}</td>
                            <td><a href=format!("/environments/{}", env.id)>{env.name.clone()}</a></td>
                            <td>{if env.is_production { view! { <span class="badge prod">"production"</span> }.into_any() } else { view! { <span class="muted">"non-production"</span> }.into_any() }}</td>
                            <td>{env.description.unwrap_or_default()}</td>
                            <td class="order">
                                <ActionForm action=reorder attr:class="inline">
                                    <input type="hidden" name="id" value=id_earlier/>
                                    <input type="hidden" name="earlier" value="true"/>
                                    <button type="submit" class="icon" disabled=index == 0 aria-label=earlier_label>"↑"</button>
                                </ActionForm>
                                <ActionForm action=reorder attr:class="inline">
                                    <input type="hidden" name="id" value=id_later/>
                                    <input type="hidden" name="earlier" value="false"/>
                                    <button type="submit" class="icon" disabled=index == last aria-label=later_label>"↓"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
