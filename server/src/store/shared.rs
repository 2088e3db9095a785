//! The statements both backends run: written once here, expanded once per backend (the same
//! text, with `$n` placeholders, which sqlx binds on SQLite too). Each backend supplies only
//! what truly differs, as items of its own `impl`:
//!
//! - `reader()` / `writer()`: the pool for queries, and a connection for changes (SQLite's one
//!   writer, waited for in turn; a pooled connection on PostgreSQL);
//! - `LIKE`: the case-insensitive match (`LIKE` in SQLite, `ILIKE` in PostgreSQL);
//! - `push_after_key`: the history keyset predicate (each planner wants its own spelling);
//! - `CELLS_PREFIX` and `fetch_cells`: how the matrix is read (rows, or SQLite's single JSON
//!   text);
//! - and, in the macro call, `backend()` and the bulk insert.

/// Runs `$body` (which reaches the transaction's connection as `$tx`) in a transaction on the
/// writer, appends the audit entries to the same transaction and commits: a change and its entry
/// land together or not at all. With `if |outcome| keep`, an outcome that fails `keep` (an
/// update that found no row) is rolled back and no entry written.
macro_rules! audited {
    ($self:ident, $audit:expr, |$tx:ident| $body:expr) => {
        audited!($self, $audit, |$tx| $body, if |_outcome| true)
    };
    ($self:ident, $audit:expr, |$tx:ident| $body:expr, if |$outcome:ident| $keep:expr) => {
        async {
            let mut writer = $self.writer().await?;
            let mut transaction = sqlx::Connection::begin(&mut *writer).await?;
            let outcome = {
                let $tx = &mut *transaction;
                $body
            };
            let $outcome = &outcome;
            if $keep {
                Self::append_audit(&mut transaction, $audit).await?;
                transaction.commit().await?;
            }
            Ok::<_, sqlx::Error>(outcome)
        }
        .await
    };
}

