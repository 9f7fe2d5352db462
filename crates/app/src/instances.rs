//! Several Farmhand instances on one database.
//!
//! Each printer is supervised by exactly one instance at a time: the holder of its lease
//! (`printer_leases`). Every [`InstanceSettings::lease_renewal`] an instance renews its leases
//! and its heartbeat and takes free ones (never supervised, or left to expire by an instance
//! that stopped or died) up to its fair share of the fleet; an instance holding more than its
//! share gives idle printers back, so a new instance gets work. Taking over a printer starts
//! its supervisor from what is recorded, exactly as a restart does: a print in flight is
//! reconciled with what the printer reports, never restarted.
//!
//! On PostgreSQL the instances tell each other, through `LISTEN/NOTIFY` on one channel: live
//! printer states (so that server-sent events on any instance show every printer), that a
//! printer's settings changed (its holder restarts its supervisor), and that there are jobs
//! to dispatch. SQLite has one instance per database, which takes every lease when it starts.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use domain::{PrinterId, PrinterState};
use serde::{Deserialize, Serialize};
use store::{Backend, Store};
use tokio::sync::{Notify, watch};

use crate::App;
use crate::error::AppResult;
use crate::supervision::LiveUpdate;

/// How instances share the fleet.
#[derive(Debug, Clone)]
pub struct InstanceSettings {
    /// How long a lease lasts without renewal: a dead instance's printers are taken over
    /// between this and this plus [`InstanceSettings::lease_renewal`] after its last renewal.
    pub lease_ttl: Duration,
    /// How often leases are renewed and free ones taken.
    pub lease_renewal: Duration,
}

impl Default for InstanceSettings {
    fn default() -> Self {
        InstanceSettings {
            lease_ttl: Duration::from_secs(20),
            lease_renewal: Duration::from_secs(5),
        }
    }
}

/// The channel instances talk on.
const CHANNEL: &str = "farmhand_instances";

/// How long outgoing live states gather before they are sent together.
const SEND_COALESCE: Duration = Duration::from_millis(50);

/// What one instance tells the others.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    from: String,
    #[serde(flatten)]
    message: Message,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Message {
    /// Printers' live states changed.
    Live { updates: Vec<LiveUpdate> },
    /// A printer's settings changed (or it was removed): its holder restarts its supervisor.
    Resupervise { printer: PrinterId },
    /// An instance started (or missed messages): everyone sends it their live states.
    Hello,
    /// Jobs became ready to dispatch.
    Wake,
}

/// This instance: its identity and what it has to tell the others.
pub(crate) struct Instance {
    pub id: String,
    address: Mutex<String>,
    /// Whether other instances may share the database (PostgreSQL).
    shared: bool,
    outgoing: Mutex<Outgoing>,
    outgoing_ready: Notify,
}

#[derive(Default)]
struct Outgoing {
    live: HashMap<PrinterId, LiveUpdate>,
    resupervise: HashSet<PrinterId>,
    hello: bool,
    wake: bool,
}

