//! The fake Synapse (`tests/synapse/`) checked against the reference
//! (`synapse-rest-backend.md`) over real HTTP with reqwest and jsonwebtoken: every
//! status, body shape and quirk the Synapse backend's tests rely on.

mod synapse;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::PublicKeyComponents;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};
use synapse::*;

const PASSWORD: &str = "synapse password";

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn login(fake: &FakeSynapse, username: &str, password: &str) -> Response {
    client()
        .post(format!("{}/auth/v1/login2", fake.base_url()))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .expect("POST login2")
}

fn get(fake: &FakeSynapse, path: &str, token: Option<&str>) -> Response {
    let mut request = client().get(format!("{}{path}", fake.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().expect("GET")
}

/// The token with one signature character changed.
fn forge(token: &str) -> String {
    let (message, signature) = token.rsplit_once('.').unwrap();
    let swapped = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{message}.{swapped}{}", &signature[1..])
}

fn body(response: Response) -> Value {
    response.json().expect("a JSON body")
}

fn authenticated_on(fake: &FakeSynapse, token: &str) -> u16 {
    get(fake, "/auth/v1/authenticatedOn", Some(token))
        .status()
        .as_u16()
}

fn repo_id(fake: &FakeSynapse, repository_name: &str, token: &str) -> Response {
    let path = format!("/repo/v1/entity/dockerRepo/id?repositoryName={repository_name}");
    get(fake, &path, Some(token))
}

fn permissions(fake: &FakeSynapse, entity: &str, token: &str) -> Value {
    let r = get(
        fake,
        &format!("/repo/v1/entity/{entity}/permissions"),
        Some(token),
    );
    assert_eq!(r.status(), 200);
    body(r)
}

/// The flags the backend decides from (§3), in one comparable value.
fn decision_flags(p: &Value) -> Value {
    json!({
        "canDownload": p["canDownload"],
        "canEdit": p["canEdit"],
        "canAddChild": p["canAddChild"],
        "canDelete": p["canDelete"],
        "isCertifiedUser": p["isCertifiedUser"],
    })
}

fn flags(download: bool, edit: bool, add_child: bool, delete: bool, certified: bool) -> Value {
    json!({
        "canDownload": download,
        "canEdit": edit,
        "canAddChild": add_child,
        "canDelete": delete,
        "isCertifiedUser": certified,
    })
}

fn jwks(fake: &FakeSynapse) -> Value {
    body(get(fake, "/auth/v1/oauth2/jwks", None))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The decoding key of a JWKS entry; `strip` removes the Java zero byte first (§1.2).
fn decoding_key(jwk: &Value, strip: bool) -> DecodingKey {
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    if strip {
        DecodingKey::from_rsa_raw_components(strip_leading_zeros(&n), strip_leading_zeros(&e))
    } else {
        DecodingKey::from_rsa_raw_components(&n, &e)
    }
}

/// §2's checks: RS256 only, `aud` "0", the discovery issuer, `exp` not required
/// (PATs have none), `nbf` checked.
fn synapse_validation(issuer: &str) -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.required_spec_claims = HashSet::new();
    v.validate_exp = false;
    v.validate_nbf = true;
    v.set_audience(&["0"]);
    v.set_issuer(&[issuer]);
    v
}

/// Verifies a token against the fake's JWKS as the backend will: kid lookup, zero
/// stripped.
fn verify(fake: &FakeSynapse, token: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    let kid = decode_header(token)?.kid.expect("a kid");
    let keys = jwks(fake);
    let jwk = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or(ErrorKind::InvalidKeyFormat)?;
    let data = decode::<Value>(
        token,
        &decoding_key(jwk, true),
        &synapse_validation(&fake.issuer()),
    )?;
    Ok(data.claims)
}

/// A world most tests share: a project with a repository, and users by role.
struct World {
    fake: FakeSynapse,
    project: String,
    repo: String,
    repo_name: String,
    owner: UserId,
    editor: UserId,
    downloader: UserId,
    stranger: UserId,
}

fn world() -> World {
    let fake = FakeSynapse::start();
    let project = fake.add_project("alpha");
    let repo = fake.add_docker_repo(&project, "app");
    let repo_name = fake.repository_name(&project, "app");
    let owner = fake.add_user("owner", PASSWORD);
    fake.set_certified(owner, true);
    fake.grant(
        &project,
        owner,
        &["READ", "DOWNLOAD", "UPDATE", "CREATE", "DELETE"],
    );
    let editor = fake.add_user("editor", PASSWORD);
    fake.grant(&project, editor, &["READ", "DOWNLOAD", "UPDATE", "CREATE"]);
    let downloader = fake.add_user("downloader", PASSWORD);
    fake.grant(&project, downloader, &["READ", "DOWNLOAD"]);
    let stranger = fake.add_user("stranger", PASSWORD);
    World {
        fake,
        project,
        repo,
        repo_name,
        owner,
        editor,
        downloader,
        stranger,
    }
}

// ---- §1.1 login2 ----

#[test]
fn login2_answers_201_with_a_24_hour_all_scope_access_token() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let r = login(&fake, "alice", PASSWORD);
    assert_eq!(r.status(), 201, "login2 succeeds with 201, not 200");
    let answer = body(r);
    assert_eq!(answer["acceptsTermsOfUse"], true);
    assert!(answer["authenticationReceipt"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    let token = answer["accessToken"].as_str().unwrap();

    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.alg, Algorithm::RS256);
    assert!(header.kid.is_some());

    let claims = verify(&fake, token).expect("the login token verifies");
    assert_eq!(claims["iss"], fake.issuer());
    assert_eq!(claims["sub"], user.to_string());
    assert_eq!(claims["aud"], "0");
    assert_eq!(claims["token_type"], OIDC_ACCESS_TOKEN);
    assert_eq!(claims["iat"], claims["nbf"]);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, LOGIN_TOKEN_SECONDS);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 36, "UUID-shaped jti: {jti}");
    assert_eq!(jti.matches('-').count(), 4);
    assert_eq!(claims["access"]["scope"], json!(ALL_SCOPES));
    assert_eq!(claims["access"]["oidc_claims"], json!({}));
}

