//! `/api/v1/me…` over real HTTP against the real binary: the account, password change,
//! access tokens (minted, used, listed with "last used", revoked) and `docker login`s,
//! with every refusal: anonymous, missing scope, a token wider than its minter, another
//! user's token or login, bad input.

mod common;

use std::time::Duration;

use common::*;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

fn pull_token(stack: &Stack, secret: &str, repo: &str) -> Response {
    Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("scope", &format!("repository:{repo}:pull")),
        ])
        .basic_auth("x", Some(secret))
        .send()
        .expect("token")
}

fn setup() -> (Stack, String) {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified", "--email", "alice@example.org"]);
    stack.add_user("bob", &[]);
    let p = stack.add_project("alpha", "alice");
    stack.record_push(&format!("{p}/tool"), "v1", "alice");
    (stack, p)
}

#[test]
fn me_names_the_account_and_the_credential_scopes() {
    let (stack, _) = setup();
    let r = call(&stack, "GET", "/api/v1/me", As::Anonymous, None);
    assert_eq!(r.status(), 401);
    // No Basic challenge: a browser would keep the credentials and replay them.
    assert!(r.headers().get("www-authenticate").is_none());
    let r = call(
        &stack,
        "GET",
        "/api/v1/me",
        As::Token("rga_not-a-token"),
        None,
    );
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
    let r = call(&stack, "GET", "/api/v1/me", As::Password("alice"), None);
    assert_eq!(r.status(), 200);
    let me: Value = r.json().unwrap();
    assert_eq!(me["name"], "alice");
    assert_eq!(me["email"], "alice@example.org");
    assert_eq!(me["certified"], true);
    assert_eq!(
        me["scopes"],
        json!(["view", "download", "modify", "authorize"])
    );
    let t = stack.token("alice", "view,download");
    let me: Value = call(&stack, "GET", "/api/v1/me", As::Token(&t), None)
        .json()
        .unwrap();
    assert_eq!(me["scopes"], json!(["view", "download"]));
    let t = stack.token("alice", "download");
    let m = error(call(&stack, "GET", "/api/v1/me", As::Token(&t), None), 403);
    assert!(m.contains("view"), "{m}");
}

#[test]
fn a_token_minted_over_http_pulls_shows_last_use_and_stops_when_revoked() {
    let (stack, p) = setup();
    let r = call(
        &stack,
        "POST",
        "/api/v1/me/tokens",
        As::Password("alice"),
        Some(json!({"name": "ci", "scopes": ["download"], "expires_in": "30d"})),
    );
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let created: Value = r.json().unwrap();
    let secret = created["token"]
        .as_str()
        .expect("secret shown once")
        .to_string();
    assert!(created["docker_login"]
        .as_str()
        .unwrap()
        .starts_with("docker login -u alice --password-stdin"));
    assert_eq!(created["scopes"], json!(["download"]));
    assert!(created["expires_at"].is_string());
    let id = created["id"].as_i64().unwrap();

    let r = pull_token(&stack, &secret, &format!("{p}/tool"));
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    let (_, claims) = jwt(body["token"].as_str().unwrap());
    assert_eq!(claims["access"][0]["actions"], json!(["pull"]));

    // Listed without the secret; "last used" is stamped within a couple of seconds.
    let listed = eventually(10, || {
        let list: Value = call(
            &stack,
            "GET",
            "/api/v1/me/tokens",
            As::Password("alice"),
            None,
        )
        .json()
        .unwrap();
        let t = list["tokens"]
            .as_array()?
            .iter()
            .find(|t| t["id"] == id)?
            .clone();
        t["last_used_at"].is_string().then_some(t)
    })
    .expect("last_used_at stamped");
    assert_eq!(listed["name"], "ci");
    assert!(listed.get("token").is_none(), "the secret is never listed");
    assert!(!listed.to_string().contains(&secret));

    // bob can neither see nor revoke it: the same 404 as a token that does not exist.
    let path = format!("/api/v1/me/tokens/{id}");
    error(
        call(&stack, "DELETE", &path, As::Password("bob"), None),
        404,
    );
    error(
        call(
            &stack,
            "DELETE",
            "/api/v1/me/tokens/999999",
            As::Password("alice"),
            None,
        ),
        404,
    );
    let r = call(&stack, "DELETE", &path, As::Password("alice"), None);
    assert_eq!(r.status(), 204);
    assert_eq!(
        pull_token(&stack, &secret, &format!("{p}/tool")).status(),
        401
    );
}

