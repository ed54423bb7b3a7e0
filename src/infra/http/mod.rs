//! The HTTP front door: the token endpoint, the registry's notifications, the JSON API
//! and the probes (health, readiness, metrics), on actix-web.
//!
//! Handlers parse the wire format, call a use case of `app` on the blocking pool and
//! render its answer (errcode JSON for every error); they hold no rules of their own.
//! Here, `gate` admits a request for its operation before the handler runs, `auth`
//! turns an `Authorization` header into a caller, `json` reads a bounded JSON body;
//! what this door shares with the pages (the state, the server, errcode errors, body
//! and form reading, the origin check) is `infra::front`, below both doors. The one
//! table of every route and the operation it runs is `infra::routes`, above them.

pub mod access_requests;
pub mod admin;
pub mod api;
pub mod auth;
pub mod error_body;
pub mod gate;
pub mod health;
pub mod json;
pub mod jwks;
pub mod me;
pub mod notifications;
pub mod openapi;
pub mod sharing;
pub mod token;
pub mod token_outcome;
pub mod trust_policies;

/// The client's address, for `auth` (which names it from here).
use crate::infra::front::client_ip;
