//! The tests of the whole configuration: loading files and the environment, the
//! shipped examples, keys named in refusals, secrets that never print, and the checks
//! across sections. Each range's own wording is tested with `Bounds`.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::*;
use crate::infra::crypto::KeyAlgorithm;

/// Loads a configuration file holding `text`.
fn load_text(text: &str) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regauth.toml");
    std::fs::write(&file, text).unwrap();
    Settings::load(Some(&file))
}

/// Loads a file with `[server] listen = "0.0.0.0:5001"` and this
/// `notifications_listen`.
fn with_notifications_listen(addr: &str) -> Result<Settings, ConfigError> {
    load_text(&format!(
        "[server]\nlisten = \"0.0.0.0:5001\"\nnotifications_listen = \"{addr}\"\n"
    ))
}

#[test]
fn defaults_are_valid() {
    assert!(Settings::default().validate().is_ok());
}

/// The documented example and the container's file load, and the example spells
/// out the defaults (it documents every key).
#[test]
fn the_deploy_files_load_and_the_example_matches_the_defaults() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = Settings::load(Some(&root.join("deploy/regauth.toml"))).unwrap();
    Settings::load(Some(&root.join("deploy/regauth-container.toml"))).unwrap();
    let d = Settings::default();
    assert_eq!(example.server.listen, d.server.listen);
    assert_eq!(example.server.body_timeout, d.server.body_timeout);
    assert_eq!(example.server.head_timeout, d.server.head_timeout);
    assert_eq!(example.server.max_connections, d.server.max_connections);
    assert_eq!(example.server.hsts_max_age, d.server.hsts_max_age);
    assert_eq!(example.auth.password_queue, d.auth.password_queue);
    assert_eq!(example.auth.password_queue_wait, d.auth.password_queue_wait);
    assert_eq!(
        example.auth.failed_logins_per_user_and_address,
        d.auth.failed_logins_per_user_and_address
    );
    assert_eq!(
        example.auth.failed_logins_per_address,
        d.auth.failed_logins_per_address
    );
    assert_eq!(example.audit.retention, d.audit.retention);
    assert_eq!(example.token.max_scopes, d.token.max_scopes);
    assert_eq!(example.token.ttl_seconds, d.token.ttl_seconds);
    assert_eq!(
        example.notifications.max_body_bytes,
        d.notifications.max_body_bytes
    );
    assert_eq!(example.directory.backend, d.directory.backend);
    let (es, ds) = (&example.synapse, &d.synapse);
    assert_eq!(es.registry_host, ds.registry_host);
    assert_eq!(
        (es.call_timeout, es.request_deadline, es.permission_ttl),
        (ds.call_timeout, ds.request_deadline, ds.permission_ttl)
    );
    assert_eq!(
        (
            es.calls_per_user,
            es.breaker_after,
            es.breaker_open,
            es.jwks_refetch
        ),
        (
            ds.calls_per_user,
            ds.breaker_after,
            ds.breaker_open,
            ds.jwks_refetch
        )
    );
    assert_eq!(
        (es.calls_in_flight, es.cache_entries),
        (ds.calls_in_flight, ds.cache_entries)
    );
}

#[test]
fn the_synapse_backend_needs_its_section() {
    match load_text("[directory]\nbackend = \"synapse\"\n") {
        Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "synapse.base_url"),
        other => panic!("{other:?}"),
    }
    assert!(load_text(
        "[directory]\nbackend = \"synapse\"\n[synapse]\nbase_url = \"https://repo-prod.prod.sagebase.org\"\n",
    )
    .unwrap()
    .directory
    .beside_synapse());
    let e = load_text("[directory]\nbackend = \"ldap\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("backend"), "{e}");
}

