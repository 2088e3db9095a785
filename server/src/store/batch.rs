//! Statements that run one after another in one transaction, each written with its own `$1…`
//! placeholders. SQLite runs them as one text — one trip to its connection's thread instead of
//! one per statement, and the single writer's trips are what limits recording. PostgreSQL's
//! protocol takes one statement per bound query, so it runs them one by one, except statements
//! pushed [`Batch::as_one`]: those go as one statement, the data-modifying ones as `WITH`
//! clauses of the last (one trip instead of several, planned once per connection).

use app::model::WebhookDelivery;
use app::ssr::AuditRecord;
use sqlx::Arguments;

use super::columns::{DbId, DbTime};

/// A value bound to one placeholder.
pub(super) enum Bound {
    Id(DbId),
    OptionalId(Option<DbId>),
    Time(DbTime),
    Text(String),
    OptionalText(Option<String>),
}

/// The values as one query's arguments, each as its column type.
pub(super) fn arguments<'q, A>(values: Vec<Bound>) -> Result<A, sqlx::Error>
where
    A: Arguments<'q>,
    DbId: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    DbTime: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<DbId>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    String: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
    Option<String>: sqlx::Encode<'q, A::Database> + sqlx::Type<A::Database>,
{
    let mut args = A::default();
    for value in values {
        match value {
            Bound::Id(id) => args.add(id),
            Bound::OptionalId(id) => args.add(id),
            Bound::Time(at) => args.add(at),
            Bound::Text(text) => args.add(text),
            Bound::OptionalText(text) => args.add(text),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// One statement of a batch.
pub(super) struct Statement {
    sql: &'static str,
    values: Vec<Bound>,
    /// May run as part of the statement before it (see [`Batch::as_one`]).
    joins_previous: bool,
}

/// The statements in the order they run, with their values.
#[derive(Default)]
pub(super) struct Batch {
    statements: Vec<Statement>,
}

impl Batch {
    /// Adds `sql`, whose placeholders are `$1` to `$n` for the `n` values given. It sees what
    /// every statement before it did.
    pub(super) fn push(&mut self, sql: &'static str, values: Vec<Bound>) -> &mut Self {
        debug_assert_eq!(highest_placeholder(sql), values.len(), "{sql}");
        self.statements.push(Statement {
            sql,
            values,
            joins_previous: false,
        });
        self
    }

    /// Adds what `add` pushes as statements that may run as one: PostgreSQL runs them as a
    /// single statement, so none of them may need to see what another of them did (they share
    /// one snapshot, and their order within it is not fixed), and all but the last must insert,
    /// update or delete (a `WITH` clause that only selects is never run).
    pub(super) fn as_one(&mut self, add: impl FnOnce(&mut Self)) -> &mut Self {
        let first = self.statements.len();
        add(self);
        let pushed = &mut self.statements[first..];
        if let Some((_, joined)) = pushed.split_first_mut() {
            joined.iter_mut().for_each(|s| s.joins_previous = true);
        }
        debug_assert!(
            pushed.iter().rev().skip(1).all(|s| changes_data(s.sql)),
            "only the last of a batch's statements run as one may select"
        );
        self
    }

    /// The statements grouped as they are to run: each group is one statement, or several
    /// pushed [`Batch::as_one`].
    pub(super) fn into_groups(self) -> Vec<Vec<Statement>> {
        let mut groups: Vec<Vec<Statement>> = vec![];
        for statement in self.statements {
            match groups.last_mut() {
                Some(group) if statement.joins_previous => group.push(statement),
                _ => groups.push(vec![statement]),
            }
        }
        groups
    }

    /// Appends audit entries (their columns in table order).
    pub(super) fn audit(&mut self, entries: &[AuditRecord]) -> &mut Self {
        for e in entries {
            self.push(
                super::audit::INSERT_AUDIT,
                vec![
                    Bound::Id(DbId(e.id)),
                    Bound::Time(DbTime(e.at)),
                    Bound::OptionalId(e.actor_id.map(DbId)),
                    Bound::OptionalText(e.actor_username.clone()),
                    Bound::OptionalText(e.token_name.clone()),
                    Bound::OptionalText(e.client_address.clone()),
                    Bound::Text(e.action.clone()),
                    Bound::Text(e.target_type.clone()),
                    Bound::OptionalText(e.target_id.clone()),
                    Bound::OptionalText(e.changes.clone()),
                ],
            );
        }
        self
    }

    /// Appends webhook notifications to send (the outbox).
    pub(super) fn outbox(&mut self, deliveries: &[WebhookDelivery]) -> &mut Self {
        for d in deliveries {
            self.push(
                super::webhooks::INSERT_OUTBOX,
                vec![
                    Bound::Id(DbId(d.id)),
                    Bound::Id(DbId(d.webhook_id)),
                    Bound::Text(d.event.clone()),
                    Bound::OptionalId(d.deployment_id.map(DbId)),
                    Bound::Time(DbTime(d.created_at)),
                    Bound::Time(DbTime(d.next_attempt_at)),
                    Bound::OptionalText(d.subject.clone()),
                ],
            );
        }
        self
    }

    /// All statements as one text, each one's placeholders raised past the ones before it, and
    /// all values in that order.
    pub(super) fn into_one_text(self) -> (String, Vec<Bound>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        for statement in self.statements {
            append(&mut sql, &mut values, statement);
            sql.push_str(";\n");
        }
        (sql, values)
    }
}

/// A group of statements as one PostgreSQL statement: all but the last as `WITH` clauses of the
/// last, placeholders raised as in [`Batch::into_one_text`].
pub(super) fn one_statement(mut group: Vec<Statement>) -> (String, Vec<Bound>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    let last = group.pop();
    for (i, clause) in group.into_iter().enumerate() {
        sql.push_str(if i == 0 { "WITH " } else { "), " });
        sql.push_str(&format!("joined_{i} AS ("));
        append(&mut sql, &mut values, clause);
    }
    if !sql.is_empty() {
        sql.push_str(") ");
    }
    if let Some(last) = last {
        append(&mut sql, &mut values, last);
    }
    (sql, values)
}

/// Appends a statement to a text being built, its placeholders raised past the values so far,
/// and its values to those.
fn append(sql: &mut String, values: &mut Vec<Bound>, statement: Statement) {
    renumber_into(sql, statement.sql, values.len());
    values.extend(statement.values);
}

fn changes_data(sql: &str) -> bool {
    let verb = sql.split_whitespace().next().unwrap_or("");
    ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|v| verb.eq_ignore_ascii_case(v))
}

/// Writes `sql` to `out` with every `$n` placeholder raised by `by`. The shared statements
/// hold no `$` anywhere else (no string literals with one).
fn renumber_into(out: &mut String, sql: &str, by: usize) {
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
}

fn highest_placeholder(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|part| {
            let digits = part.bytes().take_while(u8::is_ascii_digit).count();
            part[..digits].parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_become_one_text_with_placeholders_in_sequence() {
        let mut batch = Batch::default();
        batch
            .push(
                "INSERT INTO t (a, b) VALUES ($1, $2)",
                vec![Bound::Text("a".into()), Bound::Text("b".into())],
            )
            .push(
                "UPDATE u SET x = $2 WHERE y = $1 AND z = $1",
                vec![Bound::Text("y".into()), Bound::Text("x".into())],
            )
            .push("DELETE FROM v WHERE w = $1", vec![Bound::Text("w".into())]);
        let (sql, values) = batch.into_one_text();
        assert_eq!(
            sql,
            "INSERT INTO t (a, b) VALUES ($1, $2);\n\
             UPDATE u SET x = $4 WHERE y = $3 AND z = $3;\n\
             DELETE FROM v WHERE w = $5;\n"
        );
        assert_eq!(values.len(), 5);
        assert_eq!(highest_placeholder(super::super::audit::INSERT_AUDIT), 10);
        assert_eq!(
            highest_placeholder(super::super::deployments::REFRESH_PAIR),
            2
        );
    }

    #[test]
    fn statements_run_as_one_become_with_clauses_of_the_last() {
        let text = |v: &str| Bound::Text(v.into());
        let mut batch = Batch::default();
        batch
            .push("UPDATE a SET x = $1", vec![text("x")])
            .as_one(|b| {
                b.push(
                    "INSERT INTO t (a, b) VALUES ($1, $2)",
                    vec![text("a"), text("b")],
                )
                .push("DELETE FROM v WHERE w = $1", vec![text("w")])
                .push("SELECT lock($1)", vec![text("l")]);
            })
            .push("UPDATE u SET y = $1", vec![text("y")]);
        let groups: Vec<_> = batch
            .into_groups()
            .into_iter()
            .map(|group| one_statement(group).0)
            .collect();
        assert_eq!(
            groups,
            [
                "UPDATE a SET x = $1",
                "WITH joined_0 AS (INSERT INTO t (a, b) VALUES ($1, $2)), \
                 joined_1 AS (DELETE FROM v WHERE w = $3) SELECT lock($4)",
                "UPDATE u SET y = $1",
            ]
        );
    }
}
