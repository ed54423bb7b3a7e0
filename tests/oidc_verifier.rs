//! `infra::oidc::Verifier` against the contract OIDC provider (`support/oidc_provider.rs`)
//! over real HTTP: tokens shaped as GitHub Actions', GitLab CI's and Kubernetes' verify
//! with their claims flattened; every hostile token is refused; key rotation, the
//! refetch limit, a provider that is down, slow or answers garbage, and the event
//! loop's pace behave as the port says.

#[path = "support/oidc_provider.rs"]
mod oidc_provider;

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use oidc_provider::{b64, now, Failure, OidcProvider};
use regauth::domain::ports::{DirectoryError, OidcRejection, OidcVerifier, Pace};
use regauth::infra::config::{IssuerSettings, OidcSettings, Preset};
use regauth::infra::oidc::{IssuerOptions, KeySource, Verifier};
use serde_json::{json, Value};

const AUDIENCE: &str = "https://registry.example.org";

fn options(provider: &OidcProvider, refetch: Duration) -> IssuerOptions {
    IssuerOptions {
        name: "ci".into(),
        issuer: provider.issuer(),
        source: KeySource::Discovery,
        refetch_interval: refetch,
        leeway: Duration::from_secs(60),
    }
}

/// A verifier of `provider` by discovery, refetching at most every `refetch`.
fn verifier(provider: &OidcProvider, refetch: Duration) -> Verifier {
    Verifier::new(vec![options(provider, refetch)], Duration::from_secs(2)).unwrap()
}

