use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::{how_to_sign_in, Login};
use crate::components::form_feedback::{last_error, FormMessage};
use crate::model::SignInOptions;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.get().get("next").unwrap_or_else(|| "/".into());
    let error = last_error(login.value());
    let options = Resource::new_blocking(|| (), |_| how_to_sign_in());
    // A full page load after sign-in, so everything renders afresh as the signed-in user.
    let target = query
        .get_untracked()
        .get("next")
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let provider_link = {
        let next =
            percent_encoding::utf8_percent_encode(&target, percent_encoding::NON_ALPHANUMERIC);
        format!("/auth/oidc/login?next={next}")
    };
    Effect::new(move |_| {
        if matches!(login.value().get(), Some(Ok(()))) {
            let _ = window().location().set_href(&target);
        }
    });
    let password_form = move || {
        view! {
            <ActionForm action=login attr:class="form" attr:id="login">
                <FormMessage error/>
                <input type="hidden" name="next" value=next/>
                <label>"Username" <input name="username" autocomplete="username" required/></label>
                <label>"Password" <input name="password" type="password" autocomplete="current-password" required/></label>
                <button type="submit" disabled=move || login.pending().get()>"Sign in"</button>
            </ActionForm>
        }
    };
    view! {
        <Title text="Sign in"/>
        <section class="page login">
            <div class="card">
                <h1>"Sign in to deploytrack"</h1>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || {
                        let link = provider_link.clone();
                        options.get().map(|found| {
                            let SignInOptions { provider, password } = found.unwrap_or_default();
                            let sso = provider.map(|name| view! {
                                <a class="button primary sso" href=link rel="external">"Sign in with " {name}</a>
                            });
                            // With password sign-in off, the form stays for the break-glass admin.
                            let form = if password || sso.is_none() {
                                password_form().into_any()
                            } else {
                                view! {
                                    <details class="break-glass">
                                        <summary>"Break-glass admin sign-in"</summary>
                                        {password_form()}
                                    </details>
                                }
                                .into_any()
                            };
                            view! { {sso} {form} }
                        })
                    }}
                </Suspense>
            </div>
        </section>
    }
}
