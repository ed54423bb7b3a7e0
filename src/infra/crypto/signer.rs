//! The registry JWT: claims, header, signing (`Signer`).
//!
//! The header (`alg`, `typ`, `kid`, `x5c`) is the same for every token of a key, so it
//! is encoded once in `Signer::new`, and the private key was parsed once when the key
//! ring was loaded: issuing a token costs one JSON serialization of the claims and one
//! signature. The JWS is assembled here rather than by a JWT library: its header is ours
//! (registries match `kid` and `x5c`), and the signature is one aws-lc-rs call.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use serde::Serialize;

use super::jwks::KidStyle;
use super::key_ring::KeyRing;
use crate::domain::ports::{SignError, SignedToken, TokenClaims, TokenSigner};
use crate::domain::scope::ResourceActions;

/// The claims of a registry token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
struct Claims {
    iss: String,
    sub: String,
    /// A plain string: registry 2.8 fails to parse an array here.
    aud: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    /// One entry a granted resource, its actions sorted.
    access: Vec<ResourceActions>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("system clock is before 1970 or out of range")]
    Clock,
    #[error("cannot encode claims: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// Signs registry tokens with the newest key of the key directory.
pub struct Signer {
    keyring: KeyRing,
    issuer: String,
    ttl: Duration,
    nbf_skew: Duration,
    /// base64url of the header JSON, followed by '.'.
    header_prefix: String,
}

impl Signer {
    pub fn new(
        keyring: KeyRing,
        kid_style: KidStyle,
        issuer: String,
        ttl: Duration,
        nbf_skew: Duration,
    ) -> Result<Signer, TokenError> {
        let signing = keyring.signing_key();
        let mut header = serde_json::json!({
            "alg": signing.algorithm().as_str(),
            "typ": "JWT",
            "kid": signing.token_kid(kid_style),
        });
        // Only with the libtrust kid: registry 3 would verify an `x5c` against a root
        // bundle a registry configured with `jwks` does not have, and refuse the token.
        if kid_style == KidStyle::Libtrust {
            header["x5c"] = serde_json::json!([STANDARD.encode(signing.cert_der())]);
        }
        let mut header_prefix = URL_SAFE_NO_PAD.encode(header.to_string());
        header_prefix.push('.');
        Ok(Signer {
            keyring,
            issuer,
            ttl,
            nbf_skew,
            header_prefix,
        })
    }

    #[cfg(test)]
    fn keyring(&self) -> &KeyRing {
        &self.keyring
    }

    /// The signing certificate's libtrust id (the `kid` tokens carry by default).
    #[cfg(test)]
    fn kid(&self) -> &str {
        self.keyring.signing_kid()
    }

    /// Issues a token now.
    #[cfg(test)]
    fn issue(
        &self,
        subject: &str,
        audience: &str,
        access: Vec<ResourceActions>,
    ) -> Result<SignedToken, TokenError> {
        self.issue_at(subject, audience, access, SystemTime::now(), None)
    }

    /// Issues a token as of `now`. Actions of each entry are sorted (and deduplicated);
    /// the entries keep the order they were requested in.
    fn issue_at(
        &self,
        subject: &str,
        audience: &str,
        mut access: Vec<ResourceActions>,
        now: SystemTime,
        expires_by: Option<i64>,
    ) -> Result<SignedToken, TokenError> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TokenError::Clock)?
            .as_secs();
        let now = i64::try_from(now).map_err(|_| TokenError::Clock)?;
        let ttl = i64::try_from(self.ttl.as_secs()).map_err(|_| TokenError::Clock)?;
        let skew = i64::try_from(self.nbf_skew.as_secs()).map_err(|_| TokenError::Clock)?;
        let issued_at = crate::domain::model::rfc3339(now).ok_or(TokenError::Clock)?;
        for entry in &mut access {
            entry.actions.sort_unstable();
            entry.actions.dedup();
        }
        let mut jti = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut jti);
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_string(),
            aud: audience.to_string(),
            exp: expires_by.map_or(now.saturating_add(ttl), |by| {
                by.min(now.saturating_add(ttl))
            }),
            nbf: now.saturating_sub(skew),
            iat: now,
            jti: hex::encode(jti),
            access,
        };
        let payload = serde_json::to_vec(&claims)?;
        let mut token =
            String::with_capacity(self.header_prefix.len() + payload.len() * 4 / 3 + 400);
        token.push_str(&self.header_prefix);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signing = self.keyring.signing_key();
        let signature = signing
            .private_key()
            .sign(token.as_bytes())
            .map_err(|_| TokenError::Sign(format!("{} signing failed", signing.algorithm())))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(SignedToken {
            token,
            expires_in: u64::try_from(claims.exp.saturating_sub(now)).unwrap_or(0),
            issued_at,
            jti: claims.jti,
        })
    }
}

