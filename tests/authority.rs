//! One table proves it: every route the server mounts (`routes::table()`, the table
//! the router is built from) is run by every kind of caller, and each answer must be
//! the one its operation's declared needs promise (401, 403, 404, or success).
//!
//! API callers: anonymous; an admin's password; the admin's access token with each
//! single scope (`download` alone is a CI pull token); a user without the admin role;
//! a user with no access to the fixtures; a revoked token; a disabled user. Web pages:
//! no session, and the sessions of the admin, the user and the stranger; every form
//! also without its CSRF token, with another session's, and from a foreign origin.

mod common;
mod route_table;

use regauth::infra::routes::{self, Front, Listener, Route};
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use reqwest::Method;

use common::{NOTIFY_SECRET, PASSWORD};
use route_table::{sample, want_api, want_signed_in, Body, Kind, Want, World, API_CALLERS};

fn method(route: &Route) -> Method {
    Method::from_bytes(route.method.as_str().as_bytes()).expect("method")
}

fn matches(want: Want, got: &Response, operation: &str) -> bool {
    let status = got.status().as_u16();
    let to = got
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match want {
        Want::Status(s) => status == s,
        Want::SignInPage => status == 303 && to == "/ui/signin",
        Want::Success => {
            (200..300).contains(&status)
                || (status == 303 && (to != "/ui/signin" || operation == "SignOut"))
        }
    }
}

/// Sends the sample of `route` as an API caller of `kind`.
fn call_api(w: &World, route: &Route, kind: Kind) -> Response {
    let s = sample(w, route, kind);
    let mut r = w.client.request(method(route), w.stack.url(&s.path));
    // The OAuth2 form carries its own credentials; the rest take the caller's.
    if !matches!(s.body, Body::Form(_)) {
        r = w.as_kind(r, kind);
    }
    r = match s.body {
        Body::Json(v) => r
            .header("content-type", "application/json")
            .body(v.to_string()),
        Body::None if route.method != "GET" => r.header("content-type", "application/json"),
        Body::Form(f) => r.form(&f),
        Body::None | Body::Page(_) => r,
    };
    r.send().expect("request")
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The value of the first hidden field `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    let end = html[start..].find('"').expect("end");
    html[start..start + end].to_string()
}

/// A browser signed in as `user`, and its session's CSRF token.
fn session(w: &World, user: &str) -> (Client, String) {
    let c = browser();
    let page = c.get(w.stack.url("/ui/signin")).send().expect("form");
    let token = hidden(&page.text().expect("page"), "csrf");
    let r = c
        .post(w.stack.url("/ui/signin"))
        .form(&[("user", user), ("password", PASSWORD), ("csrf", &token)])
        .send()
        .expect("sign in");
    assert_eq!(r.status(), 303, "sign-in as {user}");
    let tokens = c.get(w.stack.url("/ui/tokens")).send().expect("tokens");
    let csrf = hidden(&tokens.text().expect("page"), "csrf");
    (c, csrf)
}

/// How a form is sent: as it should be, or with one thing wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgery {
    None,
    NoToken,
    OtherSessionsToken,
    ForeignOrigin,
}

fn call_web(w: &World, route: &Route, kind: Kind, forgery: Forgery) -> Response {
    let s = sample(w, route, kind);
    let (client, csrf) = match kind.user() {
        Some(user) if kind != Kind::Anonymous => session(w, user),
        _ => (browser(), String::new()),
    };
    let url = w.stack.url(&s.path);
    match s.body {
        Body::Page(mut fields) => {
            match forgery {
                Forgery::None | Forgery::ForeignOrigin => fields.push(("csrf".into(), csrf)),
                Forgery::NoToken => {}
                Forgery::OtherSessionsToken => {
                    fields.push(("csrf".into(), session(w, "carol").1));
                }
            }
            let mut r = client.post(url).form(&fields);
            if forgery == Forgery::ForeignOrigin {
                r = r.header("origin", "https://evil.example");
            }
            r.send().expect("form")
        }
        _ => client.get(url).send().expect("page"),
    }
}

#[test]
fn every_route_answers_every_caller_as_its_operation_declares() {
    let w = World::new();
    let mut wrong = Vec::new();
    let mut answers = 0;
    let mut check = |route: &Route, who: String, want: Want, got: Response| {
        answers += 1;
        if !matches(want, &got, route.operation.name) {
            wrong.push(format!(
                "{} {} ({}) as {who}: wanted {want:?}, got {}",
                route.method,
                route.path,
                route.operation.name,
                got.status()
            ));
        }
    };
    for route in routes::table() {
        let op = route.operation.name;
        if !route.served_on(Listener::PublicWithWebhook, false) {
            let got = call_api(&w, &route, Kind::Anonymous);
            check(
                &route,
                "anyone (not mounted here)".into(),
                Want::Status(404),
                got,
            );
            continue;
        }
        if route.front != Front::Web {
            for kind in API_CALLERS {
                let want = match route.path {
                    "/token" if route.method == "POST" => Want::Success,
                    _ => want_api(&route.operation.needs, kind, op),
                };
                check(
                    &route,
                    format!("{kind:?}"),
                    want,
                    call_api(&w, &route, kind),
                );
            }
            continue;
        }
        if !route.operation.needs.takes_api_credentials() {
            continue; // the sign-in pages: below
        }
        let got = call_web(&w, &route, Kind::Anonymous, Forgery::None);
        check(&route, "no session".into(), Want::SignInPage, got);
        for kind in [Kind::Admin, Kind::User, Kind::Stranger] {
            let want = want_signed_in(&route.operation.needs, kind, op);
            let got = call_web(&w, &route, kind, Forgery::None);
            check(&route, format!("{kind:?} session"), want, got);
        }
        if route.method == "POST" {
            for forgery in [
                Forgery::NoToken,
                Forgery::OtherSessionsToken,
                Forgery::ForeignOrigin,
            ] {
                let got = call_web(&w, &route, Kind::Admin, forgery);
                check(&route, format!("{forgery:?}"), Want::Status(403), got);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {answers} answers differ from the declarations:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(answers > 400, "only {answers} answers checked");
}

#[test]
fn the_sign_in_form_and_the_webhook_take_only_their_own_credentials() {
    let w = World::new();
    let c = browser();
    for path in ["/ui", "/ui/"] {
        let r = c.get(w.stack.url(path)).send().expect("home");
        assert_eq!(r.status(), 303);
    }
    // Without the double-submit cookie, and from another origin: refused.
    let bare = browser()
        .post(w.stack.url("/ui/signin"))
        .form(&[("user", "root"), ("password", PASSWORD), ("csrf", "x")])
        .send()
        .expect("sign in");
    assert_eq!(bare.status(), 403);
    let page = c.get(w.stack.url("/ui/signin")).send().expect("form");
    assert_eq!(page.status(), 200);
    let token = hidden(&page.text().expect("page"), "csrf");
    let fields = [("user", "root"), ("password", PASSWORD), ("csrf", &token)];
    let foreign = c
        .post(w.stack.url("/ui/signin"))
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .expect("sign in");
    assert_eq!(foreign.status(), 403);
    let good = c
        .post(w.stack.url("/ui/signin"))
        .form(&fields)
        .send()
        .expect("sign in");
    assert_eq!(good.status(), 303);
    // The webhook answers its own secret only.
    let hook = w
        .client
        .post(w.stack.url("/notifications"))
        .header("authorization", format!("Bearer {NOTIFY_SECRET}"))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .body(r#"{"events":[]}"#)
        .send()
        .expect("hook");
    assert_eq!(hook.status(), 200);
}
