//! Work that must wait until the whole page is hydrated. Pages are lazy routes, so hydration is
//! asynchronous: the shell's effects run while a page's chunk is still loading, and a signal they
//! change before the page is hydrated leaves the page's server-rendered text in place (it is
//! adopted as it is, with the new value already current, so no change is ever drawn). The
//! browser's time zone and the clock's catch-up therefore wait for [`finished`], which the entry
//! point calls once hydration is done. On the server nothing waits: nothing here runs.

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};

    thread_local! {
        static DONE: Cell<bool> = const { Cell::new(false) };
        static WAITING: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
    }

    pub fn once_hydrated(action: impl FnOnce() + 'static) {
        if DONE.get() {
            action();
        } else {
            WAITING.with_borrow_mut(|waiting| waiting.push(Box::new(action)));
        }
    }

    pub fn finished() {
        DONE.set(true);
        for action in WAITING.take() {
            action();
        }
        if let Some(body) = leptos::prelude::document().body() {
            // What tests and the browser benchmark wait for: the page is interactive.
            let _ = body.set_attribute("data-hydrated", "true");
        }
    }
}

/// Runs `action` once the page is hydrated (at once if it already is); never on the server.
pub fn once_hydrated(action: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    browser::once_hydrated(action);
    #[cfg(not(feature = "hydrate"))]
    let _ = action;
}

/// Called by the browser entry point when hydration is done: runs what waited for it and marks
/// `<body data-hydrated>`.
#[cfg(feature = "hydrate")]
pub fn finished() {
    browser::finished();
}
