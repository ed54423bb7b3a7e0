//! `GET /.well-known/jwks.json`: the public halves of every signing key in the bundle, as
//! a JSON Web Key Set, named by the `kid` tokens carry (`keys.kid`).

use actix_web::{web, HttpResponse};

use crate::infra::front::AppState;

/// Keys change only when regauth restarts after a rotation, and a rotated-out key stays
/// listed until it is retired, so a verifier's five-minute-old copy still verifies every
/// token it is shown.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.jwks.clone())
}
