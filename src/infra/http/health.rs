//! `/healthz` (the process answers), `/readyz` (it can serve tokens: the directory
//! answers, a signing key is loaded and, beside a Synapse, Synapse answers) and
//! `/metrics`.

use actix_web::{web, HttpResponse};

use crate::infra::front::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    // A real indexed query: proves the file is open and the schema is in place; then
    // Synapse's discovery document (cached a day once read).
    let answered = web::block(move || {
        st.directory.user_by_name("")?;
        let synapse_up = st.upstream.as_ref().is_none_or(|u| (u.reachable)());
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

/// `GET /metrics`: the numbers the use cases expose sampled now, then every series in
/// text format (`infra::metrics`); 404 when no recorder was installed.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let Some(handle) = &state.metrics else {
        return HttpResponse::NotFound().finish();
    };
    let auth = state.tokens.authenticator();
    let pool = auth.gate().stats();
    let counts = crate::infra::metrics::AppCounts {
        running: pool.running,
        waiting: pool.waiting,
        auth: auth.tally(),
        grant_writes: state.tokens.grant_writes(),
        signing_key: Some((&state.signing_key.0, state.signing_key.1)),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::infra::metrics::render(handle, &counts))
}
