//! Comma lists of flag names (`READ,DOWNLOAD`, `view,download`): the text form both
//! flag sets share, for the CLI and listings.

use std::fmt;

use bitflags::Flags;

/// Parses a comma list, naming members as `name` does (case-insensitive); `None` for an
/// unknown member or an empty list (a set of nothing is almost certainly a typo).
pub(super) fn parse<T: Flags + Copy>(
    s: &str,
    name: impl Fn(&str) -> Option<T>,
) -> Result<T, String> {
    let mut set = T::empty();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let member = name(&part.to_ascii_uppercase())
            .ok_or_else(|| part.chars().take(64).collect::<String>())?;
        set = set.union(member);
    }
    if set.is_empty() {
        return Err(s.chars().take(64).collect());
    }
    Ok(set)
}

/// Writes names joined by commas.
pub(super) fn write<'a>(
    f: &mut fmt::Formatter<'_>,
    names: impl Iterator<Item = &'a str>,
) -> fmt::Result {
    for (i, name) in names.enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        f.write_str(name)?;
    }
    Ok(())
}