#[test]
fn login2_accepts_the_e_mail_as_user_name() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let r = login(&fake, &fake.email(user), PASSWORD);
    assert_eq!(r.status(), 201);
}

#[test]
fn wrong_password_and_unknown_user_get_the_identical_401() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let wrong = login(&fake, "alice", "not the password");
    let unknown = login(&fake, "nobody", PASSWORD);
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (wrong, unknown) = (body(wrong), body(unknown));
    assert_eq!(wrong, unknown, "no user enumeration");
    assert!(wrong["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(fake.failed_logins(user), 1);
}

#[test]
fn a_locked_out_user_gets_423_even_with_the_right_password_unless_holding_a_receipt() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let receipt = body(login(&fake, "alice", PASSWORD))["authenticationReceipt"].clone();
    fake.lock_out(user, true);
    let r = login(&fake, "alice", PASSWORD);
    assert_eq!(r.status(), 423);
    assert!(body(r)["reason"].is_string());
    let with_receipt = client()
        .post(format!("{}/auth/v1/login2", fake.base_url()))
        .json(
            &json!({ "username": "alice", "password": PASSWORD, "authenticationReceipt": receipt }),
        )
        .send()
        .unwrap();
    assert_eq!(with_receipt.status(), 201, "a receipt skips the lock-out");
    fake.lock_out(user, false);
    assert_eq!(login(&fake, "alice", PASSWORD).status(), 201);
}

#[test]
fn a_two_factor_user_gets_401_two_fa_required_after_a_correct_password() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    fake.set_two_factor(user, true);
    let r = login(&fake, "alice", PASSWORD);
    assert_eq!(r.status(), 401);
    let answer = body(r);
    assert_eq!(answer["errorCode"], "TWO_FA_REQUIRED");
    assert_eq!(answer["userId"], user);
    assert!(answer["twoFaToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(answer["reason"].is_string());
    assert!(answer.get("accessToken").is_none());
    let wrong = body(login(&fake, "alice", "wrong"));
    assert!(
        wrong.get("errorCode").is_none(),
        "a wrong password reveals no 2FA"
    );
}

#[test]
fn a_password_reset_is_401_with_its_error_code() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    fake.require_password_reset(user, true);
    let r = login(&fake, "alice", PASSWORD);
    assert_eq!(r.status(), 401);
    assert_eq!(body(r)["errorCode"], "PASSWORD_RESET_VIA_EMAIL_REQUIRED");
}

#[test]
fn unsigned_terms_log_in_but_every_repo_call_is_403() {
    let w = world();
    w.fake.set_terms_accepted(w.owner, false);
    let answer = body(login(&w.fake, "owner", PASSWORD));
    assert_eq!(answer["acceptsTermsOfUse"], false);
    let token = answer["accessToken"].as_str().unwrap();
    let r = repo_id(&w.fake, &w.repo_name, token);
    assert_eq!(r.status(), 403);
    assert_eq!(body(r)["reason"], "Terms of use have not been signed.");
    let r = get(
        &w.fake,
        &format!("/repo/v1/entity/{}/permissions", w.repo),
        Some(token),
    );
    assert_eq!(r.status(), 403);
    assert_eq!(
        authenticated_on(&w.fake, token),
        200,
        "authenticatedOn is not behind the ToU filter"
    );
}

// ---- §1.2 JWKS and §2 tokens ----