#[test]
fn a_token_mints_only_with_authorize_and_never_wider_than_itself() {
    let (stack, _) = setup();
    let narrow = stack.token("alice", "view,download");
    let m = error(
        call(
            &stack,
            "POST",
            "/api/v1/me/tokens",
            As::Token(&narrow),
            Some(json!({"name": "x", "scopes": "download"})),
        ),
        403,
    );
    assert!(m.contains("authorize"), "{m}");
    let minter = stack.token("alice", "download,authorize");
    let m = error(
        call(
            &stack,
            "POST",
            "/api/v1/me/tokens",
            As::Token(&minter),
            Some(json!({"name": "x", "scopes": "download,modify"})),
        ),
        400,
    );
    assert!(m.starts_with("scopes:"), "{m}");
    let r = call(
        &stack,
        "POST",
        "/api/v1/me/tokens",
        As::Token(&minter),
        Some(json!({"name": "child", "scopes": "download"})),
    );
    assert_eq!(r.status(), 201);
    // Nothing half-written: the refused requests left only the CLI's and the child.
    let list: Value = call(
        &stack,
        "GET",
        "/api/v1/me/tokens",
        As::Password("alice"),
        None,
    )
    .json()
    .unwrap();
    let names: Vec<_> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["cli", "cli", "child"]);
}

#[test]
fn bad_token_requests_name_the_field() {
    let (stack, _) = setup();
    let cases = [
        (
            json!({"name": "x", "scopes": "download", "colour": "red"}),
            "colour",
        ),
        (json!({"name": "x"}), "scopes"),
        (json!({"name": "x", "scopes": "root"}), "scopes:"),
        (
            json!({"name": "x", "scopes": "download", "expires_in": "soon"}),
            "expires_in:",
        ),
        (
            json!({"name": "x", "scopes": "download", "expires_in": "0s"}),
            "expires_in:",
        ),
        (json!({"name": " ", "scopes": "download"}), "name:"),
        (
            json!({"name": "x".repeat(101), "scopes": "download"}),
            "name:",
        ),
    ];
    for (body, field) in cases {
        let m = error(
            call(
                &stack,
                "POST",
                "/api/v1/me/tokens",
                As::Password("alice"),
                Some(body.clone()),
            ),
            400,
        );
        assert!(m.contains(field), "{body}: {m}");
    }
    let m = error(
        call(
            &stack,
            "DELETE",
            "/api/v1/me/tokens/abc",
            As::Password("alice"),
            None,
        ),
        400,
    );
    assert!(m.contains("id"), "{m}");
    let list: Value = call(
        &stack,
        "GET",
        "/api/v1/me/tokens",
        As::Password("alice"),
        None,
    )
    .json()
    .unwrap();
    assert_eq!(list["tokens"], json!([]));
}

fn docker_login(stack: &Stack, user: &str) -> String {
    let r: Value = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("offline_token", "true"),
            ("client_id", "docker"),
        ])
        .basic_auth(user, Some(PASSWORD))
        .send()
        .expect("login")
        .json()
        .expect("json");
    r["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string()
}

fn refresh(stack: &Stack, token: &str) -> u16 {
    Client::new()
        .post(stack.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("refresh_token", token),
        ])
        .send()
        .expect("refresh")
        .status()
        .as_u16()
}

