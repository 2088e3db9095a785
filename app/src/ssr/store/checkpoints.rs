//! Time travel in bounded memory: checkpoints of the whole matrix at chosen instants. The state
//! at an instant is the latest checkpoint at or before it, brought forward by the live
//! deployments dated after the checkpoint and at or before the instant. Checkpoints are spaced a
//! set number of deployments apart, so an answer reads one checkpoint and at most that many
//! deployments, however long the history. What changes a checkpoint's cells (a back-dated
//! record, a retraction) marks it stale in its own transaction; answers skip stale ones and the
//! builder writes them again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

use super::StoreError;

/// A pair's cell at an instant: its latest live deployment then, and the version of the one
/// before it (for the rollback mark).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairAt {
    pub application_id: Uuid,
    pub environment_id: Uuid,
    pub deployment_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub version_id: Uuid,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub deployed_by: Option<String>,
    /// (identifier, created_at) of the version deployed just before, in this pair.
    pub previous_version: Option<(String, DateTime<Utc>)>,
}

/// A live deployment after a checkpoint, with what its cell shows of its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentAfter {
    pub application_id: Uuid,
    pub environment_id: Uuid,
    pub deployment_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub version_id: Uuid,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub deployed_by: Option<String>,
}

/// Earlier than any stored instant (both backends store 0001 and later): where the first
/// stretch of history starts, before any checkpoint.
pub fn before_history() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
        .map(|at| at.to_utc())
        .unwrap_or_default()
}

/// What the state at an instant is made of, as read in one snapshot.
#[derive(Clone, Debug, Default)]
pub struct StateRead {
    /// The checkpoint it starts from: its instant and its cells as stored (see [`read_cells`]).
    /// None: from the beginning of history.
    pub checkpoint: Option<(DateTime<Utc>, Vec<u8>)>,
    /// The live deployments after the checkpoint and up to the instant, in history order.
    pub after: Vec<DeploymentAfter>,
}

impl StateRead {
    pub fn new(
        checkpoint: Option<(DateTime<Utc>, Vec<u8>)>,
        mut after: Vec<DeploymentAfter>,
    ) -> Self {
        in_history_order(&mut after);
        Self { checkpoint, after }
    }

    /// Every pair's cell (pairs of archived applications and environments included).
    pub fn cells(self) -> Result<Vec<PairAt>, StoreError> {
        let cells = match &self.checkpoint {
            Some((_, bytes)) => decode_cells(bytes)?,
            None => vec![],
        };
        Ok(state_from(cells, self.after))
    }
}

/// Sorts deployments as history orders them: date, recording time, id.
fn in_history_order(deployments: &mut [DeploymentAfter]) {
    deployments.sort_unstable_by_key(|d| (d.deployment_date, d.created_at, d.deployment_id));
}

/// What a checkpoint was built at, and how far its answers reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Built {
    pub at: DateTime<Utc>,
    /// Live deployments dated at or before `at`.
    pub position: i64,
}

#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// What the state at `at` is made of: the latest checkpoint at or before it that is not
    /// stale, and the live deployments between the two, read in one snapshot.
    async fn state_at(&self, at: DateTime<Utc>) -> Result<StateRead, StoreError>;
    /// Writes a checkpoint that is missing, and says where (None: none is missing).
    /// - With `after` (where answers found too many deployments to read): one `every` live
    ///   deployments after that instant, unless one lies there already.
    /// - Without: the earliest stale one again, or else one `every` live deployments after the
    ///   last (none while fewer lie after it).
    ///
    /// Serialized with recording and retracting (on PostgreSQL by an advisory lock), so no
    /// change is missed.
    async fn build_checkpoint(
        &self,
        every: i64,
        after: Option<DateTime<Utc>>,
    ) -> Result<Option<Built>, StoreError>;
}

