//! Timers in the browser (gloo-timers): one clock per page for relative times, and a one-shot
//! timer slot where a later call replaces an earlier one (debouncing, notices that fade). On the
//! server there is no waiting: nothing ticks, and a delayed action runs at once.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// How often relative times ("3 minutes ago") are brought up to date.
#[cfg(feature = "hydrate")]
const CLOCK_TICK_MS: u32 = 30_000;

/// The current time, refreshed every [`CLOCK_TICK_MS`] while the page is open.
#[derive(Clone, Copy)]
struct Clock(ReadSignal<DateTime<Utc>>);

/// Starts the page's clock (one timer for every relative time on the page).
pub fn provide_clock() {
    // The browser starts from the server's "now" (sent with the page), so hydration finds the
    // relative times as the server wrote them: a "just now" becoming "1 minute ago" in between
    // would change the text, and with it the width of a matrix column (a layout shift). The
    // first tick brings them up to date.
    let rendered_at = SharedValue::new(Utc::now).into_inner();
    let (now, set_now) = signal(rendered_at);
    provide_context(Clock(now));
    #[cfg(feature = "hydrate")]
    crate::hydration::once_hydrated(move || {
        gloo_timers::callback::Interval::new(CLOCK_TICK_MS, move || set_now.set(Utc::now()))
            .forget();
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_now;
}

/// The page's clock, or a fixed "now" outside one.
pub fn use_now() -> Signal<DateTime<Utc>> {
    use_context::<Clock>()
        .map(|clock| clock.0.into())
        .unwrap_or_else(|| Signal::stored(Utc::now()))
}

/// A slot for one pending action: scheduling another cancels the one still waiting.
#[derive(Clone, Copy)]
pub struct Delayed {
    #[cfg(feature = "hydrate")]
    pending: StoredValue<Option<gloo_timers::callback::Timeout>, LocalStorage>,
}

impl Delayed {
    pub fn new() -> Self {
        Delayed {
            #[cfg(feature = "hydrate")]
            pending: StoredValue::new_local(None),
        }
    }

    /// Runs `action` after `delay_ms`, unless `after` is called again first.
    pub fn after(&self, delay_ms: u32, action: impl FnOnce() + 'static) {
        #[cfg(feature = "hydrate")]
        self.pending
            .set_value(Some(gloo_timers::callback::Timeout::new(delay_ms, action)));
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = delay_ms;
            action();
        }
    }
}

impl Default for Delayed {
    fn default() -> Self {
        Self::new()
    }
}
