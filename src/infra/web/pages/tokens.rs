//! My access tokens (`/ui/tokens`): the list with scopes, expiry and last use, a form
//! to mint one (`self_service::create_token`) whose secret is shown once with the exact
//! `docker login` line, and a revoke button per token (`self_service::revoke_token`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};

use crate::app::operations::{ListOwnTokens, MintOwnToken, RevokeOwnToken};
use crate::app::self_service;
use crate::domain::model::{AccessTokenRecord, ScopeSet};
use crate::infra::front::admitted::Admitted;
use crate::infra::front::form::path_number;
use crate::infra::web::errors::{see_other, WebError};
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::{layout, registry_host, Visit};

/// The expiries offered; any `parse_lifetime` text (`45d`) is accepted too.
const EXPIRIES: [(&str, &str); 6] = [
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("365d", "1 year"),
    ("1d", "1 day"),
    ("never", "never"),
];
const SCOPES: [(&str, &str); 4] = [
    ("view", "view: list projects, repositories and tags"),
    ("download", "download: pull images"),
    ("modify", "modify: push images, create projects"),
    ("authorize", "authorize: share, mint tokens"),
];

fn status(t: &AccessTokenRecord, now: i64) -> &'static str {
    if t.revoked {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

fn create_form(visit: &Visit) -> Markup {
    html! {
        h2 { "New access token" }
        form.stack method="post" action="/ui/tokens" {
            (layout::csrf_field(&visit.session.csrf))
            label for="name" { "Name" }
            input #name type="text" name="name" maxlength="100" required placeholder="e.g. ci-pull";
            fieldset {
                legend { "Scopes" }
                @for (value, text) in SCOPES {
                    label {
                        input type="checkbox" name="scopes" value=(value)
                            checked[value == "view" || value == "download"];
                        " " (text)
                    }
                    br;
                }
            }
            label for="expires_in" { "Expires after" }
            select #expires_in name="expires_in" {
                @for (value, text) in EXPIRIES {
                    option value=(value) selected[value == "30d"] { (text) }
                }
            }
            div { button type="submit" { "Create token" } }
        }
    }
}

fn list_page(visit: &Visit, tokens: &[AccessTokenRecord], now: i64) -> Markup {
    let body = html! {
        h1 { "My access tokens" }
        p { "Access tokens stand in for your password in " code { "docker login" }
            " and CI jobs, with only the scopes you give them." }
        @if tokens.is_empty() {
            p.muted { "You have no access tokens yet." }
        } @else {
            div.table { table {
                thead { tr { th { "Name" } th { "Scopes" } th { "Expires" } th { "Created" }
                             th { "Last used" } th { "Status" } th { span.muted { "Action" } } } }
                tbody {
                    @for t in tokens {
                        tr {
                            td.token-name { (t.name) }
                            td { (t.scopes) }
                            td { (layout::when(t.expires_at)) }
                            td { (layout::when(Some(t.created_at))) }
                            td { (layout::when(t.last_used_at)) }
                            td { (status(t, now)) }
                            td {
                                @if !t.revoked {
                                    form method="post" action={ "/ui/tokens/" (t.id) "/revoke" } {
                                        (layout::csrf_field(&visit.session.csrf))
                                        button.danger type="submit" aria-label={ "Revoke token " (t.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        (create_form(visit))
    };
    layout::page(Some(&visit.nav()), "My access tokens", body)
}

pub async fn list(page: Page<ListOwnTokens>) -> Result<HttpResponse, WebError> {
    let tokens = page.read(self_service::list_tokens).await?;
    let now = page.state.clock.now();
    Ok(layout::ok(list_page(&page.visit, &tokens, now)))
}

/// Mints a token and shows its secret, once (this answer is never cached).
pub async fn create(form: Form<MintOwnToken>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let Form { page, params } = form;
    let name = params.owned("name").unwrap_or_default();
    let scopes = ScopeSet::parse_list(&params.all("scopes").join(","))
        .map_err(|e| WebError::bad_request(format!("scopes: {e} (tick at least one)")))?;
    let expires_in = match params.get("expires_in").unwrap_or("never") {
        "never" => None,
        text => Some(
            crate::domain::model::parse_lifetime(text)
                .map_err(|e| WebError::bad_request(format!("expires after: {e}")))?,
        ),
    };
    let created = page
        .change(move |dir, permit, now| {
            self_service::create_token(dir, permit, &name, scopes, expires_in, now)
        })
        .await?;
    let host = registry_host(&page.state, &req);
    // The secret never goes on the command line (where the shell's history keeps it):
    // docker asks for it, and the token is pasted at its prompt.
    let login = format!("docker login -u {} {host}", created.record.user.name);
    let body = html! {
        h1 { "Token created" }
        p.notice role="status" {
            strong { "Copy the token now: " } "it is shown only this once and cannot be shown again."
        }
        dl {
            dt { "Name" } dd { (created.record.name) }
            dt { "Scopes" } dd { (created.record.scopes) }
            dt { "Expires" } dd { (layout::when(created.record.expires_at)) }
        }
        h2 { "Token" }
        (layout::copyable("token-secret", &created.secret))
        h2 { "Log in with it" }
        (layout::copyable("docker-login", &login))
        p.muted { "Paste the token at docker's " code { "Password:" } " prompt. In a script, pipe it from a secret store or an environment variable into "
            code { "docker login --password-stdin" } ", never from the command line." }
        p { a href="/ui/tokens" { "Back to my access tokens" } }
    };
    Ok(layout::respond(
        &mut HttpResponse::build(StatusCode::CREATED),
        layout::page(Some(&page.visit.nav()), "Token created", body),
    ))
}

/// Path parameter `{id}` as a number.
pub(super) fn id_param(req: &HttpRequest, what: &str) -> Result<i64, WebError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    Ok(path_number(raw, what)?)
}

pub async fn revoke(
    form: Form<RevokeOwnToken>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let id = id_param(&req, "token")?;
    form.page
        .change(move |dir, permit, now| self_service::revoke_token(dir, permit, id, now))
        .await?;
    Ok(see_other("/ui/tokens"))
}