fn rejection(v: &Verifier, token: &str) -> &'static str {
    match v.verify(token, now(), Pace::MayBlock) {
        Err(OidcRejection::Rejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn unanswered(v: &Verifier, token: &str) -> String {
    match v.verify(token, now(), Pace::MayBlock) {
        Err(OidcRejection::Unanswered(DirectoryError::Backend(why))) => why,
        other => panic!("expected Unanswered(Backend), got {other:?}"),
    }
}

fn github(provider: &OidcProvider) -> Value {
    provider.github_actions_claims("octo-org/tool", "refs/heads/main", AUDIENCE)
}

#[test]
fn github_gitlab_and_kubernetes_tokens_verify_with_their_claims_flattened() {
    let p = OidcProvider::start();
    let v = verifier(&p, Duration::from_secs(60));
    assert_eq!(v.issuers(), vec![p.issuer()]);

    let gh = v
        .verify(&p.mint(&github(&p)), now(), Pace::MayBlock)
        .unwrap();
    assert_eq!(gh.subject, "repo:octo-org/tool:ref:refs/heads/main");
    assert_eq!(gh.audience, [AUDIENCE]);
    assert_eq!(gh.claims["repository_id"], "741952");
    assert_eq!(gh.claims["repository_owner_id"], "1342004");
    assert_eq!(
        gh.claims["job_workflow_ref"],
        "octo-org/tool/.github/workflows/build.yml@refs/heads/main"
    );
    assert_eq!(gh.claims["runner_environment"], "github-hosted");
    assert!(gh.jti.is_some());

    let gl_claims = p.gitlab_ci_claims("group/project", "main", AUDIENCE);
    let gl = v
        .verify(&p.mint_with("ec-1", &gl_claims), now(), Pace::MayBlock)
        .unwrap();
    assert_eq!(
        gl.subject,
        "project_path:group/project:ref_type:branch:ref:main"
    );
    assert_eq!(gl.claims["namespace_id"], "72");
    assert_eq!(gl.claims["project_path"], "group/project");
    assert_eq!(gl.claims["runner_id"], "12");
    assert_eq!(gl.claims["ref_protected"], "true");

    let k8s = v
        .verify(
            &p.mint(&p.kubernetes_claims("ci", "builder", AUDIENCE)),
            now(),
            Pace::MayBlock,
        )
        .unwrap();
    assert_eq!(k8s.subject, "system:serviceaccount:ci:builder");
    assert_eq!(k8s.audience, [AUDIENCE]);
    assert_eq!(k8s.claims["kubernetes.io.serviceaccount.name"], "builder");
    assert_eq!(
        k8s.claims["kubernetes.io.serviceaccount.uid"],
        "0d3e8c6a-1f2b-4a5c-8d9e-7f6a5b4c3d2e"
    );
    assert_eq!(k8s.claims["kubernetes.io.pod.name"], "builder-7c9f");
    assert_eq!(k8s.claims["kubernetes.io.namespace"], "ci");
    // One discovery and one key set served all three.
    assert_eq!((p.discovery_fetches(), p.jwks_fetches()), (1, 1));
    // Warm: the event loop's pace answers from memory.
    assert!(v.verify(&p.mint(&github(&p)), now(), Pace::Inline).is_ok());
}

#[test]
fn every_hostile_token_is_refused() {
    let p = OidcProvider::start();
    let other = OidcProvider::start();
    let v = Verifier::new(
        vec![
            options(&p, Duration::from_secs(60)),
            IssuerOptions {
                name: "other".into(),
                ..options(&other, Duration::from_secs(60))
            },
        ],
        Duration::from_secs(2),
    )
    .unwrap();
    let claims = github(&p);
    assert!(v.verify(&p.mint(&claims), now(), Pace::MayBlock).is_ok());
    let fetches = p.jwks_fetches();

    let part = |v: &Value| b64(&serde_json::to_vec(v).unwrap());
    let unsigned = format!(
        "{}.{}.",
        part(&json!({"alg": "none", "kid": "rsa-1"})),
        part(&claims)
    );
    assert_eq!(rejection(&v, &unsigned), "the token is not signed");

    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("rsa-1".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims,
        &EncodingKey::from_secret(&p.public_key("rsa-1")),
    )
    .unwrap();
    assert_eq!(
        rejection(&v, &confused),
        "the token is signed with a shared secret"
    );

    // A jku naming the provider's own key set: refused, and never fetched.
    let mut jku = Header::new(Algorithm::RS256);
    jku.kid = Some("rsa-1".into());
    jku.jku = Some(p.jwks_url());
    let token = p.mint_with_header("rsa-1", jku, &claims);
    assert_eq!(
        rejection(&v, &token),
        "the token header names a key of its own"
    );

    // `iss` of the other configured issuer, signed by this one's key of the same kid.
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!(other.issuer());
    assert_eq!(
        rejection(&v, &p.mint(&wrong_iss)),
        "the token's signature does not verify"
    );

    let mut expired = claims.clone();
    expired["exp"] = json!(now() - 120);
    assert_eq!(rejection(&v, &p.mint(&expired)), "the token has expired");
    let mut early = claims.clone();
    early["nbf"] = json!(now() + 600);
    assert_eq!(rejection(&v, &p.mint(&early)), "the token is not valid yet");
    assert_eq!(fetches, p.jwks_fetches(), "no refused token caused a fetch");

    // A key the provider never published: unknown, refused (no refetch inside the interval).
    assert_eq!(
        rejection(&v, &p.mint_unpublished(&claims)),
        "unknown key id"
    );
    assert_eq!(fetches, p.jwks_fetches());

    // An issuer not configured: refused with no network at all.
    let stranger = OidcProvider::start();
    let token =
        stranger.mint(&stranger.github_actions_claims("evil/tool", "refs/heads/main", AUDIENCE));
    assert_eq!(rejection(&v, &token), "issuer not configured");
    assert_eq!(
        (stranger.discovery_fetches(), stranger.jwks_fetches()),
        (0, 0)
    );
}

#[test]
fn a_storm_of_unknown_kids_costs_at_most_one_fetch_per_interval() {
    let p = OidcProvider::start();
    let v = verifier(&p, Duration::from_secs(1));
    let claims = github(&p);
    assert!(v.verify(&p.mint(&claims), now(), Pace::MayBlock).is_ok());
    assert_eq!(p.jwks_fetches(), 1);
    let forged = p.mint_unpublished(&claims);
    let storm = |v: &Verifier| {
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..10 {
                        assert!(v.verify(&forged, now(), Pace::MayBlock).is_err());
                    }
                });
            }
        })
    };
    storm(&v);
    assert_eq!(p.jwks_fetches(), 1, "inside the interval: no refetch");
    std::thread::sleep(Duration::from_millis(1100));
    storm(&v);
    assert_eq!(p.jwks_fetches(), 2, "one refetch once the interval passed");
    assert_eq!(rejection(&v, &forged), "unknown key id");
}

