//! The fake Synapse's HTTP endpoints, each with the statuses, bodies and quirks of its
//! section in synapse-rest-backend.md.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::model::{parse_syn, syn, Denied, Entity, UserId};
use super::state::{
    admit_user, enter, pause, Endpoint, Entry, Failure, InFlight, Shared, UserInFlight,
};
use super::tokens::{self, TokenSpec};

type Data = web::Data<Shared>;

/// How long a hanging endpoint sleeps: longer than any test waits.
const HANG: Duration = Duration::from_secs(3600);

/// A body no JSON parser accepts, sent with a JSON content type.
const GARBAGE: &str = "{\"accessToken\": \"eyJ<html>upstream proxy error";

/// The one text login2 gives for a wrong password and for an unknown user (§1.1).
const BAD_CREDENTIALS: &str = "The provided username/password combination is incorrect.";

/// The ToU filter's answer on `/repo/v1/*` (§1.1, TOU:55-61).
const TERMS_NOT_SIGNED: &str = "Terms of use have not been signed.";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/v1/login2", web::post().to(login))
        .route("/auth/v1/oauth2/jwks", web::get().to(jwks))
        .route(
            "/auth/v1/.well-known/openid-configuration",
            web::get().to(discovery),
        )
        .route("/auth/v1/authenticatedOn", web::get().to(authenticated_on))
        .route(
            "/repo/v1/entity/dockerRepo/id",
            web::get().to(docker_repo_id),
        )
        .route(
            "/repo/v1/entity/{id}/permissions",
            web::get().to(permissions),
        )
        .route("/repo/v1/entity/{id}/type", web::get().to(entity_type))
        .route("/repo/v1/user/bundle", web::get().to(user_bundle))
        .route(
            "/dockerRegistryListener/v1/events",
            web::post().to(listener),
        )
        .default_service(web::to(|| async {
            reason(404, "The requested URL was not found on this server.")
        }));
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn json_answer(code: u16, body: Value) -> HttpResponse {
    HttpResponse::build(status(code)).json(body)
}

/// Synapse's error body (`ErrorResponse`, reference header).
fn reason(code: u16, text: &str) -> HttpResponse {
    json_answer(code, json!({ "reason": text }))
}

/// The answer of an injected failure (§5). 429 has a `reason` and no `Retry-After`.
async fn injected(endpoint: Endpoint, failure: Failure) -> HttpResponse {
    match failure {
        Failure::None => reason(500, "no failure was injected"),
        Failure::Status(429) => reason(429, "Too many requests. Please slow down."),
        Failure::Status(503) => reason(503, "Synapse is down for maintenance."),
        Failure::Status(code) => reason(code, "An unexpected error occurred."),
        Failure::Hang => {
            actix_web::rt::time::sleep(HANG).await;
            reason(503, "hung")
        }
        Failure::Garbage => HttpResponse::build(status(endpoint.success_status()))
            .content_type("application/json")
            .body(GARBAGE),
    }
}

/// Enters the endpoint, or answers with the injected failure. The configured delay
/// runs here, except for `/repo/v1/*` calls, which wait once admitted by the throttle
/// (so a slow answer holds the user's slot, as in Synapse).
async fn begin(shared: &Data, endpoint: Endpoint) -> Result<InFlight, HttpResponse> {
    match enter(shared, endpoint) {
        Entry::Proceed(in_flight) => {
            if !endpoint.is_repo() {
                pause(shared, endpoint).await;
            }
            Ok(in_flight)
        }
        Entry::Fail(_in_flight, failure) => Err(injected(endpoint, failure).await),
    }
}

/// `<scheme://host>/auth/v1` of the host the request reached (§1.3, EndpointHelper:8-10).
fn request_issuer(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/auth/v1", info.scheme(), info.host())
}

/// The Authorization header as Synapse's authentication filter sees it.
enum Presented {
    Nothing,
    Bearer(String),
    Other,
}

fn presented(req: &HttpRequest) -> Presented {
    let Some(value) = req.headers().get("authorization") else {
        return Presented::Nothing;
    };
    match value.to_str().unwrap_or_default().strip_prefix("Bearer ") {
        Some(token) => Presented::Bearer(token.trim().to_string()),
        None => Presented::Other,
    }
}

