//! Administration over HTTP (admins only): users and teams. The same use cases as the
//! CLI (`app::administer`); the operations declare an admin, and `view` to read or
//! `authorize` to change (`app::operations`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::gate::Authorized;
use crate::app::administer::{teams, users};
use crate::app::operations::{
    AddTeam, AddTeamMember, AddUser, ChangeUser, ListUsers, RemoveTeamMember,
};
use crate::domain::model::User;
use crate::infra::front::errors::HttpError;

pub fn user_json(u: &User) -> Value {
    json!({"name": u.name, "email": u.email, "certified": u.certified,
           "admin": u.admin, "disabled": u.disabled})
}

pub async fn list_users(call: Authorized<ListUsers>) -> Result<HttpResponse, HttpError> {
    let list = call
        .run(|st, permit| users::list(st.directory.as_ref(), permit))
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

pub async fn add_user(
    call: Authorized<AddUser>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let b: NewUser = super::json::read(&call.state, &req, payload).await?;
    let user = call
        .run(move |st, permit| {
            let request = users::UserRequest {
                name: &b.name,
                password: b.password.as_deref(),
                certified: b.certified,
                admin: b.admin,
                email: b.email.as_deref(),
            };
            users::add(st.directory.as_ref(), permit, request, st.clock.now())
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

pub async fn change_user(
    call: Authorized<ChangeUser>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let name = name.into_inner();
    let b: UserPatch = super::json::read(&call.state, &req, payload).await?;
    let done = call
        .run(move |st, permit| {
            let changes = users::UserChanges {
                certified: b.certified,
                admin: b.admin,
                disabled: b.disabled,
                password: b.password,
                email: b.email,
                revoke_access_tokens: b.revoke_tokens,
            };
            users::set(
                st.directory.as_ref(),
                permit,
                &name,
                changes,
                st.clock.now(),
            )
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

pub async fn add_team(
    call: Authorized<AddTeam>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let b: NewTeam = super::json::read(&call.state, &req, payload).await?;
    let name = call
        .run(move |st, permit| {
            teams::add(st.directory.as_ref(), permit, &b.name, st.clock.now())?;
            Ok(b.name)
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({ "name": name })))
}

pub async fn add_member(
    call: Authorized<AddTeamMember>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (team, user) = path.into_inner();
    call.run(move |st, permit| {
        teams::add_member(st.directory.as_ref(), permit, &team, &user, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_member(
    call: Authorized<RemoveTeamMember>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (team, user) = path.into_inner();
    call.run(move |st, permit| {
        teams::remove_member(st.directory.as_ref(), permit, &team, &user, st.clock.now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
