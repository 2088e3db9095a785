//! The deploy policy's rules that need no database (issue 35): reading ISO 8601 durations, time
//! zones and RFC 5545 recurrence rules (the `rrule` crate), and a freeze's occurrences.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};

use crate::error::FieldError;
use crate::model::{FreezeOccurrence, FREEZE_COUNT_MAX, POLICY_SPAN_MAX_DAYS};
use crate::ssr::store::{FreezeEndRecord, FreezeRecord};

pub const RRULE_MAX: usize = 500;
/// Occurrences one listing expands at most per freeze.
pub const OCCURRENCES_LISTED_MAX: usize = 500;

/// An ISO 8601 duration as RFC 5545 reads it: weeks and days are nominal (a day is a calendar
/// day in the freeze's time zone, 23 or 25 hours across a daylight-saving change), hours,
/// minutes and seconds exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub days: i64,
    pub seconds: i64,
}

impl Span {
    /// Its length counting every day as 24 hours.
    pub fn approximate(self) -> Duration {
        Duration::seconds(self.days * 86_400 + self.seconds)
    }

    /// `start` plus this span, its days counted on the calendar of `zone`.
    pub fn after(self, start: DateTime<Utc>, zone: chrono_tz::Tz) -> DateTime<Utc> {
        let local = start.with_timezone(&zone).naive_local() + Duration::days(self.days);
        let days_later = zone
            .from_local_datetime(&local)
            .earliest()
            // A local time skipped by a daylight-saving change: an hour later exists.
            .or_else(|| {
                zone.from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map_or(start + Duration::days(self.days), |t| t.with_timezone(&Utc));
        days_later + Duration::seconds(self.seconds)
    }
}

/// Reads an ISO 8601 duration of weeks, days, hours, minutes and seconds (years and months have
/// no fixed length): at most [`POLICY_SPAN_MAX_DAYS`]; zero only when `zero_allowed`.
pub fn parse_duration(
    field: &str,
    text: &str,
    zero_allowed: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Duration> {
    parse_span(field, text, zero_allowed, errors).map(Span::approximate)
}

/// As [`parse_duration`], keeping days apart from exact time.
pub fn parse_span(
    field: &str,
    text: &str,
    zero_allowed: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Span> {
    let text = text.trim();
    let shape_ok = text.len() <= 40
        && text.starts_with('P')
        && text[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'W' | 'D' | 'T' | 'H' | 'M' | 'S' | 'Y'));
    let parsed = shape_ok.then(|| iso8601::duration(text).ok()).flatten();
    let span: Option<Span> = match parsed {
        Some(iso8601::Duration::Weeks(weeks)) => Some(Span {
            days: i64::from(weeks) * 7,
            seconds: 0,
        }),
        Some(iso8601::Duration::YMDHMS {
            year: 0,
            month: 0,
            day,
            hour,
            minute,
            second,
            millisecond: 0,
        }) => Some(Span {
            days: i64::from(day),
            seconds: i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second),
        }),
        Some(iso8601::Duration::YMDHMS { year, month, .. }) if year > 0 || month > 0 => {
            errors.push(FieldError::new(
                field,
                "years and months have no fixed length: give weeks, days, hours, minutes or seconds (e.g. P14D)",
            ));
            return None;
        }
        _ => None,
    };
    let Some(span) = span else {
        errors.push(FieldError::new(
            field,
            "must be an ISO 8601 duration such as PT24H, P2DT12H or P1W",
        ));
        return None;
    };
    let seconds = span.approximate().num_seconds();
    if seconds > POLICY_SPAN_MAX_DAYS * 86_400 {
        errors.push(FieldError::new(
            field,
            format!("must be at most {POLICY_SPAN_MAX_DAYS} days (P{POLICY_SPAN_MAX_DAYS}D)"),
        ));
        return None;
    }
    if seconds == 0 && !zero_allowed {
        errors.push(FieldError::new(field, "must be longer than zero"));
        return None;
    }
    Some(span)
}

/// An IANA time zone by its name (`Europe/Berlin`).
pub fn parse_time_zone(
    field: &str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<chrono_tz::Tz> {
    match chrono_tz::Tz::from_str(name.trim()) {
        Ok(zone) => Some(zone),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "must be an IANA time zone name such as Europe/Berlin, America/New_York or UTC",
            ));
            None
        }
    }
}

