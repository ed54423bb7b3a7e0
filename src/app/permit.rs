//! The proof a use case receives that its caller passed the check of its operation's
//! declared needs: `Permit<O>` can only be made by `Permit::admit`, which runs
//! `domain::authz::needs::admit` for `O::NEEDS`. A use case asking for
//! `&Permit<AddUser>` therefore cannot run for a caller that was never checked, nor
//! for one checked against another operation's needs.
//!
//! The entity access a use case checks comes from the same declaration
//! (`require_entity`, `require_parent`), so the table in README says what the code does.

use std::marker::PhantomData;

use super::operations::Operation;
use super::{Actor, AppError, AppResult};
use crate::domain::authz::entity_rules;
use crate::domain::authz::needs::{self, GateRefusal, OnEntity};
use crate::domain::authz::{Caller, CallerUser, EntityFacts};
use crate::domain::model::AccessSet;

/// `actor` passed the check of `O`'s needs.
pub struct Permit<O: Operation> {
    actor: Actor,
    // `fn() -> O`: the permit is Send and Sync whatever `O` is (operations are markers).
    op: PhantomData<fn() -> O>,
}

// A copy proves the same check for the same caller (a page runs several reads).
impl<O: Operation> Clone for Permit<O> {
    fn clone(&self) -> Self {
        Permit {
            actor: self.actor.clone(),
            op: PhantomData,
        }
    }
}

impl<O: Operation> std::fmt::Debug for Permit<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("operation", &O::NAME)
            .field("actor", &self.actor)
            .finish()
    }
}

impl<O: Operation> Permit<O> {
    /// The one check: sign-in, role, scopes, as `O` declares them. The operator (the
    /// CLI at the server's shell) passes every check.
    pub fn admit(actor: &Actor) -> AppResult<Permit<O>> {
        if let Actor::Caller(caller) = actor {
            needs::admit(caller, &O::NEEDS).map_err(refusal)?;
        }
        Ok(Permit {
            actor: actor.clone(),
            op: PhantomData,
        })
    }

    /// The same caller, checked for another operation (a page that also shows what a
    /// second operation reads).
    pub fn also<P: Operation>(&self) -> AppResult<Permit<P>> {
        Permit::admit(&self.actor)
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The HTTP caller, `None` for the operator.
    pub fn caller(&self) -> Option<&Caller> {
        match &self.actor {
            Actor::Operator => None,
            Actor::Caller(c) => Some(c),
        }
    }

    /// The signed-in user acting on its own account: for operations declared
    /// `signed_in`, never refused once admitted; the operator has no account.
    pub fn user(&self) -> AppResult<&CallerUser> {
        self.caller()
            .and_then(|c| c.user.as_ref())
            .ok_or(AppError::SignInRequired)
    }

    /// The entity access `O` declares, on the entity `facts` describe.
    pub fn require_entity(&self, facts: &EntityFacts) -> AppResult<()> {
        let Actor::Caller(c) = &self.actor else {
            return Ok(());
        };
        match O::NEEDS.entity {
            OnEntity::Access(access) => Ok(entity_rules::may(c, facts, access)?),
            OnEntity::Change { access, in_trash } => {
                Ok(entity_rules::may_change(c, facts, access, in_trash)?)
            }
            OnEntity::Parent(_) => Ok(entity_rules::may(c, facts, AccessSet::READ)?),
            OnEntity::Nothing | OnEntity::Rule(_) => Err(undeclared::<O>()),
        }
    }

    /// For `OnEntity::Parent`: the declared access on the entity's project.
    pub fn require_parent(&self, project: &EntityFacts) -> AppResult<()> {
        let Actor::Caller(c) = &self.actor else {
            return Ok(());
        };
        match O::NEEDS.entity {
            OnEntity::Parent(access) => Ok(entity_rules::may(c, project, access)?),
            _ => Err(undeclared::<O>()),
        }
    }
}

/// A use case asked for an entity check its operation does not declare: a bug, refused
/// (fail closed) rather than guessed.
fn undeclared<O: Operation>() -> AppError {
    tracing::error!(
        operation = O::NAME,
        "entity check not declared for this operation"
    );
    AppError::Backend(format!("{}: entity check not declared", O::NAME))
}

fn refusal(r: GateRefusal) -> AppError {
    match r {
        GateRefusal::SignIn => AppError::SignInRequired,
        GateRefusal::AdminOnly => AppError::AdminOnly,
        GateRefusal::MissingScope(s) => AppError::MissingScope(s),
    }
}

/// The operator's permit for `O` (the CLI, startup, tests).
pub fn operator<O: Operation>() -> Permit<O> {
    Permit {
        actor: Actor::Operator,
        op: PhantomData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::operations::{AddUser, ListTags, MoveToTrash, ShowMe};
    use crate::domain::model::{Acl, Principal, ScopeSet, UserId};

    fn caller(admin: bool, scopes: ScopeSet) -> Actor {
        Actor::Caller(Caller::alice(true, admin, vec![], scopes))
    }

    #[test]
    fn a_permit_is_made_only_past_the_declared_needs() {
        assert!(matches!(
            Permit::<AddUser>::admit(&caller(true, ScopeSet::DOWNLOAD)),
            Err(AppError::MissingScope(_))
        ));
        assert!(matches!(
            Permit::<AddUser>::admit(&caller(false, ScopeSet::PASSWORD)),
            Err(AppError::AdminOnly)
        ));
        assert!(matches!(
            Permit::<ShowMe>::admit(&Actor::Caller(Caller::anonymous())),
            Err(AppError::SignInRequired)
        ));
        assert!(Permit::<AddUser>::admit(&caller(true, ScopeSet::AUTHORIZE)).is_ok());
        assert!(Permit::<AddUser>::admit(&Actor::Operator).is_ok());
        let me = Permit::<ShowMe>::admit(&caller(false, ScopeSet::VIEW)).unwrap();
        assert_eq!(me.user().unwrap().name, "alice");
        assert!(matches!(me.also::<AddUser>(), Err(AppError::AdminOnly)));
        assert!(matches!(
            operator::<ShowMe>().user(),
            Err(AppError::SignInRequired)
        ));
        let shown = format!("{me:?}");
        assert!(
            shown.contains("ShowMe") && shown.contains("alice"),
            "{shown}"
        );
    }

    #[test]
    fn the_entity_check_is_the_declared_one() {
        let reader = EntityFacts::test_project(
            false,
            Acl::new(vec![(Principal::User(UserId(1)), AccessSet::READ)]),
        );
        let alice = caller(false, ScopeSet::PASSWORD);
        let tags = Permit::<ListTags>::admit(&alice).unwrap();
        assert!(tags.require_entity(&reader).is_ok());
        let trash = Permit::<MoveToTrash>::admit(&alice).unwrap();
        assert!(matches!(
            trash.require_entity(&reader),
            Err(AppError::Lacks(AccessSet::DELETE))
        ));
        // An operation declaring no entity access cannot be asked for one.
        let me = Permit::<ShowMe>::admit(&alice).unwrap();
        assert!(me.require_entity(&reader).is_err());
        assert!(tags.require_parent(&reader).is_err());
        // The operator passes.
        assert!(operator::<MoveToTrash>().require_entity(&reader).is_ok());
    }
}
