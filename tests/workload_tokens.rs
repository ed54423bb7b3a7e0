//! CI jobs push with their own OIDC token, end to end: the contract OIDC provider
//! (`support/oidc_provider.rs`) mints GitHub Actions-, GitLab CI- and Kubernetes-shaped
//! tokens, the real registry and skopeo push and pull with `oidc:<token>`, and the same
//! token is refused for another repository, another project, after its policy is
//! removed, after its creator loses UPDATE, and from an issuer that is not configured.

mod common;
#[path = "support/oidc_provider.rs"]
mod oidc_provider;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use oidc_provider::OidcProvider;
use serde_json::Value;

const AUDIENCE: &str = "regauth-ci";

fn stack_trusting(provider: &OidcProvider) -> Stack {
    Stack::with_registry_and(&format!(
        "\n[[oidc.issuers]]\nname = \"ci\"\nissuer = \"{}\"\nrefetch_interval = \"1s\"\n",
        provider.issuer()
    ))
}

/// A certified owner and a project; returns its id.
fn project(stack: &Stack, owner: &str) -> String {
    stack.add_user(owner, &["--certified"]);
    stack.add_project(&format!("{owner}-project"), owner)
}

static SERIAL: AtomicUsize = AtomicUsize::new(0);

/// Signs `claims` with a fresh `jti`, so two tokens of one test are two tokens.
fn mint(provider: &OidcProvider, mut claims: Value) -> String {
    let n = SERIAL.fetch_add(1, Ordering::SeqCst);
    claims["jti"] = format!("{}-{n}", rand_suffix()).into();
    provider.mint(&claims)
}

fn add_policy(stack: &Stack, p: &str, creator: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "trust-policy",
        "add",
        p,
        "--creator",
        creator,
        "--issuer",
        "ci",
        "--audience",
        AUDIENCE,
        "--repositories",
        "tool*",
        "--actions",
        "pull,push",
        "--preset",
        r#"{"kind":"github-actions","repository":"org/tool","repository_id":741952,"repository_owner_id":1342004,"ref":"refs/heads/main"}"#,
    ];
    args.extend_from_slice(extra);
    let line = stack.ok(&args);
    line.split('\t').next().unwrap_or_default().to_string()
}

