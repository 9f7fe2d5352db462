/// What can go wrong in the store. Constraint violations are told apart so that use cases
/// can answer 409 instead of 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error(
        "the directory {0} for the SQLite database does not exist; create it first or choose another path"
    )]
    MissingDirectory(String),
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("backup target {0} already exists; choose a new file")]
    BackupTargetExists(String),
    /// A unique constraint was violated; carries the constraint or index name when known.
    #[error("conflict with existing data ({0})")]
    Conflict(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("the blob store is misconfigured: {0}")]
    BlobConfig(String),
    #[error("blob {0} is missing from the blob store")]
    BlobMissing(String),
    #[error("blob store error: {0}")]
    Blob(#[from] object_store::Error),
    #[error("blob store I/O error: {0}")]
    BlobIo(std::io::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error
            && db.is_unique_violation()
        {
            return StoreError::Conflict(db.constraint().unwrap_or(db.message()).to_string());
        }
        StoreError::Database(error)
    }
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }
}
