//! The deployments insights measure, with what followed each in its pair.
//!
//! Insights are read a few applications at a time (deployments to the measured environments
//! dated in [from, to)), in three statements each: the range's deployments, each measured pair's
//! first live deployment after the range, and the first live deployments of each version the
//! range holds. What followed a deployment in its pair is then found by walking the pair (see
//! [`insight_records`]): one index seek per pair instead of one per deployment, two per
//! version instead of two per deployment. Each comes back as one JSON text (see `json_rows`).

use crate::store::columns;

/// A deployment in the range with its version; callers add the WHERE clause.
pub(super) const RANGE: &str = "SELECT d.id, d.application_id, d.environment_id, d.version_id,
            d.deployment_date, d.created_at, d.deleted_at,
            v.version_identifier, v.created_at AS version_created_at, v.released_at
       FROM deployment d JOIN version v ON v.id = d.version_id";

/// How many ids one statement binds (both backends allow far more; this keeps statements short).
pub(super) const IDS_PER_STATEMENT: usize = 1_000;

/// How many live deployments to the measured environments one read of insights may span, as the
/// pairs count them (all time, so a read of a shorter range holds fewer): what one request holds
/// while it measures them is ~1 KB each (JSON text, rows, records), ~5 MB at this bound, however
/// long the history; and each database connection keeps a buffer as large as the largest text
/// it received. At 10M deployments (500 × 15, two production environments) that is one or two
/// applications a read; at 1M, 18.
pub(super) const LIVE_DEPLOYMENTS_PER_INSIGHT_READ: i64 = 5_000;

/// At most this many applications in one read (the statements list them).
pub(super) const APPLICATIONS_PER_INSIGHT_READ: usize = 100;

/// One pair of an application too large for one read, read a page of at most
/// [`LIVE_DEPLOYMENTS_PER_INSIGHT_READ`] deployments at a time, newest first (the pair index's
/// order), so that even a pair with millions of deployments in the range is never held at once.
pub(super) struct PairPage {
    pub(super) environment: uuid::Uuid,
    /// The oldest deployment read so far: the next page holds those strictly older.
    pub(super) before: Option<app::ssr::HistoryKey>,
    /// The oldest live deployment read so far: what followed the next page's newest.
    pub(super) next: Option<columns::InsightNextRow>,
    /// The last page was not full: the pair is read.
    pub(super) done: bool,
    /// The first deployments of the versions its pages held so far (and the application's
    /// other pairs' before it): each version is looked up once.
    pub(super) firsts: std::collections::HashMap<uuid::Uuid, columns::InsightFirstsRow>,
}

impl PairPage {
    /// The first page of a pair, with the first deployments known from the application's pairs
    /// read before it.
    pub(super) fn new(
        environment: uuid::Uuid,
        firsts: std::collections::HashMap<uuid::Uuid, columns::InsightFirstsRow>,
    ) -> Self {
        PairPage {
            environment,
            before: None,
            next: None,
            done: false,
            firsts,
        }
    }

    /// Takes note of a page's rows: where the next one starts, and what follows it.
    pub(super) fn read(&mut self, rows: &[columns::InsightRangeRow]) {
        let key = |r: &&columns::InsightRangeRow| (r.deployment_date.0, r.created_at.0, r.id);
        self.done = rows.len() < LIVE_DEPLOYMENTS_PER_INSIGHT_READ as usize;
        if let Some(oldest) = rows.iter().min_by_key(key) {
            self.before = Some(app::ssr::HistoryKey {
                deployment_date: oldest.deployment_date.0,
                created_at: oldest.created_at.0,
                id: oldest.id,
            });
        }
        let live = rows.iter().filter(|r| r.deleted_at.is_none());
        if let Some(oldest) = live.min_by_key(key) {
            self.next = Some(columns::InsightNextRow {
                application_id: oldest.application_id,
                environment_id: oldest.environment_id,
                deployment_date: oldest.deployment_date,
                version_identifier: oldest.version_identifier.clone(),
                version_created_at: oldest.version_created_at,
            });
        }
    }
}

