//! The slicing pool: `workers` loops (the configured size, by default one per core), each
//! taking the oldest queued slice (claimed in the database, so several instances share the
//! queue), running PrusaSlicer on it and recording the outcome. However many slices are asked
//! for, at most `workers` PrusaSlicer processes run per instance; the rest wait, `queued`.
//!
//! While PrusaSlicer runs, the slice's progress and heartbeat are written every second and its
//! state read back: a cancel made on any instance kills the process within a second (at once
//! on the instance running it). When the server stops, PrusaSlicer is killed and the slice
//! goes back to the queue (the next start, or another instance, slices it again); a slice whose
//! heartbeat stopped for [`STALLED_AFTER_S`] (its server crashed mid-slice) is failed with a
//! message saying so.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::audit::{Chain, NewAuditEvent};
use domain::{ContentHash, FileKind, Slice, SliceId, SliceState, SlicedFrom, Timestamp};
use futures::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, OnceCell, mpsc, watch};
use tokio::task::JoinHandle;

use super::runner::{self, Ended, Isolation, Run, WorkDir};
use crate::App;
use crate::error::{AppError, AppResult};

/// A slice whose heartbeat is older than this is taken for abandoned.
pub const STALLED_AFTER_S: i64 = 30;
/// How often a running slice's progress and heartbeat are written.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long an idle worker waits before looking at the queue again without being woken.
const IDLE_POLL: Duration = Duration::from_secs(2);
/// How often an instance looks for abandoned slices (far more often than they are declared
/// abandoned, and not before every claim: a read less per slice).
const STALLED_CHECK_EVERY: Duration = Duration::from_secs(5);

/// The pool's shared state in this instance.
#[derive(Default)]
pub struct Pool {
    wake: Notify,
    /// Slices running here, with the switch that kills their PrusaSlicer.
    running: Mutex<HashMap<SliceId, watch::Sender<bool>>>,
    isolation: OnceCell<Isolation>,
    phases: Phases,
    /// When this instance last looked for abandoned slices.
    stalled_checked: Mutex<Option<Instant>>,
}

/// Where a slice's time goes in the pool, phase by phase, in the order a slice passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Failing abandoned slices, claiming the next one (a transaction with its audit event).
    Claim,
    /// Creating the slice's work directory.
    WorkDir,
    /// Copying the model out of the blob store into the work directory.
    Model,
    /// Writing PrusaSlicer's configuration file.
    Config,
    /// From starting the sandbox (`unshare`, `prlimit`) and PrusaSlicer to its exit, with the
    /// heartbeats written meanwhile.
    Slicer,
    /// Reading the G-code back: its SHA-256 and analysis.
    Analyse,
    /// Putting the G-code in the blob store.
    Store,
    /// The transaction that records the file and ends the slice.
    Record,
    /// Removing the work directory.
    CleanUp,
}

impl Phase {
    pub fn key(self) -> &'static str {
        match self {
            Phase::Claim => "claim",
            Phase::WorkDir => "work directory",
            Phase::Model => "model from the blob store",
            Phase::Config => "configuration file",
            Phase::Slicer => "sandbox and PrusaSlicer",
            Phase::Analyse => "G-code hash and analysis",
            Phase::Store => "G-code into the blob store",
            Phase::Record => "database record",
            Phase::CleanUp => "work directory removal",
        }
    }
}

/// Time spent in each phase, summed over this instance's slices (for the slicing bench).
#[derive(Default)]
struct Phases(Mutex<BTreeMap<Phase, (u32, Duration)>>);

impl Phases {
    fn add(&self, phase: Phase, since: Instant) {
        if let Ok(mut phases) = self.0.lock() {
            let entry = phases.entry(phase).or_default();
            entry.0 += 1;
            entry.1 += since.elapsed();
        }
    }
}

impl Pool {
    /// Kills the PrusaSlicer of a slice running here (its state was set already).
    pub(crate) fn cancel(&self, id: SliceId) {
        if let Ok(running) = self.running.lock()
            && let Some(switch) = running.get(&id)
        {
            let _ = switch.send(true);
        }
    }

