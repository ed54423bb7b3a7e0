//! The verifier against real RSA-2048 keys and tokens written the way Synapse writes them.

use super::super::jwks::test_keys::{jwks_json, key_a, key_b, TestKey};
use super::*;
use jsonwebtoken::EncodingKey;
use serde_json::json;

const ISSUER: &str = "https://repo-prod.prod.sagebase.org/auth/v1";
const KID: &str = "FPQF:TWLT:5RZR:LWGQ:N3U2:MEWA:CXPB:ESVR";
const ALL_SCOPES: [&str; 7] = [
    "openid",
    "email",
    "profile",
    "view",
    "download",
    "modify",
    "authorize",
];

fn now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

fn acceptance() -> Acceptance {
    Acceptance::new(vec![ISSUER.to_owned()])
}

fn keys() -> JsonWebKeySet {
    JsonWebKeySet::parse(&jwks_json(&[(key_a(), KID)])).unwrap()
}

/// What login2 mints: 24 h, every scope (reference §2).
fn login2_claims(now: i64) -> Value {
    json!({
        "iss": ISSUER, "sub": "3350396", "aud": "0",
        "iat": now, "nbf": now, "exp": now + 86_400,
        "jti": "8c0a1c6e-8e3a-4b4e-9d7f-0b4b7f1a2c3d",
        "token_type": "OIDC_ACCESS_TOKEN",
        "access": {"scope": ALL_SCOPES, "oidc_claims": {}},
    })
}

