//! `deploytrack record`, `deploytrack check` and `deploytrack current`: the REST API from a pipeline's shell, one line
//! each, with names instead of ids. A client of the API like any other (reqwest), sharing only the
//! DTOs with the server.

mod git;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use app::model::{
    CurrentDeploymentState, DeployCheck, Deployment, RecordDeploymentRequest, Secret,
};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the server is and who the pipeline is: shared by every client command.
#[derive(Clone, Debug, clap::Args)]
pub struct Connection {
    /// The server's base URL, e.g. https://deploytrack.example.com.
    #[arg(long, env = "DEPLOYTRACK_URL")]
    pub url: String,
    /// An API token (Settings → API tokens), sent as `Authorization: Bearer`. Without one, the
    /// pipeline's own ID token is used: GitHub Actions' (ACTIONS_ID_TOKEN_REQUEST_URL and
    /// _TOKEN, with `permissions: id-token: write`) or GitLab CI's `id_tokens:` variable
    /// DEPLOYTRACK_ID_TOKEN.
    #[arg(long, env = "DEPLOYTRACK_TOKEN", hide_env_values = true, value_parser = secret)]
    pub token: Option<Secret>,
    /// The audience to ask GitHub Actions' ID token for (the server's DEPLOYTRACK_CI_TOKEN_AUDIENCE).
    #[arg(
        long,
        env = "DEPLOYTRACK_ID_TOKEN_AUDIENCE",
        default_value = "deploytrack"
    )]
    pub id_token_audience: String,
    /// How often to try again after a connection error or a 5xx answer (waiting 0.5 s, 1 s,
    /// 2 s, … up to 8 s between tries). Retried requests carry the same idempotency key.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
}

fn secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::from(text))
}

#[derive(Clone, Debug, clap::Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The application's name (case-insensitive).
    #[arg(long = "app")]
    pub application: String,
    /// The version identifier, e.g. 1.4.2 (registered first with --create-version).
    #[arg(long)]
    pub version: String,
    /// The environment's name (case-insensitive).
    #[arg(long = "env")]
    pub environment: String,
    /// Free text kept with the deployment (change ticket, pipeline link).
    #[arg(long)]
    pub notes: Option<String>,
    /// Who deployed (default: the token's user).
    #[arg(long)]
    pub deployed_by: Option<String>,
    /// When it was deployed, RFC 3339 (default: now).
    #[arg(long)]
    pub date: Option<DateTime<Utc>>,
    /// Register the version if the application does not have it yet.
    #[arg(long)]
    pub create_version: bool,
    /// With --create-version: the commit the version was built from.
    #[arg(long)]
    pub commit_sha: Option<String>,
    /// Makes retries safe: the same key and request within 24 hours record once. Build it from
    /// the pipeline's run id so a re-run of the job records once too (default: a fresh key,
    /// shared by this command's own retries).
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Why this deployment goes ahead although the deploy policy blocks it (a freeze, a lock, a
    /// promotion rule); kept with the record. Recording is never refused by policy.
    #[arg(long)]
    pub override_reason: Option<String>,
    /// Send the commits this deployment brings: asks which commit the environment runs now and
    /// sends `git log <that>..<this>` from the checkout (at most 5,000, the rest counted). The
    /// deployed commit is --commit-sha, else HEAD; the checkout needs its history (not shallow).
    #[arg(long)]
    pub commits_from_git: bool,
    /// The git checkout --commits-from-git reads.
    #[arg(long, default_value = ".")]
    pub git_dir: std::path::PathBuf,
}

#[derive(Clone, Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The application's name (case-insensitive).
    #[arg(long = "app")]
    pub application: String,
    /// The version identifier, e.g. 1.4.2.
    #[arg(long)]
    pub version: String,
    /// The environment's name (case-insensitive).
    #[arg(long = "env")]
    pub environment: String,
    /// A version not registered yet counts as one that has run nowhere (instead of an error).
    #[arg(long)]
    pub create_version: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Clone, Debug, clap::Args)]
pub struct CurrentArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Only this application (name, case-insensitive).
    #[arg(long = "app")]
    pub application: Option<String>,
    /// Only this environment (name, case-insensitive).
    #[arg(long = "env")]
    pub environment: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Exit 0 only if every listed pair runs this version (and at least one is listed), else 1:
    /// "is 1.2.0 in STAGING yet?"
    #[arg(long)]
    pub expect_version: Option<String>,
}