impl TokenSigner for Signer {
    fn sign(&self, c: TokenClaims<'_>) -> Result<SignedToken, SignError> {
        let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(c.now).unwrap_or(0));
        self.issue_at(c.subject, c.audience, c.access, at, c.expires_by)
            .map_err(|e| SignError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::key_id::libtrust_kid;
    use crate::infra::crypto::test_support::{decoding_key, jwt_algorithm};
    use crate::infra::crypto::x509::certificate_spki;
    use crate::infra::crypto::{self, KeyAlgorithm};
    use jsonwebtoken::{decode, decode_header, Algorithm, Validation};

    const NOW: u64 = 1_795_357_380; // 2026-11-22T14:23:00Z

    fn ring(alg: KeyAlgorithm) -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        crypto::generate(dir.path(), alg, "regauth test").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        (dir, ring)
    }

    fn signer(alg: KeyAlgorithm) -> (tempfile::TempDir, Signer) {
        let (dir, ring) = ring(alg);
        let signer = Signer::new(
            ring,
            KidStyle::Libtrust,
            "regauth-issuer".into(),
            Duration::from_secs(300),
            Duration::from_secs(10),
        )
        .unwrap();
        (dir, signer)
    }

    fn entry(t: &str, name: &str, actions: &[&str]) -> ResourceActions {
        ResourceActions {
            resource_type: t.into(),
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// A token for alice that grants nothing, issued at `NOW`.
    fn alices_empty_token(signer: &Signer) -> SignedToken {
        let at = UNIX_EPOCH + Duration::from_secs(NOW);
        signer
            .issue_at("alice", "registry.example.com", vec![], at, None)
            .unwrap()
    }

    fn validation(alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.set_audience(&["registry.example.com"]);
        v.set_issuer(&["regauth-issuer"]);
        v.validate_nbf = true;
        // Tokens are issued at a fixed past instant; expiry is checked by hand below.
        v.validate_exp = false;
        v
    }

    fn check_token(alg: KeyAlgorithm) {
        let (_dir, signer) = signer(alg);
        let at = UNIX_EPOCH + Duration::from_secs(NOW);
        let issued = signer
            .issue_at(
                "alice",
                "registry.example.com",
                vec![
                    entry("repository", "team/app", &["push", "pull"]),
                    entry("registry", "catalog", &["*"]),
                    entry("repository", "a/b", &[]),
                ],
                at,
                None,
            )
            .unwrap();
        assert_eq!(issued.expires_in, 300);
        // A credential that ends sooner caps `exp`; one that ends later does not stretch it.
        let now = i64::try_from(NOW).unwrap();
        let capped = signer
            .issue_at("w", "r", vec![], at, Some(now + 42))
            .unwrap();
        assert_eq!(capped.expires_in, 42);
        let later = signer
            .issue_at("w", "r", vec![], at, Some(now + 4_200))
            .unwrap();
        assert_eq!(later.expires_in, 300);
        assert_eq!(issued.issued_at, "2026-11-22T14:23:00Z");
        assert_eq!(issued.jti.len(), 32);
        assert!(issued.jti.bytes().all(|b| b.is_ascii_hexdigit()));

        let key = signer.keyring().signing_key();
        let header = decode_header(&issued.token).unwrap();
        assert_eq!(header.alg, jwt_algorithm(alg));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        let x5c = header.x5c.clone().unwrap();
        assert_eq!(x5c.len(), 1);
        // Standard (not URL-safe) base64 with padding, as RFC 7515 §4.1.6 requires.
        let cert = STANDARD.decode(&x5c[0]).unwrap();
        assert_eq!(cert, key.cert_der());
        assert_eq!(certificate_spki(&cert).unwrap(), key.spki_der());
        assert_eq!(libtrust_kid(&certificate_spki(&cert).unwrap()), key.kid());

        let data = decode::<Claims>(
            &issued.token,
            &decoding_key(key.spki_der()),
            &validation(jwt_algorithm(alg)),
        )
        .unwrap();
        let c = data.claims;
        assert_eq!(c.iss, "regauth-issuer");
        assert_eq!(c.sub, "alice");
        assert_eq!(c.aud, "registry.example.com");
        assert_eq!(c.iat, NOW as i64);
        assert_eq!(c.nbf, NOW as i64 - 10);
        assert_eq!(c.exp, NOW as i64 + 300);
        assert_eq!(c.jti, issued.jti);
        assert_eq!(
            c.access,
            vec![
                entry("repository", "team/app", &["pull", "push"]),
                entry("registry", "catalog", &["*"]),
                entry("repository", "a/b", &[]),
            ]
        );

        // `aud` is a JSON string, not an array; `access[].type` is spelled so.
        let payload = issued.token.split('.').nth(1).unwrap();
        let raw: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(raw["aud"].is_string());
        assert_eq!(raw["access"][0]["type"], "repository");
    }

    #[test]
    fn es256_token_carries_every_claim_and_header_field() {
        check_token(KeyAlgorithm::Es256);
    }

    #[test]
    fn rs256_token_carries_every_claim_and_header_field() {
        check_token(KeyAlgorithm::Rs256);
    }

    #[test]
    fn es256_signature_is_raw_r_s() {
        let (_dir, signer) = signer(KeyAlgorithm::Es256);
        let issued = signer.issue("bob", "svc", vec![]).unwrap();
        let sig = issued.token.rsplit('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), 64);
    }

    #[test]
    fn token_is_rejected_with_another_key() {
        for alg in [KeyAlgorithm::Es256, KeyAlgorithm::Rs256] {
            let (_d1, signer) = signer(alg);
            let (_d2, other) = ring(alg);
            let issued = alices_empty_token(&signer);
            let v = validation(jwt_algorithm(alg));
            let other_key = decoding_key(other.signing_key().spki_der());
            assert!(decode::<Claims>(&issued.token, &other_key, &v).is_err());
            let own_key = decoding_key(signer.keyring().signing_key().spki_der());
            assert!(decode::<Claims>(&issued.token, &own_key, &v).is_ok());
        }
    }

    #[test]
    fn tampered_token_is_rejected() {
        let (_dir, signer) = signer(KeyAlgorithm::Es256);
        let issued = alices_empty_token(&signer);
        let mut parts: Vec<String> = issued.token.split('.').map(String::from).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["sub"] = "admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        let forged = parts.join(".");
        let key = decoding_key(signer.keyring().signing_key().spki_der());
        assert!(decode::<Claims>(&forged, &key, &validation(Algorithm::ES256)).is_err());
    }

    #[test]
    fn fresh_token_validates_now_and_every_jti_differs() {
        let (_dir, signer) = signer(KeyAlgorithm::Es256);
        let a = signer.issue("", "registry.example.com", vec![]).unwrap();
        let b = signer.issue("", "registry.example.com", vec![]).unwrap();
        assert_ne!(a.jti, b.jti);
        let mut v = validation(Algorithm::ES256);
        v.validate_exp = true;
        let key = decoding_key(signer.keyring().signing_key().spki_der());
        let c = decode::<Claims>(&a.token, &key, &v).unwrap().claims;
        assert_eq!(c.sub, "");
    }

    #[test]
    fn newest_key_of_the_ring_signs() {
        let dir = tempfile::tempdir().unwrap();
        crypto::generate(dir.path(), KeyAlgorithm::Rs256, "old").unwrap();
        let newest = crypto::generate(dir.path(), KeyAlgorithm::Es256, "new").unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        let signer = Signer::new(
            ring,
            KidStyle::Libtrust,
            "i".into(),
            Duration::from_secs(60),
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(signer.keyring().signing_key().stamp(), newest.stamp);
        let issued = signer.issue("u", "s", vec![]).unwrap();
        let header = decode_header(&issued.token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(signer.kid()));
    }

    #[test]
    fn signer_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Signer>();
    }

    /// Registry 3 with `auth.token.jwks`: the `kid` is the thumbprint, there is no `x5c`,
    /// and the key the published key set gives under that `kid` verifies the token.
    #[test]
    fn thumbprint_tokens_verify_with_the_published_key_set() {
        use jsonwebtoken::jwk::JwkSet;
        for alg in [KeyAlgorithm::Rs256, KeyAlgorithm::Es256] {
            let (_d, ring) = ring(alg);
            let set: JwkSet = serde_json::from_str(&ring.jwks(KidStyle::Thumbprint)).unwrap();
            let signer = Signer::new(
                ring,
                KidStyle::Thumbprint,
                "regauth-issuer".into(),
                Duration::from_secs(300),
                Duration::from_secs(10),
            )
            .unwrap();
            let at = UNIX_EPOCH + Duration::from_secs(NOW);
            let issued = signer.issue_at("alice", "registry.example.com", vec![], at, None);
            let token = issued.unwrap().token;
            let header = decode_header(&token).unwrap();
            assert!(header.x5c.is_none(), "{header:?}");
            let kid = header.kid.unwrap();
            assert_eq!(kid, signer.keyring().signing_key().jwk_thumbprint());
            let jwk = set.find(&kid).expect("the key set names the token's kid");
            let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            decode::<Claims>(&token, &key, &validation(jwt_algorithm(alg))).unwrap();
        }
    }
}
