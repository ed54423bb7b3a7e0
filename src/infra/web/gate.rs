//! The web pages' front door: `Page<O>` (a signed-in page) and `Form<O>` (a signed-in
//! form), extractors that admit a request for operation `O` before the handler runs.
//!
//! A page needs a live session (else a redirect to the sign-in page) whose caller is
//! admitted for `O`'s declared needs (`app::permit`). A form is refused (403, nothing
//! done) when it comes from another origin or lacks its session's CSRF token, and only
//! then is the caller admitted; beside a Synapse, a change to what Synapse owns is a
//! 405 page. The handler gets the session, the permit and, for a form, its fields.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use maud::Markup;

use super::errors::WebError;
use super::{csrf, layout, read_form, visit, Visit};
use crate::app::operations::Operation;
use crate::app::permit::Permit;
use crate::app::Actor;
use crate::infra::front::admitted::Admitted;
use crate::infra::front::checks::{app_state, refuse_what_synapse_owns, same_origin};
use crate::infra::front::form::Params;
use crate::infra::front::AppState;

/// A signed-in page admitted for operation `O`.
pub struct Page<O: Operation> {
    pub visit: Visit,
    pub permit: Permit<O>,
    pub state: web::Data<AppState>,
}

/// A signed-in form admitted for operation `O`: same origin, CSRF token checked.
pub struct Form<O: Operation> {
    pub page: Page<O>,
    pub params: Params,
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, WebError>>>>;

impl<O: Operation> FromRequest for Page<O> {
    type Error = WebError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { admit(&req).await })
    }
}

impl<O: Operation> FromRequest for Form<O> {
    type Error = WebError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            same_origin(&req)?;
            let state = app_state(&req)?;
            let visit = visit(&state, &req).await?;
            let params =
                read_form(&state, &req, body.await.map_err(|_| WebError::internal())?).await?;
            if !csrf::matches(&visit.session.csrf, params.get(csrf::FIELD)) {
                tracing::warn!(user = %visit.user(), path = req.path(), "web form refused: CSRF token missing or wrong");
                return Err(WebError::csrf());
            }
            let page = admitted(visit, state)?;
            Ok(Form { page, params })
        })
    }
}

async fn admit<O: Operation>(req: &HttpRequest) -> Result<Page<O>, WebError> {
    let state = app_state(req)?;
    let visit = visit(&state, req).await?;
    admitted(visit, state)
}

fn admitted<O: Operation>(visit: Visit, state: web::Data<AppState>) -> Result<Page<O>, WebError> {
    let permit = Permit::<O>::admit(&Actor::Caller(visit.caller.clone()))?;
    refuse_what_synapse_owns::<O>(&state)?;
    Ok(Page {
        visit,
        permit,
        state,
    })
}

impl<O: Operation> Admitted<O> for &Page<O> {
    type Error = WebError;

    fn parts(&self) -> (&web::Data<AppState>, &Permit<O>) {
        (&self.state, &self.permit)
    }
}

impl<O: Operation> Page<O> {
    /// This page (`200 OK`): `body` in the shell with its title and the navigation.
    pub fn show(&self, title: &str, body: Markup) -> HttpResponse {
        layout::ok(layout::page(Some(&self.visit.nav()), title, body))
    }
}