#[test]
fn the_jwks_has_java_encoded_moduli_with_a_leading_zero_and_no_alg() {
    let fake = FakeSynapse::start();
    let keys = jwks(&fake);
    let key = &keys["keys"][0];
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(
        key["concreteType"],
        "org.sagebionetworks.repo.model.auth.JsonWebKeyRSA"
    );
    assert!(key.get("alg").is_none(), "Synapse's JWKS has no alg");
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 257, "2048 bits plus Java's sign byte");
    assert_eq!(n[0], 0, "the leading zero of BigInteger.toByteArray()");
    assert!(n[1] & 0x80 != 0);
    assert_eq!(
        key["e"], "AQAB",
        "65537 has no top bit set, so no zero byte"
    );
}

#[test]
fn the_kid_is_the_truncated_base32_sha256_of_the_public_key() {
    let fake = FakeSynapse::start();
    let key = jwks(&fake)["keys"][0].clone();
    let kid = key["kid"].as_str().unwrap();
    let groups: Vec<&str> = kid.split(':').collect();
    assert_eq!(groups.len(), 12, "{kid}");
    assert!(groups.iter().all(|g| g.len() == 4
        && g.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))));

    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let components = PublicKeyComponents {
        n: strip_leading_zeros(&n),
        e: strip_leading_zeros(&e),
    };
    let spki = components.as_der().unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki.as_ref());
    let expected = data_encoding::BASE32_NOPAD.encode(&digest.as_ref()[..30]);
    assert_eq!(kid.replace(':', ""), expected);
}

/// jsonwebtoken 11 (aws-lc-rs backend) takes the zero-led modulus as a key but every
/// verification with it fails as `InvalidSignature` (aws-lc-rs refuses components with
/// leading zeros); `DecodingKey::from_jwk` on the parsed JWKS fails the same way. With
/// the zero stripped the same token verifies.
#[test]
fn jsonwebtoken_verifies_a_synapse_token_only_once_the_zero_is_stripped() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let token = fake.login_token(user);
    let keys = jwks(&fake);
    let jwk = &keys["keys"][0];
    let validation = synapse_validation(&fake.issuer());

    let raw = decode::<Value>(&token, &decoding_key(jwk, false), &validation).unwrap_err();
    assert!(matches!(raw.kind(), ErrorKind::InvalidSignature), "{raw:?}");

    let set: JwkSet = serde_json::from_value(keys.clone()).expect("JwkSet parses Synapse's JWKS");
    let from_jwk = DecodingKey::from_jwk(&set.keys[0]).expect("a key");
    let err = decode::<Value>(&token, &from_jwk, &validation).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidSignature), "{err:?}");

    let claims = decode::<Value>(&token, &decoding_key(jwk, true), &validation)
        .expect("verifies without the zero")
        .claims;
    assert_eq!(claims["sub"], user.to_string());
}

#[test]
fn a_personal_access_token_has_no_exp_and_its_chosen_scopes() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let pat = fake.pat(user, &["view", "download"]);
    let claims = verify(&fake, &pat).expect("a PAT verifies without exp");
    assert!(claims.get("exp").is_none());
    assert_eq!(claims["token_type"], PERSONAL_ACCESS_TOKEN);
    assert_eq!(claims["access"]["scope"], json!(["view", "download"]));
    assert_eq!(claims["aud"], "0");
    assert_eq!(claims["sub"], user.to_string());
    let default = Validation::new(Algorithm::RS256);
    let keys = jwks(&fake);
    let err = decode::<Value>(&pat, &decoding_key(&keys["keys"][0], true), &default).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::MissingRequiredClaim(c) if c == "exp"),
        "jsonwebtoken's defaults refuse a PAT: {err:?}"
    );
    assert_eq!(authenticated_on(&fake, &pat), 200);
}

#[test]
fn rotating_the_key_publishes_both_and_both_tokens_verify() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let old = fake.login_token(user);
    fake.rotate_key();
    let new = fake.login_token(user);
    let keys = jwks(&fake);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    let (old_kid, new_kid) = (
        decode_header(&old).unwrap().kid,
        decode_header(&new).unwrap().kid,
    );
    assert_ne!(old_kid, new_kid, "new tokens use the new key");
    assert_eq!(
        keys["keys"][1]["kid"],
        new_kid.unwrap().as_str(),
        "the last key signs"
    );
    verify(&fake, &old).expect("the old token");
    verify(&fake, &new).expect("the new token");
    assert_eq!(authenticated_on(&fake, &old), 200);
    assert_eq!(authenticated_on(&fake, &new), 200);
}

#[test]
fn a_token_of_an_unpublished_key_is_unknown_to_the_jwks_until_published() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let token = fake.sign_with_unpublished_key(user);
    let err = verify(&fake, &token).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidKeyFormat),
        "kid not in the JWKS: {err:?}"
    );
    assert_eq!(
        authenticated_on(&fake, &token),
        200,
        "Synapse knows its own key"
    );
    fake.publish_pending_key();
    assert_eq!(jwks(&fake)["keys"].as_array().unwrap().len(), 2);
    verify(&fake, &token).expect("verifies once published");
    let next = fake.login_token(user);
    assert_eq!(
        decode_header(&next).unwrap().kid,
        decode_header(&token).unwrap().kid
    );
}