#[test]
fn notifications_listen_is_optional_and_must_be_a_second_address() {
    assert_eq!(
        with_notifications_listen("")
            .unwrap()
            .server
            .notifications_listen,
        None
    );
    assert_eq!(
        with_notifications_listen("0.0.0.0:5002")
            .unwrap()
            .server
            .notifications_listen,
        Some("0.0.0.0:5002".parse().unwrap())
    );
    for bad in ["5002", "regauth:5002"] {
        match with_notifications_listen(bad) {
            Err(e @ ConfigError::Load(_)) => {
                assert!(e.to_string().contains("notifications_listen"), "{bad}: {e}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    match with_notifications_listen("0.0.0.0:5001") {
        Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "server.notifications_listen"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn typed_values_name_their_key_and_secrets_never_print() {
    for (body, key) in [
        ("[token]\nalgorithm = \"HS256\"\n", "algorithm"),
        ("[log]\nformat = \"xml\"\n", "format"),
        ("[server]\nlisten = \"localhost\"\n", "listen"),
    ] {
        let e = load_text(body).unwrap_err().to_string();
        assert!(e.contains(key), "{body}: {e}");
    }
    let s = load_text(
        "[notifications]\nsecret = \"hush-hush\"\n[bootstrap]\nadmin_password = \"s3cret-pw\"\n[token]\nalgorithm = \"ES256\"\n",
    )
    .unwrap();
    assert_eq!(s.token.algorithm, KeyAlgorithm::Es256);
    assert_eq!(s.bootstrap_password(), Some("s3cret-pw"));
    let printed = format!("{s:?}");
    assert!(
        !printed.contains("hush-hush") && !printed.contains("s3cret-pw"),
        "{printed}"
    );
}

#[test]
fn tls_needs_both_the_certificate_and_the_key() {
    let with = |cert: Option<&str>, key: Option<&str>| {
        let mut s = Settings::default();
        s.server.tls_cert = cert.map(PathBuf::from);
        s.server.tls_key = key.map(PathBuf::from);
        (s.validate(), s.server.tls_files().is_some())
    };
    assert!(matches!(with(None, None), (Ok(()), false)));
    assert!(matches!(with(Some(""), Some("")), (Ok(()), false)));
    assert!(matches!(with(Some("c.pem"), Some("k.pem")), (Ok(()), true)));
    for (cert, key, missing) in [
        (Some("c.pem"), None, "server.tls_key"),
        (Some("c.pem"), Some(""), "server.tls_key"),
        (None, Some("k.pem"), "server.tls_cert"),
    ] {
        match with(cert, key).0 {
            Err(ConfigError::Invalid { key: k, message }) => {
                assert_eq!(k, "server.tls_cert");
                assert!(message.contains(missing), "{cert:?}/{key:?}: {message}");
            }
            other => panic!("{cert:?}/{key:?}: {other:?}"),
        }
    }
}

#[test]
fn a_file_with_only_tls_cert_is_refused_on_load() {
    match load_text("[server]\ntls_cert = \"/certs/server.crt\"\n") {
        Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "server.tls_cert"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_log_filter_names_its_key() {
    let mut s = Settings::default();
    s.log.level = "=[bad".into();
    match s.validate() {
        Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "log.level"),
        other => panic!("{other:?}"),
    }
    s.log.level = "warn,regauth=debug".into();
    assert!(s.validate().is_ok());
}

#[test]
fn a_public_webhook_needs_a_long_secret_that_no_example_shows() {
    let long = "0123456789abcdef0123456789abcdef";
    let public = Settings::default();
    let mut internal = Settings::default();
    internal.server.notifications_listen = Some("127.0.0.1:5002".parse().unwrap());
    let check = |s: &Settings, secret: &str| s.check_webhook_secret(&SecretString::from(secret));
    // Refused on the public listener: short, or a placeholder of the repository's own
    // examples (whatever its length), with one line naming the key and the way out.
    let mut refused: Vec<&str> = vec![
        "change-me",
        "CHANGE-ME",
        "notify-secret-for-tests",
        &long[1..],
    ];
    refused.extend_from_slice(PLACEHOLDER_SECRETS);
    for secret in refused {
        match check(&public, secret) {
            Err(
                e @ ConfigError::Invalid {
                    key: "notifications.secret",
                    ..
                },
            ) => {
                let line = e.to_string();
                assert_eq!(line.lines().count(), 1, "{line}");
                assert!(line.contains("server.notifications_listen"), "{line}");
                assert!(
                    !line.contains(secret),
                    "the secret is never printed: {line}"
                );
            }
            other => panic!("{secret:?}: {other:?}"),
        }
        // On an internal listener it is tolerated, with a warning.
        assert!(
            matches!(check(&internal, secret), Ok(Some(_))),
            "{secret:?}"
        );
    }
    // Long and not a placeholder: fine anywhere; empty (disabled): fine anywhere.
    for s in [&public, &internal] {
        assert!(matches!(check(s, long), Ok(None)));
        assert!(matches!(check(s, ""), Ok(None)));
    }
    // Every placeholder the shipped files and the README show is on the list.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "deploy/regauth.toml",
        "deploy/registry/config.yml",
        "docker-compose.yml",
        "docker-compose.ha.yml",
        "README.md",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for shown in shown_secrets(&text) {
            assert!(
                PLACEHOLDER_SECRETS.contains(&shown.as_str()),
                "{file} shows the secret {shown:?}, which is not in PLACEHOLDER_SECRETS"
            );
        }
    }
}

/// The literal secrets a file shows: `secret = "..."`, `NOTIFY_SECRET:-...}` and
/// `Bearer ...]` (variables and `<...>` stand-ins excluded).
fn shown_secrets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut candidates = Vec::new();
        if let Some(rest) = line.trim_start().strip_prefix("secret = \"") {
            candidates.push(rest.split('"').next().unwrap_or(""));
        }
        if let Some((_, rest)) = line.split_once("NOTIFY_SECRET:-") {
            candidates.push(rest.split('}').next().unwrap_or(""));
        }
        if let Some((_, rest)) = line.split_once("[Bearer ") {
            candidates.push(rest.split(']').next().unwrap_or(""));
        }
        for c in candidates {
            if !(c.is_empty() || c.starts_with('$') || c.starts_with('<')) {
                out.push(c.to_string());
            }
        }
    }
    out
}

#[test]
fn the_shipped_example_keeps_the_webhook_off_the_public_listener() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["deploy/regauth.toml", "deploy/regauth-container.toml"] {
        let s = Settings::load(Some(&root.join(file))).unwrap();
        assert!(s.server.notifications_listen.is_some(), "{file}");
        let secret = s.notification_secret().unwrap();
        assert!(s.check_webhook_secret(&secret).is_ok(), "{file}");
    }
}

#[test]
fn out_of_range_token_lifetime_names_its_key() {
    let mut s = Settings::default();
    s.token.ttl_seconds = 30;
    match s.validate() {
        Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "token.ttl_seconds"),
        other => panic!("{other:?}"),
    }
}

/// A file with the `[oidc]` tables `text`, its refusal as one `key: message` line.
fn oidc_refusal(text: &str) -> String {
    match load_text(text) {
        Err(ConfigError::Invalid { key, message }) => format!("{key}: {message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_oidc_section_is_empty_by_default_and_loads_with_its_defaults() {
    let d = Settings::default();
    assert!(d.oidc.issuers.is_empty() && d.oidc.providers.is_empty());
    let s = load_text(
        r#"
[[oidc.issuers]]
name = "github"
preset = "github-actions"

[[oidc.issuers]]
name = "cluster"
preset = "kubernetes"
issuer = "https://kubernetes.default.svc.cluster.local"
jwks_file = "/etc/regauth/cluster-jwks.json"
refetch_interval = "5m"
leeway = "30s"

[[oidc.providers]]
name = "keycloak"
issuer = "https://sso.example.org/realms/staff"
client_id = "regauth"
client_secret = "provider-s3cret"
groups_claim = "groups"
team_mapping = { "registry-admins" = "admins" }
"#,
    )
    .unwrap();
    let [github, cluster] = s.oidc.issuers.as_slice() else {
        panic!("{:?}", s.oidc.issuers)
    };
    assert_eq!(github.iss(), "https://token.actions.githubusercontent.com");
    assert_eq!(github.refetch_interval, std::time::Duration::from_secs(60));
    assert_eq!(github.leeway, std::time::Duration::from_secs(60));
    assert_eq!(cluster.preset, Preset::Kubernetes);
    assert_eq!(cluster.refetch_interval.as_secs(), 300);
    assert!(cluster.jwks_file.is_some() && cluster.jwks_url.is_none());
    let p = &s.oidc.providers[0];
    assert_eq!(p.scopes, ["openid", "email", "profile"]);
    assert_eq!(
        (p.username_claim.as_str(), p.email_claim.as_str()),
        ("preferred_username", "email")
    );
    assert_eq!(p.team_mapping["registry-admins"], "admins");
    assert!(!p.create_users);
    assert!(!format!("{s:?}").contains("provider-s3cret"));
}

#[test]
fn oidc_refusals_are_one_line_naming_the_entry() {
    let issuer = |name: &str, rest: &str| format!("[[oidc.issuers]]\nname = \"{name}\"\n{rest}\n");
    let cases = [
        (
            issuer("a", "issuer = \"https://a.example\"") + &issuer("a", "issuer = \"https://b.example\""),
            "oidc.issuers: \"a\": the name is used twice",
        ),
        (
            issuer("a", "issuer = \"https://a.example\"") + &issuer("b", "issuer = \"https://a.example\""),
            "configured twice",
        ),
        (issuer("a", "issuer = \"http://ci.example\""), "must be an https:// URL"),
        (issuer("a", "issuer = \"not a url\""), "is not a URL"),
        (issuer("a", "preset = \"kubernetes\""), "`issuer` is required"),
        (
            issuer(
                "a",
                "issuer = \"https://a.example\"\njwks_url = \"https://a.example/k\"\njwks_file = \"/k\"",
            ),
            "not both",
        ),
        (
            issuer("a", "issuer = \"https://a.example\"\njwks_url = \"https://u:p@a.example/k\""),
            "credentials",
        ),
        (issuer("A b", "issuer = \"https://a.example\""), "must be 1 to 64"),
        (
            issuer("a", "issuer = \"https://a.example\"\nrefetch_interval = \"2h\""),
            "refetch_interval must be",
        ),
        (
            "[[oidc.providers]]\nname = \"p\"\nissuer = \"https://sso.example\"\nclient_id = \"c\"\nclient_secret = \"\"\n".into(),
            "client_secret is required",
        ),
        (
            "[[oidc.providers]]\nname = \"p\"\nissuer = \"https://sso.example\"\nclient_id = \"c\"\nclient_secret = \"s\"\nscopes = [\"email\"]\n".into(),
            "must include \"openid\"",
        ),
        (
            "[[oidc.providers]]\nname = \"p\"\nissuer = \"https://sso.example\"\nclient_id = \"c\"\nclient_secret = \"s\"\nteam_mapping = { g = \"t\" }\n".into(),
            "team_mapping needs groups_claim",
        ),
    ];
    for (text, want) in cases {
        let got = oidc_refusal(&text);
        assert!(got.contains(want), "{text}\n=> {got}");
        assert!(!got.contains('\n'), "{got}");
    }
    // The loopback may serve over http (the tests' provider does).
    load_text(&issuer("local", "issuer = \"http://127.0.0.1:8080/realm\"")).unwrap();
}
