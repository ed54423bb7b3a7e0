//! The registry JWT: claims, header, signing.

/// Signs registry tokens with the newest key of the key directory.
pub struct Signer {}