impl Outgoing {
    fn is_empty(&self) -> bool {
        self.live.is_empty() && self.resupervise.is_empty() && !self.hello && !self.wake
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Instance {
    pub fn new(backend: Backend) -> Instance {
        Instance {
            id: format!("{:032x}", rand::random::<u128>()),
            address: Mutex::new(String::new()),
            shared: backend == Backend::Postgres,
            outgoing: Mutex::new(Outgoing::default()),
            outgoing_ready: Notify::new(),
        }
    }

    fn send(&self, add: impl FnOnce(&mut Outgoing)) {
        if self.shared {
            add(&mut lock(&self.outgoing));
            self.outgoing_ready.notify_one();
        }
    }

    /// Tells the other instances about a change of a printer's live state.
    pub fn share_live(&self, update: &LiveUpdate) {
        self.send(|out| {
            out.live.insert(update.status.printer_id, update.clone());
        });
    }

    /// Tells the other instances there are jobs to dispatch.
    pub fn share_wake(&self) {
        self.send(|out| out.wake = true);
    }
}

impl App {
    pub(crate) fn instance(&self) -> &Instance {
        &self.inner.instance
    }

    /// This instance's identity among those sharing the database.
    pub fn instance_id(&self) -> &str {
        &self.instance().id
    }

    /// Runs this instance's part of the fleet until `stop` turns true: takes its printers'
    /// leases and supervises them, keeps them, takes over those other instances leave, and
    /// (on PostgreSQL) talks with the other instances. `address` is where the others reach
    /// this one's API. On stopping, its leases are given up so the others take over at once.
    pub async fn run_instance(&self, address: String, mut stop: watch::Receiver<bool>) {
        *lock(&self.instance().address) = address;
        let listening = if self.instance().shared {
            match self.store().listen(&[CHANNEL]).await {
                Ok(subscription) => {
                    let (app, listen_stop) = (self.clone(), stop.clone());
                    tokio::spawn(async move { app.listen(subscription, listen_stop).await });
                    let (app, send_stop) = (self.clone(), stop.clone());
                    tokio::spawn(async move { app.send_outgoing(send_stop).await });
                    true
                }
                Err(error) => {
                    tracing::error!(%error, "cannot listen to the other instances");
                    false
                }
            }
        } else {
            false
        };
        if listening {
            self.instance().send(|out| out.hello = true);
        }
        let renewal = self.settings().instances.lease_renewal;
        loop {
            if let Err(error) = self.lease_pass().await {
                tracing::warn!(%error, "could not renew printer leases");
            }
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(renewal) => {}
            }
        }
        if let Err(error) = self.stop_fleet().await {
            tracing::warn!(%error, "could not give up printer leases");
        }
    }

    /// Takes this instance's share of the printers' leases and supervises them: what a server
    /// does when it starts (and what tests call to start the fleet without the loop).
    pub async fn start_fleet(&self) -> AppResult<()> {
        self.lease_pass().await
    }

    /// One round: heartbeat, renewal, takeover, hand-back.
    async fn lease_pass(&self) -> AppResult<()> {
        let instance = self.instance();
        let ttl = i64::try_from(self.settings().instances.lease_ttl.as_secs()).unwrap_or(20);
        let now = self.now();
        let expires_at = now.plus_seconds(ttl);
        let address = lock(&instance.address).clone();
        let mut tx = self.store().write().await?;
        store::register_instance(&mut tx, &instance.id, &address, now).await?;
        let mut held: HashSet<PrinterId> = store::renew_leases(&mut tx, &instance.id, expires_at)
            .await?
            .into_iter()
            .collect();
        let fair_share = if instance.shared {
            let live = store::count_live_instances(&mut tx, now.plus_seconds(-ttl))
                .await?
                .max(1);
            let printers = store::count_printers(&mut tx).await?;
            (printers + live - 1) / live
        } else {
            if self.supervisors().is_empty() && held.is_empty() {
                // Only one instance uses a SQLite database: leases left by an earlier run
                // are this one's now.
                store::take_all_leases(&mut tx, &instance.id, expires_at).await?;
            }
            i64::MAX
        };
        let room = fair_share.saturating_sub(held.len() as i64);
        let taken = store::take_free_leases(&mut tx, &instance.id, now, expires_at, room).await?;
        held.extend(taken);
        if !instance.shared {
            held.extend(store::renew_leases(&mut tx, &instance.id, expires_at).await?);
        }
        tx.commit().await?;

        for printer in self.supervisors().all() {
            if !held.contains(&printer.id) {
                // Another instance took it (this one was too slow to renew): it supervises
                // the printer now.
                tracing::warn!(printer = %printer.id, "printer lease lost to another instance");
                self.unsupervise(printer.id);
            }
        }
        let new: Vec<PrinterId> = held
            .iter()
            .copied()
            .filter(|id| self.supervisors().get(*id).is_none())
            .collect();
        if !new.is_empty() {
            if instance.shared && !self.supervisors().is_empty() {
                tracing::info!(printers = new.len(), "taking over printers");
            }
            self.start_supervisors(Some(&new)).await?;
        }
        let over = held.len() as i64 - fair_share;
        if instance.shared && over > 1 {
            self.hand_back(over).await?;
        }
        Ok(())
    }

    /// Gives back up to `count` idle printers' leases, so that instances with fewer printers
    /// take them.
    async fn hand_back(&self, count: i64) -> AppResult<()> {
        // Not while a dispatch pass may be starting a job on one of them.
        let _pass = self.inner.dispatch_pass.lock().await;
        let mut idle: Vec<PrinterId> = self
            .supervisors()
            .all()
            .into_iter()
            .filter(|printer| {
                let status = printer.status();
                let quiet = printer.track.try_lock().is_ok_and(|t| t.print.is_none());
                quiet
                    && matches!(status.state, PrinterState::Idle | PrinterState::Offline)
                    && !status.bed_clear_pending
            })
            .map(|printer| printer.id)
            .collect();
        idle.sort();
        idle.truncate(usize::try_from(count).unwrap_or(0));
        if idle.is_empty() {
            return Ok(());
        }
        for id in &idle {
            self.unsupervise(*id);
        }
        let mut tx = self.store().write().await?;
        store::release_leases(&mut tx, &self.instance().id, &idle).await?;
        tx.commit().await?;
        tracing::info!(printers = idle.len(), "gave printers to other instances");
        Ok(())
    }

    /// Stops supervising and gives up every lease, for other instances to take at once (the
    /// server stops).
    pub async fn stop_fleet(&self) -> AppResult<()> {
        self.supervisors().stop_all();
        let ttl = i64::try_from(self.settings().instances.lease_ttl.as_secs()).unwrap_or(20);
        let mut tx = self.store().write().await?;
        let forgotten_before = self.now().plus_seconds(-10 * ttl);
        store::remove_instance(&mut tx, &self.instance().id, forgotten_before).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes a printer's lease for this instance if nobody else holds it; answers whether
    /// this instance holds it. When another does, it is told to look at the printer again.
    pub(crate) async fn take_lease(&self, printer: PrinterId) -> AppResult<bool> {
        let ttl = i64::try_from(self.settings().instances.lease_ttl.as_secs()).unwrap_or(20);
        let now = self.now();
        let mut tx = self.store().write().await?;
        let id = &self.instance().id;
        let held = store::take_lease(&mut tx, printer, id, now, now.plus_seconds(ttl)).await?;
        tx.commit().await?;
        if !held {
            self.instance().send(|out| {
                out.resupervise.insert(printer);
            });
        }
        Ok(held)
    }

    /// Refuses to go on in `uow` unless this instance still holds the printer's lease, and
    /// keeps the lease until `uow` ends: the print recorded in it is then seen by whoever
    /// takes the printer over next, so no instance starts a second one.
    pub(crate) async fn fence<A>(
        &self,
        uow: &mut crate::unit_of_work::UnitOfWork<A>,
        printer: PrinterId,
    ) -> AppResult<()> {
        if store::lease_is_held(uow.tx(), printer, &self.instance().id).await? {
            return Ok(());
        }
        Err(crate::AppError::conflict(
            crate::ErrorCode::PrinterNotConnected,
            "another Farmhand instance took this printer over; try again",
        ))
    }

    /// Stops supervising a removed printer, here or on the instance that held it.
    pub(crate) fn printer_removed(&self, printer: PrinterId) {
        self.unsupervise(printer);
        self.instance().send(|out| {
            out.resupervise.insert(printer);
        });
    }

    /// Where to send a request about a printer another live instance supervises.
    pub(crate) async fn printer_elsewhere(&self, printer: PrinterId) -> AppResult<Option<String>> {
        let mut conn = self.store().read().await?;
        let holder = store::lease_holder(&mut conn, printer, self.now()).await?;
        Ok(holder
            .filter(|(instance, _)| *instance != self.instance().id)
            .map(|(_, address)| address))
    }

    async fn listen(&self, mut subscription: store::Subscription, stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let received = tokio::select! {
                received = subscription.recv() => received,
                () = tokio::time::sleep(Duration::from_secs(1)) => continue,
            };
            match received {
                Ok(notification) => match serde_json::from_str::<Envelope>(&notification.payload) {
                    Ok(envelope) if envelope.from != self.instance().id => {
                        self.receive(envelope.message).await;
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "unreadable message from an instance"),
                },
                // Some live states may have been missed: ask for them again.
                Err(store::MissedNotifications) => self.instance().send(|out| out.hello = true),
            }
        }
    }

    async fn receive(&self, message: Message) {
        match message {
            Message::Live { updates } => {
                for update in updates {
                    let id = update.status.printer_id;
                    if self.supervisors().get(id).is_some() {
                        // This instance supervises it now; the sender is behind.
                        continue;
                    }
                    self.supervisors().remote_update(update);
                }
            }
            Message::Resupervise { printer } => {
                if self.supervisors().get(printer).is_some()
                    && let Err(error) = self.start_supervisors(Some(&[printer])).await
                {
                    tracing::warn!(%printer, %error, "could not restart a printer's supervisor");
                }
            }
            Message::Hello => {
                let statuses: Vec<LiveUpdate> = self
                    .supervisors()
                    .all()
                    .iter()
                    .map(|printer| LiveUpdate {
                        org: printer.org,
                        status: printer.status(),
                    })
                    .collect();
                self.instance().send(|out| {
                    for update in statuses {
                        out.live.insert(update.status.printer_id, update);
                    }
                });
            }
            Message::Wake => self.inner.dispatch_wake.notify_one(),
        }
    }

    /// Sends what this instance has to tell the others, a few at a time.
    async fn send_outgoing(&self, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return,
                () = self.instance().outgoing_ready.notified() => {}
            }
            tokio::time::sleep(SEND_COALESCE).await;
            let outgoing = std::mem::take(&mut *lock(&self.instance().outgoing));
            if outgoing.is_empty() {
                continue;
            }
            if let Err(error) = send(self.store(), &self.instance().id, outgoing).await {
                tracing::warn!(%error, "could not tell the other instances");
            }
        }
    }
}

