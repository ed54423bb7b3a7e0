//! `/healthz` (the process answers) and `/readyz` (it can serve tokens: the directory
//! answers, a signing key is loaded and, beside a Synapse, Synapse answers).

use actix_web::{web, HttpResponse};

use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    // A real indexed query: proves the file is open and the schema is in place; then
    // Synapse's discovery document (cached a day once read).
    let answered = web::block(move || {
        st.directory.user_by_name("")?;
        let synapse_up = st.synapse.as_ref().is_none_or(|s| s.backend.reachable());
        Ok::<_, crate::domain::ports::DirectoryError>(synapse_up)
    })
    .await;
    match answered {
        Ok(Ok(true)) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Ok(Ok(false)) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .insert_header(("Retry-After", "2"))
            .body("synapse unreachable\n"),
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
