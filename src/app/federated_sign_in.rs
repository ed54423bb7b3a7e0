//! A person signs in with an OpenID Connect provider: from the verified ID token's
//! claims, the account they sign in as (linked, linked now by a verified e-mail, or
//! created), its team memberships brought in line with the provider's groups, and the
//! audit records of each. The rules are `domain::federation::people`'s; this gathers
//! the facts and writes the outcome. The caller (the web front door) starts the session.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::federation::people::{
    decide, email_of, team_changes, user_name_of, Decision, Facts, Person, ProviderRules, Refusal,
};
use crate::domain::model::{NewUser, Principal, PrincipalRef, UnixTime, User};
use crate::domain::ports::{
    AuditLog, CredentialStore, DirectoryError, EntityAdmin, FederatedIdentities, FederatedIdentity,
    Pace, TeamAdmin, UserAdmin,
};

/// Why a sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// A rule refused it (audited); the message is for the person signing in.
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("the directory failed: {0}")]
    Directory(#[from] DirectoryError),
}

/// One sign-in as the front door hands it over.
pub struct SignIn<'a> {
    pub rules: ProviderRules<'a>,
    pub person: Person,
    pub client_ip: Option<IpAddr>,
    pub now: UnixTime,
}

/// Everything a sign-in reads and writes.
pub trait SignInStore:
    FederatedIdentities + UserAdmin + TeamAdmin + EntityAdmin + CredentialStore + AuditLog
{
}
impl<T> SignInStore for T where
    T: FederatedIdentities
        + UserAdmin
        + TeamAdmin
        + EntityAdmin
        + CredentialStore
        + AuditLog
        + ?Sized
{
}

/// Signs `request.person` in: returns the user to start a session for.
pub fn sign_in<S: SignInStore + ?Sized>(
    store: &S,
    request: SignIn<'_>,
) -> Result<User, SignInError> {
    let SignIn {
        rules,
        person,
        client_ip,
        now,
    } = request;
    let audit = Auditor {
        store,
        provider: rules.name,
        subject: &person.subject,
        client_ip,
        now,
    };
    let facts = gather(store, &rules, &person)?;
    let concerned = facts
        .linked
        .as_ref()
        .or(facts.same_email.as_ref())
        .map(|u| u.name.clone());
    let decision = match decide(&rules, &person, facts) {
        Ok(d) => d,
        Err(refusal) => {
            audit.refused(concerned.as_deref(), &refusal);
            return Err(refusal.into());
        }
    };
    let user = match decision {
        Decision::SignIn(user) => user,
        Decision::Link(user) => {
            link(store, &rules, &person, &user, now)?;
            audit.linked(&user.name, "email");
            user
        }
        Decision::Create { name, email } => {
            let new = NewUser {
                name,
                password_hash: None,
                certified: false,
                admin: false,
                email,
            };
            let user = store.add_user(&new, now).map_err(|e| match e {
                DirectoryError::Conflict(_) => SignInError::Refused(Refusal::NameTaken {
                    name: new.name.as_str().to_owned(),
                }),
                e => e.into(),
            })?;
            audit.write(
                &user.name,
                AuditEvent::UserAdded {
                    certified: false,
                    admin: false,
                },
            );
            link(store, &rules, &person, &user, now)?;
            audit.linked(&user.name, "created");
            user
        }
    };
    sync_teams(store, &rules, &person, &user, &audit)?;
    audit.write(
        &user.name,
        AuditEvent::FederatedSignIn {
            provider: rules.name.to_owned(),
            subject: person.subject.clone(),
        },
    );
    Ok(user)
}

/// The facts `decide` needs, read now.
fn gather<S: SignInStore + ?Sized>(
    store: &S,
    rules: &ProviderRules<'_>,
    person: &Person,
) -> Result<Facts, DirectoryError> {
    let linked = store.identity_user(rules.name, &person.subject)?;
    if linked.is_some() {
        return Ok(Facts {
            linked,
            ..Facts::default()
        });
    }
    let same_email = match email_of(rules, person) {
        Some(email) => store
            .user_credentials(email.as_str(), Pace::MayBlock)?
            .map(|c| c.user)
            // The login found it by name, not by address: not the same address.
            .filter(|u| u.email.as_deref() == Some(email.as_str())),
        None => None,
    };
    let same_email_linked_here = match &same_email {
        Some(user) => store
            .identities_of(user.id)?
            .iter()
            .any(|i| i.provider == rules.name),
        None => false,
    };
    let name_taken = match user_name_of(rules, person) {
        Ok(name) => store.user_by_name(name.as_str())?.is_some(),
        Err(_) => false,
    };
    Ok(Facts {
        linked: None,
        same_email,
        same_email_linked_here,
        name_taken,
    })
}