/// A personal access token: no `exp`.
fn pat_claims(now: i64) -> Value {
    json!({
        "iss": ISSUER, "sub": "3350396", "aud": "0", "iat": now, "nbf": now,
        "jti": "41417", "token_type": "PERSONAL_ACCESS_TOKEN",
        "access": {"scope": ["view", "download"], "oidc_claims": {}},
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A token with exactly this header, signed with `key` under `alg`.
fn signed(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// An RS256 token as Synapse writes it, signed by `key` under `kid`.
fn token(key: &TestKey, kid: &str, claims: &Value) -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": kid});
    signed(&header, claims, &key.encoding_key(), Algorithm::RS256)
}

/// Verifies `claims` signed by key A under `KID`, at `now`.
fn check_at(
    claims: &Value,
    acceptance: &Acceptance,
    now: i64,
) -> Result<VerifiedToken, TokenError> {
    verify(&token(key_a(), KID, claims), &keys(), acceptance, now)
}

fn check(claims: &Value, now: i64) -> Result<VerifiedToken, TokenError> {
    check_at(claims, &acceptance(), now)
}

/// Verifies `token` as it stands against the set of key A under `KID`, at `now`.
fn verify_token(token: &str, now: i64) -> Result<VerifiedToken, TokenError> {
    verify(token, &keys(), &acceptance(), now)
}

#[test]
fn a_login2_token_verifies() {
    let t = now();
    let verified = check(&login2_claims(t), t).unwrap();
    assert_eq!(
        verified,
        VerifiedToken {
            user_id: "3350396".to_owned(),
            token_type: SynapseTokenType::OidcAccessToken,
            scopes: ALL_SCOPES.map(str::to_owned).to_vec(),
            expires_at: Some(t + 86_400),
            issued_at: Some(t),
            jti: Some("8c0a1c6e-8e3a-4b4e-9d7f-0b4b7f1a2c3d".to_owned()),
            issuer: ISSUER.to_owned(),
        }
    );
}

#[test]
fn a_pat_without_exp_verifies_and_one_with_exp_is_checked() {
    let t = now();
    let verified = check(&pat_claims(t), t).unwrap();
    assert_eq!(verified.token_type, SynapseTokenType::PersonalAccessToken);
    assert_eq!((verified.expires_at, verified.scopes.len()), (None, 2));
    let with_exp = |exp: i64| with(pat_claims(t), "exp", json!(exp));
    assert_eq!(
        check(&with_exp(t + 60), t).unwrap().expires_at,
        Some(t + 60)
    );
    assert_eq!(check(&with_exp(t - 3600), t), Err(TokenError::Expired));
}

#[test]
fn an_expired_access_token_is_refused_within_the_leeway_it_passes() {
    let t = now();
    let exp_at = |exp: i64| with(login2_claims(t - 86_400), "exp", json!(exp));
    assert_eq!(check(&exp_at(t - 3600), t), Err(TokenError::Expired));
    assert_eq!(check(&exp_at(t - 60), t), Err(TokenError::Expired));
    assert!(check(&exp_at(t - 59), t).is_ok());
    assert!(check(&exp_at(t - 1), t).is_ok());
    let strict = Acceptance {
        leeway: Duration::ZERO,
        ..acceptance()
    };
    assert_eq!(check_at(&exp_at(t), &strict, t), Err(TokenError::Expired));
    assert!(check_at(&exp_at(t + 1), &strict, t).is_ok());
    // Fractional NumericDates are read too.
    let fractional = with(login2_claims(t), "exp", json!(t as f64 + 0.5));
    assert_eq!(check(&fractional, t).unwrap().expires_at, Some(t));
    let fractional = with(login2_claims(t), "exp", json!(t as f64 - 120.5));
    assert_eq!(check(&fractional, t), Err(TokenError::Expired));
}

#[test]
fn an_access_token_without_exp_is_refused() {
    let t = now();
    let claims = without(login2_claims(t), "exp");
    assert_eq!(check(&claims, t), Err(TokenError::MissingExpiry));
}

#[test]
fn nbf_is_checked_with_the_leeway() {
    let t = now();
    let nbf_at = |nbf: i64| with(login2_claims(t), "nbf", json!(nbf));
    assert_eq!(check(&nbf_at(t + 120), t), Err(TokenError::NotYetValid));
    assert_eq!(check(&nbf_at(t + 61), t), Err(TokenError::NotYetValid));
    assert!(check(&nbf_at(t + 60), t).is_ok());
    assert!(check(&without(login2_claims(t), "nbf"), t).is_ok());
}

#[test]
fn only_synapse_s_own_audience_is_accepted() {
    let t = now();
    for aud in [json!("0"), json!(["0"])] {
        assert!(check(&with(login2_claims(t), "aud", aud), t).is_ok());
    }
    for aud in [json!("100042"), json!(["100042"]), json!("")] {
        let claims = with(login2_claims(t), "aud", aud);
        assert_eq!(check(&claims, t), Err(TokenError::WrongAudience));
    }
    let claims = without(login2_claims(t), "aud");
    assert_eq!(check(&claims, t), Err(TokenError::WrongAudience));
}

#[test]
fn only_accepted_issuers_are_accepted() {
    let t = now();
    let claims = with(
        login2_claims(t),
        "iss",
        json!("https://evil.example/auth/v1"),
    );
    assert_eq!(check(&claims, t), Err(TokenError::WrongIssuer));
    let claims = without(login2_claims(t), "iss");
    assert_eq!(check(&claims, t), Err(TokenError::WrongIssuer));

    let two = Acceptance::new(vec!["https://other/auth/v1".to_owned(), ISSUER.to_owned()]);
    assert!(check_at(&login2_claims(t), &two, t).is_ok());
    let none = Acceptance::new(vec![]);
    assert_eq!(
        check_at(&login2_claims(t), &none, t),
        Err(TokenError::WrongIssuer)
    );
}

#[test]
fn id_tokens_and_untyped_tokens_are_not_credentials() {
    let t = now();
    let claims = with(login2_claims(t), "token_type", json!("OIDC_ID_TOKEN"));
    let expected = TokenError::WrongType("OIDC_ID_TOKEN".to_owned());
    assert_eq!(check(&claims, t), Err(expected));
    let claims = without(login2_claims(t), "token_type");
    assert_eq!(check(&claims, t), Err(TokenError::WrongType(String::new())));
}

#[test]
fn an_unknown_kid_is_reported_by_key_id_and_verify() {
    let t = now();
    let unknown = token(key_b(), "NEW1:KEY2", &login2_claims(t));
    assert_eq!(key_id(&unknown), Ok("NEW1:KEY2".to_owned()));
    assert!(keys().key("NEW1:KEY2").is_none());
    let refused = verify_token(&unknown, t);
    assert_eq!(refused, Err(TokenError::UnknownKid("NEW1:KEY2".to_owned())));
}

#[test]
fn a_header_without_kid_is_refused() {
    let t = now();
    let key = key_a().encoding_key();
    for header in [json!({"alg": "RS256"}), json!({"alg": "RS256", "kid": ""})] {
        let unnamed = signed(&header, &login2_claims(t), &key, Algorithm::RS256);
        assert_eq!(key_id(&unnamed), Err(TokenError::NoKid));
        assert_eq!(verify_token(&unnamed, t), Err(TokenError::NoKid));
    }
}

#[test]
fn a_signature_by_another_key_or_over_other_claims_is_refused() {
    let t = now();
    let forged = token(key_b(), KID, &login2_claims(t));
    assert_eq!(key_id(&forged), Ok(KID.to_owned()));
    assert_eq!(verify_token(&forged, t), Err(TokenError::BadSignature));

    let genuine = token(key_a(), KID, &login2_claims(t));
    let other_user = b64_json(&with(login2_claims(t), "sub", json!("1")));
    let parts: Vec<&str> = genuine.split('.').collect();
    let tampered = format!("{}.{other_user}.{}", parts[0], parts[2]);
    assert_eq!(verify_token(&tampered, t), Err(TokenError::BadSignature));
}

#[test]
fn only_rs256_is_accepted() {
    let t = now();
    let claims = login2_claims(t);
    // The confusion attack: HS256 keyed with the public key the verifier holds.
    let hmac = EncodingKey::from_secret(&key_a().public_der);
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": KID});
    let confused = signed(&header, &claims, &hmac, Algorithm::HS256);
    assert_eq!(key_id(&confused), Err(TokenError::NotRs256));
    assert_eq!(verify_token(&confused, t), Err(TokenError::NotRs256));

    let rsa = key_a().encoding_key();
    for alg in [Algorithm::RS512, Algorithm::PS256] {
        let header = json!({"alg": format!("{alg:?}"), "kid": KID});
        let other = signed(&header, &claims, &rsa, alg);
        assert_eq!(verify_token(&other, t), Err(TokenError::NotRs256));
    }

    let header = json!({"alg": "none", "kid": KID});
    let unsigned = format!("{}.{}.", b64_json(&header), b64_json(&claims));
    assert_eq!(key_id(&unsigned), Err(TokenError::NotRs256));
    assert_eq!(verify_token(&unsigned, t), Err(TokenError::NotRs256));
}

#[test]
fn garbage_is_malformed() {
    let t = now();
    let header = b64_json(&json!({"alg": "RS256", "kid": KID}));
    let crit = json!({"alg": "RS256", "kid": KID, "crit": ["exp"]});
    let rsa = key_a().encoding_key();
    let cases = [
        String::new(),
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        format!("{header}.e30"),
        format!("{header}.e30.AA.AA"),
        format!("{}.e30.", b64_json(&json!({"kid": KID}))),
        format!("{}.e30.", b64_json(&json!(["RS256"]))),
        // Signed, but the claims are not an object, or lack `sub`.
        token(key_a(), KID, &json!("a string")),
        token(key_a(), KID, &without(login2_claims(t), "sub")),
        token(
            key_a(),
            KID,
            &with(login2_claims(t), "exp", json!("tomorrow")),
        ),
        signed(&crit, &login2_claims(t), &rsa, Algorithm::RS256),
    ];
    for case in &cases {
        assert_eq!(verify_token(case, t), Err(TokenError::Malformed), "{case}");
    }
}

#[test]
fn during_rotation_both_keys_verify_their_tokens() {
    let t = now();
    let set = JsonWebKeySet::parse(&jwks_json(&[(key_a(), "old"), (key_b(), "new")])).unwrap();
    for (key, kid) in [(key_a(), "old"), (key_b(), "new")] {
        let verified = verify(&token(key, kid, &login2_claims(t)), &set, &acceptance(), t);
        assert_eq!(verified.unwrap().user_id, "3350396");
    }
    let crossed = token(key_b(), "old", &login2_claims(t));
    assert_eq!(
        verify(&crossed, &set, &acceptance(), t),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn looks_like_jwt_tells_tokens_from_passwords() {
    let t = now();
    assert!(looks_like_jwt(&token(key_a(), KID, &login2_claims(t))));
    assert!(looks_like_jwt(&token(key_b(), "x", &pat_claims(t))));
    let unsigned = format!("{}.e30.", b64_json(&json!({"alg": "none"})));
    assert!(looks_like_jwt(&unsigned));

    let ours = crate::domain::authn::secret::token_text(
        crate::domain::authn::secret::ACCESS_TOKEN_PREFIX,
        &[7; 32],
    );
    assert!(crate::domain::authn::secret::looks_like_access_token(&ours));
    let not_json = URL_SAFE_NO_PAD.encode("hello");
    for s in [
        "correct horse battery",
        "a.b.c",
        "",
        "..",
        "hunter2.hunter2.hunter2",
        &format!("{not_json}.e30.AA"),
        &format!("{}..AA", b64_json(&json!({"alg": "RS256"}))),
        &format!("{}.e30 .AA", b64_json(&json!({"alg": "RS256"}))),
        &format!("{}.e30.AA.AA", b64_json(&json!({"alg": "RS256"}))),
        &ours,
    ] {
        assert!(!looks_like_jwt(s), "{s:?}");
    }
}