#[test]
fn a_job_pushes_with_its_oidc_token_and_only_where_its_policy_says() {
    let provider = OidcProvider::start();
    let stack = stack_trusting(&provider);
    let p = project(&stack, "alice");
    let other = stack.add_project("elsewhere", "alice");
    let id = add_policy(&stack, &p, "alice", &[]);
    let img = tiny_image(stack.dir.path(), "v1", "one");
    let job = |_: ()| {
        mint(
            &provider,
            provider.github_actions_claims("org/tool", "refs/heads/main", AUDIENCE),
        )
    };

    let (push, digest) = stack.push(&img, &format!("{p}/tool:v1"), &format!("oidc:{}", job(())));
    assert!(
        push.success,
        "workload push failed: {}\n{}",
        push.output,
        stack.regauth_log()
    );
    assert!(digest.is_some());
    let pull = stack.pull(&format!("{p}/tool:v1"), Some(&format!("oidc:{}", job(()))));
    assert!(pull.success, "workload pull failed: {}", pull.output);
    // The audit trail names the policy and what matched; the token, the workload.
    let admitted = eventually(10, || {
        let audit = stack.ok(&["audit", "--since", "1h", "--json"]);
        audit
            .lines()
            .find(|l| l.contains("workload_admitted") && l.contains("repository_id=741952"))
            .map(str::to_string)
    });
    assert!(
        admitted.is_some(),
        "no workload_admitted record naming the claims"
    );

    // Another repository (outside `tool*`) and another project: refused.
    let (push, _) = stack.push(&img, &format!("{p}/other:v1"), &format!("oidc:{}", job(())));
    assert_refused(&push, Refusal::Denied, "repository outside the policy");
    let (push, _) = stack.push(
        &img,
        &format!("{other}/tool:v1"),
        &format!("oidc:{}", job(())),
    );
    assert_refused(&push, Refusal::Denied, "another project");

    // Another branch, or the same repository name with another id: no policy matches.
    let feature = mint(
        &provider,
        provider.github_actions_claims("org/tool", "refs/heads/feature", AUDIENCE),
    );
    let (push, _) = stack.push(&img, &format!("{p}/tool:v2"), &format!("oidc:{feature}"));
    assert!(!push.success);
    assert!(
        push.output.contains(&format!(
            "this OIDC token meets no trust policy: policy {id} of {p}: claim ref"
        )),
        "another branch: {}",
        push.output
    );
    // The owner asks why: the policy names the failed condition, the value and the want.
    let why = stack.cli(
        &["trust-policy", "explain", &p],
        Some(&format!("{feature}\n")),
    );
    let why = String::from_utf8_lossy(&why.stdout).to_string();
    assert!(
        why.contains(&format!(
            "policy {id}: claim ref \"refs/heads/feature\" does not match \"refs/heads/main\""
        )),
        "{why}"
    );
    let good = stack.cli(
        &["trust-policy", "explain", &p],
        Some(&format!("{}\n", job(()))),
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains(&format!("policy {id}: matches")));
    let mut reused = provider.github_actions_claims("org/tool", "refs/heads/main", AUDIENCE);
    reused["repository_id"] = "999".into();
    let reused = mint(&provider, reused);
    let (push, _) = stack.push(&img, &format!("{p}/tool:v2"), &format!("oidc:{reused}"));
    assert!(!push.success);
    assert!(
        push.output.contains("claim repository_id") && !push.output.contains("741952"),
        "a reused repository name: {}",
        push.output
    );

    // The creator loses UPDATE (and CREATE): the existing repository takes no push.
    stack.ok(&["acl", "revoke", &p, "alice", "UPDATE,CREATE"]);
    let (push, _) = stack.push(&img, &format!("{p}/tool:v3"), &format!("oidc:{}", job(())));
    assert_refused(&push, Refusal::Denied, "creator without UPDATE");
    stack.grant(&p, "alice", "UPDATE,CREATE");

    // The policy removed: refused from the next request on.
    stack.ok(&["trust-policy", "remove", &p, &id]);
    let (push, _) = stack.push(&img, &format!("{p}/tool:v4"), &format!("oidc:{}", job(())));
    assert_refused(&push, Refusal::BadCredentials, "policy removed");
}

#[test]
fn tokens_from_an_unconfigured_issuer_or_for_another_audience_are_refused() {
    let provider = OidcProvider::start();
    let stranger = OidcProvider::start();
    let stack = stack_trusting(&provider);
    let p = project(&stack, "alice");
    add_policy(&stack, &p, "alice", &[]);
    let img = tiny_image(stack.dir.path(), "v1", "one");

    let foreign = mint(
        &stranger,
        stranger.github_actions_claims("org/tool", "refs/heads/main", AUDIENCE),
    );
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &format!("oidc:{foreign}"));
    assert_refused(&push, Refusal::BadCredentials, "issuer not configured");
    assert_eq!(
        stranger.jwks_fetches(),
        0,
        "a token's issuer was fetched from"
    );

    let other_aud = mint(
        &provider,
        provider.github_actions_claims("org/tool", "refs/heads/main", "https://github.com/org"),
    );
    let (push, _) = stack.push(&img, &format!("{p}/tool:v1"), &format!("oidc:{other_aud}"));
    assert_refused(&push, Refusal::BadCredentials, "another audience");
}

