//! The Synapse-style model: principals, entities, access types, credential scopes.
//!
//! Plain data with parsing and display; no storage and no decisions live here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub i64);

/// Database id of a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TeamId(pub i64);

/// A Synapse entity id, `syn<digits>`. Projects and repositories share this id space,
/// which is why "the first path segment names an entity that is not a project" is a
/// real case the rules must handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(pub u64);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "syn{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid entity id {0:?}: expected syn<digits>")]
pub struct InvalidEntityId(pub String);

impl FromStr for EntityId {
    type Err = InvalidEntityId;
    /// Accepts `syn123` (the canonical form, lower case only, as in repository paths).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_prefix("syn")
            .ok_or_else(|| InvalidEntityId(s.to_string()))?;
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidEntityId(s.to_string()));
        }
        digits
            .parse::<u64>()
            .map(EntityId)
            .map_err(|_| InvalidEntityId(s.to_string()))
    }
}

impl Serialize for EntityId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What kind of entity an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Project,
    /// A repository created by a push to our registry.
    ManagedRepository,
    /// A record of an image in another registry; never authorized by the token endpoint.
    ExternalRepository,
}

/// Who an ACL entry is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(UserId),
    Team(TeamId),
    /// Everyone, anonymous callers included.
    Public,
    /// Every logged-in user.
    Authenticated,
}

/// Synapse's access types. `READ` lets a user see an entity; `DOWNLOAD` is what pulls need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccessType {
    Read,
    Download,
    Update,
    Create,
    Delete,
    ChangePermissions,
}

impl AccessType {
    pub const ALL: [AccessType; 6] = [
        AccessType::Read,
        AccessType::Download,
        AccessType::Update,
        AccessType::Create,
        AccessType::Delete,
        AccessType::ChangePermissions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessType::Read => "READ",
            AccessType::Download => "DOWNLOAD",
            AccessType::Update => "UPDATE",
            AccessType::Create => "CREATE",
            AccessType::Delete => "DELETE",
            AccessType::ChangePermissions => "CHANGE_PERMISSIONS",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for AccessType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access type {0:?} (expected READ, DOWNLOAD, UPDATE, CREATE, DELETE or CHANGE_PERMISSIONS)")]
pub struct UnknownAccessType(pub String);

impl FromStr for AccessType {
    type Err = UnknownAccessType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccessType::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownAccessType(s.to_string()))
    }
}

/// A set of access types, stored as a bit mask (the SQLite column is this integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccessSet(u8);

impl AccessSet {
    pub const EMPTY: AccessSet = AccessSet(0);

    pub fn from_bits(bits: u8) -> AccessSet {
        AccessSet(bits & 0b11_1111)
    }
    pub fn bits(self) -> u8 {
        self.0
    }
    pub fn contains(self, a: AccessType) -> bool {
        self.0 & a.bit() != 0
    }
    pub fn with(self, a: AccessType) -> AccessSet {
        AccessSet(self.0 | a.bit())
    }
    pub fn union(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 | other.0)
    }
    pub fn minus(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 & !other.0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = AccessType> {
        AccessType::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
    /// Parses `READ,DOWNLOAD` (comma-separated, case-insensitive). `ALL` means every type.
    pub fn parse_list(s: &str) -> Result<AccessSet, UnknownAccessType> {
        let mut set = AccessSet::EMPTY;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.eq_ignore_ascii_case("all") {
                set = AccessType::ALL.into_iter().fold(set, AccessSet::with);
            } else {
                set = set.with(part.parse()?);
            }
        }
        if set.is_empty() {
            return Err(UnknownAccessType(s.to_string()));
        }
        Ok(set)
    }
}

impl FromIterator<AccessType> for AccessSet {
    fn from_iter<I: IntoIterator<Item = AccessType>>(iter: I) -> Self {
        iter.into_iter().fold(AccessSet::EMPTY, AccessSet::with)
    }
}

impl fmt::Display for AccessSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(AccessType::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// An access control list: who gets which access types on one entity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    pub entries: Vec<(Principal, AccessSet)>,
}

impl Acl {
    pub fn new(entries: Vec<(Principal, AccessSet)>) -> Acl {
        Acl { entries }
    }
}

/// Scopes an access token (or a password login) carries: Synapse's OAuth scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    View,
    Download,
    Modify,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [TokenScope::View, TokenScope::Download, TokenScope::Modify];
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::View => "view",
            TokenScope::Download => "download",
            TokenScope::Modify => "modify",
        }
    }
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token scope {0:?} (expected view, download or modify)")]
pub struct UnknownTokenScope(pub String);

impl FromStr for TokenScope {
    type Err = UnknownTokenScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenScope::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownTokenScope(s.to_string()))
    }
}

/// A set of token scopes, stored as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u8);

impl ScopeSet {
    pub const NONE: ScopeSet = ScopeSet(0);
    /// What a password login carries.
    pub const ALL: ScopeSet = ScopeSet(0b111);

    pub fn from_bits(bits: u8) -> ScopeSet {
        ScopeSet(bits & 0b111)
    }
    pub fn bits(self) -> u8 {
        self.0
    }
    pub fn contains(self, s: TokenScope) -> bool {
        self.0 & s.bit() != 0
    }
    pub fn with(self, s: TokenScope) -> ScopeSet {
        ScopeSet(self.0 | s.bit())
    }
    pub fn iter(self) -> impl Iterator<Item = TokenScope> {
        TokenScope::ALL
            .into_iter()
            .filter(move |s| self.contains(*s))
    }
    /// Parses `view,download,modify` (comma-separated). Empty input is an error: a token
    /// without scopes could do nothing and is almost certainly a typo.
    pub fn parse_list(s: &str) -> Result<ScopeSet, UnknownTokenScope> {
        let mut set = ScopeSet::NONE;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            set = set.with(part.parse()?);
        }
        if set == ScopeSet::NONE {
            return Err(UnknownTokenScope(s.to_string()));
        }
        Ok(set)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(TokenScope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-11-22T14:23:00Z`), the form the token spec's
/// `issued_at` and our listings use; `None` outside the representable range.
pub fn rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// A user as the rules see it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub certified: bool,
    pub admin: bool,
    pub disabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_id_round_trips_and_rejects_junk() {
        assert_eq!("syn123".parse::<EntityId>().unwrap(), EntityId(123));
        assert_eq!(EntityId(7).to_string(), "syn7");
        for bad in [
            "syn",
            "SYN1",
            "syn-1",
            "syn1a",
            "123",
            "syn99999999999999999999",
        ] {
            assert!(bad.parse::<EntityId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn access_set_parses_lists() {
        let s = AccessSet::parse_list("read, DOWNLOAD").unwrap();
        assert!(s.contains(AccessType::Read) && s.contains(AccessType::Download));
        assert!(!s.contains(AccessType::Update));
        assert_eq!(s.to_string(), "READ,DOWNLOAD");
        assert_eq!(AccessSet::parse_list("all").unwrap().iter().count(), 6);
        assert!(AccessSet::parse_list("READ,WRITE").is_err());
        assert!(AccessSet::parse_list("").is_err());
    }

    #[test]
    fn scope_set_parses_lists() {
        let s = ScopeSet::parse_list("download,modify").unwrap();
        assert!(s.contains(TokenScope::Download) && !s.contains(TokenScope::View));
        assert_eq!(s.to_string(), "download,modify");
        assert!(ScopeSet::parse_list("download,admin").is_err());
        assert!(ScopeSet::parse_list(" ").is_err());
    }
}