/// Midnight at the start of `at`'s day in `zone` (or the first instant of that day, where a
/// daylight-saving change skips midnight).
pub fn local_midnight(at: DateTime<Utc>, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let day = at.with_timezone(&zone).date_naive();
    (0..4)
        .find_map(|hour| {
            zone.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?))
                .earliest()
        })
        .map_or(at, |local| local.with_timezone(&Utc))
}

/// A recurrence rule as accepted: RFC 5545 (an `RRULE:` prefix is allowed), DAILY to YEARLY,
/// at most [`FREEZE_COUNT_MAX`] occurrences, and at least one occurrence from `anchor` on.
pub fn parse_rrule(
    field: &str,
    text: &str,
    anchor: DateTime<Utc>,
    zone: chrono_tz::Tz,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let text = text.trim();
    let text = text.strip_prefix("RRULE:").unwrap_or(text);
    if text.len() > RRULE_MAX || text.is_empty() {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {RRULE_MAX} characters"),
        ));
        return None;
    }
    let rule = match RRule::<Unvalidated>::from_str(text) {
        Ok(rule) => rule,
        Err(err) => {
            errors.push(FieldError::new(
                field,
                format!("is not an RFC 5545 recurrence rule: {err}"),
            ));
            return None;
        }
    };
    if !matches!(
        rule.get_freq(),
        Frequency::Daily | Frequency::Weekly | Frequency::Monthly | Frequency::Yearly
    ) {
        errors.push(FieldError::new(
            field,
            "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY (a freeze repeats at most daily)",
        ));
        return None;
    }
    if rule
        .get_count()
        .is_some_and(|count| count > FREEZE_COUNT_MAX)
    {
        errors.push(FieldError::new(
            field,
            format!("COUNT must be at most {FREEZE_COUNT_MAX}"),
        ));
        return None;
    }
    let set = match rule.build(anchor.with_timezone(&rrule::Tz::Tz(zone))) {
        Ok(set) => set.limit(),
        Err(err) => {
            errors.push(FieldError::new(field, format!("is not valid: {err}")));
            return None;
        }
    };
    if set.into_iter().next().is_none() {
        errors.push(FieldError::new(
            field,
            "never occurs (check BYMONTH, BYMONTHDAY, UNTIL and COUNT)",
        ));
        return None;
    }
    Some(text.to_string())
}

/// When a freeze blocks: one window, or a rule's occurrences of a fixed length.
pub enum Schedule {
    Once {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    Recurring {
        set: Box<RRuleSet>,
        length: Span,
        zone: chrono_tz::Tz,
    },
}

impl Schedule {
    /// The schedule of a stored freeze (validated when it was created); None if it cannot be
    /// read any more (logged).
    pub fn of(freeze: &FreezeRecord) -> Option<Schedule> {
        let schedule = match (&freeze.rrule, &freeze.duration, freeze.ends_at) {
            (None, _, Some(ends_at)) => Some(Schedule::Once {
                starts_at: freeze.starts_at,
                ends_at,
            }),
            (Some(rule), Some(duration), _) => {
                let mut errors = vec![];
                let zone = parse_time_zone("timeZone", &freeze.time_zone, &mut errors);
                let length = parse_span("duration", duration, false, &mut errors);
                zone.zip(length).and_then(|(zone, length)| {
                    let set = RRule::<Unvalidated>::from_str(rule)
                        .ok()?
                        .build(freeze.starts_at.with_timezone(&rrule::Tz::Tz(zone)))
                        .ok()?;
                    Some(Schedule::Recurring {
                        set: Box::new(set.limit()),
                        length,
                        zone,
                    })
                })
            }
            _ => None,
        };
        if schedule.is_none() {
            tracing::warn!(freeze = %freeze.id, "a stored freeze's schedule cannot be read; it is ignored");
        }
        schedule
    }