fn not_a_bearer() -> HttpResponse {
    reason(401, "Invalid Authorization header for a bearer token.")
}

/// ISO-8601 UTC with milliseconds, as Synapse writes dates.
fn iso_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// §1.1 `POST /auth/v1/login2`: 201 with an all-scope 24 h token; 401 with one text for
/// a wrong password and an unknown user; 423 while locked out (a receipt from an
/// earlier success skips it); 401 `PASSWORD_RESET_VIA_EMAIL_REQUIRED`; 401
/// `TWO_FA_REQUIRED` after a correct password.
async fn login(shared: Data, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let _in_flight = match begin(&shared, Endpoint::Login).await {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return reason(400, "Could not parse the request body as a LoginRequest.");
    };
    let (Some(username), Some(password)) =
        (request["username"].as_str(), request["password"].as_str())
    else {
        return reason(400, "username and password are required.");
    };
    let receipt = request["authenticationReceipt"].as_str();
    let issuer = request_issuer(&req);
    let mut state = shared.lock();
    let state = &mut *state;
    let Some(user) = state.model.user_by_login(username) else {
        return reason(401, BAD_CREDENTIALS);
    };
    let has_receipt = receipt.is_some_and(|r| user.receipts.contains(r));
    if user.locked_out && !has_receipt {
        return reason(
            423,
            "You have exceeded the maximum number of failed login attempts. Please try again later.",
        );
    }
    if user.password != password {
        user.failed_logins += 1;
        return reason(401, BAD_CREDENTIALS);
    }
    if user.password_reset_required {
        return json_answer(
            401,
            json!({
                "reason": "Your password must be reset via email.",
                "errorCode": "PASSWORD_RESET_VIA_EMAIL_REQUIRED",
            }),
        );
    }
    if user.two_factor {
        return json_answer(
            401,
            json!({
                "reason": "Two factor authentication required",
                "errorCode": "TWO_FA_REQUIRED",
                "userId": user.id,
                "twoFaToken": tokens::uuid_like(),
            }),
        );
    }
    let receipt = tokens::uuid_like();
    user.receipts.insert(receipt.clone());
    let accepts_terms = user.terms_accepted;
    let token = tokens::mint(state.keys.signer(), &TokenSpec::login(user.id), &issuer);
    json_answer(
        201,
        json!({
            "accessToken": token,
            "acceptsTermsOfUse": accepts_terms,
            "authenticationReceipt": receipt,
        }),
    )
}