// ---- §1.3 discovery ----

#[test]
fn discovery_names_the_issuer_and_the_jwks() {
    let fake = FakeSynapse::start();
    let doc = body(get(
        &fake,
        "/auth/v1/.well-known/openid-configuration",
        None,
    ));
    assert_eq!(doc["issuer"], fake.issuer());
    assert_eq!(doc["jwks_uri"], format!("{}/oauth2/jwks", fake.issuer()));
    assert_eq!(
        doc["userinfo_endpoint"],
        format!("{}/oauth2/userinfo", fake.issuer())
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let by_name = client()
        .get(format!(
            "{}/auth/v1/.well-known/openid-configuration",
            fake.base_url()
        ))
        .header("host", "synapse.example.org")
        .send()
        .unwrap();
    assert_eq!(
        body(by_name)["issuer"],
        "http://synapse.example.org/auth/v1",
        "the issuer is the host the request reached"
    );
}

// ---- §1.4 authenticatedOn ----

#[test]
fn authenticated_on_is_200_for_a_live_token_and_401_after_revocation() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    let token = fake.login_token(user);
    let r = get(&fake, "/auth/v1/authenticatedOn", Some(&token));
    assert_eq!(r.status(), 200);
    let when = body(r)["authenticatedOn"].as_str().unwrap().to_string();
    assert!(when.ends_with('Z') && when.contains('T'), "{when}");
    fake.revoke(&token);
    assert_eq!(authenticated_on(&fake, &token), 401);

    let pat = fake.pat(user, &["view"]);
    assert_eq!(authenticated_on(&fake, &pat), 200);
    fake.revoke(&pat);
    assert_eq!(authenticated_on(&fake, &pat), 401, "a deleted PAT");
}

#[test]
fn authenticated_on_refuses_expired_forged_anonymous_and_id_tokens() {
    let fake = FakeSynapse::start();
    let user = fake.add_user("alice", PASSWORD);
    assert_eq!(authenticated_on(&fake, &fake.expired_token(user)), 401);
    let token = fake.login_token(user);
    assert_eq!(authenticated_on(&fake, &forge(&token)), 401);
    let r = get(&fake, "/auth/v1/authenticatedOn", None);
    assert_eq!(r.status(), 401);
    let id_token = fake.mint(&TokenSpec {
        token_type: OIDC_ID_TOKEN.into(),
        ..TokenSpec::login(user)
    });
    assert_eq!(authenticated_on(&fake, &id_token), 401);
    let other_audience = fake.mint(&TokenSpec {
        audience: "100001".into(),
        ..TokenSpec::login(user)
    });
    assert_eq!(
        authenticated_on(&fake, &other_audience),
        200,
        "Synapse checks neither aud nor iss (JWH:57-90)"
    );
    assert_eq!(authenticated_on(&fake, &token), 200);
}

// ---- §1.5 dockerRepo/id ----

#[test]
fn docker_repo_id_finds_a_readable_repository_by_its_full_name() {
    let w = world();
    let r = repo_id(&w.fake, &w.repo_name, &w.fake.login_token(w.downloader));
    assert_eq!(r.status(), 200);
    assert_eq!(body(r), json!({ "id": w.repo }));
    assert!(w.repo_name.starts_with("docker.synapse.test/syn"));
}

#[test]
fn docker_repo_id_is_404_for_an_unknown_name() {
    let w = world();
    let name = w.fake.repository_name(&w.project, "never-pushed");
    let r = repo_id(&w.fake, &name, &w.fake.login_token(w.owner));
    assert_eq!(r.status(), 404);
    let reason = body(r)["reason"].as_str().unwrap().to_string();
    assert!(!reason.contains("trash"), "{reason}");
}

#[test]
fn docker_repo_id_is_404_with_the_trash_reason_for_a_trashed_repository() {
    let w = world();
    w.fake.trash(&w.repo, true);
    let r = repo_id(&w.fake, &w.repo_name, &w.fake.login_token(w.owner));
    assert_eq!(r.status(), 404);
    assert_eq!(
        body(r)["reason"],
        format!("Entity {} is in trash can.", w.repo)
    );
    w.fake.trash(&w.repo, false);
    w.fake.trash(&w.project, true);
    let r = repo_id(&w.fake, &w.repo_name, &w.fake.login_token(w.owner));
    assert_eq!(
        r.status(),
        404,
        "a trashed project takes its repositories along"
    );
    assert_eq!(
        body(r)["reason"],
        format!("Entity {} is in trash can.", w.repo)
    );
}

#[test]
fn docker_repo_id_is_403_without_read_or_without_the_view_scope() {
    let w = world();
    let r = repo_id(&w.fake, &w.repo_name, &w.fake.login_token(w.stranger));
    assert_eq!(r.status(), 403);
    let answer = body(r);
    assert!(answer["reason"].is_string());
    assert!(answer.get("error").is_none());

    let no_view = w.fake.pat(w.owner, &["download"]);
    let r = repo_id(&w.fake, &w.repo_name, &no_view);
    assert_eq!(r.status(), 403);
    assert_eq!(body(r)["error"], "insufficient_scope");
}

