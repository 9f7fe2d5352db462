//! What Farmhand exposes to Prometheus (`/metrics`, text format 0.0.4): printers by state per
//! site, jobs in the queue by state, the dispatcher's latency from a job becoming dispatchable
//! to its print starting, and driver errors by kind. Gauges are read at scrape time from the
//! live fleet and the database; the histogram and the counters are kept in memory since the
//! server started.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use domain::PrinterState;

use crate::App;
use crate::error::AppResult;

/// Upper bounds of the dispatch latency histogram's buckets, in seconds.
const LATENCY_BUCKETS_S: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The in-memory metrics.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    driver_errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// A job started printing `seconds` after it became dispatchable.
    pub(crate) fn observe_dispatch_latency(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        // Whole microseconds: a sum in seconds is rebuilt when rendered.
        let micros = (seconds * 1e6).round() as u64;
        self.latency_sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// A driver call failed with an error of this kind.
    pub(crate) fn count_driver_error(&self, error: &printers::DriverError) {
        use printers::DriverError as E;
        let kind = match error {
            E::Unreachable(_) => "unreachable",
            E::Timeout(_) => "timeout",
            E::Unauthorized => "unauthorized",
            E::Refused(_) => "refused",
            E::Protocol(_) => "protocol",
            E::Config(_) => "config",
            E::LocalFile(_) => "local_file",
        };
        let mut counts = self
            .driver_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts.entry(kind).or_default() += 1;
    }

    fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP farmhand_dispatch_latency_seconds From a job becoming dispatchable to its \
             print starting.\n# TYPE farmhand_dispatch_latency_seconds histogram\n",
        );
        for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(&self.latency_buckets) {
            let count = bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "farmhand_dispatch_latency_seconds_bucket{{le=\"{bound}\"}} {count}"
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "farmhand_dispatch_latency_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             farmhand_dispatch_latency_seconds_sum {sum}\n\
             farmhand_dispatch_latency_seconds_count {count}"
        );
        out.push_str(
            "# HELP farmhand_driver_errors_total Failed calls to printers, by kind.\n\
             # TYPE farmhand_driver_errors_total counter\n",
        );
        let counts = self
            .driver_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (kind, count) in counts.iter() {
            let _ = writeln!(
                out,
                "farmhand_driver_errors_total{{kind=\"{kind}\"}} {count}"
            );
        }
    }
}

impl App {
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Every metric in Prometheus's text format.
    pub async fn metrics_text(&self) -> AppResult<String> {
        let mut out = String::new();
        self.render_printers(&mut out).await?;
        self.render_jobs(&mut out).await?;
        let _ = write!(
            out,
            "# HELP farmhand_instance_leases_held Printer leases this instance holds (the printers it supervises).\n\
             # TYPE farmhand_instance_leases_held gauge\n\
             farmhand_instance_leases_held {}\n",
            self.supervisors().len()
        );
        self.metrics().render(&mut out);
        Ok(out)
    }

    async fn render_printers(&self, out: &mut String) -> AppResult<()> {
        let mut by_place: BTreeMap<(i64, i64, &'static str), u64> = BTreeMap::new();
        let mut policies = std::collections::HashMap::new();
        for printer in self.supervisors().all() {
            let policy = match policies.get(&printer.org) {
                Some(policy) => std::sync::Arc::clone(policy),
                None => {
                    let policy = self.current_policy(printer.org).await?;
                    policies.insert(printer.org, std::sync::Arc::clone(&policy));
                    policy
                }
            };
            let Some(ix) = policy.printer_ix(printer.id) else {
                continue;
            };
            let site = policy.printer(ix).site;
            let state: PrinterState = printer.status().state;
            *by_place
                .entry((printer.org.get(), site.get(), state.as_str()))
                .or_default() += 1;
        }
        out.push_str(
            "# HELP farmhand_printers Supervised printers by organization, site and live state.\n\
             # TYPE farmhand_printers gauge\n",
        );
        for ((org, site, state), count) in by_place {
            let _ = writeln!(
                out,
                "farmhand_printers{{org_id=\"{org}\",site_id=\"{site}\",state=\"{state}\"}} {count}"
            );
        }
        Ok(())
    }

    async fn render_jobs(&self, out: &mut String) -> AppResult<()> {
        let depth = {
            let mut conn = self.store().read().await?;
            store::queue_depth(&mut conn).await?
        };
        out.push_str(
            "# HELP farmhand_jobs Jobs in the queue (not finished) by organization and state.\n\
             # TYPE farmhand_jobs gauge\n",
        );
        for (org, state, count) in depth {
            let _ = writeln!(
                out,
                "farmhand_jobs{{org_id=\"{org}\",state=\"{}\"}} {count}",
                state.key()
            );
        }
        Ok(())
    }
}

/// Who may read the metrics: anyone when the server is configured so, otherwise whoever sends
/// the configured token (only its hash is kept); with neither, nobody.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    public: bool,
    token_hash: Option<String>,
}

/// What a request for the metrics gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsDecision {
    /// Neither public nor a token is configured: the endpoint is off.
    Off,
    Allowed,
    /// A token is configured and the request did not send it.
    Refused,
}

impl MetricsAccess {
    pub fn new(public: bool, token: &str) -> MetricsAccess {
        MetricsAccess {
            public,
            token_hash: (!token.is_empty()).then(|| crate::identity::hash_secret(token)),
        }
    }

    /// `bearer`: the token the request sent, if any.
    pub fn decide(&self, bearer: Option<&str>) -> MetricsDecision {
        if self.public {
            return MetricsDecision::Allowed;
        }
        match &self.token_hash {
            None => MetricsDecision::Off,
            // Hashes compared, not secrets: timing says nothing about the token.
            Some(hash) if bearer.is_some_and(|t| crate::identity::hash_secret(t) == *hash) => {
                MetricsDecision::Allowed
            }
            Some(_) => MetricsDecision::Refused,
        }
    }
}