/// Exit statuses scripts can tell apart.
const REFUSED: u8 = 1;
const UNREACHABLE: u8 = 3;

/// A command's failure: what to tell the user and the exit status.
struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    fn refused(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            status: REFUSED,
        }
    }
}

/// The pipeline's own OpenID Connect ID token: GitLab CI puts it in DEPLOYTRACK_ID_TOKEN
/// (`id_tokens:`); GitHub Actions hands one out at ACTIONS_ID_TOKEN_REQUEST_URL for the
/// job's ACTIONS_ID_TOKEN_REQUEST_TOKEN.
async fn pipeline_id_token(http: &reqwest::Client, audience: &str) -> Result<Secret, Failure> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if let Some(token) = var("DEPLOYTRACK_ID_TOKEN") {
        return Ok(Secret::from(token.as_str()));
    }
    let (Some(url), Some(request_token)) = (
        var("ACTIONS_ID_TOKEN_REQUEST_URL"),
        var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Err(Failure::refused(
            "no credential: set DEPLOYTRACK_TOKEN, or run in GitHub Actions with `permissions: id-token: write`, or in GitLab CI with `id_tokens: DEPLOYTRACK_ID_TOKEN: aud: deploytrack`",
        ));
    };
    #[derive(serde::Deserialize)]
    struct Answer {
        value: String,
    }
    let answer = http
        .get(&url)
        .query(&[("audience", audience)])
        .bearer_auth(&request_token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|err| Failure::refused(format!("GitHub Actions gave no ID token: {err}")))?
        .json::<Answer>()
        .await
        .map_err(|err| {
            Failure::refused(format!(
                "GitHub Actions' ID token answer is unreadable: {err}"
            ))
        })?;
    Ok(Secret::from(answer.value.as_str()))
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Secret,
    retries: u32,
}

impl Client {
    async fn new(connection: &Connection) -> Result<Self, Failure> {
        let base = connection.url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::refused(format!(
                "DEPLOYTRACK_URL must start with http:// or https:// (got {base:?})"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("deploytrack-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|err| Failure::refused(format!("cannot set up HTTP: {err}")))?;
        let token = match &connection.token {
            Some(token) => token.clone(),
            None => pipeline_id_token(&http, &connection.id_token_audience).await?,
        };
        Ok(Client {
            http,
            base,
            token,
            retries: connection.retries,
        })
    }

    /// Sends the request, trying again after connection errors and 5xx answers; a 4xx answer is
    /// final and reported with the server's problem detail.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(T, bool), Failure> {
        let url = format!("{}{path}", self.base);
        let mut wait = Duration::from_millis(500);
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token.expose());
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            let problem = match request.send().await {
                Ok(response) if response.status().is_server_error() => {
                    format!("the server answered {}", response.status())
                }
                Ok(response) => return read(response).await,
                Err(err) => format!("cannot reach {}: {}", self.base, root_cause(&err)),
            };
            if attempt >= self.retries {
                return Err(Failure {
                    message: format!("{problem} (gave up after {} tries)", attempt + 1),
                    status: UNREACHABLE,
                });
            }
            attempt += 1;
            eprintln_quiet(&format!(
                "{problem}; trying again in {:.1} s ({attempt}/{})",
                wait.as_secs_f32(),
                self.retries
            ));
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(8));
        }
    }
}

/// A final answer: the body on success (and whether it replays an earlier request), the problem
/// document's detail on a 4xx.
async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<(T, bool), Failure> {
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let text = response.text().await.unwrap_or_default();
    if status.is_success() {
        return serde_json::from_str(&text)
            .map(|body| (body, replayed))
            .map_err(|err| Failure::refused(format!("unexpected answer from the server: {err}")));
    }
    Err(Failure::refused(problem_text(status, &text)))
}

