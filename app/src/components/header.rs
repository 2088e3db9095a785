//! The site header: brand, main navigation and the user menu. On narrow screens the navigation
//! and user menu fold behind a "Menu" button instead of stacking into a block a third of the
//! screen tall.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::components::session::UserMenu;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let open = RwSignal::new(false);
    // Following a link closes the menu again — only a real move: the router also sets the
    // location when a form in the menu (saving a view) is submitted on the page it is on.
    let location = use_location();
    Effect::new(move |before: Option<(String, String)>| {
        let now = (location.pathname.get(), location.search.get());
        if before.is_some_and(|before| before != now) {
            open.set(false);
        }
        now
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"deploytrack"</a>
            <button type="button" class="menu-toggle" aria-controls="site-menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                <span aria-hidden="true">"☰ "</span>"Menu"
            </button>
            <div class="site-menu" id="site-menu" class:open=open on:click=move |ev| {
                // A link chosen from the open menu closes it, even before the route changes.
                use web_sys::wasm_bindgen::JsCast;
                let on_link = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .and_then(|e| e.closest("a").ok().flatten())
                    .is_some();
                if on_link {
                    open.set(false);
                }
            }>
                <nav aria-label="Main">
                    <A href="/" exact=true>"Dashboard"</A>
                    <A href="/deployments">"Deployments"</A>
                    <A href="/compare">"Compare"</A>
                    <A href="/insights">"Insights"</A>
                    <A href="/policy">"Policy"</A>
                    <A href="/applications">"Applications"</A>
                    <A href="/environments">"Environments"</A>
                </nav>
                <UserMenu/>
            </div>
        </header>
    }
}
