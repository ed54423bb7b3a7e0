//! Registry notification envelopes: every push or delete that comes out names a valid
//! repository path and a well-formed digest, and the batch keeps one item per event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regauth::domain::events::{parse_envelope, EventItem, MANIFEST_TYPES};
use regauth::domain::repo_name::RepoPath;

fn valid_digest(d: &str) -> bool {
    let hex = |h: &str, n: usize| {
        h.len() == n && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    match d.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(items) = parse_envelope(data) else {
        return;
    };
    // The envelope parsed, so the body is JSON with an `events` array: one item each.
    // (serde's derived struct also takes the one-field sequence form `[[...]]`.) Bytes
    // that are not UTF-8 may sit inside a string the envelope ignores (serde skips it
    // unchecked), and only there: read them as U+FFFD, which keeps the structure.
    let text = String::from_utf8_lossy(data);
    let v: serde_json::Value = serde_json::from_str(&text).expect("envelope is JSON");
    let events = match &v {
        serde_json::Value::Array(a) => &a[0],
        other => &other["events"],
    };
    let events = events.as_array().expect("events is an array");
    assert_eq!(items.len(), events.len());

    for item in &items {
        match item {
            EventItem::Push(p) => {
                assert_eq!(RepoPath::parse(p.path.as_str()).as_ref(), Ok(&p.path));
                assert!(!p.event_id.is_empty());
                assert!(MANIFEST_TYPES.contains(&p.media_type.as_str()));
                assert!(valid_digest(&p.digest), "{:?}", p.digest);
                assert!(p.tag.as_ref().is_none_or(|t| !t.is_empty()));
            }
            EventItem::Delete(d) => {
                assert_eq!(RepoPath::parse(d.path.as_str()).as_ref(), Ok(&d.path));
                assert!(!d.event_id.is_empty());
                assert!(d.tag.is_some() || d.digest.is_some());
                assert!(d.tag.as_ref().is_none_or(|t| !t.is_empty()));
                assert!(d.digest.as_deref().is_none_or(valid_digest));
            }
            EventItem::Ignored { .. } | EventItem::Malformed { .. } => {}
        }
    }
});
