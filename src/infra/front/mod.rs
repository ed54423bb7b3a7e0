//! What both front doors share, below them: the HTTP API (`infra::http`) and the web
//! pages (`infra::web`) each import this room and `app`, never each other.
//!
//! `state` is what every handler shares (built by `infra::startup`), `server` binds the
//! listeners and mounts the route table handed down to it, `errors` renders refusals in
//! the errcode format (the pages wrap it in HTML), `errcode_stream` and `head_limit`
//! give the HTTP library's own refusals that format too, `body` and `form` read bounded
//! bodies, `client_ip` names the client, `checks` holds what both gates check before
//! admitting a request, and `admitted` how an admitted request runs its use case.

pub mod admitted;
pub mod body;
pub mod checks;
pub mod client_ip;
pub mod errcode_stream;
pub mod errors;
pub mod form;
pub mod head_limit;
pub mod server;
pub mod state;

pub use state::AppState;
