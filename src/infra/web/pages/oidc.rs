//! Signing in with an OpenID Connect provider (`[[oidc.providers]]`):
//! `/ui/oidc/{provider}/start` sends the browser to the provider with a fresh `state`,
//! `nonce` and PKCE verifier, kept here (bounded, ten minutes, a budget per client
//! address) under the digest of a random cookie; `/ui/oidc/{provider}/callback` takes
//! them back once, checks `state`, has `infra::oidc::CodeFlow` redeem the code and
//! verify the ID token, runs `app::federated_sign_in`, and starts the usual session.
//!
//! The flow's cookie is `SameSite=Lax` (the one cookie that is not `Strict`): the
//! callback is a top-level navigation from the provider's site, on which a browser
//! sends no `Strict` cookie. It holds nothing but the key of the server-side record,
//! and is good for one callback. For the same reason the callback answers with a page
//! that moves on to `/ui/tokens` itself rather than a redirect: the session cookie is
//! `Strict`, and a redirect chain begun on the provider's site would not carry it.

use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use moka::policy::EvictionPolicy;
use sha2::{Digest, Sha256};

use crate::app::federated_sign_in::{sign_in, SignIn, SignInError};
use crate::app::rate_limit::AddressBudget;
use crate::domain::federation::people::ProviderRules;
use crate::infra::config::ProviderSettings;
use crate::infra::front::AppState;
use crate::infra::oidc::{CodeFlow, FlowError, Pending};
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::session::{random_token, NewSession};
use crate::infra::web::{cookies, layout, secure_cookies, sessions, visit};

/// The flow cookie's name (path `/ui/oidc`).
const FLOW_COOKIE: &str = "regauth_oidc";
/// How long a started sign-in waits for its callback.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// Started sign-ins kept at most (the oldest go first beyond it).
const FLOW_CAPACITY: u64 = 10_000;
/// Sign-ins one client address may start at once, and again over each `FLOW_TTL`: one
/// address holds at most twice this many of the `FLOW_CAPACITY` started sign-ins, so
/// pushing everyone else's out takes some eighty addresses, not one loop. An office
/// behind one NAT address still has room for sixty people signing in at nine.
const STARTS_PER_ADDRESS: NonZeroU32 = NonZeroU32::new(60).expect("not zero");

/// Started sign-ins, by the SHA-256 of their cookie's value. Least recently used go
/// first (moka's default admission could turn a new sign-in away instead).
static PENDING: LazyLock<moka::sync::Cache<[u8; 32], Arc<Pending>>> = LazyLock::new(|| {
    moka::sync::Cache::builder()
        .max_capacity(FLOW_CAPACITY)
        .time_to_live(FLOW_TTL)
        .eviction_policy(EvictionPolicy::lru())
        .build()
});

/// What each client address may still start.
static STARTS: LazyLock<AddressBudget> =
    LazyLock::new(|| AddressBudget::new(STARTS_PER_ADDRESS, FLOW_TTL));