#[test]
fn repo_calls_are_401_for_revoked_expired_and_forged_tokens() {
    let w = world();
    let token = w.fake.login_token(w.owner);
    w.fake.revoke(&token);
    let expired = w.fake.expired_token(w.owner);
    let forged = forge(&w.fake.login_token(w.owner));
    for bad in [&token, &expired, &forged] {
        assert_eq!(repo_id(&w.fake, &w.repo_name, bad).status(), 401);
        let path = format!("/repo/v1/entity/{}/permissions", w.repo);
        assert_eq!(get(&w.fake, &path, Some(bad)).status(), 401);
        let path = format!("/repo/v1/entity/{}/type", w.repo);
        assert_eq!(get(&w.fake, &path, Some(bad)).status(), 401);
        let r = get(&w.fake, "/repo/v1/user/bundle?mask=8", Some(bad));
        assert_eq!(r.status(), 401);
        assert!(body(r)["reason"].is_string());
    }
}

// ---- §1.6 permissions ----

#[test]
fn permissions_of_a_certified_owner_allow_everything() {
    let w = world();
    let token = w.fake.login_token(w.owner);
    let p = permissions(&w.fake, &w.repo, &token);
    assert_eq!(decision_flags(&p), flags(true, true, true, true, true));
    assert_eq!(p["canView"], true);
    assert_eq!(p["isCertificationRequired"], true);
    for field in [
        "canChangePermissions",
        "canCertifiedUserEdit",
        "canCertifiedUserAddChild",
        "canPublicRead",
        "canModerate",
    ] {
        assert!(p[field].is_boolean(), "{field} in {p}");
    }
    assert!(p.as_object().unwrap().contains_key("ownerPrincipalId"));
}

#[test]
fn an_uncertified_editor_can_edit_a_project_but_not_a_repository() {
    let w = world();
    let token = w.fake.login_token(w.editor);
    let repo = permissions(&w.fake, &w.repo, &token);
    assert_eq!(
        decision_flags(&repo),
        flags(true, false, false, false, false)
    );
    assert_eq!(repo["canCertifiedUserEdit"], true, "the raw ACL bit");
    let project = permissions(&w.fake, &w.project, &token);
    assert_eq!(
        decision_flags(&project),
        flags(true, true, false, false, false),
        "canEdit needs no certification on a project; canAddChild always does"
    );
    w.fake.set_certified(w.editor, true);
    let project = permissions(&w.fake, &w.project, &token);
    assert_eq!(
        decision_flags(&project),
        flags(true, true, true, false, true)
    );
}

#[test]
fn a_downloader_can_download_only_and_a_stranger_nothing() {
    let w = world();
    let p = permissions(&w.fake, &w.repo, &w.fake.login_token(w.downloader));
    assert_eq!(decision_flags(&p), flags(true, false, false, false, false));
    assert_eq!(p["canView"], true);
    let p = permissions(&w.fake, &w.repo, &w.fake.login_token(w.stranger));
    assert_eq!(decision_flags(&p), flags(false, false, false, false, false));
    assert_eq!(p["canView"], false);
}

#[test]
fn an_admin_gets_everything_and_can_delete_even_in_the_trash() {
    let w = world();
    let admin = w.fake.add_user("admin", PASSWORD);
    w.fake.set_admin(admin, true);
    let token = w.fake.login_token(admin);
    let p = permissions(&w.fake, &w.repo, &token);
    assert_eq!(decision_flags(&p), flags(true, true, true, true, false));
    assert_eq!(p["canView"], true);
    w.fake.trash(&w.repo, true);
    let p = permissions(&w.fake, &w.repo, &token);
    assert_eq!(decision_flags(&p), flags(false, false, false, true, false));
}

/// §6.2: a trashed or missing id is 200 with every decision flag false; the raw ACL
/// bits `canCertifiedUser*` stay as they were (no trash check, EAU:73, 80), which is
/// why the backend must not use them.
#[test]
fn a_trashed_or_missing_entity_has_every_decision_flag_false() {
    let w = world();
    let token = w.fake.login_token(w.owner);
    w.fake.trash(&w.repo, true);
    let p = permissions(&w.fake, &w.repo, &token);
    assert_eq!(decision_flags(&p), flags(false, false, false, false, true));
    assert_eq!(p["canView"], false);
    assert_eq!(p["canCertifiedUserEdit"], true);
    let p = permissions(&w.fake, "syn999999999", &token);
    assert_eq!(decision_flags(&p), flags(false, false, false, false, true));
    assert_eq!(p["canCertifiedUserEdit"], false);
    assert_eq!(p["ownerPrincipalId"], Value::Null);
}

