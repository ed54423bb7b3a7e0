//! Administration over HTTP (admins only): users and teams. The same use cases as the
//! CLI (`app::administer`); the operations declare an admin, and `view` to read or
//! `authorize` to change (`app::operations`).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::gate::Authorized;
use crate::app::administer::{teams, users};
use crate::app::operations::{
    AddTeam, AddTeamMember, AddUser, ChangeUser, ListUsers, RemoveTeamMember,
};
use crate::domain::model::User;
use crate::infra::front::admitted::Admitted;
use crate::infra::front::errors::HttpError;
use crate::infra::http::error_body::ErrorBody;

#[derive(Serialize, ToSchema)]
pub struct UserJson {
    name: String,
    email: Option<String>,
    certified: bool,
    admin: bool,
    disabled: bool,
}

pub fn user_json(u: &User) -> UserJson {
    UserJson {
        name: u.name.clone(),
        email: u.email.clone(),
        certified: u.certified,
        admin: u.admin,
        disabled: u.disabled,
    }
}

#[derive(Serialize, ToSchema)]
struct UserList {
    users: Vec<UserJson>,
}

/// Every user.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "admin",
    extensions(("x-regauth-operation" = json!("ListUsers"))),
    responses((status = 200, description = "Every user", body = UserList))
)]
pub async fn list_users(call: Authorized<ListUsers>) -> Result<HttpResponse, HttpError> {
    let list = call.read(users::list).await?;
    Ok(HttpResponse::Ok().json(UserList {
        users: list.iter().map(user_json).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
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

/// Adds a user.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "admin",
    extensions(("x-regauth-operation" = json!("AddUser"))),
    request_body = NewUser,
    responses(
        (status = 201, description = "Added", body = UserJson),
        (status = 400, description = "A bad body, name, address or password", body = ErrorBody),
        (status = 409, description = "A user of that name exists", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    certified: Option<bool>,
    admin: Option<bool>,
    disabled: Option<bool>,
    /// A password reset: every `docker login` of the user ends.
    password: Option<String>,
    /// `null` removes the address; absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    /// Also revoke every access token of the user.
    #[serde(default)]
    revoke_tokens: bool,
}

/// A user as changed, with the credentials the change ended.
#[derive(Serialize, ToSchema)]
struct ChangedUser {
    #[serde(flatten)]
    user: UserJson,
    refresh_tokens_revoked: usize,
    access_tokens_revoked: usize,
}

/// Changes a user: certification, admin, disabled, password, e-mail.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{name}",
    tag = "admin",
    extensions(("x-regauth-operation" = json!("ChangeUser"))),
    params(("name" = String, Path, description = "The user's name")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "Changed", body = ChangedUser),
        (status = 400, description = "A bad body, address or password", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The e-mail address is another user's", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Ok().json(ChangedUser {
        user: user_json(&done.user),
        refresh_tokens_revoked: done.refresh_tokens_ended,
        access_tokens_revoked: done.access_tokens_ended,
    }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: String,
}

/// Adds a team.
#[utoipa::path(
    post,
    path = "/api/v1/teams",
    tag = "admin",
    extensions(("x-regauth-operation" = json!("AddTeam"))),
    request_body = NewTeam,
    responses(
        (status = 201, description = "Added", body = NewTeam),
        (status = 400, description = "A bad body or name", body = ErrorBody),
        (status = 409, description = "A team of that name exists", body = ErrorBody),
    )
)]
pub async fn add_team(mut call: Authorized<AddTeam>) -> Result<HttpResponse, HttpError> {
    let b: NewTeam = call.json().await?;
    let name = call
        .change(move |dir, permit, now| {
            teams::add(dir, permit, &b.name, now)?;
            Ok(b.name)
        })
        .await?;
    Ok(HttpResponse::Created().json(NewTeam { name }))
}

/// Makes a user a member of a team.
#[utoipa::path(
    put,
    path = "/api/v1/teams/{team}/members/{user}",
    tag = "admin",
    extensions(("x-regauth-operation" = json!("AddTeamMember"))),
    params(
        ("team" = String, Path, description = "The team's name"),
        ("user" = String, Path, description = "The user's name"),
    ),
    responses(
        (status = 204, description = "A member"),
        (status = 400, description = "A bad name", body = ErrorBody),
        (status = 404, description = "No such team or user", body = ErrorBody),
    )
)]
pub async fn add_member(
    call: Authorized<AddTeamMember>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (team, user) = path.into_inner();
    call.change(move |dir, permit, now| teams::add_member(dir, permit, &team, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a user from a team.
#[utoipa::path(
    delete,
    path = "/api/v1/teams/{team}/members/{user}",
    tag = "admin",
    extensions(("x-regauth-operation" = json!("RemoveTeamMember"))),
    params(
        ("team" = String, Path, description = "The team's name"),
        ("user" = String, Path, description = "The user's name"),
    ),
    responses(
        (status = 204, description = "Not a member"),
        (status = 400, description = "A bad name", body = ErrorBody),
        (status = 404, description = "No such team or user", body = ErrorBody),
    )
)]
pub async fn remove_member(
    call: Authorized<RemoveTeamMember>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (team, user) = path.into_inner();
    call.change(move |dir, permit, now| teams::remove_member(dir, permit, &team, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
