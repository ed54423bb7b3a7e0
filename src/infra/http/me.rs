//! `/api/v1/me…`: the signed-in user's account, password, access tokens and `docker
//! login`s. Handlers parse and render; the rules (scopes, ownership) are
//! `app::self_service`'s.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
use crate::infra::http::error_body::ErrorBody;

fn time(t: Option<UnixTime>) -> Option<String> {
    t.and_then(rfc3339)
}

/// A credential's scopes (`view`, `download`, `modify`, `authorize`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ScopeName {
    View,
    Download,
    Modify,
    Authorize,
}

fn scopes_json(s: ScopeSet) -> Vec<&'static str> {
    s.names().collect()
}

/// An access token as listings show it (never its secret).
#[derive(Serialize, ToSchema)]
pub struct TokenJson {
    id: i64,
    name: String,
    #[schema(value_type = Vec<ScopeName>)]
    scopes: Vec<&'static str>,
    #[schema(format = DateTime)]
    created_at: Option<String>,
    /// Null: never expires.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    revoked: bool,
    /// The token that minted this one, which it ends with.
    minted_by: Option<i64>,
}

pub fn token_json(t: &AccessTokenRecord) -> TokenJson {
    TokenJson {
        id: t.id,
        name: t.name.clone(),
        scopes: scopes_json(t.scopes),
        created_at: time(Some(t.created_at)),
        expires_at: time(t.expires_at),
        last_used_at: time(t.last_used_at),
        revoked: t.revoked,
        minted_by: t.parent,
    }
}

/// A `docker login` (a refresh token) as listings show it.
#[derive(Serialize, ToSchema)]
pub struct LoginJson {
    id: i64,
    client_id: String,
    service: String,
    #[schema(value_type = Vec<ScopeName>)]
    scopes: Vec<&'static str>,
    #[schema(format = DateTime)]
    created_at: Option<String>,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
}

pub fn login_json(t: &RefreshTokenRecord) -> LoginJson {
    LoginJson {
        id: t.id,
        client_id: t.client_id.clone(),
        service: t.service.clone(),
        scopes: scopes_json(t.scopes),
        created_at: time(Some(t.created_at)),
        expires_at: time(t.expires_at),
        last_used_at: time(t.last_used_at),
    }
}

#[derive(Serialize, ToSchema)]
struct Explained {
    scopes: Vec<ScopeExplained>,
}

#[derive(Serialize, ToSchema)]
struct ScopeExplained {
    /// The scope as asked.
    scope: String,
    actions: Vec<ActionVerdict>,
}