#[test]
fn the_token_exchange_grant_and_the_refusals_it_names() {
    let provider = OidcProvider::start();
    let stack = stack_trusting(&provider);
    let p = project(&stack, "alice");
    add_policy(&stack, &p, "alice", &["--max-lifetime", "2m"]);
    let token = mint(
        &provider,
        provider.github_actions_claims("org/tool", "refs/heads/main", AUDIENCE),
    );
    let exchange = |subject: &str, scope: &str, offline: bool| {
        let mut form = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", subject),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("service", SERVICE),
            ("scope", scope),
        ];
        if offline {
            form.push(("access_type", "offline"));
        }
        reqwest::blocking::Client::new()
            .post(stack.url("/token"))
            .form(&form)
            .send()
            .expect("POST /token")
    };
    let scope = format!("repository:{p}/tool:pull,push");
    let r = exchange(&token, &scope, true);
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "a workload got a refresh token"
    );
    let (_, claims) = jwt(body["access_token"].as_str().unwrap());
    assert!(claims["sub"]
        .as_str()
        .unwrap()
        .ends_with("#repo:org/tool:ref:refs/heads/main"));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 120);
    assert_eq!(
        claims["access"][0]["actions"],
        serde_json::json!(["pull", "push"])
    );

    // The same OIDC token again: the same scopes yes (plus a pull, as for a mounted
    // blob), another push no.
    assert_eq!(exchange(&token, &scope, false).status(), 200);
    let mount = format!("{scope} repository:{p}/tool2:pull");
    assert_eq!(exchange(&token, &mount, false).status(), 200);
    assert_eq!(
        exchange(&token, &format!("repository:{p}/tool2:pull,push"), false).status(),
        401
    );
    // A token without the right type, and garbage.
    assert_eq!(exchange("not.a.jwt", &scope, false).status(), 401);
    let r = reqwest::blocking::Client::new()
        .post(stack.url("/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", token.as_str()),
            ("service", SERVICE),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    // The API takes no workload token.
    let r = reqwest::blocking::Client::new()
        .get(stack.url("/api/v1/projects"))
        .basic_auth("oidc", Some(&token))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn a_policy_is_made_by_who_may_change_the_projects_sharing_and_names_only_is_flagged() {
    let provider = OidcProvider::start();
    let stack = stack_trusting(&provider);
    let p = project(&stack, "alice");
    stack.add_user("bob", &["--certified"]);
    stack.grant(&p, "bob", "READ,DOWNLOAD");
    let body = serde_json::json!({
        "issuer": "ci",
        "audience": AUDIENCE,
        "conditions": [{"claim": "repository", "exact": "org/tool"}],
        "repositories": "tool",
        "actions": ["pull"],
    });
    let post = |user: &str| {
        let token = stack.token(user, "view,download,modify,authorize");
        reqwest::blocking::Client::new()
            .post(stack.url(&format!("/api/v1/projects/{p}/trust-policies")))
            .basic_auth(user, Some(&token))
            .json(&body)
            .send()
            .unwrap()
    };
    assert_eq!(post("bob").status(), 403, "bob lacks CHANGE_PERMISSIONS");
    let r = post("alice");
    assert_eq!(r.status(), 201);
    let made: Value = r.json().unwrap();
    assert_eq!(made["names_only"], true);
    assert_eq!(made["creator"], "alice");
    let listed = stack.ok(&["trust-policy", "list", &p]);
    assert!(listed.contains("names only"), "{listed}");

    // No condition at all, an issuer not configured, a `**` glob: refused with the reason.
    for (bad, why) in [
        (
            serde_json::json!({"issuer": "ci", "audience": AUDIENCE, "repositories": "tool", "actions": ["pull"]}),
            "condition",
        ),
        (
            serde_json::json!({"issuer": "https://evil.example", "audience": AUDIENCE, "conditions": [{"claim": "sub", "exact": "x"}], "repositories": "tool", "actions": ["pull"]}),
            "not configured",
        ),
        (
            serde_json::json!({"issuer": "ci", "audience": AUDIENCE, "conditions": [{"claim": "sub", "glob": "repo:**"}], "repositories": "tool", "actions": ["pull"]}),
            "**",
        ),
    ] {
        let token = stack.token("alice", "view,download,modify,authorize");
        let r = reqwest::blocking::Client::new()
            .post(stack.url(&format!("/api/v1/projects/{p}/trust-policies")))
            .basic_auth("alice", Some(&token))
            .json(&bad)
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let text = r.text().unwrap();
        assert!(text.contains(why), "{why}: {text}");
    }
}

/// `GET /token` as `oidc:<token>` for a pull of `repo`: the status and the body.
fn token_status(stack: &Stack, token: &str, repo: &str) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("scope", &format!("repository:{repo}:pull")),
        ])
        .basic_auth("oidc", Some(token))
        .send()
        .expect("GET /token");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

