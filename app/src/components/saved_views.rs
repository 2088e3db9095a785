//! The header's "Views" menu: the reader's saved views and the shared ones, each a plain link
//! to its URL, and a form that saves the page as it is (path and query) under a name.
//!
//! The list is asked for when the menu is opened, not while the page renders: the menu sits in
//! the header of every page, where a resource made inside the session's `Suspend` kept
//! signed-in pages from hydrating (and every page would have paid a query for a closed menu).

use leptos::html::{Details, Input};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_location;

use crate::api::views::{list_saved_views, save_current_view};
use crate::model::SavedView;

#[component]
pub fn SavedViewsMenu() -> impl IntoView {
    let menu = NodeRef::<Details>::new();
    let name = NodeRef::<Input>::new();
    let views = RwSignal::new(None::<Result<Vec<SavedView>, String>>);
    let said = RwSignal::new(None::<String>);
    let load = move || {
        spawn_local(async move {
            views.set(Some(list_saved_views().await.map_err(|e| e.to_string())));
        })
    };
    let opened = move |_| {
        if menu.get().is_some_and(|details| details.open()) {
            load();
        }
    };
    let location = use_location();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(input) = name.get() else {
            return;
        };
        let called = input.value();
        let path = location.pathname.get_untracked();
        let query = location.search.get_untracked();
        let query = Some(query.trim_start_matches('?').to_string()).filter(|q| !q.is_empty());
        spawn_local(async move {
            match save_current_view(called.clone(), path, query).await {
                Ok(_) => {
                    input.set_value("");
                    said.set(Some(format!("Saved “{called}”.")));
                    load();
                }
                Err(err) => said.set(Some(err.to_string())),
            }
        });
    };
    let listed = move || match views.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(err)) => view! { <p class="form-error" role="alert">{err}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => {
            view! { <p class="muted">"No saved views yet."</p> }.into_any()
        }
        Some(Ok(list)) => view! {
            <ul>
                {list.into_iter().map(|saved| {
                    let url = saved.url();
                    view! {
                        <li>
                            <a href=url>{saved.name}</a>
                            {saved.shared.then(|| view! { <span class="muted">" · shared"</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any(),
    };
    view! {
        <details class="views-menu" node_ref=menu on:toggle=opened>
            <summary>"Views"</summary>
            <div class="views-panel">
                {listed}
                <form class="save-view" on:submit=save>
                    <label>"Save this page as" <input node_ref=name name="name" required maxlength="100"/></label>
                    <button type="submit">"Save view"</button>
                    <p role="status" class="muted small">{move || said.get()}</p>
                </form>
            </div>
        </details>
    }
}