    /// The occurrences that overlap `from..to` (at most `max`), in order of start.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        match self {
            Schedule::Once { starts_at, ends_at } => {
                if *starts_at < to && *ends_at > from {
                    vec![(*starts_at, *ends_at)]
                } else {
                    vec![]
                }
            }
            Schedule::Recurring { set, length, zone } => set
                .as_ref()
                .into_iter()
                .map(|start| {
                    let start = start.with_timezone(&Utc);
                    (start, length.after(start, *zone))
                })
                .skip_while(|(_, end)| *end <= from)
                .take_while(|(start, _)| *start < to)
                .take(max)
                .collect(),
        }
    }

    /// The occurrences that hold at `at` (start inclusive, end exclusive).
    pub fn active_at(&self, at: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.occurrences(at, at + Duration::microseconds(1), 16)
    }

    /// The first occurrence that starts after `at`.
    pub fn next_after(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match self {
            Schedule::Once { starts_at, ends_at } => {
                (*starts_at > at).then_some((*starts_at, *ends_at))
            }
            Schedule::Recurring { set, length, zone } => set
                .as_ref()
                .into_iter()
                .map(|start| start.with_timezone(&Utc))
                .find(|start| *start > at)
                .map(|start| (start, length.after(start, *zone))),
        }
    }
}

/// Occurrences worked out ahead of their use: at most this many per freeze.
const EXPANDED_MAX: usize = 20_000;
/// How far around now a schedule is worked out (the widest listing range, with room to spare).
const EXPANDED_AHEAD: Duration = Duration::days(800);
const EXPANDED_BEHIND: Duration = Duration::days(800);

/// A schedule with its occurrences worked out once, from a little over two years ago to a
/// horizon as far ahead: a freeze never changes, so a check looks its occurrences up (a binary
/// search) instead of iterating its rule from its start every time. Outside that span (an old
/// deployment's date, a far-off listing) the rule is iterated.
pub struct Expanded {
    schedule: Schedule,
    windows: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Every occurrence that ends after this instant (and starts before the horizon) is in
    /// `windows`.
    low: DateTime<Utc>,
    /// Every occurrence starting before this instant is in `windows`.
    horizon: DateTime<Utc>,
    /// The longest occurrence (how far back one that still holds may have started).
    longest: Duration,
}

impl Expanded {
    pub fn new(schedule: Schedule, now: DateTime<Utc>) -> Expanded {
        let (low, ahead) = (now - EXPANDED_BEHIND, now + EXPANDED_AHEAD);
        let windows = schedule.occurrences(low, ahead, EXPANDED_MAX);
        // Cut short: only what starts before the last one listed is known to be complete.
        let horizon = if windows.len() == EXPANDED_MAX {
            windows.last().map_or(ahead, |(start, _)| *start)
        } else {
            ahead
        };
        let longest = windows
            .iter()
            .map(|(start, end)| *end - *start)
            .max()
            .unwrap_or_default();
        Expanded {
            schedule,
            windows,
            low,
            horizon,
            longest,
        }
    }

    /// True while `now` is far enough from the horizon for any listing to be answered.
    pub fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        now + Duration::days(crate::model::FREEZE_RANGE_MAX_DAYS + 30) < self.horizon
    }

    /// As [`Schedule::occurrences`].
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if from < self.low || to > self.horizon {
            return self.schedule.occurrences(from, to, max);
        }
        let first = self
            .windows
            .partition_point(|(start, _)| *start <= from - self.longest);
        self.windows[first..]
            .iter()
            .filter(|(_, end)| *end > from)
            .take_while(|(start, _)| *start < to)
            .take(max)
            .copied()
            .collect()
    }

    /// As [`Schedule::active_at`].
    pub fn active_at(&self, at: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.occurrences(at, at + Duration::microseconds(1), 16)
    }

    /// As [`Schedule::next_after`].
    pub fn next_after(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let next = self.windows.partition_point(|(start, _)| *start <= at);
        match self.windows.get(next) {
            Some(window) if at >= self.low && window.0 < self.horizon => Some(*window),
            // Past what was worked out (or none left in it): ask the rule.
            _ => self.schedule.next_after(at),
        }
    }
}

