//! `farmhand`: the server and its administrative commands.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use domain::OrgId;
use domain::audit::Chain;
use farmhand::config::{Config, DEFAULT_CONFIG_TOML, FlagOverrides};
use farmhand::{Server, ServerOptions, build_app, open_store};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "farmhand",
    version,
    about = "Share a fleet of 3D printers safely."
)]
struct Cli {
    /// Configuration file (TOML). Also FARMHAND_CONFIG.
    #[arg(long, global = true, env = "FARMHAND_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (postgres://… or sqlite://PATH); default: SQLite in the data directory.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Data directory.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Create a demo organization (once) and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Administrative commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Copy a live SQLite database to a new file.
    Backup {
        /// The file to create.
        #[arg(long)]
        to: PathBuf,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// G-code files.
    Gcode {
        #[command(subcommand)]
        command: GcodeCommand,
    },
}

#[derive(Subcommand)]
enum GcodeCommand {
    /// Estimate print time, filament, layers and size of a G-code file, and read its slicer
    /// metadata.
    Analyze {
        file: PathBuf,
        /// Printer profile (TOML) whose keys override the built-in defaults.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Print the whole analysis as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organization and its owner; prints the owner's one-time password.
    CreateOrg {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        /// The owner's display name, if the account is new.
        #[arg(long)]
        owner_name: Option<String>,
        /// The ranks to start with: farmhand, 3dprinteros, printandgo or ultimaker.
        #[arg(long, default_value = "farmhand", value_parser = parse_preset)]
        preset: authz::Preset,
    },
    /// Give a user a new one-time password and sign them out everywhere.
    ResetPassword {
        /// The user's email.
        email: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the documented default configuration.
    Default,
    /// Print the effective configuration after all layers (passwords redacted).
    Show,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chains and name the first broken event.
    Verify {
        /// Only this organization's chain.
        #[arg(long)]
        org: Option<OrgId>,
    },
    /// Print audit events as CSV, newest first: the server's own chain (sign-ins, failed and
    /// throttled sign-ins, password resets), or an organization's with --org.
    List {
        /// An organization's chain instead of the server's.
        #[arg(long)]
        org: Option<OrgId>,
        /// Only this action, e.g. auth.sign_in_failed.
        #[arg(long)]
        action: Option<String>,
        /// How many events, newest first.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
    },
}

fn parse_preset(key: &str) -> Result<authz::Preset, String> {
    authz::Preset::parse(key).ok_or_else(|| {
        let known: Vec<_> = authz::Preset::ALL
            .iter()
            .filter(|p| p.has_owner())
            .map(|p| p.key())
            .collect();
        format!("unknown preset {key:?}; choose one of {}", known.join(", "))
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let listen = match &cli.command {
        Command::Serve { listen, .. } => *listen,
        _ => None,
    };
    let flags = FlagOverrides {
        listen,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    if let Command::Config {
        command: ConfigCommand::Default,
    } = cli.command
    {
        print!("{DEFAULT_CONFIG_TOML}");
        return Ok(ExitCode::SUCCESS);
    }
    // G-code analysis needs neither configuration nor database.
    if let Command::Gcode {
        command:
            GcodeCommand::Analyze {
                file,
                profile,
                json,
            },
    } = &cli.command
    {
        farmhand::gcode_cmd::analyze(file, profile.as_deref(), *json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::load(cli.config.as_deref(), &flags)?;
    init_logging(&config);

    match cli.command {
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            let mut shown = config.clone();
            if let Ok(url) = store::DatabaseUrl::parse(&shown.database_url) {
                shown.database_url = url.redacted();
            }
            print!("{}", toml::to_string_pretty(&shown)?);
        }
        // Both were handled before the configuration was loaded.
        Command::Config {
            command: ConfigCommand::Default,
        }
        | Command::Gcode { .. } => {}
        Command::Serve { demo, .. } => serve(&config, demo).await?,
        Command::Admin { command } => {
            let app = build_app(
                open_store(&config).await?,
                &config,
                ServerOptions::production()?,
            )?;
            match command {
                AdminCommand::CreateOrg {
                    name,
                    owner_email,
                    owner_name,
                    preset,
                } => {
                    let created = app
                        .console()
                        .create_org(&name, &owner_email, owner_name.as_deref(), preset)
                        .await?;
                    println!(
                        "Created organization {:?} (id {}).",
                        created.org.name, created.org.id
                    );
                    match created.one_time_password {
                        Some(password) => println!(
                            "Owner {owner_email}: one-time password {password}\n(they must choose a new one at first sign-in)"
                        ),
                        None => println!(
                            "Owner {owner_email} already had an account; they sign in as usual."
                        ),
                    }
                }
                AdminCommand::ResetPassword { email } => {
                    let password = app.console().reset_password(&email).await?;
                    println!(
                        "New one-time password for {email}: {password}\n(all their sessions were signed out)"
                    );
                }
            }
        }
        Command::Backup { to } => {
            let store = open_store(&config).await?;
            let started = Instant::now();
            store.backup_sqlite(&to).await?;
            let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            println!(
                "Backed up to {} ({size} bytes) in {:.2?}.",
                to.display(),
                started.elapsed()
            );
        }
        Command::Audit {
            command: AuditCommand::List { org, action, limit },
        } => {
            let store = open_store(&config).await?;
            let chain = org.map_or(Chain::Instance, Chain::Org);
            let filter = store::AuditFilter {
                action,
                ..store::AuditFilter::default()
            };
            let page = {
                let mut conn = store.read().await?;
                store::list_audit(&mut conn, chain, &filter, None, limit).await?
            };
            let mut out = csv::Writer::from_writer(std::io::stdout().lock());
            out.write_record(app::AUDIT_CSV_HEADER)?;
            for event in &page.events {
                app::write_audit_csv(&mut out, event)?;
            }
            out.flush()?;
        }
        Command::Audit {
            command: AuditCommand::Verify { org },
        } => {
            let store = open_store(&config).await?;
            let reports = store::verify_audit(&store, org.map(Chain::Org)).await?;
            let mut broken = false;
            for report in reports {
                let name = match report.chain {
                    Chain::Instance => "instance chain".to_string(),
                    Chain::Org(org) => format!("organization {org}"),
                };
                match report.result {
                    Ok(count) => println!("{name}: intact ({count} events)"),
                    Err(error) => {
                        broken = true;
                        println!("{name}: BROKEN at {error}");
                    }
                }
            }
            if broken {
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = open_store(config).await?;
    let app = build_app(store, config, ServerOptions::production()?)?;
    let demo_info = if demo {
        Some(
            app.console()
                .ensure_demo()
                .await
                .context("cannot create the demo data")?,
        )
    } else {
        None
    };
    let server = Server::start(config, app).await?;
    tracing::info!(addr = %server.addr(), elapsed_ms = started.elapsed().as_millis() as u64, "farmhand is listening");
    println!(
        "Farmhand is listening on http://{} (ready in {:.0?})",
        server.addr(),
        started.elapsed()
    );
    if let Some(info) = demo_info {
        let state = if info.created {
            "created"
        } else {
            "already present"
        };
        println!(
            "\nDemo organization {} (id {}) {state}. Sign in with any of:",
            app::demo::DEMO_ORG_NAME,
            info.org
        );
        for (rank, email) in &info.accounts {
            println!("  {rank:<9} {email}");
        }
        println!("Password for all demo accounts: {}", info.password);
        println!(
            "  curl -c cookies -H 'content-type: application/json' -d '{{\"email\":\"{}\",\"password\":\"{}\"}}' http://{}/api/v1/auth/sign-in",
            info.accounts[0].1,
            info.password,
            server.addr()
        );
    }
    let stopper = server.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stopper.send(true);
    });
    server.wait().await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
