//! Administration over HTTP (admins only): users and teams. The same use cases as the
//! CLI (`app::administer`); the operations declare an admin, and `view` to read or
//! `authorize` to change (`app::operations`).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::gate::Authorized;
use crate::app::administer::{teams, users};
use crate::app::operations::{
    AddTeam, AddTeamMember, AddUser, ChangeUser, ListUsers, RemoveTeamMember,
};
use crate::domain::model::User;
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::HttpError;

pub fn user_json(u: &User) -> Value {
    json!({"name": u.name, "email": u.email, "certified": u.certified,
           "admin": u.admin, "disabled": u.disabled})
}

pub async fn list_users(call: Authorized<ListUsers>) -> Result<HttpResponse, HttpError> {
    let list = call.read(users::list).await?;
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

pub async fn add_user(mut call: Authorized<AddUser>) -> Result<HttpResponse, HttpError> {
    let b: NewUser = call.json().await?;
    let user = call
        .change(move |dir, permit, now| {
            let request = users::UserRequest {
                name: &b.name,
                password: b.password.as_deref(),
                certified: b.certified,
                admin: b.admin,
                email: b.email.as_deref(),
            };
            users::add(dir, permit, request, now)
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
    mut call: Authorized<ChangeUser>,
    name: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let name = name.into_inner();
    let b: UserPatch = call.json().await?;
    let done = call
        .change(move |dir, permit, now| {
            let changes = users::UserChanges {
                certified: b.certified,
                admin: b.admin,
                disabled: b.disabled,
                password: b.password,
                email: b.email,
                revoke_access_tokens: b.revoke_tokens,
            };
            users::set(dir, permit, &name, changes, now)
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

pub async fn add_team(mut call: Authorized<AddTeam>) -> Result<HttpResponse, HttpError> {
    let b: NewTeam = call.json().await?;
    let name = call
        .change(move |dir, permit, now| {
            teams::add(dir, permit, &b.name, now)?;
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
    call.change(move |dir, permit, now| teams::add_member(dir, permit, &team, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_member(
    call: Authorized<RemoveTeamMember>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (team, user) = path.into_inner();
    call.change(move |dir, permit, now| teams::remove_member(dir, permit, &team, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
