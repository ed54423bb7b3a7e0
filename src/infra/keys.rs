//! Signing keys and certificates.
