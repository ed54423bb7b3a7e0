//! The token endpoint of the `regauth` binary in Synapse mode (`directory.backend =
//! "synapse"`) against the contract server `tests/synapse`: every row of
//! `docs/authorization-rules.md` the backend can express (the rest are listed in the
//! README's "Beside an existing Synapse"), the quirks of the reference (PATs without
//! `exp`, expired and revoked tokens, key rotation, the leading-zero modulus, 2FA, 423,
//! 429, 503, a hanging upstream), the caches as seen through HTTP, and what is left of
//! regauth's own directory in this mode.

mod common;
mod synapse;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Stack, SERVICE};
use serde_json::Value;
use synapse::{Endpoint, Failure, FakeSynapse, UserId, AUTHENTICATED, PUBLIC};

/// alice (certified) owns project `p` with repository `tool`; bob (certified) has no
/// access to `p`; carol (not certified) may edit and download `p`; dave (certified)
/// may only read `p`; erin is in a team that may download `p`.
struct World {
    fake: FakeSynapse,
    stack: Stack,
    alice: UserId,
    bob: UserId,
    p: String,
}

fn world() -> World {
    let fake = FakeSynapse::start();
    let alice = fake.add_user("alice", "alice's password");
    let bob = fake.add_user("bob", "bob's password");
    let carol = fake.add_user("carol", "carol's password");
    let dave = fake.add_user("dave", "dave's password");
    let erin = fake.add_user("erin", "erin's password");
    for u in [alice, bob, dave, erin] {
        fake.set_certified(u, true);
    }
    let p = fake.add_project("tools");
    fake.set_owner(&p, alice);
    fake.grant(&p, alice, &synapse::EVERY_ACCESS);
    fake.grant(&p, carol, &["READ", "DOWNLOAD", "UPDATE"]);
    fake.grant(&p, dave, &["READ"]);
    let team = fake.add_team();
    fake.add_to_team(team, erin);
    fake.grant(&p, team, &["READ", "DOWNLOAD"]);
    fake.add_docker_repo(&p, "tool");
    let stack = Stack::beside_synapse(&fake.base_url(), fake.registry_host(), None, "");
    World {
        fake,
        stack,
        alice,
        bob,
        p,
    }
}

/// `GET /token` with Basic `user:secret` (none: anonymous) for these scopes.
fn ask(stack: &Stack, basic: Option<(&str, &str)>, scopes: &[&str]) -> reqwest::blocking::Response {
    let mut query = vec![("service", SERVICE.to_string())];
    query.extend(scopes.iter().map(|s| ("scope", s.to_string())));
    let mut req = reqwest::blocking::Client::new()
        .get(stack.url("/token"))
        .query(&query)
        .timeout(Duration::from_secs(20));
    if let Some((user, secret)) = basic {
        req = req.basic_auth(user, Some(secret));
    }
    req.send().expect("GET /token")
}