#[test]
fn every_hostile_token_is_refused_at_the_token_endpoint() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let provider = OidcProvider::start();
    let stack = stack_trusting(&provider);
    let p = project(&stack, "alice");
    add_policy(&stack, &p, "alice", &[]);
    let repo = format!("{p}/tool");
    let good = provider.github_actions_claims("org/tool", "refs/heads/main", AUDIENCE);
    assert_eq!(
        token_status(&stack, &mint(&provider, good.clone()), &repo).0,
        200
    );

    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let unsigned = format!(
        "{}.{}.",
        part(&serde_json::json!({"alg": "none", "kid": provider.current_kid()})),
        part(&good)
    );
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some(provider.current_kid());
    let confused = jsonwebtoken::encode(
        &hs,
        &good,
        &jsonwebtoken::EncodingKey::from_secret(&provider.public_key(&provider.current_kid())),
    )
    .unwrap();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        change(&mut c);
        mint(&provider, c)
    };
    let now = oidc_provider::now();
    let cases = [
        ("alg=none", unsigned),
        ("HS256 with the public key", confused),
        ("an unpublished key", provider.mint_unpublished(&good)),
        (
            "wrong iss",
            with(&|c| c["iss"] = "https://evil.example".into()),
        ),
        (
            "expired",
            with(&|c| {
                c["exp"] = (now - 600).into();
                c["iat"] = (now - 900).into();
                c["nbf"] = (now - 900).into();
            }),
        ),
        (
            "nbf in the future",
            with(&|c| c["nbf"] = (now + 3600).into()),
        ),
        (
            "garbage",
            "eyJhbGciOiJSUzI1NiJ9.garbage.garbage".to_string(),
        ),
    ];
    for (what, token) in cases {
        let (status, body) = token_status(&stack, &token, &repo);
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            !body.contains("trust policy"),
            "{what} reached the policies: {body}"
        );
    }
}

#[test]
fn a_provider_whose_keys_cannot_be_had_gives_503_and_passwords_keep_working() {
    let provider = OidcProvider::start();
    let stack = stack_trusting(&provider);
    let p = project(&stack, "alice");
    add_policy(&stack, &p, "alice", &[]);
    provider.fail(oidc_provider::Failure::Down);
    let token = mint(
        &provider,
        provider.github_actions_claims("org/tool", "refs/heads/main", AUDIENCE),
    );
    let (status, body) = token_status(&stack, &token, &format!("{p}/tool"));
    assert_eq!(status, 503, "{body}");
    // Password logins never consult an issuer.
    let r = reqwest::blocking::Client::new()
        .get(stack.url("/token"))
        .query(&[
            ("service", SERVICE),
            ("scope", &format!("repository:{p}/tool:pull")),
        ])
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // Back up: the next fetch (after the 1 s refetch interval) lets it in.
    provider.fail(oidc_provider::Failure::None);
    let ok = eventually(5, || {
        (token_status(&stack, &token, &format!("{p}/tool")).0 == 200).then_some(())
    });
    assert!(
        ok.is_some(),
        "the provider came back and the token stayed refused"
    );
}
