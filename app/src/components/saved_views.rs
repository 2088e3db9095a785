//! The header's "Views" menu: the user's saved views and the shared ones, each a plain link to
//! its URL, and a form that saves the page as it is (path and query) under a name.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::views::{list_saved_views, SaveCurrentView};
use crate::components::form_feedback::{last_error, FormMessage};

#[component]
pub fn SavedViewsMenu() -> impl IntoView {
    let save = ServerAction::<SaveCurrentView>::new();
    let views = Resource::new(move || save.version().get(), |_| list_saved_views());
    let location = use_location();
    let path = move || location.pathname.get();
    let query = move || location.search.get().trim_start_matches('?').to_string();
    let error = last_error(save.value());
    view! {
        <details class="views-menu">
            <summary>"Views"</summary>
            <div class="views-panel">
                <Suspense fallback=|| ()>
                    {move || views.get().map(|found| {
                        let list = found.unwrap_or_default();
                        if list.is_empty() {
                            view! { <p class="muted">"No saved views yet."</p> }.into_any()
                        } else {
                            view! {
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
                            .into_any()
                        }
                    })}
                </Suspense>
                <ActionForm action=save attr:class="save-view">
                    <FormMessage error/>
                    <input type="hidden" name="path" prop:value=path/>
                    <input type="hidden" name="query" prop:value=query/>
                    <label>"Save this page as" <input name="name" required maxlength="100"/></label>
                    <button type="submit" disabled=move || save.pending().get()>"Save view"</button>
                </ActionForm>
            </div>
        </details>
    }
}
