//! What an operation needs from its caller, declared once as data, and the one check of
//! it (`admit`) that runs before any use case body.
//!
//! Every operation the HTTP API, the web pages or the CLI can run carries a `Needs`
//! (`app::operations`). A use case receives a proof that `admit` passed for its own
//! operation (`app::permit::Permit`), so a new operation cannot forget the role or the
//! credential's scopes; the entity access it checks is taken from the same declaration.
//! The order is fixed: no caller where one is needed is a 401, then the role, then the
//! scopes (both 403): an admin's pull token is refused an admin change, whatever role
//! stands behind it.

use super::caller::Caller;
use crate::domain::model::{AccessSet, ScopeSet};

/// Who may run an operation at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Nobody is asked for anything: the probes and the sign-in page.
    Public,
    /// The credential is the protocol's own, checked by the operation itself: the
    /// registry token spec's (anonymous, Basic, refresh token) or the webhook's shared
    /// secret. Nothing of the API's credentials applies.
    Protocol(Protocol),
    /// Anyone, anonymous too (an anonymous caller carries `view` and `download`); a
    /// credential that is presented must be good, never downgraded to anonymous.
    Anyone,
    /// A signed-in user.
    SignedIn,
    /// A signed-in admin (or the operator at the server's shell).
    Admin,
}

/// The protocols that bring their own credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The Docker token spec: anonymous, Basic (password or access token), refresh token.
    RegistryToken,
    /// The registry's notifications: `Authorization: Bearer <notifications.secret>`.
    WebhookSecret,
}

/// The entity access an operation checks on the entity it names, with the rules of
/// `entity_rules` (admins pass; the trash hides from everyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnEntity {
    /// No entity is involved.
    Nothing,
    /// `access` on the entity (`entity_rules::may`): missing and forbidden both 404.
    Access(AccessSet),
    /// A change needing `access` (`entity_rules::may_change`): a reader lacking it is
    /// told so (403); `in_trash` lets a restore reach the trash.
    Change { access: AccessSet, in_trash: bool },
    /// READ on the entity and `access` on its project (an external repository record).
    Parent(AccessSet),
    /// A rule of `domain::authz` that takes more facts than one ACL, named here for the
    /// table in README (e.g. access requests: who may file, who decides).
    Rule(&'static str),
}

/// Whether the data an operation changes belongs to a Synapse when regauth runs beside
/// one (`directory.backend = "synapse"`): such a change is refused there (405).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Kept by regauth in every mode (or only read).
    Regauth,
    /// Users, teams, projects, sharing, the trash, access requests, access tokens.
    Synapse,
}

/// Everything an operation needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub who: Who,
    /// The scopes the credential must carry (a password or a web session carries all).
    pub scopes: ScopeSet,
    pub entity: OnEntity,
    pub owner: Owner,
}

/// Why `admit` refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateRefusal {
    /// An anonymous caller where a user is needed: sign in (401).
    SignIn,
    /// Only an admin may (403).
    AdminOnly,
    /// The credential lacks these scopes (403).
    MissingScope(ScopeSet),
}

impl Needs {
    /// Probes and pages that ask nothing.
    pub const PUBLIC: Needs = Needs {
        who: Who::Public,
        scopes: ScopeSet::empty(),
        entity: OnEntity::Nothing,
        owner: Owner::Regauth,
    };

    pub const fn protocol(p: Protocol) -> Needs {
        Needs {
            who: Who::Protocol(p),
            ..Needs::PUBLIC
        }
    }

    /// Anyone (anonymous too) whose credential carries `scopes`.
    pub const fn anyone(scopes: ScopeSet) -> Needs {
        Needs {
            who: Who::Anyone,
            scopes,
            ..Needs::PUBLIC
        }
    }

    /// A signed-in user whose credential carries `scopes`.
    pub const fn signed_in(scopes: ScopeSet) -> Needs {
        Needs {
            who: Who::SignedIn,
            scopes,
            ..Needs::PUBLIC
        }
    }

    /// An admin reading: `view`.
    pub const fn admin_read() -> Needs {
        Needs {
            who: Who::Admin,
            scopes: ScopeSet::VIEW,
            ..Needs::PUBLIC
        }
    }

    /// An admin changing: `authorize`, whatever is changed (a user, a team, a project
    /// for someone else): a leaked pull token is never an administration credential.
    pub const fn admin_change() -> Needs {
        Needs {
            who: Who::Admin,
            scopes: ScopeSet::AUTHORIZE,
            ..Needs::PUBLIC
        }
    }

    pub const fn on(self, entity: OnEntity) -> Needs {
        Needs { entity, ..self }
    }

    /// The data changed belongs to Synapse when one stands beside regauth.
    pub const fn synapse_owned(self) -> Needs {
        Needs {
            owner: Owner::Synapse,
            ..self
        }
    }

    /// Whether the operation reads the API's credentials (Basic or a web session).
    pub const fn takes_api_credentials(&self) -> bool {
        matches!(self.who, Who::Anyone | Who::SignedIn | Who::Admin)
    }

