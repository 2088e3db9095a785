//! The time zone every page shows times in: the browser's own. The browser names it in a cookie,
//! so the server renders the same text the browser will — a page never jumps from UTC to local
//! time after hydration. Until the cookie exists (the first page a browser ever opens, which is
//! the sign-in page) times are shown in UTC and switch once.
//!
//! The server converts with the tz database (`chrono-tz`); the browser asks `Intl`, so the WASM
//! carries no tz database. Both give the same offsets for the same zone.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Utc};
use leptos::prelude::*;

/// The cookie naming the browser's IANA time zone, e.g. `Asia/Kolkata`.
pub const ZONE_COOKIE: &str = "deploytrack_tz";

/// An IANA time zone known to be valid where it is used; UTC when nothing better is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone(String);

impl Default for Zone {
    fn default() -> Self {
        Zone("UTC".into())
    }
}

impl Zone {
    /// The zone named `name`, if this side knows it.
    pub fn named(name: &str) -> Option<Zone> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || !name.chars().all(valid_zone_char) {
            return None;
        }
        platform::is_known(name).then(|| Zone(name.to_string()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// The zone's offset from UTC at `at`.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        platform::offset_at(&self.0, at).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap())
    }

    /// `at` as this zone's wall-clock time.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.naive_utc() + Duration::seconds(self.offset_at(at).local_minus_utc().into())
    }

    /// `at` in the house format, e.g. "2026-10-17 19:58".
    pub fn format(&self, at: DateTime<Utc>) -> String {
        super::calendar::wall_clock_text(self.local(at))
    }

    /// "UTC+05:30", "UTC-04:00" or "UTC": which clock a shown time is on.
    pub fn offset_label(&self, at: DateTime<Utc>) -> String {
        let seconds = self.offset_at(at).local_minus_utc();
        if seconds == 0 {
            return "UTC".into();
        }
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.abs() / 60;
        format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// The instant a wall-clock time in this zone names: the earlier one when the clock goes back
    /// (the hour happens twice); in a spring-forward gap the time is read with the offset before
    /// the change (so 02:30 in a skipped hour becomes 03:30).
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let as_if_utc = local.and_utc();
        let day = Duration::days(1);
        let reading = |offset: FixedOffset| {
            let instant = as_if_utc - Duration::seconds(offset.local_minus_utc().into());
            (instant, self.offset_at(instant) == offset)
        };
        let before = reading(self.offset_at(as_if_utc - day));
        let after = reading(self.offset_at(as_if_utc + day));
        [before, after]
            .into_iter()
            .filter(|(_, consistent)| *consistent)
            .map(|(instant, _)| instant)
            .min()
            .unwrap_or(before.0)
    }

    /// Reads a wall-clock time typed in the house format ("2026-10-17 19:58"; a `T` instead of
    /// the space and seconds are accepted too).
    pub fn parse(&self, text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim().replacen('T', " ", 1);
        super::calendar::parse_wall_clock(&text).map(|local| self.to_utc(local))
    }
}

fn valid_zone_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+')
}

/// The zone this page shows times in, shared by every component (see [`provide_zone`]).
pub fn use_zone() -> Signal<Zone> {
    use_context::<RwSignal<Zone>>()
        .map(Signal::from)
        .unwrap_or_else(|| Signal::stored(Zone::default()))
}

/// Provides the display zone: the cookie's on both sides (so hydration renders what the server
/// did), then — in the browser, once the page is hydrated — the browser's own, remembered in the
/// cookie for next time.
pub fn provide_zone() {
    let zone = RwSignal::new(platform::cookie_zone().unwrap_or_default());
    provide_context(zone);
    crate::hydration::once_hydrated(move || {
        if let Some(actual) = platform::browser_zone() {
            if zone.get_untracked() != actual {
                platform::remember(&actual);
                zone.set(actual);
            }
        }
    });
}

/// Finds `ZONE_COOKIE` in a `Cookie` header value.
pub fn zone_from_cookie_header(header: &str) -> Option<Zone> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == ZONE_COOKIE)
        .and_then(|(_, value)| Zone::named(value))
}

#[cfg(feature = "ssr")]
mod platform {
    use super::*;
    use chrono::{Offset, TimeZone};

    pub fn is_known(name: &str) -> bool {
        name.parse::<chrono_tz::Tz>().is_ok()
    }

    pub fn offset_at(name: &str, at: DateTime<Utc>) -> Option<FixedOffset> {
        let tz: chrono_tz::Tz = name.parse().ok()?;
        Some(tz.offset_from_utc_datetime(&at.naive_utc()).fix())
    }

    pub fn cookie_zone() -> Option<Zone> {
        let parts = use_context::<http::request::Parts>()?;
        let header = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        zone_from_cookie_header(header)
    }

    pub fn browser_zone() -> Option<Zone> {
        None
    }

    pub fn remember(_: &Zone) {}
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
mod platform {
    use super::*;
    use chrono::{NaiveDate, Timelike};
    use js_sys::{Array, Intl, Object, Reflect};
    use std::cell::RefCell;
    use wasm_bindgen::{JsCast, JsValue};

    thread_local! {
        /// One formatter per zone asked about; building one is the slow part.
        static FORMATTERS: RefCell<Vec<(String, Intl::DateTimeFormat)>> = const { RefCell::new(Vec::new()) };
    }