/// `applications` in order, cut into the reads insights make: each read as many applications as
/// stay within [`LIVE_DEPLOYMENTS_PER_INSIGHT_READ`] (by `live`, their live deployments to the
/// measured environments; none if absent) and [`APPLICATIONS_PER_INSIGHT_READ`]. An application
/// with more than the bound alone is a read of its own.
pub(super) fn insight_reads<'a>(
    applications: &'a [uuid::Uuid],
    live: &std::collections::HashMap<uuid::Uuid, i64>,
) -> Vec<&'a [uuid::Uuid]> {
    let mut reads = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, application) in applications.iter().enumerate() {
        let more = live.get(application).copied().unwrap_or(0).max(0);
        let full = i > start
            && (rows + more > LIVE_DEPLOYMENTS_PER_INSIGHT_READ
                || i - start == APPLICATIONS_PER_INSIGHT_READ);
        if full {
            reads.push(&applications[start..i]);
            (start, rows) = (i, 0);
        }
        rows += more;
    }
    if start < applications.len() {
        reads.push(&applications[start..]);
    }
    reads
}

/// What followed in a pair: a live deployment's date and version.
#[derive(Clone)]
pub(super) struct NextInPair {
    date: chrono::DateTime<chrono::Utc>,
    version_identifier: String,
    version_created_at: chrono::DateTime<chrono::Utc>,
}

/// The insight records of the range's deployments, oldest first: each with the next live
/// deployment of its pair (the next one in the range, else the pair's first after it) and its
/// version's first deployments.
pub(super) fn insight_records(
    mut range: Vec<columns::InsightRangeRow>,
    after: Vec<columns::InsightNextRow>,
    firsts: Vec<columns::InsightFirstsRow>,
) -> Vec<app::ssr::InsightRecord> {
    use std::collections::HashMap;
    let after: HashMap<(uuid::Uuid, uuid::Uuid), NextInPair> = after
        .into_iter()
        .map(|n| {
            let next = NextInPair {
                date: n.deployment_date.0,
                version_identifier: n.version_identifier,
                version_created_at: n.version_created_at.0,
            };
            ((n.application_id, n.environment_id), next)
        })
        .collect();
    let firsts: HashMap<uuid::Uuid, _> = firsts
        .into_iter()
        .map(|f| (f.version_id, (f.first_here, f.first_elsewhere)))
        .collect();
    // Pair by pair in history order (the order the old per-row seek used), walked backwards.
    range.sort_unstable_by_key(|r| {
        let pair = (r.application_id, r.environment_id);
        (pair, r.deployment_date.0, r.created_at.0, r.id)
    });
    let mut records = Vec::with_capacity(range.len());
    let mut pair = None;
    let mut next: Option<NextInPair> = None;
    for row in range.into_iter().rev() {
        let this_pair = (row.application_id, row.environment_id);
        if pair != Some(this_pair) {
            pair = Some(this_pair);
            next = after.get(&this_pair).cloned();
        }
        let (first_here, first_elsewhere) =
            firsts.get(&row.version_id).copied().unwrap_or_default();
        let record = app::ssr::InsightRecord {
            deployment_id: row.id,
            application_id: row.application_id,
            environment_id: row.environment_id,
            version_id: row.version_id,
            deployment_date: row.deployment_date.0,
            deleted_at: row.deleted_at.map(|t| t.0),
            version_identifier: row.version_identifier,
            version_created_at: row.version_created_at.0,
            released_at: row.released_at.map(|t| t.0),
            next_date: next.as_ref().map(|n| n.date),
            next_version_identifier: next.as_ref().map(|n| n.version_identifier.clone()),
            next_version_created_at: next.as_ref().map(|n| n.version_created_at),
            first_here: first_here.map(|t| t.0),
            first_elsewhere: first_elsewhere.map(|t| t.0),
        };
        if record.deleted_at.is_none() {
            next = Some(NextInPair {
                date: record.deployment_date,
                version_identifier: record.version_identifier.clone(),
                version_created_at: record.version_created_at,
            });
        }
        records.push(record);
    }
    records.reverse();
    records.sort_by_key(|r| r.deployment_date);
    records
}

