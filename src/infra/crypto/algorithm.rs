//! `KeyAlgorithm`: the two JWS algorithms regauth signs with, RS256 and ES256.

use std::fmt;
use std::str::FromStr;

/// The JWT signature algorithms we sign with: what `token.algorithm`, the CLI's
/// `--algorithm` and a key file's type all name.
///
/// Configuration and the CLI spell them as JWS does (`RS256`, `ES256`); `FromStr` also
/// takes lower case, as it always has, for hand-typed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, clap::ValueEnum)]
pub enum KeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA keys of at least 2048 bits).
    #[serde(rename = "RS256")]
    #[value(name = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256, signature as raw `r || s`.
    #[serde(rename = "ES256")]
    #[value(name = "ES256")]
    Es256,
}

impl KeyAlgorithm {
    /// The JWS `alg` name, as it goes into a token header.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rs256 => "RS256",
            KeyAlgorithm::Es256 => "ES256",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key algorithm {0:?} (expected RS256 or ES256)")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for KeyAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("RS256") {
            Ok(KeyAlgorithm::Rs256)
        } else if s.eq_ignore_ascii_case("ES256") {
            Ok(KeyAlgorithm::Es256)
        } else {
            Err(UnknownAlgorithm(s.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::test_support::jwt_algorithm;
    use clap::Parser;

    #[test]
    fn algorithm_parses_case_insensitively_and_rejects_others() {
        assert_eq!("RS256".parse(), Ok(KeyAlgorithm::Rs256));
        assert_eq!("es256".parse(), Ok(KeyAlgorithm::Es256));
        assert!("HS256".parse::<KeyAlgorithm>().is_err());
        assert!("".parse::<KeyAlgorithm>().is_err());
        assert_eq!(KeyAlgorithm::Es256.to_string(), "ES256");
        assert_eq!(
            jwt_algorithm(KeyAlgorithm::Rs256),
            jsonwebtoken::Algorithm::RS256
        );
        assert_eq!(
            jwt_algorithm(KeyAlgorithm::Es256),
            jsonwebtoken::Algorithm::ES256
        );
    }

    #[test]
    fn deserializes_exactly_the_jws_names() {
        let parse = |s: &str| serde_json::from_str::<KeyAlgorithm>(s);
        assert_eq!(parse(r#""RS256""#).unwrap(), KeyAlgorithm::Rs256);
        assert_eq!(parse(r#""ES256""#).unwrap(), KeyAlgorithm::Es256);
        for bad in [r#""rs256""#, r#""Es256""#, r#""HS256""#, r#""Rs256""#, "1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[derive(Debug, Parser)]
    struct Args {
        #[arg(long)]
        algorithm: KeyAlgorithm,
    }

    #[test]
    fn is_a_typed_clap_value() {
        let parse = |v: &str| Args::try_parse_from(["t", "--algorithm", v]).map(|a| a.algorithm);
        assert_eq!(parse("RS256").unwrap(), KeyAlgorithm::Rs256);
        assert_eq!(parse("ES256").unwrap(), KeyAlgorithm::Es256);
        let err = parse("HS256").unwrap_err().to_string();
        assert!(err.contains("RS256") && err.contains("ES256"), "{err}");
    }
}
