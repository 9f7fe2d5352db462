//! Files received from clients, staged on local disk before they go anywhere: written as they
//! arrive to the staging directory (`<data_dir>/tmp`), counted and hashed (SHA-256) on the way,
//! refused the moment they pass the limit, and removed when done or on any error. Memory does
//! not grow with the file: one chunk and a small write buffer at a time.
//!
//! What comes out is a [`StagedFile`]: a [`printers::UploadFile`] (a local file of known size
//! and hash) that deletes itself when dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::App;
use crate::error::{AppError, AppResult};

/// Write buffer of a staged file: few writes to disk without holding much in memory.
const WRITE_BUFFER: usize = 256 * 1024;
/// Staged files left behind (by a crash) longer than this are removed at start-up. Younger ones
/// may belong to another instance sharing the data directory.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// A client that sends nothing for this long loses its upload: a slow trickle cannot hold a
/// connection and a staged file forever.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const PREFIX: &str = "upload-";
const SUFFIX: &str = ".part";

/// A path in the staging directory, removed when dropped (whether the file is complete or not).
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        // One unlink: quick enough to do in place, also on the async runtime.
        match std::fs::remove_file(&self.0) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %self.0.display(), error = %e, "cannot remove a staged upload");
            }
        }
    }
}

/// A complete upload on local disk, removed when dropped.
pub struct StagedFile {
    file: printers::UploadFile,
    _path: TempPath,
}

impl StagedFile {
    /// The file, its size and its hash, for a driver or an analysis to read.
    pub fn file(&self) -> &printers::UploadFile {
        &self.file
    }

    pub fn size(&self) -> u64 {
        self.file.size()
    }

    /// The SHA-256 in lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.file.sha256())
    }
}

impl std::fmt::Debug for StagedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedFile")
            .field("path", &self.file.path())
            .field("size", &self.file.size())
            .finish()
    }
}

/// Creates the staging directory and removes what a crash left there long ago (uploads, and
/// slicing work directories).
pub fn prepare_staging_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let now = SystemTime::now();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let ours = name
            .to_str()
            .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX));
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if ours && stale {
            drop(TempPath(entry.path()));
        }
        // A slicing work directory (`slice-<id>-<random>`) a crash left behind: slices run at
        // most a day, so one untouched for two days is nobody's.
        let slicing = name.to_str().is_some_and(|n| n.starts_with("slice-"))
            && entry.file_type().is_ok_and(|t| t.is_dir());
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > 2 * STALE_AFTER);
        if slicing
            && abandoned
            && let Err(e) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove an abandoned slicing directory");
        }
    }
    Ok(())
}

impl App {
    /// Receives a body into a new file in the staging directory, at most `limit` bytes: past the
    /// limit it stops reading and answers [`AppError::FileTooLarge`]; a body that breaks off
    /// answers [`AppError::UnreadableBody`]. Either way, and on any other error, the partial
    /// file is removed.
    pub async fn stage_upload<S, E>(&self, body: S, limit: u64) -> AppResult<StagedFile>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        stage(&self.settings().staging_dir, body, limit).await
    }
}

async fn stage<S, E>(dir: &Path, body: S, limit: u64) -> AppResult<StagedFile>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: std::fmt::Display,
{
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(AppError::internal)?;
    let path = dir.join(format!("{PREFIX}{:032x}{SUFFIX}", rand::random::<u128>()));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(&path).await.map_err(AppError::internal)?;
    // From here on the file goes away with `temp`, whatever happens.
    let temp = TempPath(path);
    let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut body = std::pin::pin!(body);
    loop {
        let next = tokio::time::timeout(IDLE_TIMEOUT, body.next()).await;
        let chunk = match next {
            Ok(Some(chunk)) => chunk.map_err(|e| AppError::UnreadableBody(e.to_string()))?,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::UnreadableBody(format!(
                    "nothing arrived for {} s; the upload was abandoned",
                    IDLE_TIMEOUT.as_secs()
                )));
            }
        };
        size = u64::try_from(chunk.len())
            .ok()
            .and_then(|n| size.checked_add(n))
            .filter(|total| *total <= limit)
            .ok_or(AppError::FileTooLarge { limit })?;
        hasher.update(&chunk);
        writer.write_all(&chunk).await.map_err(AppError::internal)?;
    }
    writer.flush().await.map_err(AppError::internal)?;
    drop(writer);
    let file = printers::UploadFile::new(temp.0.clone(), size, hasher.finalize().into());
    Ok(StagedFile { file, _path: temp })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_upload_that_stops_arriving_is_abandoned_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let first: Result<Bytes, std::io::Error> = Ok(Bytes::from_static(b"G28\n"));
        let body = futures::stream::iter([first]).chain(futures::stream::pending());
        let refused = stage(dir.path(), body, 1 << 20).await.unwrap_err();
        assert!(
            matches!(&refused, AppError::UnreadableBody(m) if m.contains("nothing arrived for 60 s")),
            "{refused:?}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn only_old_staged_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(format!("{PREFIX}old{SUFFIX}"));
        let young = dir.path().join(format!("{PREFIX}young{SUFFIX}"));
        let other = dir.path().join("notes.txt");
        for path in [&old, &young, &other] {
            std::fs::write(path, b"x").unwrap();
        }
        let long_ago = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        for path in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        prepare_staging_dir(dir.path()).unwrap();
        assert!(!old.exists());
        assert!(young.exists(), "may be another instance's upload");
        assert!(other.exists(), "not ours");
    }
}
