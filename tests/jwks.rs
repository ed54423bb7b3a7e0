//! `GET /.well-known/jwks.json` and `keys.kid`: every key of the bundle is published (so a
//! rotated-out key still verifies its tokens), the key set file is written beside the
//! bundle, tokens verify with the JWK their `kid` names, and the real registry 2.8 takes
//! libtrust tokens but not thumbprint ones (which are for registry 3.x with `jwks`).

mod common;

use common::{Stack, ISSUER, PASSWORD, SERVICE};
use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};

fn key_set(stack: &Stack) -> (JwkSet, String) {
    let r = reqwest::blocking::get(stack.url("/.well-known/jwks.json")).expect("jwks");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body = r.text().expect("body");
    (serde_json::from_str(&body).expect("a JWK Set"), body)
}

fn token(stack: &Stack) -> String {
    let r: serde_json::Value = reqwest::blocking::Client::new()
        .get(stack.url(&format!(
            "/token?service={SERVICE}&scope=registry:catalog:*"
        )))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .expect("token")
        .json()
        .expect("json");
    r["token"].as_str().expect("a token").to_string()
}

/// Verifies `token` with the key `set` names by the token's `kid`, as registry 3.x does.
fn verify_by_kid(set: &JwkSet, token: &str) -> jsonwebtoken::Header {
    let header = decode_header(token).expect("header");
    let kid = header.kid.clone().expect("a kid");
    let jwk = set.find(&kid).expect("the key set names the token's kid");
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[SERVICE]);
    v.set_issuer(&[ISSUER]);
    decode::<serde_json::Value>(token, &key, &v).expect("verifies with the published key");
    header
}

fn registry_v2(stack: &Stack, token: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(stack.registry_url("/v2/"))
        .bearer_auth(token)
        .send()
        .expect("registry")
        .status()
        .as_u16()
}

#[test]
fn every_key_is_published_and_libtrust_tokens_keep_their_certificate() {
    let mut stack = Stack::with_registry();
    let (set, body) = key_set(&stack);
    assert_eq!(set.keys.len(), 1);
    // The same set is written beside the bundle for a registry 3.x's `auth.token.jwks`.
    let file = stack.dir.path().join("keys/jwks.json");
    assert_eq!(std::fs::read_to_string(&file).expect("jwks.json"), body);

    let old = token(&stack);
    let header = verify_by_kid(&set, &old);
    // (The tests' own `REGAUTH_TEST_KID=thumbprint` makes every stack a thumbprint one.)
    let libtrust = common::registry_under_test().kid == "libtrust";
    assert_eq!(
        header.x5c.is_some(),
        libtrust,
        "x5c exactly with libtrust: {header:?}"
    );
    assert_eq!(registry_v2(&stack, &old), 200);

    // Rotate and restart: the new key signs, the old one stays published.
    stack.ok(&["keys", "rotate"]);
    stack.stop_regauth();
    stack.start_regauth();
    let (set, _) = key_set(&stack);
    assert_eq!(set.keys.len(), 2, "{set:?}");
    let new = token(&stack);
    assert_ne!(
        decode_header(&new).unwrap().kid,
        decode_header(&old).unwrap().kid
    );
    verify_by_kid(&set, &new);
    verify_by_kid(&set, &old);
}

#[test]
fn thumbprint_kids_name_keys_as_registry_3_does() {
    for alg in ["RS256", "ES256"] {
        let stack = Stack::with_registry_and_tweak(&|c| {
            c.replace("kid = \"libtrust\"", "kid = \"thumbprint\"")
                .replace("[server]\n", "[server]\npublic_metrics = true\n")
                .replace(
                    "ttl_seconds = 300\n",
                    &format!("ttl_seconds = 300\nalgorithm = \"{alg}\"\n"),
                )
        });
        let (set, _) = key_set(&stack);
        let token = token(&stack);
        let header = verify_by_kid(&set, &token);
        assert_eq!(format!("{:?}", header.alg), alg);
        // No certificate: a registry 3.x configured with `jwks` would try to chain it to
        // a root bundle it does not have.
        assert!(header.x5c.is_none(), "{header:?}");
        let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
        assert_eq!(
            header.kid.as_deref(),
            Some(&*jwk.thumbprint(ThumbprintHash::SHA256).unwrap()),
            "the kid is the RFC 7638 thumbprint of the key it names"
        );
        // The key-expiry alert names the key as the key set and the tokens do.
        let metrics = reqwest::blocking::get(stack.url("/metrics"))
            .expect("metrics")
            .text()
            .expect("body");
        let gauge = format!(
            "regauth_signing_key_not_after_seconds{{kid=\"{}\"}}",
            header.kid.as_deref().unwrap()
        );
        assert!(metrics.contains(&gauge), "{gauge} in\n{metrics}");
        // Registry 2.8 matches libtrust ids only: the documented limit of this setting.
        // Registry 3.x (REGAUTH_TEST_REGISTRY) takes it, from the bundle's keys (indexed
        // by thumbprint) or from the key set (REGAUTH_TEST_KID=thumbprint).
        let want = match common::registry_major_version() {
            2 => 401,
            _ => 200,
        };
        assert_eq!(registry_v2(&stack, &token), want, "{alg}");
    }
}

#[test]
fn the_key_set_is_on_the_public_listener_only() {
    let internal = common::free_port();
    let stack = Stack::regauth_only_with_umask(0o022, &|c| {
        c.replace(
            "workers = 2\n",
            &format!("workers = 2\nnotifications_listen = \"127.0.0.1:{internal}\"\n"),
        )
    });
    key_set(&stack);
    let on_internal = |path: &str| {
        reqwest::blocking::get(format!("http://127.0.0.1:{internal}{path}"))
            .expect("internal listener")
            .status()
    };
    assert_eq!(on_internal("/healthz"), 200, "the internal listener is up");
    assert_eq!(on_internal("/.well-known/jwks.json"), 404);
}
