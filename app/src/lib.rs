#![forbid(unsafe_code)]
//! deploytrack's shared Leptos crate: pages, components, DTOs, server functions and — on the
//! server only — the service layer and the storage contract.

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::header::SiteHeader;
use components::session::provide_session_user;
use pages::{
    application::ApplicationPage,
    applications::ApplicationsPage,
    audit::AuditPage,
    compare::ComparePage,
    dashboard::DashboardPage,
    deployments::{DeploymentPage, DeploymentsPage},
    environment::EnvironmentPage,
    environments::EnvironmentsPage,
    hooks::HooksPage,
    insights::InsightsPage,
    login::LoginPage,
    record::RecordPage,
    tokens::TokensPage,
    users::UsersPage,
    webhooks::WebhooksPage,
};

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
                <HydrationScripts options/>
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
    // Effects only run in the browser: this marks the moment the page became interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|page: String| format!("{page} · deploytrack")/>
        <Router>
            <SiteHeader/>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/") view=DashboardPage/>
                    <Route path=path!("/applications") view=ApplicationsPage/>
                    <Route path=path!("/applications/:id") view=ApplicationPage/>
                    <Route path=path!("/environments") view=EnvironmentsPage/>
                    <Route path=path!("/environments/:id") view=EnvironmentPage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/deployments") view=DeploymentsPage/>
                    <Route path=path!("/compare") view=ComparePage/>
                    <Route path=path!("/insights") view=InsightsPage/>
                    <Route path=path!("/deployments/new") view=RecordPage/>
                    <Route path=path!("/deployments/:id") view=DeploymentPage/>
                    <Route path=path!("/settings/tokens") view=TokensPage/>
                    <Route path=path!("/settings/hooks") view=HooksPage/>
                    <Route path=path!("/settings/webhooks") view=WebhooksPage/>
                    <Route path=path!("/admin/users") view=UsersPage/>
                    <Route path=path!("/admin/audit") view=AuditPage/>
                </Routes>
            </main>
        </Router>
    }
}
