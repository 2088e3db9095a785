//! Statements that run one after another in one transaction, each written with its own `$1…`
//! placeholders. SQLite runs them as one text — one trip to its connection's thread instead of
//! one per statement, and the single writer's trips are what limits recording — and PostgreSQL
//! one by one (its protocol takes one statement per bound query).

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

/// The statements in the order they run, with their values.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) statements: Vec<(&'static str, Vec<Bound>)>,
}

impl Batch {
    /// Adds `sql`, whose placeholders are `$1` to `$n` for the `n` values given.
    pub(super) fn push(&mut self, sql: &'static str, values: Vec<Bound>) -> &mut Self {
        debug_assert_eq!(highest_placeholder(sql), values.len(), "{sql}");
        self.statements.push((sql, values));
        self
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
        for (statement, bound) in self.statements {
            renumber_into(&mut sql, statement, values.len());
            sql.push_str(";\n");
            values.extend(bound);
        }
        (sql, values)
    }
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
}
