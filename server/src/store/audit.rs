//! The audit trail: appended in the transaction of each change (see `Batch::audit`), read here.

/// Appends an audit entry; binds the columns in table order.
pub(super) const INSERT_AUDIT: &str = "INSERT INTO audit_entry
       (id, at, actor_id, actor_username, token_name, client_address, action, target_type,
        target_id, changes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Reading the audit trail.
macro_rules! audit_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::ssr::store::{AuditFilter, AuditKey, AuditRecord, AuditStore, StoreError};

            use crate::store::columns::{AuditRow, DbId, DbTime};
            use crate::store::dialect::Dialect;
            use crate::store::outcome::Rows;

            #[async_trait::async_trait]
            impl AuditStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_audit(
                    &self,
                    filter: &AuditFilter,
                    after: Option<AuditKey>,
                    limit: i64,
                ) -> Result<Vec<AuditRecord>, StoreError> {
                    let mut qb =
                        sqlx::QueryBuilder::<$db>::new("SELECT * FROM audit_entry WHERE 1 = 1");
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
                    qb.push(" ORDER BY at DESC, id DESC LIMIT ")
                        .push_bind(limit);
                    qb.build_query_as::<AuditRow>()
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
            }
        };
    };
}
pub(super) use audit_store;