/// The state at an instant from a checkpoint's cells and the live deployments after it up to
/// the instant (in any order): per pair the last of them in history order (date, recording time,
/// id), with the version of the one before it.
pub fn state_from(mut cells: Vec<PairAt>, mut after: Vec<DeploymentAfter>) -> Vec<PairAt> {
    in_history_order(&mut after);
    // Where each pair's cell is: cells are replaced in place, not moved through a map (moving
    // 7,500 of them, and again as the map grew, was a fifth of an answer's CPU at 1M).
    let mut index: HashMap<(Uuid, Uuid), usize> = HashMap::with_capacity(cells.len() + 64);
    for (at, cell) in cells.iter().enumerate() {
        index.insert((cell.application_id, cell.environment_id), at);
    }
    for d in after {
        let pair = (d.application_id, d.environment_id);
        let mut cell = PairAt {
            application_id: d.application_id,
            environment_id: d.environment_id,
            deployment_id: d.deployment_id,
            deployment_date: d.deployment_date,
            version_id: d.version_id,
            version_identifier: d.version_identifier,
            version_created_at: d.version_created_at,
            deployed_by: d.deployed_by,
            previous_version: None,
        };
        match index.get(&pair) {
            Some(&at) => {
                let before = &mut cells[at];
                let identifier = std::mem::take(&mut before.version_identifier);
                cell.previous_version = Some((identifier, before.version_created_at));
                *before = cell;
            }
            None => {
                index.insert(pair, cells.len());
                cells.push(cell);
            }
        }
    }
    cells
}

/// The format's first byte: a checkpoint written in another is refused, not misread.
const FORMAT: u8 = 1;

/// A cell as stored: instants as microseconds (what both backends keep), ids as bytes. Its
/// names are borrowed: read from a checkpoint, they point into its bytes (an answer reads 7,500
/// cells, and allocating their names one by one was a third of it).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredCell<'a> {
    application_id: Uuid,
    environment_id: Uuid,
    deployment_id: Uuid,
    deployment_date: i64,
    version_id: Uuid,
    version_identifier: &'a str,
    version_created_at: i64,
    #[serde(borrow)]
    deployed_by: Option<&'a str>,
    #[serde(borrow)]
    previous_version: Option<(&'a str, i64)>,
}

/// A checkpoint's cell as read: a [`PairAt`] whose names point into the checkpoint's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredPair<'a> {
    pub application_id: Uuid,
    pub environment_id: Uuid,
    pub deployment_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub version_id: Uuid,
    pub version_identifier: &'a str,
    pub version_created_at: DateTime<Utc>,
    pub deployed_by: Option<&'a str>,
    pub previous_version: Option<(&'a str, DateTime<Utc>)>,
}

impl StoredPair<'_> {
    pub fn into_pair_at(self) -> PairAt {
        PairAt {
            application_id: self.application_id,
            environment_id: self.environment_id,
            deployment_id: self.deployment_id,
            deployment_date: self.deployment_date,
            version_id: self.version_id,
            version_identifier: self.version_identifier.to_string(),
            version_created_at: self.version_created_at,
            deployed_by: self.deployed_by.map(str::to_string),
            previous_version: (self.previous_version)
                .map(|(identifier, at)| (identifier.to_string(), at)),
        }
    }
}

/// Cells as a checkpoint stores them (about 120 bytes each): the format's byte, then postcard's
/// sequence of [`StoredCell`]s.
pub fn encode_cells(cells: &[PairAt]) -> Result<Vec<u8>, StoreError> {
    let stored: Vec<StoredCell<'_>> = (cells.iter())
        .map(|cell| StoredCell {
            application_id: cell.application_id,
            environment_id: cell.environment_id,
            deployment_id: cell.deployment_id,
            deployment_date: cell.deployment_date.timestamp_micros(),
            version_id: cell.version_id,
            version_identifier: &cell.version_identifier,
            version_created_at: cell.version_created_at.timestamp_micros(),
            deployed_by: cell.deployed_by.as_deref(),
            previous_version: (cell.previous_version.as_ref())
                .map(|(identifier, at)| (identifier.as_str(), at.timestamp_micros())),
        })
        .collect();
    let mut bytes = vec![FORMAT];
    bytes.extend(postcard::to_allocvec(&stored).map_err(StoreError::other)?);
    Ok(bytes)
}

