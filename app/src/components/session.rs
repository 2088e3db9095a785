//! Who is signed in, available to every component, and role-gated rendering.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::api::access::{current_user, Logout};
use crate::components::saved_views::SavedViewsMenu;
use crate::error::AppError;
use crate::model::{Role, User};

/// The signed-in user, loaded once per page and shared through context.
#[derive(Clone, Copy)]
pub struct SessionUser(pub Resource<Result<Option<User>, AppError>>);

/// Blocking: the server answers with the user's menu and role-gated buttons already in the first
/// HTML (one session lookup, well under a millisecond) rather than streaming them in after the
/// page has painted, when they would push what is beside them aside (a layout shift).
pub fn provide_session_user() -> SessionUser {
    let user = SessionUser(Resource::new_blocking(|| (), |_| current_user()));
    provide_context(user);
    user
}

/// Renders `children` only for users with at least `role`.
#[component]
pub fn IfRole(role: Role, children: ChildrenFn) -> impl IntoView {
    let session = expect_context::<SessionUser>();
    view! {
        <Suspense fallback=|| ()>
            {
                let children = children.clone();
                move || Suspend::new({
                    let children = children.clone();
                    async move {
                        let allowed = matches!(session.0.await, Ok(Some(user)) if user.can(role));
                        allowed.then(|| children())
                    }
                })
            }
        </Suspense>
    }
}

/// Tells a user below `role` up front that `what` needs it, before they fill in a form the server
/// would refuse.
#[component]
pub fn RoleNotice(role: Role, what: &'static str) -> impl IntoView {
    let session = expect_context::<SessionUser>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match session.0.await {
                    Ok(Some(user)) if !user.can(role) => Some(view! {
                        <p class="notice" id="needs-role" role="note">
                            {format!(
                                "{what} needs the {} role; you are signed in as a {}. Ask an admin for access.",
                                role.as_str(),
                                user.role.as_str()
                            )}
                        </p>
                    }),
                    _ => None,
                }
            })}
        </Suspense>
    }
}

/// Where the sign-out form posts: the logout server function's address.
const LOGOUT_PATH: &str = <Logout as ServerFn>::PATH;

/// The header's right side: the user's name and role, and sign-out.
/// A link chosen in a header menu closes it: the router moves without reloading the page, which
/// would otherwise leave the menu open over the next one.
fn close_on_link(ev: leptos::ev::MouseEvent) {
    use web_sys::wasm_bindgen::JsCast;
    let on_link = (ev.target())
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("a").ok().flatten())
        .is_some();
    let menu = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
    if let (true, Some(menu)) = (on_link, menu) {
        let _ = menu.remove_attribute("open");
    }
}

#[component]
pub fn UserMenu() -> impl IntoView {
    let session = expect_context::<SessionUser>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match session.0.await {
                    Ok(Some(user)) => view! {
                        <div class="user-menu">
                            <SavedViewsMenu/>
                            <a href="/settings/tokens" class="user-name" title="Your API tokens">
                                {user.display_name.clone()}
                                <span class="role">{user.role.as_str()}</span>
                            </a>
                            // One menu rather than four links: with them the header wrapped
                            // onto a second line at desktop widths.
                            {user.can(Role::Admin).then(|| view! {
                                <details class="header-menu" id="admin-menu" on:click=close_on_link>
                                    <summary>"Admin"</summary>
                                    <div class="menu-panel">
                                        <a href="/admin/users">"Users"</a>
                                        <a href="/settings/hooks">"Hooks"</a>
                                        <a href="/settings/webhooks">"Webhooks"</a>
                                        <a href="/admin/audit">"Audit"</a>
                                    </div>
                                </details>
                            })}
                            // A plain form: the browser posts it and follows the answer's redirect
                            // to the sign-in page, a full page load, so nothing of the session
                            // stays on screen (and no form-handling code in every page's WASM).
                            <form method="post" action=LOGOUT_PATH class="inline">
                                <button type="submit" class="link">"Sign out"</button>
                            </form>
                        </div>
                    }
                    .into_any(),
                    _ => view! { <div class="user-menu"><a href="/login">"Sign in"</a></div> }.into_any(),
                }
            })}
        </Suspense>
    }
}
