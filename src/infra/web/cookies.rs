//! The two cookies of the web pages, read from the `Cookie` header and written as
//! `Set-Cookie` lines: `HttpOnly`, `SameSite=Strict`, `Path=/ui`, and `Secure` when the
//! public listener speaks HTTPS. Their values are base64url, so nothing needs quoting.

use actix_web::http::header;
use actix_web::HttpRequest;

/// The session cookie's name.
pub const SESSION: &str = "regauth_session";

/// The value of cookie `name` in the request (the first, if the browser sent several).
pub fn get<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value; `max_age` in seconds, `None` for a browser-session cookie.
pub fn set(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut line = format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict");
    if let Some(secs) = max_age {
        line.push_str(&format!("; Max-Age={secs}"));
    }
    if secure {
        line.push_str("; Secure");
    }
    line
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", Some(0), secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let req = TestRequest::default()
            .insert_header((
                header::COOKIE,
                "a=1; regauth_session=abc; x_regauth_session=no",
            ))
            .to_http_request();
        assert_eq!(get(&req, SESSION), Some("abc"));
        assert_eq!(get(&req, "a"), Some("1"));
        assert_eq!(get(&req, "session"), None);
        let none = TestRequest::default().to_http_request();
        assert_eq!(get(&none, SESSION), None);
    }

    #[test]
    fn cookies_are_written_strict() {
        assert_eq!(
            set(SESSION, "v", None, false),
            "regauth_session=v; Path=/ui; HttpOnly; SameSite=Strict"
        );
        assert_eq!(
            set(SESSION, "v", Some(60), true),
            "regauth_session=v; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(clear(SESSION, false).contains("Max-Age=0"));
    }
}