fn key_of(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

/// A provider on the sign-in page: its name and whether it answers now.
pub struct Choice {
    pub name: String,
    pub reachable: bool,
}

/// The providers to offer, each checked (its discovery document, cached).
pub async fn choices(state: &web::Data<AppState>) -> Vec<Choice> {
    let Some(flow) = state.people.clone() else {
        return Vec::new();
    };
    web::block(move || {
        flow.providers()
            .iter()
            .map(|p| Choice {
                name: p.name.clone(),
                reachable: flow.reachable(&p.name).is_ok(),
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// The "Sign in with …" links (or why one cannot be used now).
pub fn buttons(choices: &[Choice]) -> Markup {
    html! {
        @if !choices.is_empty() {
            div.stack #providers {
                @for c in choices {
                    @if c.reachable {
                        p { a.button href=(format!("/ui/oidc/{}/start", c.name)) { "Sign in with " (c.name) } }
                    } @else {
                        p.error role="status" { (c.name) " cannot be reached" }
                    }
                }
            }
        }
    }
}

/// Where the provider sends the browser back: this server's public origin (the
/// configured token realm's) and the provider's callback path.
fn callback_uri(state: &AppState, provider: &str) -> Result<String, WebError> {
    let realm = reqwest::Url::parse(state.realm()).map_err(|_| WebError::internal())?;
    let origin = realm.origin().ascii_serialization();
    Ok(format!("{origin}/ui/oidc/{provider}/callback"))
}

fn flow_of(state: &AppState, provider: &str) -> Result<Arc<CodeFlow>, WebError> {
    let flow = state.people.clone().ok_or_else(no_provider)?;
    flow.provider(provider).map_err(|_| no_provider())?;
    Ok(flow)
}

fn no_provider() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, "no such identity provider")
}

/// The page a failed step shows (the provider's name, never a secret).
fn flow_error(e: &FlowError) -> WebError {
    match e {
        FlowError::UnknownProvider(_) => no_provider(),
        FlowError::Unreachable { provider, detail } => {
            tracing::warn!(provider = %provider, detail = %detail, "identity provider cannot be reached");
            WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{provider} cannot be reached: sign in with your password, or try again later."
                ),
            )
        }
        FlowError::Refused { .. } | FlowError::BadToken { .. } => {
            tracing::warn!(error = %e, "sign-in with an identity provider refused");
            WebError::new(StatusCode::UNAUTHORIZED, format!("{e}. Start again."))
        }
    }
}

/// `GET /ui/oidc/{provider}/start`.
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let provider = path.into_inner();
    if visit(&state, &req).await.is_ok() {
        return Ok(see_other("/ui/tokens"));
    }
    let flow = flow_of(&state, &provider)?;
    let redirect = callback_uri(&state, &provider)?;
    let address = crate::infra::web::client_ip(&state, &req);
    if let Err(wait) = STARTS.take(address) {
        tracing::warn!(client_ip = %address, "too many sign-ins started from one address");
        return Err(WebError::too_many(
            "too many sign-ins were started from your address: try again later",
            wait,
        ));
    }
    let started = web::block(move || flow.start(&provider, &redirect))
        .await
        .map_err(|_| WebError::internal())?
        .map_err(|e| flow_error(&e))?;
    let cookie = random_token();
    PENDING.insert(key_of(&cookie), Arc::new(started.pending));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, started.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::SET_COOKIE, flow_cookie(&cookie, &state)))
        .finish())
}

fn flow_cookie(value: &str, state: &AppState) -> String {
    let max_age = if value.is_empty() {
        0
    } else {
        FLOW_TTL.as_secs()
    };
    let mut line =
        format!("{FLOW_COOKIE}={value}; Path=/ui/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure_cookies(state) {
        line.push_str("; Secure");
    }
    line
}

/// The query of a callback (OIDC Core §3.1.2.5 and §3.1.2.6).
#[derive(serde::Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn rules(p: &ProviderSettings) -> ProviderRules<'_> {
    ProviderRules {
        name: &p.name,
        username_claim: &p.username_claim,
        email_claim: &p.email_claim,
        team_mapping: &p.team_mapping,
        create_users: p.create_users,
    }
}

enum Outcome {
    SignedIn(NewSession),
    Failed(WebError),
}

