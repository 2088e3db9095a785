//! How a statement's outcome becomes the store's: driver errors mapped into the store's
//! vocabulary in one place, rows turned into the model's types.

/// A statement's outcome, mapped.
pub(super) trait Outcome<T> {
    /// For statements whose result is not needed.
    fn done(self) -> Result<(), app::ssr::StoreError>;
    /// For one row (or value), converted.
    fn one<U: From<T>>(self) -> Result<U, app::ssr::StoreError>;
}

impl<T> Outcome<T> for Result<T, sqlx::Error> {
    fn done(self) -> Result<(), app::ssr::StoreError> {
        self.map(|_| ()).map_err(map_sqlx_error)
    }

    fn one<U: From<T>>(self) -> Result<U, app::ssr::StoreError> {
        self.map(U::from).map_err(map_sqlx_error)
    }
}

/// For many rows, each converted.
pub(super) trait Rows<R> {
    fn many<U: From<R>>(self) -> Result<Vec<U>, app::ssr::StoreError>;
}

impl<R> Rows<R> for Result<Vec<R>, sqlx::Error> {
    fn many<U: From<R>>(self) -> Result<Vec<U>, app::ssr::StoreError> {
        self.map(|rows| rows.into_iter().map(U::from).collect())
            .map_err(map_sqlx_error)
    }
}

/// An UPDATE that touched nothing means the row does not exist.
pub(super) fn expect_one(
    rows_affected: Result<u64, sqlx::Error>,
) -> Result<(), app::ssr::StoreError> {
    match rows_affected.map_err(map_sqlx_error)? {
        0 => Err(app::ssr::StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The instants the model accepts (migration 0007 holds the databases to the same range).
pub(super) fn instant_range() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let latest = "9999-12-31T23:59:59.999999Z"
        .parse()
        .expect("a valid instant");
    (chrono::DateTime::UNIX_EPOCH, latest)
}

/// Maps a driver error into the store's vocabulary; `constraint` is what names the broken index.
pub(super) fn map_sqlx_error(err: sqlx::Error) -> app::ssr::StoreError {
    use app::ssr::store::field_of_unique_index;
    use app::ssr::StoreError;
    let conflict = match &err {
        sqlx::Error::RowNotFound => return StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let name = db.constraint().unwrap_or_else(|| db.message());
            field_of_unique_index(name)
        }
        // PostgreSQL's data exceptions for values it cannot hold: NUL in text (22021,
        // 22P05), instants outside its range (22008), and the range checks of migration 0007
        // (23514). SQLite's range triggers say "out of range".
        sqlx::Error::Database(db)
            if matches!(
                db.code().as_deref(),
                Some("22021" | "22P05" | "22008" | "23514")
            ) || db.message().contains("out of range") =>
        {
            return StoreError::Invalid(db.message().to_string());
        }
        _ => None,
    };
    match conflict {
        Some(field) => StoreError::Conflict(field),
        None => StoreError::other(err),
    }
}
