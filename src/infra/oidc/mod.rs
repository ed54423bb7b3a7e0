//! OpenID Connect for workloads: verifying the short-lived tokens CI jobs (GitHub
//! Actions, GitLab CI) and Kubernetes service accounts carry, for the issuers the
//! `[oidc]` section names and no others. `Verifier` implements
//! `domain::ports::OidcVerifier`; what a verified token may do is the trust policies'
//! business, not this module's.
//!
//! Keys come from each issuer's discovery document (or a configured URL or file), are
//! cached per issuer and refetched at a bounded rate; the rules follow RFC 8725 (the
//! algorithm pinned per key, no `none`, no HMAC, no key named by the token).
//!
//! `CodeFlow` signs people in with the `[[oidc.providers]]` (authorization code with
//! PKCE, state and nonce), its ID tokens checked by a `Verifier` of the providers'
//! issuers plus the audience, `azp` and nonce checks that flow needs.

mod code_flow;
mod discovery;
mod jwk;
mod key_set;
mod verifier;

pub use code_flow::{check_audience, CodeFlow, FlowError, FlowSetupError, Pending, Started};
pub use discovery::{max_age, MAX_BODY_BYTES};
pub use jwk::{JwksError, KeySet};
pub use key_set::{plan_for, ttl, KeySource, Plan, DEFAULT_TTL, MAX_TTL, MIN_TTL};
pub use verifier::{flatten, IssuerOptions, SetupError, Verifier};

#[cfg(test)]
mod tests;