#[derive(Serialize, ToSchema)]
struct ActionVerdict {
    action: String,
    granted: bool,
    /// Why not (refused only), e.g. `missing_download_scope`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// The same, for a person (refused only).
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

/// Each action of each `?scope=repository:P/R:pull,push` (repeatable) granted or
/// refused with its reason, for the credential of this very request (anonymous too).
#[utoipa::path(
    get,
    path = "/api/v1/me/explain",
    tag = "me",
    extensions(("x-regauth-operation" = json!("ExplainOwnAccess"))),
    params(("scope" = Option<Vec<String>>, Query, explode,
            description = "A registry scope, `repository:syn123/tool:pull,push`; repeatable")),
    responses(
        (status = 200, description = "Each action's verdict", body = Explained),
        (status = 400, description = "Too many scopes", body = ErrorBody),
    )
)]
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
    let scopes = explained
        .iter()
        .map(|s| ScopeExplained {
            scope: s.scope.clone(),
            actions: s
                .verdicts
                .iter()
                .map(|v| ActionVerdict {
                    action: v.action.clone(),
                    granted: v.refusal.is_none(),
                    reason: v.refusal.map(|r| r.code()),
                    message: v.refusal.map(|r| r.words()),
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Explained { scopes }))
}

#[derive(Serialize, ToSchema)]
struct MeJson {
    name: String,
    email: Option<String>,
    certified: bool,
    admin: bool,
    /// What this very credential carries.
    #[schema(value_type = Vec<ScopeName>)]
    scopes: Vec<&'static str>,
}

/// The caller's account and the scopes of the credential used.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    extensions(("x-regauth-operation" = json!("ShowMe"))),
    responses((status = 200, description = "The caller's account", body = MeJson))
)]
pub async fn me(call: Authorized<ShowMe>) -> Result<HttpResponse, HttpError> {
    let me = call.read(self_service::me).await?;
    Ok(HttpResponse::Ok().json(MeJson {
        name: me.user.name,
        email: me.user.email,
        certified: me.user.certified,
        admin: me.user.admin,
        scopes: scopes_json(me.scopes),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
    /// Also revoke every access token of the account.
    #[serde(default)]
    revoke_tokens: bool,
}

#[derive(Serialize, ToSchema)]
struct PasswordChanged {
    refresh_tokens_revoked: usize,
    access_tokens_revoked: usize,
}

/// Changes the caller's password (the current one is the proof); every `docker login`
/// ends.
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "me",
    extensions(("x-regauth-operation" = json!("ChangeOwnPassword"))),
    request_body = PasswordBody,
    responses(
        (status = 200, description = "Changed", body = PasswordChanged),
        (status = 400, description = "A bad body, or a new password the policy refuses", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Ok().json(PasswordChanged {
        refresh_tokens_revoked: done.refresh_tokens_ended,
        access_tokens_revoked: done.access_tokens_ended,
    }))
}

#[derive(Serialize, ToSchema)]
struct TokenList {
    tokens: Vec<TokenJson>,
}

/// The caller's access tokens.
#[utoipa::path(
    get,
    path = "/api/v1/me/tokens",
    tag = "me",
    extensions(("x-regauth-operation" = json!("ListOwnTokens"))),
    responses((status = 200, description = "The caller's tokens", body = TokenList))
)]
pub async fn list_tokens(call: Authorized<ListOwnTokens>) -> Result<HttpResponse, HttpError> {
    let tokens = call.read(self_service::list_tokens).await?;
    Ok(HttpResponse::Ok().json(TokenList {
        tokens: tokens.iter().map(token_json).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    /// `["download"]` or `"download,modify"`.
    scopes: ScopesField,
    /// `30d`, `12h`...; absent = never expires.
    expires_in: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum ScopesField {
    List(Vec<String>),
    Text(String),
}

/// A new token: as listed, with its secret (shown once) and how to log in with it.
#[derive(Serialize, ToSchema)]
struct CreatedTokenJson {
    #[serde(flatten)]
    record: TokenJson,
    /// The secret, shown this once.
    token: String,
    docker_login: String,
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

/// Mints an access token of the caller's, never wider than the credential used.
#[utoipa::path(
    post,
    path = "/api/v1/me/tokens",
    tag = "me",
    extensions(("x-regauth-operation" = json!("MintOwnToken"))),
    request_body = NewTokenBody,
    responses(
        (status = 201, description = "Minted", body = CreatedTokenJson),
        (status = 400, description = "A bad body, scopes wider than the credential, or a bad lifetime", body = ErrorBody),
        (status = 409, description = "A token of that name exists", body = ErrorBody),
    )
)]
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
    let answer = CreatedTokenJson {
        record: token_json(&created.record),
        docker_login: format!(
            "docker login -u {} --password-stdin {host}",
            created.record.user.name
        ),
        token: created.secret,
    };
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(answer))
}

/// Revokes one of the caller's access tokens (and the tokens it minted).
#[utoipa::path(
    delete,
    path = "/api/v1/me/tokens/{id}",
    tag = "me",
    extensions(("x-regauth-operation" = json!("RevokeOwnToken"))),
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Not a number", body = ErrorBody),
        (status = 404, description = "No such token of the caller's", body = ErrorBody),
    )
)]
pub async fn revoke_token(
    call: Authorized<RevokeOwnToken>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = path_number(&id, "token")?;
    call.change(move |dir, permit, now| self_service::revoke_token(dir, permit, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
struct LoginList {
    logins: Vec<LoginJson>,
}

/// The caller's live `docker login`s.
#[utoipa::path(
    get,
    path = "/api/v1/me/logins",
    tag = "me",
    extensions(("x-regauth-operation" = json!("ListOwnLogins"))),
    responses((status = 200, description = "The caller's logins", body = LoginList))
)]
pub async fn list_logins(call: Authorized<ListOwnLogins>) -> Result<HttpResponse, HttpError> {
    let logins = call
        .run(|st, permit| self_service::list_logins(st.directory.as_ref(), permit, st.clock.now()))
        .await?;
    Ok(HttpResponse::Ok().json(LoginList {
        logins: logins.iter().map(login_json).collect(),
    }))
}

/// Ends one of the caller's `docker login`s.
#[utoipa::path(
    delete,
    path = "/api/v1/me/logins/{id}",
    tag = "me",
    extensions(("x-regauth-operation" = json!("RevokeOwnLogin"))),
    params(("id" = i64, Path, description = "The login's id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 400, description = "Not a number", body = ErrorBody),
        (status = 404, description = "No such login of the caller's", body = ErrorBody),
    )
)]
pub async fn revoke_login(
    call: Authorized<RevokeOwnLogin>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let id = path_number(&id, "login")?;
    call.change(move |dir, permit, now| self_service::revoke_login(dir, permit, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
