use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::hooks::{hook_deliveries, list_hooks, CreateHook, DeleteHook};
use crate::components::form_feedback::{last_error, FieldMessage, FormMessage};
use crate::components::loaded::Loaded;
use crate::components::timestamp::Timestamp;
use crate::model::{CreatedHook, Hook, HookDelivery, HookProvider, NAME_MAX};

/// The address deliveries go to. Only ever shown after a hook is created in this browser, so
/// reading the page's origin cannot differ between server and browser renders.
fn delivery_url(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    let origin = window().location().origin().unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    let origin = String::new();
    format!("{origin}{path}")
}

/// What to set on the provider's side, for the hook just created.
#[component]
fn NewHookSecret(created: CreatedHook) -> impl IntoView {
    let provider = created.hook.provider;
    let (secret_label, event) = match provider {
        HookProvider::Github => (
            "Secret",
            "Content type application/json; event \"Deployment statuses\"",
        ),
        HookProvider::Gitlab => ("Secret token", "Trigger \"Deployment events\""),
    };
    view! {
        <div class="card secret" role="status" id="new-hook">
            <strong>"Copy the secret now; it will not be shown again."</strong>
            <p>"In " {provider.label()} "'s webhook settings:"</p>
            <dl class="facts">
                <dt>"URL"</dt><dd><code id="new-hook-url">{delivery_url(&created.hook.path)}</code></dd>
                <dt>{secret_label}</dt><dd><code id="new-hook-secret">{created.secret.expose().to_string()}</code></dd>
                <dt>"Events"</dt><dd>{event}</dd>
            </dl>
            <p class="hint">"Each application is found by its repository (owner/name): set it on the application."</p>
        </div>
    }
}

/// Inbound hooks (admins): GitHub and GitLab record deployments themselves.
#[component]
pub fn HooksPage() -> impl IntoView {
    let create = ServerAction::<CreateHook>::new();
    let delete = ServerAction::<DeleteHook>::new();
    let hooks = Resource::new(
        move || (create.version().get(), delete.version().get()),
        |_| list_hooks(),
    );
    let error = last_error(create.value());
    let created = move || create.value().get().and_then(Result::ok);
    let query = use_query_map();
    let selected = move || {
        query
            .get()
            .get("hook")
            .and_then(|raw| Uuid::parse_str(&raw).ok())
    };

    view! {
        <Title text="Hooks"/>
        <section class="page">
            <h1>"Hooks"</h1>
            <p class="lead">"GitHub and GitLab can tell deploytrack about each successful deployment themselves, signed with a secret only they and deploytrack know."</p>
            <ActionForm action=create attr:class="card form" attr:id="create-hook">
                <h2>"New hook"</h2>
                <FormMessage error/>
                <label>
                    "Provider"
                    <select name="provider">
                        {HookProvider::ALL.into_iter().map(|provider| view! {
                            <option value=provider.as_str()>{provider.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <FieldMessage error field="provider"/>
                <label>"Name" <input name="name" required maxlength=NAME_MAX placeholder="acme organisation"/></label>
                <FieldMessage error field="name"/>
                <button type="submit" disabled=move || create.pending().get()>"Create hook"</button>
            </ActionForm>
            {move || created().map(|created| view! { <NewHookSecret created/> })}
            <Loaded resource=hooks render=move |list| view! { <HookTable list delete selected/> }/>
            {move || selected().map(|id| view! { <Deliveries id/> })}
        </section>
    }
}

#[component]
fn HookTable(
    list: Vec<Hook>,
    delete: ServerAction<DeleteHook>,
    selected: impl Fn() -> Option<Uuid> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No hooks yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
        <table class="data" id="hooks">
            <thead><tr><th>"Name"</th><th>"Provider"</th><th>"Path"</th><th>"Created"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|hook| {
                    let id = hook.id;
                    let current = move || selected() == Some(id);
                    view! {
                        <tr class:selected=current>
                            <td><a href=format!("/settings/hooks?hook={id}")>{hook.name.clone()}</a></td>
                            <td>{hook.provider.label()}</td>
                            <td><code>{hook.path.clone()}</code></td>
                            <td><Timestamp at=hook.created_at/></td>
                            <td>
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

/// The hook's recent deliveries, as the provider's own "Recent deliveries" list shows them.
#[component]
fn Deliveries(id: Uuid) -> impl IntoView {
    let deliveries = Resource::new(move || id, hook_deliveries);
    view! {
        <section class="card" id="deliveries">
            <h2>"Recent deliveries"</h2>
            <Loaded resource=deliveries render=move |list| view! { <DeliveryTable list/> }/>
        </section>
    }
}

#[component]
fn DeliveryTable(list: Vec<HookDelivery>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"Nothing delivered yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
        <table class="data">
            <thead><tr><th>"Received"</th><th>"Event"</th><th>"Outcome"</th><th>"Detail"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|delivery| view! {
                    <tr>
                        <td><Timestamp at=delivery.received_at/></td>
                        <td>{delivery.event.clone()}</td>
                        <td><span class=format!("badge outcome-{}", delivery.outcome.as_str())>{delivery.outcome.as_str()}</span></td>
                        <td>
                            {delivery.detail.clone()}
                            {delivery.deployment_id.map(|deployment| view! {
                                " " <a href=format!("/deployments/{deployment}")>"View deployment"</a>
                            })}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}
