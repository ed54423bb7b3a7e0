//! The token endpoint on the wire: `GET /token` (Docker token spec) and `POST /token`
//! (OAuth2 form). Checks the service, parses parameters into a `TokenRequest`, runs the
//! use case (`app::issue_token`) on the event loop and, only when it must, once on the
//! blocking pool, and renders the answer; `token_outcome` logs and counts it.

use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::credential;
use super::token_outcome::{self, RequestMeta};
use crate::app::issue_token::{Credential, IssueError, TokenGrant, TokenRequest};
use crate::domain::authn::secret::recorded_login;
use crate::domain::ports::Pace;
use crate::infra::front::body;
use crate::infra::front::client_ip::client_ip;
use crate::infra::front::errors::{ErrorCode, HttpError};
use crate::infra::front::form::Params;
use crate::infra::front::AppState;

/// `GET /token?service=S&scope=A&scope=B&account=U&offline_token=true&client_id=C`.
pub async fn get_token(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let params = Params::parse(req.query_string().as_bytes());
    let client_id = params.owned("client_id").unwrap_or_default();
    let address = client_ip(&req, &state.settings.server.trusted_proxies);
    let mut meta = RequestMeta {
        http_method: "GET",
        grant: "basic",
        client_id: client_id.clone(),
        account: recorded_login(params.get("account").unwrap_or_default()).into_owned(),
        service: None,
        client_ip: Some(address),
    };
    let service = match state.tokens.service(params.get("service")) {
        Ok(s) => s,
        Err(e) => return Err(token_outcome::refused(&meta, &e, state.realm())),
    };
    meta.service = Some(service.clone());
    let offline = params
        .get("offline_token")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let request = TokenRequest {
        service,
        credential: credential(&req),
        scopes: params.all("scope"),
        refresh_for_client: offline.then(|| client_id.clone()),
        client_id,
        client_ip: Some(address),
        oauth: false,
    };
    issue(&state, meta, request).await
}

/// `POST /token` with an OAuth2 form: `grant_type=password|refresh_token`. The form
/// is read only once its content type is right, at most 64 KiB within
/// `server.body_timeout`.
pub async fn post_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let address = client_ip(&req, &state.settings.server.trusted_proxies);
    let early_meta = || RequestMeta {
        http_method: "POST",
        grant: "unknown",
        client_ip: Some(address),
        ..RequestMeta::default()
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        let e = bad_request("POST /token takes an application/x-www-form-urlencoded OAuth2 form");
        return Err(token_outcome::refused_early(&early_meta(), e));
    }
    let timeout = state.settings.server.body_timeout;
    let body = match body::read(&req, payload, body::TOKEN_FORM_LIMIT, timeout).await {
        Ok(b) => b,
        Err(e) => return Err(token_outcome::refused_early(&early_meta(), e)),
    };
    let params = Params::parse(&body);
    let mut meta = RequestMeta {
        http_method: "POST",
        grant: "unknown",
        client_id: params.owned("client_id").unwrap_or_default(),
        account: recorded_login(params.get("username").unwrap_or_default()).into_owned(),
        service: None,
        client_ip: Some(address),
    };
    let request = match oauth_request(&state, &params, &mut meta) {
        Ok(r) => r,
        Err(e) => return Err(token_outcome::refused_early(&meta, e)),
    };
    issue(&state, meta, request).await
}

/// RFC 8693: a workload trades its OIDC token for a registry token.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// The OAuth2 form as a token request; what is malformed is a 400 naming the field.
fn oauth_request(
    state: &AppState,
    params: &Params,
    meta: &mut RequestMeta,
) -> Result<TokenRequest, HttpError> {
    let service = state
        .tokens
        .service(params.get("service"))
        .map_err(|e| bad_request(e.to_string()))?;
    meta.service = Some(service.clone());
    // A token exchange needs no client id (RFC 8693); the docker clients always send one.
    let client_id = match params.owned("client_id") {
        Some(id) => id,
        None if params.get("grant_type") == Some(TOKEN_EXCHANGE) => "token-exchange".into(),
        None => return Err(bad_request("client_id is required")),
    };
    let (credential, refresh_for_client) = match params.get("grant_type") {
        Some("password") => {
            meta.grant = "password";
            let (Some(user), Some(secret)) = (params.owned("username"), params.owned("password"))
            else {
                return Err(bad_request(
                    "grant_type=password needs username and password",
                ));
            };
            let offline = params.get("access_type") == Some("offline");
            (
                Credential::basic(user, secret),
                offline.then(|| client_id.clone()),
            )
        }
        Some(TOKEN_EXCHANGE) => {
            meta.grant = "token_exchange";
            let token = params
                .owned("subject_token")
                .ok_or_else(|| bad_request("token exchange needs subject_token"))?;
            match params.get("subject_token_type") {
                Some(JWT_TYPE | ID_TOKEN_TYPE) => {}
                _ => {
                    return Err(bad_request(format!(
                        "token exchange takes subject_token_type {JWT_TYPE} or {ID_TOKEN_TYPE}"
                    )))
                }
            }
            (Credential::Workload { token }, None)
        }
        Some("refresh_token") => {
            meta.grant = "refresh_token";
            let token = params
                .owned("refresh_token")
                .ok_or_else(|| bad_request("grant_type=refresh_token needs refresh_token"))?;
            (Credential::Refresh { token }, None)
        }
        Some(other) => {
            return Err(bad_request(format!(
                "unsupported grant_type {:?}",
                other.chars().take(64).collect::<String>()
            )))
        }
        None => return Err(bad_request("grant_type is required")),
    };
    Ok(TokenRequest {
        service,
        credential,
        scopes: params.all("scope"),
        refresh_for_client,
        client_id,
        client_ip: meta.client_ip,
        oauth: true,
    })
}

