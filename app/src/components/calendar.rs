//! Days and wall-clock times as text in the house format ("2026-10-17", "2026-10-17 19:58"),
//! written and read by hand: chrono's format strings would bring their interpreter into the
//! browser's WASM for these few fixed patterns.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "2026-10-17".
pub fn day_text(day: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day())
}

/// "Oct 17": a chart's axis label.
pub fn short_day_text(day: NaiveDate) -> String {
    format!("{} {:02}", MONTHS[day.month0() as usize], day.day())
}

/// "2026-10-17 19:58": how every page writes a time.
pub fn wall_clock_text(at: NaiveDateTime) -> String {
    format!(
        "{} {:02}:{:02}",
        day_text(at.date()),
        at.hour(),
        at.minute()
    )
}

/// Reads "2026-10-17" (a four-digit year; month and day of one or two digits).
fn parse_day(text: &str) -> Option<NaiveDate> {
    let mut parts = text.split('-');
    let year = number(parts.next()?, 4..=4)?;
    let month = number(parts.next()?, 1..=2)?;
    let day = number(parts.next()?, 1..=2)?;
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(year as i32, month, day)
}

/// Reads "2026-10-17 19:58" or "2026-10-17 19:58:30".
pub fn parse_wall_clock(text: &str) -> Option<NaiveDateTime> {
    let (day, time) = text.split_once(' ')?;
    let mut parts = time.split(':');
    let hour = number(parts.next()?, 1..=2)?;
    let minute = number(parts.next()?, 2..=2)?;
    let second = parts.next().map_or(Some(0), |s| number(s, 2..=2))?;
    if parts.next().is_some() {
        return None;
    }
    parse_day(day)?.and_hms_opt(hour, minute, second)
}

/// `digits` as a number if it is only ASCII digits, as many as `len` allows.
fn number(digits: &str, len: std::ops::RangeInclusive<usize>) -> Option<u32> {
    if !len.contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_are_written_in_the_house_format() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(day_text(day), "2026-03-07");
        assert_eq!(short_day_text(day), "Mar 07");
        let at = day.and_hms_opt(9, 5, 59).unwrap();
        assert_eq!(wall_clock_text(at), "2026-03-07 09:05");
        // The same text chrono's format strings wrote before.
        assert_eq!(wall_clock_text(at), at.format("%Y-%m-%d %H:%M").to_string());
        assert_eq!(short_day_text(day), day.format("%b %d").to_string());
    }

    #[test]
    fn only_the_house_format_is_read() {
        let day = NaiveDate::from_ymd_opt(2026, 10, 17).unwrap();
        assert_eq!(parse_day("2026-10-17"), Some(day));
        assert_eq!(parse_day("2026-7-1"), NaiveDate::from_ymd_opt(2026, 7, 1));
        assert_eq!(
            parse_wall_clock("2026-10-17 19:58"),
            day.and_hms_opt(19, 58, 0)
        );
        assert_eq!(
            parse_wall_clock("2026-10-17 19:58:30"),
            day.and_hms_opt(19, 58, 30)
        );
        for bad in [
            "",
            "2026-02-30",
            "17/10/2026",
            "2026-10-17-1",
            "+2026-10-17",
            "2026-1a-17",
            "99999-01-01",
            "2026-10-17\0",
        ] {
            assert_eq!(parse_day(bad), None, "{bad:?}");
        }
        for bad in [
            "2026-10-17",
            "2026-10-17 24:00",
            "2026-10-17 19:5",
            "2026-10-17 19:58:61",
            "2026-10-17 19:58:30:1",
            "2026-10-17  19:58",
            "2026-10-17 -1:58",
        ] {
            assert_eq!(parse_wall_clock(bad), None, "{bad:?}");
        }
    }
}
