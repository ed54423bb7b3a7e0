//! The API's JSON bodies: read like every body here (`body::read`: bounded in size and
//! time) only once the caller is authenticated (a handler asks its admitted request,
//! `Authorized::json`, after its own checks), and decoded
//! so that an error names the field (`certified: invalid type: string "yes", expected
//! a boolean`), in the errcode format.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;

use crate::infra::front::errors::{ErrorCode, HttpError};
use crate::infra::front::AppState;

/// Reads and decodes an `application/json` body. The content type is checked before a
/// byte is read.
pub async fn read<T: DeserializeOwned>(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, HttpError> {
    if !is_json(req) {
        return Err(not_json());
    }
    decode(&body(state, req, payload).await?)
}

/// Like [`read`], but an empty body is `None` (a change that needs no fields still
/// declares `application/json`: `gate` refuses it otherwise); anything else must be
/// valid JSON.
pub async fn read_optional<T: DeserializeOwned>(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Option<T>, HttpError> {
    if !is_json(req) {
        return Err(not_json());
    }
    let body = body(state, req, payload).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    decode(&body).map(Some)
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn not_json() -> HttpError {
    HttpError::bad_request(ErrorCode::Unsupported, "expected an application/json body")
}

async fn body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::Bytes, HttpError> {
    let timeout = state.settings.server.body_timeout;
    crate::infra::front::body::read(req, payload, crate::infra::front::body::JSON_LIMIT, timeout)
        .await
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
