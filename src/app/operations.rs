//! Every operation the HTTP API, the web pages and the CLI can run, each with what it
//! needs from its caller, declared once (`domain::authz::needs`).
//!
//! An operation is a type, so a use case can ask for the proof of its own operation
//! (`Permit<AddUser>`) and nothing else; the route table (`infra::routes`) takes
//! the operation from the handler's first argument, README's HTTP table is generated
//! from it, and the authority test runs every route against these needs.

use crate::domain::authz::needs::{Needs, OnEntity, Protocol};
use crate::domain::model::{AccessSet, ScopeSet};

/// An operation: a name and its needs.
pub trait Operation: 'static {
    const NAME: &'static str;
    const NEEDS: Needs;
    const INFO: OperationInfo = OperationInfo {
        name: Self::NAME,
        needs: Self::NEEDS,
    };
}

/// An operation as data, for tables and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    pub name: &'static str,
    pub needs: Needs,
}

macro_rules! operations {
    ($( $(#[$doc:meta])* $name:ident = $needs:expr; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $name {}
            impl Operation for $name {
                const NAME: &'static str = stringify!($name);
                const NEEDS: Needs = $needs;
            }
        )*
        /// Every operation, in declaration order.
        pub const ALL: &[OperationInfo] = &[$( <$name as Operation>::INFO ),*];
    };
}

const VIEW: ScopeSet = ScopeSet::VIEW;
const MODIFY: ScopeSet = ScopeSet::MODIFY;
const AUTHORIZE: ScopeSet = ScopeSet::AUTHORIZE;
const READ: OnEntity = OnEntity::Access(AccessSet::READ);
const SHARE: OnEntity = OnEntity::Change {
    access: AccessSet::CHANGE_PERMISSIONS,
    in_trash: false,
};
const MANAGERS: OnEntity = OnEntity::Rule("managers decide (CHANGE_PERMISSIONS)");

operations! {
    // The protocols and probes.
    /// A registry token (GET, or OAuth2 POST).
    IssueToken = Needs::protocol(Protocol::RegistryToken);
    /// The registry's notifications.
    ReceiveNotifications = Needs::protocol(Protocol::WebhookSecret);
    /// `/healthz`, `/readyz`, `/metrics`.
    Probe = Needs::PUBLIC;
    /// The signing keys' public halves (`/.well-known/jwks.json`), for registry 3.x and
    /// any other verifier of regauth's tokens.
    PublishKeys = Needs::PUBLIC;
    /// The API's OpenAPI document (`/api/v1/openapi.json`).
    DescribeApi = Needs::PUBLIC;
    /// The sign-in page and its form (a double-submit CSRF token, no session yet).
    SignIn = Needs::PUBLIC;
    /// Ending one's web session.
    SignOut = Needs::signed_in(ScopeSet::empty());

    // One's own account.
    ShowMe = Needs::signed_in(VIEW);
    /// The current password is the proof, whatever the credential's scopes.
    ChangeOwnPassword = Needs::signed_in(ScopeSet::empty());
    ListOwnTokens = Needs::signed_in(VIEW);
    /// Never wider than the credential; a token's child ends with it.
    MintOwnToken = Needs::signed_in(AUTHORIZE).synapse_owned();
    RevokeOwnToken = Needs::signed_in(AUTHORIZE);
    ListOwnLogins = Needs::signed_in(VIEW);
    RevokeOwnLogin = Needs::signed_in(AUTHORIZE);
    /// Why this very credential gets or is refused each action.
    ExplainOwnAccess = Needs::anyone(ScopeSet::empty());

    // Administration.
    ListUsers = Needs::admin_read();
    AddUser = Needs::admin_change().synapse_owned();
    ChangeUser = Needs::admin_change();
    AddTeam = Needs::admin_change().synapse_owned();
    AddTeamMember = Needs::admin_change().synapse_owned();
    RemoveTeamMember = Needs::admin_change().synapse_owned();
    /// Every project, trashed ones too.
    ListAllProjects = Needs::admin_read();
    /// A project owned by someone else.
    AddProjectFor = Needs::admin_change().synapse_owned();
    MintTokenFor = Needs::admin_change().synapse_owned();
    ListTokensOf = Needs::admin_read();
    RevokeAnyToken = Needs::admin_change();
    EndLoginsOf = Needs::admin_change();
    /// As a user's password would be judged, with the real reasons.
    ExplainForUser = Needs::admin_read();

    // Projects, repositories, sharing, the trash.
    /// Those the caller may READ (admins: all out of the trash).
    ListProjects = Needs::anyone(VIEW);
    CreateOwnProject = Needs::signed_in(MODIFY).synapse_owned();
    ListProjectRepositories = Needs::anyone(VIEW).on(READ);
    ShowRepository = Needs::anyone(VIEW).on(READ);
    ListTags = Needs::anyone(VIEW).on(READ);
    TagHistory = Needs::anyone(VIEW).on(READ);
    ShowSharing = Needs::anyone(VIEW).on(READ);
    ReplaceSharing = Needs::signed_in(AUTHORIZE).on(SHARE).synapse_owned();
    GrantAccess = Needs::signed_in(AUTHORIZE).on(SHARE).synapse_owned();
    RevokeAccess = Needs::signed_in(AUTHORIZE).on(SHARE).synapse_owned();
    InheritSharing = Needs::signed_in(AUTHORIZE).on(SHARE).synapse_owned();
    /// A project's trust policies: who manages its sharing manages them.
    ListTrustPolicies = Needs::signed_in(VIEW).on(SHARE);
    /// Acts with the caller's rights from then on (intersected at every request).
    AddTrustPolicy = Needs::signed_in(AUTHORIZE).on(SHARE).synapse_owned();
    RemoveTrustPolicy = Needs::signed_in(AUTHORIZE).on(SHARE);
    MoveToTrash = Needs::signed_in(MODIFY)
        .on(OnEntity::Change { access: AccessSet::DELETE, in_trash: false })
        .synapse_owned();
    RestoreFromTrash = Needs::signed_in(MODIFY)
        .on(OnEntity::Change { access: AccessSet::DELETE, in_trash: true })
        .synapse_owned();
    AddExternalRepository = Needs::signed_in(MODIFY)
        .on(OnEntity::Access(AccessSet::UPDATE))
        .synapse_owned();
    DeleteExternalRepository = Needs::signed_in(MODIFY)
        .on(OnEntity::Parent(AccessSet::UPDATE))
        .synapse_owned();

    // Access requests.
    FileAccessRequest = Needs::signed_in(VIEW)
        .on(OnEntity::Rule("sees it (READ) and lacks DOWNLOAD"))
        .synapse_owned();
    AccessRequestInbox = Needs::signed_in(VIEW).on(MANAGERS);
    /// An entity's access page: the request form for anyone signed in, and the inbox
    /// for its managers (`AccessRequestInbox`, asked on the page).
    ShowAccessPage = Needs::signed_in(VIEW);
    MyAccessRequests = Needs::signed_in(VIEW);
    DecideAccessRequest = Needs::signed_in(AUTHORIZE).on(MANAGERS).synapse_owned();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authz::needs::Who;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|o| o.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn whatever_anonymous_may_run_asks_no_more_than_an_anonymous_credential_carries() {
        for op in ALL.iter().filter(|o| o.needs.who == Who::Anyone) {
            assert!(
                ScopeSet::ANONYMOUS.contains(op.needs.scopes),
                "{} lets anonymous in but needs {}: make it signed-in",
                op.name,
                op.needs.scopes
            );
        }
    }

    #[test]
    fn admin_changes_need_authorize_and_admin_reads_view() {
        for op in ALL.iter().filter(|o| o.needs.who == Who::Admin) {
            assert!(
                op.needs.scopes == ScopeSet::AUTHORIZE || op.needs.scopes == ScopeSet::VIEW,
                "{}: {}",
                op.name,
                op.needs.scopes
            );
        }
        assert_eq!(AddUser::NEEDS.scopes, ScopeSet::AUTHORIZE);
        assert_eq!(ChangeUser::NEEDS.scopes, ScopeSet::AUTHORIZE);
        assert_eq!(ListUsers::NEEDS.scopes, ScopeSet::VIEW);
    }
}
