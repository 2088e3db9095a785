//! Live updates: a counter that goes up whenever anyone records or retracts a deployment, fed by
//! the server-sent events at `/api/events`. Resources that read it refetch by themselves.

use leptos::prelude::*;

pub fn use_deployment_events() -> ReadSignal<u64> {
    let (tick, set_tick) = signal(0u64);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Ok(source) = web_sys::EventSource::new("/api/events") else {
            return;
        };
        let on_event = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            set_tick.update(|n| *n += 1);
        });
        let _ = source
            .add_event_listener_with_callback("deployment", on_event.as_ref().unchecked_ref());
        on_event.forget();
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || source.close());
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_tick;
    tick
}