/// "422 Unprocessable Entity: detail" and one line per field error.
fn problem_text(status: StatusCode, text: &str) -> String {
    let Ok(problem) = serde_json::from_str::<Value>(text) else {
        return format!("the server refused: {status}");
    };
    let errors = problem["errors"]
        .as_array()
        .filter(|errors| !errors.is_empty());
    // With field errors the detail only repeats them; they follow one per line.
    let summary = match errors {
        Some(_) => problem["title"].as_str(),
        None => problem["detail"].as_str().or(problem["title"].as_str()),
    };
    let mut lines = vec![format!(
        "the server refused ({status}): {}",
        summary.unwrap_or_default()
    )];
    for error in errors.into_iter().flatten() {
        lines.push(format!(
            "  {}: {}",
            error["field"].as_str().unwrap_or("?"),
            error["message"].as_str().unwrap_or("?")
        ));
    }
    lines.join("\n")
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Writes to stderr, ignoring a closed pipe (a script may not read it).
fn eprintln_quiet(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn println_quiet(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn finish(result: Result<ExitCode, Failure>) -> ExitCode {
    result.unwrap_or_else(|failure| {
        eprintln_quiet(&format!("deploytrack: {}", failure.message));
        ExitCode::from(failure.status)
    })
}

/// Records a deployment; prints its id and page URL (tab-separated) on stdout.
pub async fn record(args: RecordArgs) -> ExitCode {
    finish(try_record(args).await)
}

async fn try_record(args: RecordArgs) -> Result<ExitCode, Failure> {
    let client = Client::new(&args.connection).await?;
    let mut commit_sha = args.commit_sha.clone();
    let commits = if args.commits_from_git {
        let head = git::resolve(&args.git_dir, commit_sha.as_deref().unwrap_or("HEAD"))
            .map_err(Failure::refused)?;
        if args.create_version && commit_sha.is_none() {
            commit_sha = Some(head.clone());
        }
        commits_from_git(&client, &args, &head).await?
    } else {
        None
    };
    let request = RecordDeploymentRequest {
        application: Some(args.application),
        version: Some(args.version),
        environment: Some(args.environment),
        create_version: args.create_version,
        commit_sha,
        commits,
        deployment_date: args.date.unwrap_or_else(Utc::now),
        deployed_by: args.deployed_by,
        notes: args.notes,
        override_reason: args.override_reason,
        ..Default::default()
    };
    let body = serde_json::to_value(&request).map_err(|err| Failure::refused(err.to_string()))?;
    let key = args
        .idempotency_key
        .unwrap_or_else(|| format!("deploytrack-cli-{}", uuid::Uuid::now_v7()));
    let chose_the_date = args.date.is_none();
    let (deployment, replayed): (Deployment, bool) = client
        .send(Method::POST, "/api/deployments", Some(&body), Some(&key))
        .await
        .map_err(|mut failure| {
            // A second run of the same command sends a new "now": the key's first request
            // differs in its date only, and the user needs to know that is why.
            if chose_the_date && failure.message.contains("\n  Idempotency-Key:") {
                failure.message.push_str(
                    "\n  (no --date was given, so this run sent the current time as the deployment date; \
                     if an earlier run with this key recorded the deployment, it is recorded: \
                     pass that run's --date to get its answer again)",
                );
            }
            failure
        })?;
    println_quiet(&format!(
        "{}\t{}/deployments/{}",
        deployment.id, client.base, deployment.id
    ));
    eprintln_quiet(&format!(
        "{} {} {} in {}{}",
        if replayed {
            "Already recorded:"
        } else {
            "Recorded"
        },
        deployment.application.name,
        deployment.version.version_identifier,
        deployment.environment.name,
        if replayed {
            " (an earlier request with this idempotency key)"
        } else {
            ""
        }
    ));
    Ok(ExitCode::SUCCESS)
}

/// The commits deploying `head` brings to the environment, from the checkout.
async fn commits_from_git(
    client: &Client,
    args: &RecordArgs,
    head: &str,
) -> Result<Option<app::model::CommitList>, Failure> {
    // What the environment runs now, as the changes endpoint names it (from = to = there).
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("application", &args.application)
        .append_pair("fromEnvironment", &args.environment)
        .append_pair("toEnvironment", &args.environment)
        .append_pair("limit", "1");
    let path = format!("/api/changes?{}", query.finish());
    let (now, _): (app::model::Changes, _) = client.send(Method::GET, &path, None, None).await?;
    let mut notes = vec![];
    if let Some(running) = now.from.as_ref().filter(|v| v.commit_sha.is_none()) {
        notes.push(format!(
            "{} runs {}, whose commit deploytrack does not know: sending the history up to this commit",
            args.environment, running.version_identifier
        ));
    }
    let deployed = now.from.and_then(|version| version.commit_sha);
    let list = git::commits_for_deployment(&args.git_dir, deployed.as_deref(), head, &mut notes)
        .map_err(Failure::refused)?;
    for note in notes {
        eprintln_quiet(&format!("note: {note}"));
    }
    if let Some(list) = &list {
        eprintln_quiet(&format!(
            "Sending {} commits{}{}",
            list.commits.len(),
            list.since.as_deref().map_or(String::new(), |since| format!(
                " since {}",
                &since[..since.len().min(12)]
            )),
            if list.truncated > 0 {
                format!(" ({} more left out)", list.truncated)
            } else {
                String::new()
            }
        ));
    }
    Ok(list)
}

/// Exit status of `check` when the policy blocks the deployment.
const BLOCKED: u8 = 2;

/// Asks the deploy policy; exits 0 when allowed, 2 when blocked (one blocker per line on
/// stdout), 1 on any error.
pub async fn check(args: CheckArgs) -> ExitCode {
    finish(try_check(args).await.map_err(|failure| Failure {
        status: REFUSED,
        ..failure
    }))
}

async fn try_check(args: CheckArgs) -> Result<ExitCode, Failure> {
    let client = Client::new(&args.connection).await?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("application", &args.application)
        .append_pair("version", &args.version)
        .append_pair("environment", &args.environment);
    if args.create_version {
        query.append_pair("createVersion", "true");
    }
    let path = format!("/api/deploy-check?{}", query.finish());
    let (answer, _): (DeployCheck, _) = client.send(Method::GET, &path, None, None).await?;
    if answer.allowed {
        eprintln_quiet(&format!(
            "Allowed: {} {} may go to {}",
            args.application, args.version, args.environment
        ));
        return Ok(ExitCode::SUCCESS);
    }
    for blocker in &answer.blockers {
        println_quiet(&format!("{}\t{}", blocker.kind, blocker.message));
    }
    eprintln_quiet(&match answer.next_allowed_at {
        Some(at) => format!(
            "Blocked; allowed from {} (or record with --override-reason)",
            at.to_rfc3339()
        ),
        None => "Blocked (record with --override-reason to go ahead anyway)".to_string(),
    });
    Ok(ExitCode::from(BLOCKED))
}

/// Prints what runs where; with --expect-version, the exit status answers the question.
pub async fn current(args: CurrentArgs) -> ExitCode {
    finish(try_current(args).await)
}

async fn try_current(args: CurrentArgs) -> Result<ExitCode, Failure> {
    let client = Client::new(&args.connection).await?;
    let (mut states, _): (Vec<CurrentDeploymentState>, _) = client
        .send(Method::GET, "/api/deployments/current", None, None)
        .await?;
    // Names are checked against the catalogue so that a typo is an error, not an empty answer.
    for (name, path, what) in [
        (&args.application, "/api/applications", "application"),
        (&args.environment, "/api/environments", "environment"),
    ] {
        if let Some(name) = name {
            let (known, _): (Vec<Value>, _) = client.send(Method::GET, path, None, None).await?;
            let exists = known.iter().any(|item| {
                item["name"]
                    .as_str()
                    .is_some_and(|known| known.eq_ignore_ascii_case(name))
            });
            if !exists {
                return Err(Failure::refused(format!("Unknown {what} '{name}'")));
            }
        }
    }
    let matches = |wanted: &Option<String>, name: &str| {
        wanted
            .as_ref()
            .is_none_or(|wanted| wanted.eq_ignore_ascii_case(name))
    };
    states.retain(|state| {
        matches(&args.application, &state.application.name)
            && matches(&args.environment, &state.environment.name)
    });
    match args.format {
        Format::Json => println_quiet(
            &serde_json::to_string_pretty(&states).map_err(|e| Failure::refused(e.to_string()))?,
        ),
        Format::Table => println_quiet(&table(&states)),
    }
    let Some(expected) = args.expect_version else {
        return Ok(ExitCode::SUCCESS);
    };
    let all_there = !states.is_empty()
        && states
            .iter()
            .all(|state| state.version.version_identifier == expected);
    Ok(if all_there {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(REFUSED)
    })
}

/// Aligned columns, one pair per line.
fn table(states: &[CurrentDeploymentState]) -> String {
    let mut rows = vec![[
        "APPLICATION".to_string(),
        "ENVIRONMENT".to_string(),
        "VERSION".to_string(),
        "DEPLOYED (UTC)".to_string(),
        "BY".to_string(),
    ]];
    for state in states {
        rows.push([
            state.application.name.clone(),
            state.environment.name.clone(),
            format!(
                "{}{}",
                state.version.version_identifier,
                if state.is_rollback { " (rollback)" } else { "" }
            ),
            state.deployment_date.format("%Y-%m-%d %H:%M").to_string(),
            state.deployed_by.clone().unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
