//! Every route regauth serves, in one table the router is built from: method, path,
//! front door and the operation it runs (with that operation's declared needs). It stands
//! above both front doors it mounts (the HTTP API and protocol in `http`, the pages in
//! `web`); the composition root hands `mount` to `front::server`.
//!
//! A route is added with `gated` (the handler's first argument is the front door's
//! extractor, `Authorized<O>` for the API, `Page<O>`/`Form<O>` for the web pages, so the
//! operation is read off the handler's own signature and admission runs before it) or
//! with `open` (an operation that brings its own protocol's credential, or none). No
//! other code mounts routes; the authority test (`tests/authority.rs`) walks this table
//! and README's HTTP table is generated from it (`markdown`).

use actix_web::http::Method;
use actix_web::web::ServiceConfig;
use actix_web::{FromRequest, Handler, Responder};

use crate::app::operations::{
    DescribeApi, IssueToken, Operation, OperationInfo, Probe, PublishKeys, ReceiveNotifications,
    SignIn,
};
pub use crate::infra::front::server::Listener;
use crate::infra::http::gate::{Authorized, Open};
use crate::infra::http::{
    access_requests, admin, api, health, jwks, me, notifications, openapi, sharing, token,
    trust_policies,
};
use crate::infra::web::gate::{Form, Page};
use crate::infra::web::{self as ui, pages};

/// Which door a route belongs to: how it answers and who calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// The registry's side: the token endpoint and the webhook.
    Registry,
    /// Health, readiness, metrics.
    Probe,
    /// The JSON API under `/api/v1` (errcode bodies).
    Api,
    /// The web pages under `/ui` (HTML, sessions, CSRF).
    Web,
}

/// One mounted route.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub front: Front,
    pub operation: OperationInfo,
    route: actix_web::Route,
}

/// The extractor a front door admits requests with, naming the operation.
pub trait Gate {
    type Op: Operation;
    const FRONT: Front;
}

impl<O: Operation> Gate for Authorized<O> {
    type Op = O;
    const FRONT: Front = Front::Api;
}

impl<O: Operation> Gate for Page<O> {
    type Op = O;
    const FRONT: Front = Front::Web;
}

impl<O: Operation> Gate for Form<O> {
    type Op = O;
    const FRONT: Front = Front::Web;
}

/// A handler's arguments whose first is a `Gate`.
pub trait Gated {
    type First: Gate;
}

macro_rules! gated_tuples {
    ($($rest:ident),*) => {
        impl<G: Gate, $($rest),*> Gated for (G, $($rest,)*) {
            type First = G;
        }
    };
}
gated_tuples!();
gated_tuples!(B);
gated_tuples!(B, C);
gated_tuples!(B, C, D);
gated_tuples!(B, C, D, E);

/// A route whose handler admits its callers through its first argument.
fn gated<H, Args>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<Args>,
    Args: FromRequest + Gated + 'static,
    H::Output: Responder + 'static,
{
    Route {
        route: web_route(method.clone()).to(handler),
        method,
        path,
        front: <Args::First as Gate>::FRONT,
        operation: <<Args::First as Gate>::Op as Operation>::INFO,
    }
}

/// A route of an operation that takes no API credential (`Open` refuses, at compile
/// time, an operation declared to need one).
fn open<O: Operation, H, Args>(
    front: Front,
    method: Method,
    path: &'static str,
    handler: H,
) -> Route
where
    H: Handler<Args>,
    Args: FromRequest + 'static,
    H::Output: Responder + 'static,
{
    let _proof: Open<O> = Open::new();
    Route {
        route: web_route(method.clone()).to(handler),
        method,
        path,
        front,
        operation: O::INFO,
    }
}

fn web_route(method: Method) -> actix_web::Route {
    actix_web::web::route().method(method)
}

