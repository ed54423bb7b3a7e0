//! Administration over HTTP (admins only): users and teams. The same use cases as the
//! CLI (`app::administer`), which refuse anyone but an admin.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::api::{as_caller, as_caller_body};
use super::errors::HttpError;
use super::AppState;
use crate::app::administer::{teams, users};
use crate::domain::model::User;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/users", web::get().to(list_users))
        .route("/api/v1/users", web::post().to(add_user))
        .route("/api/v1/users/{name}", web::patch().to(change_user))
        .route("/api/v1/teams", web::post().to(add_team))
        .route(
            "/api/v1/teams/{team}/members/{user}",
            web::put().to(add_member),
        )
        .route(
            "/api/v1/teams/{team}/members/{user}",
            web::delete().to(remove_member),
        );
}

pub fn user_json(u: &User) -> Value {
    json!({"name": u.name, "email": u.email, "certified": u.certified,
           "admin": u.admin, "disabled": u.disabled})
}

async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let list = as_caller(&state, &req, |st, actor| {
        users::list(st.directory.as_ref(), actor)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({"users": list.iter().map(user_json).collect::<Vec<_>>()})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    /// Absent: a token-only user.
    password: Option<String>,
    #[serde(default)]
    certified: bool,
    #[serde(default)]
    admin: bool,
    email: Option<String>,
}

async fn add_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let user = as_caller_body(&state, &req, payload, |st, actor, b: NewUser| {
        let request = users::UserRequest {
            name: &b.name,
            password: b.password.as_deref(),
            certified: b.certified,
            admin: b.admin,
            email: b.email.as_deref(),
        };
        users::add(st.directory.as_ref(), actor, request, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::Created().json(user_json(&user)))
}

/// `null` and absent differ for `email`: `null` removes the address.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    certified: Option<bool>,
    admin: Option<bool>,
    disabled: Option<bool>,
    /// A password reset: every `docker login` of the user ends.
    password: Option<String>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default)]
    revoke_tokens: bool,
}

async fn change_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let name = name.into_inner();
    let done = as_caller_body(&state, &req, payload, move |st, actor, b: UserPatch| {
        let changes = users::UserChanges {
            certified: b.certified,
            admin: b.admin,
            disabled: b.disabled,
            password: b.password,
            email: b.email,
            revoke_access_tokens: b.revoke_tokens,
        };
        users::set(st.directory.as_ref(), actor, &name, changes, st.clock.now())
    })
    .await?;
    let mut answer = user_json(&done.user);
    answer["refresh_tokens_revoked"] = done.refresh_tokens_ended.into();
    answer["access_tokens_revoked"] = done.access_tokens_ended.into();
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: String,
}

async fn add_team(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let name = as_caller_body(&state, &req, payload, |st, actor, b: NewTeam| {
        teams::add(st.directory.as_ref(), actor, &b.name, st.clock.now())?;
        Ok(b.name)
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({ "name": name })))
}

async fn add_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (team, user) = path.into_inner();
    as_caller(&state, &req, move |st, actor| {
        teams::add_member(st.directory.as_ref(), actor, &team, &user, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn remove_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (team, user) = path.into_inner();
    as_caller(&state, &req, move |st, actor| {
        teams::remove_member(st.directory.as_ref(), actor, &team, &user, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
