//! The audit trail's records: every security-relevant event, who caused it, whom or what
//! it concerned, from where, and the details (before → after for changes). Never a
//! secret: tokens appear by id, passwords not at all.

use std::net::IpAddr;

use serde::Serialize;

use super::model::UnixTime;

/// One event of the trail. Identical records (same second, same everything) are one
/// row with a count: nothing tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AuditRecord {
    pub at: UnixTime,
    /// Who caused it: a user name, `operator` (the CLI at the server), or empty for an
    /// anonymous caller.
    pub actor: String,
    /// Whom or what it concerned: a user, an entity, a token id.
    pub subject: String,
    pub client_ip: Option<IpAddr>,
    pub event: AuditEvent,
}

/// What happened. Serialized as `{"kind": "...", ...details}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A registry token was issued (denied scopes listed with their reasons).
    TokenIssued {
        /// `password`, `access_token`, `refresh_token` or `anonymous`.
        credential: String,
        client_id: String,
        service: String,
        granted: Vec<String>,
        denied: Vec<String>,
    },
    /// A workload's OIDC token met a trust policy: which, and the claims that matched.
    WorkloadAdmitted {
        policy: i64,
        project: String,
        creator: String,
        claims: Vec<String>,
    },
    TrustPolicyAdded {
        policy: i64,
        issuer: String,
        /// No immutable id pinned: flagged, since names are reused.
        names_only: bool,
    },
    TrustPolicyRemoved {
        policy: i64,
    },
    /// A credential was refused (the reason is for operators; the caller heard the one
    /// message every failure gets).
    LoginFailed {
        credential: String,
        reason: String,
    },
    /// A login was refused without being checked: over a failed-login limit.
    RateLimited {
        credential: String,
    },
    RefreshTokenIssued {
        client_id: String,
        service: String,
    },
    /// Refresh tokens ended: revoked by an operator, or by a password change or
    /// disabling.
    RefreshTokensRevoked {
        count: usize,
        why: String,
    },
    AccessTokenCreated {
        token_id: i64,
        name: String,
        scopes: String,
        expires_at: Option<UnixTime>,
    },
    AccessTokenRevoked {
        token_id: i64,
    },
    AccessTokensRevoked {
        count: usize,
        why: String,
    },
    UserAdded {
        certified: bool,
        admin: bool,
    },
    /// A user's flags or password changed (`before` → `after`; the password only as
    /// "changed").
    UserChanged {
        before: String,
        after: String,
    },
    TeamAdded,
    TeamMemberAdded {
        user: String,
    },
    TeamMemberRemoved {
        user: String,
    },
    ProjectAdded {
        name: String,
        owner: String,
    },
    /// Sharing settings changed: the ACL that applied before and after.
    SharingChanged {
        before: String,
        after: String,
    },
    Trashed,
    Restored,
    ExternalRepositoryAdded {
        name: String,
    },
    ExternalRepositoryDeleted,
    /// A user asked for READ and DOWNLOAD on an entity.
    AccessRequested {
        request_id: i64,
    },
    /// A manager approved (granting READ and DOWNLOAD) or denied a request.
    AccessRequestDecided {
        request_id: i64,
        requester: String,
        approved: bool,
        reason: Option<String>,
    },
    /// A registry event (a manifest push or delete) was not applied: regauth never
    /// granted its actor that action on that repository around the event's time
    /// (`domain::events::authority`). The actor is the event's, as the registry (or
    /// whoever holds the webhook's secret) named it; the fields are stored as sent.
    RegistryEventRefused {
        event_id: String,
        /// `push` or `delete`.
        action: String,
        repository: String,
        tag: Option<String>,
        digest: Option<String>,
        /// The event's own timestamp.
        event_at: UnixTime,
        /// The reason code (`no_grant`, `grant_expired`, ...).
        why: String,
    },
    /// A person signed in with an OpenID Connect provider (the subject is the user).
    FederatedSignIn {
        provider: String,
        subject: String,
    },
    /// A provider's subject was linked to a local user: `how` is `created` (a new
    /// account) or `email` (an existing one, by its verified address).
    IdentityLinked {
        provider: String,
        subject: String,
        how: String,
    },
    /// A sign-in with a provider was refused (`reason` as
    /// `federation::people::Refusal::reason` says; the subject is the local account
    /// concerned, when there is one).
    FederatedSignInRefused {
        provider: String,
        subject: String,
        reason: String,
    },
}

