use leptos::prelude::*;
use leptos_meta::Title;

/// The landing page until the deployment dashboard arrives.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home"/>
        <section class="page">
            <h1>"deploytrack"</h1>
            <p class="lead">
                "Which version of which application runs in which environment, since when, and who put it there."
            </p>
            <div class="cards">
                <a class="card link-card" href="/applications">
                    <h2>"Applications"</h2>
                    <p>"The software you ship, and its versions."</p>
                </a>
                <a class="card link-card" href="/environments">
                    <h2>"Environments"</h2>
                    <p>"Where it runs, in pipeline order."</p>
                </a>
            </div>
        </section>
    }
}