/// The actions granted per requested resource name (200 required).
fn granted(stack: &Stack, basic: Option<(&str, &str)>, scopes: &[&str]) -> Vec<BTreeSet<String>> {
    let r = ask(stack, basic, scopes);
    assert_eq!(r.status(), 200, "{scopes:?}: {:?}", r.text());
    let body: Value = r.json().expect("json");
    let (_, claims) = common::jwt(body["token"].as_str().expect("token"));
    let access = claims["access"].as_array().cloned().unwrap_or_default();
    scopes
        .iter()
        .map(|scope| {
            let name = scope.split(':').nth(1).unwrap_or_default();
            access
                .iter()
                .filter(|a| a["name"] == name)
                .flat_map(|a| a["actions"].as_array().cloned().unwrap_or_default())
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect()
        })
        .collect()
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

/// The actions for one scope.
fn one(stack: &Stack, basic: Option<(&str, &str)>, scope: &str) -> BTreeSet<String> {
    granted(stack, basic, &[scope]).remove(0)
}

/// A 401 or 503 with its errcode JSON; returns (code, message).
fn refused(r: reqwest::blocking::Response, status: u16) -> (String, String) {
    assert_eq!(r.status(), status, "{:?}", r.text());
    let body: Value = r.json().expect("errcode json");
    (
        body["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .into(),
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .into(),
    )
}

fn repo(p: &str, name: &str, actions: &str) -> String {
    format!("repository:{p}/{name}:{actions}")
}

#[test]
fn credentials_are_checked_by_synapse_and_never_fall_back_to_anonymous() {
    let w = world();
    let (s, tool) = (&w.stack, repo(&w.p, "tool", "pull"));
    let alice = Some(("alice", "alice's password"));
    // No header: anonymous, who gets nothing and costs no upstream call.
    w.fake.reset_counters();
    assert_eq!(granted(s, None, &[]), Vec::<BTreeSet<String>>::new());
    assert_eq!(one(s, None, &tool), set(&[]));
    assert_eq!(w.fake.calls(Endpoint::DockerRepoId), 0);
    // A password: login2 once, every scope.
    assert_eq!(one(s, alice, &tool), set(&["pull"]));
    assert_eq!(w.fake.calls(Endpoint::Login), 1);
    // Remembered a minute (keyed digest): a client sending its password with every
    // request, 20 at once here, costs no further login2; failures are never remembered.
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (url, tool) = (s.url("/token"), tool.clone());
            std::thread::spawn(move || {
                reqwest::blocking::Client::new()
                    .get(url)
                    .query(&[("service", SERVICE), ("scope", &tool)])
                    .basic_auth("alice", Some("alice's password"))
                    .send()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), 200);
    }
    assert_eq!(w.fake.calls(Endpoint::Login), 1);
    for _ in 0..2 {
        refused(ask(s, Some(("alice", "not it")), &[&tool]), 401);
    }
    assert_eq!(w.fake.calls(Endpoint::Login), 3);
    // A personal access token in the password field (the user field is ignored); it
    // has no `exp`, and its scopes bound the grant.
    let pat = w.fake.pat(w.alice, &["view", "download"]);
    let both = repo(&w.p, "tool", "pull,push");
    assert_eq!(one(s, Some(("whoever", &pat)), &both), set(&["pull"]));
    // Wrong password, unknown user, expired, revoked, ID token, foreign key: 401.
    let expired = w.fake.expired_token(w.alice);
    let revoked = w.fake.pat(w.alice, &["view", "download"]);
    w.fake.revoke(&revoked);
    let id_token = w.fake.mint(&{
        let mut spec = synapse::TokenSpec::login(w.alice);
        spec.token_type = synapse::OIDC_ID_TOKEN.into();
        spec
    });
    for (user, secret) in [
        ("alice", "wrong"),
        ("nobody", "alice's password"),
        ("x", expired.as_str()),
        ("x", revoked.as_str()),
        ("x", id_token.as_str()),
        ("x", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"),
    ] {
        let (code, _) = refused(ask(s, Some((user, secret)), &[&tool]), 401);
        assert_eq!(code, "UNAUTHORIZED", "{user}");
    }
    // A malformed header is a 401 too, never anonymous.
    let r = reqwest::blocking::Client::new()
        .get(s.url("/token"))
        .query(&[("service", SERVICE), ("scope", &tool)])
        .header("authorization", "Basic !!!")
        .send()
        .unwrap();
    refused(r, 401);
    // docker login keeps Synapse's own token as its identity token; the refresh grant
    // is checked by Synapse again.
    let identity = common::docker_login(s, "alice", "alice's password");
    assert_eq!(
        synapse::unverified_claims(&identity).expect("a Synapse JWT")["sub"],
        w.alice.to_string()
    );
    let r = common::refresh_grant(s, &identity, &tool);
    assert_eq!(r.status(), 200);
    let r = common::refresh_grant(s, &revoked, &tool);
    assert_eq!(r.status(), 401);
}

#[test]
fn pulls_follow_the_callers_download_permission() {
    let w = world();
    let (s, f, p) = (&w.stack, &w.fake, &w.p);
    let tool = repo(p, "tool", "pull");
    for user in ["alice", "carol", "erin"] {
        let pw = format!("{user}'s password");
        assert_eq!(one(s, Some((user, &pw)), &tool), set(&["pull"]), "{user}");
    }
    // READ alone is not enough; no access at all gives nothing.
    assert_eq!(one(s, Some(("dave", "dave's password")), &tool), set(&[]));
    assert_eq!(one(s, Some(("bob", "bob's password")), &tool), set(&[]));
    // A credential without `download`.
    let view_only = f.pat(w.alice, &["view"]);
    assert_eq!(one(s, Some(("x", &view_only)), &tool), set(&[]));
    // Shared with every signed-in user, or with the public: pulls for users; anonymous
    // pulls stay refused (Synapse never grants them).
    let q = f.add_project("open");
    f.grant(&q, AUTHENTICATED, &["READ", "DOWNLOAD"]);
    f.add_docker_repo(&q, "app");
    let r = f.add_project("public");
    f.grant(&r, PUBLIC, &["READ", "DOWNLOAD"]);
    f.add_docker_repo(&r, "app");
    let bob = Some(("bob", "bob's password"));
    assert_eq!(one(s, bob, &repo(&q, "app", "pull")), set(&["pull"]));
    assert_eq!(one(s, bob, &repo(&r, "app", "pull")), set(&["pull"]));
    assert_eq!(one(s, None, &repo(&r, "app", "pull")), set(&[]));
    // A repository's own sharing settings replace its project's.
    let own = f.add_docker_repo(p, "private");
    f.grant(&own, w.alice, &synapse::EVERY_ACCESS);
    let erin = Some(("erin", "erin's password"));
    assert_eq!(one(s, erin, &repo(p, "private", "pull")), set(&[]));
    // Unknown, trashed repository, trashed project: nothing.
    let alice = Some(("alice", "alice's password"));
    assert_eq!(one(s, alice, &repo(p, "never-pushed", "pull")), set(&[]));
    let gone = f.add_docker_repo(p, "gone");
    f.trash(&gone, true);
    assert_eq!(one(s, alice, &repo(p, "gone", "pull")), set(&[]));
    let binned = f.add_project("binned");
    f.grant(&binned, w.alice, &synapse::EVERY_ACCESS);
    f.add_docker_repo(&binned, "app");
    f.trash(&binned, true);
    assert_eq!(one(s, alice, &repo(&binned, "app", "pull")), set(&[]));
    // An unapproved access requirement takes `canDownload` away.
    let gated = f.add_project("gated");
    f.grant(&gated, w.bob, &["READ", "DOWNLOAD"]);
    f.add_docker_repo(&gated, "app");
    f.add_access_requirement(&gated);
    assert_eq!(one(s, bob, &repo(&gated, "app", "pull")), set(&[]));
}

#[test]
fn pushes_need_certification_the_right_scopes_and_a_live_project() {
    let w = world();
    let (s, f, p) = (&w.stack, &w.fake, &w.p);
    let alice = Some(("alice", "alice's password"));
    // Existing repository: certified with UPDATE; carol (not certified) may not.
    assert_eq!(one(s, alice, &repo(p, "tool", "push")), set(&["push"]));
    let carol = Some(("carol", "carol's password"));
    assert_eq!(one(s, carol, &repo(p, "tool", "push")), set(&[]));
    assert_eq!(one(s, None, &repo(p, "tool", "push")), set(&[]));
    // A credential without `modify`, or without `download`.
    for scopes in [&["view", "download"][..], &["view", "modify"][..]] {
        let pat = f.pat(w.alice, scopes);
        assert_eq!(
            one(s, Some(("x", &pat)), &repo(p, "tool", "push")),
            set(&[]),
            "{scopes:?}"
        );
    }
    // A new repository: CREATE on the project gives push and pull; bob has none.
    assert_eq!(
        one(s, alice, &repo(p, "brand-new", "push,pull")),
        set(&["push", "pull"])
    );
    let bob = Some(("bob", "bob's password"));
    assert_eq!(one(s, bob, &repo(p, "brand-new", "push,pull")), set(&[]));
    // A missing project, an entity that is not a project, a project in the trash.
    let not_a_project = f.add_docker_repo(p, "nested");
    let binned = f.add_project("binned");
    f.grant(&binned, w.alice, &synapse::EVERY_ACCESS);
    f.trash(&binned, true);
    for project in ["syn99999999", not_a_project.as_str(), binned.as_str()] {
        assert_eq!(
            one(s, alice, &repo(project, "x", "push")),
            set(&[]),
            "{project}"
        );
    }
    // A trashed repository pushed to by its certified owner: refused, never "new".
    let gone = f.add_docker_repo(p, "gone");
    f.trash(&gone, true);
    assert_eq!(one(s, alice, &repo(p, "gone", "push,pull")), set(&[]));
    // delete (ours) with DELETE and certification; `*` only when all three are given.
    assert_eq!(one(s, alice, &repo(p, "tool", "delete")), set(&["delete"]));
    let no_modify = f.pat(w.alice, &["view", "download"]);
    assert_eq!(
        one(s, Some(("x", &no_modify)), &repo(p, "tool", "delete")),
        set(&[])
    );
    assert_eq!(one(s, alice, &repo(p, "never-pushed", "delete")), set(&[]));
    assert_eq!(one(s, carol, &repo(p, "tool", "delete")), set(&[]));
    assert_eq!(one(s, alice, &repo(p, "tool", "*")), set(&["*"]));
    assert_eq!(one(s, carol, &repo(p, "tool", "*")), set(&["pull"]));
    // An unknown action is ignored and the rest served; the catalog and other
    // resource types give nothing (Synapse admins cannot be recognised).
    assert_eq!(
        one(s, alice, &repo(p, "tool", "pull,mount,PUSH")),
        set(&["pull"])
    );
    assert_eq!(one(s, alice, "registry:catalog:*"), set(&[]));
    assert_eq!(one(s, alice, "plugin:x:pull"), set(&[]));
}

#[test]
fn two_factor_lock_out_and_outages_answer_what_to_do() {
    let w = world();
    let (s, f, p) = (&w.stack, &w.fake, &w.p);
    let tool = repo(p, "tool", "pull");
    let twofa = f.add_user("tfa", "tfa's password");
    f.set_two_factor(twofa, true);
    let (_, message) = refused(ask(s, Some(("tfa", "tfa's password")), &[&tool]), 401);
    assert!(message.contains("personal access token"), "{message}");
    let locked = f.add_user("locked", "locked's password");
    f.lock_out(locked, true);
    let (_, message) = refused(ask(s, Some(("locked", "locked's password")), &[&tool]), 401);
    assert!(message.contains("locked"), "{message}");
    // 503 and 429 (after the one retry) from Synapse: 503 UNAVAILABLE with Retry-After.
    let alice = Some(("alice", "alice's password"));
    for failure in [Failure::Status(503), Failure::Status(429), Failure::Garbage] {
        f.fail(Endpoint::DockerRepoId, failure);
        let r = ask(
            s,
            alice,
            &[&repo(
                p,
                &format!("new-{}", Instant::now().elapsed().as_nanos()),
                "pull",
            )],
        );
        assert!(r.headers().get("retry-after").is_some(), "{failure:?}");
        let (code, _) = refused(r, 503);
        assert_eq!(code, "UNAVAILABLE", "{failure:?}");
    }
    f.fail(Endpoint::DockerRepoId, Failure::None);
    std::thread::sleep(Duration::from_millis(1100)); // the breaker may have opened
                                                     // A hanging upstream: the request answers 503 within the request deadline (3 s).
    f.fail(Endpoint::Permissions, Failure::Hang);
    let started = Instant::now();
    let r = ask(s, alice, &[&repo(p, "tool", "push")]);
    let took = started.elapsed();
    refused(r, 503);
    assert!(took < Duration::from_secs(4), "answered after {took:?}");
    f.fail(Endpoint::Permissions, Failure::None);
    // Slow, not hanging: each call within its own 1 s timeout, but seven in a row (a
    // login, four names, a type, a permission) past the request's 3 s deadline, which
    // still holds.
    let slow = [
        Endpoint::Login,
        Endpoint::DockerRepoId,
        Endpoint::EntityType,
        Endpoint::Permissions,
    ];
    for e in slow {
        f.delay(e, Duration::from_millis(900));
    }
    let started = Instant::now();
    let scopes: Vec<String> = (0..4)
        .map(|i| repo(p, &format!("slow{i}"), "push"))
        .collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let r = ask(s, Some(("bob", "bob's password")), &scopes);
    let took = started.elapsed();
    let (code, _) = refused(r, 503);
    assert_eq!(code, "UNAVAILABLE");
    assert!(
        (Duration::from_millis(2900)..Duration::from_millis(3600)).contains(&took),
        "answered after {took:?}"
    );
    for e in slow {
        f.delay(e, Duration::ZERO);
    }
    // Recovers by itself once Synapse answers.
    let back = common::eventually(10, || {
        (ask(s, alice, &[&tool]).status() == 200).then_some(())
    });
    assert!(back.is_some(), "{}", s.regauth_log());
    assert_eq!(one(s, alice, &tool), set(&["pull"]));
}

#[test]
fn keys_are_refetched_for_an_unknown_kid_and_rotations_are_followed() {
    let w = world();
    let (s, f) = (&w.stack, &w.fake);
    let tool = repo(&w.p, "tool", "pull");
    // Synapse's JWKS writes the modulus as a Java BigInteger: a leading zero byte.
    let jwks: Value = reqwest::blocking::get(format!("{}/auth/v1/oauth2/jwks", f.base_url()))
        .unwrap()
        .json()
        .unwrap();
    let n = jwks["keys"][0]["n"].as_str().expect("modulus");
    use base64::Engine;
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(n)
        .expect("base64url");
    assert_eq!(n[0], 0, "the fake publishes the quirk");
    let pat = f.pat(w.alice, &["view", "download"]);
    assert_eq!(one(s, Some(("x", &pat)), &tool), set(&["pull"]));
    // A token signed with a key not published yet: refused; published: accepted after
    // the bounded refetch interval.
    let early = f.sign_with_unpublished_key(w.alice);
    refused(ask(s, Some(("x", &early)), &[&tool]), 401);
    f.publish_pending_key();
    let accepted = common::eventually(5, || {
        (ask(s, Some(("x", &early)), &[&tool]).status() == 200).then_some(())
    });
    assert!(accepted.is_some(), "{}", s.regauth_log());
    // A rotation: new tokens are signed with the new key.
    f.rotate_key();
    let rotated = f.pat(w.alice, &["view", "download"]);
    let accepted = common::eventually(5, || {
        (ask(s, Some(("x", &rotated)), &[&tool]).status() == 200).then_some(())
    });
    assert!(accepted.is_some(), "{}", s.regauth_log());
}

#[test]
fn a_hundred_parallel_requests_make_one_call_per_endpoint_and_changes_show_after_the_ttl() {
    let w = world();
    let f = &w.fake;
    f.grant(&w.p, w.bob, &["READ", "DOWNLOAD"]);
    let pat = f.pat(w.bob, &["view", "download"]);
    let tool = repo(&w.p, "tool", "pull");
    f.reset_counters();
    let url = w.stack.url("/token");
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (url, pat, tool) = (url.clone(), pat.clone(), tool.clone());
            std::thread::spawn(move || {
                reqwest::blocking::Client::new()
                    .get(url)
                    .query(&[("service", SERVICE), ("scope", &tool)])
                    .basic_auth("x", Some(pat))
                    .send()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), 200);
    }
    for endpoint in [
        Endpoint::AuthenticatedOn,
        Endpoint::DockerRepoId,
        Endpoint::Permissions,
    ] {
        assert_eq!(f.calls(endpoint), 1, "{endpoint:?}");
    }
    assert_eq!(one(&w.stack, Some(("x", &pat)), &tool), set(&["pull"]));
    let metrics = reqwest::blocking::get(w.stack.url("/metrics"))
        .unwrap()
        .text()
        .unwrap();
    for series in [
        "regauth_synapse_calls_total{endpoint=\"permissions\"} 1",
        "regauth_synapse_cache_total{endpoint=\"permissions\",result=\"miss\"} 1",
        "regauth_synapse_cache_total{endpoint=\"permissions\",result=\"hit\"} 100",
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
    // Synapse takes bob's download away: honoured once the 1 s permission TTL passed.
    f.grant(&w.p, w.bob, &["READ"]);
    let gone = common::eventually(5, || {
        one(&w.stack, Some(("x", &pat)), &tool)
            .is_empty()
            .then_some(())
    });
    assert!(gone.is_some());
}

#[test]
fn the_own_directory_refuses_what_synapse_owns_and_records_pushes_for_the_read_api() {
    let w = world();
    let s = &w.stack;
    // The operator (bootstrap admin) may read, not create what Synapse owns.
    let r = common::call(
        s,
        "POST",
        "/api/v1/projects",
        common::As::Password("root"),
        Some(serde_json::json!({"name": "local"})),
    );
    let (code, message) = refused(r, 405);
    assert_eq!(code, "UNSUPPORTED");
    assert!(message.contains("Synapse"), "{message}");
    let out = s.cli(&["user", "add", "mallory"], Some("a password 123\n"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("belong to Synapse"), "{stderr}");
    // Without a listener, pushes are recorded here under Synapse's project id.
    // regauth still issues the tokens: alice's push token records the grant the
    // event must match, here in the own directory.
    s.record_push_as(
        &format!("{}/tool", w.p),
        "v1",
        &w.alice.to_string(),
        ("alice", "alice's password"),
    );
    let r = common::call(
        s,
        "GET",
        &format!("/api/v1/repository/tags?path={}/tool", w.p),
        common::As::Password("root"),
        None,
    );
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    assert!(body.to_string().contains("\"v1\""), "{body}");
    // Readiness follows Synapse.
    let ready = |s: &Stack| {
        reqwest::blocking::get(s.url("/readyz"))
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready(s), 200);
    let World { fake, stack, .. } = w;
    drop(fake);
    let down = common::eventually(10, || (ready(&stack) == 503).then_some(()));
    assert!(down.is_some(), "readyz stays 200 with Synapse gone");
}

#[test]
fn a_storm_against_a_hanging_synapse_is_answered_503_within_the_deadline() {
    let w = world();
    let pat = w.fake.pat(w.alice, &["view", "download"]);
    assert_eq!(
        one(&w.stack, Some(("x", &pat)), &repo(&w.p, "tool", "pull")),
        set(&["pull"])
    );
    w.fake.fail(Endpoint::DockerRepoId, Failure::Hang);
    let started = Instant::now();
    let threads: Vec<_> = (0..60)
        .map(|i| {
            let url = w.stack.url("/token");
            let (pat, scope) = (pat.clone(), repo(&w.p, &format!("storm{i}"), "pull"));
            std::thread::spawn(move || {
                let r = reqwest::blocking::Client::new()
                    .get(url)
                    .query(&[("service", SERVICE), ("scope", &scope)])
                    .basic_auth("x", Some(pat))
                    .send()
                    .expect("answered");
                (r.status().as_u16(), r.headers().contains_key("retry-after"))
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), (503, true));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "the storm took {took:?}");
    assert!(
        w.fake.max_in_flight_for(w.alice) <= 2,
        "calls in flight for one user: {}",
        w.fake.max_in_flight_for(w.alice)
    );
    assert!(
        w.fake.calls(Endpoint::DockerRepoId) < 20,
        "the breaker spared Synapse: {} calls",
        w.fake.calls(Endpoint::DockerRepoId)
    );
}
