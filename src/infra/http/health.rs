//! `/healthz` (the process answers) and `/readyz` (it can serve tokens: the directory
//! answers and a signing key is loaded).

use actix_web::{web, HttpResponse};

use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    // A real indexed query: proves the file is open and the schema is in place.
    match web::block(move || st.directory.user_by_name("")).await {
        Ok(Ok(_)) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: directory failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("directory unavailable\n")
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("busy\n"),
    }
}