#[test]
fn a_rotated_key_is_fetched_once_and_a_retired_one_refused_after_the_refetch() {
    let p = OidcProvider::start();
    let v = verifier(&p, Duration::from_secs(1));
    let claims = github(&p);
    let old = p.mint(&claims);
    assert!(v.verify(&old, now(), Pace::MayBlock).is_ok());
    let new_kid = p.rotate();
    p.retire("rsa-1");
    assert_eq!(p.kids(), ["ec-1".to_owned(), new_kid.clone()]);
    let new = p.mint(&claims);
    // Inside the interval the new kid is not fetched yet; at the event loop's pace a
    // due fetch is "ask me off the loop".
    assert_eq!(rejection(&v, &new), "unknown key id");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        v.verify(&new, now(), Pace::Inline),
        Err(OidcRejection::Unanswered(DirectoryError::WouldBlock))
    );
    assert_eq!(p.jwks_fetches(), 1);
    assert!(v.verify(&new, now(), Pace::MayBlock).is_ok());
    assert_eq!(p.jwks_fetches(), 2);
    assert_eq!(rejection(&v, &old), "unknown key id");
    assert_eq!(p.jwks_fetches(), 2);
}

#[test]
fn a_provider_down_after_a_first_fetch_leaves_the_last_good_set_in_use() {
    let p = OidcProvider::start();
    let v = verifier(&p, Duration::from_secs(1));
    let claims = github(&p);
    let token = p.mint(&claims);
    assert!(v.verify(&token, now(), Pace::MayBlock).is_ok());
    for failure in [Failure::Down, Failure::Garbage] {
        p.fail(failure);
        std::thread::sleep(Duration::from_millis(1100));
        // A new kid makes it refetch; the fetch fails: not the token's fault.
        let asked = || p.discovery_fetches() + p.jwks_fetches();
        let before = asked();
        let why = unanswered(&v, &p.mint_unpublished(&claims));
        assert_eq!(asked(), before + 1, "{failure:?}");
        assert!(why.contains(&p.issuer()), "{why}");
        // The kept set still verifies what it holds.
        assert!(
            v.verify(&token, now(), Pace::MayBlock).is_ok(),
            "{failure:?}"
        );
        assert!(v.verify(&token, now(), Pace::Inline).is_ok(), "{failure:?}");
    }
}

#[test]
fn a_provider_down_or_garbled_from_the_start_leaves_tokens_unanswered() {
    for failure in [Failure::Down, Failure::Garbage] {
        let p = OidcProvider::start();
        p.fail(failure);
        let v = verifier(&p, Duration::from_secs(60));
        let token = p.mint(&github(&p));
        let why = unanswered(&v, &token);
        assert!(!why.contains(&token), "{why}");
        // Not asked again inside the interval, still unanswered (a 503, not a 401).
        let fetched = (p.discovery_fetches(), p.jwks_fetches());
        unanswered(&v, &token);
        assert_eq!((p.discovery_fetches(), p.jwks_fetches()), fetched);
    }
    // A discovery document naming another issuer is not used.
    let p = OidcProvider::start();
    p.set_discovery_issuer("https://token.actions.githubusercontent.com");
    let v = verifier(&p, Duration::from_secs(60));
    let why = unanswered(&v, &p.mint(&github(&p)));
    assert!(why.contains("names issuer"), "{why}");
    assert_eq!(p.jwks_fetches(), 0);
}