/// Insights' reads.
macro_rules! insight_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::ssr::store::{InsightRecord, InsightStore, StoreError};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::columns::{DbId, DbTime, InsightFirstsRow, InsightNextRow, InsightRangeRow};
            use crate::store::dialect::Dialect;
            use crate::store::outcome::map_sqlx_error;
            use crate::store::insights::{insight_reads, insight_records, PairPage, IDS_PER_STATEMENT, LIVE_DEPLOYMENTS_PER_INSIGHT_READ, RANGE};
            use std::collections::HashMap;

            #[async_trait::async_trait]
            impl InsightStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insight_rows(
                    &self,
                    environment_ids: &[Uuid],
                    application_ids: Option<&[Uuid]>,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                    each: &mut (dyn FnMut(InsightRecord) + Send),
                ) -> Result<(), StoreError> {
                    if environment_ids.is_empty() {
                        return Ok(());
                    }
                    let applications: Vec<Uuid> = match application_ids {
                        Some(ids) => ids.to_vec(),
                        None => sqlx::query_scalar::<_, DbId>("SELECT id FROM application ORDER BY id")
                            .fetch_all(self.reader())
                            .await
                            .map_err(map_sqlx_error)?
                            .into_iter()
                            .map(|id| id.0)
                            .collect(),
                    };
                    // Live deployments per application to these environments, from the pairs'
                    // counts.
                    let live: HashMap<Uuid, i64> = {
                        let mut count = sqlx::QueryBuilder::<$db>::new(
                            "SELECT application_id, CAST(SUM(live_deployments) AS BIGINT)
                               FROM current_deployment WHERE environment_id IN ",
                        );
                        Self::push_id_list(&mut count, environment_ids);
                        count.push(" GROUP BY application_id");
                        count
                            .build_query_as::<(DbId, i64)>()
                            .fetch_all(self.reader())
                            .await
                            .map_err(map_sqlx_error)?
                            .into_iter()
                            .map(|(id, n)| (id.0, n))
                            .collect()
                    };
                    // A few applications at a time, as many as a bounded number of deployments:
                    // their pairs and versions are theirs alone, so each read is measured whole
                    // and then dropped, and a request's memory does not grow with the history.
                    // An application over the bound alone is read pair by pair, a page at a time.
                    for read in insight_reads(&applications, &live) {
                        let over = |id: &Uuid| live.get(id).is_some_and(|&n| n > LIVE_DEPLOYMENTS_PER_INSIGHT_READ);
                        if let [application] = read {
                            if over(application) {
                                let mut firsts = HashMap::new();
                                for &environment in environment_ids {
                                    let mut page = PairPage::new(environment, firsts);
                                    while !page.done {
                                        let records = self
                                            .insight_chunk(environment_ids, read, from, to, Some(&mut page))
                                            .await?;
                                        records.into_iter().for_each(&mut *each);
                                    }
                                    firsts = page.firsts;
                                }
                                continue;
                            }
                        }
                        for record in self.insight_chunk(environment_ids, read, from, to, None).await? {
                            each(record);
                        }
                    }
                    Ok(())
                }
            }

            impl $store {
                /// The insight records of `applications` (see `insight_rows`), or with `page`, of
                /// the next page of one application's pair.
                async fn insight_chunk(
                    &self,
                    environment_ids: &[Uuid],
                    applications: &[Uuid],
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                    mut page: Option<&mut PairPage>,
                ) -> Result<Vec<InsightRecord>, StoreError> {
                    let environments = |qb: &mut sqlx::QueryBuilder<'static, $db>| {
                        qb.push("IN ");
                        Self::push_id_list(qb, environment_ids);
                    };
                    let paged = page.as_deref().map(|p| (p.environment, p.before));
                    let range_environments = |qb: &mut sqlx::QueryBuilder<'static, $db>| match paged {
                        Some((environment, _)) => {
                            qb.push("= ").push_bind(DbId(environment));
                        }
                        None => environments(qb),
                    };
                    // Live deployments are read pair by pair from the pair index, which holds every
                    // column needed (an environment's range would visit a table row each, scattered
                    // over a year of history); the few retracted ones from their own index.
                    let range = self.json_rows::<InsightRangeRow>(|qb| {
                        if paged.is_some() {
                            qb.push("SELECT * FROM (");
                        }
                        for (i, state) in ["IS NULL", "IS NOT NULL"].into_iter().enumerate() {
                            if i > 0 {
                                qb.push(" UNION ALL ");
                            }
                            qb.push(RANGE).push(format!(" WHERE d.deleted_at {state} AND d.application_id IN "));
                            Self::push_id_list(qb, applications);
                            qb.push(" AND d.environment_id ");
                            range_environments(qb);
                            qb.push(" AND d.deployment_date >= ").push_bind(DbTime(from));
                            qb.push(" AND d.deployment_date < ").push_bind(DbTime(to));
                            if let Some((_, Some(before))) = paged {
                                Self::push_after_key(qb, before);
                            }
                        }
                        if paged.is_some() {
                            qb.push(") page ORDER BY deployment_date DESC, created_at DESC, id DESC LIMIT ")
                                .push_bind(LIVE_DEPLOYMENTS_PER_INSIGHT_READ);
                        }
                    });
                    let range = range.await?;
                    // A later page's newest deployment was followed by the oldest live one of
                    // the pages before it; the first page's, by the pair's first after the range.
                    let carried = match page.as_deref_mut() {
                        Some(page) => {
                            let first = page.before.is_none();
                            let carried = page.next.clone();
                            page.read(&range);
                            (!first).then(|| carried.into_iter().collect::<Vec<_>>())
                        }
                        None => None,
                    };
                    if range.is_empty() {
                        return Ok(vec![]);
                    }

                    // Each measured pair with its first live deployment dated at or after `to`.
                    let after = self.json_rows::<InsightNextRow>(|qb| {
                        qb.push("SELECT p.application_id, p.environment_id, n.deployment_date,
                                        nv.version_identifier, nv.created_at AS version_created_at
                                   FROM current_deployment p
                                   JOIN deployment n ON n.id =
                                        (SELECT x.id FROM deployment x
                                          WHERE x.application_id = p.application_id
                                            AND x.environment_id = p.environment_id
                                            AND x.deleted_at IS NULL AND x.deployment_date >= ")
                            .push_bind(DbTime(to))
                            .push(" ORDER BY x.deployment_date, x.created_at, x.id LIMIT 1)
                                   JOIN version nv ON nv.id = n.version_id
                                  WHERE p.environment_id ");
                        environments(qb);
                        qb.push(" AND p.application_id IN ");
                        Self::push_id_list(qb, applications);
                    });
                    let after = match carried {
                        Some(carried) => carried,
                        None => after.await?,
                    };
                    if let Some(page) = page.as_deref_mut().filter(|page| page.next.is_none()) {
                        // A first page with no live deployment: the pair's first after the
                        // range follows the next page too.
                        page.next = (after.iter())
                            .find(|next| next.environment_id == page.environment)
                            .cloned();
                    }

                    let mut versions: Vec<Uuid> = range
                        .iter()
                        .filter(|r| r.deleted_at.is_none())
                        .map(|r| r.version_id)
                        .collect();
                    versions.sort_unstable();
                    versions.dedup();
                    // A version's first live deployment to the measured environments (`IN`) and to
                    // any other (`NOT IN`), read in date order from ix_deployment_version_first
                    // until one matches.
                    let first_deployment = |qb: &mut sqlx::QueryBuilder<'static, $db>, among: &str| {
                        qb.push("(SELECT f.deployment_date FROM deployment f
                                   WHERE f.version_id = v.id AND f.deleted_at IS NULL
                                     AND f.environment_id ")
                            .push(among);
                        environments(qb);
                        qb.push(" ORDER BY f.deployment_date LIMIT 1)");
                    };
                    // A paged pair's versions were mostly looked up for its earlier pages.
                    let mut firsts = Vec::with_capacity(versions.len());
                    if let Some(page) = page.as_deref() {
                        versions.retain(|version| match page.firsts.get(version) {
                            Some(known) => {
                                firsts.push(known.clone());
                                false
                            }
                            None => true,
                        });
                    }
                    for chunk in versions.chunks(IDS_PER_STATEMENT) {
                        let rows = self.json_rows::<InsightFirstsRow>(|qb| {
                            qb.push("SELECT v.id AS version_id, ");
                            first_deployment(qb, "");
                            qb.push(" AS first_here, ");
                            first_deployment(qb, "NOT ");
                            qb.push(" AS first_elsewhere FROM version v WHERE v.id IN ");
                            Self::push_id_list(qb, chunk);
                        });
                        let rows = rows.await?;
                        if let Some(page) = page.as_deref_mut() {
                            page.firsts.extend(rows.iter().map(|row| (row.version_id, row.clone())));
                        }
                        firsts.extend(rows);
                    }
                    Ok(insight_records(range, after, firsts))
                }
            }
        };
    };
}
pub(super) use insight_store;

