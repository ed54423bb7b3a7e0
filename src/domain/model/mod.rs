//! The Synapse-style model: who (users, teams, principals), what (entities, ACLs), which
//! credentials (access and refresh tokens) and what the registry reported (tags).
//!
//! Plain data with parsing and display; the rules that decide anything live in
//! `domain::authz`, `domain::authn` and `domain::events`.

mod access;
mod access_request;
mod entity;
mod flag_list;
mod ids;
pub mod names;
mod principal;
mod registry;
mod scopes;
mod time;
mod tokens;
mod trust_policy;
mod user;

pub use access::{AccessSet, UnknownAccessType};
pub use access_request::{AccessRequest, RequestDecision, RequestState};
pub use entity::{EntityInfo, EntityKind, EntityRef};
pub use ids::{EntityId, InvalidEntityId, TeamId, UserId};
pub use names::{Email, NameError, ProjectName, TeamName, UserName};
pub use principal::{Acl, Principal, PrincipalRef};
pub use registry::{EventOutcome, ManifestDelete, ManifestPush, TagInfo, TagSort, UnknownTagSort};
pub use scopes::{ScopeSet, UnknownTokenScope};
#[cfg(test)]
pub(crate) use time::LIFETIME_CASES;
pub use time::{parse_lifetime, rfc3339, InvalidLifetime, UnixTime};
pub use tokens::{
    AccessTokenRecord, MintRefusal, NewAccessToken, NewRefreshToken, ParentTokenState,
    RefreshTokenRecord, TokenHash, UsedToken,
};
pub use trust_policy::{
    ClaimCondition, ClaimMatch, NewTrustPolicy, TrustPolicy, WorkloadActions, WorkloadClaims,
};
pub use user::{NewUser, User, UserCredentials, UserUpdate};
