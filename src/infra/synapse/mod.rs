//! A Synapse beside regauth (issue 13): credentials and permissions asked of its REST
//! API (`../shared/reference/synapse-rest-backend.md`). `client` speaks the endpoints
//! with the failure policy, `jwks` and `jwt` verify Synapse's tokens locally, `backend`
//! implements the ports `RemoteAuthentication` and `CallerFacts` with the caches.
//! `ledger` is what is left of regauth's own directory in this mode, `options` the
//! backend's options from the `[synapse]` section (`config::synapse`); the registry's
//! notifications go on to Synapse through `infra::forwarder`. Selected by
//! `directory.backend = "synapse"`.
pub mod backend;
pub mod client;
pub mod jwks;
pub mod jwt;
pub mod ledger;
pub mod options;