fn link<S: SignInStore + ?Sized>(
    store: &S,
    rules: &ProviderRules<'_>,
    person: &Person,
    user: &User,
    now: UnixTime,
) -> Result<(), DirectoryError> {
    store.link_identity(&FederatedIdentity {
        provider: rules.name.to_owned(),
        subject: person.subject.clone(),
        user: user.id,
        linked_at: now,
    })
}

/// Joins and leaves the mapped teams as the groups say. A mapped team that does not
/// exist is skipped (logged): the operator names teams in the configuration, and a
/// typo there must not lock everyone out.
fn sync_teams<S: SignInStore + ?Sized>(
    store: &S,
    rules: &ProviderRules<'_>,
    person: &Person,
    user: &User,
    audit: &Auditor<'_, S>,
) -> Result<(), DirectoryError> {
    if rules.team_mapping.is_empty() {
        return Ok(());
    }
    let member_of: BTreeSet<_> = store
        .teams_of(user.id, Pace::MayBlock)?
        .into_iter()
        .collect();
    let mut current = BTreeSet::new();
    let mut known = BTreeSet::new();
    for team in rules.team_mapping.values() {
        match store.resolve_principal(&PrincipalRef::Team(team.clone())) {
            Ok(Principal::Team(id)) => {
                known.insert(team.clone());
                if member_of.contains(&id) {
                    current.insert(team.clone());
                }
            }
            Ok(_) | Err(DirectoryError::NotFound(_)) => {
                tracing::warn!(provider = rules.name, team, "a mapped team does not exist");
            }
            Err(e) => return Err(e),
        }
    }
    let changes = team_changes(rules.team_mapping, &person.groups, &current);
    for team in changes.add.iter().filter(|t| known.contains(*t)) {
        store.add_team_member(team, &user.name)?;
        let event = AuditEvent::TeamMemberAdded {
            user: user.name.clone(),
        };
        audit.write(&format!("team:{team}"), event);
    }
    for team in &changes.remove {
        store.remove_team_member(team, &user.name)?;
        let event = AuditEvent::TeamMemberRemoved {
            user: user.name.clone(),
        };
        audit.write(&format!("team:{team}"), event);
    }
    Ok(())
}

/// Writes a sign-in's records, as the provider (`oidc:<name>`) acting.
struct Auditor<'a, S: ?Sized> {
    store: &'a S,
    provider: &'a str,
    subject: &'a str,
    client_ip: Option<IpAddr>,
    now: UnixTime,
}

impl<S: AuditLog + ?Sized> Auditor<'_, S> {
    fn write(&self, subject: &str, event: AuditEvent) {
        let record = AuditRecord {
            at: self.now,
            actor: format!("oidc:{}", self.provider),
            subject: subject.to_owned(),
            client_ip: self.client_ip,
            event,
        };
        if let Err(e) = self.store.append(std::slice::from_ref(&record)) {
            tracing::error!(error = %e, kind = record.event.kind(), "audit record not written");
        }
    }

    fn linked(&self, user: &str, how: &str) {
        let event = AuditEvent::IdentityLinked {
            provider: self.provider.to_owned(),
            subject: self.subject.to_owned(),
            how: how.to_owned(),
        };
        self.write(user, event);
    }

    /// The local account concerned is the record's subject when there is one, so an
    /// account's history shows the attempts on it.
    fn refused(&self, user: Option<&str>, refusal: &Refusal) {
        let event = AuditEvent::FederatedSignInRefused {
            provider: self.provider.to_owned(),
            subject: self.subject.to_owned(),
            reason: refusal.reason().to_owned(),
        };
        let subject = user.map_or_else(|| format!("oidc:{}", self.provider), str::to_owned);
        self.write(&subject, event);
    }
}
