#![forbid(unsafe_code)]
//! The browser entry point: hydrates the server-rendered page and nothing else.

use leptos::prelude::document;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Pages are lazy routes (their code is fetched as the page is hydrated), so hydration is
    // asynchronous; what waits for its end is told when it is done.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let Some(body) = document().body() else {
            return;
        };
        let mounted = leptos::mount::hydrate_from_async(body, app::App).await;
        mounted.forget();
        app::hydration::finished();
    });
}
