//! Two regauth replicas on one PostgreSQL directory (a throw-away cluster this test
//! starts): a refresh token issued by one works at the other, and a revocation made at
//! one is refused by the other, whose cache held the token, within a second.

mod common;
#[path = "support/throwaway.rs"]
mod throwaway;

use std::time::{Duration, Instant};

use common::{docker_login, refresh_grant, Stack, PASSWORD, SERVICE};
use secrecy::ExposeSecret;

fn status(s: &Stack, user: &str, secret: &str, scope: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(s.url("/token"))
        .query(&[("service", SERVICE), ("scope", scope)])
        .basic_auth(user, Some(secret))
        .send()
        .expect("token request")
        .status()
        .as_u16()
}

#[test]
fn replicas_share_logins_and_honour_each_others_revocations_within_a_second() {
    let url = throwaway::fresh_database_url();
    let mut a = Stack::regauth_only();
    a.restart_on_postgres(url.expose_secret());
    let mut b = Stack::regauth_only();
    b.restart_on_postgres(url.expose_secret());

    a.add_user("alice", &["--certified"]);
    let p = a.add_project("tools", "alice");
    let scope = format!("repository:{p}/tool:pull,push");
    assert_eq!(
        status(&b, "alice", PASSWORD, &scope),
        200,
        "B knows A's user"
    );

    // A docker login at A, refreshed at B.
    let refresh = docker_login(&a, "alice", PASSWORD);
    let refreshed = refresh_grant(&b, &refresh, &scope);
    assert_eq!(refreshed.status().as_u16(), 200);

    // An access token made at A, cached at B, revoked at A: B refuses it within 1 s.
    let token = a.token("alice", "download");
    let pull = format!("repository:{p}/tool:pull");
    for _ in 0..20 {
        assert_eq!(status(&b, "x", &token, &pull), 200);
    }
    let id = a.ok(&["token", "list", "alice"]);
    let id = id.split_whitespace().next().expect("token id").to_string();
    a.ok(&["token", "revoke", &id]);
    let revoked = Instant::now();
    loop {
        match status(&b, "x", &token, &pull) {
            401 => break,
            200 => assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "replica B still accepted the revoked token after {:?}",
                revoked.elapsed()
            ),
            other => panic!("unexpected {other}"),
        }
    }
    // And the password login ended at A ends the refresh token at B.
    a.ok(&["user", "set", "alice", "--disabled", "true"]);
    let after = refresh_grant(&b, &refresh, &scope);
    assert_eq!(after.status().as_u16(), 401);
}
