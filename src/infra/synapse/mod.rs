//! A Synapse beside regauth (issue 13): credentials and permissions asked of its REST
//! API (`../shared/reference/synapse-rest-backend.md`). `client` speaks the endpoints
//! with the failure policy, `jwks` and `jwt` verify Synapse's tokens locally, `backend`
//! implements the ports `RemoteAuthentication` and `CallerFacts` with the caches.
//! Not yet selectable by configuration.
pub mod backend;
pub mod client;
pub mod jwks;
pub mod jwt;
