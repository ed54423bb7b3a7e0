//! The `[oidc]` section: the OpenID Connect issuers whose workload tokens (CI jobs,
//! Kubernetes service accounts) regauth verifies, and the providers people sign in
//! with. Empty by default: nothing is trusted until it is configured. Plain values:
//! `infra::oidc` turns the issuers into its verifier; the people's flow reads the
//! providers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::bounds::Bounds;
use super::error::ConfigError;

/// GitHub Actions' issuer on github.com (GitHub Enterprise Server has its own).
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// GitLab.com's issuer (a self-managed GitLab's is its own URL).
pub const GITLAB_COM_ISSUER: &str = "https://gitlab.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    /// Issuers trusted for workload tokens (`[[oidc.issuers]]`).
    pub issuers: Vec<IssuerSettings>,
    /// Providers people sign in with (`[[oidc.providers]]`).
    pub providers: Vec<ProviderSettings>,
    /// Longest one discovery or key-set fetch may take (connect included): a slow
    /// provider then costs a token request this much at most, never a hung worker.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
}

impl Default for OidcSettings {
    fn default() -> Self {
        OidcSettings {
            issuers: Vec::new(),
            providers: Vec::new(),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// What kind of issuer this is. A preset only documents and defaults: GitHub Actions'
/// and GitLab.com's issuer URLs; the token's checks are the same for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    GithubActions,
    GitlabCi,
    Kubernetes,
    #[default]
    Generic,
}

impl Preset {
    /// The issuer a preset stands for when `issuer` is left out; `None`: it must be given.
    pub fn default_issuer(self) -> Option<&'static str> {
        match self {
            Preset::GithubActions => Some(GITHUB_ACTIONS_ISSUER),
            Preset::GitlabCi => Some(GITLAB_COM_ISSUER),
            Preset::Kubernetes | Preset::Generic => None,
        }
    }
}

/// One `[[oidc.issuers]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    /// Unique; what trust policies and logs call the issuer.
    pub name: String,
    /// The exact `iss` of its tokens (and of its discovery document). Empty: the
    /// preset's (see `iss`).
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub preset: Preset,
    /// The key set's URL, instead of discovery (a cluster serving it elsewhere).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The key set read from a file, instead of discovery (a cluster whose keys are
    /// reachable only inside it: `kubectl get --raw /openid/v1/jwks > file`).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// The least time between two fetches of the key set (an unknown `kid`, a failed
    /// fetch): a storm of forged key ids costs the provider one request per interval.
    #[serde(default = "default_refetch", with = "humantime_serde")]
    pub refetch_interval: Duration,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    #[serde(default = "default_leeway", with = "humantime_serde")]
    pub leeway: Duration,
}

fn default_refetch() -> Duration {
    Duration::from_secs(60)
}

fn default_leeway() -> Duration {
    Duration::from_secs(60)
}

impl IssuerSettings {
    /// The `iss` its tokens carry: `issuer`, else the preset's default.
    pub fn iss(&self) -> &str {
        match (self.issuer.as_str(), self.preset.default_issuer()) {
            ("", Some(default)) => default,
            (issuer, _) => issuer,
        }
    }
}

impl OidcSettings {
    /// The configured workload issuers' `iss` values: what a trust policy may name.
    pub fn workload_issuers(&self) -> Vec<String> {
        self.issuers.iter().map(|i| i.iss().to_string()).collect()
    }

    /// What a policy's issuer field means: a configured issuer's name stands for its
    /// `iss`; anything else is taken as given (and refused unless it is configured).
    pub fn issuer_named(&self, given: &str) -> String {
        self.issuers
            .iter()
            .find(|i| i.name == given)
            .map_or_else(|| given.to_string(), |i| i.iss().to_string())
    }
}

/// One `[[oidc.providers]]` entry: an identity provider people sign in with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Unique; shown on the sign-in page ("Sign in with <name>") and in its URL.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// Never printed (Debug shows it redacted).
    pub client_secret: SecretString,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    #[serde(default = "default_email_claim")]
    pub email_claim: String,
    /// The claim listing the user's groups, when team memberships follow them.
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// Group → team: the only teams a sign-in adds the user to or removes them from.
    #[serde(default)]
    pub team_mapping: BTreeMap<String, String>,
    /// Whether a first sign-in creates the user; otherwise the account must exist.
    #[serde(default)]
    pub create_users: bool,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

fn default_username_claim() -> String {
    "preferred_username".into()
}