/// Hands each cell [`encode_cells`] wrote to `each`, in order, without collecting them.
pub fn read_cells<'a>(
    bytes: &'a [u8],
    mut each: impl FnMut(StoredPair<'a>),
) -> Result<(), StoreError> {
    let malformed = |what: &str| StoreError::other(std::io::Error::other(what.to_string()));
    let Some((&FORMAT, rest)) = bytes.split_first() else {
        return Err(malformed("a checkpoint in an unknown format"));
    };
    let instant = |micros: i64| {
        DateTime::from_timestamp_micros(micros).ok_or_else(|| malformed("a checkpoint instant"))
    };
    // postcard writes a sequence as its length (a varint, as it writes a usize), then its items.
    let (count, mut rest) = postcard::take_from_bytes::<usize>(rest).map_err(StoreError::other)?;
    for _ in 0..count {
        let (cell, after) =
            postcard::take_from_bytes::<StoredCell<'a>>(rest).map_err(StoreError::other)?;
        rest = after;
        each(StoredPair {
            application_id: cell.application_id,
            environment_id: cell.environment_id,
            deployment_id: cell.deployment_id,
            deployment_date: instant(cell.deployment_date)?,
            version_id: cell.version_id,
            version_identifier: cell.version_identifier,
            version_created_at: instant(cell.version_created_at)?,
            deployed_by: cell.deployed_by,
            previous_version: match cell.previous_version {
                Some((identifier, at)) => Some((identifier, instant(at)?)),
                None => None,
            },
        });
    }
    Ok(())
}

/// The cells [`encode_cells`] wrote.
pub fn decode_cells(bytes: &[u8]) -> Result<Vec<PairAt>, StoreError> {
    let mut cells = vec![];
    read_cells(bytes, |cell| cells.push(cell.into_pair_at()))?;
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + day * 86_400, 0).unwrap()
    }

    fn after(pair: (Uuid, Uuid), day: i64, recorded: i64, version: &str) -> DeploymentAfter {
        DeploymentAfter {
            application_id: pair.0,
            environment_id: pair.1,
            deployment_id: Uuid::now_v7(),
            deployment_date: at(day),
            created_at: at(recorded),
            version_id: Uuid::now_v7(),
            version_identifier: version.into(),
            version_created_at: at(0),
            deployed_by: Some(format!("deployer of {version}")),
        }
    }

    #[test]
    fn the_last_deployment_in_history_order_wins_with_the_one_before_as_previous() {
        let (a, b) = (
            (Uuid::now_v7(), Uuid::now_v7()),
            (Uuid::now_v7(), Uuid::now_v7()),
        );
        let kept = PairAt {
            application_id: a.0,
            environment_id: a.1,
            deployment_id: Uuid::now_v7(),
            deployment_date: at(1),
            version_id: Uuid::now_v7(),
            version_identifier: "1.0".into(),
            version_created_at: at(0),
            deployed_by: None,
            previous_version: None,
        };
        // Out of order on purpose; on day 5 the later recording wins.
        let deployments = vec![
            after(a, 5, 9, "1.2"),
            after(a, 3, 3, "1.1"),
            after(a, 5, 6, "1.3"),
            after(b, 4, 4, "2.0"),
        ];
        let mut state = state_from(vec![kept.clone()], deployments);
        state.sort_by_key(|cell| cell.version_identifier.clone());
        let shown: Vec<(&str, Option<&str>)> = (state.iter())
            .map(|c| {
                let previous = c.previous_version.as_ref().map(|(v, _)| v.as_str());
                (c.version_identifier.as_str(), previous)
            })
            .collect();
        assert_eq!(shown, [("1.2", Some("1.3")), ("2.0", None)]);
        // Nothing after the checkpoint: its cells as they were.
        assert_eq!(state_from(vec![kept.clone()], vec![]), vec![kept]);
    }

    #[test]
    fn cells_read_back_as_written_and_a_foreign_format_is_refused() {
        let cell = PairAt {
            application_id: Uuid::now_v7(),
            environment_id: Uuid::now_v7(),
            deployment_id: Uuid::now_v7(),
            deployment_date: DateTime::from_timestamp_micros(1_733_000_000_123_456).unwrap(),
            version_id: Uuid::now_v7(),
            version_identifier: "1.2.3-rc.1+build \u{0} ✓".into(),
            version_created_at: at(-3),
            deployed_by: Some("ci <bot>".into()),
            previous_version: Some(("1.2.2".into(), at(-4))),
        };
        let plain = PairAt {
            deployed_by: None,
            previous_version: None,
            ..cell.clone()
        };
        let cells = vec![cell, plain];
        let bytes = encode_cells(&cells).unwrap();
        assert_eq!(decode_cells(&bytes).unwrap(), cells);
        assert!(decode_cells(&[]).is_err());
        assert!(decode_cells(&[FORMAT + 1]).is_err());
        assert!(decode_cells(&bytes[..bytes.len() - 3]).is_err());
    }
}
