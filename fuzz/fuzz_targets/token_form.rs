//! The token endpoint's parameters (query string or OAuth2 form body), read the way
//! `infra::http::token` reads them, and the scopes in them.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use regauth::infra::front::form::Params;

fuzz_target!(|data: &[u8]| {
    let params = Params::parse(data);
    for key in [
        "grant_type",
        "service",
        "client_id",
        "account",
        "username",
        "password",
        "refresh_token",
        "access_type",
        "offline_token",
    ] {
        let v = params.get(key);
        assert!(v.is_none_or(|v| !v.is_empty()));
        assert_eq!(params.owned(key).as_deref(), v);
        // `get` is the first non-empty value, if the first value is non-empty.
        let all = params.all(key);
        match all.first() {
            Some(first) if !first.is_empty() => assert_eq!(v, Some(first.as_str())),
            _ => assert_eq!(v, None),
        }
    }
    let scopes = params.all("scope");
    let values: Vec<&str> = scopes.iter().map(String::as_str).collect();
    common::check_scope_params(&values);
});
