//! What changed between two versions, as the deployment page, `/compare`'s rows and the
//! Versions tab show it: a summary, the compare link, the tickets and the commits.

use std::future::Future;

use leptos::prelude::*;

use crate::components::loaded::Loaded;
use crate::components::timestamp::Timestamp;
use crate::error::AppError;
use crate::model::{ChangeDirection, ChangeSource, ChangeVersion, Changes};

fn commits_text(n: u32) -> String {
    match n {
        0 => "no commits".to_string(),
        1 => "1 commit".to_string(),
        n => format!("{n} commits"),
    }
}

fn name(version: &Option<ChangeVersion>) -> String {
    version
        .as_ref()
        .map_or("nothing".to_string(), |v| v.version_identifier.clone())
}

/// One line saying which way and how much: "3 commits in 1.2 since 1.0".
pub fn summary(changes: &Changes) -> String {
    let commits = commits_text(changes.total_commits);
    match changes.direction {
        ChangeDirection::Same => "The same version: nothing changed.".to_string(),
        ChangeDirection::Ahead => match &changes.from {
            Some(_) => format!(
                "{commits} in {} since {}",
                name(&changes.to),
                name(&changes.from)
            ),
            None => format!("{commits} in {}", name(&changes.to)),
        },
        ChangeDirection::Behind => format!(
            "A step back: {commits} in {} that {} does not have",
            name(&changes.from),
            name(&changes.to)
        ),
    }
}

fn source_note(source: ChangeSource) -> Option<&'static str> {
    match source {
        ChangeSource::Recorded => None,
        ChangeSource::Partial => Some(
            "Partial: some versions in between came without their commits, or a list was cut short.",
        ),
        ChangeSource::Unavailable => Some(
            "No commits were sent for these versions: record with deploytrack record --commits-from-git.",
        ),
    }
}

#[component]
pub fn ChangesView(
    changes: Changes,
    /// The same as Markdown release notes (an API path the session may read).
    #[prop(optional, into)]
    notes_href: Option<String>,
) -> impl IntoView {
    let more = changes
        .next_cursor
        .is_some()
        .then(|| changes.total_commits as usize - changes.commits.len());
    view! {
        <div class="changes" data-source=format!("{:?}", changes.source).to_lowercase()
            data-direction=format!("{:?}", changes.direction).to_lowercase()>
            <p class="changes-summary">{summary(&changes)}</p>
            {source_note(changes.source).map(|note| view! { <p class="muted changes-source">{note}</p> })}
            <p class="changes-links">
                {changes.compare_url.clone().map(|url| view! {
                    <a class="compare-link" href=url rel="noopener noreferrer" target="_blank">"Compare on the forge ↗"</a>
                })}
                {notes_href.map(|href| view! { " " <a class="notes-link" href=href>"Release notes (Markdown)"</a> })}
            </p>
            {(!changes.tickets.is_empty()).then(|| view! {
                <ul class="tickets" aria-label="Tickets">
                    {changes.tickets.iter().map(|ticket| match &ticket.url {
                        Some(url) => view! { <li><a class="tag" href=url.clone() rel="noopener noreferrer" target="_blank">{ticket.key.clone()}</a></li> }.into_any(),
                        None => view! { <li><span class="tag">{ticket.key.clone()}</span></li> }.into_any(),
                    }).collect_view()}
                </ul>
            })}
            {(!changes.commits.is_empty()).then(|| view! {
                <ol class="commits">
                    {changes.commits.iter().map(|commit| {
                        let short: String = commit.sha.chars().take(7).collect();
                        let sha = match &commit.url {
                            Some(url) => view! { <a class="mono sha" href=url.clone() title=commit.sha.clone() rel="noopener noreferrer" target="_blank">{short}</a> }.into_any(),
                            None => view! { <span class="mono sha" title=commit.sha.clone()>{short}</span> }.into_any(),
                        };
                        view! {
                            <li data-sha=commit.sha.clone()>
                                {sha}" "<span class="commit-title">{commit.title.clone()}</span>
                                " "<span class="muted">{commit.author.clone()}", "<Timestamp at=commit.authored_at/></span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            })}
            {more.map(|n| view! { <p class="muted">"…and "{n}" more (see the release notes)."</p> })}
        </div>
    }
}

/// A `<details>` that fetches its changes with `load` the first time it is opened (at once when
/// `open`, so a URL can open it).
#[component]
pub fn LazyChanges<F, Fut>(open: bool, label: &'static str, load: F) -> impl IntoView
where
    F: Fn() -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Changes, AppError>> + Send + 'static,
{
    let opened = RwSignal::new(open);
    let changes = Resource::new(
        move || opened.get(),
        move |opened| async move {
            if opened {
                load().await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let render = |changes: Option<Changes>| changes.map(|changes| view! { <ChangesView changes/> });
    view! {
        <details class="lazy-changes" open=open on:toggle=move |_| opened.set(true)>
            <summary>{label}</summary>
            <Loaded resource=changes render/>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChangeDirection, ChangeSource};

    fn changes(direction: ChangeDirection, total: u32, from: Option<&str>) -> Changes {
        let version = |id: &str| ChangeVersion {
            id: uuid::Uuid::nil(),
            version_identifier: id.into(),
            commit_sha: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        Changes {
            application: "Billing".into(),
            application_id: uuid::Uuid::nil(),
            from: from.map(version),
            to: Some(version("1.2")),
            direction,
            versions: vec![],
            commits: vec![],
            total_commits: total,
            tickets: vec![],
            truncated: 0,
            source: ChangeSource::Recorded,
            compare_url: None,
            next_cursor: None,
        }
    }

    #[test]
    fn summaries_read_naturally() {
        assert_eq!(
            summary(&changes(ChangeDirection::Ahead, 3, Some("1.0"))),
            "3 commits in 1.2 since 1.0"
        );
        assert_eq!(
            summary(&changes(ChangeDirection::Ahead, 1, None)),
            "1 commit in 1.2"
        );
        assert_eq!(
            summary(&changes(ChangeDirection::Behind, 2, Some("1.3"))),
            "A step back: 2 commits in 1.3 that 1.2 does not have"
        );
    }
}
