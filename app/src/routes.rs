//! Every page is a lazy route: its code (views, the server functions it calls, the DTOs it
//! decodes) is in a WASM chunk fetched the first time a page of its group is shown, so the
//! module every visit loads holds only the shell — router, header, session, clock — and the
//! reactive runtime (cargo-leptos `--split`).
//!
//! Pages are split in three groups, not one chunk each: the splitter puts code shared by any
//! set of splits in a file of its own, and sixteen splits made ~280 files, the dashboard alone
//! needing 127 requests (slower to hydrate than the single module was). With three groups a
//! page needs its group's file and at most three shared ones.

use leptos::lazy;
use leptos::prelude::*;
use leptos_router::LazyRoute;

use crate::pages::{
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
    policy::PolicyPage,
    record::RecordPage,
    tokens::TokensPage,
    users::UsersPage,
    webhooks::WebhooksPage,
};

/// `page_group!(loader / preload_loader, Pages { Route => Page, … })`: the route types `Route`,
/// each showing `<Page/>` through `loader`, one lazily loaded function per group (so one split);
/// `preload_loader` is the function `#[lazy]` makes to fetch its chunk. Pages read their
/// parameters and start their resources themselves, so a route carries no data of its own.
macro_rules! page_group {
    ($loader:ident / $preload:ident, $pages:ident { $($route:ident => $page:ident),* $(,)? }) => {
        #[derive(Clone, Copy)]
        pub enum $pages {
            $($route),*
        }

        #[lazy]
        fn $loader(page: $pages) -> AnyView {
            match page {
                $($pages::$route => view! { <$page/> }.into_any()),*
            }
        }

        $(
            pub struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $loader($pages::$route).await
                }

                // Hydration awaits this before it hydrates the route, and then needs the view at
                // once: without the chunk loaded, the route would hydrate as not yet loaded and
                // fail on the server's HTML.
                async fn preload() {
                    #[cfg(target_arch = "wasm32")]
                    $preload().await;
                }
            }
        )*
    };
}

// The landing page, on its own: what most visits need, and nothing else.
page_group!(load_dashboard / __preload_load_dashboard, DashboardPages { Dashboard => DashboardPage });

// Reading and recording: the catalogue, histories, comparison, insights, sign-in.
page_group!(load_reading / __preload_load_reading, ReadingPages {
    Applications => ApplicationsPage,
    Application => ApplicationPage,
    Environments => EnvironmentsPage,
    Environment => EnvironmentPage,
    Deployments => DeploymentsPage,
    Deployment => DeploymentPage,
    Compare => ComparePage,
    Insights => InsightsPage,
    Policy => PolicyPage,
    Record => RecordPage,
    Login => LoginPage,
});

// Settings and administration: visited rarely, by few.
page_group!(load_settings / __preload_load_settings, SettingsPages {
    Tokens => TokensPage,
    Hooks => HooksPage,
    Webhooks => WebhooksPage,
    Users => UsersPage,
    Audit => AuditPage,
});
