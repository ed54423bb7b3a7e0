//! The token endpoint: `GET /token` (Docker token spec) and `POST /token` (OAuth2).
//!
//! Both flows end in the same place: an authenticated (or anonymous) caller, a list of
//! requested scopes, the facts about each from the directory, the pure `authz::decide`
//! per scope, and a signed JWT listing every requested scope with the granted actions
//! (denied ones with `[]`). Denials are not errors; bad credentials are.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::auth::{authenticate_header, run_blocking};
use super::errors::{ErrorCode, HttpError};
use super::AppState;
use crate::domain::authn::Authenticated;
use crate::domain::authz::{decide, Caller, Target};
use crate::domain::directory::{Directory, DirectoryError};
use crate::domain::repo_name::RepoPath;
use crate::domain::scope::{parse_scope_params, ResourceScope};
use crate::infra::crypto::AccessEntry;

/// Request parameters, in order, as sent (query string or form body). Repeated keys are
/// kept: containers/image sends one `scope` per scope.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Params {
        Params(
            form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What the log line of a token request says.
#[derive(Default)]
struct Audit {
    http_method: &'static str,
    grant: &'static str,
    client_id: String,
    service: String,
    account: String,
}

#[derive(Serialize)]
struct TokenResponse {
    token: String,
    access_token: String,
    expires_in: u64,
    issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// OAuth2 answers only: the granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// `GET /token?service=S&scope=A&scope=B&account=U&offline_token=true&client_id=C`.
pub async fn get_token(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let params = Params::parse(req.query_string().as_bytes());
    let mut audit = Audit {
        http_method: "GET",
        grant: "basic",
        client_id: params.get("client_id").unwrap_or_default().to_string(),
        account: params.get("account").unwrap_or_default().to_string(),
        ..Audit::default()
    };
    let outcome = async {
        audit.service = check_service(&state, params.get("service"))?;
        let who = authenticate_header(&state, &req).await?;
        if who.caller.user.is_none() {
            audit.grant = "anonymous";
        }
        let offline = params
            .get("offline_token")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let refresh = if offline && who.caller.user.is_some() {
            Refresh::Issue {
                client_id: audit.client_id.clone(),
            }
        } else {
            Refresh::None
        };
        respond(&state, who, params.all("scope"), refresh, false, &audit).await
    }
    .await;
    log_failure(&outcome, &audit);
    outcome
}

/// `POST /token` with an OAuth2 form: `grant_type=password|refresh_token`.
pub async fn post_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let params = Params::parse(&body);
    let mut audit = Audit {
        http_method: "POST",
        grant: "unknown",
        client_id: params.get("client_id").unwrap_or_default().to_string(),
        account: params.get("username").unwrap_or_default().to_string(),
        ..Audit::default()
    };
    let outcome = async {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(HttpError::bad_request(
                ErrorCode::Unsupported,
                "POST /token takes an application/x-www-form-urlencoded OAuth2 form",
            ));
        }
        audit.service = check_service(&state, params.get("service"))?;
        let client_id = params
            .get("client_id")
            .ok_or_else(|| HttpError::bad_request(ErrorCode::Unsupported, "client_id is required"))?
            .to_string();
        match params.get("grant_type") {
            Some("password") => {
                audit.grant = "password";
                let (Some(user), Some(password)) = (params.get("username"), params.get("password"))
                else {
                    return Err(HttpError::bad_request(
                        ErrorCode::Unsupported,
                        "grant_type=password needs username and password",
                    ));
                };
                let (user, password) = (user.to_string(), password.to_string());
                let st = state.clone();
                let who =
                    run_blocking(&state, move || st.authenticator.basic(&user, &password)).await?;
                let refresh = if params.get("access_type") == Some("offline") {
                    Refresh::Issue { client_id }
                } else {
                    Refresh::None
                };
                respond(&state, who, params.all("scope"), refresh, true, &audit).await
            }
            Some("refresh_token") => {
                audit.grant = "refresh_token";
                let token = params
                    .get("refresh_token")
                    .ok_or_else(|| {
                        HttpError::bad_request(
                            ErrorCode::Unsupported,
                            "grant_type=refresh_token needs refresh_token",
                        )
                    })?
                    .to_string();
                let st = state.clone();
                let service = audit.service.clone();
                let (who, token) = run_blocking(&state, move || {
                    let who = st.authenticator.refresh(&token, &service, &client_id)?;
                    Ok((who, token))
                })
                .await?;
                // The same refresh token goes back: the docker daemon discards a rotated
                // one (moby#39718), so rotation would only break clients.
                let refresh = Refresh::Return(token);
                respond(&state, who, params.all("scope"), refresh, true, &audit).await
            }
            Some(other) => Err(HttpError::bad_request(
                ErrorCode::Unsupported,
                format!("unsupported grant_type {:?}", truncate(other)),
            )),
            None => Err(HttpError::bad_request(
                ErrorCode::Unsupported,
                "grant_type is required",
            )),
        }
    }
    .await;
    log_failure(&outcome, &audit);
    outcome
}

fn check_service(state: &AppState, service: Option<&str>) -> Result<String, HttpError> {
    match service {
        Some(s) if state.settings.token.services.iter().any(|c| c == s) => Ok(s.to_string()),
        Some(s) => Err(HttpError::bad_request(
            ErrorCode::Unsupported,
            format!("unknown service {:?}", truncate(s)),
        )),
        None => Err(HttpError::bad_request(
            ErrorCode::Unsupported,
            "service is required",
        )),
    }
}

