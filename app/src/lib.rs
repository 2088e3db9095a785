#![forbid(unsafe_code)]
//! deploytrack's shared Leptos crate: pages, components, DTOs, server functions and — on the
//! server only — the service layer and the storage contract.

pub mod api;
pub mod components;
pub mod error;
pub mod hydration;
pub mod model;
pub mod pages;
mod routes;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use leptos_router::Lazy;

use components::header::SiteHeader;
use components::session::provide_session_user;

/// Adds the hydration scripts once the parsed page has been painted (the frame after
/// `DOMContentLoaded`).
const HYDRATE_AFTER_FIRST_PAINT: &str = "document.addEventListener('DOMContentLoaded',()=>requestAnimationFrame(()=>setTimeout(()=>{const t=document.getElementById('hydration-scripts');document.head.append(document.importNode(t.content,true))})));";

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.ico"/>
                // Under the build's content-named folder, like the scripts (cached for a year).
                <link rel="stylesheet" href=format!("/{}/deploytrack.css", options.site_pkg_dir)/>
                // Fetched once the page has painted: preloaded from the head, the WASM (about
                // 650 KB with the page's parts) shared a phone's bandwidth with the page itself,
                // and Lighthouse's phone put the largest paint at 4 s. Scripts cloned out of a
                // template run when added. In an owner of their own, the scripts' split manifest
                // is not seen by the server integration, which would otherwise preload the page's
                // WASM parts from the head too; they load when hydration asks for them.
                <template id="hydration-scripts">
                    {Owner::current().map(|owner| owner.child()).map(|own| own.with(|| view! { <HydrationScripts options/> }))}
                </template>
                <script nonce=use_nonce() inner_html=HYDRATE_AFTER_FIRST_PAINT></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_session_user();
    components::zone::provide_zone();
    components::timers::provide_clock();
    view! {
        <Title formatter=|page: String| format!("{page} · deploytrack")/>
        <Router>
            <SiteHeader/>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/") view={Lazy::<routes::Dashboard>::new()}/>
                    <Route path=path!("/applications") view={Lazy::<routes::Applications>::new()}/>
                    <Route path=path!("/applications/:id") view={Lazy::<routes::Application>::new()}/>
                    <Route path=path!("/environments") view={Lazy::<routes::Environments>::new()}/>
                    <Route path=path!("/environments/:id") view={Lazy::<routes::Environment>::new()}/>
                    <Route path=path!("/login") view={Lazy::<routes::Login>::new()}/>
                    <Route path=path!("/deployments") view={Lazy::<routes::Deployments>::new()}/>
                    <Route path=path!("/compare") view={Lazy::<routes::Compare>::new()}/>
                    <Route path=path!("/insights") view={Lazy::<routes::Insights>::new()}/>
                    <Route path=path!("/policy") view={Lazy::<routes::Policy>::new()}/>
                    <Route path=path!("/deployments/new") view={Lazy::<routes::Record>::new()}/>
                    <Route path=path!("/deployments/:id") view={Lazy::<routes::Deployment>::new()}/>
                    <Route path=path!("/settings/tokens") view={Lazy::<routes::Tokens>::new()}/>
                    <Route path=path!("/settings/hooks") view={Lazy::<routes::Hooks>::new()}/>
                    <Route path=path!("/settings/webhooks") view={Lazy::<routes::Webhooks>::new()}/>
                    <Route path=path!("/admin/users") view={Lazy::<routes::Users>::new()}/>
                    <Route path=path!("/admin/audit") view={Lazy::<routes::Audit>::new()}/>
                </Routes>
            </main>
        </Router>
    }
}
