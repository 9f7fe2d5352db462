//! The blob store: file contents addressed by their SHA-256, one copy per organization, behind
//! the `object_store` crate — a local directory by default, S3-compatible storage when several
//! instances share the files. Contents stream in and out in bounded chunks: nothing here holds
//! a whole file in memory.
//!
//! A blob is written only once it is complete: the local directory writes to a temporary file
//! it renames at the end, S3 assembles a multipart upload it completes at the end; a write that
//! fails is aborted, leaving nothing under the blob's name. Which blobs exist is the database's
//! `blobs` table; this module only moves bytes.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use domain::{ContentHash, OrgId};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::StoreError;

/// Bytes gathered before a part goes out (S3's parts must be at least 5 MiB but the last).
const PART_BYTES: usize = 8 << 20;
/// Parts in flight at once: with [`PART_BYTES`], what a write holds in memory at most.
const PARTS_IN_FLIGHT: usize = 2;
/// Bytes read from a local file at a time.
const READ_CHUNK: usize = 1 << 20;

/// Where S3-compatible storage is and how to sign in to it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// The service's URL, for S3-compatible servers (MinIO, Garage, Ceph, …); `None`: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Prepended to every key, so that one bucket can hold several installations.
    pub prefix: String,
    /// Allow a plain `http://` endpoint (a server on the same machine or network).
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// A blob's bytes as they are read, and how many there are.
pub struct BlobReader {
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes, StoreError>>,
}

/// Content-addressed file storage. Cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    objects: Arc<dyn ObjectStore>,
    root: ObjectPath,
    label: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

impl BlobStore {
    /// Blobs as files under `dir`, created if missing.
    pub fn local(dir: &Path) -> Result<BlobStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::BlobConfig(format!(
                "cannot create the blob directory {}: {e}",
                dir.display()
            ))
        })?;
        let objects = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StoreError::BlobConfig(e.to_string()))?;
        Ok(BlobStore {
            objects: Arc::new(objects),
            root: ObjectPath::default(),
            label: format!("local directory {}", dir.display()),
        })
    }

    /// Blobs in an S3 bucket (or an S3-compatible server's).
    pub fn s3(location: &S3Location) -> Result<BlobStore, StoreError> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            .with_access_key_id(&location.access_key_id)
            .with_secret_access_key(&location.secret_access_key)
            .with_allow_http(location.allow_http);
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let objects = builder
            .build()
            .map_err(|e| StoreError::BlobConfig(e.to_string()))?;
        Ok(BlobStore {
            objects: Arc::new(objects),
            root: ObjectPath::from(location.prefix.as_str()),
            label: format!("S3 bucket {}", location.bucket),
        })
    }

    /// Blobs in memory, gone with the process: for tests and tools only.
    pub fn memory() -> BlobStore {
        BlobStore {
            objects: Arc::new(object_store::memory::InMemory::new()),
            root: ObjectPath::default(),
            label: "memory".into(),
        }
    }

    /// `orgs/<org>/<first two hex digits>/<sha256>`: per organization (nothing is shared
    /// across them, not even identical content), spread over 256 directories.
    fn path(&self, org: OrgId, hash: &ContentHash) -> ObjectPath {
        let hex = hash.as_str();
        let fan = hex.get(..2).unwrap_or(hex);
        let mut path = self.root.clone();
        for part in ["orgs", &org.to_string(), fan, hex] {
            path = path.clone().join(part);
        }
        path
    }

    /// Whether the blob is stored.
    pub async fn contains(&self, org: OrgId, hash: &ContentHash) -> Result<bool, StoreError> {
        match self.objects.head(&self.path(org, hash)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a local file as the blob `hash` (which the caller computed), chunk by chunk. The
    /// blob appears only once all of it is written; on any error nothing is left behind.
    pub async fn put_file(
        &self,
        org: OrgId,
        hash: &ContentHash,
        file: &Path,
    ) -> Result<(), StoreError> {
        let path = self.path(org, hash);
        let mut writer = BufWriter::with_capacity(self.objects.clone(), path, PART_BYTES)
            .with_max_concurrency(PARTS_IN_FLIGHT);
        if let Err(e) = write_chunks(file, &mut writer).await {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "cannot abort a failed blob write");
            }
            return Err(e);
        }
        // Completes the write: the blob appears under its name now. A completion that fails
        // leaves at most parts no name points to (S3 drops them with its lifecycle rules).
        writer.shutdown().await.map_err(blob_io)
    }

    /// Stores small content already in memory (demo data, tests) as the blob `hash`.
    pub async fn put_bytes(
        &self,
        org: OrgId,
        hash: &ContentHash,
        bytes: Bytes,
    ) -> Result<(), StoreError> {
        self.objects
            .put(&self.path(org, hash), bytes.into())
            .await?;
        Ok(())
    }

    /// Reads the blob as a stream of chunks.
    pub async fn read(&self, org: OrgId, hash: &ContentHash) -> Result<BlobReader, StoreError> {
        let result = self
            .objects
            .get(&self.path(org, hash))
            .await
            .map_err(|e| missing_or(e, hash))?;
        let size = result.meta.size;
        let stream = result.into_stream().map_err(StoreError::from).boxed();
        Ok(BlobReader { size, stream })
    }

    /// Removes the blob; one that is already gone is not an error.
    pub async fn delete(&self, org: OrgId, hash: &ContentHash) -> Result<(), StoreError> {
        match self.objects.delete(&self.path(org, hash)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn missing_or(error: object_store::Error, hash: &ContentHash) -> StoreError {
    match error {
        object_store::Error::NotFound { .. } => StoreError::BlobMissing(hash.to_string()),
        other => other.into(),
    }
}

/// Reads `file` into `writer` one chunk at a time.
async fn write_chunks(file: &Path, writer: &mut BufWriter) -> Result<(), StoreError> {
    let mut file = tokio::fs::File::open(file).await.map_err(blob_io)?;
    loop {
        let mut chunk = Vec::with_capacity(READ_CHUNK);
        let read = (&mut file)
            .take(READ_CHUNK as u64)
            .read_to_end(&mut chunk)
            .await
            .map_err(blob_io)?;
        if read == 0 {
            break;
        }
        writer.put(Bytes::from(chunk)).await?;
    }
    Ok(())
}

fn blob_io(error: std::io::Error) -> StoreError {
    StoreError::BlobIo(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_organization_and_fanned_out() {
        let store = BlobStore::memory();
        let hash = ContentHash::from_digest([0xab; 32]);
        assert_eq!(
            store.path(OrgId(7), &hash).as_ref(),
            format!("orgs/7/ab/{hash}")
        );
    }
}
