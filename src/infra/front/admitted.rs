//! What a request admitted by either front door offers its handler: use cases run on
//! the blocking pool with the permit the gate issued (`http::gate::Authorized`,
//! `web::gate::Page`). One definition, so both doors run a use case alike and differ
//! only in how a refusal is rendered (`Error`: errcode JSON or an HTML page).

use std::future::Future;

use actix_web::web;

use super::errors::HttpError;
use super::AppState;
use crate::app::operations::Operation;
use crate::app::permit::Permit;
use crate::app::{AppError, AppResult};
use crate::domain::model::UnixTime;
use crate::domain::ports::Directory;

/// A request admitted for operation `O`.
pub trait Admitted<O: Operation>: Sized {
    /// How this door renders a refusal.
    type Error: From<AppError> + From<HttpError>;

    /// The shared state and the permit the gate issued.
    fn parts(&self) -> (&web::Data<AppState>, &Permit<O>);

    /// Runs use case `f` on the blocking pool with the permit.
    fn run<T, F>(self, f: F) -> impl Future<Output = Result<T, Self::Error>>
    where
        F: FnOnce(&AppState, &Permit<O>) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (state, permit) = self.parts();
        let (state, permit) = (state.clone(), permit.clone());
        async move {
            web::block(move || f(&state, &permit))
                .await
                .map_err(|_| Self::Error::from(HttpError::internal()))?
                .map_err(Self::Error::from)
        }
    }

    /// [`run`](Self::run) for a use case that needs only the directory.
    fn read<T, F>(self, f: F) -> impl Future<Output = Result<T, Self::Error>>
    where
        F: FnOnce(&(dyn Directory + 'static), &Permit<O>) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |st, permit| f(st.directory.as_ref(), permit))
    }

    /// [`run`](Self::run) for a change to the directory, recorded at the clock's now.
    fn change<T, F>(self, f: F) -> impl Future<Output = Result<T, Self::Error>>
    where
        F: FnOnce(&(dyn Directory + 'static), &Permit<O>, UnixTime) -> AppResult<T>
            + Send
            + 'static,
        T: Send + 'static,
    {
        self.run(move |st, permit| f(st.directory.as_ref(), permit, st.clock.now()))
    }
}