    /// Slices running in this instance now.
    pub fn running(&self) -> usize {
        self.running.lock().map_or(0, |r| r.len())
    }
}

fn pool_event(org: domain::OrgId, now: Timestamp, action: &str, id: SliceId) -> NewAuditEvent {
    let mut event =
        crate::actor::console_event(Chain::Org(org), now, action, "slice", id.to_string());
    event.actor_label = "slicing pool".into();
    event
}

impl App {
    pub(crate) fn slicer_pool(&self) -> &Pool {
        &self.inner.slicer
    }

    /// How many PrusaSlicer processes this instance runs now (never more than the pool's size).
    pub fn slices_running(&self) -> usize {
        self.inner.slicer.running()
    }

    /// Each phase of slicing in this instance so far: how many times and how long in all.
    pub fn slicing_phases(&self) -> Vec<(Phase, u32, Duration)> {
        self.inner
            .slicer
            .phases
            .0
            .lock()
            .map(|phases| phases.iter().map(|(p, (n, d))| (*p, *n, *d)).collect())
            .unwrap_or_default()
    }

    fn time(&self, phase: Phase, since: Instant) {
        self.inner.slicer.phases.add(phase, since);
    }

    /// Wakes idle workers of the pool: a slice was queued.
    pub(crate) fn wake_slicer(&self) {
        self.inner.slicer.wake.notify_waiters();
    }

