//! How versions order: by semantic version when every identifier parses as one, otherwise by
//! the order in which they were created.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::model::Version;

fn parse_semver(identifier: &str) -> Option<semver::Version> {
    let trimmed = identifier.trim();
    let bare = trimmed
        .strip_prefix('v')
        .or_else(|| trimmed.strip_prefix('V'))
        .unwrap_or(trimmed);
    semver::Version::parse(bare).ok()
}

/// Compares two versions of one application (older < newer).
pub fn compare_versions(a: &Version, b: &Version) -> Ordering {
    compare_identifiers(
        (&a.version_identifier, a.created_at),
        (&b.version_identifier, b.created_at),
    )
    .then(a.id.cmp(&b.id))
}

/// The same order from (identifier, created_at) pairs: semver when both parse, else creation.
pub fn compare_identifiers(a: (&str, DateTime<Utc>), b: (&str, DateTime<Utc>)) -> Ordering {
    match (parse_semver(a.0), parse_semver(b.0)) {
        (Some(x), Some(y)) => x.cmp(&y).then(a.1.cmp(&b.1)),
        _ => a.1.cmp(&b.1),
    }
}

/// Newest first. Semver order only when all parse, so the order stays total.
pub fn sort_newest_first(versions: &mut [Version]) {
    let all_semver = versions
        .iter()
        .all(|v| parse_semver(&v.version_identifier).is_some());
    if all_semver {
        versions.sort_by(|a, b| compare_versions(b, a));
    } else {
        versions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use uuid::Uuid;

    fn version(identifier: &str, age_minutes: i64) -> Version {
        Version {
            id: Uuid::now_v7(),
            application_id: Uuid::nil(),
            version_identifier: identifier.into(),
            released_at: None,
            notes: None,
            commit_sha: None,
            created_at: Utc::now() - Duration::minutes(age_minutes),
            archived_at: None,
        }
    }

    fn identifiers(versions: &[Version]) -> Vec<&str> {
        versions
            .iter()
            .map(|v| v.version_identifier.as_str())
            .collect()
    }

    #[test]
    fn semver_identifiers_sort_numerically_not_lexically() {
        let mut versions = vec![
            version("1.9.0", 1),
            version("1.10.0", 3),
            version("v2.0.0-rc.1", 2),
            version("1.2.0", 0),
        ];
        sort_newest_first(&mut versions);
        assert_eq!(
            identifiers(&versions),
            ["v2.0.0-rc.1", "1.10.0", "1.9.0", "1.2.0"]
        );
    }

    #[test]
    fn non_semver_identifiers_fall_back_to_creation_order() {
        let mut versions = vec![
            version("build-7", 10),
            version("1.0.0", 5),
            version("build-9", 1),
        ];
        sort_newest_first(&mut versions);
        assert_eq!(identifiers(&versions), ["build-9", "1.0.0", "build-7"]);
        assert_eq!(
            compare_versions(&versions[0], &versions[2]),
            Ordering::Greater
        );
    }
}
