//! The Farmhand binary's library: configuration and wiring, so that tests start the real
//! server exactly as `farmhand serve` does.

pub mod config;
pub mod gcode_cmd;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use app::{App, PasswordHasher};
use domain::{Clock, SystemClock};
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::Config;

/// What tests may swap out: the clock and the cost of password hashing.
pub struct ServerOptions {
    pub clock: Arc<dyn Clock>,
    pub hasher: PasswordHasher,
}

impl ServerOptions {
    pub fn production() -> anyhow::Result<ServerOptions> {
        Ok(ServerOptions {
            clock: Arc::new(SystemClock),
            hasher: PasswordHasher::standard()?,
        })
    }
}

/// Opens the configured database, running migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database()?;
    let store = Store::open(&url, &config.store_options()).await?;
    tracing::info!(backend = %store.backend(), database = %url.redacted(), "database ready");
    Ok(store)
}

pub fn build_app(store: Store, config: &Config, options: ServerOptions) -> anyhow::Result<App> {
    let staging = config.staging_dir();
    app::prepare_staging_dir(&staging)
        .with_context(|| format!("cannot prepare the upload directory {}", staging.display()))?;
    Ok(App::new(
        store,
        options.clock,
        options.hasher,
        config.app_settings()?,
        config.load_vault()?,
    ))
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    app: App,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    /// This instance's part of the fleet; it gives its printers up when it ends.
    instance: JoinHandle<()>,
    /// The slicing pool; slices it was running go back to the queue when it ends.
    slicer: JoinHandle<()>,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and serves until [`Server::stop`].
    pub async fn start(config: &Config, app: App) -> anyhow::Result<Server> {
        let router = web::router(
            app.clone(),
            web::WebSettings {
                secure_cookies: config.secure_cookies,
                trust_forwarded_for: config.trust_forwarded_for,
                metrics: app::MetricsAccess::new(config.metrics_public, &config.metrics_token),
            },
        )
        .map_err(|e| anyhow::anyhow!("API routes are misdeclared: {e}"))?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let (shutdown, mut signal) = watch::channel(false);
        // The printers' supervisors run inside the server process, for the printers whose
        // leases this instance holds; with thousands of printers setting them up takes
        // seconds, so the server answers meanwhile.
        let instance_app = app.clone();
        let instance_stop = shutdown.subscribe();
        let address = config.instance_address(addr);
        let instance = tokio::spawn(async move {
            instance_app.run_instance(address, instance_stop).await;
        });
        // The dispatcher sends queued jobs to free printers until the server stops.
        let dispatch_app = app.clone();
        let dispatch_stop = shutdown.subscribe();
        tokio::spawn(async move { dispatch_app.run_dispatcher(dispatch_stop).await });
        // The slicing pool slices queued models until the server stops.
        let slicer_app = app.clone();
        let slicer_stop = shutdown.subscribe();
        let slicer = tokio::spawn(async move { slicer_app.run_slicer(slicer_stop).await });
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = signal.wait_for(|stop| *stop).await;
                })
                .await
        });
        Ok(Server {
            addr,
            app,
            shutdown,
            task,
            instance,
            slicer,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops accepting, lets requests in flight finish, and closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await??;
        // Its printers' leases are given up, for other instances to take at once.
        let _ = self.instance.await;
        // Slices being sliced go back to the queue.
        let _ = self.slicer.await;
        self.app.store().close().await;
        Ok(())
    }

    /// Serves until the task ends (it only ends on error or after `stop`).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        let _ = self.instance.await;
        let _ = self.slicer.await;
        Ok(())
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}
