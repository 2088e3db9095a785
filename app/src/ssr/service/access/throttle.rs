//! The sign-in throttle (see [`super::AccessPolicy`]): refuses while a key has failed too often
//! lately, counts failures, and forgives a (username, client) pair after a success.

use chrono::{DateTime, Duration, Utc};

use crate::error::AppError;
use crate::ssr::service::state::Service;
use crate::ssr::store::store_error;

/// How long to wait after `failures` failures of which `free` cost nothing: 1 s after the first
/// one past them, doubling with each further one, at most `max`.
fn throttle_wait(failures: i64, free: i64, max: Duration) -> Duration {
    if failures < free {
        return Duration::zero();
    }
    let doublings = (failures - free).min(20) as u32;
    Duration::seconds(1i64 << doublings).min(max)
}

impl Service {
    /// `TooManyRequests` (with the wait) while any of `keys` — (key, free failures) — must wait.
    pub(super) async fn refuse_while_throttled(
        &self,
        keys: &[(&str, i64)],
        at: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<(), AppError> {
        for &(key, free) in keys {
            let failures = self
                .user_store()
                .login_failures(key, since)
                .await
                .map_err(store_error("sign-in throttle"))?;
            if let Some((count, last)) = failures {
                let until = last + throttle_wait(count, free, self.policy.max_wait);
                if until > at {
                    let seconds = ((until - at).num_milliseconds() + 999) / 1000;
                    return Err(AppError::TooManyRequests {
                        message: format!(
                            "too many failed sign-in attempts from here; try again in {seconds} s"
                        ),
                        retry_after_seconds: seconds as u64,
                    });
                }
            }
        }
        Ok(())
    }

    /// Counts one failed sign-in under each of `keys`, with its audit entry.
    pub(super) async fn count_failure(
        &self,
        keys: &[(&str, i64)],
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        audit: crate::ssr::AuditRecord,
    ) -> Result<(), AppError> {
        // The audit entry goes with the first count: one failed sign-in, one entry.
        let mut audit = Some(audit);
        for &(key, _) in keys {
            let entries: Vec<_> = audit.take().into_iter().collect();
            self.user_store()
                .record_login_failure(key, at, since, &entries)
                .await
                .map_err(store_error("sign-in throttle"))?;
        }
        Ok(())
    }

    /// Forgets `key`'s failures (after a successful sign-in).
    pub(super) async fn forgive_failures(&self, key: &str) -> Result<(), AppError> {
        self.user_store()
            .clear_login_failures(key)
            .await
            .map_err(store_error("sign-in throttle"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_wait_doubles_past_the_free_attempts_up_to_the_cap() {
        let max = Duration::minutes(15);
        assert_eq!(throttle_wait(4, 5, max), Duration::zero());
        assert_eq!(throttle_wait(5, 5, max), Duration::seconds(1));
        assert_eq!(throttle_wait(6, 5, max), Duration::seconds(2));
        assert_eq!(throttle_wait(9, 5, max), Duration::seconds(16));
        assert_eq!(throttle_wait(40, 5, max), max);
        assert_eq!(throttle_wait(i64::MAX, 5, max), max);
    }
}
