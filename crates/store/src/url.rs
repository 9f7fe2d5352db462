use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Backend, StoreError};

/// A parsed, checked database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` or `sqlite:PATH`: the file is created if missing, its directory is not.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, passed to the driver as given.
    Postgres(String),
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, StoreError> {
        let raw = raw.trim();
        if let Some(rest) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(StoreError::InvalidUrl(
                    "a SQLite URL needs a file path, e.g. sqlite://./farmhand-data/farmhand.db"
                        .into(),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        let scheme = raw.split(':').next().unwrap_or_default();
        Err(StoreError::InvalidUrl(format!(
            "unknown database URL scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB"
        )))
    }

    pub fn sqlite_file(path: &Path) -> DatabaseUrl {
        DatabaseUrl::Sqlite(path.to_path_buf())
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks what can be checked before connecting: a SQLite file's directory must exist.
    pub fn check(&self) -> Result<(), StoreError> {
        if let DatabaseUrl::Sqlite(path) = self {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Err(StoreError::MissingDirectory(dir.display().to_string()));
            }
        }
        Ok(())
    }

    pub(crate) fn connect_string(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// The URL with any password replaced, for logs and error messages.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_recognized_and_others_rejected() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/f.db").unwrap(),
            DatabaseUrl::Sqlite("./data/f.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:f.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        let err = DatabaseUrl::parse("mysql://u@h/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown database URL scheme \"mysql\""),
            "{err}"
        );
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn missing_sqlite_directory_is_an_error() {
        let url = DatabaseUrl::parse("sqlite:///definitely/not/here/f.db").unwrap();
        assert!(matches!(url.check(), Err(StoreError::MissingDirectory(_))));
        assert!(DatabaseUrl::parse("sqlite:f.db").unwrap().check().is_ok());
    }

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl::parse("postgres://farm:s3cret@db:5432/farm").unwrap();
        assert_eq!(url.redacted(), "postgres://farm:***@db:5432/farm");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
