//! The dashboard's figures, kept while the matrix stamp and the week hold.

use chrono::{DateTime, Duration, Utc};

use super::Keepable;
use crate::error::AppError;
use crate::model::{DashboardFigures, WeekCount};
use crate::ssr::clock::{now, week_start};
use crate::ssr::store::{store_error, MatrixStamp, Store};

/// The dashboard's figures as read at a matrix stamp in a week. Every figure changes only with
/// the stamp (a deployment recorded or retracted, back-dated or not; an application or
/// environment added, changed or removed; on any server) or when a new week begins, so they
/// are kept until either happens: the weekly counts read tens of thousands of rows at a million
/// deployments, and every dashboard render and live update asks for them.
#[derive(Clone)]
pub(crate) struct KeptFigures {
    stamp: MatrixStamp,
    week: DateTime<Utc>,
    figures: DashboardFigures,
}

impl KeptFigures {
    pub(crate) fn figures(&self) -> &DashboardFigures {
        &self.figures
    }
}

impl Keepable for KeptFigures {
    fn stamp(&self) -> MatrixStamp {
        self.stamp
    }

    fn is_current(&self) -> bool {
        self.week == week_start(now())
    }

    /// Counts (after the stamp was read, so they are at least as new as it).
    async fn read(stamp: MatrixStamp, store: &dyn Store) -> Result<Self, AppError> {
        let failed = store_error("statistics");
        let applications = store.count_active_applications().await.map_err(&failed)?;
        let environments = store.count_active_environments().await.map_err(&failed)?;
        let week = week_start(now());
        let mut per_week = Vec::with_capacity(12);
        for weeks_ago in (0..12).rev() {
            let start = week - Duration::weeks(weeks_ago);
            let deployments = store
                .count_deployments_between(start, start + Duration::weeks(1))
                .await
                .map_err(&failed)?;
            per_week.push(WeekCount {
                week_start: start,
                deployments,
            });
        }
        let figures = DashboardFigures {
            applications,
            environments,
            deployments_this_week: per_week.last().map_or(0, |w| w.deployments),
            per_week,
        };
        Ok(Self {
            stamp,
            week,
            figures,
        })
    }

    /// Counts are read whole.
    async fn brought_up_to(self, _: MatrixStamp, _: &dyn Store) -> Result<Option<Self>, AppError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_figures_are_read_again_in_a_new_week() {
        let kept_in = |week| KeptFigures {
            stamp: MatrixStamp {
                epoch: 1,
                revisions: 1,
            },
            week,
            figures: DashboardFigures {
                applications: 0,
                environments: 0,
                deployments_this_week: 0,
                per_week: vec![],
            },
        };
        let this_week = week_start(now());
        assert!(kept_in(this_week).is_current());
        assert!(!kept_in(this_week - Duration::weeks(1)).is_current());
    }
}
