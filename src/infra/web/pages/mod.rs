//! The pages, one module per group: signing in and out, my access tokens, my docker
//! logins, my account, projects, a repository's tags and history, sharing settings,
//! access requests, the admins' user list, and signing in with an identity provider.

pub mod access;
pub mod account;
pub mod admin;
pub mod logins;
pub mod oidc;
pub mod projects;
pub mod repository;
pub mod sharing;
pub mod signin;
pub mod tokens;
pub mod trust_policies;

/// A query string (`path=syn1%2Ftool&tag=v1`) for links.
pub fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
