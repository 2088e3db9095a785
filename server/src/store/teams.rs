//! Teams and their members, the same text on both backends.

macro_rules! team_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::{Application, Team, User};
            use app::ssr::store::{AuditRecord, StoreError, TeamStore};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::columns::{DbId, DbTime, TeamRow, UserRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one};

            impl $store {
                /// The statement that stores a new team (a catalogue import uses it too).
                fn insert_team_statement<'q>(
                    t: &'q Team,
                ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                    sqlx::query(
                        "INSERT INTO team (id, name, slack_channel, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(DbId(t.id))
                    .bind(&t.name)
                    .bind(&t.slack_channel)
                    .bind(DbTime(t.created_at))
                    .bind(DbTime(t.updated_at))
                }
            }

            #[async_trait::async_trait]
            impl TeamStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %t.id))]
                async fn insert_team(&self, t: &Team, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| Self::insert_team_statement(t).execute(tx).await?).done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_teams(&self) -> Result<Vec<Team>, StoreError> {
                    sqlx::query_as::<_, TeamRow>("SELECT * FROM team ORDER BY lower(name)")
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_team(&self, id: Uuid) -> Result<Team, StoreError> {
                    sqlx::query_as::<_, TeamRow>("SELECT * FROM team WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_team(&self, name: &str) -> Result<Team, StoreError> {
                    sqlx::query_as::<_, TeamRow>("SELECT * FROM team WHERE lower(name) = lower($1)")
                        .bind(name)
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %t.id))]
                async fn update_team(&self, t: &Team, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query(
                        "UPDATE team SET name = $1, slack_channel = $2, updated_at = $3 WHERE id = $4",
                    )
                    .bind(&t.name)
                    .bind(&t.slack_channel)
                    .bind(DbTime(t.updated_at))
                    .bind(DbId(t.id))
                    .execute(tx)
                    .await?
                    .rows_affected(), if |updated| *updated == 1);
                    expect_one(result)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn delete_team(&self, id: Uuid, at: DateTime<Utc>, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| {
                        sqlx::query("UPDATE application SET team_id = NULL, updated_at = $1 WHERE team_id = $2")
                            .bind(DbTime(at))
                            .bind(DbId(id))
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM team_member WHERE team_id = $1")
                            .bind(DbId(id))
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM team WHERE id = $1")
                            .bind(DbId(id))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                    }, if |deleted| *deleted == 1);
                    expect_one(result)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn set_team_members(&self, id: Uuid, user_ids: &[Uuid], audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| {
                        sqlx::query("DELETE FROM team_member WHERE team_id = $1")
                            .bind(DbId(id))
                            .execute(&mut *tx)
                            .await?;
                        for user_id in user_ids {
                            sqlx::query("INSERT INTO team_member (team_id, user_id) VALUES ($1, $2)")
                                .bind(DbId(id))
                                .bind(DbId(*user_id))
                                .execute(&mut *tx)
                                .await?;
                        }
                    })
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn team_members(&self, id: Uuid) -> Result<Vec<User>, StoreError> {
                    sqlx::query_as::<_, UserRow>(
                        "SELECT u.* FROM team_member m JOIN app_user u ON u.id = m.user_id
                          WHERE m.team_id = $1 ORDER BY lower(u.username)",
                    )
                    .bind(DbId(id))
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(teams = teams.len(), created = created.len(), updated = updated.len()))]
                async fn import_catalogue(
                    &self,
                    teams: &[Team],
                    created: &[Application],
                    updated: &[Application],
                    audit: &[AuditRecord],
                ) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| {
                        for t in teams {
                            Self::insert_team_statement(t).execute(&mut *tx).await?;
                        }
                        for a in created {
                            Self::insert_application_statement(a).execute(&mut *tx).await?;
                        }
                        for a in updated {
                            sqlx::query(
                                "UPDATE application SET repository = $1, team_id = $2, updated_at = $3 WHERE id = $4",
                            )
                            .bind(&a.repository)
                            .bind(a.team_id.map(DbId))
                            .bind(DbTime(a.updated_at))
                            .bind(DbId(a.id))
                            .execute(&mut *tx)
                            .await?;
                        }
                    })
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%user_id))]
                async fn teams_of(&self, user_id: Uuid) -> Result<Vec<Team>, StoreError> {
                    sqlx::query_as::<_, TeamRow>(
                        "SELECT t.* FROM team_member m JOIN team t ON t.id = m.team_id
                          WHERE m.user_id = $1 ORDER BY lower(t.name)",
                    )
                    .bind(DbId(user_id))
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
            }
        };
    };
}
pub(super) use team_store;