#[test]
fn docker_logins_are_listed_and_revoked_one_by_one() {
    let (stack, _) = setup();
    let first = docker_login(&stack, "alice");
    let second = docker_login(&stack, "alice");
    let bobs = docker_login(&stack, "bob");
    assert_eq!(refresh(&stack, &first), 200);
    let list: Value = call(
        &stack,
        "GET",
        "/api/v1/me/logins",
        As::Password("alice"),
        None,
    )
    .json()
    .unwrap();
    let logins = list["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0]["client_id"], "docker");
    assert_eq!(logins[0]["service"], SERVICE);
    assert!(
        !list.to_string().contains(&first),
        "a secret in the listing"
    );
    let first_id = logins[0]["id"].as_i64().unwrap();

    let bob_list: Value = call(
        &stack,
        "GET",
        "/api/v1/me/logins",
        As::Password("bob"),
        None,
    )
    .json()
    .unwrap();
    let bob_id = bob_list["logins"][0]["id"].as_i64().unwrap();
    // Another user's login is "not found"; revoking needs `authorize`.
    error(
        call(
            &stack,
            "DELETE",
            &format!("/api/v1/me/logins/{bob_id}"),
            As::Password("alice"),
            None,
        ),
        404,
    );
    let viewer = stack.token("alice", "view");
    error(
        call(
            &stack,
            "DELETE",
            &format!("/api/v1/me/logins/{first_id}"),
            As::Token(&viewer),
            None,
        ),
        403,
    );
    let r = call(
        &stack,
        "DELETE",
        &format!("/api/v1/me/logins/{first_id}"),
        As::Password("alice"),
        None,
    );
    assert_eq!(r.status(), 204);
    assert_eq!(refresh(&stack, &first), 401);
    assert_eq!(refresh(&stack, &second), 200);
    assert_eq!(refresh(&stack, &bobs), 200);
    let list: Value = call(
        &stack,
        "GET",
        "/api/v1/me/logins",
        As::Password("alice"),
        None,
    )
    .json()
    .unwrap();
    assert_eq!(list["logins"].as_array().unwrap().len(), 1);
}

#[test]
fn a_password_change_needs_the_current_one_and_ends_every_docker_login() {
    let (stack, _) = setup();
    let login = docker_login(&stack, "alice");
    let token = stack.token("alice", "download");
    let change = |current: &str, revoke: bool, who: As| {
        call(
            &stack,
            "PUT",
            "/api/v1/me/password",
            who,
            Some(
                json!({"current_password": current, "new_password": "a brand new passphrase",
                        "revoke_tokens": revoke}),
            ),
        )
    };
    let m = error(change("not it", false, As::Password("alice")), 400);
    assert!(m.starts_with("current_password"), "{m}");
    // An access token is not the current password, even the caller's own.
    let m = error(change(&token, false, As::Password("alice")), 400);
    assert!(m.starts_with("current_password"), "{m}");
    assert_eq!(refresh(&stack, &login), 200, "nothing changed yet");

    let r = change(PASSWORD, true, As::Token(&token));
    assert_eq!(r.status(), 200);
    let done: Value = r.json().unwrap();
    assert_eq!(done["refresh_tokens_revoked"], 1);
    assert_eq!(done["access_tokens_revoked"], 1);
    assert_eq!(refresh(&stack, &login), 401);
    let old = Client::new()
        .get(stack.url("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .unwrap();
    assert_eq!(old.status(), 401);
    let new = Client::new()
        .get(stack.url("/token"))
        .query(&[("service", SERVICE)])
        .basic_auth("alice@example.org", Some("a brand new passphrase"))
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap();
    assert_eq!(new.status(), 200);
}

fn explain(stack: &Stack, who: As, scopes: &[&str]) -> Response {
    let query: String = scopes
        .iter()
        .map(|s| format!("scope={}", s.replace(',', "%2C")))
        .collect::<Vec<_>>()
        .join("&");
    call(
        stack,
        "GET",
        &format!("/api/v1/me/explain?{query}"),
        who,
        None,
    )
}

fn verdicts(r: Response) -> Vec<(String, String)> {
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    body["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["actions"].as_array().unwrap().clone())
        .map(|a| {
            let action = a["action"].as_str().unwrap().to_string();
            let answer = if a["granted"] == true {
                "granted".to_string()
            } else {
                format!(
                    "{}: {}",
                    a["reason"].as_str().unwrap(),
                    a["message"].as_str().unwrap()
                )
            };
            (action, answer)
        })
        .collect()
}

#[test]
fn explain_says_why_for_the_own_credential_and_hides_what_is_hidden() {
    let (stack, p) = setup();
    stack.grant(&p, "bob", "READ,DOWNLOAD");
    let tool = format!("repository:{p}/tool:pull,push");
    let v = verdicts(explain(&stack, As::Password("bob"), &[&tool]));
    assert_eq!(v[0], ("pull".into(), "granted".into()));
    assert_eq!(v[1].0, "push");
    assert!(
        v[1].1.starts_with("not_certified: you are not certified"),
        "{v:?}"
    );

    // A token's own scopes are the reason when they are.
    let t = stack.token("bob", "view,download");
    let v = verdicts(explain(&stack, As::Token(&t), &[&tool]));
    assert!(v[1].1.starts_with("missing_modify_scope"), "{v:?}");

    // A private project: missing, trashed and forbidden look the same to an outsider.
    let secret = stack.add_project("secret", "alice");
    stack.record_push(&format!("{secret}/hidden"), "v1", "alice");
    let answers: Vec<_> = [
        format!("repository:{secret}/hidden:pull"),
        format!("repository:{secret}/absent:pull"),
        "repository:syn999999/none:pull".to_string(),
    ]
    .iter()
    .map(|s| {
        verdicts(explain(&stack, As::Password("bob"), &[s]))[0]
            .1
            .clone()
    })
    .collect();
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert!(answers[0].starts_with("not_found_or_hidden"), "{answers:?}");
    stack.ok(&["trash", &format!("{secret}/hidden")]);
    let trashed = verdicts(explain(
        &stack,
        As::Password("bob"),
        &[&format!("repository:{secret}/hidden:pull")],
    ));
    assert_eq!(trashed[0].1, answers[0]);
    // The owner, who may see it, is told it is in the trash.
    let owner = verdicts(explain(
        &stack,
        As::Password("alice"),
        &[&format!("repository:{secret}/hidden:pull")],
    ));
    assert!(owner[0].1.starts_with("in_trash"), "{owner:?}");

    // Anonymous callers may ask too.
    let anon = verdicts(explain(&stack, As::Anonymous, &[&tool]));
    assert!(anon[1].1.starts_with("missing_modify_scope"), "{anon:?}");

    let m = error(explain(&stack, As::Password("bob"), &[]), 400);
    assert!(m.starts_with("scope:"), "{m}");
    let m = error(explain(&stack, As::Password("bob"), &["nonsense"]), 400);
    assert!(m.starts_with("scope:"), "{m}");

    // The admin's CLI judges anyone's password login the same way.
    let out = stack.ok(&["explain", "bob", &tool]);
    assert!(out.contains("pull: granted"), "{out}");
    assert!(
        out.contains("push: refused, you are not certified"),
        "{out}"
    );
    let out = stack.ok(&[
        "explain",
        "bob",
        &format!("repository:{secret}/hidden:pull"),
    ]);
    assert!(
        out.contains("pull: refused, the repository or its project is in the trash"),
        "{out}"
    );
    let out = stack.cli(&["explain", "nobody", &tool], None);
    assert!(!out.status.success());
}

#[test]
fn minting_is_bounded_and_wrong_current_passwords_are_rate_limited() {
    let (stack, _) = setup();
    let mint = |name: &str| {
        call(
            &stack,
            "POST",
            "/api/v1/me/tokens",
            As::Password("alice"),
            Some(json!({"name": name, "scopes": "view"})),
        )
    };
    for i in 0..100 {
        assert_eq!(mint(&format!("t{i}")).status(), 201, "token {i}");
    }
    let m = error(mint("one too many"), 400);
    assert!(m.contains("revoke some"), "{m}");
    // A revoked token frees its place.
    let list: Value = call(
        &stack,
        "GET",
        "/api/v1/me/tokens",
        As::Password("alice"),
        None,
    )
    .json()
    .unwrap();
    let id = list["tokens"][0]["id"].as_i64().unwrap();
    let r = call(
        &stack,
        "DELETE",
        &format!("/api/v1/me/tokens/{id}"),
        As::Password("alice"),
        None,
    );
    assert_eq!(r.status(), 204);
    assert_eq!(mint("again").status(), 201);

    // Guessing the current password meets the login limits: 429 with Retry-After,
    // and the right password is then refused too until the wait is over.
    let guess = |current: &str| {
        call(
            &stack,
            "PUT",
            "/api/v1/me/password",
            As::Password("bob"),
            Some(json!({"current_password": current, "new_password": "whatever it is now"})),
        )
    };
    let mut limited = None;
    for i in 0..30 {
        let r = guess(&format!("guess number {i}"));
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 400, "guess {i}");
    }
    let r = limited.expect("no 429 after 30 wrong current passwords");
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(guess(PASSWORD).status(), 429);
}

/// A token minted by a token: expires no later than its parent (a child asked for
/// "never" gets the parent's expiry), ends when the parent is revoked, and so do the
/// tokens it minted in turn.
#[test]
fn a_token_minted_by_a_token_never_outlives_it() {
    let (stack, p) = setup();
    let mint = |who: As, body: Value| {
        let r = call(&stack, "POST", "/api/v1/me/tokens", who, Some(body));
        assert_eq!(r.status(), 201);
        r.json::<Value>().unwrap()
    };
    let scopes = json!(["view", "download", "authorize"]);
    let parent = mint(
        As::Password("alice"),
        json!({"name": "one hour", "scopes": scopes, "expires_in": "1h"}),
    );
    let parent_secret = parent["token"].as_str().unwrap().to_string();
    let child = mint(
        As::Token(&parent_secret),
        json!({"name": "forever?", "scopes": scopes}),
    );
    assert_eq!(child["expires_at"], parent["expires_at"], "{child}");
    let later = mint(
        As::Token(&parent_secret),
        json!({"name": "a year?", "scopes": scopes, "expires_in": "365d"}),
    );
    assert_eq!(later["expires_at"], parent["expires_at"]);
    let child_secret = child["token"].as_str().unwrap().to_string();
    let grandchild = mint(
        As::Token(&child_secret),
        json!({"name": "grandchild", "scopes": ["view", "download"]}),
    );
    let grandchild_secret = grandchild["token"].as_str().unwrap().to_string();
    let repo = format!("{p}/tool");
    for secret in [&parent_secret, &child_secret, &grandchild_secret] {
        assert_eq!(pull_token(&stack, secret, &repo).status(), 200);
    }
    // Revoking the parent ends the whole line within a second (the caches follow the
    // directory's change counter).
    let id = parent["id"].as_i64().unwrap();
    let r = call(
        &stack,
        "DELETE",
        &format!("/api/v1/me/tokens/{id}"),
        As::Password("alice"),
        None,
    );
    assert_eq!(r.status(), 204);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for secret in [&parent_secret, &child_secret, &grandchild_secret] {
        assert_eq!(pull_token(&stack, secret, &repo).status(), 401);
    }
    // A password (or a web session) has no lifetime to pass on: its token is as asked.
    let own = mint(
        As::Password("alice"),
        json!({"name": "by password", "scopes": ["view"]}),
    );
    assert!(own["expires_at"].is_null(), "{own}");
}

/// The per-user cap holds under a race: 40 parallel mints at 99 tokens in force leave
/// exactly 100 in force.
#[test]
fn forty_parallel_mints_at_99_leave_exactly_100_in_force() {
    let (stack, _) = setup();
    for i in 0..99 {
        let r = call(
            &stack,
            "POST",
            "/api/v1/me/tokens",
            As::Password("alice"),
            Some(json!({"name": format!("t{i}"), "scopes": "view"})),
        );
        assert_eq!(r.status(), 201);
    }
    let answers: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let stack = &stack;
                s.spawn(move || {
                    call(
                        stack,
                        "POST",
                        "/api/v1/me/tokens",
                        As::Password("alice"),
                        Some(json!({"name": format!("race{i}"), "scopes": "view"})),
                    )
                    .status()
                    .as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|s| **s == 201).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|s| **s == 400).count(),
        39,
        "{answers:?}"
    );
    let list: Value = call(
        &stack,
        "GET",
        "/api/v1/me/tokens",
        As::Password("alice"),
        None,
    )
    .json()
    .unwrap();
    assert_eq!(list["tokens"].as_array().unwrap().len(), 100);
}
