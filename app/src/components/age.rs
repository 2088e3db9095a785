//! How old a deployment is, as the matrix shows it: a colour and, for people who do not see
//! colour, a word and a symbol.

use chrono::{DateTime, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Age {
    /// Under 30 days.
    Fresh,
    /// 30 to 90 days.
    Aging,
    /// Over 90 days.
    Stale,
}

impl Age {
    pub fn of(deployed: DateTime<Utc>, now: DateTime<Utc>) -> Age {
        let days = (now - deployed).num_days();
        if days < 30 {
            Age::Fresh
        } else if days <= 90 {
            Age::Aging
        } else {
            Age::Stale
        }
    }

    /// CSS class: green / yellow / red.
    pub fn class(self) -> &'static str {
        match self {
            Age::Fresh => "age-fresh",
            Age::Aging => "age-aging",
            Age::Stale => "age-stale",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Age::Fresh => "recent (under 30 days)",
            Age::Aging => "older (30–90 days)",
            Age::Stale => "very old (over 90 days)",
        }
    }

    /// The band in a word, for screen readers in each cell (the legend gives the days).
    pub fn word(self) -> &'static str {
        match self {
            Age::Fresh => "recent",
            Age::Aging => "older",
            Age::Stale => "very old",
        }
    }

    /// A shape that differs per age, so the cue survives without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Age::Fresh => "●",
            Age::Aging => "◐",
            Age::Stale => "○",
        }
    }

    pub const ALL: [Age; 3] = [Age::Fresh, Age::Aging, Age::Stale];
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn age_bands_follow_the_story() {
        let now = Utc::now();
        assert_eq!(Age::of(now - Duration::days(10), now), Age::Fresh);
        assert_eq!(Age::of(now - Duration::days(29), now), Age::Fresh);
        assert_eq!(Age::of(now - Duration::days(30), now), Age::Aging);
        assert_eq!(Age::of(now - Duration::days(45), now), Age::Aging);
        assert_eq!(Age::of(now - Duration::days(90), now), Age::Aging);
        assert_eq!(Age::of(now - Duration::days(91), now), Age::Stale);
        assert_eq!(Age::of(now - Duration::days(120), now), Age::Stale);
        assert_eq!(Age::Stale.class(), "age-stale");
    }
}
