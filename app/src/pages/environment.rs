use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::catalog::get_environment;
use crate::components::timestamp::Timestamp;
use crate::error::AppError;

use super::id_param;

#[component]
pub fn EnvironmentPage() -> impl IntoView {
    let id = id_param();
    let environment = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_environment(id).await,
            None => Err(AppError::NotFound("environment not found".into())),
        }
    });

    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match environment.await {
                        Ok(env) => view! {
                            <Title text=env.name.clone()/>
                            <p class="crumbs"><a href="/environments">"Environments"</a>" / "</p>
                            <h1>
                                {env.name.clone()}
                                {env.is_production.then(|| view! { <span class="badge prod">"production"</span> })}
                                {env.archived_at.map(|_| view! { <span class="badge">"archived"</span> })}
                            </h1>
                            <dl class="facts card">
                                <dt>"Description"</dt>
                                <dd>{env.description.clone().unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Pipeline position"</dt>
                                <dd>{env.position}</dd>
                                <dt>"Created"</dt>
                                <dd><Timestamp at=env.created_at/></dd>
                            </dl>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
