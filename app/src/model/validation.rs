//! The rules every input passes, on the server and (where it can) in the browser: field limits,
//! the accepted instants, no control characters, and how errors are collected.

use super::*;

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2_000;
pub const NOTES_MAX: usize = 10_000;
pub const USERNAME_MAX: usize = 64;
pub const DEPLOYED_BY_MAX: usize = 255;
pub const REASON_MAX: usize = 1_000;
pub const SEARCH_MAX: usize = 200;

/// How far in the future a deployment date may lie, for clocks that disagree a little.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// Instants are accepted from the Unix epoch to the end of year 9999: every one of them has a
/// four-digit year, so both backends store it exactly and it reads back as RFC 3339.
pub const EARLIEST_YEAR: i32 = 1970;
pub const LATEST_YEAR: i32 = 9999;
pub const INSTANT_RANGE_MESSAGE: &str =
    "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z";

pub fn instant_in_range(at: &DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (EARLIEST_YEAR..=LATEST_YEAR).contains(&at.year())
}

/// Adds an error for `field` when `at` lies outside the accepted range.
pub fn check_instant(field: &str, at: Option<&DateTime<Utc>>, errors: &mut Vec<FieldError>) {
    if at.is_some_and(|at| !instant_in_range(at)) {
        errors.push(FieldError::new(field, INSTANT_RANGE_MESSAGE));
    }
}

/// Control characters (NUL, escape, C1 codes) have no place in names, notes or searches; they
/// cannot be stored by PostgreSQL and can corrupt terminals and logs. Line breaks and tabs are
/// allowed (notes may span lines).
pub fn has_control_characters(value: &str) -> bool {
    value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

pub const CONTROL_CHARACTER_MESSAGE: &str =
    "must not contain control characters (such as NUL); only line breaks and tabs are allowed";

/// Adds an error for `field` when `value` holds a control character.
pub fn check_characters(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) {
    if value.is_some_and(has_control_characters) {
        errors.push(FieldError::new(field, CONTROL_CHARACTER_MESSAGE));
    }
}

/// Text from a link, made safe to show back: at most `max_chars` characters, every control
/// character (line breaks included) shown as U+FFFD. Browsers drop a NUL and rewrite a carriage
/// return while parsing HTML, so echoing them as they are would make the browser's text differ
/// from the server's and break hydration.
pub fn echoed(raw: &str, max_chars: usize) -> String {
    raw.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

pub const REPOSITORY_MAX: usize = 255;
pub const REPOSITORY_MESSAGE: &str =
    "must be owner/name as the provider shows it (letters, digits, '-', '_', '.'; GitLab groups may nest)";

/// Checks an optional repository path (`owner/name`); empty means none. Kept as written (the
/// match is case-insensitive).
pub fn repository(
    field: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let path = value.map(str::trim).filter(|path| !path.is_empty())?;
    let segments_ok = path.split('/').count() >= 2
        && path.split('/').all(|segment| {
            // `.` and `..` name no account or project (and read like a path's way up).
            !segment.is_empty()
                && !segment.bytes().all(|b| b == b'.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if segments_ok && path.len() <= REPOSITORY_MAX {
        Some(path.to_string())
    } else {
        errors.push(FieldError::new(field, REPOSITORY_MESSAGE));
        None
    }
}

pub const COMMIT_SHA_MESSAGE: &str = "must be a commit hash: 7 to 64 hexadecimal digits";

/// Checks an optional commit hash and returns it trimmed and in lower case.
pub fn commit_sha(
    field: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let sha = value.map(str::trim).filter(|sha| !sha.is_empty())?;
    if (7..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some(sha.to_ascii_lowercase())
    } else {
        errors.push(FieldError::new(field, COMMIT_SHA_MESSAGE));
        None
    }
}

/// Trims `value` and checks it is present and at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let trimmed = value.trim();
    check_characters(field, Some(trimmed), errors);
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if trimmed.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    trimmed.to_string()
}

/// Trims an optional text; empty becomes `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let trimmed = value.map(str::trim).filter(|v| !v.is_empty())?;
    check_characters(field, Some(trimmed), errors);
    if trimmed.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Some(trimmed.to_string())
}

/// Turns collected field errors into one `Validation` error, or `Ok` when there are none.
pub fn finish(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print_but_travel_as_text() {
        let login: LoginRequest =
            serde_json::from_str(r#"{"username":"ann","password":"correct horse"}"#).unwrap();
        assert_eq!(login.password.expose(), "correct horse");
        let printed = format!("{:?}", login.password);
        assert!(!printed.contains("correct"), "{printed}");
        assert_eq!(
            serde_json::to_string(&login.password).unwrap(),
            "\"correct horse\""
        );
    }

    #[test]
    fn required_text_trims_and_reports_missing_and_too_long() {
        let mut errors = vec![];
        assert_eq!(required_text("name", "  api  ", 10, &mut errors), "api");
        assert!(errors.is_empty());
        required_text("name", "   ", 10, &mut errors);
        required_text("other", &"x".repeat(11), 10, &mut errors);
        assert_eq!(errors[0], FieldError::new("name", "is required"));
        assert_eq!(errors[1].field, "other");
    }

    #[test]
    fn optional_text_turns_blank_into_none() {
        let mut errors = vec![];
        assert_eq!(optional_text("d", Some("  "), 5, &mut errors), None);
        assert_eq!(
            optional_text("d", Some(" ab "), 5, &mut errors).as_deref(),
            Some("ab")
        );
        assert!(finish(errors).is_ok());
    }

    #[test]
    fn echoed_text_shows_control_characters_as_replacements() {
        assert_eq!(echoed("\0", 100), "\u{FFFD}");
        assert_eq!(echoed("a\r\nb\u{1b}", 100), "a\u{FFFD}\u{FFFD}b\u{FFFD}");
        assert_eq!(echoed("2026-10-17 – ok", 100), "2026-10-17 – ok");
        assert_eq!(echoed(&"é".repeat(500), 100).chars().count(), 100);
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_kept() {
        let mut errors = vec![];
        required_text("name", "a\u{0}b", 10, &mut errors);
        optional_text("notes", Some("x\u{1b}[31m"), 10, &mut errors);
        optional_text("notes", Some("x\u{85}y"), 10, &mut errors);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors
            .iter()
            .all(|e| e.message == CONTROL_CHARACTER_MESSAGE));
        let mut errors = vec![];
        optional_text("notes", Some("line 1\r\n\tline 2"), 20, &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn instants_must_have_four_digit_years_from_1970() {
        let parse = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut errors = vec![];
        for ok in ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"] {
            check_instant("at", Some(&parse(ok)), &mut errors);
        }
        check_instant("at", None, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        for bad in [
            "1969-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
            "-5000-01-01T00:00:00Z",
        ] {
            check_instant("at", Some(&parse(bad)), &mut errors);
        }
        assert_eq!(errors.len(), 3);
    }
}