/// `GET /ui/oidc/{provider}/callback`.
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<Callback>,
) -> Result<HttpResponse, WebError> {
    let provider = path.into_inner();
    let flow = flow_of(&state, &provider)?;
    let expired = || {
        WebError::bad_request(
            "this sign-in has expired or was started in another browser: start again",
        )
    };
    // One callback per start, whatever comes of it.
    let cookie = cookies::get(&req, FLOW_COOKIE).ok_or_else(expired)?;
    let pending = PENDING.remove(&key_of(cookie)).ok_or_else(expired)?;
    if pending.provider != provider {
        return Err(expired());
    }
    let Callback {
        code,
        state: got,
        error,
    } = query.into_inner();
    if !got.as_deref().is_some_and(|s| same(s, &pending.state)) {
        tracing::warn!(provider = %provider, "sign-in callback with a wrong state");
        return Err(WebError::bad_request(
            "this answer does not belong to the sign-in started here: start again",
        ));
    }
    if let Some(error) = error {
        let error: String = error
            .chars()
            .filter(char::is_ascii_graphic)
            .take(64)
            .collect();
        return Err(flow_error(&FlowError::Refused { provider, error }));
    }
    let code = code.ok_or_else(|| WebError::bad_request("the answer holds no code"))?;
    let redirect = callback_uri(&state, &provider)?;
    let address = crate::infra::web::client_ip(&state, &req);
    let st = state.clone();
    let outcome = web::block(move || {
        let now = st.clock.now();
        let person = match flow.finish(&pending, &code, &redirect, now) {
            Ok(person) => person,
            Err(e) => return Outcome::Failed(flow_error(&e)),
        };
        let Ok(settings) = flow.provider(&provider) else {
            return Outcome::Failed(no_provider());
        };
        let request = SignIn {
            rules: rules(settings),
            person,
            client_ip: Some(address),
            now,
        };
        let user = match sign_in(st.directory.as_ref(), request) {
            Ok(user) => user,
            Err(SignInError::Refused(r)) => {
                return Outcome::Failed(WebError::new(StatusCode::FORBIDDEN, r.to_string()))
            }
            // Beside a Synapse, which owns the users: said plainly, not a 500.
            Err(SignInError::Directory(crate::domain::ports::DirectoryError::Unsupported(m))) => {
                return Outcome::Failed(WebError::new(StatusCode::FORBIDDEN, m))
            }
            Err(SignInError::Directory(e)) => {
                tracing::error!(error = %e, "federated sign-in failed");
                return Outcome::Failed(WebError::internal());
            }
        };
        match st.tokens.authenticator().session_caller(&user.name) {
            Ok((_, stamp)) => Outcome::SignedIn(NewSession {
                user_id: user.id,
                user: user.name,
                stamp,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "federated sign-in: no session");
                Outcome::Failed(WebError::new(
                    StatusCode::FORBIDDEN,
                    "this account cannot sign in",
                ))
            }
        }
    })
    .await
    .map_err(|_| WebError::internal())?;
    let who = match outcome {
        Outcome::SignedIn(who) => who,
        Outcome::Failed(e) => return Err(e),
    };
    tracing::info!(user = %who.user, client_ip = %address, "web sign-in with an identity provider");
    let (id, _) = sessions().create(who, std::time::Instant::now());
    let secure = secure_cookies(&state);
    Ok(layout::respond(
        HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .append_header((
                header::SET_COOKIE,
                cookies::set(cookies::SESSION, &id, None, secure),
            ))
            .append_header((header::SET_COOKIE, flow_cookie("", &state))),
        signed_in_page(),
    ))
}

/// Compares two values in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn signed_in_page() -> Markup {
    let body = html! {
        meta http-equiv="refresh" content="0; url=/ui/tokens";
        h1 { "Signed in" }
        p { a #continue href="/ui/tokens" { "Continue to your access tokens" } }
    };
    layout::page(None, "Signed in", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }

    #[test]
    fn buttons_name_each_provider_or_say_it_cannot_be_reached() {
        let page = buttons(&[
            Choice {
                name: "corp".into(),
                reachable: true,
            },
            Choice {
                name: "partner".into(),
                reachable: false,
            },
        ])
        .into_string();
        assert!(page.contains("href=\"/ui/oidc/corp/start\""), "{page}");
        assert!(page.contains("Sign in with corp"), "{page}");
        assert!(page.contains("partner cannot be reached"), "{page}");
        assert!(!page.contains("/ui/oidc/partner/start"), "{page}");
        assert!(buttons(&[]).into_string().is_empty());
    }
}
