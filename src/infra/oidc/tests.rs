//! The verifier's own tests, without a network: real RSA and P-256 keys generated here,
//! key sets read from a file (the `jwks_file` source), every hostile token refused, the
//! cache's decisions as a table. The HTTP side is tested against the contract provider
//! (`tests/oidc_verifier.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pkcs8::der::Decode;
use serde_json::{json, Value};

use super::*;
use crate::domain::ports::{DirectoryError, OidcRejection, OidcVerifier, Pace};

const ISSUER: &str = "https://token.actions.githubusercontent.com";
const NOW: i64 = 1_800_000_000;

struct TestKey {
    encoding: EncodingKey,
    jwk: Value,
    /// The public key's bytes (for the HS256-with-the-public-key attack).
    public: Vec<u8>,
}

fn rsa() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&pair).unwrap();
        let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8.as_ref()).unwrap();
        let public = pair.public_key();
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        TestKey {
            encoding: EncodingKey::from_rsa_der(info.private_key.as_bytes()),
            jwk: json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "rsa-1",
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            }),
            public: public.as_ref().to_vec(),
        }
    })
}

fn ec() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        TestKey {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": "ec-1",
                "x": b64(&point[1..33]), "y": b64(&point[33..]),
            }),
            public: point,
        }
    })
}

fn jwks(keys: &[&Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "repo:octo-org/tool:ref:refs/heads/main",
        "aud": "https://registry.example.org",
        "exp": NOW + 300,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "jti": "4d1c2b6a",
        "repository": "octo-org/tool",
        "repository_id": "74",
        "run_attempt": 1,
        "ref_protected": true,
        "groups": ["a", "b"],
        "nothing": null,
        "kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": "builder", "uid": "0d3e"}},
    })
}

fn sign(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn rs256(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    sign(header, claims, &rsa().encoding)
}

/// A token with a hand-written header and no signature check possible.
fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.{signature}", part(header), part(claims))
}

/// A verifier of `ISSUER` reading its keys from `file`.
fn verifier(file: &Path) -> Verifier {
    Verifier::new(
        vec![IssuerOptions {
            name: "github".into(),
            issuer: ISSUER.into(),
            source: KeySource::File(file.to_path_buf()),
            refetch_interval: Duration::from_secs(60),
            leeway: Duration::from_secs(60),
        }],
        Duration::from_secs(2),
    )
    .unwrap()
}

fn with_keys(keys: &[&Value]) -> (tempfile::TempDir, Verifier) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(keys)).unwrap();
    let v = verifier(&file);
    (dir, v)
}

fn refusal(v: &Verifier, token: &str) -> &'static str {
    match v.verify(token, NOW, Pace::MayBlock) {
        Err(OidcRejection::Rejected(why)) => why,
        other => panic!("{other:?}"),
    }
}

#[test]
fn rsa_and_p256_tokens_verify_and_every_claim_is_flattened() {
    let (_dir, v) = with_keys(&[&rsa().jwk, &ec().jwk]);
    assert_eq!(v.issuers(), vec![ISSUER.to_owned()]);
    assert_eq!(v.name_of(ISSUER), Some("github"));
    let got = v.verify(&rs256(&claims()), NOW, Pace::MayBlock).unwrap();
    assert_eq!(got.issuer, ISSUER);
    assert_eq!(got.subject, "repo:octo-org/tool:ref:refs/heads/main");
    assert_eq!(
        got.audience,
        vec!["https://registry.example.org".to_owned()]
    );
    assert_eq!(got.expires_at, NOW + 300);
    assert_eq!(got.jti.as_deref(), Some("4d1c2b6a"));
    let c = &got.claims;
    assert_eq!(c["repository_id"], "74");
    assert_eq!(c["run_attempt"], "1");
    assert_eq!(c["ref_protected"], "true");
    assert_eq!(c["kubernetes.io.serviceaccount.uid"], "0d3e");
    assert_eq!(c["kubernetes.io.namespace"], "ci");
    assert_eq!(c["exp"], (NOW + 300).to_string());
    assert!(!c.contains_key("groups") && !c.contains_key("nothing"));

    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec-1".into());
    let mut two = claims();
    two["aud"] = json!(["one", "two"]);
    let got = v
        .verify(&sign(header, &two, &ec().encoding), NOW, Pace::MayBlock)
        .unwrap();
    assert_eq!(got.audience, ["one", "two"]);
}