/// Every route, in the order README lists them.
pub fn table() -> Vec<Route> {
    use Front::{Probe as P, Registry as R};
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );
    vec![
        open::<IssueToken, _, _>(R, get.clone(), "/token", token::get_token),
        open::<IssueToken, _, _>(R, post.clone(), "/token", token::post_token),
        open::<ReceiveNotifications, _, _>(
            R,
            post.clone(),
            "/notifications",
            notifications::receive,
        ),
        open::<PublishKeys, _, _>(R, get.clone(), "/.well-known/jwks.json", jwks::jwks),
        open::<Probe, _, _>(P, get.clone(), "/healthz", health::healthz),
        open::<Probe, _, _>(P, get.clone(), "/readyz", health::readyz),
        open::<Probe, _, _>(P, get.clone(), "/metrics", health::metrics),
        open::<DescribeApi, _, _>(
            Front::Api,
            get.clone(),
            "/api/v1/openapi.json",
            openapi::describe,
        ),
        // The read API and projects.
        gated(get.clone(), "/api/v1/projects", api::list_projects),
        gated(post.clone(), "/api/v1/projects", api::add_project),
        gated(
            get.clone(),
            "/api/v1/projects/{id}/repositories",
            api::project_repositories,
        ),
        gated(get.clone(), "/api/v1/repository", api::repository),
        gated(get.clone(), "/api/v1/repository/tags", api::tags),
        gated(get.clone(), "/api/v1/repository/history", api::history),
        gated(
            post.clone(),
            "/api/v1/projects/{id}/external-repositories",
            api::add_external,
        ),
        gated(
            delete.clone(),
            "/api/v1/external-repositories/{id}",
            api::delete_external,
        ),
        // Sharing and the trash.
        gated(get.clone(), "/api/v1/entities/{id}/acl", sharing::show),
        gated(put.clone(), "/api/v1/entities/{id}/acl", sharing::replace),
        gated(
            delete.clone(),
            "/api/v1/entities/{id}/acl",
            sharing::inherit,
        ),
        gated(
            post.clone(),
            "/api/v1/entities/{id}/trash",
            sharing::move_to_trash,
        ),
        gated(
            post.clone(),
            "/api/v1/entities/{id}/restore",
            sharing::restore,
        ),
        // Trust policies: CI jobs that sign in with their own OIDC token.
        gated(
            get.clone(),
            "/api/v1/projects/{id}/trust-policies",
            trust_policies::list,
        ),
        gated(
            post.clone(),
            "/api/v1/projects/{id}/trust-policies",
            trust_policies::add,
        ),
        gated(
            delete.clone(),
            "/api/v1/projects/{id}/trust-policies/{policy}",
            trust_policies::remove,
        ),
        // Access requests.
        gated(
            post.clone(),
            "/api/v1/entities/{id}/access-requests",
            access_requests::file,
        ),
        gated(
            get.clone(),
            "/api/v1/entities/{id}/access-requests",
            access_requests::inbox,
        ),
        gated(
            get.clone(),
            "/api/v1/me/access-requests",
            access_requests::mine,
        ),
        gated(
            post.clone(),
            "/api/v1/access-requests/{id}/approve",
            access_requests::approve,
        ),
        gated(
            post.clone(),
            "/api/v1/access-requests/{id}/deny",
            access_requests::deny,
        ),
        // One's own account.
        gated(get.clone(), "/api/v1/me", me::me),
        gated(put.clone(), "/api/v1/me/password", me::change_password),
        gated(get.clone(), "/api/v1/me/tokens", me::list_tokens),
        gated(post.clone(), "/api/v1/me/tokens", me::create_token),
        gated(delete.clone(), "/api/v1/me/tokens/{id}", me::revoke_token),
        gated(get.clone(), "/api/v1/me/logins", me::list_logins),
        gated(delete.clone(), "/api/v1/me/logins/{id}", me::revoke_login),
        gated(get.clone(), "/api/v1/me/explain", me::explain),
        // Administration.
        gated(get.clone(), "/api/v1/users", admin::list_users),
        gated(post.clone(), "/api/v1/users", admin::add_user),
        gated(patch, "/api/v1/users/{name}", admin::change_user),
        gated(post.clone(), "/api/v1/teams", admin::add_team),
        gated(
            put,
            "/api/v1/teams/{team}/members/{user}",
            admin::add_member,
        ),
        gated(
            delete,
            "/api/v1/teams/{team}/members/{user}",
            admin::remove_member,
        ),
        // The web pages.
        open::<SignIn, _, _>(Front::Web, get.clone(), "/ui", pages::signin::home),
        open::<SignIn, _, _>(Front::Web, get.clone(), "/ui/", pages::signin::home),
        open::<SignIn, _, _>(Front::Web, get.clone(), "/ui/signin", pages::signin::form),
        open::<SignIn, _, _>(
            Front::Web,
            post.clone(),
            "/ui/signin",
            pages::signin::submit,
        ),
        open::<SignIn, _, _>(
            Front::Web,
            get.clone(),
            "/ui/oidc/{provider}/start",
            pages::oidc::start,
        ),
        open::<SignIn, _, _>(
            Front::Web,
            get.clone(),
            "/ui/oidc/{provider}/callback",
            pages::oidc::callback,
        ),
        gated(post.clone(), "/ui/signout", pages::signin::signout),
        gated(get.clone(), "/ui/tokens", pages::tokens::list),
        gated(post.clone(), "/ui/tokens", pages::tokens::create),
        gated(
            post.clone(),
            "/ui/tokens/{id}/revoke",
            pages::tokens::revoke,
        ),
        gated(get.clone(), "/ui/logins", pages::logins::list),
        gated(
            post.clone(),
            "/ui/logins/{id}/revoke",
            pages::logins::revoke,
        ),
        gated(get.clone(), "/ui/projects", pages::projects::list),
        gated(post.clone(), "/ui/projects", pages::projects::create),
        gated(get.clone(), "/ui/projects/{id}", pages::projects::show),
        gated(get.clone(), "/ui/repository", pages::repository::tags),
        gated(
            get.clone(),
            "/ui/repository/history",
            pages::repository::history,
        ),
        gated(
            get.clone(),
            "/ui/trust-policies",
            pages::trust_policies::show,
        ),
        gated(
            post.clone(),
            "/ui/trust-policies",
            pages::trust_policies::add,
        ),
        gated(
            post.clone(),
            "/ui/trust-policies/{id}/remove",
            pages::trust_policies::remove,
        ),
        gated(get.clone(), "/ui/sharing", pages::sharing::show),
        gated(post.clone(), "/ui/sharing", pages::sharing::replace),
        gated(get.clone(), "/ui/account", pages::account::show),
        gated(
            post.clone(),
            "/ui/account/password",
            pages::account::password,
        ),
        gated(get.clone(), "/ui/admin/users", pages::admin::users),
        gated(get.clone(), "/ui/access", pages::access::show),
        gated(post.clone(), "/ui/access", pages::access::file),
        gated(
            post.clone(),
            "/ui/access/{id}/approve",
            pages::access::decide::<true>,
        ),
        gated(post, "/ui/access/{id}/deny", pages::access::decide::<false>),
        gated(get, "/ui/requests", pages::access::mine),
    ]
}