/// Whether the answer carries a refresh (identity) token, and which.
enum Refresh {
    None,
    /// Issue a new one, bound to the caller, the service and this client.
    Issue {
        client_id: String,
    },
    /// Hand back the refresh grant's own token.
    Return(String),
}

/// Issues the refresh token if asked, decides every requested scope, signs the token,
/// renders the answer and logs the line. The directory work (refresh-token row, facts
/// per repository) runs in one trip to the blocking pool.
async fn respond<'a>(
    state: &web::Data<AppState>,
    who: Authenticated,
    raw_scopes: impl Iterator<Item = &'a str>,
    refresh: Refresh,
    oauth: bool,
    audit: &Audit,
) -> Result<HttpResponse, HttpError> {
    let (scopes, unparsed) = parse_scope_params(raw_scopes);
    let st = state.clone();
    let service = match refresh {
        Refresh::Issue { .. } => audit.service.clone(),
        _ => String::new(),
    };
    let (who, refresh_token, decided) = run_blocking(state, move || {
        let refresh_token = match refresh {
            Refresh::None => None,
            Refresh::Return(token) => Some(token),
            Refresh::Issue { client_id } => {
                let days = st.settings.token.refresh_ttl_days;
                let ttl = (days > 0).then(|| Duration::from_secs(days * 86_400));
                Some(
                    st.authenticator
                        .issue_refresh_token(&who, &service, &client_id, ttl)?,
                )
            }
        };
        let decided = authorize(st.directory.as_ref(), &who.caller, scopes)?;
        Ok((who, refresh_token, decided))
    })
    .await?;

    // One pass: the signed `access` claim takes the entries, the log line the rest.
    let mut access = Vec::with_capacity(decided.len());
    let mut requested = Vec::with_capacity(decided.len());
    let mut granted = Vec::with_capacity(decided.len());
    let mut denied = Vec::new();
    for d in decided {
        if !d.entry.actions.is_empty() {
            granted.push(format!(
                "{}:{}:{}",
                d.entry.resource_type,
                d.entry.name,
                d.entry.actions.join(",")
            ));
        }
        requested.push(d.requested);
        denied.extend(d.denials);
        access.push(d.entry);
    }
    let service = audit.service.as_str();
    let issued = state
        .signer
        .issue(who.caller.name(), service, access)
        .map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            HttpError::internal()
        })?;

    tracing::info!(
        target: "regauth::token",
        method = audit.http_method,
        grant = audit.grant,
        user = who.caller.name(),
        auth = who.method.as_str(),
        account = %audit.account,
        client_id = %audit.client_id,
        service = %service,
        requested = ?requested,
        granted = ?granted,
        denied = ?denied,
        ignored = ?unparsed,
        refresh_token = refresh_token.is_some(),
        jti = %issued.jti,
        status = 200,
        "token issued"
    );

    let body = TokenResponse {
        token: issued.token.clone(),
        access_token: issued.token,
        expires_in: issued.expires_in,
        issued_at: issued.issued_at,
        refresh_token,
        scope: oauth.then(|| granted.join(" ")),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body))
}

/// One requested scope after the decision.
struct Decided {
    requested: String,
    entry: AccessEntry,
    /// `name:action=reason` for the log.
    denials: Vec<String>,
}

/// Gathers the facts for each scope (one directory read per distinct repository) and
/// applies the rules.
fn authorize(
    dir: &dyn Directory,
    caller: &Caller,
    scopes: Vec<ResourceScope>,
) -> Result<Vec<Decided>, DirectoryError> {
    let mut facts: HashMap<String, Target> = HashMap::new();
    let mut out = Vec::with_capacity(scopes.len());
    for scope in scopes {
        // One directory read per distinct repository; other resource types need none
        // worth caching. Borrowed, not cloned: ACLs can be long.
        let other;
        let target = if scope.resource_type == "repository" {
            if !facts.contains_key(&scope.name) {
                let t = target_for(dir, &scope)?;
                facts.insert(scope.name.clone(), t);
            }
            &facts[&scope.name]
        } else {
            other = target_for(dir, &scope)?;
            &other
        };
        let decision = decide(caller, target, &scope.actions);
        let denials = decision
            .denied
            .iter()
            .map(|d| format!("{}:{}={}", scope.name, d.action, d.reason.as_str()))
            .collect();
        out.push(Decided {
            requested: scope.to_string(),
            entry: AccessEntry {
                resource_type: scope.resource_type,
                name: scope.name,
                actions: decision.granted,
            },
            denials,
        });
    }
    Ok(out)
}

fn target_for(dir: &dyn Directory, scope: &ResourceScope) -> Result<Target, DirectoryError> {
    Ok(match scope.resource_type.as_str() {
        "repository" => match RepoPath::parse(&scope.name) {
            Ok(path) => Target::Repository(dir.repository_facts(&path)?),
            Err(_) => Target::InvalidRepository,
        },
        "registry" if scope.name == "catalog" => Target::Catalog,
        _ => Target::Unsupported,
    })
}

fn log_failure(outcome: &Result<HttpResponse, HttpError>, audit: &Audit) {
    if let Err(e) = outcome {
        tracing::info!(
            target: "regauth::token",
            method = audit.http_method,
            grant = audit.grant,
            account = %audit.account,
            client_id = %audit.client_id,
            service = %audit.service,
            status = e.status.as_u16(),
            error = %e.message,
            "token refused"
        );
    }
}

/// Echoes at most 64 characters of caller input in an error message.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}
