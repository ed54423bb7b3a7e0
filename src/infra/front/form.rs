//! The token endpoint's parameters: a query string (GET) or an OAuth2 form body (POST),
//! both `application/x-www-form-urlencoded`. The web pages read their forms and query
//! strings with the same `Params`, so both front doors parse one format one way; both read
//! a numeric id in a path (`/tokens/{id}`) with `path_number`.

use super::errors::{ErrorCode, HttpError};

/// Request parameters, in order, as sent (query string or form body). Repeated keys are
/// kept: containers/image sends one `scope` per scope.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text; never fails (malformed
    /// escapes decode as themselves, as browsers do).
    pub fn parse(raw: &[u8]) -> Params {
        Params(
            form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    /// The first non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
    pub fn owned(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_string)
    }
    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A numeric id named in a path (`{id}` of `/api/v1/me/tokens/{id}`); 400 otherwise,
/// saying which id (`what`: "token", "access request").
pub fn path_number(raw: &str, what: &str) -> Result<i64, HttpError> {
    raw.parse().map_err(|_| {
        HttpError::bad_request(
            ErrorCode::Unsupported,
            format!("{what} id must be a number"),
        )
    })
}
