//! The blob store's promises, kept by each place it can keep contents: a local directory,
//! memory, and S3 — a real S3-protocol server (moto's, installed by `scripts/s3server`; the S3
//! tests fail, never skip, without it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use domain::{ContentHash, OrgId};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use store::{BlobStore, S3Location, StoreError};

/// A moto S3 server for one test, stopped when dropped.
struct S3Server {
    child: Child,
    url: String,
    bucket: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    std::env::var_os("S3SERVER_SCRIPT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/s3server"),
        PathBuf::from,
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl S3Server {
    fn start() -> S3Server {
        let mut child = Command::new(script())
            .args(["serve", "--port", &free_port().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the S3 tests need {} (set S3SERVER_SCRIPT): {e}",
                    script().display()
                )
            });
        let stdout = child.stdout.take().unwrap();
        let mut server = S3Server {
            child,
            url: String::new(),
            bucket: String::new(),
        };
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("url=") {
                server.url = url.to_string();
            } else if let Some(bucket) = line.strip_prefix("bucket=") {
                server.bucket = bucket.to_string();
            } else if line == "ready" {
                return server;
            }
        }
        panic!(
            "{} serve ended before it was ready; moto's S3 server is needed for this test",
            script().display()
        );
    }

    fn store(&self, prefix: &str) -> BlobStore {
        BlobStore::s3(&S3Location {
            bucket: self.bucket.clone(),
            endpoint: Some(self.url.clone()),
            region: "us-east-1".into(),
            access_key_id: "farmhand".into(),
            secret_access_key: "farmhand".into(),
            prefix: prefix.into(),
            allow_http: true,
        })
        .unwrap()
    }
}

/// A file of `len` pseudo-random bytes and its hash.
fn sample_file(dir: &Path, name: &str, len: usize) -> (PathBuf, ContentHash) {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    let mut hasher = Sha256::new();
    let mut state: u64 = len as u64 ^ 0x9E37_79B9_7F4A_7C15;
    let mut left = len;
    while left > 0 {
        let mut chunk = Vec::with_capacity(left.min(1 << 16));
        while chunk.len() < left.min(1 << 16) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.push(state as u8);
        }
        hasher.update(&chunk);
        file.write_all(&chunk).unwrap();
        left -= chunk.len();
    }
    (path, ContentHash::from_digest(hasher.finalize().into()))
}

async fn read_all(store: &BlobStore, org: OrgId, hash: &ContentHash) -> (u64, Vec<u8>) {
    let reader = store.read(org, hash).await.unwrap();
    let chunks: Vec<bytes::Bytes> = reader.stream.try_collect().await.unwrap();
    (reader.size, chunks.concat())
}

/// What every blob store promises.
async fn contract(store: BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let org = OrgId(1);
    let other_org = OrgId(2);
    // Several parts (8 MiB each) and a short last one: the multipart path.
    let (big, big_hash) = sample_file(dir.path(), "big", 19 * 1024 * 1024 + 123);
    let (small, small_hash) = sample_file(dir.path(), "small", 4096);

    assert!(!store.contains(org, &big_hash).await.unwrap());
    store.put_file(org, &big_hash, &big).await.unwrap();
    store.put_file(org, &small_hash, &small).await.unwrap();
    assert!(store.contains(org, &big_hash).await.unwrap());

    let (size, bytes) = read_all(&store, org, &big_hash).await;
    assert_eq!(size, std::fs::metadata(&big).unwrap().len());
    assert_eq!(
        ContentHash::from_digest(Sha256::digest(&bytes).into()),
        big_hash
    );
    assert_eq!(
        read_all(&store, org, &small_hash).await.1,
        std::fs::read(&small).unwrap()
    );

    // Per organization: the same content elsewhere is another blob.
    assert!(!store.contains(other_org, &big_hash).await.unwrap());
    assert!(matches!(
        store.read(other_org, &big_hash).await.err(),
        Some(StoreError::BlobMissing(_))
    ));

    // Writing the same content again is harmless.
    store.put_file(org, &small_hash, &small).await.unwrap();
    assert_eq!(read_all(&store, org, &small_hash).await.1.len(), 4096);

    // A write that fails leaves nothing under the name.
    let (_, missing_hash) = sample_file(dir.path(), "other", 10);
    let failed = store
        .put_file(org, &missing_hash, &dir.path().join("no-such-file"))
        .await;
    assert!(matches!(failed, Err(StoreError::BlobIo(_))), "{failed:?}");
    assert!(!store.contains(org, &missing_hash).await.unwrap());
    // A directory opens but cannot be read: the write fails after it began.
    let failed = store.put_file(org, &missing_hash, dir.path()).await;
    assert!(failed.is_err());
    assert!(!store.contains(org, &missing_hash).await.unwrap());

    store.delete(org, &big_hash).await.unwrap();
    assert!(!store.contains(org, &big_hash).await.unwrap());
    // Deleting what is gone is not an error.
    store.delete(org, &big_hash).await.unwrap();
    assert!(store.contains(org, &small_hash).await.unwrap());
}

#[tokio::test]
async fn a_local_directory_keeps_the_promises() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    contract(BlobStore::local(&root).unwrap()).await;
    // Only complete blobs are left: no temporary files from the writes.
    let mut names = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                names.push(entry.file_name().into_string().unwrap());
            }
        }
    }
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(names[0].len(), 64, "{names:?}");
}

#[tokio::test]
async fn memory_keeps_the_promises() {
    contract(BlobStore::memory()).await;
}

#[tokio::test]
async fn s3_keeps_the_promises() {
    let server = S3Server::start();
    contract(server.store("")).await;
}

#[tokio::test]
async fn s3_keys_start_with_the_prefix() {
    let server = S3Server::start();
    let (a, b) = (server.store("site-a"), server.store("site-b"));
    let dir = tempfile::tempdir().unwrap();
    let (file, hash) = sample_file(dir.path(), "f", 100);
    a.put_file(OrgId(1), &hash, &file).await.unwrap();
    assert!(a.contains(OrgId(1), &hash).await.unwrap());
    assert!(!b.contains(OrgId(1), &hash).await.unwrap());
}
