use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::Login;
use crate::components::form_feedback::{last_error, FormMessage};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.get().get("next").unwrap_or_else(|| "/".into());
    let error = last_error(login.value());
    // A full page load after sign-in, so everything renders afresh as the signed-in user.
    let target = query
        .get_untracked()
        .get("next")
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    Effect::new(move |_| {
        if matches!(login.value().get(), Some(Ok(()))) {
            let _ = window().location().set_href(&target);
        }
    });
    view! {
        <Title text="Sign in"/>
        <section class="page login">
            <ActionForm action=login attr:class="card form" attr:id="login">
                <h1>"Sign in to deploytrack"</h1>
                <FormMessage error/>
                <input type="hidden" name="next" value=next/>
                <label>"Username" <input name="username" autocomplete="username" required autofocus/></label>
                <label>"Password" <input name="password" type="password" autocomplete="current-password" required/></label>
                <button type="submit" disabled=move || login.pending().get()>"Sign in"</button>
            </ActionForm>
        </section>
    }
}
