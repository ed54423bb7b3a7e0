//! Prometheus metrics: the recorder behind the `metrics` macros the use cases call, and
//! the text of every series (`http::health::metrics` serves it on the internal listener,
//! on the public one only with `server.public_metrics`).
//!
//! Series (all prefixed `regauth_`): `token_requests_total{outcome,credential}`,
//! `token_request_duration_seconds` (histogram), `password_checks_total{result}` (argon2
//! runs), `password_checks_running` / `password_checks_waiting` (the pool),
//! `rate_limited_total`, `notification_events_total{outcome}`,
//! `directory_errors_total`, `audit_records_total`, `build_info{version}`; beside a
//! Synapse, `synapse_calls_total{endpoint}`, `synapse_failures_total{endpoint,why}` and
//! `synapse_cache_total{endpoint,result}` (hit or miss).

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// How often the recorder's upkeep runs. The exporter keeps every histogram sample
/// until upkeep (or a scrape) folds it into the buckets: without it, a server nobody
/// scrapes grows by 8 bytes and more per token request, forever.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the process-wide recorder once, with its upkeep thread; later calls (tests
/// start several servers in one process only through the binary, so this is once per
/// process) return `None`.
pub fn install() -> Option<PrometheusHandle> {
    install_with_upkeep(UPKEEP_EVERY)
}

/// [`install`] with the upkeep at another period (the bounds test runs it faster).
pub fn install_with_upkeep(every: Duration) -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration_seconds".into()),
            &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ],
        )
        .ok()?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok()?;
    metrics::gauge!("regauth_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let upkeep = handle.clone();
    let started = std::thread::Builder::new()
        .name("regauth-metrics".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            upkeep.run_upkeep();
        });
    if let Err(e) = started {
        // Scrapes still drain the samples; without them memory grows with traffic.
        tracing::error!(error = %e, "cannot start the metrics upkeep thread");
    }
    Some(handle)
}

/// Every series in Prometheus's text format, with the password pool's gauges set to
/// `running` and `waiting` first (sampled by the caller at the scrape).
pub fn render(handle: &PrometheusHandle, running: usize, waiting: usize) -> String {
    metrics::gauge!("regauth_password_checks_running").set(running as f64);
    metrics::gauge!("regauth_password_checks_waiting").set(waiting as f64);
    handle.render()
}
