//! Token signing: the keys of the key directory and the registry JWTs they sign.
//!
//! The key directory holds pairs `<stamp>.key` (PKCS#8, mode 0600) and `<stamp>.crt`
//! (a self-signed certificate for the same key). Stamps sort by creation time, so the
//! lexicographically last pair is the newest and signs; every certificate goes into the
//! bundle the registry trusts, so tokens signed by a key that was rotated out stay valid
//! until they expire. Operators may drop in their own pairs (any stem, RSA ≥ 2048 bits or
//! P-256, PKCS#8/PKCS#1/SEC1 PEM); they sort by name like the generated ones.
//!
//! All key generation and signing runs on aws-lc-rs, the same library that is rustls'
//! provider for the HTTPS listener (`crate::infra::tls`): one crypto stack in the binary,
//! and of the Rust stacks measured the one with the most RSA signatures per core, close
//! to openssl's (docs/performance.md). The formats around the keys (PEM via
//! rustls-pki-types; PKCS#8, PKCS#1 and X.509 via the RustCrypto format crates) are only
//! parsed here: those crates borrow the bytes and never sign.

mod algorithm;
mod error;
mod files;
mod generate;
mod jwks;
mod key_id;
mod key_ring;
mod pem;
mod private_key;
pub mod rotation;
mod signer;
#[cfg(test)]
mod test_support;
mod x509;

pub use algorithm::{KeyAlgorithm, UnknownAlgorithm};
pub use error::KeyError;
pub use generate::{generate, KeyFiles};
pub use jwks::{KidStyle, PublicFiles};
pub use key_ring::{KeyRing, RingKey};
pub use private_key::PrivateKey;
pub use signer::{Signer, TokenError};

pub(crate) use files::{
    create_dirs, create_private_file, tighten_or_warn, write_new, write_replace, PRIVATE_DIR,
    PRIVATE_FILE,
};
pub(crate) use generate::random_serial;
pub(crate) use pem::describe_pem_error;
