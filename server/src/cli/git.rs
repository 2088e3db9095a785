//! `record --commits-from-git`: the commits between what runs in the target environment and the
//! commit being deployed, read from the runner's checkout with git itself.

use std::path::Path;
use std::process::Command;

use app::model::{CommitInput, CommitList, COMMITS_PER_REQUEST_MAX, COMMIT_TITLE_MAX};
use chrono::{DateTime, Utc};

/// Fields and records of `git log` output: ASCII unit and record separators, which no subject
/// line or name holds.
const FIELD: char = '\u{1f}';
const RECORD: char = '\u{1e}';

/// Runs git in `repository`; its stdout, or what went wrong in words.
fn git(repository: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(args)
        .output()
        .map_err(|err| format!("cannot run git: {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The full hash `revision` names in `repository`.
pub fn resolve(repository: &Path, revision: &str) -> Result<String, String> {
    let revision = format!("{revision}^{{commit}}");
    git(repository, &["rev-parse", "--verify", "--quiet", &revision])
        .map(|sha| sha.trim().to_string())
        .map_err(|_| format!("{revision} is not a commit in {}", repository.display()))
}

/// True when `ancestor` is an ancestor of `descendant` (or the same commit).
fn is_ancestor(repository: &Path, ancestor: &str, descendant: &str) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["merge-base", "--is-ancestor", ancestor, descendant])
        .status()
        .is_ok_and(|status| status.success())
}

/// What `git log <since>..<head>` lists (from the first commit when `since` is None), newest
/// first, at most [`COMMITS_PER_REQUEST_MAX`], the rest counted as truncated. Titles longer
/// than the server takes are clipped, and `notes` says so.
pub fn commits_between(
    repository: &Path,
    since: Option<&str>,
    head: &str,
    notes: &mut Vec<String>,
) -> Result<CommitList, String> {
    let range = match since {
        Some(since) => format!("{since}..{head}"),
        None => head.to_string(),
    };
    let format = format!("--format=%H{FIELD}%s{FIELD}%an{FIELD}%ae{FIELD}%aI{RECORD}");
    let bound = format!("--max-count={}", COMMITS_PER_REQUEST_MAX);
    let output = git(repository, &["log", &format, &bound, &range, "--"])?;
    let mut commits = vec![];
    for record in output.split(RECORD) {
        let record = record.trim_start_matches('\n');
        if record.is_empty() {
            continue;
        }
        let fields: Vec<&str> = record.split(FIELD).collect();
        let [sha, title, name, email, authored_at] = fields.as_slice() else {
            return Err(format!("unexpected git log output: {record:?}"));
        };
        let authored_at = DateTime::parse_from_rfc3339(authored_at.trim())
            .map_err(|err| format!("unexpected date {authored_at:?} from git log: {err}"))?
            .with_timezone(&Utc);
        let mut title = title.trim().to_string();
        if title.is_empty() {
            title = "(no subject)".into();
        }
        if title.chars().count() > COMMIT_TITLE_MAX {
            notes.push(format!(
                "commit {sha}'s subject is {} characters; sent its first {}",
                title.chars().count(),
                COMMIT_TITLE_MAX - 1
            ));
            title = title.chars().take(COMMIT_TITLE_MAX - 1).collect::<String>() + "…";
        }
        let author = [name.trim(), email.trim()]
            .into_iter()
            .find(|text| !text.is_empty())
            .unwrap_or("(unknown)")
            .chars()
            .take(255)
            .collect();
        commits.push(CommitInput {
            sha: sha.trim().to_string(),
            title,
            author,
            authored_at,
            url: None,
        });
    }
    let mut truncated = 0;
    if commits.len() == COMMITS_PER_REQUEST_MAX {
        let count = git(repository, &["rev-list", "--count", &range, "--"])?;
        let total: usize = count.trim().parse().unwrap_or(COMMITS_PER_REQUEST_MAX);
        truncated = total.saturating_sub(COMMITS_PER_REQUEST_MAX) as u32;
    }
    Ok(CommitList {
        since: since.map(str::to_string),
        since_is_ancestor: since.is_none_or(|since| is_ancestor(repository, since, head)),
        commits,
        truncated,
    })
}

/// The list to send for deploying `head` where `deployed` (a commit hash, if known) runs now;
/// None, with the reason in `notes`, when the checkout cannot tell.
pub fn commits_for_deployment(
    repository: &Path,
    deployed: Option<&str>,
    head: &str,
    notes: &mut Vec<String>,
) -> Result<Option<CommitList>, String> {
    let since = match deployed {
        Some(deployed) => match resolve(repository, deployed) {
            Ok(sha) if sha == head => {
                notes.push("the environment already runs this commit: no commits to send".into());
                return Ok(None);
            }
            Ok(sha) => Some(sha),
            Err(_) => {
                notes.push(format!(
                    "the deployed commit {deployed} is not in this checkout (a shallow clone? fetch \
                     the whole history, e.g. actions/checkout with fetch-depth: 0); recording \
                     without commits"
                ));
                return Ok(None);
            }
        },
        None => None,
    };
    commits_between(repository, since.as_deref(), head, notes).map(Some)
}
