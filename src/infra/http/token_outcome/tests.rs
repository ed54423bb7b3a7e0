//! The log line's label and the counters of token requests, without a server.

use super::*;
use crate::app::issue_token::Issued;
use crate::domain::authn::Refused;
use crate::domain::ports::SignedToken;

fn grant(anonymous: bool, credential: &'static str) -> TokenGrant {
    TokenGrant {
        signed: SignedToken {
            token: "t".into(),
            expires_in: 300,
            issued_at: "2026-11-22T14:23:00Z".into(),
            jti: "j".into(),
        },
        refresh_token: None,
        scope: None,
        report: Issued {
            subject: if anonymous { "" } else { "alice" }.into(),
            credential,
            anonymous,
            requested: vec![],
            granted: vec![],
            denied: vec![],
            ignored: vec![],
        },
    }
}

fn meta(grant: &'static str) -> RequestMeta {
    RequestMeta {
        grant,
        ..RequestMeta::default()
    }
}

/// The token-request counters `f` moved, as Prometheus text (a recorder of this thread
/// only: tests run in parallel).
fn counted(f: impl FnOnce()) -> String {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, f);
    handle
        .render()
        .lines()
        .filter(|l| l.starts_with("regauth_token_requests_total{"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_get_without_credentials_is_labelled_anonymous_and_one_with_them_basic() {
    // The label names the request in metrics and the log; a GET starts as `basic` and
    // becomes `anonymous` only when no user was authenticated.
    let cases = [
        (true, "basic", "anonymous"),
        (false, "basic", "basic"),
        (false, "password", "password"),
    ];
    for (anonymous, start, end) in cases {
        let g = grant(anonymous, if anonymous { "anonymous" } else { "password" });
        assert_eq!(grant_label(&meta(start), &g), end, "{start}");
    }
}

#[test]
fn a_refusal_is_counted_once_and_an_issue_by_its_credential() {
    let text = counted(|| {
        let answer = refused(
            &meta("basic"),
            &IssueError::Unauthorized(Refused("wrong password")),
            "realm",
        );
        assert_eq!(answer.status.as_u16(), 401);
        assert_eq!(
            answer.message, INVALID_CREDENTIALS,
            "the cause stays in the log"
        );
    });
    assert_eq!(
        text,
        "regauth_token_requests_total{outcome=\"unauthorized\",credential=\"basic\"} 1\n"
    );
    let text = counted(|| issued(&meta("basic"), &grant(false, "password")));
    assert_eq!(
        text,
        "regauth_token_requests_total{outcome=\"issued\",credential=\"password\"} 1\n"
    );
}

#[test]
fn each_refusal_maps_to_its_status() {
    let realm = "realm";
    let limited = crate::app::rate_limit::Limited {
        retry_after: std::time::Duration::from_millis(1500),
    };
    let cases: Vec<(IssueError, u16)> = vec![
        (IssueError::BadRequest("unknown service".into()), 400),
        (IssueError::Unauthorized(Refused("unknown user")), 401),
        (
            IssueError::Rejected(crate::domain::ports::RemoteRefusal::Locked),
            401,
        ),
        (
            IssueError::Directory(DirectoryError::Backend("down".into())),
            503,
        ),
        (IssueError::Busy, 503),
        (IssueError::Limited(limited), 429),
        (
            IssueError::Directory(DirectoryError::Invalid("x".into())),
            500,
        ),
    ];
    for (error, status) in cases {
        let answer = refused(&meta("password"), &error, realm);
        assert_eq!(answer.status.as_u16(), status, "{error}");
    }
}

#[test]
fn refusals_are_counted_by_outcome() {
    let meta = meta("password");
    let text = counted(|| {
        for status in [400, 401, 408, 413, 429, 503, 500] {
            let status = actix_web::http::StatusCode::from_u16(status).unwrap();
            refused_early(
                &meta,
                HttpError::new(status, ErrorCode::InvalidRequest, "why"),
            );
        }
    });
    for outcome in [
        "bad_request",
        "unauthorized",
        "timeout",
        "too_large",
        "rate_limited",
        "busy",
        "error",
    ] {
        let line = format!(
            "regauth_token_requests_total{{outcome=\"{outcome}\",credential=\"password\"}} 1"
        );
        assert!(text.contains(&line), "{line} in\n{text}");
    }
}
