//! Dates as people read them.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// The exact instant, machine-readable in `datetime` and readable on screen.
#[component]
pub fn Timestamp(at: DateTime<Utc>) -> impl IntoView {
    let iso = at.to_rfc3339();
    let shown = at.format("%Y-%m-%d %H:%M UTC").to_string();
    view! { <time datetime=iso.clone() title=iso>{shown}</time> }
}