/// Sends `outgoing` as messages that each fit a notification.
async fn send(store: &Store, from: &str, outgoing: Outgoing) -> AppResult<()> {
    let mut messages = Vec::new();
    if outgoing.hello {
        messages.push(Message::Hello);
    }
    if outgoing.wake {
        messages.push(Message::Wake);
    }
    messages.extend(
        outgoing
            .resupervise
            .into_iter()
            .map(|printer| Message::Resupervise { printer }),
    );
    let mut payloads: Vec<String> = messages
        .into_iter()
        .map(|message| {
            serde_json::to_string(&Envelope {
                from: from.to_string(),
                message,
            })
        })
        .collect::<Result<_, _>>()
        .map_err(crate::AppError::internal)?;
    // Each update is written once; a message holds as many as fit.
    let head = format!(
        r#"{{"from":{},"kind":"live","updates":["#,
        serde_json::json!(from)
    );
    let mut batch = String::new();
    for update in outgoing.live.into_values() {
        let update = serde_json::to_string(&update).map_err(crate::AppError::internal)?;
        if !batch.is_empty()
            && head.len() + batch.len() + update.len() + 3 > store::MAX_NOTIFICATION_PAYLOAD
        {
            payloads.push(format!("{head}{batch}]}}"));
            batch.clear();
        }
        if !batch.is_empty() {
            batch.push(',');
        }
        batch.push_str(&update);
    }
    if !batch.is_empty() {
        payloads.push(format!("{head}{batch}]}}"));
    }
    let mut tx = store.write().await?;
    for payload in payloads {
        if payload.len() <= store::MAX_NOTIFICATION_PAYLOAD {
            Store::notify(&mut tx, CHANNEL, &payload).await?;
        } else {
            tracing::warn!(
                bytes = payload.len(),
                "a printer's live state is too large to share"
            );
        }
    }
    tx.commit().await?;
    Ok(())
}
