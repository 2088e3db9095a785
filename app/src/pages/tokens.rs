use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::access::{list_tokens, CreateToken, RevokeToken};
use crate::components::form_feedback::{last_error, FieldMessage, FormMessage};
use crate::components::loaded::Loaded;
use crate::components::timestamp::Timestamp;
use crate::model::{ApiToken, NAME_MAX};

/// The signed-in user's API tokens, for CI pipelines.
#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let error = last_error(create.value());
    let new_secret = move || {
        create
            .value()
            .get()
            .and_then(Result::ok)
            .map(|c| c.token.expose().to_string())
    };

    view! {
        <Title text="API tokens"/>
        <section class="page">
            <h1>"API tokens"</h1>
            <p class="lead">"Tokens let CI pipelines call the API as you: send "<code>"Authorization: Bearer <token>"</code>"."</p>
            <ActionForm action=create attr:class="card form" attr:id="create-token">
                <h2>"New token"</h2>
                <FormMessage error/>
                <label>"Name" <input name="name" required maxlength=NAME_MAX placeholder="github-actions"/></label>
                <FieldMessage error field="name"/>
                <label>"Expires after (days)" <input name="expires_in_days" inputmode="numeric" placeholder="never"/></label>
                <FieldMessage error field="expiresAt"/>
                <button type="submit">"Create token"</button>
            </ActionForm>
            {move || new_secret().map(|secret| view! {
                <div class="card secret" role="status">
                    <strong>"Copy this token now; it will not be shown again."</strong>
                    <code id="new-token">{secret}</code>
                </div>
            })}
            <Loaded resource=tokens render=move |list| view! { <TokenTable list revoke/> }/>
        </section>
    }
}

#[component]
fn TokenTable(list: Vec<ApiToken>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No tokens yet."</p> }.into_any();
    }
    view! {
        <table class="data" id="tokens">
            <thead><tr><th>"Name"</th><th>"Created"</th><th>"Last used"</th><th>"Expires"</th><th>"Status"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|t| {
                    let id = t.id.to_string();
                    let active = t.revoked_at.is_none();
                    view! {
                        <tr>
                            <td>{t.name.clone()}</td>
                            <td><Timestamp at=t.created_at/></td>
                            <td>{t.last_used_at.map(|at| view! { <Timestamp at/> }.into_any()).unwrap_or_else(|| "never".into_any())}</td>
                            <td>{t.expires_at.map(|at| view! { <Timestamp at/> }.into_any()).unwrap_or_else(|| "never".into_any())}</td>
                            <td>
                                {if active {
                                    view! {
                                        <ActionForm action=revoke attr:class="inline">
                                            <input type="hidden" name="id" value=id/>
                                            <button type="submit" class="secondary">"Revoke"</button>
                                        </ActionForm>
                                    }.into_any()
                                } else {
                                    view! { <span class="badge">"revoked"</span> }.into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
