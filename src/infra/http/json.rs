//! `Json<T>`: the API's JSON bodies, read like every body here (`body::read`: bounded in
//! size and time) and decoded so that an error names the field (`certified: invalid
//! type: string "yes", expected a boolean`), in the errcode format.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::errors::{ErrorCode, HttpError};
use super::AppState;

/// A decoded `application/json` body.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Json<T>, HttpError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let payload = payload.map_err(|e| {
                HttpError::bad_request(ErrorCode::Unsupported, format!("request body: {e}"))
            })?;
            let is_json = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if !is_json {
                return Err(HttpError::bad_request(
                    ErrorCode::Unsupported,
                    "expected an application/json body",
                ));
            }
            let timeout = req
                .app_data::<web::Data<AppState>>()
                .map_or(std::time::Duration::from_secs(10), |s| {
                    s.settings.server.body_timeout
                });
            let body = super::body::read(&req, payload, super::body::JSON_LIMIT, timeout).await?;
            decode(&body).map(Json)
        })
    }
}

/// Decodes `body`, naming the field an error is about.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." {
            format!("JSON body: {inner}")
        } else {
            format!("{path}: {inner}")
        };
        HttpError::bad_request(ErrorCode::Unsupported, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Patch {
        certified: Option<bool>,
        entries: Option<Vec<Entry>>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Entry {
        access: Vec<String>,
    }

    fn message(body: &str) -> String {
        decode::<Patch>(body.as_bytes()).unwrap_err().message
    }

    #[test]
    fn errors_name_the_field() {
        assert!(message(r#"{"certified": "yes"}"#).starts_with("certified: invalid type"));
        assert!(message(r#"{"entries": [{"access": [1]}]}"#).starts_with("entries[0].access[0]:"));
        assert!(message(r#"{"colour": 1}"#).contains("colour"));
        assert!(message("not json").starts_with("JSON body:"));
        assert!(decode::<Patch>(br#"{"certified": true}"#).is_ok());
    }
}