#[cfg(test)]
mod tests {
    use super::{insight_reads, insight_records};
    use crate::store::columns::{InsightNextRow, InsightRangeRow, JsonInstant};
    use chrono::{TimeZone, Utc};
    use std::collections::HashMap;
    use uuid::Uuid;

    fn at(day: u32) -> JsonInstant {
        JsonInstant(Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap())
    }

    fn deployed(pair: u128, day: u32, version: &str, retracted: bool) -> InsightRangeRow {
        InsightRangeRow {
            id: Uuid::now_v7(),
            application_id: Uuid::from_u128(pair),
            environment_id: Uuid::nil(),
            version_id: Uuid::nil(),
            deployment_date: at(day),
            created_at: at(day),
            deleted_at: retracted.then(|| at(day + 1)),
            version_identifier: version.into(),
            version_created_at: at(1),
            released_at: None,
        }
    }

    /// Each deployment is followed by the next live one of its own pair: a retracted one in
    /// between is skipped, and the last ones take the pair's first deployment after the range.
    #[test]
    fn insight_records_follow_each_pair_to_its_next_live_deployment() {
        let range = vec![
            deployed(2, 4, "b1", false),
            deployed(1, 3, "a2", true),
            deployed(1, 2, "a1", false),
            deployed(1, 5, "a3", false),
        ];
        let after = vec![InsightNextRow {
            application_id: Uuid::from_u128(1),
            environment_id: Uuid::nil(),
            deployment_date: at(20),
            version_identifier: "a4".into(),
            version_created_at: at(1),
        }];
        let records = insight_records(range, after, vec![]);
        let next: Vec<(&str, Option<&str>)> = records
            .iter()
            .map(|r| {
                (
                    r.version_identifier.as_str(),
                    r.next_version_identifier.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            next,
            [
                ("a1", Some("a3")),
                ("a2", Some("a3")),
                ("b1", None),
                ("a3", Some("a4"))
            ],
            "oldest first"
        );
        assert_eq!(records[3].next_date, Some(at(20).0));
    }

    /// Reads fill up to the deployment bound, then to the application bound; an application
    /// over the bound reads alone, and one the pairs do not know (only retracted deployments
    /// there) still reads.
    #[test]
    fn insight_reads_hold_a_bounded_number_of_deployments() {
        let apps: Vec<Uuid> = (0..205).map(Uuid::from_u128).collect();
        let mut live = HashMap::new();
        live.insert(apps[0], 2_000);
        live.insert(apps[1], 2_000);
        live.insert(apps[2], 2_000); // 6,000 with the two before: a read of its own starts
        live.insert(apps[3], 12_000); // over the bound: alone
        let reads = insight_reads(&apps, &live);
        let sizes: Vec<usize> = reads.iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [2, 1, 1, 100, 100, 1]);
        assert_eq!(reads.concat(), apps, "every application once, in order");
        assert!(insight_reads(&[], &live).is_empty());
    }
}
