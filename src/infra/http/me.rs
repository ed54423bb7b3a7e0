//! `/api/v1/me…`: the signed-in user's account, password, access tokens and `docker
//! login`s. Handlers parse and render; the rules (scopes, ownership) are
//! `app::self_service`'s.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::gate::Authorized;
use crate::app::explain;
use crate::app::operations::{
    ChangeOwnPassword, ExplainOwnAccess, ListOwnLogins, ListOwnTokens, MintOwnToken,
    RevokeOwnLogin, RevokeOwnToken, ShowMe,
};
use crate::app::self_service::{self, PasswordChange};
use crate::app::{AppError, AppResult};
use crate::domain::model::{
    parse_lifetime, rfc3339, AccessTokenRecord, RefreshTokenRecord, ScopeSet, UnixTime,
};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::HttpError;
use crate::infra::front::form::path_number;

fn time(t: Option<UnixTime>) -> Value {
    t.and_then(rfc3339).map_or(Value::Null, Value::String)
}

fn scopes_json(s: ScopeSet) -> Value {
    s.names().collect::<Vec<_>>().into()
}

pub fn token_json(t: &AccessTokenRecord) -> Value {
    json!({"id": t.id, "name": t.name, "scopes": scopes_json(t.scopes),
           "created_at": time(Some(t.created_at)), "expires_at": time(t.expires_at),
           "last_used_at": time(t.last_used_at), "revoked": t.revoked,
           "minted_by": t.parent})
}

pub fn login_json(t: &RefreshTokenRecord) -> Value {
    json!({"id": t.id, "client_id": t.client_id, "service": t.service,
           "scopes": scopes_json(t.scopes), "created_at": time(Some(t.created_at)),
           "expires_at": time(t.expires_at), "last_used_at": time(t.last_used_at)})
}

/// `?scope=repository:P/R:pull,push` (repeatable): each action granted or refused
/// with its reason, for the credential of this very request (anonymous too).
pub async fn explain(
    call: Authorized<ExplainOwnAccess>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let scopes =
        crate::infra::front::form::Params::parse(req.query_string().as_bytes()).all("scope");
    let limits = crate::domain::scope::ScopeLimits {
        max_scopes: call.state.settings.token.max_scopes,
        ..Default::default()
    };
    let explained = call
        .read(move |dir, permit| explain::for_caller(dir, permit, &scopes, limits))
        .await?;
    let scopes: Vec<Value> = explained
        .iter()
        .map(|s| {
            let actions: Vec<Value> = s
                .verdicts
                .iter()
                .map(|v| match v.refusal {
                    None => json!({"action": v.action, "granted": true}),
                    Some(r) => json!({"action": v.action, "granted": false,
                                      "reason": r.code(), "message": r.words()}),
                })
                .collect();
            json!({"scope": s.scope, "actions": actions})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "scopes": scopes })))
}

pub async fn me(call: Authorized<ShowMe>) -> Result<HttpResponse, HttpError> {
    let me = call.read(self_service::me).await?;
    Ok(HttpResponse::Ok().json(json!({
        "name": me.user.name, "email": me.user.email, "certified": me.user.certified,
        "admin": me.user.admin, "scopes": scopes_json(me.scopes),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
    #[serde(default)]
    revoke_tokens: bool,
}

pub async fn change_password(
    mut call: Authorized<ChangeOwnPassword>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let address = crate::infra::front::client_ip::client_ip(
        &req,
        &call.state.settings.server.trusted_proxies,
    );
    let body: PasswordBody = call.json().await?;
    let done = call
        .run(move |st, permit| {
            let change = PasswordChange {
                current: &body.current_password,
                new: &body.new_password,
                revoke_tokens: body.revoke_tokens,
                address,
            };
            self_service::change_password(
                st.directory.as_ref(),
                st.tokens.authenticator(),
                permit,
                change,
                st.clock.now(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "refresh_tokens_revoked": done.refresh_tokens_ended,
        "access_tokens_revoked": done.access_tokens_ended,
    })))
}

pub async fn list_tokens(call: Authorized<ListOwnTokens>) -> Result<HttpResponse, HttpError> {
    let tokens = call.read(self_service::list_tokens).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"tokens": tokens.iter().map(token_json).collect::<Vec<_>>()})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    /// `["download"]` or `"download,modify"`.
    scopes: ScopesField,
    /// `30d`, `12h`...; absent = never expires.
    expires_in: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopesField {
    List(Vec<String>),
    Text(String),
}

impl ScopesField {
    fn parse(&self) -> AppResult<ScopeSet> {
        let text = match self {
            ScopesField::List(l) => l.join(","),
            ScopesField::Text(t) => t.clone(),
        };
        ScopeSet::parse_list(&text).map_err(|e| AppError::Invalid(format!("scopes: {e}")))
    }
}

pub async fn create_token(mut call: Authorized<MintOwnToken>) -> Result<HttpResponse, HttpError> {
    let body: NewTokenBody = call.json().await?;
    let state = call.state.clone();
    let created = call
        .change(move |dir, permit, now| {
            let scopes = body.scopes.parse()?;
            let expires_in = body
                .expires_in
                .as_deref()
                .map(parse_lifetime)
                .transpose()
                .map_err(|e| AppError::Invalid(format!("expires_in: {e}")))?;
            self_service::create_token(dir, permit, &body.name, scopes, expires_in, now)
        })
        .await?;
    let host = state
        .settings
        .notifications
        .registry_hosts
        .first()
        .map_or("<registry host>", String::as_str);
    let mut answer = token_json(&created.record);
    answer["token"] = created.secret.into();
    answer["docker_login"] = format!(
        "docker login -u {} --password-stdin {host}",
        created.record.user.name
    )
    .into();
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(answer))
}

pub async fn revoke_token(
    call: Authorized<RevokeOwnToken>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = path_number(&id, "token")?;
    call.change(move |dir, permit, now| self_service::revoke_token(dir, permit, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_logins(call: Authorized<ListOwnLogins>) -> Result<HttpResponse, HttpError> {
    let logins = call
        .run(|st, permit| self_service::list_logins(st.directory.as_ref(), permit, st.clock.now()))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"logins": logins.iter().map(login_json).collect::<Vec<_>>()})))
}

pub async fn revoke_login(
    call: Authorized<RevokeOwnLogin>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = path_number(&id, "login")?;
    call.change(move |dir, permit, now| self_service::revoke_login(dir, permit, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