#[test]
fn a_slow_provider_costs_at_most_the_fetch_timeout() {
    let p = OidcProvider::start();
    p.fail(Failure::Slow(Duration::from_secs(5)));
    let v = Verifier::new(
        vec![options(&p, Duration::from_secs(60))],
        Duration::from_millis(500),
    )
    .unwrap();
    let started = Instant::now();
    let why = unanswered(&v, &p.mint(&github(&p)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(why.contains("timed out"), "{why}");
}

#[test]
fn inline_with_nothing_cached_would_block_and_fetches_nothing() {
    let p = OidcProvider::start();
    let v = verifier(&p, Duration::from_secs(60));
    let token = p.mint(&github(&p));
    assert_eq!(
        v.verify(&token, now(), Pace::Inline),
        Err(OidcRejection::Unanswered(DirectoryError::WouldBlock))
    );
    assert_eq!((p.discovery_fetches(), p.jwks_fetches()), (0, 0));
}

#[test]
fn the_configured_section_builds_the_verifier_with_a_jwks_url() {
    let p = OidcProvider::start();
    let settings = OidcSettings {
        issuers: vec![IssuerSettings {
            name: "cluster".into(),
            issuer: p.issuer(),
            preset: Preset::Kubernetes,
            jwks_url: Some(p.jwks_url()),
            jwks_file: None,
            refetch_interval: Duration::from_secs(60),
            leeway: Duration::from_secs(60),
        }],
        ..OidcSettings::default()
    };
    settings.validate().unwrap();
    let v = Verifier::from_settings(&settings).unwrap();
    assert_eq!(v.name_of(&p.issuer()), Some("cluster"));
    let token = p.mint(&p.kubernetes_claims("ci", "builder", AUDIENCE));
    assert!(v.verify(&token, now(), Pace::MayBlock).is_ok());
    assert_eq!((p.discovery_fetches(), p.jwks_fetches()), (0, 1));
}

/// The provider's people flow, as a relying party will drive it: the login form, the
/// code with `state`, the token endpoint checking the client secret and PKCE (S256),
/// an ID token with `nonce`, `aud` = client id and `azp`, and userinfo.
#[test]
fn the_provider_signs_people_in_with_the_code_flow_and_pkce() {
    use sha2::{Digest, Sha256};
    let p = OidcProvider::start();
    let redirect = "http://127.0.0.1:1/ui/oidc/callback";
    p.add_client("regauth", "client-s3cret", redirect);
    let sub = p.add_user(
        "alice",
        "alice-pw",
        "alice@example.org",
        &["registry-admins"],
    );
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier_text = "a-code-verifier-of-at-least-43-characters-0123456789";
    let challenge = b64(&Sha256::digest(verifier_text.as_bytes()));
    let request: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", "regauth"),
        ("redirect_uri", redirect),
        ("scope", "openid email profile"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    let authorize = format!("{}/authorize", p.base_url());
    let page = http.get(&authorize).query(&request).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("name=\"password\""));
    // An unregistered redirect URI is never redirected to.
    let mut bad = request.clone();
    bad[2].1 = "https://evil.example/cb";
    assert_eq!(
        http.get(&authorize).query(&bad).send().unwrap().status(),
        400
    );

    let login = |password: &str| {
        let mut form = request.clone();
        form.push(("username", "alice"));
        form.push(("password", password));
        http.post(&authorize).form(&form).send().unwrap()
    };
    assert_eq!(login("wrong").status(), 200, "the form again");
    let answer = login("alice-pw");
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(redirect) && location.ends_with("&state=st-1"),
        "{location}"
    );
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();

    let token = |secret: &str, verifier: &str| {
        http.post(format!("{}/token", p.base_url()))
            .basic_auth("regauth", Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ])
            .send()
            .unwrap()
    };
    assert_eq!(token("wrong-secret", verifier_text).status(), 401);
    let tokens: Value = token("client-s3cret", verifier_text).json().unwrap();
    // A code is good once.
    assert_eq!(token("client-s3cret", verifier_text).status(), 400);

    let id_token = tokens["id_token"].as_str().unwrap();
    let v = verifier(&p, Duration::from_secs(60));
    let claims = v.verify(id_token, now(), Pace::MayBlock).unwrap();
    assert_eq!(claims.subject, sub);
    assert_eq!(claims.audience, ["regauth"]);
    assert_eq!(claims.claims["azp"], "regauth");
    assert_eq!(claims.claims["nonce"], "n-1");
    assert_eq!(claims.claims["email_verified"], "true");

    let info: Value = http
        .get(format!("{}/userinfo", p.base_url()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(info["sub"], json!(sub));
    assert_eq!(info["groups"], json!(["registry-admins"]));

    // A wrong PKCE verifier is refused.
    let again = login("alice-pw");
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    let second = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let refused = http
        .post(format!("{}/token", p.base_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", second.as_str()),
            ("redirect_uri", redirect),
            (
                "code_verifier",
                "not-the-verifier-that-was-hashed-into-the-challenge",
            ),
            ("client_id", "regauth"),
            ("client_secret", "client-s3cret"),
        ])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
}
