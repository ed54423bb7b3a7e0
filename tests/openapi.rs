//! The OpenAPI document of `/api/v1`: every mounted API route is documented with the
//! operation it runs, nothing else is, and the real server serves `docs/openapi.json`
//! byte for byte (`REGAUTH_BLESS=1 cargo test --test openapi` rewrites the file).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use regauth::infra::http::openapi::{document, operation_of};
use regauth::infra::routes;

/// `/api/v1/projects/{id}/trust-policies/{policy}` → `/api/v1/projects/{}/trust-policies/{}`.
fn normalised(path: &str) -> String {
    let mut out = String::new();
    let mut in_braces = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_braces = true;
                out.push_str("{}");
            }
            '}' => in_braces = false,
            _ if in_braces => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn every_api_route_is_documented_with_its_operation_and_nothing_else_is() {
    let mounted: BTreeMap<String, &str> = routes::table()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| {
            (
                format!("{} {}", r.method, normalised(r.path)),
                r.operation.name,
            )
        })
        .collect();
    let doc = document();
    let mut documented = BTreeMap::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ];
        for (method, op) in ops
            .into_iter()
            .filter_map(|(m, op)| Some((m, op.as_ref()?)))
        {
            let name = operation_of(op).map_or("(none)", |o| o.name);
            documented.insert(format!("{method} {}", normalised(path)), name);
        }
    }
    let missing: Vec<_> = mounted
        .keys()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let unmounted: Vec<_> = documented
        .keys()
        .filter(|k| !mounted.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "mounted but not documented: {missing:?}"
    );
    assert!(
        unmounted.is_empty(),
        "documented but not mounted: {unmounted:?}"
    );
    for (route, name) in &mounted {
        assert_eq!(
            documented[route], *name,
            "{route}: the document names another operation than the table"
        );
    }
    assert!(mounted.len() >= 36, "only {} API routes", mounted.len());
}

#[test]
fn the_server_serves_the_committed_document_to_anyone() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let stack = Stack::regauth_only();
    let client = reqwest::blocking::Client::new();
    let r = client
        .get(stack.url("/api/v1/openapi.json"))
        .send()
        .expect("openapi.json");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let served = r.text().expect("body");
    // A bad credential is not asked for, so not refused.
    let with_bad = client
        .get(stack.url("/api/v1/openapi.json"))
        .basic_auth("root", Some("wrong"))
        .send()
        .expect("openapi.json");
    assert_eq!(with_bad.status(), 200);
    let doc: serde_json::Value = serde_json::from_str(&served).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    if std::env::var_os("REGAUTH_BLESS").is_some() {
        std::fs::write(&committed, &served).expect("write docs/openapi.json");
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == served,
        "docs/openapi.json differs from what the server serves: regenerate it with \
         `REGAUTH_BLESS=1 cargo test --test openapi` and commit it"
    );
}