/// §1.2 `GET /auth/v1/oauth2/jwks`: every published key, Java-encoded, no `alg`.
async fn jwks(shared: Data) -> HttpResponse {
    let _in_flight = match begin(&shared, Endpoint::Jwks).await {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    let body = shared.lock().keys.jwks();
    json_answer(200, body)
}

/// §1.3 `GET /auth/v1/.well-known/openid-configuration`, issuer from the request's host.
async fn discovery(shared: Data, req: HttpRequest) -> HttpResponse {
    let _in_flight = match begin(&shared, Endpoint::Discovery).await {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    let issuer = request_issuer(&req);
    json_answer(
        200,
        json!({
            "issuer": issuer,
            "authorization_endpoint": "https://signin.synapse.test/",
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
            "jwks_uri": format!("{issuer}/oauth2/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }),
    )
}

/// §1.4 `GET /auth/v1/authenticatedOn`: Bearer, no scope, no ToU check, no throttle;
/// 401 for anything but a live token.
async fn authenticated_on(shared: Data, req: HttpRequest) -> HttpResponse {
    let _in_flight = match begin(&shared, Endpoint::AuthenticatedOn).await {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    let token = match presented(&req) {
        Presented::Bearer(token) => token,
        Presented::Nothing => return reason(401, "Anonymous users cannot call this service."),
        Presented::Other => return not_a_bearer(),
    };
    // Bound first: a guard living in the tail expression would outlive `_in_flight`,
    // whose drop takes the lock too.
    let caller = shared.lock().authenticate(&token);
    match caller {
        Ok(caller) => json_answer(
            200,
            json!({ "authenticatedOn": iso_time(caller.issued_at) }),
        ),
        Err(why) => reason(401, &format!("Invalid access token: {why}.")),
    }
}

/// An admitted `/repo/v1/*` call: its caller (None: anonymous) and its in-flight marks.
struct RepoCall {
    caller: Option<UserId>,
    _in_flight: InFlight,
    _user_in_flight: Option<UserInFlight>,
}

/// Synapse's filter chain for `/repo/v1/*` (§1.4-§1.8, WX): authentication (401), terms
/// of use (403), the per-user throttle (429, no `Retry-After`), then the `view` scope
/// (403 with the OAuth body `insufficient_scope`, SI:117-131). No header is anonymous.
async fn repo_call(
    shared: &Data,
    req: &HttpRequest,
    endpoint: Endpoint,
) -> Result<RepoCall, HttpResponse> {
    let in_flight = begin(shared, endpoint).await?;
    let token = match presented(req) {
        Presented::Bearer(token) => token,
        Presented::Other => return Err(not_a_bearer()),
        Presented::Nothing => {
            pause(shared, endpoint).await;
            return Ok(RepoCall {
                caller: None,
                _in_flight: in_flight,
                _user_in_flight: None,
            });
        }
    };
    let caller = {
        let state = shared.lock();
        let caller = state
            .authenticate(&token)
            .map_err(|why| reason(401, &format!("Invalid access token: {why}.")))?;
        if !state.model.users[&caller.user].terms_accepted {
            return Err(reason(403, TERMS_NOT_SIGNED));
        }
        caller
    };
    let user_in_flight = admit_user(shared, caller.user).ok_or_else(|| {
        reason(
            429,
            "You have exceeded the maximum number of concurrent requests. Please try again later.",
        )
    })?;
    if !caller.has_scope("view") {
        return Err(json_answer(
            403,
            json!({
                "error": "insufficient_scope",
                "error_description": "Request lacks scope(s) required by this service: view",
                "reason": "Request lacks scope(s) required by this service: view",
            }),
        ));
    }
    pause(shared, endpoint).await;
    Ok(RepoCall {
        caller: Some(caller.user),
        _in_flight: in_flight,
        _user_in_flight: Some(user_in_flight),
    })
}

/// The answer for a failed READ check (§1.5, §1.7); the trash text is EDF:45-54/ACN:256.
fn denied(why: Denied, entity: &str) -> HttpResponse {
    match why {
        Denied::NotFound => reason(
            404,
            "The resource you are attempting to access cannot be found",
        ),
        Denied::InTrash => reason(404, &format!("Entity {entity} is in trash can.")),
        Denied::Forbidden => reason(403, "You lack READ access to the requested entity."),
    }
}

/// §1.5 `GET /repo/v1/entity/dockerRepo/id?repositoryName=host/synN/name`: 200 `{id}`;
/// 404 unknown; 404 `Entity synN is in trash can.` for a trashed repo; 403 without READ.
async fn docker_repo_id(
    shared: Data,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let call = match repo_call(&shared, &req, Endpoint::DockerRepoId).await {
        Ok(call) => call,
        Err(answer) => return answer,
    };
    let Some(name) = query.get("repositoryName") else {
        return reason(400, "repositoryName is required.");
    };
    let state = shared.lock();
    let Some(id) = state.model.repository_by_name(name) else {
        return reason(
            404,
            &format!("Cannot find a managed Docker repository with name {name}"),
        );
    };
    match state.model.read_check(call.caller, id) {
        Ok(()) => json_answer(200, json!({ "id": syn(id) })),
        Err(why) => denied(why, &syn(id)),
    }
}

/// §1.6 `GET /repo/v1/entity/{id}/permissions`: no READ pre-check, the flags are
/// computed; a missing or trashed id gets 200 with the flags false (§6.2).
async fn permissions(shared: Data, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let call = match repo_call(&shared, &req, Endpoint::Permissions).await {
        Ok(call) => call,
        Err(answer) => return answer,
    };
    let Some(id) = parse_syn(&path) else {
        return reason(400, &format!("Invalid entity id: {path}"));
    };
    let flags = shared.lock().model.permissions(call.caller, id);
    json_answer(200, flags)
}

/// The `EntityHeader` of §1.7.
fn entity_header(entity: &Entity, benefactor: u64) -> Value {
    json!({
        "id": syn(entity.id),
        "name": entity.name,
        "type": entity.type_name(),
        "benefactorId": benefactor,
        "versionNumber": 1,
        "versionLabel": "1",
        "isLatestVersion": true,
    })
}

/// §1.7 `GET /repo/v1/entity/{id}/type`: 200 `EntityHeader`; 404 missing or in trash;
/// 403 without READ.
async fn entity_type(shared: Data, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let call = match repo_call(&shared, &req, Endpoint::EntityType).await {
        Ok(call) => call,
        Err(answer) => return answer,
    };
    let Some(id) = parse_syn(&path) else {
        return reason(400, &format!("Invalid entity id: {path}"));
    };
    let state = shared.lock();
    if let Err(why) = state.model.read_check(call.caller, id) {
        return denied(why, &syn(id));
    }
    let benefactor = state.model.benefactor(id);
    json_answer(200, entity_header(&state.model.entities[&id], benefactor))
}

/// §1.8 `GET /repo/v1/user/bundle?mask=N`: the caller's bundle; 0x8 adds `isCertified`,
/// 0x1 adds `userProfile` {ownerId, userName}.
async fn user_bundle(
    shared: Data,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let call = match repo_call(&shared, &req, Endpoint::UserBundle).await {
        Ok(call) => call,
        Err(answer) => return answer,
    };
    let Some(user_id) = call.caller else {
        return reason(401, "Anonymous users have no user bundle.");
    };
    let mask: u32 = query.get("mask").and_then(|m| m.parse().ok()).unwrap_or(0);
    let state = shared.lock();
    let user = &state.model.users[&user_id];
    let mut bundle = json!({ "userId": user.id.to_string() });
    if mask & 0x8 != 0 {
        bundle["isCertified"] = json!(user.certified);
    }
    if mask & 0x1 != 0 {
        bundle["userProfile"] = json!({ "ownerId": user.id.to_string(), "userName": user.name });
    }
    json_answer(200, bundle)
}

/// Whether the request carries the listener's Basic key/secret (§1.9).
fn listener_authorized(req: &HttpRequest, key: &str, secret: &str) -> bool {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let decoded = header
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    decoded.is_some_and(|d| d == format!("{key}:{secret}"))
}

/// A push event whose target is a manifest (the only kind that creates a repository).
fn manifest_push(event: &Value) -> bool {
    const MANIFESTS: [&str; 6] = [
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ];
    let media_type = event["target"]["mediaType"].as_str().unwrap_or_default();
    event["action"] == "push" && MANIFESTS.contains(&media_type)
}

/// §1.9 `POST /dockerRegistryListener/v1/events`: Basic key/secret or 401; the body is
/// recorded; each manifest push from a listed registry host creates the managed
/// repository, as one transaction (a bad event rejects the batch, like Synapse).
async fn listener(shared: Data, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let _in_flight = match begin(&shared, Endpoint::Listener).await {
        Ok(f) => f,
        Err(answer) => return answer,
    };
    let mut state = shared.lock();
    if !listener_authorized(&req, &state.listener_key, &state.listener_secret) {
        return reason(401, "Invalid registry listener credentials.");
    }
    let Ok(batch) = serde_json::from_slice::<Value>(&body) else {
        state
            .listener_events
            .push(Value::String(String::from_utf8_lossy(&body).into()));
        return reason(400, "Could not parse the event batch.");
    };
    state.listener_events.push(batch.clone());
    let events = batch["events"].as_array().cloned().unwrap_or_default();
    let mut pushes = Vec::new();
    for event in events.iter().filter(|e| manifest_push(e)) {
        let host = event["request"]["host"].as_str().unwrap_or_default();
        if !state.model.registry_hosts.iter().any(|h| h == host) {
            continue;
        }
        let path = event["target"]["repository"].as_str().unwrap_or_default();
        let actor = event["actor"]["name"].as_str().unwrap_or_default();
        match state.model.check_push(path, actor) {
            Ok((project, actor)) => pushes.push((project, format!("{host}/{path}"), actor)),
            Err((code, why)) => return reason(code, &why),
        }
    }
    for (project, name, actor) in pushes {
        state.model.record_push(project, &name, actor);
    }
    HttpResponse::Ok().finish()
}
