//! The instants the rules share: the clock (to the microsecond), the skew allowed ahead of it,
//! and week boundaries.

use chrono::{DateTime, Datelike, Duration, SubsecRound, Utc};

use crate::model::CLOCK_SKEW_SECONDS;

/// Timestamps are kept to the microsecond so both backends store them exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// How far ahead of the server's clock a deployment date may be (clock skew between machines).
pub const CLOCK_SKEW: Duration = Duration::seconds(CLOCK_SKEW_SECONDS);

/// Monday 00:00 UTC of the week containing `at`.
pub fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let date = at.date_naive() - Duration::days(at.weekday().num_days_from_monday() as i64);
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_midnight_utc() {
        let thursday = DateTime::parse_from_rfc3339("2026-11-26T15:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            week_start(thursday).to_rfc3339(),
            "2026-11-23T00:00:00+00:00"
        );
    }
}