    /// `Intl.DateTimeFormat("en-US", {timeZone, numeric fields, 24 h})`, or None for a zone the
    /// browser does not know (the constructor throws; `Reflect::construct` catches it).
    fn formatter(name: &str) -> Option<Intl::DateTimeFormat> {
        if let Some(found) = FORMATTERS
            .with_borrow(|all| all.iter().find(|(n, _)| n == name).map(|(_, f)| f.clone()))
        {
            return Some(found);
        }
        let options = Object::new();
        let set = |key: &str, value: &str| {
            let _ = Reflect::set(&options, &key.into(), &value.into());
        };
        set("timeZone", name);
        set("hourCycle", "h23");
        for field in ["year", "month", "day", "hour", "minute", "second"] {
            set(field, "numeric");
        }
        let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
        let constructor: js_sys::Function = Reflect::get(&intl, &"DateTimeFormat".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let args = Array::of2(&JsValue::from_str("en-US"), &options);
        let made: Intl::DateTimeFormat = Reflect::construct(&constructor, &args)
            .ok()?
            .unchecked_into();
        FORMATTERS.with_borrow_mut(|all| all.push((name.to_string(), made.clone())));
        Some(made)
    }

    pub fn is_known(name: &str) -> bool {
        formatter(name).is_some()
    }

    pub fn offset_at(name: &str, at: DateTime<Utc>) -> Option<FixedOffset> {
        let formatter = formatter(name)?;
        // Whole seconds: Intl has no sub-second fields, and offsets are whole minutes.
        let whole = at.naive_utc().with_nanosecond(0)?;
        let date = js_sys::Date::new(&JsValue::from_f64(whole.and_utc().timestamp_millis() as f64));
        let mut fields = [0i64; 6];
        for part in formatter.format_to_parts(&date).iter() {
            let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
            let value = Reflect::get(&part, &"value".into()).ok()?.as_string()?;
            let slot = ["year", "month", "day", "hour", "minute", "second"]
                .iter()
                .position(|k| *k == kind);
            if let Some(slot) = slot {
                fields[slot] = value.parse().ok()?;
            }
        }
        let [year, month, day, hour, minute, second] = fields;
        let wall = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)?.and_hms_opt(
            hour as u32,
            minute as u32,
            second as u32,
        )?;
        FixedOffset::east_opt((wall - whole).num_seconds() as i32)
    }

    fn html_document() -> Option<web_sys::HtmlDocument> {
        document().dyn_into::<web_sys::HtmlDocument>().ok()
    }

    pub fn cookie_zone() -> Option<Zone> {
        zone_from_cookie_header(&html_document()?.cookie().ok()?)
    }

    pub fn browser_zone() -> Option<Zone> {
        let options = Intl::DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options();
        let name = Reflect::get(&options, &"timeZone".into())
            .ok()?
            .as_string()?;
        Zone::named(&name)
    }

    /// Remembered for a year; the zone is no secret, and the server only ever reads it.
    pub fn remember(zone: &Zone) {
        if let Some(document) = html_document() {
            let _ = document.set_cookie(&format!(
                "{ZONE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                zone.name()
            ));
        }
    }
}

/// Neither side (plain unit tests of the crate): UTC only.
#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
mod platform {
    use super::*;

    pub fn is_known(name: &str) -> bool {
        name == "UTC"
    }

    pub fn offset_at(_: &str, _: DateTime<Utc>) -> Option<FixedOffset> {
        FixedOffset::east_opt(0)
    }

    pub fn cookie_zone() -> Option<Zone> {
        None
    }

    pub fn browser_zone() -> Option<Zone> {
        None
    }

    pub fn remember(_: &Zone) {}
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn times_are_written_on_the_users_clock() {
        let kolkata = Zone::named("Asia/Kolkata").unwrap();
        let instant = at("2026-10-17T14:28:00Z");
        assert_eq!(kolkata.format(instant), "2026-10-17 19:58");
        assert_eq!(kolkata.offset_label(instant), "UTC+05:30");
        assert_eq!(Zone::default().format(instant), "2026-10-17 14:28");
        assert_eq!(Zone::default().offset_label(instant), "UTC");
        let new_york = Zone::named("America/New_York").unwrap();
        assert_eq!(new_york.offset_label(instant), "UTC-04:00");
    }

    #[test]
    fn typed_times_are_read_on_the_users_clock_across_changes() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.parse("2026-07-01 12:00"),
            Some(at("2026-07-01T10:00:00Z"))
        );
        assert_eq!(
            berlin.parse("2026-01-01T12:00:30"),
            Some(at("2026-01-01T11:00:30Z"))
        );
        // 02:30 on 29 March 2026 does not exist in Berlin; it is read as 03:30 summer time.
        assert_eq!(
            berlin.parse("2026-03-29 02:30"),
            Some(at("2026-03-29T01:30:00Z"))
        );
        // 02:30 on 25 October happens twice; the first one is meant.
        assert_eq!(
            berlin.parse("2026-10-25 02:30"),
            Some(at("2026-10-25T00:30:00Z"))
        );
        assert_eq!(berlin.parse("17/10/2026 19:58"), None);
    }

    #[test]
    fn only_real_zone_names_are_believed() {
        assert!(Zone::named("Europe/Berlin").is_some());
        for bad in [
            "",
            "Mars/Olympus",
            "UTC; Path=/",
            "../etc",
            &"A".repeat(100),
        ] {
            assert_eq!(Zone::named(bad), None, "{bad}");
        }
        assert_eq!(
            zone_from_cookie_header("a=b; deploytrack_tz=Asia/Kolkata; c=d"),
            Zone::named("Asia/Kolkata")
        );
        assert_eq!(zone_from_cookie_header("deploytrack_tz=<script>"), None);
    }
}
