//! The pieces every page repeats around loaded data: "Loading…" then the view or the error, and
//! the `<option>`s of an id `<select>` with the chosen one preselected.

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{Application, Environment, Team};

/// `render(value)` once `resource` has loaded; before, `placeholder` (by default "Loading…"), the
/// error's message if it failed. A placeholder shaped like the view keeps the page from jumping
/// when the data arrives.
#[component]
pub fn Loaded<T, V, F>(
    resource: Resource<Result<T, AppError>>,
    render: F,
    #[prop(optional, into)] placeholder: Option<ViewFn>,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    let fallback = move || match &placeholder {
        Some(placeholder) => placeholder.run(),
        None => view! { <p class="empty">"Loading…"</p> }.into_any(),
    };
    view! {
        <Transition fallback>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => render(value).into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Something a `<select>` offers by id.
pub trait Choice {
    fn id(&self) -> Uuid;
    fn label(&self) -> String;
}

impl Choice for Application {
    fn id(&self) -> Uuid {
        self.id
    }
    fn label(&self) -> String {
        self.name.clone()
    }
}

impl Choice for Environment {
    fn id(&self) -> Uuid {
        self.id
    }
    fn label(&self) -> String {
        self.name.clone()
    }
}

impl Choice for Team {
    fn id(&self) -> Uuid {
        self.id
    }
    fn label(&self) -> String {
        self.name.clone()
    }
}

/// A "Team" `<select>` named `team` for a filter form: all, the reader's own teams (`mine`), or
/// one team (by id) of `teams` (the page's resource, made outside any `Suspend`). The chosen
/// one is the page's `?team=`.
#[component]
pub fn TeamFilter(
    teams: Resource<Result<Vec<Team>, AppError>>,
    #[prop(into)] selected: Signal<String>,
) -> impl IntoView {
    view! {
        <label>"Team"
            <select name="team" id="team-filter">
                <option value="">"All"</option>
                <option value="mine" selected=move || selected.get().eq_ignore_ascii_case("mine")>"My teams"</option>
                <IdOptions resource=teams selected/>
            </select>
        </label>
    }
}

/// One `<option>` per loaded item, the one whose id is `selected` preselected (for a `<select>`
/// whose first, empty option is the caller's).
#[component]
pub fn IdOptions<T>(
    resource: Resource<Result<Vec<T>, AppError>>,
    #[prop(into)] selected: Signal<String>,
) -> impl IntoView
where
    T: Choice + Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let chosen = selected.get();
                resource.await.unwrap_or_default().into_iter().map(|item| {
                    let id = item.id().to_string();
                    let is_selected = id == chosen;
                    view! { <option value=id selected=is_selected>{item.label()}</option> }
                }).collect_view()
            })}
        </Suspense>
    }
}