impl AuditEvent {
    /// The event's kind, as stored and filtered on (`token_issued`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::TokenIssued { .. } => "token_issued",
            AuditEvent::LoginFailed { .. } => "login_failed",
            AuditEvent::WorkloadAdmitted { .. } => "workload_admitted",
            AuditEvent::TrustPolicyAdded { .. } => "trust_policy_added",
            AuditEvent::TrustPolicyRemoved { .. } => "trust_policy_removed",
            AuditEvent::RateLimited { .. } => "rate_limited",
            AuditEvent::RefreshTokenIssued { .. } => "refresh_token_issued",
            AuditEvent::RefreshTokensRevoked { .. } => "refresh_tokens_revoked",
            AuditEvent::AccessTokenCreated { .. } => "access_token_created",
            AuditEvent::AccessTokenRevoked { .. } => "access_token_revoked",
            AuditEvent::AccessTokensRevoked { .. } => "access_tokens_revoked",
            AuditEvent::UserAdded { .. } => "user_added",
            AuditEvent::UserChanged { .. } => "user_changed",
            AuditEvent::TeamAdded => "team_added",
            AuditEvent::TeamMemberAdded { .. } => "team_member_added",
            AuditEvent::TeamMemberRemoved { .. } => "team_member_removed",
            AuditEvent::ProjectAdded { .. } => "project_added",
            AuditEvent::SharingChanged { .. } => "sharing_changed",
            AuditEvent::Trashed => "trashed",
            AuditEvent::Restored => "restored",
            AuditEvent::ExternalRepositoryAdded { .. } => "external_repository_added",
            AuditEvent::ExternalRepositoryDeleted => "external_repository_deleted",
            AuditEvent::AccessRequested { .. } => "access_requested",
            AuditEvent::AccessRequestDecided { .. } => "access_request_decided",
            AuditEvent::RegistryEventRefused { .. } => "registry_event_refused",
            AuditEvent::FederatedSignIn { .. } => "federated_sign_in",
            AuditEvent::IdentityLinked { .. } => "identity_linked",
            AuditEvent::FederatedSignInRefused { .. } => "federated_sign_in_refused",
        }
    }

    /// Whether this is the record of a pull-only token (nothing but `pull` granted, at
    /// least one scope asked): the volume operators may switch off (`audit.pulls`).
    pub fn is_pull_only(&self) -> bool {
        match self {
            AuditEvent::TokenIssued {
                granted, denied, ..
            } => {
                let scopes = granted.len() + denied.len();
                scopes > 0
                    && granted.iter().all(|g| {
                        g.rsplit_once(':')
                            .is_some_and(|(_, actions)| actions == "pull")
                    })
                    && denied
                        .iter()
                        .all(|d| d.ends_with(":pull") || d.contains(":pull="))
            }
            _ => false,
        }
    }
}

/// Which records a query returns.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Records whose actor or subject is this user.
    pub user: Option<String>,
    pub since: Option<UnixTime>,
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(granted: &[&str], denied: &[&str]) -> AuditEvent {
        AuditEvent::TokenIssued {
            credential: "password".into(),
            client_id: "docker".into(),
            service: "registry".into(),
            granted: granted.iter().map(|s| s.to_string()).collect(),
            denied: denied.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn pull_only_tokens_are_recognised() {
        assert!(issued(&["repository:syn1/a:pull"], &[]).is_pull_only());
        assert!(issued(&[], &["syn1/a:pull=no_download_permission"]).is_pull_only());
        assert!(!issued(&["repository:syn1/a:pull,push"], &[]).is_pull_only());
        assert!(!issued(&[], &["syn1/a:push=not_certified"]).is_pull_only());
        assert!(
            !issued(&[], &[]).is_pull_only(),
            "a docker login is not a pull"
        );
        assert!(!AuditEvent::Trashed.is_pull_only());
    }

    #[test]
    fn records_serialize_with_their_kind() {
        let r = AuditRecord {
            at: 1,
            actor: "alice".into(),
            subject: "syn1/a".into(),
            client_ip: Some("192.0.2.1".parse().unwrap()),
            event: AuditEvent::Trashed,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["event"]["kind"], "trashed");
        assert_eq!(AuditEvent::Trashed.kind(), "trashed");
    }
}