#[test]
fn hostile_headers_are_refused() {
    let (_dir, v) = with_keys(&[&rsa().jwk, &ec().jwk]);
    let c = claims();
    // alg none, in any spelling, with or without a signature.
    for alg in ["none", "None", "NONE"] {
        let token = raw_token(&json!({"alg": alg, "kid": "rsa-1"}), &c, "");
        assert_eq!(refusal(&v, &token), "the token is not signed");
    }
    // HS256 keyed with the RSA public key's bytes (the algorithm-confusion attack).
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    let token = sign(header, &c, &EncodingKey::from_secret(&rsa().public));
    assert_eq!(
        refusal(&v, &token),
        "the token is signed with a shared secret"
    );
    // A key named by the token, in every form.
    for (member, value) in [
        ("jku", json!("https://evil.example/jwks")),
        ("x5u", json!("https://evil.example/cert")),
        ("jwk", rsa().jwk.clone()),
        ("x5c", json!(["MIIB"])),
    ] {
        let mut header = json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"});
        header[member] = value;
        let token = raw_token(&header, &c, "c2ln");
        assert_eq!(
            refusal(&v, &token),
            "the token header names a key of its own"
        );
    }
    // The header's alg must be the key's: ES256 claimed for the RSA key's kid.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("rsa-1".into());
    let token = sign(header, &c, &ec().encoding);
    assert_eq!(
        refusal(&v, &token),
        "the token's algorithm is not its key's"
    );
    // RS256 claimed, but the RSA key's kid and a P-256 key's signature.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    let forged = sign(Header::new(Algorithm::ES256), &c, &ec().encoding);
    let parts: Vec<&str> = forged.split('.').collect();
    let token = raw_token(&serde_json::to_value(&header).unwrap(), &c, parts[2]);
    assert_eq!(refusal(&v, &token), "the token's signature does not verify");
    for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.e30"] {
        let why = refusal(&v, junk);
        assert!(
            why == "not a well-formed JWT" || why == "the token header has no algorithm",
            "{junk}: {why}"
        );
    }
    let token = raw_token(
        &json!({"alg": "RS256", "kid": "rsa-1", "crit": ["b64"]}),
        &c,
        "x",
    );
    assert_eq!(
        refusal(&v, &token),
        "the token header has critical extensions"
    );
}

#[test]
fn claims_are_checked_at_the_given_time() {
    let (_dir, v) = with_keys(&[&rsa().jwk]);
    let spoilt = |f: &dyn Fn(&mut Value)| {
        let mut c = claims();
        f(&mut c);
        rs256(&c)
    };
    type Spoil<'a> = &'a dyn Fn(&mut Value);
    let cases: [(Spoil, &str); 9] = [
        (&|c| c["exp"] = json!(NOW - 61), "the token has expired"),
        (
            &|c| c["nbf"] = json!(NOW + 61),
            "the token is not valid yet",
        ),
        (
            &|c| c["iat"] = json!(NOW + 61),
            "the token is issued in the future",
        ),
        (
            &|c| drop(c.as_object_mut().unwrap().remove("exp")),
            "the token has no expiry",
        ),
        (
            &|c| drop(c.as_object_mut().unwrap().remove("sub")),
            "the token has no subject",
        ),
        (&|c| c["sub"] = json!(""), "the token has no subject"),
        (
            &|c| c["exp"] = json!("soon"),
            "a time claim is not a number",
        ),
        (&|c| c["aud"] = json!(7), "the token's audience is not text"),
        (
            &|c| c["iss"] = json!("https://gitlab.com"),
            "issuer not configured",
        ),
    ];
    for (spoil, want) in cases {
        assert_eq!(refusal(&v, &spoilt(spoil)), want);
    }
    // Within the leeway is accepted; a fractional date is read.
    assert!(v
        .verify(
            &spoilt(&|c| c["exp"] = json!(NOW - 59)),
            NOW,
            Pace::MayBlock
        )
        .is_ok());
    assert!(v
        .verify(
            &spoilt(&|c| c["nbf"] = json!(NOW as f64 + 59.5)),
            NOW,
            Pace::MayBlock
        )
        .is_ok());
}

