//! The scopes a credential carries (Synapse's OAuth scopes): a password login carries
//! all of them, an access token those it was minted with. `authorize` is Synapse's
//! scope for sharing resources and minting tokens; the registry's own rules never look
//! at it.

use std::fmt;

use super::flag_list;

bitflags::bitflags! {
    /// A set of token scopes. The bit values are the SQLite column's.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ScopeSet: u8 {
        const VIEW = 1 << 0;
        const DOWNLOAD = 1 << 1;
        const MODIFY = 1 << 2;
        const AUTHORIZE = 1 << 3;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token scope {0:?} (expected view, download, modify or authorize)")]
pub struct UnknownTokenScope(pub String);

impl ScopeSet {
    /// What a password login carries.
    pub const PASSWORD: ScopeSet = ScopeSet::all();
    /// What an anonymous caller carries: it can only ever read.
    pub const ANONYMOUS: ScopeSet = ScopeSet::VIEW.union(ScopeSet::DOWNLOAD);

    /// Lower-case names as the wire and the CLI spell them (`view`, `download`).
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.iter().map(|s| match s {
            ScopeSet::VIEW => "view",
            ScopeSet::DOWNLOAD => "download",
            ScopeSet::MODIFY => "modify",
            _ => "authorize",
        })
    }

    /// Parses `view,download,modify,authorize` (comma-separated, case-insensitive). Empty input is
    /// an error: a token without scopes could do nothing and is almost certainly a typo.
    pub fn parse_list(s: &str) -> Result<ScopeSet, UnknownTokenScope> {
        flag_list::parse(s, ScopeSet::from_name).map_err(UnknownTokenScope)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        flag_list::write(f, self.names())
    }
}

impl serde::Serialize for ScopeSet {
    /// `"download,modify"`, as the CLI prints it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_set_parses_lists() {
        let s = ScopeSet::parse_list("download,modify").unwrap();
        assert!(s.contains(ScopeSet::DOWNLOAD) && !s.contains(ScopeSet::VIEW));
        assert_eq!(s.to_string(), "download,modify");
        assert_eq!(ScopeSet::parse_list("VIEW").unwrap(), ScopeSet::VIEW);
        assert!(ScopeSet::parse_list("download,admin").is_err());
        assert!(ScopeSet::parse_list(" ").is_err());
    }

    #[test]
    fn every_set_is_written_as_it_is_parsed() {
        assert_eq!(
            ScopeSet::PASSWORD.to_string(),
            "view,download,modify,authorize"
        );
        for bits in 1..=0b1111 {
            let set = ScopeSet::from_bits(bits).unwrap();
            assert_eq!(ScopeSet::parse_list(&set.to_string()), Ok(set), "{set}");
        }
    }

    #[test]
    fn bits_are_the_stored_ones() {
        assert_eq!(ScopeSet::VIEW.bits(), 1);
        assert_eq!(ScopeSet::AUTHORIZE.bits(), 0b1000);
        assert_eq!(ScopeSet::PASSWORD.bits(), 0b1111);
        assert_eq!(ScopeSet::ANONYMOUS, ScopeSet::VIEW | ScopeSet::DOWNLOAD);
    }
}