#[test]
fn a_repository_inherits_its_projects_acl_until_it_has_its_own() {
    let w = world();
    let token = w.fake.login_token(w.stranger);
    assert_eq!(permissions(&w.fake, &w.repo, &token)["canDownload"], false);
    w.fake.grant(&w.repo, w.stranger, &["READ", "DOWNLOAD"]);
    assert_eq!(permissions(&w.fake, &w.repo, &token)["canDownload"], true);
    let owner = w.fake.login_token(w.owner);
    assert_eq!(
        permissions(&w.fake, &w.repo, &owner)["canEdit"],
        false,
        "local sharing settings replace the inherited ACL"
    );
    let header = body(get(
        &w.fake,
        &format!("/repo/v1/entity/{}/type", w.repo),
        Some(&token),
    ));
    assert_eq!(header["benefactorId"], w.repo[3..].parse::<u64>().unwrap());
    w.fake.inherit(&w.repo);
    assert_eq!(permissions(&w.fake, &w.repo, &owner)["canEdit"], true);
}

#[test]
fn grants_to_teams_and_to_all_authenticated_users_count() {
    let w = world();
    let token = w.fake.login_token(w.stranger);
    let team = w.fake.add_team();
    w.fake.add_to_team(team, w.stranger);
    w.fake.grant(&w.project, team, &["READ", "DOWNLOAD"]);
    assert_eq!(permissions(&w.fake, &w.repo, &token)["canDownload"], true);
    w.fake.grant(&w.project, team, &[]);
    assert_eq!(permissions(&w.fake, &w.repo, &token)["canDownload"], false);
    w.fake
        .grant(&w.project, AUTHENTICATED, &["READ", "DOWNLOAD"]);
    assert_eq!(permissions(&w.fake, &w.repo, &token)["canDownload"], true);
    let anonymous = body(get(
        &w.fake,
        &format!("/repo/v1/entity/{}/permissions", w.repo),
        None,
    ));
    assert_eq!(anonymous["canDownload"], false);
    w.fake.grant(&w.project, PUBLIC, &["READ", "DOWNLOAD"]);
    let anonymous = body(get(
        &w.fake,
        &format!("/repo/v1/entity/{}/permissions", w.repo),
        None,
    ));
    assert_eq!(anonymous["canDownload"], false, "never for anonymous (EAU)");
    assert_eq!(anonymous["canPublicRead"], true);
}

#[test]
fn an_unmet_access_requirement_blocks_download_until_approved() {
    let w = world();
    let token = w.fake.login_token(w.downloader);
    w.fake.add_access_requirement(&w.project);
    assert_eq!(permissions(&w.fake, &w.repo, &token)["canDownload"], false);
    w.fake.approve_access(&w.project, w.downloader);
    assert_eq!(permissions(&w.fake, &w.repo, &token)["canDownload"], true);
}

#[test]
fn permissions_need_the_view_scope() {
    let w = world();
    let r = get(
        &w.fake,
        &format!("/repo/v1/entity/{}/permissions", w.repo),
        Some(&w.fake.pat(w.owner, &["download", "modify"])),
    );
    assert_eq!(r.status(), 403);
    assert_eq!(body(r)["error"], "insufficient_scope");
}

// ---- §1.7 entity type, §1.8 bundle ----

#[test]
fn entity_type_gives_the_class_name_and_404_or_403_like_a_read() {
    let w = world();
    let token = w.fake.login_token(w.downloader);
    let path = |e: &str| format!("/repo/v1/entity/{e}/type");
    let project = body(get(&w.fake, &path(&w.project), Some(&token)));
    assert_eq!(project["type"], PROJECT_TYPE);
    assert_eq!(project["id"], w.project);
    assert_eq!(project["name"], "alpha");
    let repo = body(get(&w.fake, &path(&w.repo), Some(&token)));
    assert_eq!(repo["type"], DOCKER_REPOSITORY_TYPE);
    assert_eq!(repo["name"], w.repo_name);
    assert_eq!(repo["benefactorId"], w.project[3..].parse::<u64>().unwrap());
    assert_eq!(
        get(&w.fake, &path("syn999999999"), Some(&token)).status(),
        404
    );
    let stranger = w.fake.login_token(w.stranger);
    assert_eq!(
        get(&w.fake, &path(&w.project), Some(&stranger)).status(),
        403
    );
    w.fake.trash(&w.project, true);
    assert_eq!(get(&w.fake, &path(&w.project), Some(&token)).status(), 404);
}

#[test]
fn the_user_bundle_tells_certification_and_with_mask_1_the_profile() {
    let w = world();
    let token = w.fake.login_token(w.owner);
    let bundle = body(get(&w.fake, "/repo/v1/user/bundle?mask=8", Some(&token)));
    assert_eq!(bundle["isCertified"], true);
    assert!(bundle.get("userProfile").is_none());
    let bundle = body(get(&w.fake, "/repo/v1/user/bundle?mask=9", Some(&token)));
    assert_eq!(bundle["userProfile"]["ownerId"], w.owner.to_string());
    assert_eq!(bundle["userProfile"]["userName"], "owner");
    let editor = w.fake.login_token(w.editor);
    let bundle = body(get(&w.fake, "/repo/v1/user/bundle?mask=8", Some(&editor)));
    assert_eq!(bundle["isCertified"], false);
}

