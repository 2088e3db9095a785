//! `/settings/webhooks`: signed notifications to Slack, Teams, Mattermost or any endpoint
//! (admins): add one (its secret shown once), delete, and per webhook its last 100
//! notifications with "Send test" and "Redeliver".

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::catalog::list_environments;
use crate::api::webhooks::{
    list_webhooks, webhook_deliveries, CreateWebhook, DeleteWebhook, RedeliverWebhook,
    SendTestWebhook,
};
use crate::components::form_feedback::{last_error, FieldMessage, FormMessage};
use crate::components::loaded::{IdOptions, Loaded};
use crate::components::timestamp::Timestamp;
use crate::model::{CreatedWebhook, Webhook, WebhookDelivery};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let webhooks = Resource::new(
        move || (create.version().get(), delete.version().get()),
        |_| list_webhooks(),
    );
    let environments = Resource::new(|| (), |_| list_environments(false));
    let error = last_error(create.value());
    let created = move || create.value().get().and_then(Result::ok);
    let query = use_query_map();
    let selected = move || {
        query
            .get()
            .get("webhook")
            .and_then(|raw| Uuid::parse_str(&raw).ok())
    };

    view! {
        <Title text="Webhooks"/>
        <section class="page">
            <h1>"Webhooks"</h1>
            <p class="lead">"Tell Slack, Teams, Mattermost or your own service about every deployment as it is recorded or retracted. Each notification is signed, and retried for up to a day until it is received."</p>
            <ActionForm action=create attr:class="card form" attr:id="create-webhook">
                <h2>"New webhook"</h2>
                <FormMessage error/>
                <label>"URL" <input name="url" type="url" required maxlength="2000" placeholder="https://hooks.slack.com/services/…"/></label>
                <FieldMessage error field="url"/>
                <fieldset>
                    <legend>"Events"</legend>
                    <label class="check"><input type="checkbox" name="on_recorded" value="on" checked/>" deployment recorded"</label>
                    <label class="check"><input type="checkbox" name="on_retracted" value="on"/>" deployment retracted"</label>
                    <label class="check"><input type="checkbox" name="on_policy" value="on"/>" deploy policy (freezes starting and ending, locks, deployments through a blocker)"</label>
                </fieldset>
                <FieldMessage error field="events"/>
                <label>"Environment"
                    <select name="environment_id">
                        <option value="">"All environments"</option>
                        <IdOptions resource=environments selected=Signal::derive(String::new)/>
                    </select>
                </label>
                <FieldMessage error field="environmentIds"/>
                <label>"Body"
                    <select name="format">
                        <option value="slack">"Slack / Teams / Mattermost ({text})"</option>
                        <option value="json">"JSON ({event, deployment})"</option>
                    </select>
                </label>
                <FieldMessage error field="format"/>
                <button type="submit" disabled=move || create.pending().get()>"Add webhook"</button>
            </ActionForm>
            {move || created().map(|created| view! { <NewWebhookSecret created/> })}
            <Loaded resource=webhooks render=move |list| view! { <WebhookTable list delete selected/> }/>
            {move || selected().map(|id| view! { <Notifications id/> })}
        </section>
    }
}

/// The signing secret, this once, and how a receiver checks it.
#[component]
fn NewWebhookSecret(created: CreatedWebhook) -> impl IntoView {
    view! {
        <div class="card secret" role="status" id="new-webhook">
            <strong>"Copy the signing secret now; it will not be shown again."</strong>
            <dl class="facts">
                <dt>"Secret"</dt><dd><code id="new-webhook-secret">{created.secret.expose().to_string()}</code></dd>
                <dt>"Check"</dt><dd>"X-Deploytrack-Signature = sha256= + hex HMAC-SHA256(secret, X-Deploytrack-Timestamp + \".\" + body)"</dd>
            </dl>
        </div>
    }
}

#[component]
fn WebhookTable(
    list: Vec<Webhook>,
    delete: ServerAction<DeleteWebhook>,
    selected: impl Fn() -> Option<Uuid> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No webhooks yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
        <table class="data" id="webhooks">
            <thead><tr><th>"URL"</th><th>"Events"</th><th>"Body"</th><th>"Created"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|webhook| {
                    let id = webhook.id;
                    let current = move || selected() == Some(id);
                    let scope = if webhook.environment_ids.is_some() { " (one environment)" } else { "" };
                    view! {
                        <tr class:selected=current>
                            <td class="url"><a href=format!("/settings/webhooks?webhook={id}")>{webhook.url.clone()}</a></td>
                            <td>{format!("{}{scope}", webhook.events.join(", "))}</td>
                            <td>{webhook.format.clone()}</td>
                            <td><Timestamp at=webhook.created_at/></td>
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

/// The webhook's last notifications, refreshed after "Send test" or "Redeliver".
#[component]
fn Notifications(id: Uuid) -> impl IntoView {
    let test = ServerAction::<SendTestWebhook>::new();
    let redeliver = ServerAction::<RedeliverWebhook>::new();
    let refresh = RwSignal::new(0u32);
    let log = Resource::new(
        move || {
            (
                id,
                test.version().get(),
                redeliver.version().get(),
                refresh.get(),
            )
        },
        |(id, ..)| webhook_deliveries(id),
    );
    view! {
        <section class="card" id="webhook-deliveries">
            <div class="page-head">
                <h2>"Recent notifications"</h2>
                <div>
                    <ActionForm action=test attr:class="inline" attr:id="send-test">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class="secondary">"Send test"</button>
                    </ActionForm>
                    " "
                    <button type="button" class="secondary" id="refresh-deliveries" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
                </div>
            </div>
            <Loaded resource=log render=move |list| view! { <NotificationTable id list redeliver/> }/>
        </section>
    }
}

#[component]
fn NotificationTable(
    id: Uuid,
    list: Vec<WebhookDelivery>,
    redeliver: ServerAction<RedeliverWebhook>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"Nothing sent yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
        <table class="data">
            <thead><tr><th>"Queued"</th><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|delivery| {
                    let answer = match (delivery.last_status, &delivery.last_error) {
                        (_, Some(error)) => error.clone(),
                        (Some(status), None) => format!("HTTP {status}"),
                        (None, None) => "—".to_string(),
                    };
                    view! {
                        <tr data-status=delivery.status.clone()>
                            <td><Timestamp at=delivery.created_at/></td>
                            <td>
                                {delivery.event.clone()}
                                {delivery.deployment_id.map(|deployment| view! {
                                    " " <a href=format!("/deployments/{deployment}")>"deployment"</a>
                                })}
                            </td>
                            <td><span class=format!("badge delivery-{}", delivery.status)>{delivery.status.clone()}</span></td>
                            <td>{delivery.attempts}</td>
                            <td class="detail">{answer}</td>
                            <td>
                                <ActionForm action=redeliver attr:class="inline">
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <input type="hidden" name="delivery_id" value=delivery.id.to_string()/>
                                    <button type="submit" class="secondary">"Redeliver"</button>
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
