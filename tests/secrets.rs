//! Secrets never reach a log or the audit trail. An end-to-end run through the real
//! registry and skopeo uses every kind of secret regauth handles — passwords (also in
//! base64 Basic headers), personal access tokens, refresh tokens, the notification
//! secret, the JWTs it signs — then searches regauth's log, its audit trail (as the CLI
//! prints it) and the whole SQLite file for each: zero occurrences.

mod common;

use base64::Engine;
use common::*;
use reqwest::blocking::Client;
use serde_json::Value;

#[test]
fn no_secret_in_the_log_the_audit_trail_or_the_database() {
    let stack = Stack::with_registry();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("secrets", "alice");
    let access_token = stack.token("alice", "view,download,modify");
    let c = Client::new();
    let mut secrets: Vec<String> = vec![
        PASSWORD.to_string(),
        access_token.clone(),
        NOTIFY_SECRET.to_string(),
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}")),
        base64::engine::general_purpose::STANDARD.encode(format!("x:{access_token}")),
    ];

    // Pushes and pulls through the registry: Basic with the password and with the
    // token; the registry's notifications carry the shared secret.
    let img = tiny_image(stack.dir.path(), "v1", "secret-test");
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &format!("alice:{PASSWORD}"));
    assert!(push.success, "{}", push.output);
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&format!("x:{access_token}")));
    assert!(pull.success, "{}", pull.output);
    // A docker-style login with a refresh token, the refresh grant, a wrong password.
    let body: Value = c
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("offline_token", "true"),
            ("client_id", "docker"),
            ("scope", &format!("repository:{p}/tool:pull")),
        ])
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("login")
        .json()
        .expect("json");
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    secrets.push(refresh.clone());
    secrets.push(body["token"].as_str().expect("jwt").to_string());
    let body: Value = c
        .post(stack.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("refresh_token", refresh.as_str()),
            ("scope", &format!("repository:{p}/tool:pull,push")),
        ])
        .send()
        .expect("refresh")
        .json()
        .expect("json");
    let jwt = body["access_token"].as_str().expect("jwt").to_string();
    // The signature part alone is the secret-bearing piece of a JWT.
    secrets.push(jwt.rsplit('.').next().expect("signature").to_string());
    secrets.push(jwt);
    let wrong = "not-alices-password-123";
    secrets.push(wrong.to_string());
    let r = c
        .get(stack.url("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth("alice", Some(wrong))
        .send()
        .expect("wrong");
    assert_eq!(r.status().as_u16(), 401);
    let r = c
        .get(stack.url("/api/v1/projects/syn1/repositories"))
        .basic_auth("alice", Some(wrong))
        .send()
        .expect("api");
    assert_eq!(r.status().as_u16(), 401);

    // Wait for the notification of the push, so its handling is in the log.
    let listed = eventually(15, || {
        let out = stack.ok(&["repo", "tags", &format!("{p}/tool")]);
        out.contains("v1").then_some(out)
    });
    assert!(listed.is_some(), "the push was never recorded");
    std::thread::sleep(std::time::Duration::from_millis(400));

    let log = stack.regauth_log();
    let audit = stack.ok(&["audit", "--json", "--limit", "10000"]);
    assert!(
        audit.contains("token_issued") && audit.contains("login_failed"),
        "{audit}"
    );
    let mut db_text = String::new();
    for file in [
        "regauth.db",
        "regauth.db-wal",
        "regauth.audit.db",
        "regauth.audit.db-wal",
    ] {
        let bytes = std::fs::read(stack.dir.path().join(file)).unwrap_or_default();
        db_text.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(
        db_text.contains("token_issued"),
        "the audit file was not searched"
    );
    let mut found = Vec::new();
    for s in &secrets {
        for (place, text) in [
            ("log", log.as_str()),
            ("audit trail", audit.as_str()),
            ("database", &db_text),
        ] {
            if text.contains(s.as_str()) {
                found.push(format!("{}… in the {place}", &s[..s.len().min(12)]));
            }
        }
    }
    assert!(found.is_empty(), "secrets found: {found:?}");
    assert!(log.len() > 1000, "the log is suspiciously short:\n{log}");
}