#[test]
fn an_issuer_not_configured_is_refused_before_any_key_is_sought() {
    // The key file does not exist: a lookup would be Unanswered, not Rejected.
    let v = verifier(Path::new("/nonexistent/regauth-jwks.json"));
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    assert_eq!(refusal(&v, &rs256(&c)), "issuer not configured");
    match v.verify(&rs256(&claims()), NOW, Pace::MayBlock) {
        Err(OidcRejection::Unanswered(DirectoryError::Backend(m))) => {
            assert!(m.contains(ISSUER) && m.contains("regauth-jwks.json"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inline_answers_only_from_the_cache() {
    let (_dir, v) = with_keys(&[&rsa().jwk]);
    let token = rs256(&claims());
    assert_eq!(
        v.verify(&token, NOW, Pace::Inline),
        Err(OidcRejection::Unanswered(DirectoryError::WouldBlock))
    );
    assert!(v.verify(&token, NOW, Pace::MayBlock).is_ok());
    assert!(v.verify(&token, NOW, Pace::Inline).is_ok());
    // An unknown kid right after a fetch: refused at once, no refetch allowed yet.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-2".into());
    let other = sign(header, &claims(), &rsa().encoding);
    assert_eq!(
        v.verify(&other, NOW, Pace::Inline),
        Err(OidcRejection::Rejected("unknown key id"))
    );
}

#[test]
fn key_sets_are_read_with_keys_pinned_to_their_algorithm() {
    let mut enc = rsa().jwk.clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc");
    let oct = json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"});
    let mut wrong_alg = ec().jwk.clone();
    wrong_alg["alg"] = json!("ES384");
    wrong_alg["kid"] = json!("wrong");
    let mut hs = rsa().jwk.clone();
    hs["alg"] = json!("HS256");
    hs["kid"] = json!("hs");
    let ed = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "AA"});
    let mut ps = rsa().jwk.clone();
    ps["alg"] = json!("PS256");
    ps["kid"] = json!("ps");
    let mut no_alg = rsa().jwk.clone();
    no_alg.as_object_mut().unwrap().remove("alg");
    no_alg["kid"] = json!("plain");
    let set = KeySet::parse(&jwks(&[
        &enc,
        &oct,
        &wrong_alg,
        &hs,
        &ed,
        &ps,
        &no_alg,
        &ec().jwk,
    ]))
    .unwrap();
    assert_eq!(
        set.describe(),
        vec![
            (Some("ps".into()), Algorithm::PS256),
            (Some("plain".into()), Algorithm::RS256),
            (Some("ec-1".into()), Algorithm::ES256),
        ]
    );
    // A token without kid finds a key only in a set of one.
    assert!(set.find(None).is_none());
    let mut lone = ec().jwk.clone();
    lone.as_object_mut().unwrap().remove("kid");
    let one = KeySet::parse(&jwks(&[&lone])).unwrap();
    assert!(one.find(None).is_some() && one.find(Some("ec-1")).is_none());

    let twice = KeySet::parse(&jwks(&[&rsa().jwk, &rsa().jwk]));
    assert!(matches!(twice, Err(JwksError::DuplicateKid(k)) if k == "rsa-1"));
    assert!(matches!(KeySet::parse(b"<html>"), Err(JwksError::Json(_))));
    assert!(matches!(
        KeySet::parse(&jwks(&[&oct])),
        Err(JwksError::NoUsableKey { .. })
    ));
    let mut short = rsa().jwk.clone();
    short["n"] = json!(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
    match KeySet::parse(&jwks(&[&short])) {
        Err(JwksError::NoUsableKey { skipped }) => {
            assert!(skipped.contains("1024-bit"), "{skipped}")
        }
        other => panic!("{:?}", other.map(|s| s.describe())),
    }
}

#[test]
fn cache_control_sets_the_lifetime_within_bounds() {
    assert_eq!(
        max_age("public, max-age=600"),
        Some(Duration::from_secs(600))
    );
    assert_eq!(max_age("no-store"), Some(Duration::ZERO));
    assert_eq!(max_age("private"), None);
    assert_eq!(ttl(None), DEFAULT_TTL);
    assert_eq!(
        ttl(Some(Duration::from_secs(600))),
        Duration::from_secs(600)
    );
    assert_eq!(ttl(Some(Duration::ZERO)), MIN_TTL);
    assert_eq!(ttl(Some(Duration::from_secs(30 * 86_400))), MAX_TTL);
}

#[test]
fn the_cache_fetches_at_most_once_per_interval() {
    let set = KeySet::parse(&jwks(&[&rsa().jwk])).unwrap();
    let t0 = Instant::now();
    let minute = Duration::from_secs(60);
    let hour = Duration::from_secs(3600);
    let at = |s: u64| t0 + Duration::from_secs(s);
    let known = Some("rsa-1");
    let unknown = Some("rsa-2");
    // (cached?, last attempt, kid, now) → plan
    type Case<'a> = (bool, Option<u64>, Option<&'a str>, u64, Plan);
    let cases: [Case; 8] = [
        (false, None, known, 0, Plan::Fetch),
        (false, Some(0), known, 10, Plan::NoSet),
        (false, Some(0), known, 60, Plan::Fetch),
        (true, Some(0), known, 10, Plan::Use),
        (true, Some(0), unknown, 10, Plan::UnknownKey),
        (true, Some(0), unknown, 61, Plan::Fetch),
        (true, Some(3590), known, 3610, Plan::Use), // stale, but a fetch just failed
        (true, Some(0), known, 3601, Plan::Fetch),  // stale: refresh
    ];
    for (i, (cached, last, kid, now, want)) in cases.into_iter().enumerate() {
        let cached = cached.then_some((&set, t0, hour));
        let got = plan_for(cached, last.map(at), kid, at(now), minute);
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn flattening_keeps_scalars_under_dotted_paths() {
    let mut out = BTreeMap::new();
    let value = json!({"a": {"b": {"c": 1.5}}, "d": false, "e": [1], "f": null, "g": "x"});
    flatten("", value.as_object().unwrap(), &mut out);
    let want: BTreeMap<String, String> = [("a.b.c", "1.5"), ("d", "false"), ("g", "x")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(out, want);
}