    /// Runs the pool's workers until `stop` turns true.
    pub async fn run_slicer(&self, stop: watch::Receiver<bool>) {
        let workers = self.settings().slicer.workers.max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let app = self.clone();
            let stop = stop.clone();
            tasks.spawn(async move { app.slicer_worker(stop).await });
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn slicer_worker(&self, mut stop: watch::Receiver<bool>) {
        let mut keeping = None;
        loop {
            if *stop.borrow() {
                break;
            }
            // Registered before looking, so a slice queued meanwhile wakes it.
            let woken = self.inner.slicer.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match self.slice_next(stop.clone(), &mut keeping).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, chain = ?e, "slicing pool step failed"),
            }
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = stop.changed() => {}
            }
        }
        // The last G-code is kept before the pool stops.
        finish_keeping(keeping.take()).await;
    }

    /// One step of a worker: fails abandoned slices (now and then), then takes the oldest
    /// queued slice and slices it, giving it back to the queue (PrusaSlicer killed) when `stop`
    /// turns true meanwhile. Returns whether it sliced one.
    ///
    /// Once PrusaSlicer has sliced, keeping the G-code (analysis, blob store, record) goes on
    /// in `keeping` while the worker takes the next slice, so PrusaSlicer's turns follow each
    /// other without Farmhand's own work between them; a worker keeps one G-code at a time.
    async fn slice_next(
        &self,
        stop: watch::Receiver<bool>,
        keeping: &mut Option<JoinHandle<()>>,
    ) -> AppResult<bool> {
        let claiming = Instant::now();
        if self.stalled_check_due() {
            self.fail_stalled_slices().await?;
        }
        let mut uow = self.begin_unattributed().await?;
        let now = uow.now();
        let claimed = store::claim_queued_slice(uow.tx(), now).await?;
        if let Some(slice) = &claimed {
            uow.audit_event(pool_event(slice.org_id, now, "slice.slicing", slice.id));
        }
        uow.commit().await?;
        let Some(slice) = claimed else {
            return Ok(false);
        };
        self.time(Phase::Claim, claiming);
        let (switch, cancelled) = watch::channel(false);
        if let Ok(mut running) = self.inner.slicer.running.lock() {
            running.insert(slice.id, switch);
        }
        let ran = self.slice(&slice, cancelled, stop).await;
        if let Ok(mut running) = self.inner.slicer.running.lock() {
            running.remove(&slice.id);
        }
        let ended = match ran {
            Ok(Ran::Sliced(sliced)) => {
                finish_keeping(keeping.take()).await;
                let app = self.clone();
                *keeping = Some(tokio::spawn(async move { app.keep(slice, sliced).await }));
                return Ok(true);
            }
            Ok(Ran::Ended(ended)) => ended,
            Err(e) => failed_inside(slice.id, &e),
        };
        self.conclude(&slice, ended).await
    }

    /// Keeps the G-code of a sliced slice and ends the slice.
    async fn keep(&self, slice: Slice, sliced: Sliced) {
        let ended = match self.keep_gcode(&slice, &sliced.output).await {
            Ok(ended) => ended,
            Err(e) => failed_inside(slice.id, &e),
        };
        let work = sliced.work;
        if let Err(e) = tokio::task::spawn_blocking(move || drop(work)).await {
            tracing::warn!(slice = %slice.id, error = %e, "removing a slicing work directory failed");
        }
        if let Err(e) = self.conclude(&slice, ended).await {
            tracing::error!(slice = %slice.id, error = %e, chain = ?e, "a slice could not be ended");
        }
    }

    /// Records how a slice ended. Returns whether the worker sliced (rather than stopped).
    async fn conclude(&self, slice: &Slice, ended: Ended) -> AppResult<bool> {
        match ended {
            Ended::Sliced | Ended::Cancelled => Ok(true),
            Ended::Stopped => {
                let mut uow = self.begin_unattributed().await?;
                let now = uow.now();
                if store::requeue_slice(uow.conn(), slice.id).await? {
                    let mut event = pool_event(slice.org_id, now, "slice.requeue", slice.id);
                    event.after = Some(json!({
                        "state": "queued",
                        "reason": "the server stopped while slicing it",
                    }));
                    uow.audit_event(event);
                }
                uow.commit().await?;
                Ok(false)
            }
            Ended::Failed(message) => {
                self.end_slice(slice, SliceState::Failed, &message).await?;
                Ok(true)
            }
        }
    }

    /// Marks a slice that is still `slicing` as `to`, with its audit event.
    async fn end_slice(&self, slice: &Slice, to: SliceState, message: &str) -> AppResult<()> {
        let mut uow = self.begin_unattributed().await?;
        let now = uow.now();
        let changed = store::finish_slice(
            uow.conn(),
            slice.id,
            SliceState::Slicing,
            to,
            Some(message),
            None,
            now,
        )
        .await?;
        if changed {
            let mut event = pool_event(slice.org_id, now, "slice.fail", slice.id);
            event.after = Some(json!({ "state": to.key(), "message": message }));
            uow.audit_event(event);
        }
        uow.commit().await
    }

    /// Whether it is time to look for abandoned slices again (and it is noted that it is).
    fn stalled_check_due(&self) -> bool {
        let Ok(mut last) = self.inner.slicer.stalled_checked.lock() else {
            return true;
        };
        let due = last.is_none_or(|at| at.elapsed() >= STALLED_CHECK_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// Fails the slices whose server stopped slicing them.
    async fn fail_stalled_slices(&self) -> AppResult<()> {
        let now = self.now();
        let before = now.plus_seconds(-STALLED_AFTER_S);
        let stalled = {
            let mut conn = self.store().read().await?;
            store::stalled_slices(&mut conn, before).await?
        };
        for (id, org) in stalled {
            let mut uow = self.begin_unattributed().await?;
            let message = "the server slicing it stopped before it finished (a restart or a crash); slice the model again";
            if store::finish_slice(
                uow.conn(),
                id,
                SliceState::Slicing,
                SliceState::Failed,
                Some(message),
                None,
                now,
            )
            .await?
            {
                let mut event = pool_event(org, now, "slice.fail", id);
                event.after = Some(json!({ "state": "failed", "message": message }));
                uow.audit_event(event);
            }
            uow.commit().await?;
        }
        Ok(())
    }

    /// Runs PrusaSlicer on a claimed slice: how it ended, or the G-code it made, to keep.
    async fn slice(
        &self,
        slice: &Slice,
        cancelled: watch::Receiver<bool>,
        stop: watch::Receiver<bool>,
    ) -> AppResult<Ran> {
        let settings = &self.settings().slicer;
        let staging = self.settings().staging_dir.clone();
        let dir_name = format!("slice-{}-{:016x}", slice.id, rand::random::<u64>());
        let phase = Instant::now();
        let work = {
            let staging = staging.clone();
            tokio::task::spawn_blocking(move || WorkDir::create(&staging, &dir_name))
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?
        };
        let extension = match FileKind::parse(&slice.model_kind) {
            Some(FileKind::ThreeMf) => "3mf",
            Some(FileKind::Obj) => "obj",
            _ => "stl",
        };
        let mut run = Run {
            dir: work.path().to_owned(),
            model: work.path().join(format!("model.{extension}")),
            config: work.path().join("slice.ini"),
            output: work.path().join("out.gcode"),
            transform: transform(&slice.placement),
        };
        let work = CleanUp {
            app: self.clone(),
            work: Some(work),
        };
        self.time(Phase::WorkDir, phase);
        let hash = ContentHash::parse("sha256", &slice.model_sha256).map_err(AppError::internal)?;
        let phase = Instant::now();
        if let Err(why) = self.fetch_model(slice, &hash, &run.model).await? {
            return Ok(Ran::Ended(Ended::Failed(why)));
        }
        self.time(Phase::Model, phase);
        if slice.placement.auto_rotate {
            match self.flat_face_turn(slice, &run.model).await? {
                // PrusaSlicer applies its transforms in the order given: the turn goes first.
                Ok(turn) => run.transform.splice(0..0, turn),
                Err(why) => return Ok(Ran::Ended(Ended::Failed(why))),
            };
        }
        let phase = Instant::now();
        let mut config = String::new();
        for (key, value) in &slice.settings {
            // Keys come from Farmhand's own table and values are checked there: one line each.
            config.push_str(&format!("{key} = {}\n", value.replace(['\n', '\r'], " ")));
        }
        tokio::fs::write(&run.config, config)
            .await
            .map_err(AppError::internal)?;
        self.time(Phase::Config, phase);
        let isolation = self
            .inner
            .slicer
            .isolation
            .get_or_init(|| Isolation::probe(settings.isolate_network))
            .await;
        let phase = Instant::now();
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
        let (kill, killed) = watch::channel(false);
        let running = runner::run(settings, isolation, &run, progress_tx, killed);
        tokio::pin!(running);
        let mut progress = 0u8;
        let mut cancelled = cancelled;
        let mut stop = stop;
        let mut stopping = false;
        // The claim set the heartbeat: the first one is due a period later, not now (a write
        // less per slice).
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ended = loop {
            tokio::select! {
                ended = &mut running => break ended,
                Some(p) = progress_rx.recv() => progress = progress.max(p),
                _ = cancelled.changed() => {
                    if *cancelled.borrow() {
                        let _ = kill.send(true);
                    }
                }
                Ok(()) = stop.changed(), if !stopping => {
                    if *stop.borrow() {
                        stopping = true;
                        let _ = kill.send(true);
                    }
                }
                _ = ticker.tick() => {
                    let mut tx = self.store().write().await?;
                    let state = store::slice_heartbeat(&mut tx, slice.id, progress, self.now()).await?;
                    tx.commit().await?;
                    if state != Some(SliceState::Slicing) {
                        let _ = kill.send(true);
                    }
                }
            }
        };
        self.time(Phase::Slicer, phase);
        Ok(match ended {
            Ended::Cancelled if stopping => Ran::Ended(Ended::Stopped),
            Ended::Sliced => Ran::Sliced(Sliced {
                work,
                output: run.output.clone(),
            }),
            other => Ran::Ended(other),
        })
    }

    /// PrusaSlicer's flags that turn the model at `path` onto its largest flat face, once the
    /// model as turned (and scaled, and rotated about Z) is found to fit the printer model;
    /// `Ok(Err(why))` when it has no such face or does not fit.
    async fn flat_face_turn(
        &self,
        slice: &Slice,
        path: &Path,
    ) -> AppResult<Result<Vec<String>, String>> {
        let format = match FileKind::parse(&slice.model_kind) {
            Some(FileKind::Obj) => mesh::Format::Obj,
            Some(FileKind::ThreeMf) => mesh::Format::ThreeMf,
            _ => mesh::Format::StlBinary,
        };
        let path = path.to_owned();
        let found = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)?;
            let size = file.metadata()?.len();
            mesh::flat_face_orientation(format, std::io::BufReader::new(file), size)
        })
        .await
        .map_err(AppError::internal)?;
        let turn = match found {
            Ok(Some(turn)) => turn,
            Ok(None) => {
                return Ok(Err(
                    "auto-rotate found no flat face to lay the model on (auto-rotate works on STL and OBJ models)".into(),
                ));
            }
            Err(e) => return Ok(Err(format!("auto-rotate could not read the model: {e}"))),
        };
        let model = {
            let mut conn = self.store().read().await?;
            store::get_printer_model(&mut conn, slice.org_id, slice.printer_model_id).await?
        };
        if let Some(model) = model
            && let Err(refusal) = super::check_fit(&turn.size, &slice.placement, &model)
        {
            return Ok(Err(format!("turned onto its largest flat face, {refusal}")));
        }
        let mut flags = Vec::new();
        if turn.rotate_x_deg != 0.0 {
            flags.extend(["--rotate-x".to_string(), turn.rotate_x_deg.to_string()]);
        }
        if turn.rotate_y_deg != 0.0 {
            flags.extend(["--rotate-y".to_string(), turn.rotate_y_deg.to_string()]);
        }
        Ok(Ok(flags))
    }

    /// Writes the model's content to `path`; `Ok(Err(why))` when it is gone.
    async fn fetch_model(
        &self,
        slice: &Slice,
        hash: &ContentHash,
        path: &Path,
    ) -> AppResult<Result<(), String>> {
        let reader = match self.settings().blobs.read(slice.org_id, hash).await {
            Ok(reader) => reader,
            Err(store::StoreError::BlobMissing(_)) => {
                return Ok(Err(
                    "the model was deleted from the library before it was sliced".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(AppError::internal)?;
        let mut stream = reader.stream;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await.map_err(AppError::internal)?;
        }
        file.flush().await.map_err(AppError::internal)?;
        Ok(Ok(()))
    }

    /// Analyses the G-code and records it in the slice owner's library, the slice `done`, in
    /// one transaction (unless the slice was cancelled meanwhile).
    async fn keep_gcode(&self, slice: &Slice, path: &Path) -> AppResult<Ended> {
        let phase = Instant::now();
        let profile = {
            let mut conn = self.store().read().await?;
            match store::get_printer_model(&mut conn, slice.org_id, slice.printer_model_id).await? {
                Some(model) => {
                    let motion = model.motion.as_object().cloned().unwrap_or_default();
                    crate::fleet::motion_profile(&motion).unwrap_or_default()
                }
                None => gcode::Profile::default(),
            }
        };
        let (analysed, hash, size) = crate::files::analysis::analyse_and_hash_file(
            path.to_owned(),
            profile,
            Some(slice.printer_model_id),
        )
        .await?;
        self.time(Phase::Analyse, phase);
        let phase = Instant::now();
        let blobs = &self.settings().blobs;
        if !blobs.contains(slice.org_id, &hash).await? {
            blobs.put_file(slice.org_id, &hash, path).await?;
        }
        self.time(Phase::Store, phase);
        let phase = Instant::now();
        let mut uow = self.begin_unattributed().await?;
        let now = uow.now();
        let thumbnails: Vec<store::NewThumbnail<'_>> = analysed
            .analysis
            .thumbnails
            .iter()
            .zip(&analysed.images)
            .map(|(info, data)| store::NewThumbnail {
                format: &info.format,
                width: info.width,
                height: info.height,
                data,
            })
            .collect();
        store::insert_blob(uow.conn(), slice.org_id, &hash, size, &thumbnails, now).await?;
        let origin = SlicedFrom {
            slice_id: slice.id,
            model_file_id: slice.model_file_id,
            model_name: slice.model_name.clone(),
            model_sha256: slice.model_sha256.clone(),
            printer_model_id: slice.printer_model_id,
            profile_id: slice.profile_id,
            settings: slice.settings.clone(),
        };
        let name = super::gcode_name_of(&slice.model_name);
        let new = store::NewFile {
            name: &name,
            sha256: &hash,
            size,
            kind: FileKind::Gcode,
            owner: slice.owner_member_id,
            project: None,
            analysis: Some(&analysed.analysis),
            model: None,
            sliced_from: Some(&origin),
        };
        let file = store::insert_file(uow.conn(), slice.org_id, &new, now).await?;
        let done = store::finish_slice(
            uow.conn(),
            slice.id,
            SliceState::Slicing,
            SliceState::Done,
            None,
            Some(file),
            now,
        )
        .await?;
        if !done {
            // Cancelled while the G-code was being analysed: nothing is kept.
            return Ok(Ended::Cancelled);
        }
        let mut event = pool_event(slice.org_id, now, "slice.done", slice.id);
        event.after = Some(json!({
            "state": "done", "gcode_file_id": file, "name": name, "sha256": hash, "size": size,
        }));
        uow.audit_event(event);
        uow.commit().await?;
        self.time(Phase::Record, phase);
        // As with uploads: a deletion of the last other copy may have removed the bytes between
        // the check above and this commit; put them back.
        if !blobs.contains(slice.org_id, &hash).await? {
            blobs.put_file(slice.org_id, &hash, path).await?;
        }
        Ok(Ended::Sliced)
    }
}

/// How PrusaSlicer's turn on a slice ended.
enum Ran {
    /// Without G-code: failed, cancelled or stopped.
    Ended(Ended),
    /// It sliced: the G-code is in the work directory, to keep.
    Sliced(Sliced),
}

struct Sliced {
    work: CleanUp,
    output: PathBuf,
}

/// Waits until a worker's previous G-code is kept.
async fn finish_keeping(keeping: Option<JoinHandle<()>>) {
    if let Some(keeping) = keeping
        && let Err(e) = keeping.await
    {
        tracing::error!(error = %e, "keeping a sliced G-code stopped half-way");
    }
}

/// How a slice that failed inside Farmhand (not in PrusaSlicer) ends, its cause logged.
fn failed_inside(slice: SliceId, e: &AppError) -> Ended {
    tracing::error!(slice = %slice, error = %e, chain = ?e, "slicing failed inside Farmhand");
    Ended::Failed("the slice failed inside Farmhand; the server log has the cause".into())
}

/// A slice's work directory, removed (and the removal timed) when dropped.
struct CleanUp {
    app: App,
    work: Option<WorkDir>,
}

impl Drop for CleanUp {
    fn drop(&mut self) {
        let phase = Instant::now();
        drop(self.work.take());
        self.app.time(Phase::CleanUp, phase);
    }
}

/// PrusaSlicer's transform flags for a placement.
fn transform(placement: &domain::Placement) -> Vec<String> {
    let mut flags = Vec::new();
    if placement.scale_percent != 100.0 {
        flags.extend([
            "--scale".to_string(),
            format!("{}%", placement.scale_percent),
        ]);
    }
    if placement.rotate_z_deg != 0.0 {
        flags.extend(["--rotate".to_string(), placement.rotate_z_deg.to_string()]);
    }
    if placement.copies > 1 {
        flags.extend(["--duplicate".to_string(), placement.copies.to_string()]);
    }
    flags
}