/// A malformed token request: OAuth2's `invalid_request`, in the errcode body.
fn bad_request(message: impl Into<String>) -> HttpError {
    HttpError::bad_request(ErrorCode::InvalidRequest, message)
}

/// Runs the use case on the event loop first (a warm server answers most requests
/// from what is cached), on the blocking pool only when it says `WouldBlock` (a
/// password check, a write, a directory across the network), and renders the outcome.
async fn issue(
    state: &web::Data<AppState>,
    meta: RequestMeta,
    request: TokenRequest,
) -> Result<HttpResponse, HttpError> {
    let started = Instant::now();
    let outcome = match state.tokens.issue(&request, Pace::Inline) {
        Err(e) if e.would_block() => match off_the_loop(state, request).await {
            Ok(answered) => answered,
            Err(e) => return Err(token_outcome::refused_early(&meta, e)),
        },
        answered => answered,
    };
    metrics::histogram!("regauth_token_request_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    match outcome {
        Ok(grant) => {
            token_outcome::issued(&meta, &grant);
            render(grant)
        }
        Err(e) => Err(token_outcome::refused(&meta, &e, state.realm())),
    }
}

/// The request again on the blocking pool, within the credential authority's own
/// deadline when it has one (the work left behind ends at its calls' timeouts).
async fn off_the_loop(
    state: &web::Data<AppState>,
    request: TokenRequest,
) -> Result<Result<TokenGrant, IssueError>, HttpError> {
    let st = state.clone();
    let blocked = web::block(move || st.tokens.issue(&request, Pace::MayBlock));
    let answered = match state.tokens.request_deadline() {
        Some(deadline) => actix_web::rt::time::timeout(deadline, blocked)
            .await
            .map_err(|_| {
                metrics::counter!("regauth_synapse_failures_total", "endpoint" => "token_request", "why" => "deadline")
                    .increment(1);
                HttpError::busy("the identity provider did not answer in time, try again shortly", 2)
            })?,
        None => blocked.await,
    };
    answered.map_err(|e| {
        tracing::error!(error = %e, "blocking pool failed");
        HttpError::internal()
    })
}

fn render(grant: TokenGrant) -> Result<HttpResponse, HttpError> {
    let body = response_body(&grant).map_err(|e| {
        tracing::error!(error = %e, "cannot write the token answer");
        HttpError::internal()
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .content_type("application/json")
        .body(body))
}

/// `{"token","access_token","expires_in","issued_at"[,"refresh_token"][,"scope"]}`,
/// written into one buffer: the JWT (twice, for both spec names) is base64url and dots,
/// so it is copied as it is; serde_json writes the rest, escaping what needs it.
/// serde_json spent 4% of a request checking the JWT's bytes for escapes.
fn response_body(grant: &TokenGrant) -> serde_json::Result<Vec<u8>> {
    let token = grant.signed.token.as_bytes();
    debug_assert!(token
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b)));
    let mut body = Vec::with_capacity(2 * token.len() + 160);
    body.extend_from_slice(b"{\"token\":\"");
    body.extend_from_slice(token);
    body.extend_from_slice(b"\",\"access_token\":\"");
    body.extend_from_slice(token);
    body.extend_from_slice(b"\",\"expires_in\":");
    serde_json::to_writer(&mut body, &grant.signed.expires_in)?;
    body.extend_from_slice(b",\"issued_at\":");
    serde_json::to_writer(&mut body, &grant.signed.issued_at)?;
    if let Some(refresh) = &grant.refresh_token {
        body.extend_from_slice(b",\"refresh_token\":");
        serde_json::to_writer(&mut body, refresh)?;
    }
    if let Some(scope) = &grant.scope {
        body.extend_from_slice(b",\"scope\":");
        serde_json::to_writer(&mut body, scope)?;
    }
    body.push(b'}');
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ports::SignedToken;

    fn grant(refresh: Option<&str>, scope: Option<&str>) -> TokenGrant {
        TokenGrant {
            signed: SignedToken {
                token: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_".into(),
                expires_in: 300,
                issued_at: "2026-11-22T14:23:00Z".into(),
                jti: "j".into(),
            },
            refresh_token: refresh.map(str::to_string),
            scope: scope.map(str::to_string),
            report: crate::app::issue_token::Issued {
                subject: "a".into(),
                credential: "password",
                anonymous: false,
                requested: vec![],
                granted: vec![],
                denied: vec![],
                ignored: vec![],
            },
        }
    }

    #[test]
    fn the_body_is_the_json_every_client_reads() {
        let cases = [
            (None, None),
            (Some("rt-\"quoted\"\\"), None),
            (
                Some("rt"),
                Some("repository:syn1/a:pull repository:syn1/b\u{7}:push"),
            ),
        ];
        for (refresh, scope) in cases {
            let g = grant(refresh, scope);
            let parsed: serde_json::Value =
                serde_json::from_slice(&response_body(&g).expect("written")).expect("valid JSON");
            let mut want = serde_json::json!({
                "token": g.signed.token,
                "access_token": g.signed.token,
                "expires_in": 300,
                "issued_at": "2026-11-22T14:23:00Z",
            });
            if let Some(r) = refresh {
                want["refresh_token"] = r.into();
            }
            if let Some(s) = scope {
                want["scope"] = s.into();
            }
            assert_eq!(parsed, want);
        }
    }
}
