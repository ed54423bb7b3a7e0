//! Prometheus metrics: the recorder behind the `metrics` macros the shell calls, the
//! numbers the use cases expose (`app::tally`, set at each scrape), and
//! the text of every series (`http::health::metrics` serves it on the internal listener,
//! on the public one only with `server.public_metrics`).
//!
//! Series (all prefixed `regauth_`): `token_requests_total{outcome,credential}`,
//! `token_request_duration_seconds` (histogram), `password_checks_total{result}` (argon2
//! runs), `password_checks_running` / `password_checks_waiting` (the pool),
//! `rate_limited_total`, `notification_events_total{outcome}`,
//! `directory_errors_total`, `directory_query_duration_seconds{engine,kind}` (histogram:
//! reads and changes, waits for a connection included), `audit_records_total`, `audit_records_dropped_total`,
//! `signing_key_not_after_seconds{kid}` (the signing certificate's notAfter),
//! `build_info{version}`; beside a Synapse, `synapse_calls_total{endpoint}`,
//! `synapse_failures_total{endpoint,why}` and `synapse_cache_total{endpoint,result}`
//! (hit or miss).

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::tally::AuthTally;

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

/// What the use cases counted and hold, sampled at a scrape: they name no metric.
pub struct AppCounts<'a> {
    /// Password checks running and waiting in the pool.
    pub running: usize,
    pub waiting: usize,
    pub auth: &'a AuthTally,
    /// Batches of push and delete grants written.
    pub grant_writes: u64,
    /// The key this server signs with (the `kid` its tokens carry) and its certificate's notAfter in
    /// Unix seconds: keys are loaded once, at start, before the recorder exists, so the
    /// gauge is set at each scrape.
    pub signing_key: Option<(&'a str, u64)>,
}

/// Every series in Prometheus's text format, the use cases' numbers set first.
pub fn render(handle: &PrometheusHandle, counts: &AppCounts<'_>) -> String {
    metrics::gauge!("regauth_password_checks_running").set(counts.running as f64);
    metrics::gauge!("regauth_password_checks_waiting").set(counts.waiting as f64);
    let auth = counts.auth;
    for (result, tally) in [
        ("match", &auth.password_match),
        ("mismatch", &auth.password_mismatch),
        ("no_user", &auth.password_no_user),
    ] {
        let n = tally.get();
        if n > 0 {
            metrics::counter!("regauth_password_checks_total", "result" => result).absolute(n);
        }
    }
    let limited = auth.rate_limited.get();
    if limited > 0 {
        metrics::counter!("regauth_rate_limited_total").absolute(limited);
    }
    if counts.grant_writes > 0 {
        metrics::counter!("regauth_push_grant_writes_total").absolute(counts.grant_writes);
    }
    if let Some((kid, not_after)) = counts.signing_key {
        metrics::gauge!("regauth_signing_key_not_after_seconds", "kid" => kid.to_string())
            .set(not_after as f64);
    }
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_signing_key_is_exported_with_its_certificate_end() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let auth = AuthTally::default();
        let counts = AppCounts {
            running: 0,
            waiting: 0,
            auth: &auth,
            grant_writes: 0,
            signing_key: Some(("TEST:SIGNING:KID", 1_900_000_000)),
        };
        let text = metrics::with_local_recorder(&recorder, || render(&handle, &counts));
        assert!(
            text.lines().any(|l| l
                == r#"regauth_signing_key_not_after_seconds{kid="TEST:SIGNING:KID"} 1900000000"#),
            "{text}"
        );
    }
}