/// An occurrence as shown, with its early end if it had one.
pub fn occurrence(
    freeze_id: uuid::Uuid,
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
    ends: &[FreezeEndRecord],
) -> FreezeOccurrence {
    let early = ends
        .iter()
        .find(|end| end.freeze_id == freeze_id && end.occurrence_start == starts_at);
    FreezeOccurrence {
        starts_at,
        ends_at,
        ended_at: early.map(|end| end.ended_at),
        ended_by: early.map(|end| end.ended_by.clone()),
        end_reason: early.map(|end| end.reason.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(text: &str) -> Result<i64, String> {
        let mut errors = vec![];
        parse_duration("d", text, false, &mut errors)
            .map(|d| d.num_seconds())
            .ok_or_else(|| errors[0].message.clone())
    }

    #[test]
    fn durations_are_fixed_lengths_within_a_year() {
        assert_eq!(duration("PT64H"), Ok(64 * 3600));
        assert_eq!(duration("P2DT12H"), Ok(60 * 3600));
        assert_eq!(duration("P1W"), Ok(7 * 86_400));
        assert_eq!(duration("P366D"), Ok(366 * 86_400));
        assert!(duration("P999Y").unwrap_err().contains("no fixed length"));
        assert!(duration("P1M").unwrap_err().contains("no fixed length"));
        assert!(duration("P367D").unwrap_err().contains("at most 366 days"));
        assert!(duration("-PT1H").unwrap_err().contains("ISO 8601"));
        assert!(duration("PT0S").unwrap_err().contains("longer than zero"));
        assert!(duration("1 hour").unwrap_err().contains("ISO 8601"));
        assert!(duration("PT1H\0").unwrap_err().contains("ISO 8601"));
    }

    fn rule(text: &str) -> Result<String, String> {
        let mut errors = vec![];
        let anchor = "2026-01-01T00:00:00Z".parse().unwrap();
        parse_rrule(
            "rrule",
            text,
            anchor,
            chrono_tz::Europe::Berlin,
            &mut errors,
        )
        .ok_or_else(|| errors[0].message.clone())
    }

    /// The worked-out occurrences answer exactly what iterating the rule answers.
    #[test]
    fn expanded_schedules_answer_as_the_rule_does() {
        let anchor: DateTime<Utc> = "2023-06-01T00:00:00Z".parse().unwrap();
        let zone = chrono_tz::Europe::Berlin;
        let rule = RRule::<Unvalidated>::from_str("FREQ=WEEKLY;BYDAY=FR,MO;BYHOUR=16")
            .unwrap()
            .build(anchor.with_timezone(&rrule::Tz::Tz(zone)))
            .unwrap();
        let schedule = || Schedule::Recurring {
            set: Box::new(rule.clone().limit()),
            length: Span {
                days: 2,
                seconds: 0,
            },
            zone,
        };
        let now: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        let expanded = Expanded::new(schedule(), now);
        assert!(expanded.fresh_at(now));
        let plain = schedule();
        let mut at = anchor - Duration::days(3);
        while at < now + Duration::days(900) {
            assert_eq!(expanded.active_at(at), plain.active_at(at), "{at}");
            assert_eq!(expanded.next_after(at), plain.next_after(at), "{at}");
            let to = at + Duration::days(20);
            assert_eq!(
                expanded.occurrences(at, to, 5),
                plain.occurrences(at, to, 5),
                "{at}"
            );
            at += Duration::hours(31);
        }
    }

    #[test]
    fn rules_are_rfc_5545_and_bounded() {
        assert!(rule("FREQ=WEEKLY;BYDAY=FR;BYHOUR=16").is_ok());
        assert!(rule("RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20").is_ok());
        assert!(rule("FREQ=SECONDLY").unwrap_err().contains("FREQ must be"));
        assert!(rule("FREQ=HOURLY;BYMINUTE=0")
            .unwrap_err()
            .contains("FREQ must be"));
        assert!(rule("FREQ=DAILY;COUNT=10000000")
            .unwrap_err()
            .contains("COUNT"));
        assert!(rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")
            .unwrap_err()
            .contains("never occurs"));
        assert!(rule("NOT A RULE").unwrap_err().contains("RFC 5545"));
        assert!(rule(&"FREQ=DAILY;".repeat(100))
            .unwrap_err()
            .contains("characters"));
    }
}