    /// The needs in the words of README's HTTP table: `admin · authorize`,
    /// `signed in · modify · DELETE (change)`, `anyone · view · READ`.
    pub fn describe(&self) -> String {
        let who = match self.who {
            Who::Public => return "nothing".into(),
            Who::Protocol(Protocol::RegistryToken) => {
                return "the token spec's credentials (anonymous, Basic, refresh token)".into()
            }
            Who::Protocol(Protocol::WebhookSecret) => {
                return "the webhook secret (`notifications.secret`)".into()
            }
            Who::Anyone => "anyone",
            Who::SignedIn => "signed in",
            Who::Admin => "admin",
        };
        let mut parts = vec![who.to_string()];
        if !self.scopes.is_empty() {
            parts.push(self.scopes.to_string());
        }
        match self.entity {
            OnEntity::Nothing => {}
            OnEntity::Access(a) => parts.push(format!("{a}")),
            OnEntity::Change { access, in_trash } => parts.push(format!(
                "{access} (change{})",
                if in_trash { ", in the trash too" } else { "" }
            )),
            OnEntity::Parent(a) => parts.push(format!("READ, {a} on its project")),
            OnEntity::Rule(r) => parts.push(r.to_string()),
        }
        parts.join(" · ")
    }
}

/// The one check of who may run an operation: sign-in, then role, then scopes. The
/// entity access is checked where the facts are gathered, from the same `Needs`.
pub fn admit(caller: &Caller, needs: &Needs) -> Result<(), GateRefusal> {
    match needs.who {
        // Nothing of the API's credentials applies to these: fail closed if one is ever
        // asked to admit an API caller.
        Who::Public | Who::Protocol(_) => return Ok(()),
        Who::Anyone => {}
        Who::SignedIn | Who::Admin if caller.user.is_none() => return Err(GateRefusal::SignIn),
        Who::SignedIn => {}
        Who::Admin if caller.is_admin() => {}
        Who::Admin => return Err(GateRefusal::AdminOnly),
    }
    if caller.scopes.contains(needs.scopes) {
        Ok(())
    } else {
        Err(GateRefusal::MissingScope(needs.scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(admin: bool, scopes: ScopeSet) -> Caller {
        Caller::alice(true, admin, vec![], scopes)
    }

    #[test]
    fn sign_in_comes_first_then_the_role_then_the_scopes() {
        let anon = Caller::anonymous();
        let change = Needs::admin_change();
        assert_eq!(admit(&anon, &change), Err(GateRefusal::SignIn));
        assert_eq!(
            admit(&user(false, ScopeSet::PASSWORD), &change),
            Err(GateRefusal::AdminOnly)
        );
        assert_eq!(
            admit(&user(true, ScopeSet::DOWNLOAD), &change),
            Err(GateRefusal::MissingScope(ScopeSet::AUTHORIZE)),
            "an admin's pull token is no administration credential"
        );
        assert_eq!(admit(&user(true, ScopeSet::AUTHORIZE), &change), Ok(()));
        assert_eq!(admit(&user(true, ScopeSet::PASSWORD), &change), Ok(()));
    }

    #[test]
    fn admin_reads_need_view_and_anyone_means_anonymous_too() {
        let read = Needs::admin_read();
        assert_eq!(admit(&user(true, ScopeSet::VIEW), &read), Ok(()));
        assert_eq!(
            admit(&user(true, ScopeSet::DOWNLOAD), &read),
            Err(GateRefusal::MissingScope(ScopeSet::VIEW))
        );
        let browse = Needs::anyone(ScopeSet::VIEW);
        assert_eq!(admit(&Caller::anonymous(), &browse), Ok(()));
        assert_eq!(
            admit(&user(false, ScopeSet::MODIFY), &browse),
            Err(GateRefusal::MissingScope(ScopeSet::VIEW))
        );
        let own = Needs::signed_in(ScopeSet::empty());
        assert_eq!(admit(&Caller::anonymous(), &own), Err(GateRefusal::SignIn));
        assert_eq!(admit(&user(false, ScopeSet::DOWNLOAD), &own), Ok(()));
    }

    #[test]
    fn protocol_and_public_operations_take_nothing_from_the_api() {
        for needs in [
            Needs::PUBLIC,
            Needs::protocol(Protocol::RegistryToken),
            Needs::protocol(Protocol::WebhookSecret),
        ] {
            assert!(!needs.takes_api_credentials());
            assert_eq!(admit(&Caller::anonymous(), &needs), Ok(()));
        }
        assert!(Needs::anyone(ScopeSet::VIEW).takes_api_credentials());
    }

    #[test]
    fn descriptions_name_role_scopes_and_entity_access() {
        assert_eq!(Needs::admin_change().describe(), "admin · authorize");
        let trash = Needs::signed_in(ScopeSet::MODIFY).on(OnEntity::Change {
            access: AccessSet::DELETE,
            in_trash: false,
        });
        assert_eq!(trash.describe(), "signed in · modify · DELETE (change)");
        let read = Needs::anyone(ScopeSet::VIEW).on(OnEntity::Access(AccessSet::READ));
        assert_eq!(read.describe(), "anyone · view · READ");
        assert_eq!(Needs::PUBLIC.describe(), "nothing");
        assert_eq!(Needs::admin_change().owner, Owner::Regauth);
        assert_eq!(Needs::admin_change().synapse_owned().owner, Owner::Synapse);
    }
}