// ---- §1.9 registry listener ----

fn push_event(host: &str, repository: &str, actor: &str, media_type: &str) -> Value {
    json!({
        "id": format!("event-{repository}-{media_type}"),
        "action": "push",
        "target": { "mediaType": media_type, "repository": repository, "tag": "v1",
                    "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000" },
        "request": { "host": host },
        "actor": { "name": actor },
    })
}

fn post_events(fake: &FakeSynapse, events: Value, credentials: Option<(&str, &str)>) -> Response {
    let mut request = client()
        .post(format!(
            "{}/dockerRegistryListener/v1/events",
            fake.base_url()
        ))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .body(json!({ "events": events }).to_string());
    if let Some((key, secret)) = credentials {
        request = request.basic_auth(key, Some(secret));
    }
    request.send().unwrap()
}

#[test]
fn the_listener_needs_its_basic_secret_and_records_what_it_gets() {
    let w = world();
    let event = push_event(
        w.fake.registry_host(),
        &format!("{}/app", w.project),
        &w.owner.to_string(),
        "application/vnd.docker.distribution.manifest.v2+json",
    );
    let r = post_events(&w.fake, json!([event]), None);
    assert_eq!(r.status(), 401);
    let r = post_events(&w.fake, json!([event]), Some((LISTENER_KEY, "wrong")));
    assert_eq!(r.status(), 401);
    assert!(w.fake.listener_events().is_empty());
    let r = post_events(
        &w.fake,
        json!([event]),
        Some((LISTENER_KEY, LISTENER_SECRET)),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(w.fake.listener_events(), vec![json!({ "events": [event] })]);
    assert_eq!(w.fake.calls(Endpoint::Listener), 3);
}

#[test]
fn a_manifest_push_creates_the_repository_and_a_layer_push_does_not() {
    let w = world();
    let auth = Some((LISTENER_KEY, LISTENER_SECRET));
    let host = w.fake.registry_host().to_string();
    let actor = w.owner.to_string();
    let layer = push_event(
        &host,
        &format!("{}/layered", w.project),
        &actor,
        "application/octet-stream",
    );
    let manifest = push_event(
        &host,
        &format!("{}/new/tool", w.project),
        &actor,
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(
        post_events(&w.fake, json!([layer, manifest]), auth).status(),
        200
    );
    let token = w.fake.login_token(w.owner);
    let created = repo_id(
        &w.fake,
        &w.fake.repository_name(&w.project, "new/tool"),
        &token,
    );
    assert_eq!(created.status(), 200);
    let id = body(created)["id"].as_str().unwrap().to_string();
    assert_eq!(
        permissions(&w.fake, &id, &token)["ownerPrincipalId"],
        w.owner
    );
    let layered = repo_id(
        &w.fake,
        &w.fake.repository_name(&w.project, "layered"),
        &token,
    );
    assert_eq!(layered.status(), 404);

    let elsewhere = push_event(
        "registry.elsewhere",
        &format!("{}/x", w.project),
        &actor,
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(post_events(&w.fake, json!([elsewhere]), auth).status(), 200);
    assert_eq!(
        repo_id(
            &w.fake,
            &format!("registry.elsewhere/{}/x", w.project),
            &token
        )
        .status(),
        404,
        "hosts not on Synapse's list are ignored"
    );
}

#[test]
fn a_bad_event_rejects_the_whole_batch() {
    let w = world();
    let auth = Some((LISTENER_KEY, LISTENER_SECRET));
    let host = w.fake.registry_host().to_string();
    let media = "application/vnd.docker.distribution.manifest.v2+json";
    let good = push_event(
        &host,
        &format!("{}/good", w.project),
        &w.owner.to_string(),
        media,
    );
    let bad = push_event(&host, "syn999999999/bad", &w.owner.to_string(), media);
    let r = post_events(&w.fake, json!([good, bad]), auth);
    assert!(r.status().is_client_error(), "{}", r.status());
    let token = w.fake.login_token(w.owner);
    let name = w.fake.repository_name(&w.project, "good");
    assert_eq!(repo_id(&w.fake, &name, &token).status(), 404, "rolled back");
}

// ---- §5 failures, counters, throttle ----

#[test]
fn injected_503_and_500_answer_with_a_reason_then_recover() {
    let w = world();
    let token = w.fake.login_token(w.owner);
    w.fake.fail(Endpoint::DockerRepoId, Failure::Status(503));
    let r = repo_id(&w.fake, &w.repo_name, &token);
    assert_eq!(r.status(), 503);
    assert!(body(r)["reason"].is_string());
    w.fake.fail(Endpoint::DockerRepoId, Failure::None);
    assert_eq!(repo_id(&w.fake, &w.repo_name, &token).status(), 200);
    w.fake.fail_times(Endpoint::Login, Failure::Status(500), 1);
    assert_eq!(login(&w.fake, "owner", PASSWORD).status(), 500);
    assert_eq!(login(&w.fake, "owner", PASSWORD).status(), 201);
    assert_eq!(w.fake.calls(Endpoint::Login), 2);
    assert_eq!(w.fake.calls(Endpoint::DockerRepoId), 2);
}

#[test]
fn an_injected_429_has_a_reason_and_no_retry_after() {
    let w = world();
    w.fake.fail(Endpoint::Permissions, Failure::Status(429));
    let path = format!("/repo/v1/entity/{}/permissions", w.repo);
    let r = get(&w.fake, &path, Some(&w.fake.login_token(w.owner)));
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    assert!(body(r)["reason"].is_string());
}

#[test]
fn injected_garbage_is_a_success_status_with_an_unparsable_body() {
    let w = world();
    w.fake.fail(Endpoint::Jwks, Failure::Garbage);
    let r = get(&w.fake, "/auth/v1/oauth2/jwks", None);
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().is_err());
    w.fake.fail(Endpoint::Login, Failure::Garbage);
    let r = login(&w.fake, "owner", PASSWORD);
    assert_eq!(r.status(), 201);
    assert!(r.json::<Value>().is_err());
}

#[test]
fn an_injected_hang_never_answers() {
    let w = world();
    w.fake.fail(Endpoint::AuthenticatedOn, Failure::Hang);
    let quick = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let r = quick
        .get(format!("{}/auth/v1/authenticatedOn", w.fake.base_url()))
        .bearer_auth(w.fake.login_token(w.owner))
        .send();
    assert!(r.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(w.fake.calls(Endpoint::AuthenticatedOn), 1);
    assert_eq!(
        get(&w.fake, "/auth/v1/oauth2/jwks", None).status(),
        200,
        "other endpoints still answer"
    );
}

#[test]
fn calls_are_counted_per_endpoint_including_failures() {
    let w = world();
    let token = w.fake.login_token(w.owner);
    for _ in 0..3 {
        jwks(&w.fake);
    }
    get(&w.fake, "/auth/v1/.well-known/openid-configuration", None);
    authenticated_on(&w.fake, &token);
    repo_id(&w.fake, &w.repo_name, "not-a-token");
    permissions(&w.fake, &w.repo, &token);
    get(
        &w.fake,
        &format!("/repo/v1/entity/{}/type", w.repo),
        Some(&token),
    );
    get(&w.fake, "/repo/v1/user/bundle?mask=8", Some(&token));
    assert_eq!(w.fake.calls(Endpoint::Jwks), 3);
    assert_eq!(w.fake.calls(Endpoint::Discovery), 1);
    assert_eq!(w.fake.calls(Endpoint::AuthenticatedOn), 1);
    assert_eq!(w.fake.calls(Endpoint::DockerRepoId), 1);
    assert_eq!(w.fake.calls(Endpoint::Permissions), 1);
    assert_eq!(w.fake.calls(Endpoint::EntityType), 1);
    assert_eq!(w.fake.calls(Endpoint::UserBundle), 1);
    assert_eq!(w.fake.calls(Endpoint::Login), 0);
    w.fake.reset_counters();
    assert_eq!(w.fake.calls(Endpoint::Jwks), 0);
}

/// Runs `f` on `n` threads at once; their results.
fn in_parallel<T: Send>(n: usize, f: impl Fn() -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..n).map(|_| s.spawn(f)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// §5: 3 concurrent `/repo/v1/*` calls per user; the 4th gets 429 without
/// `Retry-After`. Concurrency is measured per endpoint and per user.
#[test]
fn a_fourth_concurrent_repo_call_of_one_user_is_429() {
    let w = world();
    w.fake
        .delay(Endpoint::Permissions, Duration::from_millis(600));
    let token = w.fake.login_token(w.owner);
    let path = format!("/repo/v1/entity/{}/permissions", w.repo);
    let statuses = in_parallel(4, || {
        let r = get(&w.fake, &path, Some(&token));
        (r.status().as_u16(), r.headers().contains_key("retry-after"))
    });
    let throttled = statuses.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!(throttled, 1, "{statuses:?}");
    assert!(statuses.iter().all(|(_, retry_after)| !retry_after));
    assert_eq!(w.fake.max_in_flight(Endpoint::Permissions), 4);
    assert_eq!(w.fake.max_in_flight_for(w.owner), 3);

    w.fake.set_concurrency_limit(None);
    w.fake.reset_counters();
    let ok = in_parallel(4, || get(&w.fake, &path, Some(&token)).status().as_u16());
    assert!(ok.iter().all(|s| *s == 200), "{ok:?}");
    assert_eq!(w.fake.max_in_flight_for(w.owner), 4);
}
