//! Synapse's access types as a set: `READ` lets a user see an entity, `DOWNLOAD` is what
//! pulls need, `UPDATE`/`CREATE` what pushes need, `CHANGE_PERMISSIONS` what sharing needs.

use std::fmt;

use super::flag_list;

bitflags::bitflags! {
    /// A set of access types. The bit values are the SQLite column's, so they never change.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct AccessSet: u8 {
        const READ = 1 << 0;
        const DOWNLOAD = 1 << 1;
        const UPDATE = 1 << 2;
        const CREATE = 1 << 3;
        const DELETE = 1 << 4;
        const CHANGE_PERMISSIONS = 1 << 5;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access type {0:?} (expected READ, DOWNLOAD, UPDATE, CREATE, DELETE or CHANGE_PERMISSIONS)")]
pub struct UnknownAccessType(pub String);

impl AccessSet {
    /// The set's members by name (`READ`, `CHANGE_PERMISSIONS`), in the order above.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.iter_names().map(|(name, _)| name)
    }

    /// Parses `READ,DOWNLOAD` (comma-separated, case-insensitive). `ALL` means every
    /// type. Empty input is an error: a grant of nothing is almost certainly a typo.
    pub fn parse_list(s: &str) -> Result<AccessSet, UnknownAccessType> {
        flag_list::parse(s, |name| match name {
            "ALL" => Some(AccessSet::all()),
            _ => AccessSet::from_name(name),
        })
        .map_err(UnknownAccessType)
    }
}

impl fmt::Display for AccessSet {
    /// `READ,DOWNLOAD`: the form `parse_list` reads and the CLI prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        flag_list::write(f, self.names())
    }
}

impl serde::Serialize for AccessSet {
    /// A JSON list of names, `["READ","DOWNLOAD"]`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_set_parses_lists() {
        let s = AccessSet::parse_list("read, DOWNLOAD").unwrap();
        assert!(s.contains(AccessSet::READ) && s.contains(AccessSet::DOWNLOAD));
        assert!(!s.contains(AccessSet::UPDATE));
        assert_eq!(s.to_string(), "READ,DOWNLOAD");
        assert_eq!(AccessSet::parse_list("all").unwrap().iter().count(), 6);
        assert_eq!(
            AccessSet::parse_list("change_permissions").unwrap(),
            AccessSet::CHANGE_PERMISSIONS
        );
        assert!(AccessSet::parse_list("READ,WRITE").is_err());
        assert!(AccessSet::parse_list("").is_err());
    }

    #[test]
    fn bits_are_the_stored_ones() {
        // The SQLite column holds these integers: changing them would re-grant rows.
        assert_eq!(AccessSet::READ.bits(), 1);
        assert_eq!(AccessSet::CHANGE_PERMISSIONS.bits(), 32);
        assert_eq!(AccessSet::all().bits(), 0b11_1111);
        assert_eq!(AccessSet::from_bits_truncate(0xff), AccessSet::all());
    }
}
