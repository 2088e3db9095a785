//! Live updates: a counter that goes up whenever anyone records or retracts a deployment, fed by
//! the server-sent events at `/api/events`. Resources that read it refetch by themselves.
//!
//! The browser retries a dropped feed by itself, but gives up for good when the server answers
//! with an error (a restart behind a proxy, a full live-feed quota): then the page reconnects
//! after 1 s, 2 s, 4 s … at most a minute, and counts one update on reconnecting, since events
//! may have been missed meanwhile.

use leptos::prelude::*;

/// The longest wait between reconnection attempts.
const MAX_BACKOFF_MS: u32 = 60_000;

/// Waits before reconnection attempt `attempt` (0-based): 1 s doubling, capped.
pub fn backoff_ms(attempt: u32) -> u32 {
    1_000u32
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF_MS)
}

pub fn use_deployment_events() -> ReadSignal<u64> {
    let (tick, set_tick) = signal(0u64);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let feed = send_wrapper::SendWrapper::new(feed::Feed::start(set_tick));
        on_cleanup(move || feed.stop());
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_tick;
    tick
}

#[cfg(feature = "hydrate")]
mod feed {
    use super::*;
    use gloo_timers::callback::Timeout;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    /// The open event source, or the timer that will open the next one.
    #[derive(Default)]
    struct State {
        source: Option<EventSource>,
        retry: Option<Timeout>,
        attempt: u32,
        stopped: bool,
    }

    #[derive(Clone)]
    pub struct Feed(Rc<RefCell<State>>);

    impl Feed {
        pub fn start(set_tick: WriteSignal<u64>) -> Feed {
            let feed = Feed(Rc::default());
            feed.connect(set_tick);
            feed
        }

        pub fn stop(&self) {
            let mut state = self.0.borrow_mut();
            state.stopped = true;
            state.retry = None;
            if let Some(source) = state.source.take() {
                source.close();
            }
        }

        fn connect(&self, set_tick: WriteSignal<u64>) {
            let Ok(source) = EventSource::new("/api/events") else {
                return;
            };
            let on_event = Closure::<dyn FnMut(MessageEvent)>::new(move |_| {
                set_tick.update(|n| *n += 1);
            });
            let _ = source
                .add_event_listener_with_callback("deployment", on_event.as_ref().unchecked_ref());
            on_event.forget();
            let feed = self.clone();
            let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                let mut state = feed.0.borrow_mut();
                if state.attempt > 0 {
                    // Whatever happened while disconnected: refetch once.
                    set_tick.update(|n| *n += 1);
                }
                state.attempt = 0;
            });
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            on_open.forget();
            let feed = self.clone();
            let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                feed.retry_if_closed(set_tick);
            });
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
            self.0.borrow_mut().source = Some(source);
        }

        /// The browser stopped retrying by itself: try again later.
        fn retry_if_closed(&self, set_tick: WriteSignal<u64>) {
            let mut state = self.0.borrow_mut();
            let closed = state
                .source
                .as_ref()
                .is_some_and(|s| s.ready_state() == EventSource::CLOSED);
            if !closed || state.stopped {
                return;
            }
            if let Some(source) = state.source.take() {
                source.close();
            }
            let wait = backoff_ms(state.attempt);
            state.attempt += 1;
            let feed = self.clone();
            state.retry = Some(Timeout::new(wait, move || {
                if !feed.0.borrow().stopped {
                    feed.connect(set_tick);
                }
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn reconnection_waits_double_up_to_a_minute() {
        assert_eq!(backoff_ms(0), 1_000);
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(6), 60_000);
        assert_eq!(backoff_ms(40), 60_000);
    }
}