impl Route {
    /// Whether `listener` serves this route (`/metrics` on the public listener only
    /// when `public_metrics` says so).
    pub fn served_on(&self, listener: Listener, public_metrics: bool) -> bool {
        match (listener, self.path) {
            (Listener::Internal, path) => {
                matches!(path, "/notifications" | "/healthz" | "/metrics")
            }
            (Listener::Public, "/notifications") => false,
            (_, "/metrics") => public_metrics,
            _ => true,
        }
    }
}

/// Mounts the routes `listener` serves; the web pages go in their scope, with the
/// pages' security headers and their own "no such page".
pub fn mount(cfg: &mut ServiceConfig, listener: Listener, public_metrics: bool) {
    let mut ui_scope = actix_web::web::scope("/ui").wrap(ui::layout::headers());
    let mut any_page = false;
    for r in table() {
        if !r.served_on(listener, public_metrics) {
            continue;
        }
        match r.front {
            Front::Web => {
                any_page = true;
                let rel = r.path.strip_prefix("/ui").unwrap_or(r.path);
                ui_scope = ui_scope.route(rel, r.route);
            }
            _ => {
                cfg.route(r.path, r.route);
            }
        }
    }
    if any_page {
        cfg.service(ui_scope.default_service(actix_web::web::to(ui::not_found)));
    }
}

/// README's HTTP table: method, path, front door, operation, what it needs.
pub fn markdown() -> String {
    let mut out = String::from(
        "| method | path | operation | needs | beside a Synapse |\n|---|---|---|---|---|\n",
    );
    for r in table() {
        let synapse = match r.operation.needs.owner {
            crate::domain::authz::needs::Owner::Synapse => "405",
            crate::domain::authz::needs::Owner::Regauth => "",
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            r.method,
            r.path,
            r.operation.name,
            r.operation.needs.describe(),
            synapse
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_and_path_is_mounted_once() {
        let mut seen: Vec<_> = table()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!(before, seen.len());
    }

    #[test]
    fn fronts_match_paths() {
        for r in table() {
            let expected = match r.path {
                p if p.starts_with("/api/") => Front::Api,
                p if p.starts_with("/ui") => Front::Web,
                "/token" | "/notifications" | "/.well-known/jwks.json" => Front::Registry,
                _ => Front::Probe,
            };
            assert_eq!(r.front, expected, "{} {}", r.method, r.path);
        }
    }

    /// README's table of who may call what is this table's: a change of route or of
    /// an operation's needs changes README in the same commit.
    #[test]
    fn readme_shows_every_route_with_its_declared_needs() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
        )
        .expect("README.md");
        let (begin, end) = ("<!-- routes:begin -->\n", "<!-- routes:end -->");
        let shown = readme
            .split_once(begin)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(table, _)| table)
            .expect("README.md has the routes markers");
        assert!(
            shown == markdown(),
            "README.md's routes table is stale; put this between the markers:\n{}",
            markdown()
        );
    }

    /// No route is mounted anywhere but from the table: a handler added with
    /// `cfg.route` elsewhere would escape the authority test.
    #[test]
    fn nothing_else_mounts_routes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.ends_with("infra/routes.rs") || path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable");
                for needle in [
                    ".route(",
                    "web::resource(",
                    "web::scope(",
                    ".default_service(",
                ] {
                    if text.contains(needle) && !path.ends_with("front/mod.rs") {
                        offenders.push(format!("{}: {needle}", path.display()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "routes mounted outside routes.rs: {offenders:?}"
        );
    }
}