/// Expands to `impl Store for $store` with every shared method plus `$specific`, and an
/// inherent impl with the helpers those methods share.
macro_rules! store_with_shared_statements {
    ($store:ty, $db:ty, { $($specific:tt)* }) => {
        impl $store {
            /// Starts a statement whose rows come back as one JSON text, `[[column, …], …]`:
            /// the caller pushes the inner query, and [`Self::fetch_json_rows`] closes and runs
            /// it. sqlx hands SQLite rows over one at a time from its worker thread, a thread
            /// wake-up per row; for thousands of rows one text is several times faster (and on
            /// PostgreSQL about as fast as rows).
            fn json_rows(columns: &str) -> sqlx::QueryBuilder<'static, $db> {
                let mut qb = sqlx::QueryBuilder::new(Self::JSON_ROWS_OPEN);
                qb.push(columns).push(Self::JSON_ROWS_FROM);
                qb
            }

            /// Pushes `(id, id, …)` with each id bound: the list after an `IN`.
            fn push_id_list(qb: &mut sqlx::QueryBuilder<'_, $db>, ids: &[Uuid]) {
                qb.push("(");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(DbId(*id));
                }
                qb.push(")");
            }

            async fn fetch_json_rows<T: serde::de::DeserializeOwned>(
                &self,
                mut query: sqlx::QueryBuilder<'_, $db>,
            ) -> Result<Vec<T>, StoreError> {
                query.push(") json_rows");
                let text: Option<String> = query
                    .build_query_scalar()
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_sqlx_error)?;
                text.map_or(Ok(vec![]), |text| serde_json::from_str(&text).map_err(StoreError::other))
            }

            /// Appends audit entries inside the caller's transaction.
            async fn append_audit(
                tx: &mut <$db as sqlx::Database>::Connection,
                entries: &[AuditRecord],
            ) -> Result<(), sqlx::Error> {
                let mut batch = Batch::default();
                batch.audit(entries);
                Self::run_batch(tx, batch).await
            }

            /// `sql` (an `insert_version!` statement) with the version's columns bound in order.
            fn bind_version<'q>(
                sql: &'q str,
                v: &'q Version,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                sqlx::query(sql)
                    .bind(DbId(v.id))
                    .bind(DbId(v.application_id))
                    .bind(&v.version_identifier)
                    .bind(v.released_at.map(DbTime))
                    .bind(&v.notes)
                    .bind(&v.commit_sha)
                    .bind(DbTime(v.created_at))
                    .bind(v.archived_at.map(DbTime))
            }

            /// Appends " AND …" selecting active pairs, optionally one application / environment.
            fn push_pair_filter(
                qb: &mut sqlx::QueryBuilder<'_, $db>,
                pairs: PairFilter,
                app: &str,
                env: &str,
            ) {
                qb.push(format!(" AND {app}.archived_at IS NULL AND {env}.archived_at IS NULL"));
                if let Some(id) = pairs.application_id {
                    qb.push(format!(" AND {app}.id = ")).push_bind(DbId(id));
                }
                if let Some(id) = pairs.environment_id {
                    qb.push(format!(" AND {env}.id = ")).push_bind(DbId(id));
                }
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            $($specific)*

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(self.reader()).await.done()
            }

            async fn list_applications(&self, include_archived: bool) -> Result<Vec<Application>, StoreError> {
                sqlx::query_as::<_, ApplicationRow>(
                    "SELECT * FROM application WHERE ($1 OR archived_at IS NULL) ORDER BY lower(name)",
                )
                .bind(include_archived)
                .fetch_all(self.reader())
                .await
                .many()
            }

            async fn get_application(&self, id: Uuid) -> Result<Application, StoreError> {
                sqlx::query_as::<_, ApplicationRow>("SELECT * FROM application WHERE id = $1")
                    .bind(DbId(id))
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn find_application(&self, name: &str) -> Result<Application, StoreError> {
                sqlx::query_as::<_, ApplicationRow>(
                    "SELECT * FROM application WHERE lower(name) = lower($1)",
                )
                .bind(name)
                .fetch_one(self.reader())
                .await
                .one()
            }

            async fn find_application_by_repository(
                &self,
                repository: &str,
            ) -> Result<Application, StoreError> {
                sqlx::query_as::<_, ApplicationRow>(
                    "SELECT * FROM application WHERE lower(repository) = lower($1)",
                )
                .bind(repository)
                .fetch_one(self.reader())
                .await
                .one()
            }

            async fn insert_application(&self, a: &Application, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query(
                    "INSERT INTO application
                       (id, name, description, repository, created_at, updated_at, archived_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(DbId(a.id))
                .bind(&a.name)
                .bind(&a.description)
                .bind(&a.repository)
                .bind(DbTime(a.created_at))
                .bind(DbTime(a.updated_at))
                .bind(a.archived_at.map(DbTime))
                .execute(tx)
                .await?)
                .done()
            }

            async fn update_application(&self, a: &Application, audit: &[AuditRecord]) -> Result<(), StoreError> {
                let result = audited!(self, audit, |tx| sqlx::query(
                    "UPDATE application SET name = $1, description = $2, repository = $3,
                            updated_at = $4, archived_at = $5
                     WHERE id = $6",
                )
                .bind(&a.name)
                .bind(&a.description)
                .bind(&a.repository)
                .bind(DbTime(a.updated_at))
                .bind(a.archived_at.map(DbTime))
                .bind(DbId(a.id))
                .execute(tx)
                .await?
                .rows_affected(), if |updated| *updated == 1);
                expect_one(result)
            }

            async fn list_environments(&self, include_archived: bool) -> Result<Vec<Environment>, StoreError> {
                sqlx::query_as::<_, EnvironmentRow>(
                    "SELECT * FROM environment WHERE ($1 OR archived_at IS NULL)
                     ORDER BY position, lower(name)",
                )
                .bind(include_archived)
                .fetch_all(self.reader())
                .await
                .many()
            }

            async fn get_environment(&self, id: Uuid) -> Result<Environment, StoreError> {
                sqlx::query_as::<_, EnvironmentRow>("SELECT * FROM environment WHERE id = $1")
                    .bind(DbId(id))
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn find_environment(&self, name: &str) -> Result<Environment, StoreError> {
                sqlx::query_as::<_, EnvironmentRow>(
                    "SELECT * FROM environment WHERE lower(name) = lower($1)",
                )
                .bind(name)
                .fetch_one(self.reader())
                .await
                .one()
            }

            async fn insert_environment(&self, e: &Environment, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query(
                    "INSERT INTO environment
                       (id, name, description, position, is_production, created_at, updated_at, archived_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(DbId(e.id))
                .bind(&e.name)
                .bind(&e.description)
                .bind(e.position)
                .bind(e.is_production)
                .bind(DbTime(e.created_at))
                .bind(DbTime(e.updated_at))
                .bind(e.archived_at.map(DbTime))
                .execute(tx)
                .await?)
                .done()
            }

            async fn update_environment(&self, e: &Environment, audit: &[AuditRecord]) -> Result<(), StoreError> {
                let result = audited!(self, audit, |tx| sqlx::query(
                    "UPDATE environment SET name = $1, description = $2, position = $3,
                            is_production = $4, updated_at = $5, archived_at = $6
                     WHERE id = $7",
                )
                .bind(&e.name)
                .bind(&e.description)
                .bind(e.position)
                .bind(e.is_production)
                .bind(DbTime(e.updated_at))
                .bind(e.archived_at.map(DbTime))
                .bind(DbId(e.id))
                .execute(tx)
                .await?
                .rows_affected(), if |updated| *updated == 1);
                expect_one(result)
            }

            async fn next_environment_position(&self) -> Result<i32, StoreError> {
                sqlx::query_scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM environment")
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_sqlx_error)
            }

            async fn set_environment_positions(
                &self,
                ordered_ids: &[Uuid],
                updated_at: DateTime<Utc>,
                audit: &[AuditRecord],
            ) -> Result<(), StoreError> {
                audited!(self, audit, |tx| {
                    for (position, id) in ordered_ids.iter().enumerate() {
                        sqlx::query("UPDATE environment SET position = $1, updated_at = $2 WHERE id = $3")
                            .bind(position as i32)
                            .bind(DbTime(updated_at))
                            .bind(DbId(*id))
                            .execute(&mut *tx)
                            .await?;
                    }
                })
                .map_err(map_sqlx_error)
            }

            async fn list_versions(
                &self,
                application_id: Uuid,
                include_archived: bool,
            ) -> Result<Vec<Version>, StoreError> {
                sqlx::query_as::<_, VersionRow>(
                    "SELECT * FROM version WHERE application_id = $1 AND ($2 OR archived_at IS NULL)
                     ORDER BY created_at DESC, id DESC",
                )
                .bind(DbId(application_id))
                .bind(include_archived)
                .fetch_all(self.reader())
                .await
                .many()
            }

            async fn get_version(&self, id: Uuid) -> Result<Version, StoreError> {
                sqlx::query_as::<_, VersionRow>("SELECT * FROM version WHERE id = $1")
                    .bind(DbId(id))
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn find_version(
                &self,
                application_id: Uuid,
                identifier: &str,
            ) -> Result<Version, StoreError> {
                sqlx::query_as::<_, VersionRow>(
                    "SELECT * FROM version WHERE application_id = $1 AND version_identifier = $2",
                )
                .bind(DbId(application_id))
                .bind(identifier)
                .fetch_one(self.reader())
                .await
                .one()
            }

            async fn insert_version(&self, v: &Version, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| Self::bind_version(INSERT_VERSION, v).execute(tx).await?).done()
            }

            async fn update_version(&self, v: &Version, audit: &[AuditRecord]) -> Result<(), StoreError> {
                let result = audited!(self, audit, |tx| sqlx::query(
                    "UPDATE version SET released_at = $1, notes = $2, archived_at = $3 WHERE id = $4",
                )
                .bind(v.released_at.map(DbTime))
                .bind(&v.notes)
                .bind(v.archived_at.map(DbTime))
                .bind(DbId(v.id))
                .execute(tx)
                .await?
                .rows_affected(), if |updated| *updated == 1);
                expect_one(result)
            }

            async fn count_active_applications(&self) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT COUNT(*) FROM application WHERE archived_at IS NULL")
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_sqlx_error)
            }

            async fn count_users(&self) -> Result<i64, StoreError> {
                sqlx::query_scalar("SELECT COUNT(*) FROM app_user")
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_sqlx_error)
            }

            async fn insert_user(&self, u: &User, password_hash: &str, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query(
                    "INSERT INTO app_user
                       (id, username, display_name, role, password_hash, created_at, updated_at, disabled_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
                )
                .bind(DbId(u.id))
                .bind(&u.username)
                .bind(&u.display_name)
                .bind(DbRole(u.role))
                .bind(password_hash)
                .bind(DbTime(u.created_at))
                .bind(u.disabled_at.map(DbTime))
                .execute(tx)
                .await?)
                .done()
            }

            async fn get_user(&self, id: Uuid) -> Result<User, StoreError> {
                sqlx::query_as::<_, UserRow>("SELECT * FROM app_user WHERE id = $1")
                    .bind(DbId(id))
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn find_credentials(&self, username: &str) -> Result<(User, String), StoreError> {
                sqlx::query_as::<_, CredentialsRow>("SELECT * FROM app_user WHERE lower(username) = lower($1)")
                    .bind(username)
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn list_users(&self) -> Result<Vec<User>, StoreError> {
                sqlx::query_as::<_, UserRow>("SELECT * FROM app_user ORDER BY lower(username)")
                    .fetch_all(self.reader())
                    .await
                    .many()
            }

            async fn update_user(&self, u: &User, updated_at: DateTime<Utc>, audit: &[AuditRecord]) -> Result<(), StoreError> {
                let result = audited!(self, audit, |tx| sqlx::query(
                    "UPDATE app_user SET display_name = $1, role = $2, disabled_at = $3, updated_at = $4
                     WHERE id = $5",
                )
                .bind(&u.display_name)
                .bind(DbRole(u.role))
                .bind(u.disabled_at.map(DbTime))
                .bind(DbTime(updated_at))
                .bind(DbId(u.id))
                .execute(tx)
                .await?
                .rows_affected(), if |updated| *updated == 1);
                expect_one(result)
            }

            async fn set_password_hash(
                &self,
                user_id: Uuid,
                password_hash: &str,
                updated_at: DateTime<Utc>,
                audit: &[AuditRecord],
            ) -> Result<(), StoreError> {
                let result = audited!(self, audit, |tx| sqlx::query(
                    "UPDATE app_user SET password_hash = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(password_hash)
                .bind(DbTime(updated_at))
                .bind(DbId(user_id))
                .execute(tx)
                .await?
                .rows_affected(), if |updated| *updated == 1);
                expect_one(result)
            }

            async fn insert_session(&self, s: &SessionRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query(
                    "INSERT INTO user_session (secret_hash, user_id, created_at, last_seen_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.secret_hash)
                .bind(DbId(s.user_id))
                .bind(DbTime(s.created_at))
                .bind(DbTime(s.last_seen_at))
                .bind(DbTime(s.expires_at))
                .execute(tx)
                .await?)
                .done()
            }

            async fn get_session(&self, secret_hash: &str) -> Result<SessionRecord, StoreError> {
                sqlx::query_as::<_, SessionRow>("SELECT * FROM user_session WHERE secret_hash = $1")
                    .bind(secret_hash)
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn touch_session(&self, secret_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query("UPDATE user_session SET last_seen_at = $1 WHERE secret_hash = $2")
                    .bind(DbTime(at))
                    .bind(secret_hash)
                    .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                    .await
                    .done()
            }

            async fn delete_session(&self, secret_hash: &str, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query("DELETE FROM user_session WHERE secret_hash = $1")
                    .bind(secret_hash)
                    .execute(tx)
                    .await?)
                .done()
            }

            async fn delete_sessions_of(&self, user_id: Uuid) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM user_session WHERE user_id = $1")
                    .bind(DbId(user_id))
                    .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                    .await
                    .done()
            }

            async fn insert_token(&self, t: &ApiToken, secret_hash: &str, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query(
                    "INSERT INTO api_token
                       (id, user_id, name, secret_hash, created_at, last_used_at, expires_at, revoked_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(DbId(t.id))
                .bind(DbId(t.user_id))
                .bind(&t.name)
                .bind(secret_hash)
                .bind(DbTime(t.created_at))
                .bind(t.last_used_at.map(DbTime))
                .bind(t.expires_at.map(DbTime))
                .bind(t.revoked_at.map(DbTime))
                .execute(tx)
                .await?)
                .done()
            }

            async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>, StoreError> {
                sqlx::query_as::<_, TokenRow>(
                    "SELECT * FROM api_token WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
                )
                .bind(DbId(user_id))
                .fetch_all(self.reader())
                .await
                .many()
            }

            async fn get_token(&self, id: Uuid) -> Result<ApiToken, StoreError> {
                sqlx::query_as::<_, TokenRow>("SELECT * FROM api_token WHERE id = $1")
                    .bind(DbId(id))
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn find_token(&self, secret_hash: &str) -> Result<ApiToken, StoreError> {
                sqlx::query_as::<_, TokenRow>("SELECT * FROM api_token WHERE secret_hash = $1")
                    .bind(secret_hash)
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE id = $2")
                    .bind(DbTime(at))
                    .bind(DbId(id))
                    .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                    .await
                    .done()
            }

            async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>, audit: &[AuditRecord]) -> Result<(), StoreError> {
                // Only a live token is revoked (and audited); revoking again changes nothing.
                let result = audited!(self, audit, |tx| {
                    let revoked = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                        .bind(DbTime(at))
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_token WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(&mut *tx)
                        .await?;
                    (revoked, exists)
                }, if |outcome| outcome.0 == 1);
                expect_one(result.map(|(_, exists)| exists as u64))
            }

            async fn login_failures(
                &self,
                key: &str,
                since: DateTime<Utc>,
            ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
                sqlx::query_as::<_, (i64, DbTime)>(LOGIN_FAILURES)
                    .bind(key)
                    .bind(DbTime(since))
                    .fetch_optional(self.reader())
                    .await
                    .map(|row| row.map(|(failures, last)| (failures, last.0)))
                    .map_err(map_sqlx_error)
            }

            async fn record_login_failure(
                &self,
                key: &str,
                at: DateTime<Utc>,
                since: DateTime<Utc>,
                audit: &[AuditRecord],
            ) -> Result<(), StoreError> {
                audited!(self, audit, |tx| {
                    sqlx::query(PRUNE_LOGIN_FAILURES).bind(DbTime(since)).execute(&mut *tx).await?;
                    sqlx::query(RECORD_LOGIN_FAILURE)
                        .bind(key)
                        .bind(DbTime(at))
                        .bind(DbTime(since))
                        .execute(&mut *tx)
                        .await?;
                })
                .map_err(map_sqlx_error)
            }

            async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
                sqlx::query(CLEAR_LOGIN_FAILURES)
                    .bind(key)
                    .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                    .await
                    .done()
            }

            async fn insert_hook(&self, h: &HookRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query(
                    "INSERT INTO hook (id, provider, name, signing_secret, secret_hash, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(DbId(h.id))
                .bind(&h.provider)
                .bind(&h.name)
                .bind(&h.signing_secret)
                .bind(&h.secret_hash)
                .bind(DbId(h.created_by))
                .bind(DbTime(h.created_at))
                .execute(tx)
                .await?)
                .done()
            }

            async fn list_hooks(&self, provider: Option<&str>) -> Result<Vec<HookRecord>, StoreError> {
                sqlx::query_as::<_, HookRow>(
                    "SELECT * FROM hook WHERE ($1 IS NULL OR provider = $1) ORDER BY created_at, id",
                )
                .bind(provider)
                .fetch_all(self.reader())
                .await
                .many()
            }

            async fn delete_hook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                let deleted = audited!(self, audit, |tx| {
                    sqlx::query("DELETE FROM hook_delivery WHERE hook_id = $1")
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM hook WHERE id = $1")
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                }, if |deleted| *deleted == 1);
                expect_one(deleted)
            }

            async fn insert_delivery(&self, d: &HookDelivery) -> Result<bool, StoreError> {
                async {
                    let mut writer = self.writer().await?;
                    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                    let kept = sqlx::query(
                        "INSERT INTO hook_delivery
                           (id, hook_id, delivery_id, received_at, event, outcome, detail, deployment_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (hook_id, delivery_id) DO NOTHING",
                    )
                    .bind(DbId(d.id))
                    .bind(DbId(d.hook_id))
                    .bind(&d.delivery_id)
                    .bind(DbTime(d.received_at))
                    .bind(&d.event)
                    .bind(DbOutcome(d.outcome))
                    .bind(&d.detail)
                    .bind(d.deployment_id.map(DbId))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    sqlx::query(
                        "DELETE FROM hook_delivery WHERE hook_id = $1 AND id NOT IN
                           (SELECT id FROM hook_delivery WHERE hook_id = $1
                             ORDER BY received_at DESC, id DESC LIMIT $2)",
                    )
                    .bind(DbId(d.hook_id))
                    .bind(DELIVERIES_KEPT)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await.map(|_| kept)
                }
                .await
                .map_err(map_sqlx_error)
            }

            async fn find_delivery(
                &self,
                hook_id: Uuid,
                delivery_id: &str,
            ) -> Result<Option<HookDelivery>, StoreError> {
                sqlx::query_as::<_, DeliveryRow>(
                    "SELECT * FROM hook_delivery WHERE hook_id = $1 AND delivery_id = $2",
                )
                .bind(DbId(hook_id))
                .bind(delivery_id)
                .fetch_optional(self.reader())
                .await
                .map(|row| row.map(Into::into))
                .map_err(map_sqlx_error)
            }

            async fn list_deliveries(&self, hook_id: Uuid) -> Result<Vec<HookDelivery>, StoreError> {
                sqlx::query_as::<_, DeliveryRow>(
                    "SELECT * FROM hook_delivery WHERE hook_id = $1
                      ORDER BY received_at DESC, id DESC",
                )
                .bind(DbId(hook_id))
                .fetch_all(self.reader())
                .await
                .many()
            }

            async fn out_of_range_instants(&self) -> Result<Vec<String>, StoreError> {
                let (earliest, latest) = instant_range();
                sqlx::query_scalar(OUT_OF_RANGE_INSTANTS)
                    .bind(DbTime(earliest))
                    .bind(DbTime(latest))
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_sqlx_error)
            }

            async fn insert_deployment(
                &self,
                d: &NewDeployment,
                new_version: Option<&Version>,
                claim: Option<&IdempotencyClaim>,
                audit: &[AuditRecord],
                outbox: &[WebhookDelivery],
            ) -> Result<Inserted, StoreError> {
                let (application, environment) = (DbId(d.application_id), DbId(d.environment_id));
                let taken = async {
                    let mut writer = self.writer().await?;
                    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                    let mut version_id = DbId(d.version_id);
                    if let Some(v) = new_version {
                        // A concurrent request may have registered the same identifier: deploy
                        // that one rather than fail.
                        Self::bind_version(INSERT_VERSION_IF_NEW, v)
                            .execute(&mut *tx)
                            .await?;
                        version_id = sqlx::query_scalar(
                            "SELECT id FROM version WHERE application_id = $1 AND version_identifier = $2",
                        )
                        .bind(DbId(v.application_id))
                        .bind(&v.version_identifier)
                        .fetch_one(&mut *tx)
                        .await?;
                    }
                    let mut batch = Batch::default();
                    batch.push(
                        INSERT_DEPLOYMENT,
                        vec![
                            Bound::Id(DbId(d.id)),
                            Bound::Id(application),
                            Bound::Id(version_id),
                            Bound::Id(environment),
                            Bound::Time(DbTime(d.deployment_date)),
                            Bound::OptionalText(d.deployed_by.clone()),
                            Bound::OptionalText(d.notes.clone()),
                            Bound::Time(DbTime(d.created_at)),
                        ],
                    );
                    if let Some(claim) = claim {
                        // Taken after the deployment row exists (the key refers to it); a
                        // concurrent holder of the key makes this wait, then insert nothing.
                        batch.push(
                            "DELETE FROM idempotency_key WHERE created_at < $1",
                            vec![Bound::Time(DbTime(claim.expired_before))],
                        );
                        Self::run_batch(&mut tx, std::mem::take(&mut batch)).await?;
                        let claimed = sqlx::query(
                            "INSERT INTO idempotency_key
                               (user_id, idempotency_key, request_hash, deployment_id, created_at)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (user_id, idempotency_key) DO NOTHING",
                        )
                        .bind(DbId(claim.user_id))
                        .bind(&claim.key)
                        .bind(&claim.request_hash)
                        .bind(DbId(d.id))
                        .bind(DbTime(claim.created_at))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if claimed == 0 {
                            tx.rollback().await?;
                            return Ok(true);
                        }
                    }
                    batch
                        .push(
                            Self::CLAIM_PAIR,
                            vec![
                                Bound::Id(application),
                                Bound::Id(environment),
                                Bound::Id(DbId(d.id)),
                                Bound::Time(DbTime(d.deployment_date)),
                                Bound::Time(DbTime(d.created_at)),
                                Bound::Id(version_id),
                                Bound::OptionalText(d.deployed_by.clone()),
                            ],
                        )
                        .push(REFRESH_PAIR, vec![Bound::Id(application), Bound::Id(environment)])
                        .audit(audit)
                        .outbox(outbox);
                    Self::run_batch(&mut tx, batch).await?;
                    tx.commit().await.map(|_| false)
                }
                .await
                .map_err(map_sqlx_error)?;
                match (taken, claim) {
                    (true, Some(claim)) => self
                        .find_idempotency_key(claim.user_id, &claim.key, claim.expired_before)
                        .await?
                        .map(Inserted::KeyTaken)
                        .ok_or(StoreError::NotFound),
                    _ => Ok(Inserted::Recorded),
                }
            }

            async fn find_idempotency_key(
                &self,
                user_id: Uuid,
                key: &str,
                since: DateTime<Utc>,
            ) -> Result<Option<IdempotencyRecord>, StoreError> {
                sqlx::query_as::<_, IdempotencyRow>(
                    "SELECT request_hash, deployment_id FROM idempotency_key
                      WHERE user_id = $1 AND idempotency_key = $2 AND created_at >= $3",
                )
                .bind(DbId(user_id))
                .bind(key)
                .bind(DbTime(since))
                .fetch_optional(self.reader())
                .await
                .map(|row| row.map(Into::into))
                .map_err(map_sqlx_error)
            }

            async fn get_deployment(&self, id: Uuid) -> Result<DeploymentRecord, StoreError> {
                sqlx::query_as::<_, DeploymentRow>(&format!("{DEPLOYMENT_SELECT} WHERE d.id = $1"))
                    .bind(DbId(id))
                    .fetch_one(self.reader())
                    .await
                    .one()
            }

            async fn list_deployments(
                &self,
                filter: &DeploymentFilter,
                after: Option<HistoryKey>,
                limit: i64,
            ) -> Result<Vec<DeploymentRecord>, StoreError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(DEPLOYMENT_SELECT);
                qb.push(" WHERE 1 = 1");
                if !filter.include_deleted {
                    qb.push(" AND d.deleted_at IS NULL");
                }
                for (column, id) in [
                    ("application_id", filter.application_id),
                    ("environment_id", filter.environment_id),
                    ("version_id", filter.version_id),
                ] {
                    if let Some(id) = id {
                        qb.push(format!(" AND d.{column} = ")).push_bind(DbId(id));
                    }
                }
                if let Some(from) = filter.date_from {
                    qb.push(" AND d.deployment_date >= ").push_bind(DbTime(from));
                }
                if let Some(to) = filter.date_to {
                    qb.push(" AND d.deployment_date <= ").push_bind(DbTime(to));
                }
                if let Some(who) = &filter.deployed_by {
                    qb.push(" AND lower(d.deployed_by) = lower(").push_bind(who.clone()).push(")");
                }
                if let Some(q) = &filter.q {
                    let pattern = like_pattern(q);
                    let like = Self::LIKE;
                    qb.push(format!(" AND (d.notes {like} ")).push_bind(pattern.clone());
                    qb.push(format!(" ESCAPE '\\' OR v.version_identifier {like} ")).push_bind(pattern.clone());
                    qb.push(format!(" ESCAPE '\\' OR d.deployed_by {like} ")).push_bind(pattern);
                    qb.push(" ESCAPE '\\')");
                }
                if let Some(key) = after {
                    Self::push_after_key(&mut qb, key);
                }
                qb.push(HISTORY_ORDER).push(" LIMIT ").push_bind(limit);
                qb.build_query_as::<DeploymentRow>()
                    .fetch_all(self.reader())
                    .await
                    .many()
            }

            async fn current_states(&self, pairs: PairFilter) -> Result<Vec<CurrentStateRecord>, StoreError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(Self::CELLS_PREFIX);
                qb.push(CURRENT_STATE_COLUMNS).push("current_deployment").push(CURRENT_STATE_JOINS);
                Self::push_pair_filter(&mut qb, pairs, "a", "e");
                self.fetch_cells(qb).await
            }

            async fn matrix_stamp(&self) -> Result<MatrixStamp, StoreError> {
                sqlx::query_as::<_, (i64, i64)>(MATRIX_STAMP)
                    .fetch_one(self.reader())
                    .await
                    .map(|(epoch, revisions)| MatrixStamp { epoch, revisions })
                    .map_err(map_sqlx_error)
            }

            async fn pair_revisions(&self, with_pairs: bool) -> Result<PairRevisions, StoreError> {
                let sql = if with_pairs { PAIR_REVISIONS_AND_KEYS } else { PAIR_REVISIONS };
                let (epoch, revisions, pairs) =
                    sqlx::query_as::<_, (i64, Option<String>, Option<String>)>(sql)
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)?;
                parse_pair_revisions(epoch, revisions, pairs)
            }

            async fn pair_changes(&self, above: i64) -> Result<PairChanges, StoreError> {
                let (epoch, revision_sum, changed) =
                    sqlx::query_as::<_, (i64, i64, Option<String>)>(PAIR_CHANGES)
                        .bind(above)
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)?;
                parse_pair_changes(epoch, revision_sum, changed)
            }

            async fn application_timeline(
                &self,
                application_id: Uuid,
                environment_id: Option<Uuid>,
            ) -> Result<(Vec<TimelineRecord>, Vec<VersionBrief>), StoreError> {
                // In the pair index's order, so both planners read that (covering) index.
                let mut qb = Self::json_rows(TIMELINE_COLUMNS);
                qb.push(TIMELINE).push_bind(DbId(application_id));
                if let Some(id) = environment_id {
                    qb.push(" AND environment_id = ").push_bind(DbId(id));
                }
                qb.push(TIMELINE_ORDER);
                let rows: Vec<columns::TimelineRow> = self.fetch_json_rows(qb).await?;
                // After the deployments: every version they name is among these.
                let mut qb = Self::json_rows(VERSION_BRIEF_COLUMNS);
                qb.push(VERSION_BRIEFS).push_bind(DbId(application_id));
                let versions: Vec<columns::VersionBriefRow> = self.fetch_json_rows(qb).await?;
                let rows = rows
                    .into_iter()
                    .map(|r| TimelineRecord {
                        environment_id: r.environment_id,
                        deployment_id: r.id,
                        deployment_date: r.deployment_date.0,
                        created_at: r.created_at.0,
                        version_id: r.version_id,
                        deployed_by: r.deployed_by,
                    })
                    .collect();
                let versions = versions
                    .into_iter()
                    .map(|v| VersionBrief {
                        id: v.id,
                        version_identifier: v.version_identifier,
                        created_at: v.created_at.0,
                    })
                    .collect();
                Ok((rows, versions))
            }

            async fn retract_deployment(
                &self,
                id: Uuid,
                deleted_at: DateTime<Utc>,
                deleted_by: &str,
                reason: &str,
                audit: &[AuditRecord],
                outbox: &[WebhookDelivery],
            ) -> Result<(), StoreError> {
                let retracted = async {
                    // Write first, so the transaction holds SQLite's write lock from its first
                    // statement; the pair's row update below also locks the pair in PostgreSQL.
                    let mut writer = self.writer().await?;
                    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                    let updated = sqlx::query(
                        "UPDATE deployment SET deleted_at = $1, deleted_by = $2, delete_reason = $3
                          WHERE id = $4 AND deleted_at IS NULL",
                    )
                    .bind(DbTime(deleted_at))
                    .bind(deleted_by)
                    .bind(reason)
                    .bind(DbId(id))
                    .execute(&mut *tx)
                    .await?;
                    let (application, environment) = sqlx::query_as::<_, (DbId, DbId)>(
                        "SELECT application_id, environment_id FROM deployment WHERE id = $1",
                    )
                    .bind(DbId(id))
                    .fetch_one(&mut *tx)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Ok(false);
                    }
                    let pair = || vec![Bound::Id(application), Bound::Id(environment)];
                    let mut batch = Batch::default();
                    batch
                        .push(Self::UNCOUNT_RETRACTED, pair())
                        .push(DROP_EMPTY_PAIR, pair())
                        .push(REFRESH_PAIR, pair())
                        .audit(audit)
                        .outbox(outbox);
                    Self::run_batch(&mut tx, batch).await?;
                    tx.commit().await.map(|_| true)
                }
                .await
                .map_err(map_sqlx_error)?;
                if retracted { Ok(()) } else { Err(StoreError::Conflict("id")) }
            }

            async fn count_deployments_between(
                &self,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> Result<i64, StoreError> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM deployment
                      WHERE deleted_at IS NULL AND deployment_date >= $1 AND deployment_date < $2",
                )
                .bind(DbTime(from))
                .bind(DbTime(to))
                .fetch_one(self.reader())
                .await
                .map_err(map_sqlx_error)
            }

            async fn count_deployments_per_environment(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
                sqlx::query_as::<_, (DbId, i64)>(COUNT_PER_ENVIRONMENT)
                    .fetch_all(self.reader())
                    .await
                    .map(|rows| rows.into_iter().map(|(id, n)| (id.0, n)).collect())
                    .map_err(map_sqlx_error)
            }

            async fn list_audit(
                &self,
                filter: &AuditFilter,
                after: Option<AuditKey>,
                limit: i64,
            ) -> Result<Vec<AuditRecord>, StoreError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT * FROM audit_entry WHERE 1 = 1");
                if let Some(id) = filter.actor_id {
                    qb.push(" AND actor_id = ").push_bind(DbId(id));
                }
                if let Some(action) = &filter.action {
                    qb.push(" AND action = ").push_bind(action.clone());
                }
                if let Some(target) = &filter.target_id {
                    qb.push(" AND target_id = ").push_bind(target.clone());
                }
                if let Some(from) = filter.date_from {
                    qb.push(" AND at >= ").push_bind(DbTime(from));
                }
                if let Some(to) = filter.date_to {
                    qb.push(" AND at <= ").push_bind(DbTime(to));
                }
                if let Some(key) = after {
                    // A plain range on the leading column, so both planners walk the index.
                    qb.push(" AND at <= ").push_bind(DbTime(key.at));
                    qb.push(" AND (at < ").push_bind(DbTime(key.at));
                    qb.push(" OR id < ").push_bind(DbId(key.id)).push(")");
                }
                qb.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(limit);
                qb.build_query_as::<AuditRow>()
                    .fetch_all(self.reader())
                    .await
                    .many()
            }

            async fn insight_rows(
                &self,
                environment_ids: &[Uuid],
                application_id: Option<Uuid>,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> Result<Vec<InsightRecord>, StoreError> {
                if environment_ids.is_empty() {
                    return Ok(vec![]);
                }
                let environments = |qb: &mut sqlx::QueryBuilder<'_, $db>| {
                    qb.push("IN ");
                    Self::push_id_list(qb, environment_ids);
                };
                let applications: Vec<Uuid> = match application_id {
                    Some(id) => vec![id],
                    None => sqlx::query_scalar::<_, DbId>("SELECT id FROM application ORDER BY id")
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_sqlx_error)?
                        .into_iter()
                        .map(|id| id.0)
                        .collect(),
                };
                // A hundred applications per statement: each answer is one JSON text, held by the
                // database, copied by the driver and parsed here, so a year of every
                // application's deployments in one text cost ~50 MB at its peak.
                let mut range: Vec<columns::InsightRangeRow> = vec![];
                for chunk in applications.chunks(APPLICATIONS_PER_INSIGHT_READ) {
                    // Live deployments are read pair by pair from the pair index, which holds
                    // every column needed (an environment's range would visit a table row each,
                    // scattered over a year of history); the few retracted ones from their own
                    // index.
                    let mut qb = Self::json_rows(INSIGHT_RANGE_COLUMNS);
                    for (i, which) in [
                        "d.deleted_at IS NULL AND d.application_id IN ",
                        "d.deleted_at IS NOT NULL AND d.application_id IN ",
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        if i > 0 {
                            qb.push(" UNION ALL ");
                        }
                        qb.push(INSIGHT_RANGE).push(which);
                        Self::push_id_list(&mut qb, chunk);
                        qb.push(" AND d.environment_id ");
                        environments(&mut qb);
                        qb.push(" AND d.deployment_date >= ").push_bind(DbTime(from));
                        qb.push(" AND d.deployment_date < ").push_bind(DbTime(to));
                    }
                    range.extend(self.fetch_json_rows::<columns::InsightRangeRow>(qb).await?);
                }
                if range.is_empty() {
                    return Ok(vec![]);
                }

                let mut after = Self::json_rows(INSIGHT_NEXT_COLUMNS);
                after.push(INSIGHT_NEXT).push_bind(DbTime(to)).push(INSIGHT_NEXT_PAIRS);
                after.push("p.environment_id ");
                environments(&mut after);
                if let Some(id) = application_id {
                    after.push(" AND p.application_id = ").push_bind(DbId(id));
                }
                let after = self.fetch_json_rows(after).await?;

                let mut versions: Vec<Uuid> = range
                    .iter()
                    .filter(|r| r.deleted_at.is_none())
                    .map(|r| r.version_id)
                    .collect();
                versions.sort_unstable();
                versions.dedup();
                let mut firsts = Vec::with_capacity(versions.len());
                for chunk in versions.chunks(IDS_PER_STATEMENT) {
                    let mut qb = Self::json_rows(INSIGHT_FIRSTS_COLUMNS);
                    qb.push("SELECT v.id AS version_id, ").push(FIRST_DEPLOYMENT_OF_V);
                    environments(&mut qb);
                    qb.push(FIRST_DEPLOYMENT_END).push(" AS first_here, ");
                    qb.push(FIRST_DEPLOYMENT_OF_V).push("NOT ");
                    environments(&mut qb);
                    qb.push(FIRST_DEPLOYMENT_END).push(" AS first_elsewhere FROM version v WHERE v.id IN ");
                    Self::push_id_list(&mut qb, chunk);
                    firsts.extend(self.fetch_json_rows::<columns::InsightFirstsRow>(qb).await?);
                }
                Ok(insight_records(range, after, firsts))
            }

            async fn insert_webhook(&self, w: &WebhookRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                audited!(self, audit, |tx| sqlx::query(
                    "INSERT INTO webhook
                       (id, url, events, environment_ids, format, signing_secret, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(DbId(w.id))
                .bind(&w.url)
                .bind(&w.events)
                .bind(&w.environment_ids)
                .bind(&w.format)
                .bind(&w.signing_secret)
                .bind(DbId(w.created_by))
                .bind(DbTime(w.created_at))
                .execute(tx)
                .await?)
                .done()
            }

            async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
                sqlx::query_as::<_, WebhookRow>("SELECT * FROM webhook ORDER BY created_at, id")
                    .fetch_all(self.reader())
                    .await
                    .many()
            }

            async fn delete_webhook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                let deleted = audited!(self, audit, |tx| {
                    sqlx::query("DELETE FROM webhook_delivery WHERE webhook_id = $1")
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM webhook WHERE id = $1")
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                }, if |deleted| *deleted == 1);
                expect_one(deleted)
            }

            async fn list_webhook_deliveries(&self, webhook_id: Uuid) -> Result<Vec<WebhookDelivery>, StoreError> {
                sqlx::query_as::<_, WebhookDeliveryRow>(
                    "SELECT * FROM webhook_delivery WHERE webhook_id = $1
                      ORDER BY created_at DESC, id DESC LIMIT $2",
                )
                .bind(DbId(webhook_id))
                .bind(WEBHOOK_DELIVERIES_KEPT)
                .fetch_all(self.reader())
                .await
                .many()
            }

            async fn insert_webhook_deliveries(&self, deliveries: &[WebhookDelivery]) -> Result<(), StoreError> {
                async {
                    let mut writer = self.writer().await?;
                    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                    let mut batch = Batch::default();
                    batch.outbox(deliveries);
                    Self::run_batch(&mut tx, batch).await?;
                    tx.commit().await
                }
                .await
                .map_err(map_sqlx_error)
            }

            async fn claim_webhook_deliveries(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<WebhookDelivery>, StoreError> {
                // The notifier asks after every record; most find nothing due. Asking a reader
                // first keeps those from queueing for the single writer (SQLite) behind records.
                let any_due: bool = sqlx::query_scalar(concat!(
                    "SELECT EXISTS (SELECT 1 FROM webhook_delivery WHERE ",
                    due_delivery!("$1"),
                    ")"
                ))
                .bind(DbTime(now))
                .fetch_one(self.reader())
                .await
                .map_err(map_sqlx_error)?;
                if !any_due {
                    return Ok(vec![]);
                }
                let sql = format!(
                    "UPDATE webhook_delivery SET locked_until = $1, attempts = attempts + 1
                      WHERE id IN (SELECT id FROM webhook_delivery WHERE {}
                                    ORDER BY next_attempt_at LIMIT $3{})
                      RETURNING *",
                    due_delivery!("$2"),
                    Self::SKIP_LOCKED
                );
                sqlx::query_as::<_, WebhookDeliveryRow>(&sql)
                    .bind(DbTime(lease_until))
                    .bind(DbTime(now))
                    .bind(limit)
                    .fetch_all(&mut *self.writer().await.map_err(map_sqlx_error)?)
                    .await
                    .many()
            }

            async fn finish_webhook_delivery(&self, d: &WebhookDelivery) -> Result<(), StoreError> {
                async {
                    let mut writer = self.writer().await?;
                    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                    sqlx::query(
                        "UPDATE webhook_delivery SET status = $1, next_attempt_at = $2, locked_until = NULL,
                                last_status = $3, last_error = $4, delivered_at = $5
                          WHERE id = $6",
                    )
                    .bind(&d.status)
                    .bind(DbTime(d.next_attempt_at))
                    .bind(d.last_status)
                    .bind(&d.last_error)
                    .bind(d.delivered_at.map(DbTime))
                    .bind(DbId(d.id))
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "DELETE FROM webhook_delivery WHERE webhook_id = $1 AND status <> 'pending'
                           AND id NOT IN (SELECT id FROM webhook_delivery WHERE webhook_id = $1
                                           ORDER BY created_at DESC, id DESC LIMIT $2)",
                    )
                    .bind(DbId(d.webhook_id))
                    .bind(WEBHOOK_DELIVERIES_KEPT)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                }
                .await
                .map_err(map_sqlx_error)
            }

            async fn rebuild_current_deployments(&self) -> Result<(), StoreError> {
                async {
                    let mut writer = self.writer().await?;
                    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                    sqlx::query("DELETE FROM current_deployment").execute(&mut *tx).await?;
                    sqlx::query(REBUILD_CURRENT).execute(&mut *tx).await?;
                    tx.commit().await?;
                    // Fresh statistics after a bulk load (the catalogue's too), so the planner
                    // picks the right indexes.
                    sqlx::query("ANALYZE").execute(&mut *writer).await.map(|_| ())
                }
                .await
                .map_err(map_sqlx_error)
            }
        }
    };
}
