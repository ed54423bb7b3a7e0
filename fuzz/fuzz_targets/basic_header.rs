//! `Authorization: Basic` parsing: raw header values, and `Basic ` + base64 of the input,
//! whose result is fully determined by the decoded text.
#![no_main]

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use regauth::domain::authn::basic::{parse_basic, BasicError};

fuzz_target!(|data: &[u8]| {
    // The raw header value (as actix hands it over, after a lossy view of the bytes).
    let raw = String::from_utf8_lossy(data);
    let _ = parse_basic(&raw);
    let _ = parse_basic(&format!("Basic {raw}"));
    if let Ok(Ok((user, password))) = std::str::from_utf8(data).map(parse_basic) {
        assert!(!(user.is_empty() && password.is_empty()));
        assert!(!user.contains(':'));
    }

    // Well-formed base64 of the input: the outcome follows from the decoded bytes alone,
    // padded or not, whatever the scheme's case and the blanks around it.
    let expected = match std::str::from_utf8(data) {
        Err(_) => Err(BasicError::NotUtf8),
        Ok("") => Err(BasicError::Empty),
        Ok(text) => match text.split_once(':') {
            None => Err(BasicError::NoColon),
            Some(("", "")) => Err(BasicError::Empty),
            Some((u, p)) => Ok((u.to_string(), p.to_string())),
        },
    };
    let padded = STANDARD.encode(data);
    let bare = STANDARD_NO_PAD.encode(data);
    for header in [
        format!("Basic {padded}"),
        format!("basic\t{bare}"),
        format!(" BASIC  {padded}\t"),
    ] {
        assert_eq!(parse_basic(&header), expected, "{header:?}");
    }
});
