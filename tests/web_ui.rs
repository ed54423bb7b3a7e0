//! The web pages under `/ui/` against the real binary: sign-in (wrong password and
//! unknown user alike, rate limited), sessions (strict cookies, ended by sign-out, by
//! disabling the user and by a new password), CSRF on every form (a missing or wrong
//! token is a 403 and changes nothing), the refusals of the use cases as pages, the
//! security headers — and one flow in a real headless Chromium against the real
//! registry and skopeo.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;

use common::*;
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use serde_json::Value;

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The value of the first hidden field `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').expect("end of value");
    html[start..start + end].to_string()
}

/// The text of the element with `id` (`<code id="token-secret">…</code>`).
fn by_id(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).expect("element") + marker.len();
    let end = html[start..].find('<').expect("end of element");
    html[start..start + end].to_string()
}

fn get(c: &Client, stack: &Stack, path: &str) -> Response {
    c.get(stack.url(path)).send().expect("GET")
}

fn post(c: &Client, stack: &Stack, path: &str, form: &[(&str, &str)]) -> Response {
    c.post(stack.url(path)).form(form).send().expect("POST")
}

fn location(r: &Response) -> &str {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Tries to sign in; returns the answer to the form.
fn try_sign_in(c: &Client, stack: &Stack, user: &str, password: &str) -> Response {
    let form = get(c, stack, "/ui/signin").text().unwrap();
    let csrf = hidden(&form, "csrf");
    post(
        c,
        stack,
        "/ui/signin",
        &[("user", user), ("password", password), ("csrf", &csrf)],
    )
}

/// A client signed in as `user`.
fn signed_in(stack: &Stack, user: &str) -> Client {
    let c = browser();
    let r = try_sign_in(&c, stack, user, PASSWORD);
    assert_eq!(r.status(), 303, "sign-in as {user}: {}", r.text().unwrap());
    assert_eq!(location(&r), "/ui/tokens");
    c
}

/// The session's CSRF token, read from a page.
fn csrf_of(c: &Client, stack: &Stack) -> String {
    let page = get(c, stack, "/ui/tokens");
    assert_eq!(page.status(), 200);
    hidden(&page.text().unwrap(), "csrf")
}

fn setup() -> (Stack, String) {
    let stack = Stack::regauth_only();
    stack.add_user("alice", &["--certified", "--email", "alice@example.org"]);
    stack.add_user("bob", &[]);
    let p = stack.add_project("alpha", "alice");
    stack.record_push(&format!("{p}/tool"), "v1", "alice");
    (stack, p)
}

fn api_tokens(stack: &Stack, user: &str) -> Vec<Value> {
    let r = call(stack, "GET", "/api/v1/me/tokens", As::Password(user), None);
    assert_eq!(r.status(), 200);
    r.json::<Value>().unwrap()["tokens"]
        .as_array()
        .unwrap()
        .clone()
}

fn assert_security_headers(r: &Response, what: &str) {
    let h = r.headers();
    assert_eq!(h["cache-control"], "no-store", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_answer_and_no_session() {
    let (stack, _) = setup();
    let token = stack.token("alice", "view,download");
    for (user, password, what) in [
        ("alice", "wrong password here", "wrong password"),
        ("nobody", PASSWORD, "unknown user"),
        ("alice", token.as_str(), "an access token is not a password"),
    ] {
        let c = browser();
        let r = try_sign_in(&c, &stack, user, password);
        assert_eq!(r.status(), 401, "{what}");
        assert!(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .all(|v| !v.to_str().unwrap().starts_with("regauth_session=")),
            "{what}: a session cookie"
        );
        assert_security_headers(&r, what);
        let body = r.text().unwrap();
        assert!(body.contains("Wrong user name or password."), "{what}");
        assert!(!body.contains(password), "{what}: the password is echoed");
        let r = get(&c, &stack, "/ui/tokens");
        assert_eq!(r.status(), 303, "{what}");
        assert_eq!(location(&r), "/ui/signin");
    }
}

#[test]
fn sign_in_by_name_or_email_starts_a_strict_session_that_sign_out_ends() {
    let (stack, _) = setup();
    let c = browser();
    let r = get(&c, &stack, "/ui/");
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/signin"));
    let r = get(&c, &stack, "/ui");
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/signin"));

    let r = try_sign_in(&c, &stack, "alice@example.org", PASSWORD);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/ui/tokens");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("regauth_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let id = cookie["regauth_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    assert_eq!(id.len(), 43, "256 bits, base64url");

    let page = get(&c, &stack, "/ui/tokens");
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("Sign out alice"), "the canonical name");
    let r = get(&c, &stack, "/ui/");
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/tokens"));
    let r = get(&c, &stack, "/ui/signin");
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/tokens"));

    // A forged cookie is nobody.
    let forged = Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .get(stack.url("/ui/tokens"))
        .header("cookie", format!("regauth_session={}", "A".repeat(43)))
        .send()
        .unwrap();
    assert_eq!(forged.status(), 303);

    let csrf = hidden(&page, "csrf");
    let r = post(&c, &stack, "/ui/signout", &[("csrf", &csrf)]);
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/signin"));
    let r = get(&c, &stack, "/ui/tokens");
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/signin"));
    // The old id is dead on the server too, not just forgotten by the client.
    let replay = Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .get(stack.url("/ui/tokens"))
        .header("cookie", format!("regauth_session={id}"))
        .send()
        .unwrap();
    assert_eq!(replay.status(), 303);
}

#[test]
fn every_page_answers_a_signed_in_user_and_sends_anonymous_ones_to_sign_in() {
    let (stack, p) = setup();
    let repo = format!("{p}/tool");
    let pages = [
        "/ui/tokens".to_string(),
        "/ui/logins".into(),
        "/ui/projects".into(),
        format!("/ui/projects/{p}"),
        format!("/ui/repository?path={repo}"),
        format!("/ui/repository/history?path={repo}&tag=v1"),
        format!("/ui/sharing?entity={p}"),
        format!("/ui/sharing?entity={repo}"),
        "/ui/account".into(),
    ];
    let alice = signed_in(&stack, "alice");
    let anonymous = browser();
    for page in &pages {
        let r = get(&alice, &stack, page);
        assert_eq!(r.status(), 200, "{page}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_security_headers(&r, page);
        let r = get(&anonymous, &stack, page);
        assert_eq!(r.status(), 303, "anonymous {page}");
        assert_eq!(location(&r), "/ui/signin");
        assert_security_headers(&r, page);
    }
    for form in [
        "/ui/tokens",
        "/ui/tokens/1/revoke",
        "/ui/logins/1/revoke",
        "/ui/projects",
        "/ui/sharing",
        "/ui/account/password",
        "/ui/signout",
    ] {
        let r = post(&anonymous, &stack, form, &[("csrf", "x")]);
        assert_eq!(r.status(), 303, "anonymous POST {form}");
        assert_eq!(location(&r), "/ui/signin");
    }
    // The sign-in page itself, and an unknown page: HTML with the same headers.
    let r = get(&anonymous, &stack, "/ui/signin");
    assert_eq!(r.status(), 200);
    assert_security_headers(&r, "signin");
    let r = get(&alice, &stack, "/ui/nope");
    assert_eq!(r.status(), 404);
    assert_security_headers(&r, "404");
    assert!(r.text().unwrap().contains("404 Not Found"));

    // What the repository page shows: the tag, its digest, the pull line, the access.
    let body = get(&alice, &stack, &format!("/ui/repository?path={repo}"))
        .text()
        .unwrap();
    let digest = format!("sha256:{}", "a".repeat(64));
    assert!(body.contains(&format!(
        "docker pull 127.0.0.1:{}/{repo}@{digest}",
        stack.registry_port
    )));
    assert!(body.contains("pull <span class=\"ok\""), "{body}");
    assert!(body.contains("push <span class=\"ok\""), "{body}");
    // A hidden repository is the API's 404, in words.
    stack.add_user("carol", &[]);
    let carol = signed_in(&stack, "carol");
    let r = get(&carol, &stack, &format!("/ui/repository?path={repo}"));
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .unwrap()
        .contains("not found, or you may not see it"));
}

#[test]
fn the_repository_page_says_why_access_is_refused() {
    let (stack, p) = setup();
    stack.grant(&p, "bob", "READ");
    let bob = signed_in(&stack, "bob");
    let body = get(&bob, &stack, &format!("/ui/repository?path={p}/tool"))
        .text()
        .unwrap();
    let line = by_id(&body, "your-access");
    assert!(line.starts_with("Your access: pull "), "{line}");
    assert!(
        body.contains("pull <span class=\"bad\" aria-label=\"refused\">✗</span>"),
        "{body}"
    );
    assert!(
        body.contains("you have no DOWNLOAD permission on the repository"),
        "{body}"
    );
}

#[test]
fn a_token_made_in_the_page_is_shown_once_works_and_is_revoked_in_the_page() {
    let (stack, p) = setup();
    let alice = signed_in(&stack, "alice");
    let csrf = csrf_of(&alice, &stack);
    let r = post(
        &alice,
        &stack,
        "/ui/tokens",
        &[
            ("csrf", &csrf),
            ("name", "ci-pull"),
            ("scopes", "download"),
            ("expires_in", "30d"),
        ],
    );
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().unwrap();
    let secret = by_id(&body, "token-secret");
    assert!(secret.starts_with("rga_"), "{secret}");
    // The secret never goes on the command line, where the shell's history keeps it.
    let login = by_id(&body, "docker-login");
    assert_eq!(
        login,
        format!("docker login -u alice 127.0.0.1:{}", stack.registry_port)
    );
    assert!(!login.contains(&secret));
    let pull = |secret: &str| {
        Client::new()
            .get(stack.url("/token"))
            .query(&[
                ("service", SERVICE),
                ("scope", &format!("repository:{p}/tool:pull")),
            ])
            .basic_auth("x", Some(secret))
            .send()
            .unwrap()
    };
    let r = pull(&secret);
    assert_eq!(r.status(), 200);
    let (_, claims) = jwt(r.json::<Value>().unwrap()["token"].as_str().unwrap());
    assert_eq!(claims["access"][0]["actions"], serde_json::json!(["pull"]));

    let list = get(&alice, &stack, "/ui/tokens").text().unwrap();
    assert!(list.contains("ci-pull"));
    assert!(!list.contains(&secret), "the secret is shown once only");
    let tokens = api_tokens(&stack, "alice");
    let id = tokens[0]["id"].as_i64().unwrap();
    assert_eq!(tokens[0]["scopes"], serde_json::json!(["download"]));
    let r = post(
        &alice,
        &stack,
        &format!("/ui/tokens/{id}/revoke"),
        &[("csrf", &csrf)],
    );
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/tokens"));
    assert_eq!(pull(&secret).status(), 401);
    assert!(get(&alice, &stack, "/ui/tokens")
        .text()
        .unwrap()
        .contains("revoked"));

    // Bad input is the use case's (or the form's) 400, in words.
    let r = post(
        &alice,
        &stack,
        "/ui/tokens",
        &[("csrf", &csrf), ("name", "none"), ("expires_in", "30d")],
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("scopes"));
    let r = post(
        &alice,
        &stack,
        "/ui/tokens",
        &[("csrf", &csrf), ("name", " "), ("scopes", "view")],
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("give a token name"));
}

#[test]
fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let (stack, p) = setup();
    let alice = signed_in(&stack, "alice");
    let other = signed_in(&stack, "alice");
    let good = csrf_of(&alice, &stack);
    let others = csrf_of(&other, &stack);
    assert_ne!(good, others, "one token per session");
    let existing = stack.token("alice", "view");
    let id = api_tokens(&stack, "alice")[0]["id"].as_i64().unwrap();
    let acl_before = stack.ok(&["acl", "show", &p]);
    let projects_before = call(
        &stack,
        "GET",
        "/api/v1/projects",
        As::Password("alice"),
        None,
    )
    .text()
    .unwrap();

    let revoke = format!("/ui/tokens/{id}/revoke");
    let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/ui/tokens",
            vec![("name", "sneaky"), ("scopes", "download")],
        ),
        (revoke.as_str(), vec![]),
        ("/ui/projects", vec![("name", "sneaky")]),
        (
            "/ui/sharing",
            vec![
                ("entity", p.as_str()),
                ("rows", "1"),
                ("principal_0", "bob"),
                ("access_0", "ALL"),
            ],
        ),
        (
            "/ui/account/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        ),
        ("/ui/signout", vec![]),
    ];
    for (path, fields) in &forms {
        for (csrf, what) in [
            (None, "missing"),
            (Some(""), "empty"),
            (Some("forged-token-forged-token-forged-token-xyz"), "wrong"),
            (Some(others.as_str()), "another session's"),
        ] {
            let mut form = fields.clone();
            if let Some(t) = csrf {
                form.push(("csrf", t));
            }
            let r = post(&alice, &stack, path, &form);
            assert_eq!(r.status(), 403, "{path} with a {what} token");
            assert_security_headers(&r, path);
            assert!(r.text().unwrap().contains("nothing was changed"));
        }
    }
    // Nothing changed: the same token list (and it still works), projects, ACL,
    // password, and the session is still alive.
    let tokens = api_tokens(&stack, "alice");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["revoked"], false);
    assert_eq!(
        call(&stack, "GET", "/api/v1/me", As::Token(&existing), None).status(),
        200
    );
    assert_eq!(
        call(
            &stack,
            "GET",
            "/api/v1/projects",
            As::Password("alice"),
            None
        )
        .text()
        .unwrap(),
        projects_before
    );
    assert_eq!(stack.ok(&["acl", "show", &p]), acl_before);
    assert_eq!(get(&alice, &stack, "/ui/tokens").status(), 200);
    // And the right token does work.
    let r = post(&alice, &stack, &revoke, &[("csrf", &good)]);
    assert_eq!(r.status(), 303);

    // The sign-in form: its double-submit token must match its cookie.
    let c = browser();
    let r = post(
        &c,
        &stack,
        "/ui/signin",
        &[("user", "alice"), ("password", PASSWORD)],
    );
    assert_eq!(r.status(), 403, "no cookie, no field");
    let form = get(&c, &stack, "/ui/signin").text().unwrap();
    let _ = hidden(&form, "csrf");
    for csrf in ["", "forged", others.as_str()] {
        let r = post(
            &c,
            &stack,
            "/ui/signin",
            &[("user", "alice"), ("password", PASSWORD), ("csrf", csrf)],
        );
        assert_eq!(r.status(), 403, "sign-in with csrf {csrf:?}");
    }
    assert_eq!(get(&c, &stack, "/ui/tokens").status(), 303, "not signed in");
}

#[test]
fn another_users_token_or_login_cannot_be_revoked() {
    let (stack, _) = setup();
    let bobs = stack.token("bob", "view");
    let bob_id = api_tokens(&stack, "bob")[0]["id"].as_i64().unwrap();
    let alice = signed_in(&stack, "alice");
    let csrf = csrf_of(&alice, &stack);
    let r = post(
        &alice,
        &stack,
        &format!("/ui/tokens/{bob_id}/revoke"),
        &[("csrf", &csrf)],
    );
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .unwrap()
        .contains("not found, or you may not see it"));
    assert_eq!(
        call(&stack, "GET", "/api/v1/me", As::Token(&bobs), None).status(),
        200,
        "bob's token still works"
    );
    // Bob's docker login, likewise.
    let login: Value = Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("offline_token", "true"),
            ("client_id", "docker"),
        ])
        .basic_auth("bob", Some(PASSWORD))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(login["refresh_token"].is_string());
    let logins: Value = call(
        &stack,
        "GET",
        "/api/v1/me/logins",
        As::Password("bob"),
        None,
    )
    .json()
    .unwrap();
    let login_id = logins["logins"][0]["id"].as_i64().unwrap();
    let r = post(
        &alice,
        &stack,
        &format!("/ui/logins/{login_id}/revoke"),
        &[("csrf", &csrf)],
    );
    assert_eq!(r.status(), 404);
    let bob = signed_in(&stack, "bob");
    let page = get(&bob, &stack, "/ui/logins").text().unwrap();
    assert!(page.contains("docker"), "bob's login is listed: {page}");
    let bob_csrf = csrf_of(&bob, &stack);
    let r = post(
        &bob,
        &stack,
        &format!("/ui/logins/{login_id}/revoke"),
        &[("csrf", &bob_csrf)],
    );
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/logins"));
    assert!(get(&bob, &stack, "/ui/logins")
        .text()
        .unwrap()
        .contains("No docker login is in force."));
}

#[test]
fn the_user_list_is_for_admins_only() {
    let (stack, _) = setup();
    let alice = signed_in(&stack, "alice");
    let r = get(&alice, &stack, "/ui/admin/users");
    assert_eq!(r.status(), 403);
    assert_security_headers(&r, "403");
    let body = r.text().unwrap();
    assert!(body.contains("only an admin may do this"), "{body}");
    assert!(!body.contains("alice@example.org"));
    let root = signed_in(&stack, "root");
    let r = get(&root, &stack, "/ui/admin/users");
    assert_eq!(r.status(), 200);
    let body = r.text().unwrap();
    assert!(body.contains("alice@example.org") && body.contains("bob"));
    assert!(get(&root, &stack, "/ui/tokens")
        .text()
        .unwrap()
        .contains("href=\"/ui/admin/users\""));
}

#[test]
fn disabling_a_user_ends_its_sessions() {
    let (stack, _) = setup();
    let alice = signed_in(&stack, "alice");
    assert_eq!(get(&alice, &stack, "/ui/tokens").status(), 200);
    stack.ok(&["user", "set", "alice", "--disabled", "true"]);
    let r = get(&alice, &stack, "/ui/tokens");
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/ui/signin"));
    // Enabled again, the old session stays over; signing in works again.
    stack.ok(&["user", "set", "alice", "--disabled", "false"]);
    assert_eq!(get(&alice, &stack, "/ui/tokens").status(), 303);
    let again = signed_in(&stack, "alice");
    assert_eq!(get(&again, &stack, "/ui/tokens").status(), 200);
}

#[test]
fn a_new_password_ends_the_other_sessions() {
    let (stack, _) = setup();
    let here = signed_in(&stack, "alice");
    let elsewhere = signed_in(&stack, "alice");
    let csrf = csrf_of(&here, &stack);
    let new = "a brand new password";
    let r = post(
        &here,
        &stack,
        "/ui/account/password",
        &[
            ("csrf", &csrf),
            ("current_password", "not the password"),
            ("new_password", new),
            ("confirm_password", new),
        ],
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("not your current password"));
    let r = post(
        &here,
        &stack,
        "/ui/account/password",
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("new_password", new),
            ("confirm_password", new),
        ],
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        get(&here, &stack, "/ui/tokens").status(),
        200,
        "this one goes on"
    );
    assert_eq!(get(&elsewhere, &stack, "/ui/tokens").status(), 303);
    // A change made elsewhere (the API) ends this one too.
    let r = Client::new()
        .put(stack.url("/api/v1/me/password"))
        .basic_auth("alice", Some(new))
        .json(&serde_json::json!({"current_password": new, "new_password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get(&here, &stack, "/ui/tokens").status(), 303);
}

#[test]
fn projects_are_created_and_shared_through_the_use_cases() {
    let (stack, p) = setup();
    let alice = signed_in(&stack, "alice");
    let csrf = csrf_of(&alice, &stack);
    let r = post(
        &alice,
        &stack,
        "/ui/projects",
        &[("csrf", &csrf), ("name", "tools")],
    );
    assert_eq!(r.status(), 303);
    let page = location(&r).to_string();
    assert!(page.starts_with("/ui/projects/syn"), "{page}");
    assert!(get(&alice, &stack, &page)
        .text()
        .unwrap()
        .contains("Project tools"));
    assert!(get(&alice, &stack, "/ui/projects")
        .text()
        .unwrap()
        .contains("tools"));

    // The owner replaces the project's sharing settings.
    let r = post(
        &alice,
        &stack,
        "/ui/sharing",
        &[
            ("csrf", &csrf),
            ("entity", &p),
            ("rows", "3"),
            ("principal_0", "alice"),
            ("access_0", "READ"),
            ("access_0", "DOWNLOAD"),
            ("access_0", "CHANGE_PERMISSIONS"),
            ("principal_1", "bob"),
            ("access_1", "READ"),
            ("principal_2", "authenticated"),
        ],
    );
    assert_eq!(r.status(), 303, "{}", r.text().unwrap());
    let acl = stack.ok(&["acl", "show", &p]);
    assert!(acl.contains("bob"), "{acl}");
    assert!(
        !acl.contains("authenticated"),
        "a row without access is dropped: {acl}"
    );

    // Bob sees them but may not change them: no form, and a POST is the use case's 403.
    let bob = signed_in(&stack, "bob");
    let page = get(&bob, &stack, &format!("/ui/sharing?entity={p}"))
        .text()
        .unwrap();
    assert!(page.contains("You may not change these sharing settings."));
    let bob_csrf = csrf_of(&bob, &stack);
    let r = post(
        &bob,
        &stack,
        "/ui/sharing",
        &[
            ("csrf", &bob_csrf),
            ("entity", &p),
            ("rows", "1"),
            ("principal_0", "bob"),
            ("access_0", "ALL"),
        ],
    );
    assert_eq!(r.status(), 403);
    let body = r.text().unwrap();
    assert!(body.contains("CHANGE_PERMISSIONS"), "{body}");
    assert_eq!(stack.ok(&["acl", "show", &p]), acl, "nothing changed");

    // A change that would leave nobody able to share again: the use case's 400.
    let r = post(
        &alice,
        &stack,
        "/ui/sharing",
        &[
            ("csrf", &csrf),
            ("entity", &p),
            ("rows", "1"),
            ("principal_0", "bob"),
            ("access_0", "READ"),
        ],
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("entries:"));
    assert_eq!(stack.ok(&["acl", "show", &p]), acl, "nothing changed");
}

#[test]
fn failed_sign_ins_meet_the_token_endpoints_rate_limit() {
    let (stack, _) = setup();
    let c = browser();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            try_sign_in(&c, &stack, "alice", "wrong password here")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    let r = try_sign_in(&c, &stack, "alice", PASSWORD);
    assert_eq!(r.status(), 429, "even the right password, while limited");
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.text().unwrap().contains("too many failed logins"));
}

/// Where the browser test leaves its screenshots.
fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots")
}

#[test]
fn in_a_real_browser_a_token_made_in_the_page_pulls_until_revoked_and_the_tags_show_the_pushed_digest(
) {
    // The browser first: without chromium or chromedriver, fail before anything else.
    let b = webdriver::Browser::start();
    let stack = Stack::with_registry();
    stack.add_user("alice", &["--certified"]);
    let p = stack.add_project("alpha", "alice");
    let img = tiny_image(stack.dir.path(), "v1", "pushed for the web test");
    let (push, digest) = stack.push(&img, &format!("{p}/tool:v1"), &format!("alice:{PASSWORD}"));
    assert!(push.success, "push: {}", push.output);
    let digest = digest.expect("skopeo wrote the digest");

    let at = |path: &str| b.wait_at(path);
    let shots = screenshots();
    let shot = |name: &str| b.screenshot(&shots.join(format!("{name}.png")));

    b.goto(&stack.url("/ui/"));
    at("/ui/signin");
    shot("signin");
    b.type_into("#user", "alice");
    b.type_into("#password", PASSWORD);
    b.click("form[action='/ui/signin'] button[type=submit]");
    at("/ui/tokens");
    b.wait_titled("My access tokens · regauth");

    // A token with `download` only.
    b.type_into("#name", "ci-pull");
    b.click("input[name=scopes][value=view]");
    assert!(!b.selected("input[name=scopes][value=view]"));
    assert!(b.selected("input[name=scopes][value=download]"));
    b.click("form[action='/ui/tokens'] button[type=submit]");
    b.wait_titled("Token created · regauth");
    let secret = b.text("#token-secret");
    assert!(secret.starts_with("rga_"), "{secret}");
    assert_eq!(
        b.text("#docker-login"),
        format!("docker login -u alice 127.0.0.1:{}", stack.registry_port)
    );
    shot("token-created");

    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&format!("alice:{secret}")));
    assert!(pull.success, "pull with the page's token: {}", pull.output);

    b.goto(&stack.url("/ui/tokens"));
    assert!(b.text("td.token-name").contains("ci-pull"));
    assert!(!b.source().contains(&secret), "shown once only");
    shot("tokens");
    b.click("form[action^='/ui/tokens/'] button.danger");
    b.wait_until("showing the token revoked", |b| {
        b.source().contains(">revoked<")
    });
    at("/ui/tokens");
    shot("tokens-revoked");
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&format!("alice:{secret}")));
    assert_refused(
        &pull,
        Refusal::BadCredentials,
        "pull with the revoked token",
    );

    // Projects → project → repository → tags.
    b.click("a[href='/ui/projects']");
    b.wait_titled("Projects · regauth");
    shot("projects");
    b.click(&format!("td a[href='/ui/projects/{p}']"));
    b.wait_titled("Project alpha · regauth");
    shot("project");
    b.click("td a[href^='/ui/repository?path=']");
    b.wait_titled(&format!("Repository {p}/tool · regauth"));
    assert_eq!(
        b.text("#tags code.digest"),
        digest,
        "the digest skopeo pushed"
    );
    assert_eq!(b.text("#tags td.tag").lines().next(), Some("v1"));
    assert_eq!(
        b.text("#pull-0"),
        format!(
            "docker pull 127.0.0.1:{}/{p}/tool@{digest}",
            stack.registry_port
        )
    );
    let access = b.text("#your-access");
    assert_eq!(access, "Your access: pull ✓, push ✓", "{access}");
    assert_eq!(
        b.find_all("button[data-copy]").len(),
        1,
        "one copy button per tag"
    );
    // The inline script ran (the policy's hash matches it): it shows the copy buttons.
    assert!(b.displayed("button[data-copy='pull-0']"));
    shot("repository");
    b.click("#tags td.tag a");
    b.wait_titled(&format!("History of {p}/tool:v1 · regauth"));
    assert_eq!(b.text("td code.digest"), digest);
    shot("history");
    b.goto(&stack.url(&format!("/ui/sharing?entity={p}")));
    assert!(b.text("#acl").contains("alice"));
    shot("sharing");
    b.click("a[href='/ui/logins']");
    b.wait_titled("My docker logins · regauth");
    shot("logins");
    b.click("a[href='/ui/account']");
    b.wait_titled("My account · regauth");
    shot("account");
    b.click("header form button[type=submit]");
    at("/ui/signin");
    b.goto(&stack.url("/ui/tokens"));
    at("/ui/signin");

    // Access requests: bob sees the project but may not pull; he asks, alice approves
    // in her inbox, and bob's pull works from then on.
    stack.add_user("bob", &[]);
    stack.grant(&p, "bob", "READ");
    let bobs_pull = || stack.pull(&format!("{p}/tool:v1"), Some(&format!("bob:{PASSWORD}")));
    assert_refused(
        &bobs_pull(),
        Refusal::Denied,
        "bob's pull before the request",
    );
    let sign_in = |user: &str| {
        b.goto(&stack.url("/ui/signin"));
        at("/ui/signin");
        b.type_into("#user", user);
        b.type_into("#password", PASSWORD);
        b.click("form[action='/ui/signin'] button[type=submit]");
        at("/ui/tokens");
    };
    sign_in("bob");
    b.goto(&stack.url(&format!("/ui/repository?path={p}%2Ftool")));
    b.wait_titled(&format!("Repository {p}/tool · regauth"));
    assert!(
        b.text("#your-access").contains("pull ✗"),
        "{}",
        b.text("#your-access")
    );
    b.click("a[href^='/ui/access?entity=']");
    b.wait_titled("Access · regauth");
    b.type_into("#message", "I run the nightly analysis");
    b.click("form[action='/ui/access'] button[type=submit]");
    at("/ui/requests");
    assert!(b.source().contains(">open<"), "the request is open");
    shot("requests");
    b.click("header form button[type=submit]");
    at("/ui/signin");
    sign_in("alice");
    b.goto(&stack.url(&format!("/ui/access?entity={p}%2Ftool")));
    b.wait_titled("Access · regauth");
    assert!(b.source().contains("I run the nightly analysis"));
    shot("access-inbox");
    b.click("form[action$='/approve'] button[type=submit]");
    b.wait_until("the inbox emptied", |b| {
        b.source().contains("Open requests (0)")
    });
    let pull = bobs_pull();
    assert!(
        pull.success,
        "bob's pull after the approval: {}",
        pull.output
    );

    for name in [
        "signin",
        "tokens",
        "repository",
        "history",
        "sharing",
        "requests",
        "access-inbox",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).expect("screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000, "{name}");
    }
}

#[test]
fn access_requests_in_the_pages_need_the_csrf_token_and_follow_the_rules() {
    let (stack, p) = setup();
    stack.add_user("dora", &[]);
    stack.grant(&p, "dora", "READ");
    let dora = signed_in(&stack, "dora");
    let mine = || {
        let r = call(
            &stack,
            "GET",
            "/api/v1/me/access-requests",
            As::Password("dora"),
            None,
        );
        r.json::<Value>().unwrap()["requests"]
            .as_array()
            .unwrap()
            .clone()
    };
    let page = get(&dora, &stack, &format!("/ui/access?entity={p}"));
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(
        page.contains("Request access") && !page.contains("Open requests"),
        "no inbox for dora"
    );
    let fields = [("entity", p.as_str()), ("message", "for the paper")];
    assert_eq!(post(&dora, &stack, "/ui/access", &fields).status(), 403);
    assert!(mine().is_empty(), "nothing filed without the CSRF token");
    let csrf = csrf_of(&dora, &stack);
    let mut with = fields.to_vec();
    with.push(("csrf", &csrf));
    let r = post(&dora, &stack, "/ui/access", &with);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/ui/requests");
    let filed = mine();
    assert_eq!(filed.len(), 1);
    let id = filed[0]["id"].as_i64().unwrap();
    // A second open request is refused with the use case's message.
    let r = post(&dora, &stack, "/ui/access", &with);
    assert_eq!(r.status(), 409);
    // dora may not decide her own request; alice decides only with the token.
    let approve = format!("/ui/access/{id}/approve");
    let r = post(&dora, &stack, &approve, &[("csrf", &csrf), ("entity", &p)]);
    assert_eq!(r.status(), 403);
    let alice = signed_in(&stack, "alice");
    let inbox = get(&alice, &stack, &format!("/ui/access?entity={p}"))
        .text()
        .unwrap();
    assert!(inbox.contains("for the paper"), "alice's inbox");
    assert_eq!(
        post(&alice, &stack, &approve, &[("entity", &p)]).status(),
        403
    );
    assert_eq!(mine()[0]["state"], "open");
    let alices = csrf_of(&alice, &stack);
    let r = post(
        &alice,
        &stack,
        &approve,
        &[("csrf", &alices), ("entity", &p)],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(mine()[0]["state"], "approved");
    let list = get(&dora, &stack, "/ui/requests").text().unwrap();
    assert!(list.contains(">approved<"), "{list}");
}
