//! Dates as people read them: relative ("3 days ago") with the exact instant on hover, or the
//! exact instant, always in one format on the user's own clock.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::components::timers::use_now;
use crate::components::zone::use_zone;

/// "just now", "5 minutes ago", "3 days ago", "in 2 hours" — relative to `now`.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    let (amount, future) = if seconds < 0 {
        (-seconds, true)
    } else {
        (seconds, false)
    };
    if amount < 45 {
        return "just now".into();
    }
    let (value, unit) = match amount {
        s if s < 3_600 => ((s + 30) / 60, "minute"),
        s if s < 86_400 => ((s + 1_800) / 3_600, "hour"),
        s if s < 86_400 * 45 => ((s + 43_200) / 86_400, "day"),
        s if s < 86_400 * 365 => ((s + 86_400 * 15) / (86_400 * 30), "month"),
        s => ((s + 86_400 * 182) / (86_400 * 365), "year"),
    };
    let plural = if value == 1 { "" } else { "s" };
    if future {
        format!("in {value} {unit}{plural}")
    } else {
        format!("{value} {unit}{plural} ago")
    }
}

/// The exact instant on the user's clock (see [`crate::components::zone`]), e.g.
/// "2026-11-27 10:15"; `with_zone` adds which clock that is ("UTC+05:30") where it matters.
/// The text is the same on the server and in the browser, so hydration changes nothing.
#[component]
pub fn Timestamp(at: DateTime<Utc>, #[prop(optional)] with_zone: bool) -> impl IntoView {
    let zone = use_zone();
    let iso = at.to_rfc3339();
    let text = move || {
        zone.with(|z| {
            if with_zone {
                format!("{} ({})", z.format(at), z.offset_label(at))
            } else {
                z.format(at)
            }
        })
    };
    view! { <time datetime=iso.clone() title=iso>{text}</time> }
}

/// "3 days ago", kept up to date while the page stays open, with the exact time on the user's
/// clock on hover.
#[component]
pub fn Ago(at: DateTime<Utc>) -> impl IntoView {
    let zone = use_zone();
    let now = use_now();
    let iso = at.to_rfc3339();
    let text = move || relative(at, now.get());
    let title = move || zone.with(|z| format!("{} ({})", z.format(at), z.offset_label(at)));
    view! { <time datetime=iso title=title>{text}</time> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative(now - Duration::seconds(10), now), "just now");
        assert_eq!(relative(now - Duration::minutes(5), now), "5 minutes ago");
        assert_eq!(relative(now - Duration::hours(1), now), "1 hour ago");
        assert_eq!(relative(now - Duration::days(3), now), "3 days ago");
        assert_eq!(relative(now - Duration::days(120), now), "4 months ago");
        assert_eq!(relative(now - Duration::days(800), now), "2 years ago");
        assert_eq!(relative(now + Duration::hours(2), now), "in 2 hours");
    }
}
