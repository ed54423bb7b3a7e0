//! The route table beside a Synapse (the contract server `tests/synapse`): every change
//! an operation declares Synapse's (`Owner::Synapse`) is refused with 405 `UNSUPPORTED`
//! through the API and the web pages alike, for the operator's own admin account too,
//! and changes nothing in the local directory; anonymous callers are still asked to
//! sign in first, and what regauth keeps in this mode still answers.

mod common;
mod synapse;

use regauth::domain::authz::needs::{Owner, Who};
use regauth::infra::routes::{self, Front, Route};
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use reqwest::Method;
use serde_json::Value;

use common::{Stack, PASSWORD};
use synapse::FakeSynapse;

/// The route's path with placeholders filled: the gate refuses before anything is
/// looked up, so no fixture is needed.
fn filled(route: &Route) -> String {
    route
        .path
        .replace("{id}", "syn1")
        .replace("{name}", "root")
        .replace("{team}", "devs")
        .replace("{user}", "root")
        .replace("{policy}", "1")
}

fn api(stack: &Stack, route: &Route, user: Option<&str>) -> Response {
    let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
    let mut r = Client::new()
        .request(method, stack.url(&filled(route)))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(u) = user {
        r = r.basic_auth(u, Some(PASSWORD));
    }
    r.send().expect("request")
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    let end = html[start..].find('"').expect("end");
    html[start..start + end].to_string()
}

/// A browser signed in as the operator's admin account, and its CSRF token.
fn session(stack: &Stack) -> (Client, String) {
    let c = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client");
    let form = c.get(stack.url("/ui/signin")).send().expect("form");
    let token = hidden(&form.text().expect("page"), "csrf");
    let r = c
        .post(stack.url("/ui/signin"))
        .form(&[("user", "root"), ("password", PASSWORD), ("csrf", &token)])
        .send()
        .expect("sign in");
    assert_eq!(r.status(), 303, "sign in beside Synapse");
    let page = c.get(stack.url("/ui/tokens")).send().expect("tokens");
    let csrf = hidden(&page.text().expect("page"), "csrf");
    (c, csrf)
}

/// What the local directory holds, as the operator's CLI lists it.
fn snapshot(stack: &Stack) -> String {
    let audit: Vec<Value> = stack
        .ok(&["audit", "--json", "--limit", "1000"])
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &Value| {
            let kind = r["event"]["kind"].as_str().unwrap_or("");
            !matches!(kind, "token_issued" | "login_failed")
        })
        .collect();
    format!(
        "{}\n{}\n{:?}",
        stack.ok(&["user", "list"]),
        stack.ok(&["project", "list"]),
        audit
    )
}

#[test]
fn every_change_synapse_owns_is_405_through_every_door_and_changes_nothing() {
    let fake = FakeSynapse::start();
    let stack = Stack::beside_synapse(&fake.base_url(), fake.registry_host(), None, "");
    let before = snapshot(&stack);
    let mut wrong = Vec::new();
    let mut refused = 0;
    for route in routes::table() {
        let needs = route.operation.needs;
        if !needs.takes_api_credentials() {
            continue;
        }
        let what = format!("{} {} ({})", route.method, route.path, route.operation.name);
        match route.front {
            Front::Api => {
                let anonymous = api(&stack, &route, None).status().as_u16();
                if needs.who != Who::Anyone && anonymous != 401 {
                    wrong.push(format!("{what} anonymous: {anonymous}, wanted 401"));
                }
                let r = api(&stack, &route, Some("root"));
                let status = r.status().as_u16();
                if needs.owner == Owner::Synapse {
                    refused += 1;
                    let body: Value = r.json().unwrap_or_default();
                    let code = body["errors"][0]["code"].as_str().unwrap_or("");
                    if status != 405 || code != "UNSUPPORTED" {
                        wrong.push(format!("{what} as root: {status} {code}, wanted 405"));
                    }
                } else if status == 405 || status >= 500 {
                    wrong.push(format!("{what} as root: {status}, kept by regauth"));
                }
            }
            Front::Web if route.method == "POST" && needs.owner == Owner::Synapse => {
                refused += 1;
                let (c, csrf) = session(&stack);
                let r = c
                    .post(stack.url(&filled(&route).replace("syn1", "1")))
                    .form(&[("csrf", csrf.as_str()), ("entity", "syn1"), ("name", "x")])
                    .send()
                    .expect("form");
                if r.status() != 405 {
                    wrong.push(format!("{what} as root's session: {}", r.status()));
                }
            }
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(
        refused >= 20,
        "only {refused} changes Synapse owns were tried"
    );
    assert_eq!(
        snapshot(&stack),
        before,
        "a refused change changed something"
    );
}