fn default_email_claim() -> String {
    "email".into()
}

const FETCH_TIMEOUT: Bounds<Duration> = Bounds::timeout(Duration::from_secs(30));
const REFETCH_INTERVAL: Bounds<Duration> =
    Bounds::new(Duration::from_secs(1), Duration::from_secs(3600));
const LEEWAY: Bounds<Duration> = Bounds::at_most(Duration::from_secs(300));

impl OidcSettings {
    /// Refuses, in one line naming the entry, what would make a token's origin
    /// ambiguous or its keys unreachable: duplicate names or issuers, a URL that is
    /// not https (http only on the loopback, for tests), two key sources at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        FETCH_TIMEOUT.check("oidc.fetch_timeout", self.fetch_timeout)?;
        let mut names = BTreeSet::new();
        let mut issuers = BTreeSet::new();
        for i in &self.issuers {
            let bad =
                |m: String| ConfigError::invalid("oidc.issuers", format!("{:?}: {m}", i.name));
            check_name(&i.name).map_err(|m| ConfigError::invalid("oidc.issuers", m))?;
            if !names.insert(i.name.as_str()) {
                return Err(bad("the name is used twice".into()));
            }
            if i.iss().is_empty() {
                return Err(bad("`issuer` is required with this preset".into()));
            }
            check_url(i.iss()).map_err(|m| bad(format!("issuer {m}")))?;
            if !issuers.insert(i.iss()) {
                return Err(bad(format!("issuer {} is configured twice", i.iss())));
            }
            match (&i.jwks_url, &i.jwks_file) {
                (Some(_), Some(_)) => {
                    return Err(bad("give jwks_url or jwks_file, not both".into()));
                }
                (Some(url), None) => check_url(url).map_err(|m| bad(format!("jwks_url {m}")))?,
                (None, Some(file)) if file.as_os_str().is_empty() => {
                    return Err(bad("jwks_file is empty".into()));
                }
                _ => {}
            }
            REFETCH_INTERVAL
                .check_in("oidc.issuers", "refetch_interval", i.refetch_interval)
                .map_err(|e| bad(e.to_string()))?;
            LEEWAY
                .check_in("oidc.issuers", "leeway", i.leeway)
                .map_err(|e| bad(e.to_string()))?;
        }
        let mut names = BTreeSet::new();
        for p in &self.providers {
            let bad =
                |m: String| ConfigError::invalid("oidc.providers", format!("{:?}: {m}", p.name));
            check_name(&p.name).map_err(|m| ConfigError::invalid("oidc.providers", m))?;
            if !names.insert(p.name.as_str()) {
                return Err(bad("the name is used twice".into()));
            }
            check_url(&p.issuer).map_err(|m| bad(format!("issuer {m}")))?;
            if p.client_id.trim().is_empty() {
                return Err(bad("client_id is required".into()));
            }
            if p.client_secret.expose_secret().is_empty() {
                return Err(bad("client_secret is required".into()));
            }
            if !p.scopes.iter().any(|s| s == "openid") {
                return Err(bad("scopes must include \"openid\"".into()));
            }
            if p.username_claim.is_empty() || p.email_claim.is_empty() {
                return Err(bad(
                    "username_claim and email_claim must not be empty".into()
                ));
            }
            if !p.team_mapping.is_empty() && p.groups_claim.as_deref().is_none_or(str::is_empty) {
                return Err(bad("team_mapping needs groups_claim".into()));
            }
        }
        Ok(())
    }
}

/// A name fit for URLs and logs: 1 to 64 of `a-z 0-9 - _`.
fn check_name(name: &str) -> Result<(), String> {
    let fits = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if name.is_empty() || name.len() > 64 || !name.chars().all(fits) {
        return Err(format!(
            "name {name:?} must be 1 to 64 of a-z, 0-9, '-' and '_'"
        ));
    }
    Ok(())
}

/// An https URL without credentials, query or fragment; http only on the loopback
/// (`127.0.0.1`, `localhost`, `[::1]`), where tests run their provider. The refusal
/// completes "issuer …".
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let loopback = matches!(
        parsed.host_str(),
        Some("127.0.0.1") | Some("localhost") | Some("[::1]")
    );
    let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
    if !scheme_ok || parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "{url:?} must be an https:// URL (http:// only on 127.0.0.1 or localhost)"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{url:?} must not hold credentials"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("{url:?} must have no query or fragment"));
    }
    Ok(())
}
